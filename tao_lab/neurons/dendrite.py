"""`Dendrite`: the client that sends a synapse to many axons at once and collects the replies.

``await dendrite.forward(axons, synapse, timeout)`` encodes the synapse once, signs it once per axon
(each signature binds that axon's hotkey and a fresh nonce), sends all requests concurrently over
pooled keep-alive connections, and returns one filled copy of the synapse per axon. Failures are
statuses on those copies, never exceptions: 408 when the timeout passed, 503 when the axon could not
be reached (connection refused or reset, not serving), 502 when its reply was not a tao_lab message,
and whatever the axon answered otherwise (see `tao_lab.neurons.axon`).

``dendrite.query(...)`` is the same call for code without ``await``: it runs on the dendrite's own
event loop in a helper thread, so it also works where a loop is already running (a Jupyter cell).

Targets are an `AxonInfo` (``ip``, ``port``, ``hotkey``, as in a `Metagraph`), an `Axon`, or a
``(url, hotkey)`` pair with an ``http://`` url. Nothing here resolves a host name: targets are
addresses, as the chain stores them.

The HTTP/1.1 client is a small asyncio protocol rather than ``aiohttp.ClientSession``: a
validator's fan-out is dominated by per-request overhead, and this one does only what an axon
exchange needs (one POST with Content-Length, a reply with Content-Length, keep-alive). On the
benchmark machine that took a fan-out of 16 from about 11 ms to about 6.5 ms (benchmarks/README.md).
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from ..errors import InputError
from .axon import BackgroundLoop
from .protocol import Synapse, TransportError, decode_response, encode_request
from .signing import Signer, body_hash

__all__ = ["Dendrite"]

Target = Any  # AxonInfo | Axon | tuple[str, str]

#: idle connections older than this are not reused (the axon's server closes them after 75 s)
IDLE_S = 30.0
#: idle connections kept per axon
IDLE_PER_AXON = 32


# ---------------------------------------------------------------------------------------------
# Targets


@lru_cache(maxsize=4096)
def _address(url: str) -> tuple[str, int]:
    """``http://host:port`` -> (host, port); only plain http, as axons serve."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname or parts.path not in ("", "/"):
        raise InputError("axons", f"expected a url such as 'http://127.0.0.1:8091', got {url!r}")
    return parts.hostname, parts.port or 80


def _resolve(target: Target) -> tuple[tuple[str, int] | None, str]:
    """A target -> ((host, port) or None when not serving, axon hotkey)."""
    if isinstance(target, tuple) and len(target) == 2 and all(isinstance(x, str) for x in target):
        return _address(target[0]), target[1]
    hotkey = getattr(target, "hotkey", None)
    if isinstance(hotkey, str):
        url = getattr(target, "url", None)
        if isinstance(url, str):  # an Axon
            return _address(url), hotkey
        ip, port = getattr(target, "ip", None), getattr(target, "port", None)
        if isinstance(ip, str) and isinstance(port, int):  # an AxonInfo
            if ip in ("0.0.0.0", "::", "") or port == 0:
                return None, hotkey
            return (ip, port), hotkey
    raise InputError("axons", f"expected an AxonInfo, an Axon or a (url, hotkey) pair, got {target!r}")


def _is_single(axons) -> bool:
    return not isinstance(axons, (list, tuple)) or (isinstance(axons, tuple) and axons and isinstance(axons[0], str))


# ---------------------------------------------------------------------------------------------
# A minimal HTTP/1.1 client: one request at a time per connection, replies with Content-Length


class _HTTPError(Exception):
    """The exchange failed; ``status`` is what the reply synapse gets (408, 502, 503)."""

    def __init__(self, status: int, message: str):
        self.status = status
        super().__init__(message)


