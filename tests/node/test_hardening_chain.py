"""The devnet node under hostile and careless input (issue 11): call nesting, block production
that survives a failing block, block-time and ``dev_newBlock`` limits, pruned history, the data-dir
lock, journal integrity and a busy port.

Nodes are real: `Devnet` subprocesses or ``python -m tao_lab.node`` on 127.0.0.1, driven by
substrate-interface and raw JSON-RPC; extrinsics are signed with the public //Alice dev key. Every
wait has a timeout.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request

import pytest
from substrateinterface import Keypair, SubstrateInterface
from substrateinterface.exceptions import SubstrateRequestException

from tao_lab.chain.chain import Chain, dev_genesis
from tao_lab.chain.pallet import Pallet
from tao_lab.chain.runtime import Runtime, default_pallets
from tao_lab.chain.scale import compact_encode
from tao_lab.chain.types import MAX_CALL_DEPTH
from tao_lab.errors import InputError
from tao_lab.node.devnet import Devnet, DevnetError, PortInUseError
from tao_lab.node.persist import DataDirError, open_chain
from tao_lab.node.runner import start_node
from tao_lab.node.service import MAX_NEW_BLOCKS

TIMEOUT = 10.0  # seconds for any single wait or socket read
ALICE = Keypair.create_from_uri("//Alice")
_no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# ---------------------------------------------------------------------------------------- helpers


def client(devnet: Devnet) -> SubstrateInterface:
    return SubstrateInterface(url=devnet.url, ws_options={"timeout": TIMEOUT})


def http_rpc(url: str, method: str, *params, timeout: float = TIMEOUT) -> dict:
    """One JSON-RPC request over HTTP; the whole reply (``result`` or ``error``)."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode()
    req = urllib.request.Request(url.replace("ws://", "http://"), data=body, headers={"Content-Type": "application/json"})
    with _no_proxy.open(req, timeout=timeout) as response:
        return json.loads(response.read())


def rpc_error(substrate: SubstrateInterface, method: str, *params) -> dict:
    with pytest.raises(SubstrateRequestException) as info:
        substrate.rpc_request(method, list(params))
    return info.value.args[0]


def nested_sudo_as(depth: int) -> bytes:
    """``Sudo.sudo_as(Alice, Sudo.sudo_as(Alice, ... System.remark(b"deep")))``: ``depth`` calls inside the outer one."""
    call = bytes([0, 0]) + compact_encode(4) + b"deep"  # System.remark
    for _ in range(depth):
        call = bytes([12, 3]) + b"\x00" + ALICE.public_key + call  # Sudo.sudo_as(who: MultiAddress::Id, call)
    return call


def sign(substrate: SubstrateInterface, call: bytes, keypair: Keypair = ALICE) -> str:
    """A signed, immortal v4 extrinsic for raw call bytes, built by hand as a wallet does."""
    nonce = substrate.rpc_request("system_accountNextIndex", [keypair.ss58_address])["result"]
    version = substrate.rpc_request("state_getRuntimeVersion", [])["result"]
    genesis = bytes.fromhex(substrate.rpc_request("chain_getBlockHash", [0])["result"][2:])
    extra = b"\x00" + compact_encode(nonce) + compact_encode(0) + b"\x00"  # era, nonce, tip, metadata-hash mode
    payload = (call + extra + version["specVersion"].to_bytes(4, "little")
               + version["transactionVersion"].to_bytes(4, "little") + genesis + genesis + b"\x00")
    if len(payload) > 256:
        from tao_lab.chain.pallet import blake2_256

        payload = blake2_256(payload)
    body = b"\x84" + b"\x00" + keypair.public_key + b"\x01" + keypair.sign(payload) + extra + call
    return "0x" + (compact_encode(len(body)) + body).hex()


def free(substrate: SubstrateInterface, who: Keypair = ALICE) -> tuple[int, int]:
    info = substrate.query("System", "Account", [who.ss58_address]).value
    return info["nonce"], info["data"]["free"]


def head(url: str) -> int:
    return int(http_rpc(url, "chain_getHeader")["result"]["number"], 16)


@pytest.fixture(scope="module")
def instant():
    with Devnet(instant=True, timeout=TIMEOUT * 3) as node:
        yield node


# ---------------------------------------------------------------------------------------- 1. nesting


def test_deeply_nested_call_is_refused_at_submission_and_changes_nothing(instant):
    substrate = client(instant)
    before, number = free(substrate), head(instant.url)
    error = rpc_error(substrate, "author_submitExtrinsic", sign(substrate, nested_sudo_as(300)))
    assert error["code"] == 1010 and "nested more than" in error["data"] and str(MAX_CALL_DEPTH) in error["data"]
    assert free(substrate) == before and head(instant.url) == number  # no fee, no nonce, no block

    # one past the limit is refused; the limit itself is a normal transaction
    assert rpc_error(substrate, "author_submitExtrinsic", sign(substrate, nested_sudo_as(MAX_CALL_DEPTH + 1)))["code"] == 1010
    substrate.rpc_request("author_submitExtrinsic", [sign(substrate, nested_sudo_as(MAX_CALL_DEPTH))])
    assert head(instant.url) == number + 1  # instant mode: included in a block of its own
    block_hash = substrate.rpc_request("chain_getBlockHash", [number + 1])["result"]
    events = [(e.value["module_id"], e.value["event_id"]) for e in substrate.get_events(block_hash)]
    assert ("System", "ExtrinsicSuccess") in events and events.count(("Sudo", "SudoAsDone")) == MAX_CALL_DEPTH
    assert free(substrate)[0] == before[0] + 1
    substrate.close()


