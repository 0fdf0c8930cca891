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
import http
import itertools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import TaoLabError
from .websocket import CLOSE_TIMEOUT as _CLOSE_TIMEOUT
from .websocket import WebSocket as _WebSocket

__all__ = ["RpcError", "Session", "JsonRpcServer"]

logger = logging.getLogger("tao_lab.node.rpc")

Dispatch = Callable[[str, "list | dict", "Session"], Awaitable[Any]]

_WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3
_HEAD_LIMIT = 64 << 10  # bytes of HTTP request line + headers before 431
_MAX_IN_FLIGHT = 256  # concurrent requests per WebSocket; beyond this the reader waits (backpressure)


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


# Keeps scheduled after_response callbacks referenced until they finish (the loop holds tasks weakly).
_background: set[asyncio.Task] = set()

# Set per request: asyncio tasks copy the context, so concurrent requests on one connection (and
# the tasks a handler spawns) each see their own request's list.
_after_response: contextvars.ContextVar[_AfterResponse | None] = contextvars.ContextVar(
    "tao_lab_rpc_after_response", default=None
)


class Session:
    """One client connection as the dispatcher sees it (an HTTP request is a session of its own).

    ``id`` is unique per server; ``supports_subscriptions`` is False for HTTP, where ``notify`` is a
    no-op, so subscription methods should refuse with an ``RpcError``.
    """

    def __init__(self, session_id: int, send: Callable[[str], Awaitable[None]] | None):
        self.id = session_id
        self.supports_subscriptions = send is not None
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
        task = asyncio.get_running_loop().create_task(now.run())
        _background.add(task)
        task.add_done_callback(_background.discard)

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


class _Connection:
    """What ``stop()`` needs to end one client connection."""

    def __init__(self, writer: asyncio.StreamWriter, task: asyncio.Task):
        self.writer = writer
        self.task = task
        self.websocket: _WebSocket | None = None

    async def shutdown(self) -> None:
        if self.websocket is not None:
            await self.websocket.close(1001, "server shutting down")  # the peer's close ends the loop
        else:
            self.writer.close()


