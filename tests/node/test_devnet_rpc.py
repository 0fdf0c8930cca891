"""The devnet's JSON-RPC surface, driven from this process against a node in its own process.

One ``Devnet(instant=True)`` subprocess serves the whole module; the clients are an unmodified
``substrate-interface`` (WebSocket and HTTP), raw websocket-client sockets and urllib. Tests read
balances and head numbers relative to what they saw first, so their order does not matter, except
``test_dev_reset_goes_back_to_genesis``, which is last on purpose.
Every socket read has a timeout, so a regression fails fast instead of hanging the suite.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
import urllib.request

import pytest
import requests
import websocket
from substrateinterface import Keypair, SubstrateInterface
from substrateinterface.exceptions import SubstrateRequestException

from tao_lab.node.devnet import Devnet

TIMEOUT = 10.0  # seconds for any single socket read
_no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))

ALICE = Keypair.create_from_uri("//Alice")
BOB = Keypair.create_from_uri("//Bob")
FERDIE = Keypair.create_from_uri("//Ferdie")  # never touched by this module: keeps its genesis balance
DEV_ADDRESSES = {Keypair.create_from_uri(f"//{n}").ss58_address
                 for n in ("Alice", "Bob", "Charlie", "Dave", "Eve", "Ferdie")}
GENESIS_FREE = 1_000_000 * 10**9  # rao


# ---------------------------------------------------------------------------------------- helpers


class _TimeoutSession(requests.Session):
    """substrate-interface's HTTP transport sends without a timeout; give every request one."""

    def request(self, *args, **kwargs):
        kwargs.setdefault("timeout", TIMEOUT)
        return super().request(*args, **kwargs)


def http_url(devnet: Devnet) -> str:
    return devnet.url.replace("ws://", "http://")


def http_rpc(devnet: Devnet, method: str, params=None):
    """One JSON-RPC request over HTTP POST; returns the whole reply object."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    req = urllib.request.Request(http_url(devnet), data=body, headers={"Content-Type": "application/json"})
    with _no_proxy.open(req, timeout=TIMEOUT) as response:
        assert response.status == 200
        return json.loads(response.read())


class RawSocket:
    """A bare websocket-client connection speaking JSON-RPC by hand."""

    def __init__(self, url: str):
        self.ws = websocket.create_connection(url, timeout=TIMEOUT)
        self._ids = itertools.count(1)
        self.notifications: list[dict] = []

    def call(self, method: str, params=None) -> dict:
        """Send a request and return its reply (notifications arriving first are kept aside)."""
        request_id = next(self._ids)
        self.ws.send(json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or []}))
        return self.reply(request_id)

    def reply(self, request_id) -> dict:
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == request_id and "method" not in message:
                return message
            self.notifications.append(message)

    def notification(self) -> dict:
        return self.notifications.pop(0) if self.notifications else json.loads(self.ws.recv())

    def close(self) -> None:
        self.ws.close(timeout=TIMEOUT)


def rpc(substrate: SubstrateInterface, method: str, *params):
    return substrate.rpc_request(method, list(params))["result"]


def rpc_error(substrate: SubstrateInterface, method: str, *params) -> dict:
    with pytest.raises(SubstrateRequestException) as info:
        substrate.rpc_request(method, list(params))
    return info.value.args[0]


def pallet_names(substrate: SubstrateInterface) -> set[str]:
    substrate.init_runtime()
    return {p.name for p in substrate.metadata.pallets}


def head_number(substrate: SubstrateInterface) -> int:
    return int(rpc(substrate, "chain_getHeader")["number"], 16)


def free(substrate: SubstrateInterface, who: Keypair, block_hash=None) -> int:
    return substrate.query("System", "Account", [who.ss58_address], block_hash=block_hash).value["data"]["free"]


def transfer(substrate: SubstrateInterface, value: int, dest: Keypair = BOB, signer: Keypair = ALICE, **kwargs):
    call = substrate.compose_call("Balances", "transfer_keep_alive", {"dest": dest.ss58_address, "value": value})
    return substrate.create_signed_extrinsic(call=call, keypair=signer, **kwargs)


@contextlib.contextmanager
def block_mode(substrate: SubstrateInterface, mode: str, block_time=None):
    """Switch the shared node's block production, and back to instant afterwards."""
    assert rpc(substrate, "dev_setBlockMode", mode, *([] if block_time is None else [block_time])) is True
    try:
        yield
    finally:
        rpc(substrate, "dev_setBlockMode", "instant")


