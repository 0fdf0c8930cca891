"""The Lab against a real devnet subprocess, real neurons (thread mode) and the real chain state."""

import re
import socket
import urllib.parse

import numpy as np
import pytest

from tao_lab import InputError, Lab, LabError, Metagraph, Subtensor
from tao_lab.node.devnet import Devnet

TAO = 10**9


@pytest.fixture(scope="module")
def lab():
    lab = Lab(block_time=0.1, reuse=False)
    lab.subnet(tempo=10)
    lab.add_miners(3, pretrain=[0, 0, 40])
    lab.add_validators(1, stake=500)
    lab.wait(timeout=120)
    yield lab
    lab.close()


def test_a_lab_is_a_working_network(lab):
    table = lab.run(epochs=2, progress=False)
    assert list(table["uid"]) == list(range(5))  # the owner's hotkey, three miners, the validator
    mg = lab.metagraph()
    miners = [lab.uid(f"miner{i}") for i in range(3)]
    validator = lab.uid("validator0")
    assert mg.validator_permit[validator] and mg.D[validator] > 0.99  # the only validator earns the dividends
    assert mg.I[miners].sum() > 0.99 and mg.E[miners].sum() > 0  # miners earn what Yuma pays for
    # weights on chain come from the validator's scores: on miners, most on the trained one (miner2)
    assert mg.W[validator].sum() > 0.99 and int(np.argmax(mg.W[validator])) in miners
    states = lab.neurons().set_index("name")["state"]
    assert (states == "running").all(), states
    kinds = {e["kind"] for e in lab.events.since(0)[0]}
    assert {"route", "response", "score"} <= kinds


def test_rerunning_cells_changes_nothing(lab):
    again = Lab(block_time=0.1)  # same arguments as a module-level lab with reuse: a new one here
    try:
        assert again is not lab and Lab(block_time=0.1) is again  # ... and re-running that returns it
    finally:
        again.close()
    before = lab.neurons()[["name", "uid"]].values.tolist()
    assert lab.add_miners(3, pretrain=[0, 0, 40]) == [lab.uid(f"miner{i}") for i in range(3)]
    assert lab.add_validators(1, stake=500) == [lab.uid("validator0")]
    assert lab.subnet(tempo=10) == 1
    assert lab.neurons()[["name", "uid"]].values.tolist() == before
    assert Metagraph(1).sync(lab.subtensor).n == 5


def test_a_larger_group_adds_only_the_new_neurons(lab):
    uids = lab.add_miners(4, pretrain=[0, 0, 40, 0])
    assert uids[:3] == [lab.uid(f"miner{i}") for i in range(3)] and uids[3] == 5
    assert lab.miners == ["miner0", "miner1", "miner2", "miner3"]
    lab.remove("miner3")
    assert lab.supervisor.status("miner3")["state"] == "stopped"


def test_pause_stops_the_clock_and_resume_restarts_it(lab):
    lab.pause()
    try:
        assert lab.paused
        import time

        first = lab.block
        time.sleep(0.5)
        assert lab.block == first
        assert lab.advance(3) == first + 3  # time control still works while paused
    finally:
        lab.resume()
    assert lab.subtensor.wait_blocks(2, timeout=10) >= first + 5


def test_stop_halts_neurons_and_clock_and_start_resumes(lab):
    import time

    lab.stop()
    try:
        states = lab.neurons().set_index("name")["state"]
        assert (states == "stopped").all(), states
        assert lab.paused
        first, steps = lab.block, lab.supervisor._neurons["validator0"].obj.steps
        time.sleep(0.5)
        assert lab.block == first and lab.supervisor._neurons["validator0"].obj.steps == steps
    finally:
        assert lab.start() is lab
    lab.wait(timeout=60)
    states = lab.neurons().set_index("name")["state"]
    assert (states == "running").all(), states
    assert not lab.paused and lab.subtensor.wait_blocks(2, timeout=10) >= first + 2


def test_run_shows_a_text_progress_bar_outside_jupyter(lab, capsys):
    lab.run(epochs=1)  # progress=True: tqdm.auto picks the text bar in a terminal (the notebook bar: test_lab_lifetimes)
    bar = capsys.readouterr().err.replace("\r", "\n")
    assert re.search(r"subnet 1: 100%.*1/1 \[", bar) and "epoch" in bar and "block " in bar, bar[-500:]
    lab.run(epochs=1, progress=False)
    assert capsys.readouterr().err == ""


