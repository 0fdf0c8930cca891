"""Hostile and careless clients against a real node on 127.0.0.1 (issue 11, items 2-5, 8, 11, 12).

Each test runs hostile clients on raw sockets next to honest ones (websocket-client,
substrate-interface, urllib) and checks two things: the hostile one is cut off with a clear reason,
and the honest ones are served all along. Most use a node on an event loop in a thread of this
process with small limits (`NodeThread`), so each limit is reached in a fraction of a second; the
token, Origin and memory tests use `Devnet` subprocesses as users run them.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import socket
import stat
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest
import websocket
from substrateinterface import SubstrateInterface
from substrateinterface.exceptions import SubstrateRequestException

from tao_lab.client.subtensor import Subtensor
from tao_lab.errors import InputError
from tao_lab.node.devnet import Devnet
from tao_lab.node.jsonrpc import BATCH_TOO_LARGE, RESPONSE_TOO_LARGE, UNAUTHORIZED
from tao_lab.node.runner import start_node

TIMEOUT = 10.0  # seconds for any single socket read
_no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class NodeThread:
    """A devnet node (`start_node`) on its own event loop in a daemon thread, with the given limits."""

    def __init__(self, mode: str = "instant", block_time: float = 0.25, **options) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="hardening-node", daemon=True)
        self.thread.start()
        self.handle = self.call(start_node(mode=mode, block_time=block_time, **options))
        self.port = self.handle.server.port
        self.url = self.handle.url  # with the token
        self.public_url = self.handle.server.url
        self.http_url = self.handle.server.http_url

    def call(self, coro, timeout: float = TIMEOUT):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.call(self.handle.stop(), 30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(TIMEOUT)
        self.loop.close()

    def __enter__(self) -> NodeThread:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def request(method: str, params=None, id=1) -> dict:
    return {"jsonrpc": "2.0", "method": method, "params": [] if params is None else params, "id": id}


def http_post(url: str, body, headers: dict | None = None):
    """(status, parsed JSON or text) of one POST."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with _no_proxy.open(req, timeout=TIMEOUT) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("latin-1")


def health_latency(node: NodeThread) -> float:
    """Seconds one honest HTTP request takes (it must succeed)."""
    started = time.monotonic()
    status, reply = http_post(node.http_url, request("chain_getHeader"))
    assert status == 200 and "result" in reply, reply
    return time.monotonic() - started


def masked_frame(opcode: int, payload: bytes = b"", fin: bool = True) -> bytes:
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", (0x80 if fin else 0) | opcode, 0x80 | n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", (0x80 if fin else 0) | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", (0x80 if fin else 0) | opcode, 0x80 | 127, n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class _Socket(socket.socket):
    status: int | None = None  # the handshake's HTTP status


def raw_websocket(port: int, path: str = "/", origin: str | None = None, rcvbuf: int | None = None) -> _Socket:
    """A raw socket past the WebSocket handshake (or the refusal's status line in ``.status``)."""
    sock = _Socket()
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(TIMEOUT)
    sock.connect(("127.0.0.1", port))
    head = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n")
    if origin:
        head += f"Origin: {origin}\r\n"
    sock.sendall((head + "\r\n").encode())
    response = b""
    while b"\r\n\r\n" not in response:
        chunk = sock.recv(1)
        if not chunk:
            break
        response += chunk
    sock.status = int(response.split(b" ")[1]) if response else None
    return sock


def read_until_closed(sock: socket.socket, timeout: float = TIMEOUT) -> bytes:
    """Everything the server sends until it closes the connection (fails on timeout)."""
    sock.settimeout(timeout)
    data = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while chunk := sock.recv(1 << 20):
            data += chunk
            assert time.monotonic() < deadline, "the server kept the connection open"
    except ConnectionResetError:
        pass
    return bytes(data)


def close_codes(stream: bytes) -> list[int]:
    """The close codes of the server's close frames in a raw (unmasked) frame stream."""
    codes, i = [], 0
    while i + 2 <= len(stream):
        opcode, n = stream[i] & 0x0F, stream[i + 1] & 0x7F
        i += 2
        if n == 126:
            n, i = struct.unpack("!H", stream[i:i + 2])[0], i + 2
        elif n == 127:
            n, i = struct.unpack("!Q", stream[i:i + 8])[0], i + 8
        if opcode == 0x8 and n >= 2:
            codes.append(struct.unpack("!H", stream[i:i + 2])[0])
        i += n
    return codes


