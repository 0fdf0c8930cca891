"""`Devnet`: start the embedded devnet from Python, in a subprocess (default) or a thread."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import urllib.parse
import weakref

from ..errors import TaoLabError

__all__ = ["Devnet", "DevnetError", "PortInUseError"]

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


class PortInUseError(DevnetError):
    """The port asked for is taken (often by another devnet); ``host`` and ``port`` say which."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        super().__init__(
            f"port {port} on {host} is already in use (another devnet, or another program); pick another "
            f"port, or port 0 for any free one, or stop what listens on {port}")


class Devnet:
    """An embedded subtensor-compatible devnet node on 127.0.0.1.

    >>> with Devnet() as dev:                       # doctest: +SKIP
    ...     SubstrateInterface(url=dev.url)

    Args:
        port: TCP port, 0 (default) for any free one.
        block_time: seconds between blocks in interval mode (default 0.25; from 0.01 to 3600,
            else `InputError`).
        instant: produce a block as soon as a transaction arrives instead.
        manual: produce blocks only through the ``dev_newBlock`` RPC.
        data_dir: keep the chain in this folder (resumes after a restart); None = in memory.
        in_process: run the node in a thread of this process instead of a subprocess (tests,
            debugging). A subprocess keeps a crash or a long computation out of the kernel.
        timeout: seconds to wait for the node to listen.
        keep_blocks: blocks whose state the node keeps in memory (None: ``TAO_LAB_KEEP_BLOCKS`` or
            4096); older state is pruned (docs/devnet.md).
        publish: list the running node in the Jupyter registry, so the TAO Lab sidebar shows it
            (docs/server.md). None (default): when in a Jupyter kernel or with
            ``TAO_LAB_REGISTRY_DIR`` set; a `Lab` passes False (its own entry covers its devnet).

    ``url`` carries a fresh random token (``ws://127.0.0.1:PORT/?token=...``): the kit's own clients
    (`Subtensor`, `Lab`, neurons) connect with it and may call the dev_* methods (advance, snapshot,
    restore, reset, block mode); a client on ``public_url`` can read the chain and submit extrinsics
    only, and a web page from another origin cannot connect at all (docs/security.md).

    The node subprocess never outlives this process: `stop`, garbage collection of the `Devnet`
    and interpreter exit (a `weakref.finalize`) terminate it, and the node itself watches this
    process's pid (``--parent-pid``) and stops within a second when it is gone, which covers a
    kernel killed with SIGKILL or a script ended by SIGTERM. It runs in its own session, so a
    Ctrl-C or a kernel interrupt meant for Python code never reaches it.
    """

    def __init__(self, port: int = 0, block_time: float = 0.25, instant: bool = False, manual: bool = False,
                 data_dir: str | os.PathLike | None = None, in_process: bool = False, timeout: float = 30.0,
                 publish: bool | None = None, keep_blocks: int | None = None):
        if instant and manual:
            raise ValueError("choose at most one of instant and manual")
        from .service import check_block_time

        self.port = port
        self.block_time = check_block_time(block_time)
        self.keep_blocks = keep_blocks
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
    def token(self) -> str | None:
        """The token the node's dev_* methods need (None when stopped); it is part of ``url``."""
        if not self.url:
            return None
        return urllib.parse.parse_qs(urllib.parse.urlsplit(self.url).query).get("token", [None])[-1]

    @property
    def public_url(self) -> str | None:
        """``url`` without the token: enough to read the chain and submit extrinsics, not for dev_*."""
        return self.url.split("/?", 1)[0] if self.url else None

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
        env = None if self.keep_blocks is None else {**os.environ, "TAO_LAB_KEEP_BLOCKS": str(self.keep_blocks)}
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "tao_lab.node", *self._args()],
            stdout=subprocess.PIPE, stderr=errfile, text=True, start_new_session=True, env=env,
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
            exited = self._proc.poll() is not None
            err = errfile.read().strip() if exited else ""
            errfile.close()
            self.stop()
            if not exited:
                raise DevnetError(f"the devnet did not start within {self.timeout:g} s")
            last = err.splitlines()[-1] if err else ""
            # the node's own errors are one "tao-lab: ..." line; anything else is shown as it came
            reason = last.removeprefix("tao-lab: ") if last.startswith("tao-lab: ") else (err[-2000:] or "no reason given")
            if self.port and "already in use" in reason:
                raise PortInUseError("127.0.0.1", self.port)
            raise DevnetError(f"the devnet did not start: {reason}")
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
                    start_node(port=self.port, mode=self.mode, block_time=self.block_time, data_dir=self.data_dir,
                               keep_blocks=self.keep_blocks))
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
            if errors and isinstance(errors[0], TaoLabError):  # already says what and why (port, data dir)
                raise errors[0]
            raise DevnetError(f"the devnet did not start: {errors[0] if errors else 'timeout'}")

    def __repr__(self):
        return f"Devnet({self.public_url or 'stopped'}, {self.mode})"  # no token: reprs end up on screens
