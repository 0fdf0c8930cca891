"""JSON-RPC 2.0 messages, as `tao_lab.node.jsonrpc.JsonRpcServer` answers them on any transport.

A message is a request or a batch; each request is checked (``jsonrpc``, ``method``, ``params``, a
valid ``id``), dispatched, and answered with its result or an error object, under the server's
limits (batch size, reply size) and its token for protected methods. `Session` is the node's handle
on one connection; `RpcError` is what handlers raise.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import TaoLabError
from .connections import keep

logger = logging.getLogger("tao_lab.node.rpc")

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


class MessageHandling:
    """`JsonRpcServer`'s message layer (it provides ``_dispatch``, ``_protected``, ``_max_batch`` and
    ``_max_response``)."""

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