# ---------------------------------------------------------------- item 2: slow WebSocket consumers


def test_a_subscriber_that_stops_reading_holds_up_neither_blocks_nor_other_clients():
    with NodeThread(mode="interval", block_time=0.05, max_send_queue=1 << 20, max_response=1 << 19) as node:
        hostile = raw_websocket(node.port, rcvbuf=4096)
        hostile.sendall(masked_frame(0x1, json.dumps(request("chain_subscribeNewHeads")).encode()))
        for i in range(60):  # ~6.5 MB of metadata that it never reads
            hostile.sendall(masked_frame(0x1, json.dumps(request("state_getMetadata", id=i + 2)).encode()))
        honest = websocket.create_connection(node.url, timeout=TIMEOUT)
        try:
            honest.send(json.dumps(request("chain_subscribeNewHeads", id=1)))
            numbers = []
            while len(numbers) < 20:
                message = json.loads(honest.recv())
                if message.get("method") == "chain_newHead":
                    numbers.append(int(message["params"]["result"]["number"], 16))
            assert numbers == list(range(numbers[0], numbers[0] + 20))  # no block skipped, none stalled
        finally:
            honest.close()
        assert health_latency(node) < 1.0
        # The slow one was let go, with the reason as its last frame.
        assert 1008 in close_codes(read_until_closed(hostile))
        hostile.close()


def test_a_client_that_never_reads_is_dropped_after_the_send_timeout():
    with NodeThread(mode="interval", block_time=0.05, send_timeout=1.0) as node:
        hostile = raw_websocket(node.port, rcvbuf=4096)
        for i in range(80):  # ~9 MB: more than the socket buffers (4 MB at most), less than the queue
            hostile.sendall(masked_frame(0x1, json.dumps(request("state_getMetadata", id=i)).encode()))
        time.sleep(3.0)
        received = read_until_closed(hostile)  # what the buffers held, then the end: the node let go
        assert len(received) < 80 * 100_000
        hostile.close()
        assert health_latency(node) < 1.0


# ---------------------------------------------------------------- item 3: fragmentation


def test_a_flood_of_empty_continuation_frames_is_cut_off_quickly():
    with NodeThread() as node:
        hostile = raw_websocket(node.port)
        flood = masked_frame(0x1, b"[", fin=False) + masked_frame(0x0, fin=False) * 50_000  # 300 kB
        started = time.monotonic()
        try:
            hostile.sendall(flood)
        except (ConnectionResetError, BrokenPipeError):
            pass  # cut off before it finished sending: fine
        assert health_latency(node) < 1.0
        assert close_codes(read_until_closed(hostile)) == [1008]
        assert time.monotonic() - started < 3.0
        hostile.close()


def test_a_message_in_many_fragments_under_the_cap_still_works():
    with NodeThread(max_fragments=1000) as node:
        ws = websocket.create_connection(node.url, timeout=TIMEOUT)
        try:
            text = json.dumps(request("system_name", id=5))
            pieces = [text[i:i + 1] for i in range(len(text))]
            assert len(pieces) < 1000
            for i, piece in enumerate(pieces):
                opcode = websocket.ABNF.OPCODE_TEXT if i == 0 else websocket.ABNF.OPCODE_CONT
                ws.send_frame(websocket.ABNF.create_frame(piece, opcode, fin=int(i == len(pieces) - 1)))
            assert json.loads(ws.recv())["result"] == "tao-lab"
        finally:
            ws.close()


# ---------------------------------------------------------------- item 4: batches


def test_batches_are_bounded_in_length_and_in_reply_size():
    with NodeThread(max_batch=50, max_response=1 << 20) as node:
        status, reply = http_post(node.http_url, [request("system_name", id=i) for i in range(51)])
        assert status == 200 and reply["error"]["code"] == BATCH_TOO_LARGE and "at most 50" in reply["error"]["data"]
        # 20 metadata replies are ~2 MB: past max_response, one error instead of the replies
        status, reply = http_post(node.http_url, [request("state_getMetadata", id=i) for i in range(20)])
        assert status == 200 and reply["error"]["code"] == RESPONSE_TOO_LARGE
        assert str(1 << 20) in reply["error"]["data"]
        status, reply = http_post(node.http_url, [request("system_name", id=i) for i in range(50)])
        assert [r["result"] for r in reply] == ["tao-lab"] * 50