@contextlib.contextmanager
def producing_blocks(devnet: Devnet, every: float = 0.03):
    """Ask for a block over HTTP every ``every`` seconds from another thread (for subscriptions)."""
    stop = threading.Event()

    def run():
        for _ in range(200):
            if stop.wait(every):
                return
            http_rpc(devnet, "dev_newBlock")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(TIMEOUT)


# ---------------------------------------------------------------------------------------- fixtures


# `devnet` and `substrate` (one instant-mode node per module) come from conftest.py.


@pytest.fixture
def raw(devnet):
    sock = RawSocket(devnet.url)
    yield sock
    with contextlib.suppress(Exception):
        sock.close()


# ---------------------------------------------------------------------------------------- connecting and reading


def test_connect_reads_chain_identity_and_runtime(substrate):
    assert substrate.chain == "tao_lab devnet"
    assert substrate.properties == {"ss58Format": 42, "tokenDecimals": 9, "tokenSymbol": "TAO"}
    assert (substrate.token_symbol, substrate.token_decimals, substrate.ss58_format) == ("TAO", 9, 42)
    version = rpc(substrate, "state_getRuntimeVersion")
    assert version["specName"] == "node-subtensor" and version["transactionVersion"] >= 1
    substrate.init_runtime()
    assert substrate.runtime_version == version["specVersion"]
    assert rpc(substrate, "system_health") == {"peers": 0, "isSyncing": False, "shouldHavePeers": False}
    methods = rpc(substrate, "rpc_methods")["methods"]
    for needed in ("chain_getBlock", "state_getKeysPaged", "author_submitAndWatchExtrinsic", "chain_subscribeNewHeads",
                   "dev_newBlock", "dev_snapshot", "dev_restore", "dev_reset", "dev_setBlockMode", "dev_nextEpoch"):
        assert needed in methods
    pallets = pallet_names(substrate)
    assert {"System", "Timestamp", "Balances", "TransactionPayment", "Sudo"} <= pallets


def test_query_query_map_and_constants(substrate):
    account = substrate.query("System", "Account", [FERDIE.ss58_address]).value
    assert account["nonce"] == 0 and account["data"]["free"] == GENESIS_FREE
    nobody = Keypair.create_from_uri("//NobodyAtAll")
    assert substrate.query("System", "Account", [nobody.ss58_address]).value["data"]["free"] == 0  # the default
    assert substrate.query("Sudo", "Key").value == ALICE.ss58_address

    # page_size=2 makes the client page through state_getKeysPaged with a start key
    accounts = {str(k.value): v.value for k, v in substrate.query_map("System", "Account", page_size=2)}
    assert DEV_ADDRESSES <= set(accounts)
    assert accounts[FERDIE.ss58_address]["data"]["free"] == GENESIS_FREE

    assert substrate.get_constant("Balances", "ExistentialDeposit").value == 500
    assert substrate.get_constant("System", "SS58Prefix").value == 42

    # state at an older block: genesis balances
    genesis = rpc(substrate, "chain_getBlockHash", 0)
    assert free(substrate, FERDIE, block_hash=genesis) == GENESIS_FREE
    issuance = substrate.query("Balances", "TotalIssuance", block_hash=genesis).value
    assert issuance == 6 * GENESIS_FREE


def test_blocks_headers_and_events(substrate):
    receipt = substrate.submit_extrinsic(transfer(substrate, 10**9), wait_for_inclusion=True)
    assert receipt.is_success
    number = substrate.get_block_number(receipt.block_hash)
    assert number == head_number(substrate)
    assert rpc(substrate, "chain_getBlockHash", number) == receipt.block_hash
    assert rpc(substrate, "chain_getBlockHash", hex(number)) == receipt.block_hash
    assert rpc(substrate, "chain_getBlockHash", number + 1000) is None

    block = substrate.get_block(receipt.block_hash)
    assert block["header"]["number"] == number
    calls = [(e.value["call"]["call_module"], e.value["call"]["call_function"]) for e in block["extrinsics"]]
    assert calls == [("Timestamp", "set"), ("Balances", "transfer_keep_alive")]
    assert block["extrinsics"][1].value["address"] == ALICE.ss58_address

    header = substrate.get_block_header(receipt.block_hash)["header"]
    parent = rpc(substrate, "chain_getHeader", header["parentHash"])
    assert int(parent["number"], 16) == number - 1
    assert rpc(substrate, "chain_getBlockHash", number - 1) == header["parentHash"]
    assert rpc(substrate, "chain_getFinalizedHead") == rpc(substrate, "chain_getHead")  # instant finality

    events = substrate.get_events(receipt.block_hash)
    names = [(e.value["module_id"], e.value["event_id"]) for e in events]
    assert names[0] == ("System", "ExtrinsicSuccess")  # the timestamp inherent
    assert names[1:] == [("Balances", "Withdraw"), ("Balances", "Transfer"),
                         ("TransactionPayment", "TransactionFeePaid"), ("System", "ExtrinsicSuccess")]
    assert all(e.value["extrinsic_idx"] == 1 for e in events[1:])
    transfer_event = events[2].value["attributes"]
    assert transfer_event == {"from": ALICE.ss58_address, "to": BOB.ss58_address, "amount": 10**9}


