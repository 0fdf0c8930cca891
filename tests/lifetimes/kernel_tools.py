"""Helpers for lifetime tests: real Jupyter kernels, code run in them, processes and ports that must go.

    with Kernel(tmp_path) as k:                       # a real ipykernel ("python3") under jupyter_client
        k.run("from tao_lab import Devnet; dev = Devnet().start()")
        port = k.value("int(dev.url.rsplit(':', 1)[1])")   # an expression's value, back as Python
        k.kill()                                      # SIGKILL, like the OOM killer or `kill -9`
    assert wait_gone(pid) and wait_port_free(port)

`Kernel.restart` is jupyter_client's restart (a shutdown request, then SIGKILL if the kernel is
slow), `Kernel.interrupt` its interrupt (SIGINT to the kernel). `run` raises `KernelError` with
the kernel's traceback when the cell fails; `run(..., allow_error=True)` returns the error reply
instead, for tests that expect one.
"""

from __future__ import annotations

import ast
import os
import queue
import signal
import socket
import time
import urllib.parse
from pathlib import Path

from _support import gone, wait_for

__all__ = ["Kernel", "KernelError", "devnet_port", "gone", "port_free", "wait_for", "wait_gone", "wait_port_free"]


class KernelError(AssertionError):
    """A cell raised in the kernel; the message carries the kernel's traceback."""




def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when a listener could bind ``port`` again (TIME_WAIT leftovers of closed connections do not count)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def wait_gone(pid: int, timeout: float = 5.0) -> bool:
    """Wait up to ``timeout`` s for process ``pid`` to end."""
    return wait_for(lambda: gone(pid), timeout)


def wait_port_free(port: int, timeout: float = 5.0) -> bool:
    """Wait up to ``timeout`` s for ``port`` to be bindable on 127.0.0.1."""
    return wait_for(lambda: port_free(port), timeout)


def devnet_port(url: str) -> int:
    """The port of a ``ws://127.0.0.1:PORT`` URL (a ``/?token=...`` after it is fine)."""
    return urllib.parse.urlsplit(url).port