def test_snapshot_and_restore_rewind_the_chain(lab):
    lab.pause()  # no clock: the block number moves only as the test moves it
    try:
        sid = lab.snapshot()
        block = lab.block
        lab.set(kappa=40_000)
        assert lab.advance(30) >= block + 30 and lab.hyperparameters["kappa"] == 40_000
        lab.restore(sid)
        assert lab.hyperparameters["kappa"] == 32767
        assert lab.block < block + 10  # the 30 blocks are gone (the validator's pooled weights may add a block or two)
        assert lab.uid("validator0") is not None
    finally:
        lab.resume()


def test_history_has_every_epoch_seen(lab):
    history = lab.history()
    epochs = sorted(history["epoch_block"].unique())
    assert len(epochs) >= 2 and history.groupby("epoch_block")["uid"].count().iloc[-1] >= 5
    # ``epoch`` is the chain's own count of the subnet's epochs (SubnetEpochIndex): one more per epoch block
    numbers = history.drop_duplicates("epoch_block").sort_values("epoch_block")["epoch"].tolist()
    assert numbers == list(range(numbers[0], numbers[0] + len(epochs))) and numbers[0] >= 1
    assert lab.history()["block"].max() >= history["block"].max()  # a second read adds what is new


def test_report_is_one_self_contained_file(lab, tmp_path):
    path = lab.report(tmp_path / "run")
    text = open(path, encoding="utf-8").read()
    assert path.endswith(".html") and text.startswith("<!DOCTYPE html>")
    assert not re.search(r"<script[^>]*\ssrc=", text)  # plotly.js is inlined: it opens offline
    assert text.count("Plotly.newPlot") >= 6 and "Metagraph" in text and "validator0" in text


def test_summary_reads_as_a_network(lab):
    assert "subnet 1" in repr(lab) and "4 miners" in repr(lab)
    page = lab._repr_html_()
    assert "validator0" in page and "miner2" in page and "block" in page


@pytest.mark.parametrize("call, argument", [
    (lambda lab: lab.add_miners(-1), "n"),
    (lambda lab: lab.add_miners(2, pretrain=[1, 2, 3]), "pretrain"),
    (lambda lab: lab.add_miners(1, group="a b"), "group"),
    (lambda lab: lab.add_miners(1, mode="fork"), "mode"),
    (lambda lab: lab.add_validators(1, group="miner"), "group"),
    (lambda lab: lab.run(epochs=0), "epochs"),
    (lambda lab: lab.set_block_time(0), "seconds"),
    (lambda lab: lab.uid("nobody"), "name"),
    (lambda lab: lab.subnet(99), "netuid"),
])
def test_bad_input_is_a_clear_error(lab, call, argument):
    with pytest.raises(InputError) as info:
        call(lab)
    assert info.value.argument == argument


def test_bad_lab_arguments():
    with pytest.raises(InputError, match="block_time"):
        Lab(block_time=0, reuse=False)
    with pytest.raises(InputError, match="mode"):
        Lab(mode="gpu", reuse=False)


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT leftovers do not count
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def test_close_stops_the_devnet_and_the_neurons():
    lab = Lab(block_time=0.1, reuse=False)
    lab.add_miners(1)
    port = urllib.parse.urlsplit(lab.url).port
    assert not _port_free(port)
    lab.close()
    assert lab.closed and _port_free(port) and repr(lab) == "Lab(closed)"
    with pytest.raises(LabError, match="closed"):
        lab.add_miners(1)


def test_a_lab_on_a_url_uses_that_node_and_leaves_it_running():
    with Devnet(block_time=0.1) as dev:
        with Lab(url=dev.url, reuse=False) as lab:
            assert lab.devnet is None and lab.is_devnet
            assert lab.subnet() == 1
            lab.add_miners(1, start=False)
        with Subtensor(dev.url) as sub:
            assert sub.neuron_count(1) == 2  # the node kept the lab's registration and is still up


def test_a_data_dir_keeps_the_network_across_labs(tmp_path):
    with Lab(data_dir=tmp_path / "chain", block_time=0.1, reuse=False) as lab:
        uids = lab.add_miners(2, start=False)
        block = lab.block
    with Lab(data_dir=tmp_path / "chain", block_time=0.1, reuse=False) as lab:
        assert lab.block >= block
        assert lab.add_miners(2, start=False) == uids  # the same hotkeys, already registered
        assert lab.subtensor.neuron_count(1) == 3