@pytest.mark.parametrize("finalized_only", [False, True])
def test_header_subscriptions(substrate, devnet, finalized_only):
    seen: list[int] = []

    def handler(message, update_nr, subscription_id):
        seen.append(message["header"]["number"])
        if update_nr >= 3:
            return subscription_id

    start = head_number(substrate)
    with producing_blocks(devnet):
        substrate.subscribe_block_headers(handler, finalized_only=finalized_only)
    assert seen[0] >= start  # the current head comes first
    assert seen == list(range(seen[0], seen[0] + 4))  # then every new block, in order, none skipped


# ---------------------------------------------------------------------------------------- errors


def test_malformed_and_wrong_requests_get_json_rpc_errors_and_keep_the_connection(raw):
    raw.ws.send("{not json")
    assert json.loads(raw.ws.recv()) == {"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"},
                                         "id": None}
    raw.ws.send('{"jsonrpc": "2.0", "id": 5}')  # no method
    assert json.loads(raw.ws.recv())["error"]["code"] == -32600

    assert raw.call("chain_noSuchMethod")["error"]["code"] == -32601
    cases = [
        ("chain_getBlockHash", [1, 2, 3]),               # too many parameters
        ("chain_getBlockHash", ["abc"]),                 # not a block number
        ("chain_getBlockHash", ["0xzz"]),
        ("chain_getBlockHash", [-1]),
        ("chain_getBlockHash", {"number": 1}),           # named parameters
        ("state_getStorage", ["not hex"]),
        ("state_getStorage", [42]),
        ("state_getKeysPaged", ["0x", "ten"]),
        ("author_submitExtrinsic", [123]),
        ("system_accountNextIndex", ["not an address"]),
        ("dev_newBlock", [0]),
        ("dev_setBlockMode", ["sometimes"]),
    ]
    for method, params in cases:
        reply = raw.call(method, params)
        assert reply.get("error", {}).get("code") == -32602, (method, params, reply)
    unknown = "0x" + "11" * 32
    assert raw.call("chain_getHeader", [unknown])["error"]["code"] == 4003
    assert raw.call("state_getStorage", ["0x", unknown])["error"]["code"] == 4003
    # a real node's words, which async-substrate-interface matches exactly (to fall back to metadata V14)
    assert raw.call("state_call", ["NoSuchRuntimeApi_method", "0x"])["error"]["message"] == (
        "Client error: Execution failed: Other: Exported method NoSuchRuntimeApi_method is not found")

    # still the same healthy connection
    assert raw.call("system_chain")["result"] == "tao_lab devnet"


def test_errors_through_substrate_interface_keep_the_client_usable(substrate):
    assert rpc_error(substrate, "chain_noSuchMethod")["code"] == -32601
    assert rpc_error(substrate, "chain_getBlockHash", "abc")["code"] == -32602
    assert substrate.query("System", "Account", [FERDIE.ss58_address]).value["data"]["free"] == GENESIS_FREE


# ---------------------------------------------------------------------------------------- HTTP


def test_http_post_transport(devnet, substrate):
    reply = http_rpc(devnet, "system_chain")
    assert reply == {"jsonrpc": "2.0", "result": "tao_lab devnet", "id": 1}

    client = SubstrateInterface(url=http_url(devnet))
    client.transport.session = _TimeoutSession()
    try:
        assert client.get_block_number(None) == head_number(substrate)
        assert client.query("System", "Account", [FERDIE.ss58_address]).value["data"]["free"] == GENESIS_FREE
        assert client.get_constant("Balances", "ExistentialDeposit").value == 500

        # submitting works over HTTP (without waiting: watching needs a subscription)
        before = free(substrate, BOB)
        receipt = client.submit_extrinsic(transfer(client, 2 * 10**9))
        assert receipt.extrinsic_hash.startswith("0x")
        assert free(substrate, BOB) == before + 2 * 10**9  # instant mode: already in a block

        # subscriptions need a WebSocket: a clear JSON-RPC error, not a hang
        error = rpc_error(client, "chain_subscribeNewHeads")
        assert error["code"] == -32090 and "WebSocket" in error["message"]
        assert rpc_error(client, "author_submitAndWatchExtrinsic", "0x00")["code"] == -32090
    finally:
        client.close()


