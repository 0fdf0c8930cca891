"""Run a devnet node: the chain, the RPC server and block production on one event loop."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable

from ..chain.chain import Chain
from .jsonrpc import JsonRpcServer
from .service import Node

log = logging.getLogger("tao_lab.node")


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


async def serve_forever(ready: Callable[[str], None] | None = None, **kwargs) -> None:
    """Run until SIGINT/SIGTERM; ``ready(url)`` is called once the node listens."""
    handle = await start_node(**kwargs)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, lambda: asyncio.ensure_future(handle.stop()))
        except (NotImplementedError, RuntimeError):  # not the main thread
            pass
    if ready is not None:
        ready(handle.url)
    await handle.stopped.wait()