class _Connection(asyncio.Protocol):
    def __init__(self, max_reply: int):
        self.max_reply = max_reply
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.waiter: asyncio.Future | None = None
        self.head_end = -1  # end of the reply's header block, once seen
        self.need = -1  # total bytes of the reply (header block + body), once known
        self.keep_alive = True
        self.closed = False
        self.idle_since = 0.0

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if self.waiter is not None and not self.waiter.done():
            try:
                self._parse()
            except _HTTPError as e:
                self.waiter.set_exception(e)

    def _parse(self) -> None:
        if self.head_end < 0:
            i = self.buf.find(b"\r\n\r\n")
            if i < 0:
                if len(self.buf) > 65536:
                    raise _HTTPError(502, "reply headers longer than 64 KiB")
                return
            self.head_end = i + 4
            lines = bytes(self.buf[:i]).decode("latin-1").split("\r\n")
            try:
                version, code = lines[0].split(" ", 2)[:2]
                self.status = int(code)
            except ValueError:
                raise _HTTPError(502, f"not an HTTP reply: {lines[0][:80]!r}") from None
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            if "content-length" not in headers:
                raise _HTTPError(502, "reply without Content-Length (chunked replies are not spoken here)")
            length = int(headers["content-length"])
            if length > self.max_reply:
                raise _HTTPError(502, f"reply of {length} bytes is over the dendrite's {self.max_reply}-byte limit")
            self.need = self.head_end + length
            self.keep_alive = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        if len(self.buf) >= self.need:
            body = bytes(self.buf[self.head_end:self.need])
            del self.buf[:self.need]
            self.head_end = self.need = -1
            self.waiter.set_result((self.status, body))

    def connection_lost(self, exc) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            got = "before replying" if self.head_end < 0 and not self.buf else "in the middle of its reply"
            self.waiter.set_exception(_HTTPError(503, f"connection closed {got}"))

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            try:
                self.transport.close()
            except RuntimeError:  # its event loop is already closed; the socket goes with the transport
                pass


class _Pool:
    """Keep-alive connections per (host, port) for one event loop."""

    def __init__(self, max_reply: int):
        self.max_reply = max_reply
        self.idle: dict[tuple[str, int], list[_Connection]] = {}

    def _take(self, address: tuple[str, int]) -> _Connection | None:
        idle = self.idle.get(address)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if not conn.closed and not conn.buf and now - conn.idle_since < IDLE_S:
                return conn
            conn.close()
        return None

    async def post(self, address: tuple[str, int], path: str, head: str, body: bytes, deadline: float):
        """One POST; returns (HTTP status, body) or raises `_HTTPError`."""
        reused = self._take(address)
        conn = reused or await self._connect(address, deadline)
        try:
            return await self._exchange(conn, address, path, head, body, deadline)
        except _HTTPError as e:
            # an idle connection the server had just closed: the request never arrived, so send it again
            if reused is None or e.status != 503 or conn.head_end >= 0 or conn.buf:
                raise
        conn = await self._connect(address, deadline)
        return await self._exchange(conn, address, path, head, body, deadline)

    async def _connect(self, address: tuple[str, int], deadline: float) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, conn = await asyncio.wait_for(loop.create_connection(lambda: _Connection(self.max_reply), *address),
                                             max(deadline - time.monotonic(), 0.0))
        except asyncio.TimeoutError:
            raise _HTTPError(408, "timed out connecting") from None
        except OSError as e:
            raise _HTTPError(503, f"cannot connect: {e.strerror or e}") from None
        return conn

    async def _exchange(self, conn: _Connection, address, path: str, head: str, body: bytes, deadline: float):
        loop = asyncio.get_running_loop()
        waiter = conn.waiter = loop.create_future()
        timer = loop.call_at(loop.time() + max(deadline - time.monotonic(), 0.0), _expire, waiter)
        host = f"[{address[0]}]" if ":" in address[0] else address[0]
        conn.transport.writelines([
            f"POST {path} HTTP/1.1\r\nHost: {host}:{address[1]}\r\nContent-Length: {len(body)}\r\n{head}\r\n".encode(),
            body,
        ])
        try:
            status, data = await waiter
        except BaseException:
            conn.close()  # a half-finished exchange leaves the connection unusable
            raise
        finally:
            timer.cancel()
            conn.waiter = None
        if conn.keep_alive and not conn.closed and len(self.idle.setdefault(address, [])) < IDLE_PER_AXON:
            conn.idle_since = time.monotonic()
            self.idle[address].append(conn)
        else:
            conn.close()
        return status, data

    def close(self) -> None:
        for conns in self.idle.values():
            for conn in conns:
                conn.close()
        self.idle.clear()


def _expire(waiter: asyncio.Future) -> None:
    if not waiter.done():
        waiter.set_exception(_HTTPError(408, "timed out"))


# ---------------------------------------------------------------------------------------------


