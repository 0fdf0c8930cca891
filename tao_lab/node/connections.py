"""The connections of the devnet's JSON-RPC server: its limits, the HTTP request head, timeouts and
idleness of one connection, who may call (Origin and token), and logging that a flood cannot flood.

`tao_lab.node.jsonrpc.JsonRpcServer` applies these; docs/security.md lists every limit and its default.
"""

from __future__ import annotations

import asyncio
import hmac
import http
import ipaddress
import logging
import time
import urllib.parse
from typing import Any

from .websocket import CLOSE_TIMEOUT as _CLOSE_TIMEOUT
from .websocket import WebSocket as _WebSocket

logger = logging.getLogger("tao_lab.node.rpc")

HEAD_LIMIT = 64 << 10  # bytes of HTTP request line + headers before 431
MAX_IN_FLIGHT = 256  # concurrent requests per WebSocket; beyond this the reader waits (backpressure)

# Limits: each is a JsonRpcServer argument of the same name in lower case (docs/security.md).
MAX_MESSAGE = 16 << 20  # bytes of one WebSocket message or HTTP body (close 1009 / HTTP 413)
MAX_BATCH = 256  # requests in one JSON-RPC batch (error BATCH_TOO_LARGE past it)
MAX_RESPONSE = 16 << 20  # bytes of one reply, a whole batch's included (error RESPONSE_TOO_LARGE past it)
MAX_CONNECTIONS = 256  # connections being served; past it an idle one is closed to make room, or HTTP 503
MAX_PENDING = 256  # connections yet to send a whole request head; past it the oldest is dropped
HEADER_TIMEOUT = 10.0  # seconds for a new connection's request line and headers (HTTP 408 after)
BODY_TIMEOUT = 30.0  # seconds for an HTTP request body
HTTP_IDLE_TIMEOUT = 30.0  # seconds an HTTP keep-alive connection may wait for its next request
WS_IDLE_TIMEOUT = 3600.0  # seconds a WebSocket may pass with no request in flight and no message either way
SEND_TIMEOUT = 60.0  # seconds a client may leave the node's writes unread before it is dropped
EVICT_IDLE_AFTER = 5.0  # at the connection cap, a connection idle this long may be closed for a new one
FD_RESERVE = 64  # file descriptors kept for the node's own files when capping connections
SWEEP_S = 0.5  # how often timeouts are checked


# tasks started in the background (a polite WebSocket close, a notification): kept referenced until done
_background: set[asyncio.Task] = set()


def keep(task: asyncio.Task) -> asyncio.Task:
    """Keep a reference to a background task until it finishes (the loop only holds weak ones)."""
    _background.add(task)
    task.add_done_callback(_background.discard)
    return task