class _FaultyHook(Pallet):
    """A pallet whose block hook breaks twice, as a runtime bug would."""

    name, index, module = "Faulty", 99, "pallet_faulty"
    failures = 2

    def on_initialize(self, ctx, number):
        if _FaultyHook.failures:
            _FaultyHook.failures -= 1
            raise RuntimeError("a bug in a block hook")


def test_block_producer_keeps_going_after_a_block_fails_and_stops_on_request(caplog):
    chain = Chain(Runtime(default_pallets() + [_FaultyHook()]), dev_genesis())
    Runtime()  # give the shared RuntimeCall/EventRecords types back to the default runtime

    async def run():
        handle = await start_node(chain=chain, mode="interval", block_time=0.02)
        deadline = time.monotonic() + TIMEOUT
        while chain.head_number < 5 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await asyncio.wait_for(handle.stop(), TIMEOUT)  # stopping works after a failure
        return chain.head_number

    with caplog.at_level(logging.ERROR, logger="tao_lab.node"):
        assert asyncio.run(run()) >= 5
    assert "block production failed" in caplog.text and "a bug in a block hook" in caplog.text


# ---------------------------------------------------------------------------------------- 6. block times


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), 1e9, True, "fast"])
def test_block_times_out_of_bounds_are_refused(instant, bad):
    substrate = client(instant)
    error = rpc_error(substrate, "dev_setBlockMode", "interval", bad)
    assert error["code"] == -32602 and "block_time" in error["message"]
    assert substrate.rpc_request("dev_setBlockMode", ["instant"])["result"] is True  # the node is unharmed
    substrate.close()
    with pytest.raises(InputError, match="block_time"):
        Devnet(block_time=bad)


@pytest.mark.parametrize("bad", ["nan", "0.001", "7200"])
def test_cli_refuses_a_bad_block_time_in_one_line(bad):
    result = subprocess.run([sys.executable, "-m", "tao_lab.node", "--port", "0", "--block-time", bad],
                            capture_output=True, text=True, timeout=TIMEOUT * 3)
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and "block" in result.stderr and bad in result.stderr


def test_dev_new_block_is_capped_and_lets_other_clients_in(instant):
    substrate = client(instant)
    assert rpc_error(substrate, "dev_newBlock", MAX_NEW_BLOCKS + 1)["code"] == -32602
    substrate.close()

    start = head(instant.url)
    long_call = threading.Thread(target=http_rpc, args=(instant.url, "dev_newBlock", 3000),
                                 kwargs={"timeout": 120}, daemon=True)
    long_call.start()
    seen = []
    while long_call.is_alive() and len(seen) < 5:
        seen.append(head(instant.url))  # answered while the long call still runs
    long_call.join(120)
    assert len(seen) == 5 and start < seen[-1] < start + 3000, seen


# ---------------------------------------------------------------------------------------- 7. pruning


def test_old_state_is_pruned_with_a_clear_error_while_snapshots_and_reset_still_work():
    with Devnet(manual=True, keep_blocks=8, timeout=TIMEOUT * 3) as node:
        substrate = client(node)
        snapshot = substrate.rpc_request("dev_snapshot", [])["result"]
        at_snapshot = substrate.rpc_request("chain_getHead", [])["result"]
        substrate.rpc_request("dev_newBlock", [600])
        old = substrate.rpc_request("chain_getBlockHash", [5])["result"]
        assert old is not None  # block hashes outlive pruning

        for method, params in (("state_getStorage", ["0x26aa394eea5630e07c48ae0c9558cef702a5c1b19ab7a04f536c519aca4983ac", old]),
                               ("chain_getHeader", [old]), ("state_getKeysPaged", ["0x", 10, None, old])):
            error = rpc_error(substrate, method, *params)
            assert error["code"] == 4003 and "State already discarded" in error["message"], (method, error)
        assert substrate.query("System", "Number").value == 600  # the head answers

        assert substrate.rpc_request("dev_restore", [snapshot])["result"] == at_snapshot  # pruned long ago
        substrate.rpc_request("dev_newBlock", [2])
        genesis = substrate.rpc_request("chain_getBlockHash", [0])["result"]
        assert substrate.rpc_request("dev_reset", [])["result"] == genesis
        substrate.rpc_request("dev_newBlock", [1])
        assert substrate.query("System", "Number").value == 1
        substrate.close()


# ---------------------------------------------------------------------------------------- 9. the lock


