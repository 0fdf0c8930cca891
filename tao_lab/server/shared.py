"""The shared devnet: one `Devnet` the Jupyter server runs for all its notebooks.

It is a subprocess of the server, so it outlives kernels and stops with the server: `stop`, the
`Devnet`'s own finalizer at interpreter exit, and, if the server is killed, the node's watch of
its parent's pid. It is listed in the registry as kind ``"devnet"``, owner ``"server"``,
``chain.managed: true``, which is how ``Lab(url="shared")`` in a kernel finds it.
"""

from __future__ import annotations

import threading
import weakref

from ..errors import TaoLabError
from .chains import rpc_block
from .registry import Publisher

__all__ = ["SharedDevnet", "DevnetRunning", "DevnetNotRunning"]


class DevnetRunning(TaoLabError):
    """The shared devnet already runs (the API answers 409)."""


class DevnetNotRunning(TaoLabError):
    """No shared devnet runs (the API answers 404)."""


def _stop(devnet, publisher) -> None:
    publisher.remove()
    devnet.stop()


class SharedDevnet:
    """Start, stop and describe the server's shared devnet (methods block: call them off the loop)."""

    def __init__(self, directory=None):
        self.directory = directory
        self._lock = threading.Lock()
        self._devnet = None
        self._publisher: Publisher | None = None
        self._finalizer = None
        self.block_time: float | None = None

    @property
    def running(self) -> bool:
        return self._devnet is not None and self._devnet.running

    def start(self, block_time: float = 0.25, port: int = 0) -> dict:
        """Start the node and list it in the registry; raises `DevnetRunning` if it runs already."""
        from ..node.devnet import Devnet

        with self._lock:
            if self.running:
                raise DevnetRunning(f"the shared devnet already runs at {self._devnet.url}; "
                                    "DELETE /tao-lab/api/devnet stops it")
            self._clear()  # a node that died on its own leaves its old entry behind
            devnet = Devnet(port=port, block_time=block_time, publish=False).start()
            publisher = Publisher("devnet", owner="server", directory=self.directory)
            try:
                publisher.publish({"url": devnet.url, "devnet_pid": devnet.pid, "managed": True})
            except BaseException:
                devnet.stop()
                raise
            self._devnet, self._publisher, self.block_time = devnet, publisher, float(block_time)
            # a finalizer also runs at interpreter exit: the server stopping removes the entry and the node
            self._finalizer = weakref.finalize(self, _stop, devnet, publisher)
        return self.state()

    def stop(self) -> None:
        """Stop the node and remove its entry; raises `DevnetNotRunning` when none runs."""
        with self._lock:
            if not self.running:
                self._clear()
                raise DevnetNotRunning("no shared devnet is running; POST /tao-lab/api/devnet starts one")
            self._clear()

    def _clear(self) -> None:
        if self._finalizer is not None:
            self._finalizer()
        self._devnet = self._publisher = self._finalizer = None
        self.block_time = None

    def state(self, with_block: bool = True) -> dict:
        """``{"running", "url", "pid", "block_time", "block"}`` (``block`` read from the node)."""
        devnet = self._devnet
        if devnet is None or not devnet.running:
            return {"running": False, "url": None, "pid": None, "block_time": None, "block": None}
        url = devnet.url
        return {"running": True, "url": url, "pid": devnet.pid, "block_time": self.block_time,
                "block": rpc_block(url) if with_block and url else None}
