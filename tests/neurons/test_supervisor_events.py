"""The supervisor's live event stream: process- and thread-mode validators' events in `Supervisor.events`.

Two thread-mode miners serve subnet 1 on a real devnet; a process-mode and a thread-mode validator
route to them, and their route, response and score events reach `sup.events` and `on_events`
listeners within about a second, each named by its neuron. Killing the process-mode validator
with SIGKILL shows as a crash and leaves the stream running for the others.
"""

import os
import signal
import threading
import time

import pytest
from _support import wait_for

from tao_lab import Devnet, Subtensor, Wallet
from tao_lab.neurons.supervisor import NeuronCrashed, Supervisor

TAO = 10**9
VALIDATORS = {"pv": ("//Dave", "//Dave//events-process"), "tv": ("//Eve", "//Eve//events-thread")}



def kinds(sup: Supervisor, neuron: str) -> set[str]:
    return {ev["kind"] for ev in sup.events if ev["neuron"] == neuron}


@pytest.fixture(scope="module")
def network():
    """A devnet, two staked validator hotkeys with permits, and a supervisor whose two thread miners serve."""
    with Devnet(instant=True) as dev, Subtensor(dev) as sub:
        sub.set_hyperparameter(Wallet.dev("//Alice"), 1, "tempo", 5)
        for uri in VALIDATORS.values():
            vw = Wallet.dev(*uri)
            sub.burned_register(vw, 1)
            sub.add_stake(vw, 1, 1000 * TAO)
        sub.next_epoch(1)
        with Supervisor(sub) as sup:
            for i in range(2):
                sup.miner(f"m{i}", ("//Charlie", f"//Charlie//events{i}"), 1, mode="thread", seed=i)
            rows = sup.start().wait(timeout=60)
            assert (rows["state"] == "running").all(), rows
            yield sub, sup


def check_events(sup: Supervisor, name: str, arrivals: list) -> None:
    assert wait_for(lambda: {"route", "response", "score"} <= kinds(sup, name), 30), (sup.status(), sup.logs(name))
    miner_uids = {int(sup.status(f"m{i}")["uid"]) for i in range(2)}
    mine = [ev for ev in sup.events if ev["neuron"] == name]
    assert {ev["miner_uid"] for ev in mine if ev["kind"] == "route"} <= miner_uids
    assert {ev["validator_uid"] for ev in mine} == {int(sup.status(name)["uid"])}
    responses = [ev for ev in mine if ev["kind"] == "response"]
    assert all(ev["value"] is not None and ev["value"] > 0 for ev in responses)  # a loss in nats/token
    # Live: each batch reached the listener within about a second of the step that made it.
    lags = [arrived - ev["time"] for arrived, batch in arrivals for ev in batch if ev["neuron"] == name]
    assert lags and sorted(lags)[len(lags) // 2] < 1.0 and max(lags) < 3.0, lags


def listen(sup: Supervisor) -> list:
    arrivals = []

    def on_batch(events):
        assert threading.current_thread() is not threading.main_thread()  # the reader thread, as documented
        arrivals.append((time.time(), events))

    assert sup.on_events(on_batch) is on_batch
    sup.on_events(on_batch)  # a re-run cell: still called once per batch
    return arrivals


def test_a_process_validator_streams_its_events_live(network):
    _, sup = network
    arrivals = listen(sup)
    sup.validator("pv", VALIDATORS["pv"], 1, k=2, batch_size=2, interval=0.2).start("pv")
    check_events(sup, "pv", arrivals)
    assert sup.status("pv")["pid"] != os.getpid()
    heard = sum(ev["neuron"] == "pv" for _, batch in arrivals for ev in batch)
    assert heard <= sum(ev["neuron"] == "pv" for ev in sup.events)  # each batch once, though added twice


def test_a_thread_validator_streams_into_the_same_log(network):
    _, sup = network
    arrivals = listen(sup)
    sup.validator("tv", VALIDATORS["tv"], 1, mode="thread", k=2, batch_size=2, interval=0.2).start("tv")
    check_events(sup, "tv", arrivals)
    assert sup.status("tv")["pid"] == os.getpid()


def test_a_killed_process_validator_crashes_and_the_stream_goes_on(network):
    _, sup = network
    sup.validator("pv", VALIDATORS["pv"], 1, k=2, batch_size=2, interval=0.2)
    sup.validator("tv", VALIDATORS["tv"], 1, mode="thread", k=2, batch_size=2, interval=0.2)
    sup.start().wait(timeout=30)
    failing = sup.on_events(lambda events: 1 / 0)  # a broken listener is logged, never fatal
    assert wait_for(lambda: "route" in kinds(sup, "pv"), 30)
    os.kill(int(sup.status("pv")["pid"]), signal.SIGKILL)
    with pytest.warns(NeuronCrashed, match="SIGKILL"):
        assert wait_for(lambda: sup.status("pv")["state"] == "crashed", 10)
    assert "killed by SIGKILL" in sup.status("pv")["error"]
    count = len(sup.events)
    assert wait_for(lambda: any(ev["neuron"] == "tv" for ev in sup.events.since(count)[0]), 10)  # still read
    sup.off_events(failing)
    sup.restart("pv").wait("pv", timeout=30)
    count = len(sup.events)
    assert wait_for(lambda: any(ev["neuron"] == "pv" for ev in sup.events.since(count)[0]), 30)