def node_peak_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads the node's peak RSS from /proc")
def test_a_170_kB_metadata_batch_does_not_blow_up_the_node():
    with Devnet(instant=True, publish=False) as dev:
        before = node_peak_rss_mib(dev.pid)
        batch = [request("state_getMetadata", id=i) for i in range(2500)]
        assert len(json.dumps(batch)) > 170_000
        status, reply = http_post(dev.url.replace("ws://", "http://"), batch)
        assert reply["error"]["code"] == BATCH_TOO_LARGE
        status, reply = http_post(dev.url.replace("ws://", "http://"), batch[:256])  # allowed length, 28 MB
        assert reply["error"]["code"] == RESPONSE_TOO_LARGE
        assert node_peak_rss_mib(dev.pid) - before < 150


# ---------------------------------------------------------------- item 5: timeouts, connection cap


def test_a_slow_drip_request_head_gets_408_after_the_header_timeout():
    with NodeThread(header_timeout=1.0) as node:
        sock = socket.create_connection(("127.0.0.1", node.port), timeout=TIMEOUT)
        started = time.monotonic()
        sock.sendall(b"POST / HTTP/1.1\r\n")
        answer = b""
        try:
            for _ in range(40):  # a byte every 0.1 s: would take 4 s
                sock.sendall(b"X")
                time.sleep(0.1)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = read_until_closed(sock)
        assert answer.startswith(b"HTTP/1.1 408") and b"request head" in answer
        assert time.monotonic() - started < 3.0
        sock.close()
        silent = socket.create_connection(("127.0.0.1", node.port), timeout=TIMEOUT)
        assert read_until_closed(silent).startswith(b"HTTP/1.1 408")  # a socket that says nothing
        silent.close()


def test_idle_keep_alive_and_idle_websockets_are_closed_but_busy_ones_are_not():
    with NodeThread(mode="interval", block_time=0.1, http_idle_timeout=1.0, ws_idle_timeout=1.5) as node:
        keep_alive = socket.create_connection(("127.0.0.1", node.port), timeout=TIMEOUT)
        body = json.dumps(request("system_name")).encode()
        keep_alive.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        idle_ws = websocket.create_connection(node.url, timeout=TIMEOUT)
        subscribed = websocket.create_connection(node.url, timeout=TIMEOUT)
        subscribed.send(json.dumps(request("chain_subscribeNewHeads")))
        started = time.monotonic()
        assert b"tao-lab" in read_until_closed(keep_alive)  # the reply, then the idle close
        assert 0.8 < time.monotonic() - started < 3.0
        opcode, frame = idle_ws.recv_data_frame(control_frame=True)
        assert opcode == websocket.ABNF.OPCODE_CLOSE and struct.unpack("!H", frame.data[:2])[0] == 1001
        assert b"idle" in frame.data
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:  # notifications keep the subscribed one alive
            assert json.loads(subscribed.recv())
        subscribed.close()
        idle_ws.shutdown()
        keep_alive.close()


def test_silent_sockets_past_the_pending_cap_cannot_lock_clients_out():
    with NodeThread(max_pending=20, header_timeout=60) as node:
        squatters = [socket.create_connection(("127.0.0.1", node.port), timeout=TIMEOUT) for _ in range(200)]
        time.sleep(0.2)
        for _ in range(5):
            assert health_latency(node) < 1.0  # the oldest silent one made room
        ws = websocket.create_connection(node.url, timeout=TIMEOUT)
        ws.close()
        for sock in squatters:
            sock.close()


def test_at_the_connection_cap_new_clients_get_503_or_a_slot_from_an_idle_connection():
    with NodeThread(max_connections=20, evict_idle_after=60) as node:
        squatters = [raw_websocket(node.port) for _ in range(20)]  # past the handshake, then silent
        time.sleep(0.2)
        status, text = http_post(node.http_url, request("system_name"))
        assert status == 503 and "at most 20 connections" in text
        with pytest.raises(websocket.WebSocketBadStatusException, match="503"):
            websocket.create_connection(node.url, timeout=TIMEOUT)
        for sock in squatters:
            sock.close()
    with NodeThread(max_connections=20, header_timeout=60, evict_idle_after=0.5) as node:
        squatters = [raw_websocket(node.port) for _ in range(20)]  # past the handshake, then silent
        time.sleep(0.8)
        substrate = SubstrateInterface(url=node.url, ws_options={"timeout": TIMEOUT})
        try:
            assert substrate.get_block_number(substrate.get_chain_head()) >= 0
        finally:
            substrate.close()
        assert health_latency(node) < 1.0
        for sock in squatters:
            sock.close()


