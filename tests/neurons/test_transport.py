"""Axon and Dendrite over real loopback HTTP: signatures, replay, allow-lists, limits, timeouts, priority.

Requests that a dendrite would never send (tampered, replayed, stale) are made with the public
`signing` and `protocol` functions and posted with urllib, as an attacker would.
"""

import asyncio
import socket
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
from substrateinterface import Keypair

from tao_lab import neurons
from tao_lab.client.metagraph import AxonInfo, Metagraph
from tao_lab.client.subtensor import Subtensor
from tao_lab.errors import InputError
from tao_lab.neurons import (
    Axon,
    AxonError,
    Dendrite,
    Embed,
    Synapse,
    TextLogProbs,
    allow_registered,
    priority_by_stake,
    request_field,
    response_field,
)
from tao_lab.neurons.protocol import decode_response, encode_request, encode_status
from tao_lab.neurons.signing import NonceWindow, Signer, body_hash, signing_message
from tao_lab.node.devnet import Devnet

MINER = Keypair.create_from_uri("//Alice//miner")
VALIDATOR = Keypair.create_from_uri("//Bob//validator")
IDS = np.arange(4 * 8, dtype=np.int32).reshape(4, 8)


def log_probs(syn: TextLogProbs) -> TextLogProbs:
    syn.log_probs = -syn.token_ids.astype(np.float32) / 10
    return syn


@pytest.fixture
def axon():
    with Axon(MINER).attach(TextLogProbs, log_probs) as ax:
        yield ax


@pytest.fixture
def dendrite():
    with Dendrite(VALIDATOR) as d:
        yield d


def post(url: str, body: bytes, headers: dict, kind: type = TextLogProbs) -> Synapse:
    """POST raw bytes; the reply decoded onto a ``kind`` whatever the HTTP status."""
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            data = resp.read()
    except urllib.error.HTTPError as e:
        data = e.read()
    reply = kind(token_ids=IDS) if kind is TextLogProbs else kind(texts=[])
    decode_response(reply, data)
    return reply


def signed(axon_hotkey: str, body: bytes, signer=None, nonce=None) -> dict:
    s = signer or Signer(VALIDATOR)
    nonce = s.next_nonce() if nonce is None else nonce
    sig = s.keypair.sign(signing_message(nonce, s.hotkey, axon_hotkey, body_hash(body)))
    return {"tao-caller": s.hotkey, "tao-axon": axon_hotkey, "tao-nonce": str(nonce), "tao-signature": sig.hex(),
            "tao-body-hash": body_hash(body)}


def test_public_names_are_exported():
    assert sorted(neurons.__all__) == sorted(set(neurons.__all__))
    for name in neurons.__all__:
        assert getattr(neurons, name) is not None


def test_round_trip_arrays_in_binary(axon, dendrite):
    reply = dendrite.query(axon, TextLogProbs(token_ids=IDS), timeout=5)
    assert reply.status == 200 and reply.ok and reply.message == ""
    assert reply.log_probs.dtype == np.float32 and reply.log_probs.shape == (4, 8)
    np.testing.assert_array_equal(reply.log_probs, -IDS.astype(np.float32) / 10)
    assert reply.caller_hotkey == VALIDATOR.ss58_address and reply.axon_hotkey == MINER.ss58_address
    assert 0 < reply.process_time < reply.elapsed < 1
    # the body is raw bytes: 128 bytes of int32, not a JSON list of numbers
    body = encode_request(TextLogProbs(token_ids=IDS))
    assert IDS.tobytes() in body and b"[0,1,2" not in body and len(body) < 256
    # lists and other integer dtypes are converted to the declared dtype
    reply = dendrite.query(axon, TextLogProbs(token_ids=IDS.astype(np.int64).tolist()))
    np.testing.assert_array_equal(reply.log_probs, -IDS.astype(np.float32) / 10)


def test_custom_synapse_async_handler_and_json_fields(dendrite):
    class Echo(Synapse):
        texts: list = request_field()
        scale: float = request_field(default=1.0)
        matrix: np.ndarray = request_field(dtype="float64", ndim=2)
        lengths: list | None = response_field()
        scaled: np.ndarray | None = response_field(dtype="float64")

    async def echo(syn: Echo) -> Echo:
        await asyncio.sleep(0)
        syn.lengths = [len(t) for t in syn.texts]
        syn.scaled = syn.matrix * syn.scale
        return syn

    async def embed(syn: Embed) -> None:  # returning None: the synapse was filled in place
        syn.embeddings = np.ones((len(syn.texts), 3), np.float32)

    m = np.arange(6.0).reshape(2, 3)
    with Axon(MINER).attach(Echo, echo).attach(Embed, embed) as ax:
        r = dendrite.query(ax, Echo(texts=["ab", "çde"], scale=2.0, matrix=m))
        assert r.status == 200 and r.lengths == [2, 3]
        np.testing.assert_array_equal(r.scaled, m * 2)
        e = dendrite.query(ax, Embed(texts=["x", "y"]))
        assert e.status == 200 and e.embeddings.shape == (2, 3) and e.embeddings.dtype == np.float32


