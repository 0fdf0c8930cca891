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
(from another thread use ``asyncio.run_coroutine_threadsafe``).
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import hashlib
import itertools
import json
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
    keep,
    origin_refusal,
    read_head,
    token_shown,
)
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
# JSON-RPC error codes of the limits, as Substrate's jsonrpsee server answers them where it has one.
RESPONSE_TOO_LARGE = -32008
BATCH_TOO_LARGE = -32010
UNAUTHORIZED = -32040  # a protected method called without the node's token


class RpcError(TaoLabError):
    """A JSON-RPC error that a handler raises; it becomes the response's ``error`` object.

    ``code`` follows JSON-RPC (-32601 method not found, -32602 invalid params, ...) or Substrate
    (1010 invalid transaction); ``data`` is any JSON value, typically the reason as a string.
    """

    def __init__(self, code: int, message: str, data: Any = None):
        self.code = code
        self.message = message
        self.data = data
        super().__init__(f"{code} {message}" + (f": {data}" if data is not None else ""))

    def to_json(self) -> dict:
        error = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


class _AfterResponse:
    """Callbacks to await once the response to one request (or one batch) has been written."""

    def __init__(self) -> None:
        self.callbacks: list[Callable[[], Awaitable[None]]] = []
        self.done = False

    async def run(self) -> None:
        self.done = True
        for callback in self.callbacks:
            try:
                await callback()
            except Exception:
                logger.exception("after_response callback %r failed", callback)


# Set per request: asyncio tasks copy the context, so concurrent requests on one connection (and
# the tasks a handler spawns) each see their own request's list.
_after_response: contextvars.ContextVar[_AfterResponse | None] = contextvars.ContextVar(
    "tao_lab_rpc_after_response", default=None
)