def test_running_out_of_file_descriptors_is_logged_once_not_flooded(tmp_path):
    def low_fd_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (120, 120))

    err = open(tmp_path / "stderr", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "tao_lab.node", "--port", "0", "--quiet", "--instant"],
                            stdout=subprocess.PIPE, stderr=err, text=True, preexec_fn=low_fd_limit)
    try:
        url = proc.stdout.readline().strip()
        port = int(url.split(":")[2].split("/")[0])
        socks = []
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:  # keep ~400 connections open against a 120-file limit
            try:
                socks.append(socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT))
            except OSError:
                pass
            if len(socks) > 400:
                socks.pop(0).close()
        for sock in socks:
            sock.close()
        time.sleep(1.5)  # the node accepts again a second after EMFILE
        status, reply = http_post(f"http://127.0.0.1:{port}", request("system_name"))
        assert status == 200 and reply["result"] == "tao-lab"
    finally:
        proc.terminate()
        proc.wait(TIMEOUT)
        proc.stdout.close()
    err.seek(0)
    log = err.read()
    assert "serving at most 28 connections, 28 more waiting for a request" in log
    assert log.count("Traceback") == 0
    assert log.count("cannot accept connections") <= 1 and log.count("refusing connections") <= 1


# ---------------------------------------------------------------- item 8: Origin and token


@pytest.fixture(scope="module")
def devnet():
    with Devnet(instant=True, publish=False) as node:
        yield node


def test_dev_methods_need_the_token_reading_and_transacting_do_not(devnet):
    assert devnet.token and len(devnet.token) >= 20 and devnet.token in devnet.url
    assert devnet.token not in repr(devnet)
    plain = SubstrateInterface(url=devnet.public_url, ws_options={"timeout": TIMEOUT})
    try:
        head = plain.get_block_number(plain.get_chain_head())
        for method, params in [("dev_newBlock", [1]), ("dev_reset", []), ("dev_snapshot", []),
                               ("dev_setBlockMode", ["manual"]), ("dev_nextEpoch", [1])]:
            with pytest.raises(SubstrateRequestException) as caught:
                plain.rpc_request(method, params)
            error = caught.value.args[0]
            assert error["code"] == UNAUTHORIZED and "token" in error["message"] and "Devnet.url" in error["data"]
        assert plain.get_block_number(plain.get_chain_head()) == head  # nothing happened
        assert "dev_newBlock" in plain.rpc_request("rpc_methods", [])["result"]["methods"]
    finally:
        plain.close()
    # Transacting stays open like on a real node.
    from tao_lab.client.wallet import Wallet

    open_sub = Subtensor(devnet.public_url, timeout=TIMEOUT)
    try:
        bob = Wallet.dev("//Bob")
        before = open_sub.balance(bob)
        open_sub.transfer(Wallet.dev("//Alice"), bob, 10**9)
        assert open_sub.balance(bob) == before + 10**9
        # the kit's client on the plain URL says what is missing, as a typed error
        with pytest.raises(InputError, match=r"refuses dev_newBlock without its token.*\?token="):
            open_sub.advance(1)
    finally:
        open_sub.close()
    # The kit's own client, given Devnet.url, drives the chain; so do HTTP with the token or a header.
    with Subtensor(devnet) as sub:
        head = sub.block()
        assert sub.advance(2) == head + 2
    http = devnet.url.replace("ws://", "http://")
    assert "result" in http_post(http, request("dev_newBlock", [1]))[1]
    assert "result" in http_post(devnet.public_url.replace("ws://", "http://"), request("dev_newBlock", [1]),
                                 {"Authorization": f"Bearer {devnet.token}"})[1]
    wrong = http_post(http.replace(devnet.token, "not-the-token"), request("dev_newBlock", [1]))[1]
    assert wrong["error"]["code"] == UNAUTHORIZED


def test_web_pages_from_other_origins_are_refused(devnet):
    http = devnet.url.replace("ws://", "http://")
    status, text = http_post(http, request("dev_reset"), {"Origin": "http://evil.example"})
    assert status == 403 and "evil.example" in text and "--allow-origin" in text
    port = int(devnet.public_url.rsplit(":", 1)[1])
    token_path = "/?token=" + devnet.token
    hostile = raw_websocket(port, token_path, origin="https://evil.example")
    assert hostile.status == 403
    hostile.close()
    for origin in ("http://localhost:8888", "http://127.0.0.1:3000", "http://[::1]:8888"):
        status, reply = http_post(http, request("system_name"), {"Origin": origin})
        assert status == 200 and reply["result"] == "tao-lab", origin
        page = raw_websocket(port, token_path, origin=origin)
        assert page.status == 101
        page.close()
    assert http_post(http, request("system_name"), {"Origin": "null"})[0] == 403  # sandboxed frames, file://


