"""Run a devnet node: the chain, the RPC server and block production on one event loop."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import resource
import secrets
import signal
import threading
import time
import urllib.parse
from collections.abc import Callable

from ..chain.chain import DEFAULT_KEEP_BLOCKS, Chain, dev_genesis
from ..errors import InputError
from .devnet import DevnetError, PortInUseError
from .jsonrpc import JsonRpcServer
from .service import Node, check_block_time

log = logging.getLogger("tao_lab.node")

PARENT_POLL_S = 0.5  # how often the node checks that the process that started it is alive
EXIT_GRACE_S = 3.0  # after the parent died, how long a clean stop may take before the node exits outright


TOKEN_ENV = "TAO_LAB_DEVNET_TOKEN"  # `tao-lab devnet` takes its token from here when set (not argv: `ps` shows that)
DEV_PREFIXES = ("dev_",)  # the methods that need the token: they rewind, reset or drive the chain


def new_token() -> str:
    """A fresh random token for the dev_* methods (URL-safe, 128 bits)."""
    return secrets.token_urlsafe(16)


def with_token(url: str, token: str | None) -> str:
    """``url`` with ``/?token=...`` (what the kit's own clients connect with); ``url`` if no token."""
    return url if not token else f"{url}/?token={urllib.parse.quote(token, safe='')}"


class NodeHandle:
    """A started node: its URL (with the token, see `with_token`), and a way to stop it from its loop."""

    def __init__(self, node: Node, server: JsonRpcServer, token: str | None = None):
        self.node = node
        self.server = server
        self.token = token
        self.url = with_token(server.url, token)
        self.stopped = asyncio.Event()

    async def stop(self) -> None:
        try:
            await self.node.stop()
            await self.server.stop()
        finally:
            self.node.close()  # the journal, and with it the data-dir lock
            self.stopped.set()


def keep_blocks_from_env() -> int:
    """``TAO_LAB_KEEP_BLOCKS`` (blocks of state kept in memory), default `DEFAULT_KEEP_BLOCKS`."""
    raw = os.environ.get("TAO_LAB_KEEP_BLOCKS", "")
    try:
        value = int(raw) if raw.strip() else DEFAULT_KEEP_BLOCKS
    except ValueError:
        value = 0
    if value < 1:
        raise InputError("TAO_LAB_KEEP_BLOCKS", f"expected a positive number of blocks, got {raw!r}")
    return value


def _open(data_dir: str | None, keep_blocks: int | None) -> Chain:
    keep = keep_blocks if keep_blocks is not None else keep_blocks_from_env()
    if data_dir:
        from .persist import open_chain

        return open_chain(data_dir, keep_blocks=keep)
    return Chain(genesis=dev_genesis(), keep_blocks=keep)


async def start_node(host: str = "127.0.0.1", port: int = 0, mode: str = "interval", block_time: float = 0.25,
                     data_dir: str | None = None, chain: Chain | None = None,
                     keep_blocks: int | None = None, token: str | None = None, **server_options) -> NodeHandle:
    """Create (or reopen from ``data_dir``) the chain and serve it; returns once it listens.

    ``keep_blocks``: blocks of state and bodies kept in memory (default ``TAO_LAB_KEEP_BLOCKS`` or
    4096); older ones are pruned (docs/devnet.md). Raises `InputError` for a bad ``block_time``,
    `PortInUseError` when ``port`` is taken, `DataDirError` for an unusable or locked ``data_dir``.

    ``token``: what the dev_* methods need (`new_token()` when None; ``""`` leaves them open to
    anyone who can connect). ``server_options`` go to `JsonRpcServer` (limits, ``allowed_origins``).
    """
    check_block_time(block_time)  # before the data dir is opened and locked
    opened, chain = chain is None, chain if chain is not None else _open(data_dir, keep_blocks)
    node = Node(chain, mode=mode, block_time=block_time)
    token = new_token() if token is None else token
    server = JsonRpcServer(node.dispatch, host=host, port=port, token=token or None,
                           protected_prefixes=DEV_PREFIXES, **server_options)
    try:
        await server.start()
    except OSError as exc:
        if opened:
            node.close()  # release the data dir for the next try
        if exc.errno == errno.EADDRINUSE:
            raise PortInUseError(host, port) from None
        raise DevnetError(f"the devnet cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    node.start()
    return NodeHandle(node, server, token or None)


def _raise_open_files_limit(want: int = 8192) -> None:
    """Lift the soft open-files limit towards the hard one: each connection is a file descriptor."""
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        target = want if hard == resource.RLIM_INFINITY else min(want, hard)
        if soft != resource.RLIM_INFINITY and soft < target:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (OSError, ValueError):
        pass


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def watch_parent(parent_pid: int, on_gone: Callable[[], None], grace: float = EXIT_GRACE_S) -> threading.Thread:
    """Call ``on_gone()`` once process ``parent_pid`` has died; ``os._exit(0)`` if we still run ``grace`` s later.

    When ``parent_pid`` is our parent (what `Devnet` passes), "gone" means we were re-parented, which
    also covers a parent killed with SIGKILL whose pid is soon reused. Otherwise (a pid given by hand
    to ``tao-lab devnet --parent-pid``) it means no process has that pid any more. A thread, not a
    task on the node's loop, so a loop stuck in a long computation is still cut short.
    """
    is_parent = os.getppid() == parent_pid

    def alive() -> bool:
        return os.getppid() == parent_pid if is_parent else _pid_alive(parent_pid)

    def loop():
        while alive():
            time.sleep(PARENT_POLL_S)
        log.warning("parent process %d is gone: stopping", parent_pid)
        try:
            on_gone()
        except Exception:  # the loop is already closed: nothing left to stop cleanly
            pass
        time.sleep(grace)
        os._exit(0)

    thread = threading.Thread(target=loop, name="watch-parent", daemon=True)
    thread.start()
    return thread


async def serve_forever(ready: Callable[[str], None] | None = None, parent_pid: int | None = None,
                        **kwargs) -> None:
    """Run until SIGINT/SIGTERM, or until process ``parent_pid`` dies; ``ready(url)`` is called once the node listens.

    ``kwargs`` go to `start_node`.
    """
    _raise_open_files_limit()
    handle = await start_node(**kwargs)
    loop = asyncio.get_running_loop()

    def stop() -> None:
        asyncio.ensure_future(handle.stop())

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop)
        except (NotImplementedError, RuntimeError):  # not the main thread
            pass
    if parent_pid is not None:
        watch_parent(parent_pid, lambda: loop.call_soon_threadsafe(stop))
    if ready is not None:
        ready(handle.url)
    await handle.stopped.wait()
