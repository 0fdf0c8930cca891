"""JsonRpcServer against real clients: websocket-client, urllib, substrate-interface and raw sockets.

The server runs on its own event loop in a background thread, as the devnet will in a notebook.
Every receive has a timeout so a regression fails fast instead of hanging the suite.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import socket
import struct
import threading
import time
import urllib.error
import urllib.request

import pytest

from tao_lab.errors import TaoLabError
from tao_lab.node.jsonrpc import JsonRpcServer, RpcError, Session

TIMEOUT = 2.0  # seconds for any single receive or server call
_no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Toy:
    """The dispatch under test; records subscriptions whose connection closed."""

    def __init__(self) -> None:
        self.closed: list[str] = []
        self.closed_event = threading.Event()
        self.slow_done = threading.Event()
        self._sub_ids = itertools.count(1)

    async def __call__(self, method: str, params: list | dict, session: Session):
        if method == "echo":
            return params
        if method == "system_chain":
            return "tao-lab-test"
        if method == "boom":
            raise ValueError("kaboom")
        if method == "lookup":  # a KeyError from inside a handler is a bug, not an unknown method
            return {}["missing"]
        if method == "fail":
            raise RpcError(1010, "Invalid Transaction", "Transaction is outdated")
        if method == "slow":
            await asyncio.sleep(0.2)
            self.slow_done.set()
            return "slow"
        if method == "sub":  # params: [count, interval in seconds]
            if not session.supports_subscriptions:
                raise RpcError(-32000, "subscriptions need a WebSocket")
            count, interval = [*params, *[3, 0.0][len(params):]]
            sub_id = f"0x{next(self._sub_ids):04x}"

            def closed() -> None:
                self.closed.append(sub_id)
                self.closed_event.set()

            async def feed() -> None:
                for i in range(count):
                    if session.closed:  # notify() would be a silent no-op from here on
                        return
                    await session.notify("toy_event", sub_id, i)
                    await asyncio.sleep(interval)

            session.on_close(closed)
            session.after_response(feed)
            return sub_id
        raise KeyError(method)


class Running:
    """A JsonRpcServer serving a Toy on an event loop in a daemon thread."""

    def __init__(self, **kwargs) -> None:
        self.toy = Toy()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="jsonrpc-test", daemon=True)
        self.thread.start()
        self.server = JsonRpcServer(self.toy, **kwargs)
        self.call(self.server.start())

    def call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(TIMEOUT)

    def close(self) -> None:
        self.call(self.server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(TIMEOUT)
        self.loop.close()


@pytest.fixture
def node():
    running = Running()
    yield running
    running.close()


def ws_connect(url: str):
    websocket = pytest.importorskip("websocket")
    return websocket.create_connection(url, timeout=TIMEOUT)


def request(method: str, params=None, id=1) -> str:
    return json.dumps({"jsonrpc": "2.0", "method": method, "params": [] if params is None else params, "id": id})


def ws_call(ws, method: str, params=None, id=1) -> dict:
    ws.send(request(method, params, id))
    return json.loads(ws.recv())


def http(url: str, body: bytes | None = None, method: str = "POST"):
    """(status, content type, body) of one HTTP request, errors included."""
    req = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": "application/json"})
    try:
        with _no_proxy.open(req, timeout=TIMEOUT) as response:
            return response.status, response.headers.get("Content-Type"), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type"), exc.read()


# -- WebSocket and HTTP basics ---------------------------------------------------------------------


def test_echo_over_websocket_and_http(node):
    ws = ws_connect(node.server.url)
    try:
        assert ws_call(ws, "echo", [1, "two", {"three": 3}], id=7) == {
            "jsonrpc": "2.0", "result": [1, "two", {"three": 3}], "id": 7}
        assert ws_call(ws, "echo", {"named": True}, id="x")["result"] == {"named": True}
    finally:
        ws.close()
    status, content_type, body = http(node.server.http_url, request("echo", [42]).encode())
    assert (status, content_type) == (200, "application/json")
    assert json.loads(body) == {"jsonrpc": "2.0", "result": [42], "id": 1}


def test_http_health_and_methods(node):
    assert http(node.server.http_url + "/health", method="GET") == (200, "application/json", b'{"ok":true}')
    assert http(node.server.http_url, b"{}", method="PUT")[0] == 405
    assert http(node.server.http_url, method="GET")[0] == 405


def test_errors_keep_the_connection_usable(node):
    ws = ws_connect(node.server.url)
    try:
        assert ws_call(ws, "nope", id=1) == {
            "jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found", "data": "nope"}, "id": 1}
        ws.send("{not json")
        assert json.loads(ws.recv()) == {"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"},
                                         "id": None}
        assert ws_call(ws, "boom", id=2)["error"] == {"code": -32603, "message": "Internal error", "data": "kaboom"}
        assert ws_call(ws, "lookup", id=3)["error"]["code"] == -32603
        assert ws_call(ws, "fail", id=4)["error"] == {
            "code": 1010, "message": "Invalid Transaction", "data": "Transaction is outdated"}
        assert ws_call(ws, "echo", ["still here"], id=5)["result"] == ["still here"]
    finally:
        ws.close()


@pytest.mark.parametrize("message, reply_id", [
    ("42", None),                                         # not an object or array
    ('{"jsonrpc":"2.0","id":3}', 3),                      # no method
    ('{"jsonrpc":"1.0","method":"echo","id":4}', 4),      # wrong version
    ('{"jsonrpc":"2.0","method":"echo","params":5,"id":5}', 5),  # params not structured
    ('{"jsonrpc":"2.0","method":"echo","id":[6]}', None),  # id of the wrong type
    ("[]", None),                                         # empty batch
])
def test_invalid_requests(node, message, reply_id):
    status, _, body = http(node.server.http_url, message.encode())
    reply = json.loads(body)
    assert status == 200 and reply["error"]["code"] == -32600 and reply["id"] == reply_id


def test_batch_is_answered_as_an_array(node):
    batch = json.dumps([
        {"jsonrpc": "2.0", "method": "echo", "params": [1], "id": 1},
        {"jsonrpc": "2.0", "method": "echo", "params": [2]},  # notification: no entry
        {"jsonrpc": "2.0", "method": "nope", "id": 3},
        7,
    ])
    ws = ws_connect(node.server.url)
    try:
        ws.send(batch)
        replies = json.loads(ws.recv())
    finally:
        ws.close()
    assert isinstance(replies, list) and len(replies) == 3
    by_id = {reply["id"]: reply for reply in replies}
    assert by_id[1]["result"] == [1] and by_id[3]["error"]["code"] == -32601
    assert by_id[None]["error"]["code"] == -32600
    assert json.loads(http(node.server.http_url, batch.encode())[2]) == replies


def test_notifications_get_no_reply(node):
    notification = json.dumps({"jsonrpc": "2.0", "method": "echo", "params": [0]})
    ws = ws_connect(node.server.url)
    try:
        ws.send(notification)
        ws.send(json.dumps({"jsonrpc": "2.0", "method": "boom"}))  # failing notification: silent too
        assert ws_call(ws, "echo", ["next"], id=9)["id"] == 9  # the first thing back is the request's reply
    finally:
        ws.close()
    assert http(node.server.http_url, notification.encode()) == (204, "application/json", b"")


def test_requests_on_one_connection_run_concurrently(node):
    ws = ws_connect(node.server.url)
    try:
        started = time.monotonic()
        ws.send(request("slow", id=1))
        ws.send(request("echo", ["fast"], id=2))
        assert [json.loads(ws.recv())["id"] for _ in range(2)] == [2, 1]
        assert time.monotonic() - started < 0.4
    finally:
        ws.close()


# -- subscriptions -----------------------------------------------------------------------------------


def test_subscription_id_arrives_before_its_notifications(node):
    ws = ws_connect(node.server.url)
    try:
        for id in range(1, 21):  # repeated: an ordering race would show up in some round
            ws.send(request("sub", [3], id=id))
            reply = json.loads(ws.recv())
            assert reply["id"] == id
            notes = [json.loads(ws.recv()) for _ in range(3)]
            assert [n["params"] for n in notes] == [{"subscription": reply["result"], "result": i} for i in range(3)]
            assert {n["method"] for n in notes} == {"toy_event"} and all("id" not in n for n in notes)
    finally:
        ws.close()
    deadline = time.monotonic() + TIMEOUT  # the server handles the close on its own loop
    while len(node.toy.closed) < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(node.toy.closed) == 20  # every subscription heard about the close


def test_http_sessions_cannot_subscribe(node):
    reply = json.loads(http(node.server.http_url, request("sub").encode())[2])
    assert reply["error"]["code"] == -32000


@pytest.mark.parametrize("how", ["close frame", "dropped socket"])
def test_disconnect_mid_subscription_runs_on_close(node, how):
    ws = ws_connect(node.server.url)
    ws.send(request("sub", [10_000, 0.005]))
    sub_id = json.loads(ws.recv())["result"]
    assert json.loads(ws.recv())["params"]["subscription"] == sub_id
    if how == "close frame":
        ws.close()
    else:
        ws.shutdown()  # no close frame: the TCP connection just goes away
    assert node.toy.closed_event.wait(TIMEOUT) and node.toy.closed == [sub_id]
    ws = ws_connect(node.server.url)  # the server is still healthy
    try:
        assert ws_call(ws, "echo", ["again"])["result"] == ["again"]
    finally:
        ws.close()


def test_request_in_flight_finishes_after_disconnect(node):
    ws = ws_connect(node.server.url)
    ws.send(request("slow"))
    ws.shutdown()  # gone before the reply: the handler is not cancelled halfway
    assert node.toy.slow_done.wait(TIMEOUT)


# -- WebSocket framing ------------------------------------------------------------------------------


def test_one_mebibyte_round_trip(node):
    big = os.urandom(1 << 19).hex()  # 1 MiB of text
    ws = ws_connect(node.server.url)
    try:
        assert ws_call(ws, "echo", [big])["result"] == [big]
    finally:
        ws.close()
    assert json.loads(http(node.server.http_url, request("echo", [big]).encode())[2])["result"] == [big]


def test_fragmented_and_binary_messages(node):
    websocket = pytest.importorskip("websocket")
    ws = ws_connect(node.server.url)
    try:
        text = request("echo", ["in pieces"], id=11)
        ws.send_frame(websocket.ABNF.create_frame(text[:10], websocket.ABNF.OPCODE_TEXT, fin=0))
        ws.ping(b"between")  # control frames may come between fragments
        ws.send_frame(websocket.ABNF.create_frame(text[10:30], websocket.ABNF.OPCODE_CONT, fin=0))
        ws.send_frame(websocket.ABNF.create_frame(text[30:], websocket.ABNF.OPCODE_CONT, fin=1))
        opcode, frame = ws.recv_data_frame(control_frame=True)
        assert (opcode, frame.data) == (websocket.ABNF.OPCODE_PONG, b"between")
        assert json.loads(ws.recv())["result"] == ["in pieces"]
        ws.send_binary(request("echo", ["binary"], id=12).encode())
        assert json.loads(ws.recv())["result"] == ["binary"]
    finally:
        ws.close()


def test_message_over_the_limit_closes_1009():
    websocket = pytest.importorskip("websocket")
    running = Running(max_message=1024)
    try:
        ws = ws_connect(running.server.url)
        ws.send(request("echo", ["x" * 2048]))
        opcode, frame = ws.recv_data_frame(control_frame=True)
        assert opcode == websocket.ABNF.OPCODE_CLOSE and struct.unpack("!H", frame.data[:2])[0] == 1009
        ws.shutdown()  # the close handshake is done; close() would be a no-op that keeps the socket
        assert http(running.server.http_url, request("echo", ["x" * 2048]).encode())[0] == 413
    finally:
        running.close()


def test_stop_closes_clients_with_1001():
    websocket = pytest.importorskip("websocket")
    running = Running()
    try:
        ws = ws_connect(running.server.url)
        ws.send(request("sub", [1]))
        assert "result" in json.loads(ws.recv())
        json.loads(ws.recv())
        stopping = asyncio.run_coroutine_threadsafe(running.server.stop(), running.loop)
        opcode, frame = ws.recv_data_frame(control_frame=True)  # also answers the close
        assert opcode == websocket.ABNF.OPCODE_CLOSE and struct.unpack("!H", frame.data[:2])[0] == 1001
        stopping.result(TIMEOUT)
        assert running.toy.closed_event.is_set()
        ws.shutdown()
        with pytest.raises(OSError):
            ws_connect(running.server.url)
    finally:
        running.close()  # stop() again: idempotent


# -- raw sockets: what websocket-client will not send -------------------------------------------------


def raw_upgrade(port: int, key: str | None = "dGhlIHNhbXBsZSBub25jZQ==", version: str = "13"):
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    head = ("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Version: {version}\r\n")
    sock.sendall((head + (f"Sec-WebSocket-Key: {key}\r\n" if key else "") + "\r\n").encode())
    response = b""
    while b"\r\n\r\n" not in response:
        response += sock.recv(4096)
    return sock, response.decode("latin-1")


def test_raw_handshake_and_protocol_errors(node):
    sock, response = raw_upgrade(node.server.port)
    try:
        # RFC 6455 section 1.3's worked example.
        assert response.startswith("HTTP/1.1 101") and "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in response
        sock.sendall(struct.pack("!BB", 0x81, 2) + b"{}")  # unmasked client frame
        head = sock.recv(4)
        assert head[0] == 0x88 and struct.unpack("!H", head[2:4])[0] == 1002
    finally:
        sock.close()
    for key, version, status in [(None, "13", "400"), ("dGhlIHNhbXBsZSBub25jZQ==", "8", "426")]:
        sock, response = raw_upgrade(node.server.port, key, version)
        sock.close()
        assert response.split(" ")[1] == status


# -- real clients and lifecycle ----------------------------------------------------------------------


def test_substrate_interface_talks_to_it(node):
    substrateinterface = pytest.importorskip("substrateinterface")
    from substrateinterface.exceptions import SubstrateRequestException

    for url in (node.server.url, node.server.http_url):
        substrate = substrateinterface.SubstrateInterface(url=url)  # asks system_chain on connect
        try:
            assert substrate.chain == "tao-lab-test"
            assert substrate.rpc_request("echo", [1, 2])["result"] == [1, 2]
            with pytest.raises(SubstrateRequestException):
                substrate.rpc_request("state_missing", [])
        finally:
            substrate.close()

    seen = []
    substrate = substrateinterface.SubstrateInterface(url=node.server.url)
    try:
        def handler(message, update_nr, subscription_id):
            seen.append((update_nr, message["params"]["result"]))
            return "done" if update_nr == 2 else None

        assert substrate.rpc_request("sub", [3], result_handler=handler) == "done"
        assert seen == [(0, 0), (1, 1), (2, 2)]
    finally:
        substrate.close()


def test_lifecycle_under_asyncio_run():
    async def main():
        server = JsonRpcServer(Toy())
        with pytest.raises(TaoLabError):
            _ = server.port  # not bound yet
        async with server:
            port = server.port
            await server.start()  # idempotent: same socket
            assert server.port == port and server.url == f"ws://127.0.0.1:{port}"
            assert server.http_url == f"http://127.0.0.1:{port}"
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            response = await asyncio.wait_for(reader.read(), TIMEOUT)
            writer.close()
            assert response.startswith(b"HTTP/1.1 200") and response.endswith(b'{"ok":true}')

    asyncio.run(main())


def test_rpc_error_fields():
    error = RpcError(1010, "Invalid Transaction", "Transaction has a bad signature")
    assert (error.code, error.message, error.data) == (1010, "Invalid Transaction", "Transaction has a bad signature")
    assert isinstance(error, TaoLabError)
    assert error.to_json() == {"code": 1010, "message": "Invalid Transaction",
                               "data": "Transaction has a bad signature"}
    assert RpcError(-32601, "Method not found").to_json() == {"code": -32601, "message": "Method not found"}