class Session:
    """One client connection as the dispatcher sees it (an HTTP request is a session of its own).

    ``id`` is unique per server; ``supports_subscriptions`` is False for HTTP, where ``notify`` is a
    no-op, so subscription methods should refuse with an ``RpcError``. ``notify`` only queues: a
    client that reads slowly never holds up the caller (it is disconnected once too far behind).
    """

    def __init__(self, session_id: int, send: Callable[[str], Awaitable[None]] | None, authorized: bool = False):
        self.id = session_id
        self.supports_subscriptions = send is not None
        self.authorized = authorized  # the client showed the server's token (always True without one)
        self._send = send
        self._closed = False
        self._close_callbacks: list[Callable[[], None]] = []

    @property
    def closed(self) -> bool:
        """True once the connection is gone; long-running after_response loops should check it."""
        return self._closed

    async def notify(self, method: str, subscription: str, result: Any) -> None:
        """Send a subscription notification; silently nothing if the connection is gone.

        ``result`` must be JSON-serialisable (TypeError / ValueError otherwise: a node bug).
        """
        if self._closed or self._send is None:
            return
        await self._send(_dumps({"jsonrpc": "2.0", "method": method,
                                 "params": {"subscription": subscription, "result": result}}))

    def on_close(self, callback: Callable[[], None]) -> None:
        """Run ``callback()`` once when the connection closes (at once if it already has)."""
        if self._closed:
            _call_quietly(callback)
        else:
            self._close_callbacks.append(callback)

    def after_response(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Await ``callback()`` right after the response to the current request has been written.

        Outside a request (or after its response went out) there is nothing to wait for, so the
        callback is scheduled at once.
        """
        pending = _after_response.get()
        if pending is not None and not pending.done:
            pending.callbacks.append(callback)
            return
        now = _AfterResponse()
        now.callbacks.append(callback)
        keep(asyncio.get_running_loop().create_task(now.run()))

    def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        callbacks, self._close_callbacks = self._close_callbacks, []
        for callback in callbacks:
            _call_quietly(callback)


def _call_quietly(callback: Callable[[], None]) -> None:
    try:
        callback()
    except Exception:
        logger.exception("on_close callback %r failed", callback)


def _dumps(value: Any) -> str:
    # allow_nan=False: NaN is not JSON, and a client would choke on it rather than us.
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def _error_reply(request_id: Any, error: RpcError) -> str:
    reply = {"jsonrpc": "2.0", "error": error.to_json(), "id": request_id}
    try:
        return _dumps(reply)
    except (TypeError, ValueError):  # unserialisable ``data``: keep the error, describe the data
        reply["error"]["data"] = repr(error.data)
        return _dumps(reply)


def _valid_id(value: Any) -> bool:
    return value is None or (isinstance(value, (str, int, float)) and not isinstance(value, bool))


class JsonRpcServer:
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

    # -- JSON-RPC -----------------------------------------------------------------------------------

    async def _answer(self, message: str | bytes, session: Session,
                      send: Callable[[str], Awaitable[None]]) -> bool:
        """Process one message, send the reply, then run after_response callbacks; True if replied."""
        pending = _AfterResponse()
        token = _after_response.set(pending)
        try:
            reply = await self._process(message, session)
            if reply is not None:
                await send(reply)
            await pending.run()
            return reply is not None
        finally:
            _after_response.reset(token)

    async def _process(self, message: str | bytes, session: Session) -> str | None:
        """One message (a request or a batch) -> the reply text, or None when nothing is owed."""
        try:
            request = json.loads(message)
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            return _error_reply(None, RpcError(-32700, "Parse error"))
        if not isinstance(request, list):
            reply = await self._call(request, session)
            if reply is not None and len(reply) > self._max_response:
                request_id = request.get("id") if isinstance(request, dict) else None
                return _error_reply(request_id if _valid_id(request_id) else None, self._too_large(len(reply)))
            return reply
        if not request:
            return _error_reply(None, RpcError(-32600, "Invalid request", "empty batch"))
        if len(request) > self._max_batch:
            return _error_reply(None, RpcError(BATCH_TOO_LARGE, "The batch request was too large",
                                               f"{len(request)} requests; at most {self._max_batch} per batch"))
        # One at a time, stopping once the replies outgrow max_response: a batch costs no more memory
        # than one big reply, and its requests cannot crowd out other clients' all at once.
        replies, size = [], 2
        for item in request:
            reply = await self._call(item, session)
            if reply is None:
                continue
            size += len(reply) + 1
            if size > self._max_response:
                return _error_reply(None, self._too_large(size, batch=True))
            replies.append(reply)
        return "[" + ",".join(replies) + "]" if replies else None

    def _too_large(self, size: int, batch: bool = False) -> RpcError:
        what = "the batch's replies" if batch else "the reply"
        return RpcError(RESPONSE_TOO_LARGE, "Response is too big",
                        f"{what} would exceed {self._max_response} bytes (got {size}{'+' if batch else ''}); "
                        "ask for less in one request" + (" or batch" if batch else ""))

    async def _call(self, request: Any, session: Session) -> str | None:
        """One request object -> its reply text, or None for a (valid) notification."""
        if not isinstance(request, dict):
            return _error_reply(None, RpcError(-32600, "Invalid request", "expected an object"))
        is_notification = "id" not in request
        request_id = request.get("id")
        method = request.get("method")
        params = [] if request.get("params") is None else request["params"]  # absent or null: none
        if not _valid_id(request_id):
            return _error_reply(None, RpcError(-32600, "Invalid request", "id must be a string, number or null"))
        if request.get("jsonrpc") != "2.0" or not isinstance(method, str) or not isinstance(params, (list, dict)):
            return _error_reply(request_id, RpcError(
                -32600, "Invalid request", 'needs "jsonrpc":"2.0", a string "method" and array or object "params"'))
        try:
            if not session.authorized and method.startswith(self._protected):
                raise RpcError(UNAUTHORIZED, f"Unauthorized: {method} needs the node's token", _TOKEN_HINT)
            result = await self._dispatch(method, params, session)
        except RpcError as exc:
            error = exc
        except KeyError as exc:
            if exc.args != (method,):  # a KeyError from inside a handler is a bug, not a missing method
                logger.exception("handler of %s failed", method)
                error = RpcError(-32603, "Internal error", str(exc))
            else:
                error = RpcError(-32601, "Method not found", method)
        except Exception as exc:
            logger.exception("handler of %s failed", method)
            error = RpcError(-32603, "Internal error", str(exc))
        else:
            if is_notification:
                return None
            try:
                return _dumps({"jsonrpc": "2.0", "result": result, "id": request_id})
            except (TypeError, ValueError) as exc:
                logger.error("result of %s is not JSON: %s", method, exc)
                error = RpcError(-32603, "Internal error", f"result is not JSON: {exc}")
        return None if is_notification else _error_reply(request_id, error)


_TOKEN_HINT = ("reading the chain and submitting extrinsics are open to all, the dev_* methods are not: connect "
               "with the URL that carries ?token=... (Devnet.url in Python; the first line `tao-lab devnet` "
               "prints), or send the header 'Authorization: Bearer <token>'")
