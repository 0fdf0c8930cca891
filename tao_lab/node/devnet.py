"""`Devnet`: start the embedded devnet from Python, in a subprocess (default) or a thread."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import weakref

from ..errors import TaoLabError

__all__ = ["Devnet", "DevnetError"]

STOP_TIMEOUT_S = 5.0  # after SIGTERM, how long the node gets to stop before SIGKILL


def _stop_process(proc: subprocess.Popen, timeout: float = STOP_TIMEOUT_S) -> None:
    """Terminate the node process and reap it; run by `Devnet.stop` and by the finalizer."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


class DevnetError(TaoLabError):
    """The devnet could not start, or stopped unexpectedly."""


class Devnet:
    """An embedded subtensor-compatible devnet node on 127.0.0.1.

    >>> with Devnet() as dev:                       # doctest: +SKIP
    ...     SubstrateInterface(url=dev.url)

    Args:
        port: TCP port, 0 (default) for any free one.
        block_time: seconds between blocks in interval mode (default 0.25).
        instant: produce a block as soon as a transaction arrives instead.
        manual: produce blocks only through the ``dev_newBlock`` RPC.
        data_dir: keep the chain in this folder (resumes after a restart); None = in memory.
        in_process: run the node in a thread of this process instead of a subprocess (tests,
            debugging). A subprocess keeps a crash or a long computation out of the kernel.
        timeout: seconds to wait for the node to listen.
        publish: list the running node in the Jupyter registry, so the TAO Lab sidebar shows it
            (docs/server.md). None (default): when in a Jupyter kernel or with
            ``TAO_LAB_REGISTRY_DIR`` set; a `Lab` passes False (its own entry covers its devnet).

    The node subprocess never outlives this process: `stop`, garbage collection of the `Devnet`
    and interpreter exit (a `weakref.finalize`) terminate it, and the node itself watches this
    process's pid (``--parent-pid``) and stops within a second when it is gone, which covers a
    kernel killed with SIGKILL or a script ended by SIGTERM. It runs in its own session, so a
    Ctrl-C or a kernel interrupt meant for Python code never reaches it.
    """

    def __init__(self, port: int = 0, block_time: float = 0.25, instant: bool = False, manual: bool = False,
                 data_dir: str | os.PathLike | None = None, in_process: bool = False, timeout: float = 30.0,
                 publish: bool | None = None):
        if instant and manual:
            raise ValueError("choose at most one of instant and manual")
        self.port = port
        self.block_time = block_time
        self.mode = "instant" if instant else ("manual" if manual else "interval")
        self.data_dir = os.fspath(data_dir) if data_dir is not None else None
        self.in_process = in_process
        self.timeout = timeout
        self.publish = publish
        self.url: str | None = None
        self._proc: subprocess.Popen | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handle = None
        self._finalizer: weakref.finalize | None = None
        self._unpublish: weakref.finalize | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> "Devnet":
        """Start the node and wait until it listens. Calling it again while running does nothing."""
        if self.running:
            return self
        if self.in_process:
            self._start_thread()
        else:
            self._start_process()
        self._publish()
        return self

    def _publish(self) -> None:
        if self.publish is False:
            return
        from ..server.publish import _unpublish, publish_devnet

        pub = publish_devnet(self, force=bool(self.publish))
        if pub is not None:
            self._unpublish = weakref.finalize(self, _unpublish, pub)

    @property
    def running(self) -> bool:
        if self._proc is not None:
            return self._proc.poll() is None
        return self._thread is not None and self._thread.is_alive()

    @property
    def pid(self) -> int | None:
        """The node process's id (None when stopped or ``in_process``)."""
        return self._proc.pid if self._proc is not None else None

    def stop(self) -> None:
        """Stop the node (idempotent)."""
        if self._unpublish is not None:
            self._unpublish()
            self._unpublish = None
        if self._finalizer is not None:
            self._finalizer()  # _stop_process, once: a finalizer runs at most one time
            self._finalizer = None
        self._proc = None
        if self._thread is not None and self._loop is not None and self._handle is not None:
            asyncio.run_coroutine_threadsafe(self._handle.stop(), self._loop).result(timeout=10)
            self._thread.join(timeout=10)
            self._thread = None
        self.url = None

    def __enter__(self) -> "Devnet":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------ how

    def _args(self) -> list[str]:
        args = ["--port", str(self.port), "--block-time", str(self.block_time), "--quiet",
                "--parent-pid", str(os.getpid())]
        if self.mode == "instant":
            args.append("--instant")
        elif self.mode == "manual":
            args.append("--manual")
        if self.data_dir:
            args += ["--data-dir", self.data_dir]
        return args

    def _start_process(self) -> None:
        # stderr goes to an unlinked file, not a pipe: nobody reads a pipe after the start, and a
        # node that logged enough into a full one would block.
        errfile = tempfile.TemporaryFile(mode="w+")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "tao_lab.node", *self._args()],
            stdout=subprocess.PIPE, stderr=errfile, text=True, start_new_session=True,
        )
        # Holds the process, never self: the Devnet can be collected while the node runs, and
        # collection or interpreter exit then stops the node (unlike __del__, also at exit).
        self._finalizer = weakref.finalize(self, _stop_process, self._proc)
        url = self._read_url()
        if url is None:
            # stdout reaches EOF a moment before the exit status is ready; without this wait a
            # failed start (bad --data-dir) could be reported without its reason from stderr.
            try:
                self._proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
            errfile.seek(0)
            err = errfile.read() if self._proc.poll() is not None else ""
            errfile.close()
            self.stop()
            raise DevnetError(f"the devnet did not start within {self.timeout:g} s. {err.strip()[-2000:]}")
        errfile.close()  # the child keeps its own descriptor
        self.url = url

    def _read_url(self) -> str | None:
        result: list[str] = []
        stdout = self._proc.stdout  # not self: the thread must not keep the Devnet alive

        def read():
            line = stdout.readline()
            if line:
                result.append(line.strip())

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(self.timeout)
        return result[0] if result and result[0].startswith("ws://") else None

    def _start_thread(self) -> None:
        from .runner import start_node

        ready = threading.Event()
        errors: list[BaseException] = []

        def run():
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                self._handle = loop.run_until_complete(
                    start_node(port=self.port, mode=self.mode, block_time=self.block_time, data_dir=self.data_dir))
            except BaseException as exc:  # reported to the caller
                errors.append(exc)
                ready.set()
                return
            self.url = self._handle.url
            ready.set()
            loop.run_until_complete(self._handle.stopped.wait())
            loop.close()

        self._thread = threading.Thread(target=run, name="tao-lab-devnet", daemon=True)
        self._thread.start()
        if not ready.wait(self.timeout) or errors:
            raise DevnetError(f"the devnet did not start: {errors[0] if errors else 'timeout'}")

    def __repr__(self):
        return f"Devnet({self.url or 'stopped'}, {self.mode})"