# ---------------------------------------------------------------------------------------- disconnects


def test_client_disconnecting_mid_subscription_leaves_the_node_healthy(devnet, substrate):
    with block_mode(substrate, "manual"):
        start = head_number(substrate)
        ext = transfer(substrate, 10**9)
        raw = RawSocket(devnet.url)
        heads = raw.call("chain_subscribeNewHeads")["result"]
        finalized = raw.call("chain_subscribeFinalizedHeads")["result"]
        watch = raw.call("author_submitAndWatchExtrinsic", [str(ext.data)])["result"]
        got = [raw.notification() for _ in range(3)]
        assert {n["params"]["subscription"] for n in got} == {heads, finalized, watch}
        raw.ws.shutdown()  # drop the TCP connection: no close frame, subscriptions still open

        # the node now has notifications for a dead client; it must shrug them off
        rpc(substrate, "dev_newBlock", 3)
        assert head_number(substrate) == start + 3
        block = substrate.get_block(block_number=start + 1)
        assert str(ext.data) in [str(e.data) for e in block["extrinsics"]]  # the watched transfer went in

        # a half-written frame, then a hang-up
        half = RawSocket(devnet.url)
        half.ws.sock.sendall(b"\x81\xfe\x10\x00")  # a masked text frame header announcing 4096 bytes, no body
        half.ws.shutdown()

        # a clean close mid-subscription
        polite = RawSocket(devnet.url)
        polite.call("chain_subscribeNewHeads")
        polite.close()
        rpc(substrate, "dev_newBlock")

    fresh = RawSocket(devnet.url)
    try:
        assert fresh.call("system_health")["result"]["peers"] == 0
        sub = fresh.call("chain_subscribeNewHeads")["result"]
        first = fresh.notification()
        assert first["params"]["subscription"] == sub and int(first["params"]["result"]["number"], 16) == start + 4
    finally:
        fresh.close()


# ---------------------------------------------------------------------------------------- dev RPCs and block modes


def test_dev_new_block(substrate):
    start = head_number(substrate)
    new_head = rpc(substrate, "dev_newBlock", 3)
    assert head_number(substrate) == start + 3
    assert new_head == rpc(substrate, "chain_getHead")
    assert rpc(substrate, "dev_newBlock") == rpc(substrate, "chain_getBlockHash", start + 4)


def test_dev_snapshot_and_restore(substrate):
    bob_before = free(substrate, BOB)
    number, head = head_number(substrate), rpc(substrate, "chain_getHead")
    snapshot = rpc(substrate, "dev_snapshot")
    assert substrate.submit_extrinsic(transfer(substrate, 5 * 10**9), wait_for_inclusion=True).is_success
    rpc(substrate, "dev_newBlock", 2)
    assert free(substrate, BOB) == bob_before + 5 * 10**9

    assert rpc(substrate, "dev_restore", snapshot) == head
    assert (head_number(substrate), rpc(substrate, "chain_getHead")) == (number, head)
    assert free(substrate, BOB) == bob_before
    assert rpc(substrate, "chain_getBlockHash", number + 1) is None
    assert rpc_error(substrate, "dev_restore", 987654)["code"] == -32602

    # the chain goes on from the restored head, and the same transfer can be made again
    receipt = substrate.submit_extrinsic(transfer(substrate, 5 * 10**9), wait_for_inclusion=True)
    assert receipt.is_success and substrate.get_block_number(receipt.block_hash) == number + 1
    assert rpc(substrate, "chain_getHeader", receipt.block_hash)["parentHash"] == head


def test_manual_mode_holds_transactions_until_dev_new_block(substrate):
    bob_before = free(substrate, BOB)
    nonce = substrate.get_account_nonce(ALICE.ss58_address)
    with block_mode(substrate, "manual"):
        start = head_number(substrate)
        first = transfer(substrate, 10**9, nonce=nonce)
        second = transfer(substrate, 10**9, nonce=nonce + 1)  # the pool accepts the next nonce too
        assert rpc(substrate, "author_submitExtrinsic", str(first.data)) == "0x" + first.extrinsic_hash.hex()
        assert rpc(substrate, "author_submitExtrinsic", str(second.data))
        assert rpc_error(substrate, "author_submitExtrinsic", str(first.data))["code"] == 1013  # already in the pool
        assert rpc(substrate, "system_accountNextIndex", ALICE.ss58_address) == nonce + 2
        time.sleep(0.3)
        assert head_number(substrate) == start  # nothing happens by itself
        assert rpc(substrate, "author_pendingExtrinsics") == [str(first.data), str(second.data)]

        rpc(substrate, "dev_newBlock")
        assert head_number(substrate) == start + 1
        assert rpc(substrate, "author_pendingExtrinsics") == []
        assert free(substrate, BOB) == bob_before + 2 * 10**9
        assert len(substrate.get_block(block_number=start + 1)["extrinsics"]) == 3


