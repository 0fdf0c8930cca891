"""JSON-RPC 2.0 over WebSocket and HTTP on one port, as a Substrate node serves it on 9944.

Standard library only: the WebSocket protocol (RFC 6455) is implemented here on asyncio streams, so
an unmodified ``substrate-interface`` (websocket-client for ``ws://``, requests for ``http://``) can
talk to the devnet without the node depending on ``websockets`` or ``aiohttp``.

The server knows nothing about Substrate. It parses requests, calls ``dispatch(method, params,
session)`` and writes what comes back. A ``Session`` is the node's handle on one connection: it sends
subscription notifications, runs callbacks when the connection closes, and runs callbacks right after
the current response is written, which is how a subscription's first notification is kept behind the
response carrying its id (notes/substrate-node.md, pitfall 6).

Everything runs on the event loop that called ``start()``; call ``Session.notify`` from that loop
(from another thread use ``asyncio.run_coroutine_threadsafe``). This module is the transport (connections,
HTTP, WebSocket, limits); `tao_lab.node.rpc_messages` is the message layer (requests, batches, errors).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import logging
import resource
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from ..errors import TaoLabError
from .connections import (
    BODY_TIMEOUT,
    EVICT_IDLE_AFTER,
    FD_RESERVE,
    HEAD_LIMIT,
    HEADER_TIMEOUT,
    HTTP_IDLE_TIMEOUT,
    MAX_BATCH,
    MAX_CONNECTIONS,
    MAX_IN_FLIGHT,
    MAX_MESSAGE,
    MAX_PENDING,
    MAX_RESPONSE,
    SEND_TIMEOUT,
    SWEEP_S,
    WS_IDLE_TIMEOUT,
    BadRequest,
    Connection,
    RateLimitedLog,
    http_reply,
    origin_refusal,
    read_head,
    token_shown,
)
from .rpc_messages import BATCH_TOO_LARGE, RESPONSE_TOO_LARGE, UNAUTHORIZED, MessageHandling, RpcError, Session
from .websocket import CLOSE_TIMEOUT as _CLOSE_TIMEOUT
from .websocket import MAX_FRAGMENTS, MAX_SEND_QUEUE
from .websocket import WebSocket as _WebSocket

__all__ = ["RpcError", "Session", "JsonRpcServer", "MAX_MESSAGE", "MAX_FRAGMENTS", "MAX_SEND_QUEUE", "MAX_BATCH",
           "MAX_RESPONSE", "MAX_CONNECTIONS", "MAX_PENDING", "HEADER_TIMEOUT", "BODY_TIMEOUT", "HTTP_IDLE_TIMEOUT",
           "WS_IDLE_TIMEOUT", "SEND_TIMEOUT", "EVICT_IDLE_AFTER", "UNAUTHORIZED", "BATCH_TOO_LARGE",
           "RESPONSE_TOO_LARGE"]

logger = logging.getLogger("tao_lab.node.rpc")

Dispatch = Callable[[str, "list | dict", "Session"], Awaitable[Any]]

_WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3


class JsonRpcServer(MessageHandling):
    """JSON-RPC 2.0 over WebSocket (``ws://host:port``) and HTTP POST (``http://host:port``).

    ``dispatch(method, params, session)`` is awaited for every request; it returns the result (any
    JSON value), raises ``RpcError`` for an error response, or ``KeyError(method)`` for an unknown
    method (-32601). Any other exception becomes -32603 "Internal error" with ``str(exc)`` as data.
    ``port=0`` picks a free port; read ``.port`` / ``.url`` after ``start()``.

    Browsers: a request that carries an ``Origin`` header (HTTP or the WebSocket handshake) is
    refused with HTTP 403 unless the origin is on this machine (localhost, 127.0.0.1, [::1]), is
    the node's own address by IP (what websocket-client sends), or is in ``allowed_origins``
    (``"*"``: any). Requests without ``Origin`` (every non-browser client) pass.

    ``token``: when set, methods whose names start with one of ``protected_prefixes`` answer
    ``UNAUTHORIZED`` unless the connection showed the token, as ``?token=...`` in the URL or an
    ``Authorization: Bearer ...`` header. Other methods stay open to everyone.

    Limits (the module constants of the same names in upper case give the defaults, documented in
    docs/security.md): ``max_message``, ``max_fragments`` (one incoming message), ``max_batch``,
    ``max_response`` (one reply), ``max_send_queue`` (bytes queued for one WebSocket client),
    ``max_connections`` (connections past their first request head), ``max_pending`` (before it),
    and the timeouts ``header_timeout``, ``body_timeout``,
    ``http_idle_timeout``, ``ws_idle_timeout`` (None: never), ``send_timeout`` and
    ``evict_idle_after``, all in seconds.
    """

    def __init__(self, dispatch: Dispatch, host: str = "127.0.0.1", port: int = 0, *,
                 max_message: int = MAX_MESSAGE, max_fragments: int = MAX_FRAGMENTS, max_batch: int = MAX_BATCH,
                 max_response: int = MAX_RESPONSE, max_send_queue: int = MAX_SEND_QUEUE,
                 max_connections: int = MAX_CONNECTIONS, max_pending: int = MAX_PENDING, header_timeout: float = HEADER_TIMEOUT,
                 body_timeout: float = BODY_TIMEOUT, http_idle_timeout: float = HTTP_IDLE_TIMEOUT,
                 ws_idle_timeout: float | None = WS_IDLE_TIMEOUT, send_timeout: float = SEND_TIMEOUT,
                 evict_idle_after: float = EVICT_IDLE_AFTER, allowed_origins: Iterable[str] = (),
                 token: str | None = None, protected_prefixes: Iterable[str] = ()):
        for name, value in [("max_message", max_message), ("max_fragments", max_fragments),
                            ("max_batch", max_batch), ("max_response", max_response),
                            ("max_send_queue", max_send_queue), ("max_connections", max_connections),
                            ("max_pending", max_pending)]:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name, value in [("header_timeout", header_timeout), ("body_timeout", body_timeout),
                            ("http_idle_timeout", http_idle_timeout), ("send_timeout", send_timeout),
                            ("evict_idle_after", evict_idle_after), ("ws_idle_timeout", ws_idle_timeout)]:
            if value is None and name == "ws_idle_timeout":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
        self._dispatch = dispatch
        self._host = host
        self._port = port
        self._max_message = max_message
        self._max_fragments = max_fragments
        self._max_batch = max_batch
        self._max_response = max_response
        self._max_send_queue = max(max_send_queue, max_response)  # one whole reply always fits
        self._max_connections = max_connections
        self._max_pending = max_pending
        self._header_timeout = header_timeout
        self._body_timeout = body_timeout
        self._http_idle_timeout = http_idle_timeout
        self._ws_idle_timeout = ws_idle_timeout
        self._send_timeout = send_timeout
        self._evict_idle_after = evict_idle_after
        self._allowed_origins = {o.rstrip("/").lower() for o in allowed_origins}
        self._token = token or None
        self._protected = tuple(protected_prefixes)
        self._server: asyncio.AbstractServer | None = None
        self._sweeper: asyncio.Task | None = None
        self._connections: set[Connection] = set()  # every open one, for stop()
        self._pending: dict[Connection, None] = {}  # not yet past a request head, oldest first
        self._served: set[Connection] = set()  # past it: what max_connections counts
        self._requests: set[asyncio.Task] = set()  # WebSocket requests in flight, on every connection
        self._session_ids = itertools.count(1)
        self._log_accept_failed = RateLimitedLog()
        self._log_refused = RateLimitedLog()
        self._previous_handler = None

    @property
    def port(self) -> int:
        """The TCP port listened on (the chosen one when constructed with port 0)."""
        if self._port == 0:
            raise TaoLabError("JsonRpcServer was asked for a free port: call start() before reading .port")
        return self._port

    @property
    def url(self) -> str:
        """``ws://host:port``, without the token."""
        return f"ws://{self._url_host}:{self.port}"

    @property
    def http_url(self) -> str:
        return f"http://{self._url_host}:{self.port}"

    @property
    def max_connections(self) -> int:
        """The cap in force: ``max_connections``, lowered to half the open-files limit's room if less."""
        return max(1, min(self._max_connections, self._fd_budget() // 2))

    @property
    def max_pending(self) -> int:
        """The cap in force on connections yet to send a request head (the rest of the files' room)."""
        return max(1, min(self._max_pending, self._fd_budget() - self.max_connections))

    @staticmethod
    def _fd_budget() -> int:
        try:
            soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        except (OSError, ValueError):
            soft = resource.RLIM_INFINITY
        return 1 << 30 if soft == resource.RLIM_INFINITY else soft - FD_RESERVE

    @property
    def _url_host(self) -> str:
        return f"[{self._host}]" if ":" in self._host else self._host

    async def start(self) -> None:
        """Listen; idempotent."""
        if self._server is not None:
            return
        self._server = await asyncio.start_server(self._on_connect, self._host, self._port, limit=HEAD_LIMIT)
        self._port = self._server.sockets[0].getsockname()[1]
        loop = asyncio.get_running_loop()
        self._sweeper = loop.create_task(self._sweep_forever())
        # asyncio reports every failed accept (EMFILE when out of file descriptors) through the loop's
        # exception handler, once a second while it lasts: keep the log readable.
        self._previous_handler = loop.get_exception_handler()
        loop.set_exception_handler(self._on_loop_exception)
        if self.max_connections < self._max_connections or self.max_pending < self._max_pending:
            logger.warning("serving at most %d connections, %d more waiting for a request (the open-files limit "
                           "is too low for %d and %d)", self.max_connections, self.max_pending,
                           self._max_connections, self._max_pending)
        logger.info("JSON-RPC listening on %s and %s", self.url, self.http_url)

    def _on_loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict) -> None:
        if "accept" in str(context.get("message", "")):
            exc = context.get("exception")
            self._log_accept_failed(logging.ERROR, "cannot accept connections: %s", exc or context.get("message"))
            return
        if self._previous_handler is not None:
            self._previous_handler(loop, context)
        else:
            loop.default_exception_handler(context)

    async def stop(self) -> None:
        """Stop listening, send close 1001 to every WebSocket client and drop all connections."""
        if self._server is None:
            return
        server, self._server = self._server, None
        server.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        connections = list(self._connections)
        if connections:
            closing = [asyncio.create_task(c.shutdown()) for c in connections]
            _, stuck = await asyncio.wait({c.task for c in connections}, timeout=_CLOSE_TIMEOUT)
            for connection in connections:
                if connection.task in stuck:  # never answered the close frame, or stopped reading
                    # Abort rather than cancel: the handler then sees EOF and ends by itself, and
                    # Python 3.11's streams log a cancelled client_connected_cb task as an error.
                    connection.writer.transport.abort()
            await asyncio.wait([*stuck, *closing], timeout=_CLOSE_TIMEOUT)
        if self._requests:  # work that outlived its connection gets a grace period, then is cancelled
            _, running = await asyncio.wait(set(self._requests), timeout=_CLOSE_TIMEOUT)
            for task in running:
                task.cancel()
            if running:
                await asyncio.wait(running, timeout=_CLOSE_TIMEOUT)
        await server.wait_closed()
        loop = asyncio.get_running_loop()
        if loop.get_exception_handler() == self._on_loop_exception:
            loop.set_exception_handler(self._previous_handler)
        logger.info("JSON-RPC on port %d stopped", self._port)

    async def __aenter__(self) -> JsonRpcServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- timeouts and the connection cap ----------------------------------------------------------

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_S)
            try:
                self._sweep(time.monotonic())
            except Exception:  # a bug here must not end timeouts for good
                logger.exception("connection sweep failed")

    def _sweep(self, now: float) -> None:
        for c in list(self._connections):
            ws = c.websocket
            if ws is not None:
                if ws.stalled_since is not None and now - ws.stalled_since > self._send_timeout:
                    ws.drop(f"left the node's messages unread for {self._send_timeout:g} s")
                elif self._ws_idle_timeout is not None and c.idle_for(now) > self._ws_idle_timeout:
                    c.websocket.last_active = now  # expire once
                    c.expire(f"idle for {self._ws_idle_timeout:g} s")
            elif c.deadline is not None and now > c.deadline:
                what = {"head": "request head", "idle": "next request", "body": "request body",
                        "reply": "reply unread"}.get(c.phase, "")
                c.deadline = None
                c.expire(f"{what} not done within {now - c.since:.0f} s")

    def _admit(self, connection: Connection) -> None:
        """Count a new connection as pending; at ``max_pending``, drop the oldest pending one.

        An honest client sends its request head within milliseconds of connecting, so the oldest
        connections still without one are the silent or slow-drip ones.
        """
        if len(self._pending) >= self.max_pending:
            oldest = next(iter(self._pending))
            del self._pending[oldest]
            self._log_refused(logging.WARNING, "more than %d connections without a request: dropping the oldest",
                              self.max_pending)
            oldest.writer.transport.abort()
        self._pending[connection] = None

    def _make_room(self) -> bool:
        """At the cap: close the longest-idle served connection if it idled long enough; True if room."""
        if len(self._served) < self.max_connections:
            return True
        now = time.monotonic()
        idle = max(self._served, key=lambda c: c.idle_for(now), default=None)
        if idle is None or idle.idle_for(now) < self._evict_idle_after:
            return False
        self._served.discard(idle)  # its slot is the new connection's from now on
        idle.expire(f"the node is at its {self.max_connections}-connection cap and this connection was idle")
        return True

    async def _refuse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """HTTP 503, then a moment to read the rest so the answer is not lost to a TCP reset."""
        self._log_refused(logging.WARNING, "refusing requests: all %d connections are busy", self.max_connections)
        body = (f"the node serves at most {self.max_connections} connections and all are busy; try again "
                "shortly (max_connections, tao-lab devnet --max-connections)\n").encode()
        writer.write(f"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: "
                     f"{len(body)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n".encode() + body)
        try:
            if writer.can_write_eof():
                writer.write_eof()

            async def discard() -> None:
                while await reader.read(1 << 16):
                    pass

            await asyncio.wait_for(discard(), _CLOSE_TIMEOUT)
        except (asyncio.TimeoutError, OSError):
            pass

    # -- connections ------------------------------------------------------------------------------

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = Connection(writer, asyncio.current_task())  # type: ignore[arg-type]
        connection.wait_for("head", self._header_timeout)
        self._connections.add(connection)
        self._admit(connection)
        try:
            while (head := await read_head(reader)) is not None:
                method, target, version, headers = head
                if connection in self._pending:
                    del self._pending[connection]
                    if not self._make_room():
                        await self._refuse(reader, writer)
                        return
                    self._served.add(connection)
                connection.wait_for("reply", self._send_timeout)  # error replies must be read in time too
                refusal = self._check_origin(headers)
                if refusal is not None:
                    await http_reply(writer, 403, f"{refusal}\n".encode(), "text/plain")
                    return
                authorized = self._authorized(target, headers)
                if method == "GET" and "websocket" in headers.get("upgrade", "").lower():
                    await self._serve_websocket(reader, writer, headers, connection, authorized)
                    return
                keep_alive = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
                if not await self._serve_http(reader, writer, method, target, headers, keep_alive, connection,
                                              authorized):
                    return
                connection.wait_for("idle", self._http_idle_timeout)
        except asyncio.LimitOverrunError:
            await http_reply(writer, 431, b"request head too large\n", "text/plain")
        except BadRequest as exc:
            await http_reply(writer, 400, f"{exc}\n".encode(), "text/plain")
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except Exception:  # a bug here must cost one connection, never the server
            logger.exception("connection handler failed")
        finally:
            self._connections.discard(connection)
            self._pending.pop(connection, None)
            self._served.discard(connection)
            writer.close()

    def _check_origin(self, headers: dict[str, str]) -> str | None:
        """None if the request may go on; else why it is refused (a browser page from elsewhere)."""
        return origin_refusal(headers, self._allowed_origins)
    def _authorized(self, target: str, headers: dict[str, str]) -> bool:
        return self._token is None or token_shown(target, headers, self._token)
    async def _serve_websocket(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                               headers: dict[str, str], connection: Connection, authorized: bool) -> None:
        key = headers.get("sec-websocket-key", "")
        if headers.get("sec-websocket-version") != "13":
            await http_reply(writer, 426, b"WebSocket version 13 only\n", "text/plain",
                              extra="Sec-WebSocket-Version: 13\r\n")
            return
        if len(key) != 24:
            await http_reply(writer, 400, b"missing or malformed Sec-WebSocket-Key\n", "text/plain")
            return
        accept = base64.b64encode(hashlib.sha1(key.encode() + _WS_GUID).digest()).decode()
        writer.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Accept: {accept}\r\n\r\n").encode())
        connection.wait_for(None, None)  # from here the sweeper watches the WebSocket's own clocks

        websocket = connection.websocket = _WebSocket(reader, writer, self._max_message, self._max_fragments,
                                                      self._max_send_queue)
        session = Session(next(self._session_ids), websocket.send_text, authorized)
        logger.debug("session %d: WebSocket open", session.id)
        slots = asyncio.Semaphore(MAX_IN_FLIGHT)

        def finished(task: asyncio.Task) -> None:
            self._requests.discard(task)
            connection.in_flight -= 1
            slots.release()
            if not task.cancelled() and task.exception() is not None:
                logger.error("request on session %d failed", session.id, exc_info=task.exception())

        try:
            while (message := await websocket.recv()) is not None:
                await slots.acquire()
                connection.in_flight += 1
                task = asyncio.create_task(self._answer(message, session, websocket.send_text))
                self._requests.add(task)
                task.add_done_callback(finished)
        finally:
            # Requests still running are left to finish: cancelling them could stop the node halfway
            # through work other clients wait on (a block being built and announced). Their writes,
            # and every notify() from now on, are silently dropped.
            session._close()
            await websocket.finish()
            logger.debug("session %d: WebSocket closed", session.id)

    async def _serve_http(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                          method: str, target: str, headers: dict[str, str], keep_alive: bool,
                          connection: Connection, authorized: bool) -> bool:
        """Answer one HTTP request; True if the connection may serve another (keep-alive)."""
        if method == "GET" and target.split("?")[0] == "/health":
            connection.wait_for("reply", self._send_timeout)
            await http_reply(writer, 200, b'{"ok":true}', keep_alive=keep_alive)
            return keep_alive
        if method != "POST":
            await http_reply(writer, 405, b"use POST for JSON-RPC, or a WebSocket upgrade\n", "text/plain",
                              extra="Allow: GET, POST\r\n")
            return False
        if "transfer-encoding" in headers or not headers.get("content-length", "").isdigit():
            await http_reply(writer, 411, b"a Content-Length header is required\n", "text/plain")
            return False
        length = int(headers["content-length"])
        if length > self._max_message:
            await http_reply(writer, 413, f"body larger than {self._max_message} bytes\n".encode(), "text/plain")
            return False
        if headers.get("expect", "").lower() == "100-continue":  # curl does this for large bodies
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        connection.wait_for("body", self._body_timeout)
        body = await reader.readexactly(length)
        connection.wait_for(None, None)
        session = Session(next(self._session_ids), None, authorized)

        async def send(text: str) -> None:
            connection.wait_for("reply", self._send_timeout)
            await http_reply(writer, 200, text.encode(), keep_alive=keep_alive)

        try:
            if not await self._answer(body, session, send):
                # Only notifications: JSON-RPC owes nothing, HTTP still needs a status line.
                connection.wait_for("reply", self._send_timeout)
                await http_reply(writer, 204, b"", keep_alive=keep_alive)
        finally:
            session._close()
        return keep_alive
