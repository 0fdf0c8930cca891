"""Run a devnet node: the chain, the RPC server and block production on one event loop."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import time
from collections.abc import Callable

from ..chain.chain import Chain
from .jsonrpc import JsonRpcServer
from .service import Node

log = logging.getLogger("tao_lab.node")

PARENT_POLL_S = 0.5  # how often the node checks that the process that started it is alive
EXIT_GRACE_S = 3.0  # after the parent died, how long a clean stop may take before the node exits outright


class NodeHandle:
    """A started node: its URL, and a way to stop it from the loop that runs it."""

    def __init__(self, node: Node, server: JsonRpcServer):
        self.node = node
        self.server = server
        self.url = server.url
        self.stopped = asyncio.Event()

    async def stop(self) -> None:
        await self.node.stop()
        await self.server.stop()
        self.stopped.set()


async def start_node(host: str = "127.0.0.1", port: int = 0, mode: str = "interval", block_time: float = 0.25,
                     data_dir: str | None = None, chain: Chain | None = None) -> NodeHandle:
    """Create (or reopen from ``data_dir``) the chain and serve it; returns once it listens."""
    if chain is None:
        if data_dir:
            from .persist import open_chain

            chain = open_chain(data_dir)
        else:
            chain = Chain.dev()
    node = Node(chain, mode=mode, block_time=block_time)
    server = JsonRpcServer(node.dispatch, host=host, port=port)
    await server.start()
    node.start()
    return NodeHandle(node, server)


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