def test_interval_mode_produces_blocks_by_itself(substrate):
    start = head_number(substrate)
    with block_mode(substrate, "interval", 0.05):
        deadline = time.monotonic() + 5
        while head_number(substrate) < start + 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert head_number(substrate) >= start + 3
    settled = head_number(substrate)
    time.sleep(0.3)
    assert head_number(substrate) == settled  # back in instant mode: no block without a transaction
    receipt = substrate.submit_extrinsic(transfer(substrate, 10**9), wait_for_inclusion=True)
    assert substrate.get_block_number(receipt.block_hash) == settled + 1


def test_dev_next_epoch(substrate):
    if "SubtensorModule" not in pallet_names(substrate):
        pytest.skip("the runtime has no SubtensorModule yet (dev_nextEpoch runs subnet epochs)")
    def last_epoch():
        return substrate.query("SubtensorModule", "LastMechansimStepBlock", [1]).value

    for _ in range(3):  # each call ends exactly at the block whose epoch ran, one epoch per call
        start, before = head_number(substrate), last_epoch()
        blocks = rpc(substrate, "dev_nextEpoch", 1)
        assert isinstance(blocks, int) and blocks >= 1
        assert head_number(substrate) == start + blocks == last_epoch() > before
    tempo = substrate.query("SubtensorModule", "Tempo", [1]).value
    assert rpc(substrate, "dev_nextEpoch", 1) == tempo  # from an epoch's block: tempo blocks to the next
    assert rpc_error(substrate, "dev_nextEpoch", 999)["code"] == -32602


def test_dev_reset_goes_back_to_genesis(substrate):
    """Last in the module: it wipes what the other tests did."""
    genesis = rpc(substrate, "chain_getBlockHash", 0)
    assert head_number(substrate) > 0 and free(substrate, BOB) != GENESIS_FREE
    assert rpc(substrate, "dev_reset") == genesis
    assert head_number(substrate) == 0 and rpc(substrate, "chain_getHead") == genesis
    assert free(substrate, BOB) == GENESIS_FREE
    assert substrate.get_account_nonce(ALICE.ss58_address) == 0
    receipt = substrate.submit_extrinsic(transfer(substrate, 10**9), wait_for_inclusion=True)
    assert receipt.is_success and substrate.get_block_number(receipt.block_hash) == 1


def test_what_the_bittensor_sdks_send_is_understood(raw):
    """Call data without 0x (the SDKs send ``bytes.hex()``) and ``account_nextIndex`` (their nonce
    call) work as on a real node."""
    alice = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
    with_0x = raw.call("state_call", ["AccountNonceApi_account_nonce", "0x" + "d4" + "00" * 31])
    without = raw.call("state_call", ["AccountNonceApi_account_nonce", "d4" + "00" * 31])
    assert with_0x["result"] == without["result"]
    assert raw.call("account_nextIndex", [alice])["result"] == raw.call("system_accountNextIndex", [alice])["result"]
    assert "account_nextIndex" in raw.call("rpc_methods")["result"]["methods"]
    assert raw.call("account_nextIndex", ["junk"])["error"]["code"] == -32602


def test_failed_requests_are_logged_at_info(caplog):
    """What clients get wrong is visible: every failed request, method and reason, on ``tao_lab.node``
    at INFO (`tao-lab devnet --log-level info`)."""
    import logging

    with Devnet(instant=True, in_process=True, publish=False) as node, caplog.at_level(logging.INFO, "tao_lab.node"):
        sock = RawSocket(node.url)
        try:
            sock.call("state_call", ["NoSuchRuntimeApi_method", "0100"])
            sock.call("chain_noSuchMethod")
            sock.call("chain_getBlockHash", [True])
        finally:
            sock.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "tao_lab.node"]
    assert any("state_call failed: -32000" in line and "NoSuchRuntimeApi_method" in line for line in lines)
    assert any("chain_noSuchMethod failed: no such method" in line for line in lines)
    assert any("chain_getBlockHash failed: -32602" in line for line in lines), lines