def test_allowed_origins_come_from_the_server_option_and_the_cli():
    with NodeThread(allowed_origins=["https://hub.example.org"]) as node:
        ok = http_post(node.http_url, request("system_name"), {"Origin": "https://hub.example.org"})
        assert ok[0] == 200
        assert http_post(node.http_url, request("system_name"), {"Origin": "https://other.example.org"})[0] == 403
    proc = subprocess.Popen([sys.executable, "-m", "tao_lab.node", "--port", "0", "--quiet", "--instant",
                             "--allow-origin", "https://hub.example.org"], stdout=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        assert "?token=" in url
        http = url.replace("ws://", "http://")
        assert http_post(http, request("dev_newBlock", [1]), {"Origin": "https://hub.example.org"})[0] == 200
        assert http_post(http, request("system_name"), {"Origin": "https://other.example.org"})[0] == 403
    finally:
        proc.terminate()
        proc.wait(TIMEOUT)
        proc.stdout.close()


def test_published_devnet_entries_with_the_token_are_private(tmp_path, monkeypatch):
    monkeypatch.setenv("TAO_LAB_REGISTRY_DIR", str(tmp_path / "registry"))
    with Devnet(instant=True, publish=True) as dev:
        files = list((tmp_path / "registry").glob("*.json"))
        assert files and any(dev.token in f.read_text() for f in files)
        for f in files:
            assert stat.S_IMODE(f.stat().st_mode) == 0o600
        assert stat.S_IMODE((tmp_path / "registry").stat().st_mode) == 0o700


# ---------------------------------------------------------------- item 11: subscription ids


def test_subscription_ids_are_unguessable_and_belong_to_their_connection():
    with NodeThread(mode="interval", block_time=0.05) as node:
        owner = websocket.create_connection(node.public_url, timeout=TIMEOUT)
        other = websocket.create_connection(node.public_url, timeout=TIMEOUT)
        try:
            owner.send(json.dumps(request("chain_subscribeNewHeads", id=1)))
            sub = json.loads(owner.recv())["result"]
            owner.send(json.dumps(request("chain_subscribeNewHeads", id=2)))
            second = next(m for m in iter(lambda: json.loads(owner.recv()), None) if m.get("id") == 2)["result"]
            assert len(sub) >= 32 and sub != second and "sub" not in sub
            other.send(json.dumps(request("chain_unsubscribeNewHeads", [sub], id=3)))
            assert json.loads(other.recv()) == {"jsonrpc": "2.0", "result": False, "id": 3}
            other.send(json.dumps(request("author_unwatchExtrinsic", [sub], id=4)))
            assert json.loads(other.recv())["result"] is False
            seen = 0
            while seen < 5:  # the owner's subscription lives on
                message = json.loads(owner.recv())
                seen += message.get("params", {}).get("subscription") == sub
            owner.send(json.dumps(request("chain_unsubscribeNewHeads", [sub], id=5)))
            assert next(m for m in iter(lambda: json.loads(owner.recv()), None) if m.get("id") == 5)["result"] is True
        finally:
            owner.close()
            other.close()


# ---------------------------------------------------------------- item 12: invalid params


@pytest.mark.parametrize("method, params, names", [
    ("chain_getBlockHash", [True], "block number"),
    ("chain_getBlockHash", [False], "block number"),
    ("state_getStorage", ["0x 00"], "storage key"),
    ("state_getStorage", ["0x0"], "storage key"),
    ("chain_getHeader", ["0x 0a"], "block hash"),
    ("system_accountNextIndex", [5], "address"),
    ("system_accountNextIndex", ["0x"], "address"),
    ("state_getKeysPaged", ["0x", True], "count"),
    ("dev_nextEpoch", ["one"], "netuid"),
    ("dev_nextEpoch", [-1], "netuid"),
    ("chain_unsubscribeNewHeads", [[1]], "subscription id"),
])
def test_bad_parameters_answer_invalid_params_naming_the_parameter(devnet, method, params, names):
    status, reply = http_post(devnet.url.replace("ws://", "http://"), request(method, params))
    assert status == 200 and reply["error"]["code"] == -32602, reply
    assert names in reply["error"]["message"]