def test_torch_tensors_are_accepted(axon, dendrite):
    torch = pytest.importorskip("torch")
    reply = dendrite.query(axon, TextLogProbs(token_ids=torch.from_numpy(IDS)))
    np.testing.assert_array_equal(reply.log_probs, -IDS.astype(np.float32) / 10)


def test_fan_out_keeps_order_and_reports_each_axon(axon, dendrite):
    with Axon(Keypair.create_from_uri("//Charlie//miner")).attach(TextLogProbs, log_probs) as other:
        dead = socket.socket()
        dead.bind(("127.0.0.1", 0))  # bound, never listening: connection refused
        port = dead.getsockname()[1]
        targets = [axon, (other.url, other.hotkey), (f"http://127.0.0.1:{port}", other.hotkey),
                   AxonInfo("0.0.0.0", 0, 0, 0, 0, 0, other.hotkey, ""), other]
        replies = dendrite.query(targets, TextLogProbs(token_ids=IDS), timeout=2)
        dead.close()
    assert [r.status for r in replies] == [200, 200, 503, 503, 200]
    assert [r.axon_hotkey for r in replies] == [axon.hotkey, other.hotkey, other.hotkey, other.hotkey, other.hotkey]
    assert "cannot reach" in replies[2].message and "not serving" in replies[3].message
    assert dendrite.query([], TextLogProbs(token_ids=IDS)) == []