class Dendrite:
    """Sends signed synapses to axons with the hotkey of ``wallet_or_keypair``; a (sync or async) context manager.

    ``max_reply``: largest reply body accepted, in bytes (502 beyond). Connections are kept alive
    and reused per axon; `close` (or ``with`` / ``async with``) closes them and the helper thread.
    """

    def __init__(self, wallet_or_keypair, *, max_reply: int = 256 << 20):
        self.signer = Signer(wallet_or_keypair)
        self.hotkey: str = self.signer.hotkey
        self.max_reply = max_reply
        self._pools: dict[asyncio.AbstractEventLoop, _Pool] = {}  # connections belong to their event loop
        self._helper: BackgroundLoop | None = None

    def _pool(self) -> _Pool:
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            for old in [lp for lp in self._pools if lp.is_closed()]:  # e.g. an earlier asyncio.run()
                self._pools.pop(old).close()
            pool = self._pools[loop] = _Pool(self.max_reply)
        return pool

    async def forward(self, axons: Target | Sequence[Target], synapse: Synapse, timeout: float = 12.0):
        """Send ``synapse`` to every axon concurrently; one filled copy per axon, in order.

        ``timeout`` is in seconds, for each request as a whole. A single target (not in a list)
        returns a single synapse. Raises only for bad arguments (`InputError`), never for an axon.
        """
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < 86400:
            raise InputError("timeout", f"expected seconds in (0, 86400), got {timeout!r}")
        single = _is_single(axons)
        targets = [_resolve(t) for t in ([axons] if single else axons)]
        body = encode_request(synapse)
        digest = body_hash(body)
        pool = self._pool()
        deadline = time.monotonic() + timeout
        replies = await asyncio.gather(*(self._call(pool, address, hotkey, synapse, body, digest, timeout, deadline)
                                         for address, hotkey in targets))
        return replies[0] if single else replies

    async def _call(self, pool: _Pool, address: tuple[str, int] | None, axon_hotkey: str, synapse: Synapse,
                    body: bytes, digest: str, timeout: float, deadline: float) -> Synapse:
        t0 = time.perf_counter()
        reply = copy.copy(synapse)
        reply.caller_hotkey, reply.axon_hotkey = self.hotkey, axon_hotkey
        if address is None:
            reply.status, reply.message = 503, f"axon {axon_hotkey} is not serving (no ip or port on chain)"
            return reply
        where = f"{address[0]}:{address[1]}"
        head = "".join(f"{k}: {v}\r\n" for k, v in self.signer.headers(axon_hotkey, digest, timeout).items())
        head += "Content-Type: application/octet-stream\r\n"
        try:
            http_status, data = await pool.post(address, f"/{synapse.name}", head, body, deadline)
            try:
                decode_response(reply, data)
            except TransportError as e:  # not an axon's reply: keep the HTTP error if there was one
                reply.status = http_status if http_status >= 400 else 502
                reply.message = f"HTTP {http_status} from {where} is not a {synapse.name} reply: {e}"
        except _HTTPError as e:
            reply.status = e.status
            reply.message = (f"no reply from {where} within {timeout:.3g} s" if e.status == 408
                             else f"{'cannot reach' if e.status == 503 else 'bad reply from'} {where}: {e}")
        reply.elapsed = time.perf_counter() - t0
        return reply

    # -- sync use ---------------------------------------------------------------------------------

    def query(self, axons: Target | Sequence[Target], synapse: Synapse, timeout: float = 12.0):
        """`forward` without ``await``; works with or without a running event loop (e.g. in Jupyter)."""
        if self._helper is None:
            self._helper = BackgroundLoop(name=f"dendrite-{self.hotkey[:8]}")
        return self._helper.run(self.forward(axons, synapse, timeout))

    # -- closing ----------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the kept-alive connections of every loop this dendrite used, and its helper thread."""
        helper, self._helper = self._helper, None
        for loop, pool in list(self._pools.items()):
            if helper is not None and loop is helper.loop:
                helper.loop.call_soon_threadsafe(pool.close)
            elif loop.is_running() and not _is_current(loop):
                loop.call_soon_threadsafe(pool.close)
            else:
                pool.close()
        self._pools.clear()
        if helper is not None:
            helper.close()

    async def aclose(self) -> None:
        """`close`, for symmetry with ``async with``; nothing needs awaiting."""
        self.close()

    def __enter__(self) -> Dendrite:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    async def __aenter__(self) -> Dendrite:
        return self

    async def __aexit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Dendrite {self.hotkey}>"


def _is_current(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