class JsonRpcServer:
    """JSON-RPC 2.0 over WebSocket (``ws://host:port``) and HTTP POST (``http://host:port``).

    ``dispatch(method, params, session)`` is awaited for every request; it returns the result (any
    JSON value), raises ``RpcError`` for an error response, or ``KeyError(method)`` for an unknown
    method (-32601). Any other exception becomes -32603 "Internal error" with ``str(exc)`` as data.
    ``max_message`` (bytes) bounds one incoming WebSocket message or HTTP body (close 1009 / 413).
    ``port=0`` picks a free port; read ``.port`` / ``.url`` after ``start()``.
    """

    def __init__(self, dispatch: Dispatch, host: str = "127.0.0.1", port: int = 0, max_message: int = 16 << 20):
        self._dispatch = dispatch
        self._host = host
        self._port = port
        self._max_message = max_message
        self._server: asyncio.AbstractServer | None = None
        self._connections: set[_Connection] = set()
        self._requests: set[asyncio.Task] = set()  # WebSocket requests in flight, on every connection
        self._session_ids = itertools.count(1)

    @property
    def port(self) -> int:
        """The TCP port listened on (the chosen one when constructed with port 0)."""
        if self._port == 0:
            raise TaoLabError("JsonRpcServer was asked for a free port: call start() before reading .port")
        return self._port

    @property
    def url(self) -> str:
        return f"ws://{self._url_host}:{self.port}"

    @property
    def http_url(self) -> str:
        return f"http://{self._url_host}:{self.port}"

    @property
    def _url_host(self) -> str:
        return f"[{self._host}]" if ":" in self._host else self._host

    async def start(self) -> None:
        """Listen; idempotent."""
        if self._server is not None:
            return
        self._server = await asyncio.start_server(self._on_connect, self._host, self._port, limit=_HEAD_LIMIT)
        self._port = self._server.sockets[0].getsockname()[1]
        logger.info("JSON-RPC listening on %s and %s", self.url, self.http_url)

    async def stop(self) -> None:
        """Stop listening, send close 1001 to every WebSocket client and drop all connections."""
        if self._server is None:
            return
        server, self._server = self._server, None
        server.close()
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
        logger.info("JSON-RPC on port %d stopped", self._port)

    async def __aenter__(self) -> JsonRpcServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- connections ------------------------------------------------------------------------------

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = _Connection(writer, asyncio.current_task())  # type: ignore[arg-type]
        self._connections.add(connection)
        try:
            while (head := await _read_head(reader)) is not None:
                method, target, version, headers = head
                if method == "GET" and "websocket" in headers.get("upgrade", "").lower():
                    await self._serve_websocket(reader, writer, headers, connection)
                    return
                keep_alive = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
                if not await self._serve_http(reader, writer, method, target, headers, keep_alive):
                    return
        except asyncio.LimitOverrunError:
            await _http_reply(writer, 431, b"request head too large\n", "text/plain")
        except _BadRequest as exc:
            await _http_reply(writer, 400, f"{exc}\n".encode(), "text/plain")
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except Exception:  # a bug here must cost one connection, never the server
            logger.exception("connection handler failed")
        finally:
            self._connections.discard(connection)
            writer.close()

    async def _serve_websocket(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                               headers: dict[str, str], connection: _Connection) -> None:
        key = headers.get("sec-websocket-key", "")
        if headers.get("sec-websocket-version") != "13":
            await _http_reply(writer, 426, b"WebSocket version 13 only\n", "text/plain",
                              extra="Sec-WebSocket-Version: 13\r\n")
            return
        if len(key) != 24:
            await _http_reply(writer, 400, b"missing or malformed Sec-WebSocket-Key\n", "text/plain")
            return
        accept = base64.b64encode(hashlib.sha1(key.encode() + _WS_GUID).digest()).decode()
        writer.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Accept: {accept}\r\n\r\n").encode())
        await writer.drain()

        websocket = connection.websocket = _WebSocket(reader, writer, self._max_message)
        session = Session(next(self._session_ids), websocket.send_text)
        logger.debug("session %d: WebSocket open", session.id)
        slots = asyncio.Semaphore(_MAX_IN_FLIGHT)

        def finished(task: asyncio.Task) -> None:
            self._requests.discard(task)
            slots.release()
            if not task.cancelled() and task.exception() is not None:
                logger.error("request on session %d failed", session.id, exc_info=task.exception())

        try:
            while (message := await websocket.recv()) is not None:
                await slots.acquire()
                task = asyncio.create_task(self._answer(message, session, websocket.send_text))
                self._requests.add(task)
                task.add_done_callback(finished)
        finally:
            # Requests still running are left to finish: cancelling them could stop the node halfway
            # through work other clients wait on (a block being built and announced). Their writes,
            # and every notify() from now on, are silently dropped.
            session._close()
            logger.debug("session %d: WebSocket closed", session.id)

    async def _serve_http(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                          method: str, target: str, headers: dict[str, str], keep_alive: bool) -> bool:
        """Answer one HTTP request; True if the connection may serve another (keep-alive)."""
        if method == "GET" and target.split("?")[0] == "/health":
            await _http_reply(writer, 200, b'{"ok":true}', keep_alive=keep_alive)
            return keep_alive
        if method != "POST":
            await _http_reply(writer, 405, b"use POST for JSON-RPC, or a WebSocket upgrade\n", "text/plain",
                              extra="Allow: GET, POST\r\n")
            return False
        if "transfer-encoding" in headers or not headers.get("content-length", "").isdigit():
            await _http_reply(writer, 411, b"a Content-Length header is required\n", "text/plain")
            return False
        length = int(headers["content-length"])
        if length > self._max_message:
            await _http_reply(writer, 413, f"body larger than {self._max_message} bytes\n".encode(), "text/plain")
            return False
        if headers.get("expect", "").lower() == "100-continue":  # curl does this for large bodies
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = await reader.readexactly(length)
        session = Session(next(self._session_ids), None)

        async def send(text: str) -> None:
            await _http_reply(writer, 200, text.encode(), keep_alive=keep_alive)

        try:
            if not await self._answer(body, session, send):
                # Only notifications: JSON-RPC owes nothing, HTTP still needs a status line.
                await _http_reply(writer, 204, b"", keep_alive=keep_alive)
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
            return await self._call(request, session)
        if not request:
            return _error_reply(None, RpcError(-32600, "Invalid request", "empty batch"))
        replies = await asyncio.gather(*(self._call(item, session) for item in request))
        replies = [reply for reply in replies if reply is not None]
        return "[" + ",".join(replies) + "]" if replies else None

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


class _BadRequest(Exception):
    """An HTTP request head that cannot be parsed (answered with 400)."""


async def _read_head(reader: asyncio.StreamReader) -> tuple[str, str, str, dict[str, str]] | None:
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
        raise _BadRequest(f"malformed request line {request_line[:80]!r}") from None
    headers: dict[str, str] = {}
    for line in lines:
        name, sep, value = line.partition(":")
        if sep:
            name = name.strip().lower()
            headers[name] = f"{headers[name]}, {value.strip()}" if name in headers else value.strip()
    return method, target, version, headers


async def _http_reply(writer: asyncio.StreamWriter, status: int, body: bytes,
                      content_type: str = "application/json", extra: str = "", keep_alive: bool = False) -> None:
    head = (f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n{extra}\r\n")
    writer.writelines([head.encode(), body])
    await writer.drain()