class Kernel:
    """A real ``python3`` Jupyter kernel (ipykernel), started by `jupyter_client.KernelManager`.

    Args:
        runtime_dir: a folder for connection files (sets ``JUPYTER_RUNTIME_DIR``; a tmp_path).
        env: extra environment variables for the kernel.
        startup_timeout: seconds to wait for the kernel to answer.
    """

    def __init__(self, runtime_dir: os.PathLike | str, env: dict | None = None, startup_timeout: float = 60.0):
        from jupyter_client import KernelManager

        runtime_dir = Path(runtime_dir)
        runtime_dir.mkdir(parents=True, exist_ok=True)
        self.km = KernelManager(kernel_name="python3")
        # JUPYTER_RUNTIME_DIR for the kernel; the connection file is named here so the test process's
        # own environment is left alone.
        self.km.connection_file = str(runtime_dir / f"kernel-{os.getpid()}-{id(self)}.json")
        self.km.shutdown_wait_time = 5.0  # jupyter_client's default: SIGKILL after 5 s of a slow shutdown
        kernel_env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(runtime_dir), "PYDEVD_DISABLE_FILE_VALIDATION": "1",
                      **(env or {})}
        self.km.start_kernel(env=kernel_env)
        self.startup_timeout = startup_timeout
        self._connect()

    def _connect(self) -> None:
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=self.startup_timeout)

    @property
    def pid(self) -> int:
        """The kernel process's pid, as jupyter_client started it."""
        return self.km.provisioner.process.pid

    def run(self, code: str, timeout: float = 60.0, allow_error: bool = False) -> dict:
        """Execute ``code`` as one cell; returns the reply content plus ``stdout`` (what it printed) and
        ``iopub`` (every output message of the cell: ``(msg_type, content)``, widget comm messages too).

        Raises `KernelError` (with the kernel's traceback) if the cell raised, unless ``allow_error``.
        """
        return self._execute(code, {}, timeout, allow_error)

    def value(self, expression: str, timeout: float = 60.0):
        """The value of ``expression`` in the kernel, via its repr (numbers, strings, lists, dicts of them)."""
        reply = self._execute("", {"v": expression}, timeout, False)
        result = reply["user_expressions"]["v"]
        if result.get("status") != "ok":
            raise KernelError(f"{expression!r} failed in the kernel: {result.get('ename')}: {result.get('evalue')}")
        return ast.literal_eval(result["data"]["text/plain"])

    def _execute(self, code: str, user_expressions: dict, timeout: float, allow_error: bool) -> dict:
        content = self._execute_once(code, user_expressions, timeout, allow_error=True)
        if content["status"] == "aborted":
            # ipykernel aborts requests that reach it while it is still handling an error (an
            # interrupt just answered): the request never ran, so send it again
            time.sleep(0.5)
            content = self._execute_once(code, user_expressions, timeout, allow_error=True)
        if content["status"] != "ok" and not allow_error:
            raise KernelError("the cell raised in the kernel:\n" + "\n".join(content.get("traceback", []))
                              + f"\n{content.get('ename')}: {content.get('evalue')} (status {content['status']})")
        return content

    def _execute_once(self, code: str, user_expressions: dict, timeout: float, allow_error: bool) -> dict:
        msg_id = self.kc.execute(code, user_expressions=user_expressions, allow_stdin=False)
        deadline = time.monotonic() + timeout
        stdout: list[str] = []
        iopub: list[tuple[str, dict]] = []
        while True:  # drain iopub until the kernel goes idle for our request, collecting what it printed
            try:
                msg = self.kc.get_iopub_msg(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"the kernel did not finish within {timeout:g} s: {code[:200]!r}") from None
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            iopub.append((msg["msg_type"], msg["content"]))
            if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
                stdout.append(msg["content"]["text"])
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
        reply = self.kc.get_shell_msg(timeout=max(1.0, deadline - time.monotonic()))
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = self.kc.get_shell_msg(timeout=max(1.0, deadline - time.monotonic()))
        content = dict(reply["content"], stdout="".join(stdout), iopub=iopub)
        if content["status"] != "ok" and not allow_error:
            raise KernelError("the cell raised in the kernel:\n" + "\n".join(content.get("traceback", []))
                              + f"\n{content.get('ename')}: {content.get('evalue')}")
        return content

    def start_cell(self, code: str) -> str:
        """Send ``code`` without waiting for it (a long call to interrupt); returns the message id."""
        return self.kc.execute(code, allow_stdin=False)

    def reply(self, msg_id: str, timeout: float = 30.0) -> dict:
        """The shell reply to a cell sent with `start_cell`."""
        deadline = time.monotonic() + timeout
        while True:
            msg = self.kc.get_shell_msg(timeout=max(0.01, deadline - time.monotonic()))
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg["content"]

    def interrupt(self) -> None:
        """jupyter_client's interrupt (SIGINT to the kernel): KeyboardInterrupt in the running cell."""
        self.km.interrupt_kernel()

    def restart(self) -> None:
        """jupyter_client's restart: a shutdown request, SIGKILL if the kernel takes over 5 s, a new kernel."""
        self.kc.stop_channels()
        self.km.restart_kernel(now=False)
        self._connect()

    def kill(self) -> None:
        """SIGKILL the kernel process (no atexit, no finalizers: what `kill -9` or the OOM killer does)."""
        os.kill(self.pid, signal.SIGKILL)
        wait_for(lambda: self.km.provisioner.process.poll() is not None, 5.0)

    def shutdown(self) -> None:
        """Stop the kernel (shutdown request, SIGKILL if slow) and its channels; idempotent."""
        try:
            self.kc.stop_channels()
        finally:
            if self.km.has_kernel:
                self.km.shutdown_kernel(now=False)

    def __enter__(self) -> Kernel:
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