def test_a_second_node_on_the_same_data_dir_is_refused_with_the_holders_pid(tmp_path):
    data = tmp_path / "chain"
    first = subprocess.Popen([sys.executable, "-m", "tao_lab.node", "--port", "0", "--quiet", "--manual",
                              "--data-dir", str(data)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
    try:
        assert first.stdout.readline().startswith("ws://")
        second = subprocess.run([sys.executable, "-m", "tao_lab.node", "--port", "0", "--quiet",
                                 "--data-dir", str(data)], capture_output=True, text=True, timeout=TIMEOUT * 3)
        assert second.returncode == 2 and second.stdout == ""
        assert f"in use by another devnet node (pid {first.pid})" in second.stderr and str(data) in second.stderr
        with pytest.raises(DataDirError, match=f"pid {first.pid}"):
            open_chain(data)
    finally:
        os.kill(first.pid, signal.SIGKILL)  # a killed holder leaves no stale lock behind
        first.wait(TIMEOUT)
        first.stdout.close(), first.stderr.close()
    chain = open_chain(data)
    chain.journal.close()


def test_a_stopped_in_process_node_releases_its_data_dir(tmp_path):
    for _ in range(2):
        with Devnet(manual=True, data_dir=tmp_path / "chain", in_process=True, publish=False) as node:
            assert node.url


# ---------------------------------------------------------------------------------------- 10. integrity


def _journal(tmp_path, blocks: int = 4):
    data = tmp_path / "chain"
    chain = open_chain(data)
    for _ in range(blocks):
        chain.dispatch(ALICE.public_key, "Balances", "transfer_keep_alive", dest=("Id", b"\x02" * 32), value=10**9)
    chain.journal.close()
    return data, data / "chain.sqlite"


def _edit(path, sql: str) -> None:
    db = sqlite3.connect(path)
    db.execute(sql)
    db.commit()
    db.close()


@pytest.mark.parametrize("damage", ["empty", "cut", "value", "key", "lost change", "moved change", "extrinsic", "hash"])
def test_a_damaged_journal_is_refused_like_a_cut_one(tmp_path, damage):
    data, path = _journal(tmp_path)
    if damage == "empty":
        path.write_bytes(b"")
    elif damage == "cut":
        raw = path.read_bytes()
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "value":  # one flipped bit in one stored value, as a bad disk sector would
        db = sqlite3.connect(path)
        rowid, value = db.execute("SELECT rowid, value FROM changes WHERE number = 2 AND value IS NOT NULL").fetchone()
        db.execute("UPDATE changes SET value = ? WHERE rowid = ?", (bytes([value[0] ^ 1]) + value[1:], rowid))
        db.commit()
        db.close()
    elif damage == "key":
        _edit(path, "UPDATE changes SET key = x'00' || key WHERE rowid = (SELECT max(rowid) FROM changes WHERE number = 1)")
    elif damage == "lost change":
        _edit(path, "DELETE FROM changes WHERE rowid = (SELECT max(rowid) FROM changes WHERE number = 3)")
    elif damage == "moved change":
        _edit(path, "UPDATE changes SET number = 2 WHERE rowid = (SELECT max(rowid) FROM changes WHERE number = 3)")
    elif damage == "extrinsic":
        _edit(path, "UPDATE blocks SET extrinsics = x'00' WHERE number = 2")
    elif damage == "hash":
        _edit(path, "UPDATE blocks SET hash = zeroblob(32) WHERE number = 4")
    with pytest.raises(DataDirError, match="is not a readable devnet journal, it is damaged") as info:
        open_chain(data)
    assert str(path) in str(info.value) and "--data-dir" in str(info.value)
    chain = open_chain(tmp_path / "other")  # the refusal released the lock of its own dir too
    chain.journal.close()


def test_an_undamaged_journal_reopens_with_pruned_memory(tmp_path):
    data, _ = _journal(tmp_path)
    chain = open_chain(data, keep_blocks=1)
    chain.advance(300)
    head = chain.head.hash
    chain.journal.close()
    again = open_chain(data, keep_blocks=1)
    assert again.head.hash == head and again.floor > 0
    again.journal.close()


# ---------------------------------------------------------------------------------------- 18. busy port


@pytest.fixture
def busy_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield sock.getsockname()[1]
    sock.close()


@pytest.mark.parametrize("in_process", [False, True])
def test_a_busy_port_says_so_at_once(busy_port, in_process):
    started = time.monotonic()
    with pytest.raises(PortInUseError, match=f"port {busy_port} on 127.0.0.1 is already in use") as info:
        Devnet(port=busy_port, in_process=in_process, publish=False, timeout=30).start()
    assert time.monotonic() - started < TIMEOUT and "port 0" in str(info.value)
    assert isinstance(info.value, DevnetError) and "did not start within" not in str(info.value)


def test_cli_on_a_busy_port_prints_one_line_and_frees_the_data_dir(busy_port, tmp_path):
    result = subprocess.run([sys.executable, "-m", "tao_lab.node", "--port", str(busy_port),
                             "--data-dir", str(tmp_path / "chain")], capture_output=True, text=True, timeout=TIMEOUT * 3)
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "already in use" in lines[0] and str(busy_port) in lines[0], result.stderr
    chain = open_chain(tmp_path / "chain")
    chain.journal.close()