@pytest.mark.parametrize("reply, status, words", [
    (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", 502, "not an HTTP reply"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 502, "Content-Length"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 502, "not a TextLogProbs reply"),
    (b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found", 404, "not a TextLogProbs reply"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\ncut short", 503, "closed in the middle"),
])
def test_a_server_that_is_not_an_axon_gives_a_status(dendrite, reply, status, words):
    server = socket.create_server(("127.0.0.1", 0))

    def answer_once():
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(reply)

    threading.Thread(target=answer_once, daemon=True).start()
    with server:
        r = dendrite.query((f"http://127.0.0.1:{server.getsockname()[1]}", MINER.ss58_address),
                           TextLogProbs(token_ids=IDS), timeout=2)
    assert r.status == status and words in r.message, r.message


def test_a_kept_alive_connection_closed_by_the_server_is_retried_on_a_new_one(dendrite):
    ok = encode_status("TextLogProbs", 200, "")
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(ok) + ok
    server = socket.create_server(("127.0.0.1", 0))
    connections = []

    def serve():
        first, _ = server.accept()
        first.recv(65536)
        first.sendall(ok)  # kept alive by the client...
        first.recv(65536)
        first.close()  # ...but closed as the next request arrives, unanswered
        second, _ = server.accept()
        second.recv(65536)
        second.sendall(ok)
        connections.extend([first, second])

    threading.Thread(target=serve, daemon=True).start()
    with server:
        target = (f"http://127.0.0.1:{server.getsockname()[1]}", MINER.ss58_address)
        assert dendrite.query(target, TextLogProbs(token_ids=IDS), timeout=2).status == 200
        assert dendrite.query(target, TextLogProbs(token_ids=IDS), timeout=2).status == 200
    assert len(connections) == 2


def test_tampered_body_or_wrong_axon_is_401(axon):
    body = encode_request(TextLogProbs(token_ids=IDS))
    headers = signed(axon.hotkey, body)
    tampered = body[:-4] + b"\x01\x00\x00\x00"
    r = post(f"{axon.url}/TextLogProbs", tampered, headers)
    assert r.status == 401 and "does not verify" in r.message
    other = Keypair.create_from_uri("//Eve").ss58_address
    r = post(f"{axon.url}/TextLogProbs", body, signed(other, body))
    assert r.status == 401 and "addressed to" in r.message
    forged = {**signed(axon.hotkey, body), "tao-caller": Keypair.create_from_uri("//Eve").ss58_address}
    assert post(f"{axon.url}/TextLogProbs", body, forged).status == 401
    assert axon.counts.get(401) == 3


def test_replayed_and_stale_nonces_are_409(axon):
    body = encode_request(TextLogProbs(token_ids=IDS))
    headers = signed(axon.hotkey, body)
    assert post(f"{axon.url}/TextLogProbs", body, headers).status == 200
    r = post(f"{axon.url}/TextLogProbs", body, headers)
    assert r.status == 409 and "already used" in r.message
    stale = signed(axon.hotkey, body, nonce=time.time_ns() - 120 * 10**9)
    r = post(f"{axon.url}/TextLogProbs", body, stale)
    assert r.status == 409 and "window" in r.message


def test_nonce_window_accepts_out_of_order_nonces_once():
    w, now = NonceWindow(60), time.time_ns()
    w.check("a", now + 2, now)
    w.check("a", now + 1, now)  # concurrent requests may arrive out of order
    w.check("b", now + 2, now)  # nonces are per caller
    with pytest.raises(neurons.TransportError) as e:
        w.check("a", now + 1, now)
    assert e.value.status == 409


def test_malformed_requests_are_422_and_unknown_synapse_404(axon):
    garbage = b"not a tao_lab message"
    r = post(f"{axon.url}/TextLogProbs", garbage, signed(axon.hotkey, garbage))
    assert r.status == 422 and "TAO1" in r.message
    body = encode_request(TextLogProbs(token_ids=IDS))
    r = post(f"{axon.url}/TextLogProbs", body, {})
    assert r.status == 401 and "unsigned" in r.message
    wrong_dtype = encode_request(Embed(texts=["x"])).replace(b'"Embed"', b'"TextLogProbs"')  # no token_ids
    r = post(f"{axon.url}/TextLogProbs", wrong_dtype, signed(axon.hotkey, wrong_dtype))
    assert r.status == 422
    r = post(f"{axon.url}/Embed", body, signed(axon.hotkey, body), kind=Embed)
    assert r.status == 404 and "TextLogProbs" in r.message


def test_body_over_the_limit_is_413(dendrite):
    with Axon(MINER, max_body=4096).attach(TextLogProbs, log_probs) as ax:
        assert dendrite.query(ax, TextLogProbs(token_ids=IDS)).status == 200
        big = np.zeros((64, 128), np.int32)  # 32 KiB
        r = dendrite.query(ax, TextLogProbs(token_ids=big))
        assert r.status == 413 and "4096" in r.message and r.log_probs is None
        assert dendrite.query(ax, TextLogProbs(token_ids=IDS)).status == 200  # still serving


def test_slow_handler_times_out_as_408(dendrite):
    release = threading.Event()

    def slow(syn):
        release.wait(5)
        return log_probs(syn)

    async def slow_async(syn):
        await asyncio.sleep(5)

    with Axon(MINER).attach(TextLogProbs, slow).attach(Embed, slow_async) as ax:
        t0 = time.perf_counter()
        replies = dendrite.query([ax] * 3, TextLogProbs(token_ids=IDS), timeout=0.3)
        assert [r.status for r in replies] == [408] * 3 and time.perf_counter() - t0 < 1.5
        assert all(r.log_probs is None for r in replies)
        assert dendrite.query(ax, Embed(texts=["x"]), timeout=0.3).status == 408
        release.set()
        assert dendrite.query(ax, TextLogProbs(token_ids=IDS), timeout=2).status == 200


def test_handler_errors_are_500_with_the_message(dendrite):
    def broken(syn):
        raise ValueError("model not loaded")

    def wrong_type(syn):
        return "log probs"

    with Axon(MINER).attach(TextLogProbs, broken).attach(Embed, wrong_type) as ax:
        r = dendrite.query(ax, TextLogProbs(token_ids=IDS))
        assert r.status == 500 and "ValueError: model not loaded" in r.message
        r = dendrite.query(ax, Embed(texts=["x"]))
        assert r.status == 500 and "returned str" in r.message
        assert ax.counts == {500: 2}


def test_priority_orders_the_queue():
    stakes = {Keypair.create_from_uri(f"//Dave//{n}").ss58_address: s for n, s in (("low", 1.0), ("high", 10.0))}
    keys = {n: Keypair.create_from_uri(f"//Dave//{n}") for n in ("first", "low", "high")}
    order, started = [], threading.Event()

    async def handler(syn):
        order.append(syn.caller_hotkey)
        started.set()
        await asyncio.sleep(0.15)
        return log_probs(syn)

    with Axon(MINER, concurrency=1, priority=lambda hk: stakes.get(hk, 0.0)).attach(TextLogProbs, handler) as ax:
        dendrites = {n: Dendrite(k) for n, k in keys.items()}

        async def main():
            first = asyncio.ensure_future(dendrites["first"].forward(ax, TextLogProbs(token_ids=IDS), timeout=5))
            while not started.is_set():
                await asyncio.sleep(0.005)
            low = asyncio.ensure_future(dendrites["low"].forward(ax, TextLogProbs(token_ids=IDS), timeout=5))
            await asyncio.sleep(0.05)  # low is queued well before high arrives
            high = asyncio.ensure_future(dendrites["high"].forward(ax, TextLogProbs(token_ids=IDS), timeout=5))
            replies = await asyncio.gather(first, low, high)
            for d in dendrites.values():
                await d.aclose()
            return replies

        replies = asyncio.run(main())
    assert [r.status for r in replies] == [200, 200, 200]
    assert order == [keys["first"].ss58_address, keys["high"].ss58_address, keys["low"].ss58_address]


def test_registered_callers_only_and_stake_priority_from_a_real_metagraph():
    dave = Keypair.create_from_uri("//Dave")
    registered, stranger = Keypair.create_from_uri("//Dave//validator"), Keypair.create_from_uri("//Mallory")
    with Devnet(instant=True, in_process=True) as dev, Subtensor(dev) as st:
        st.burned_register(dave, 1, hotkey=registered)
        st.add_stake(dave, 1, 100 * 10**9, hotkey=registered)
        st.burned_register(dave, 1, hotkey=MINER)
        with Axon(MINER).attach(TextLogProbs, log_probs) as ax:
            st.serve_axon(MINER, 1, "127.0.0.1", ax.port)
            mg = Metagraph(1).sync(st)
            ax.allow, ax.priority = allow_registered(mg), priority_by_stake(mg)
            assert priority_by_stake(mg)(registered.ss58_address) == pytest.approx(100.0, rel=0.01)
            target = mg.axons[mg.hotkeys.index(MINER.ss58_address)]
            assert (target.ip, target.port) == ("127.0.0.1", ax.port)
            with Dendrite(registered) as ok, Dendrite(stranger) as no:
                assert ok.query(target, TextLogProbs(token_ids=IDS)).status == 200
                r = no.query(target, TextLogProbs(token_ids=IDS))
                assert r.status == 403 and stranger.ss58_address in r.message


def test_nothing_resolves_a_host_name(monkeypatch, axon):
    looked_up = []
    real = socket.getaddrinfo

    def guarded(host, *args, **kwargs):
        looked_up.append(host)
        if host not in ("127.0.0.1", "localhost", "::1", None):
            raise OSError(f"offline test: no lookup of {host!r}")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
    monkeypatch.setattr(socket, "gethostbyname", lambda h: pytest.fail(f"gethostbyname({h!r})"))
    with Axon(Keypair.create_from_uri("//Ferdie//miner")).attach(TextLogProbs, log_probs) as ax, \
            Dendrite(VALIDATOR) as d:
        assert ax.url.startswith("http://127.0.0.1:")
        assert [r.status for r in d.query([ax, axon], TextLogProbs(token_ids=IDS))] == [200, 200]
    assert all(h in ("127.0.0.1", None) for h in looked_up), looked_up


def test_sync_query_works_inside_a_running_loop(axon, dendrite):
    async def notebook_cell():
        sync_reply = dendrite.query(axon, TextLogProbs(token_ids=IDS))  # as in Jupyter: a loop is running
        async_reply = await dendrite.forward([axon], TextLogProbs(token_ids=IDS))
        await dendrite.aclose()
        return sync_reply, async_reply[0]

    sync_reply, async_reply = asyncio.run(notebook_cell())
    assert sync_reply.status == async_reply.status == 200
    assert dendrite.query(axon, TextLogProbs(token_ids=IDS)).status == 200  # closed: reopens on use


def test_start_is_idempotent_and_stop_frees_the_port(dendrite):
    ax = Axon(MINER).attach(TextLogProbs, log_probs)
    assert ax.start() is ax.start() and ax.is_running
    port = ax.port
    assert dendrite.query(ax, TextLogProbs(token_ids=IDS)).status == 200
    with pytest.raises(AxonError):
        Axon(MINER, port=port).start()  # taken while serving
    ax.stop()
    ax.stop()
    assert not ax.is_running
    assert dendrite.query(ax, TextLogProbs(token_ids=IDS), timeout=1).status == 503
    with Axon(MINER, port=port).attach(TextLogProbs, log_probs) as again:  # re-running the cell
        assert dendrite.query(again, TextLogProbs(token_ids=IDS)).status == 200
    assert not [t for t in threading.enumerate() if t.name == "tao-lab-axons"]


def test_bad_arguments_raise_input_error(axon, dendrite):
    with pytest.raises(InputError):
        dendrite.query("127.0.0.1:8091", TextLogProbs(token_ids=IDS))
    with pytest.raises(InputError):
        dendrite.query(axon, TextLogProbs(token_ids=IDS), timeout=0)
    with pytest.raises(InputError):
        dendrite.query(axon, TextLogProbs(token_ids=np.zeros(3, np.int32)))  # not (B, T)
    with pytest.raises(InputError):
        Axon(MINER).attach(Synapse, log_probs)
    with pytest.raises(InputError):
        Dendrite(Keypair.create_from_seed(bytes(32), crypto_type=0))  # ed25519: neurons sign with sr25519
