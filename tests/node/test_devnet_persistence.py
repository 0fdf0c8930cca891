"""The devnet as a process: ``--data-dir`` survives ``kill -9``, bad data dirs are refused, and the
command line prints the URL first and honours its block modes.

Nodes here are started as ``python -m tao_lab.node`` (what ``tao-lab devnet`` and `Devnet` run);
their first stdout line is the URL. Every wait has a timeout.
"""

from __future__ import annotations

import os
import select
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from substrateinterface import Keypair, SubstrateInterface

from tao_lab.chain.runtime import Runtime
from tao_lab.node.devnet import Devnet, DevnetError
from tao_lab.node.persist import DataDirError, open_chain

TIMEOUT = 10.0  # seconds for any single wait or socket read
ALICE = Keypair.create_from_uri("//Alice")
BOB = Keypair.create_from_uri("//Bob")
CHARLIE = Keypair.create_from_uri("//Charlie")
TAO = 10**9


# ---------------------------------------------------------------------------------------- helpers


class NodeProcess:
    """``python -m <module> [devnet] ARGS`` with its URL read from the first stdout line."""

    def __init__(self, *args: str, module: str = "tao_lab.node"):
        command = [sys.executable, "-m", module, *args]
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True)
        self.first_line = self._readline()
        self.url = self.first_line.strip()
        if not self.url.startswith("ws://"):
            self.kill()
            raise AssertionError(f"{command}: first line {self.first_line!r}, stderr {self.proc.stderr.read()!r}")

    def _readline(self) -> str:
        ready, _, _ = select.select([self.proc.stdout], [], [], TIMEOUT)
        if not ready:
            self.kill()
            raise AssertionError(f"no output within {TIMEOUT} s")
        return self.proc.stdout.readline()

    def client(self) -> SubstrateInterface:
        return SubstrateInterface(url=self.url, ws_options={"timeout": TIMEOUT})

    def kill(self) -> None:
        """``kill -9``: no chance to flush or close anything."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(TIMEOUT)
        self._close_pipes()

    def terminate(self) -> tuple[int, str, str]:
        """SIGTERM, as Ctrl-C or a service manager would; returns (exit code, rest of stdout, stderr)."""
        self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=TIMEOUT)
        return self.proc.returncode, out, err

    def _close_pipes(self) -> None:
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe:
                pipe.close()


def run_node(*args: str, module: str = "tao_lab.node") -> subprocess.CompletedProcess:
    """A node command that is expected to exit by itself (an error)."""
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, timeout=TIMEOUT * 3)


def transfer(substrate: SubstrateInterface, value: int, dest: Keypair = BOB):
    call = substrate.compose_call("Balances", "transfer_keep_alive", {"dest": dest.ss58_address, "value": value})
    receipt = substrate.submit_extrinsic(substrate.create_signed_extrinsic(call=call, keypair=ALICE),
                                         wait_for_inclusion=True)
    assert receipt.is_success
    return receipt


def chain_view(substrate: SubstrateInterface) -> dict:
    """What must survive a restart: the head, its hash, accounts and every block hash."""
    header = substrate.rpc_request("chain_getHeader", [])["result"]
    number = int(header["number"], 16)
    return {
        "number": number,
        "head": substrate.rpc_request("chain_getHead", [])["result"],
        "hashes": [substrate.rpc_request("chain_getBlockHash", [n])["result"] for n in range(number + 1)],
        "accounts": {k.ss58_address: substrate.query("System", "Account", [k.ss58_address]).value
                     for k in (ALICE, BOB, CHARLIE)},
        "issuance": substrate.query("Balances", "TotalIssuance").value,
    }


# ---------------------------------------------------------------------------------------- kill -9


def test_kill_9_and_restart_keep_head_hashes_and_balances(tmp_path):
    data = tmp_path / "chain"
    node = NodeProcess("--port", "0", "--quiet", "--instant", "--data-dir", str(data))
    try:
        substrate = node.client()
        for value in (1, 2, 3):
            transfer(substrate, value * TAO)
        transfer(substrate, TAO, dest=CHARLIE)
        before = chain_view(substrate)
        substrate.close()
    finally:
        node.kill()
    assert before["number"] == 4

    node = NodeProcess("--port", "0", "--quiet", "--instant", "--data-dir", str(data))
    try:
        substrate = node.client()
        assert chain_view(substrate) == before
        # the chain goes on from there: the next block builds on the old head, nonces continue
        receipt = transfer(substrate, TAO)
        header = substrate.rpc_request("chain_getHeader", [receipt.block_hash])["result"]
        assert int(header["number"], 16) == 5 and header["parentHash"] == before["head"]
        assert substrate.query("System", "Account", [ALICE.ss58_address]).value["nonce"] == 5
        after = chain_view(substrate)
        substrate.close()
    finally:
        code, _, err = node.terminate()
    assert code == 0, err

    # a clean stop keeps everything too
    with Devnet(instant=True, data_dir=data) as devnet:
        substrate = SubstrateInterface(url=devnet.url, ws_options={"timeout": TIMEOUT})
        assert chain_view(substrate) == after
        substrate.close()


def test_restore_and_reset_are_kept_across_kill_9(tmp_path):
    data = tmp_path / "chain"
    node = NodeProcess("--port", "0", "--quiet", "--instant", "--data-dir", str(data))
    try:
        substrate = node.client()
        transfer(substrate, TAO)
        snapshot = substrate.rpc_request("dev_snapshot", [])["result"]
        kept = chain_view(substrate)
        transfer(substrate, 2 * TAO)
        substrate.rpc_request("dev_newBlock", [3])
        substrate.rpc_request("dev_restore", [snapshot])
        assert chain_view(substrate) == kept
        substrate.close()
    finally:
        node.kill()

    node = NodeProcess("--port", "0", "--quiet", "--instant", "--data-dir", str(data))
    try:
        substrate = node.client()
        assert chain_view(substrate) == kept  # the dropped blocks stay dropped
        genesis = substrate.rpc_request("chain_getBlockHash", [0])["result"]
        substrate.rpc_request("dev_reset", [])
        substrate.close()
    finally:
        node.kill()

    node = NodeProcess("--port", "0", "--quiet", "--instant", "--data-dir", str(data))
    try:
        substrate = node.client()
        view = chain_view(substrate)
        assert view["number"] == 0 and view["head"] == genesis
        assert view["accounts"][BOB.ss58_address]["data"]["free"] == 1_000_000 * TAO
        substrate.close()
    finally:
        node.kill()


# ---------------------------------------------------------------------------------------- bad data dirs


def test_foreign_data_dir_is_refused_and_left_alone(tmp_path):
    foreign = tmp_path / "my-notes"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")

    result = run_node("--port", "0", "--quiet", "--data-dir", str(foreign))
    assert result.returncode == 2 and result.stdout == ""  # no URL: it never listened
    assert "holds no devnet journal" in result.stderr and str(foreign) in result.stderr
    assert sorted(p.name for p in foreign.iterdir()) == ["thesis.tex"]
    assert (foreign / "thesis.tex").read_text() == "precious"

    with pytest.raises(DevnetError, match="holds no devnet journal"):
        Devnet(data_dir=foreign, timeout=TIMEOUT).start()


def test_journal_of_another_format_is_refused(tmp_path):
    data = tmp_path / "chain"
    data.mkdir()
    db = sqlite3.connect(data / "chain.sqlite")
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("INSERT INTO meta VALUES ('format', 'some-other-tool-7')")
    db.commit()
    db.close()

    result = run_node("--port", "0", "--quiet", "--data-dir", str(data))
    assert result.returncode == 2 and result.stdout == ""
    assert "written by something else" in result.stderr and "some-other-tool-7" in result.stderr


def test_other_unusable_data_dirs_say_what_to_do(tmp_path):
    # in-process: the same checks, without a process start each
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    with pytest.raises(DataDirError, match="is a file, not a directory"):
        open_chain(a_file)

    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "chain.sqlite").write_bytes(b"this is not a database" * 100)
    with pytest.raises(DataDirError, match="not a readable devnet journal"):
        open_chain(damaged)

    newer = tmp_path / "newer"
    chain = open_chain(newer)
    chain.journal.close()

    class FutureRuntime(Runtime):
        spec_version = Runtime().spec_version + 1

    with pytest.raises(DataDirError, match="runtime spec") as info:
        open_chain(newer, runtime=FutureRuntime())
    assert "--data-dir" in str(info.value)

    # an empty folder is fine, and reopening it resumes
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    first = open_chain(fresh)
    first.advance(2)
    head = first.head.hash
    first.journal.close()
    again = open_chain(fresh)
    assert again.head_number == 2 and again.head.hash == head
    again.journal.close()


# ---------------------------------------------------------------------------------------- the command line


def test_cli_prints_the_url_first_and_nothing_else_when_quiet(tmp_path):
    node = NodeProcess("devnet", "--port", "0", "--quiet", module="tao_lab.cli")
    try:
        assert node.first_line.startswith("ws://127.0.0.1:") and node.first_line.endswith("\n")
        substrate = node.client()
        assert substrate.chain == "tao_lab devnet"
        substrate.close()
    finally:
        code, out, err = node.terminate()
    assert (code, out, err) == (0, "", "")

    loud = NodeProcess("devnet", "--port", "0", "--manual", module="tao_lab.cli")
    code, out, err = loud.terminate()
    assert code == 0 and out == ""
    assert "manual blocks" in err and "in memory" in err  # the banner goes to stderr, after the URL


def test_block_modes_from_the_command_line():
    manual = NodeProcess("--port", "0", "--quiet", "--manual")
    interval = NodeProcess("--port", "0", "--quiet", "--block-time", "0.05")
    try:
        m, i = manual.client(), interval.client()
        call = m.compose_call("Balances", "transfer_keep_alive", {"dest": BOB.ss58_address, "value": TAO})
        m.submit_extrinsic(m.create_signed_extrinsic(call=call, keypair=ALICE))  # not waiting: no block comes
        time.sleep(0.3)
        assert m.get_block_number(None) == 0
        assert len(m.rpc_request("author_pendingExtrinsics", [])["result"]) == 1
        m.rpc_request("dev_newBlock", [])
        assert m.get_block_number(None) == 1
        assert m.query("System", "Account", [BOB.ss58_address]).value["data"]["free"] == 1_000_000 * TAO + TAO

        deadline = time.monotonic() + 5
        while i.get_block_number(None) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert i.get_block_number(None) >= 3  # blocks come by themselves, transactions or not
        receipt = i.submit_extrinsic(i.create_signed_extrinsic(call=call, keypair=ALICE), wait_for_inclusion=True)
        assert receipt.is_success
        m.close()
        i.close()
    finally:
        manual.kill()
        interval.kill()