class Connection:
    """One client connection: what the sweeper checks (deadlines, idleness) and what ``stop()`` ends."""

    def __init__(self, writer: asyncio.StreamWriter, task: asyncio.Task):
        self.writer = writer
        self.task = task
        self.websocket: _WebSocket | None = None
        self.in_flight = 0  # WebSocket requests being answered
        # HTTP: what the connection waits for ("head" of its first request, "idle" for the next one
        # on keep-alive, "body", "reply" to be read, or None while dispatching), since when, until when.
        self.phase: str | None = "head"
        self.since = time.monotonic()
        self.deadline: float | None = None

    def wait_for(self, phase: str | None, timeout: float | None) -> None:
        self.phase, self.since = phase, time.monotonic()
        self.deadline = None if timeout is None else self.since + timeout

    def idle_for(self, now: float) -> float:
        """Seconds this connection has done nothing useful (0 while it works)."""
        if self.websocket is not None:
            return 0.0 if self.in_flight else now - self.websocket.last_active
        return now - self.since if self.phase in ("head", "idle") else 0.0

    def expire(self, why: str) -> None:
        """Close now, politely if the peer still reads; aborted after the close timeout regardless."""
        logger.info("closing connection: %s", why)
        transport = self.writer.transport
        if self.websocket is not None:
            keep(asyncio.get_running_loop().create_task(self.websocket.close(1001, why)))
        else:
            if self.phase == "head":
                body = f"{why}\n".encode()
                transport.write(f"HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain\r\nContent-Length: "
                                f"{len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
            transport.close()
        asyncio.get_running_loop().call_later(_CLOSE_TIMEOUT, transport.abort)

    async def shutdown(self) -> None:
        if self.websocket is not None:
            await self.websocket.close(1001, "server shutting down")  # the peer's close ends the loop
        else:
            self.writer.close()


class RateLimitedLog:
    """Log one line per ``interval`` seconds at most, saying how many were left out in between."""

    def __init__(self, interval: float = 60.0):
        self.interval = interval
        self._last = -float("inf")
        self._skipped = 0

    def __call__(self, level: int, message: str, *args: Any) -> None:
        now = time.monotonic()
        if now - self._last < self.interval:
            self._skipped += 1
            return
        if self._skipped:
            message += f" (and {self._skipped} more like it in the last {now - self._last:.0f} s)"
        self._last, self._skipped = now, 0
        logger.log(level, message, *args)


def _loopback_host(host: str | None) -> bool:
    return host is not None and (host == "localhost" or host.endswith(".localhost")
                                 or _ip(host) is not None and _ip(host).is_loopback)


def _ip(host: str):
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def origin_refusal(headers: dict[str, str], allowed_origins) -> str | None:
    """None if a request with these headers may go on; else why it is refused (a browser page from elsewhere).

    ``allowed_origins``: lower-case origins allowed besides this machine's (``"*"``: any)."""
    origin = headers.get("origin")
    if origin is None or "*" in allowed_origins or origin.rstrip("/").lower() in allowed_origins:
        return None
    parts = urllib.parse.urlsplit(origin)
    try:
        host = parts.hostname
    except ValueError:
        host = None
    if parts.scheme in ("http", "https") and _loopback_host(host):
        return None
    # websocket-client sends the node's own address as Origin. A browser page can only claim an
    # address as origin if it was served from there; by IP (not a name) that rules out DNS rebinding.
    if (parts.scheme in ("http", "https") and host is not None and _ip(host) is not None
            and parts.netloc.lower() == headers.get("host", "").lower()):
        return None
    logger.info("refused a request from origin %r", origin)
    return (f"origin {origin!r} may not use this node: only pages on this machine may. To allow it, "
            f"start the node with --allow-origin {origin} (JsonRpcServer allowed_origins)")


def token_shown(target: str, headers: dict[str, str], token: str) -> bool:
    """True when the request showed ``token``: as ``?token=...`` in its target or ``Authorization: Bearer``."""
    shown = urllib.parse.parse_qs(urllib.parse.urlsplit(target).query).get("token", [""])[-1]
    scheme, _, credentials = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        shown = credentials.strip()
    return hmac.compare_digest(shown.encode(), token.encode())


class BadRequest(Exception):
    """An HTTP request head that cannot be parsed (answered with 400)."""


async def read_head(reader: asyncio.StreamReader) -> tuple[str, str, str, dict[str, str]] | None:
    """Request line and headers -> (method, target, version, headers by lower-case name).

    None when the client hung up cleanly before sending another request.
    """
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise
        return None  # a keep-alive client hung up between requests
    request_line, *lines = raw.decode("latin-1").split("\r\n")
    try:
        method, target, version = request_line.split(" ")
    except ValueError:
        raise BadRequest(f"malformed request line {request_line[:80]!r}") from None
    headers: dict[str, str] = {}
    for line in lines:
        name, sep, value = line.partition(":")
        if sep:
            name = name.strip().lower()
            headers[name] = f"{headers[name]}, {value.strip()}" if name in headers else value.strip()
    return method, target, version, headers


async def http_reply(writer: asyncio.StreamWriter, status: int, body: bytes,
                      content_type: str = "application/json", extra: str = "", keep_alive: bool = False) -> None:
    head = (f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n{extra}\r\n")
    writer.writelines([head.encode(), body])
    await writer.drain()
