"""The dashboard of a process-mode lab: the validator runs in its own process, and its events reach
the kernel live (the supervisor's event stream), so `lab.events` and the routing and scores panels
show what the process did, not only what a status file says."""


import numpy as np
import pytest
from _support import wait_for

from tao_lab import Lab


@pytest.fixture(scope="module")
def lab():
    lab = Lab(block_time=0.1, mode="process", reuse=False)
    lab.subnet(tempo=8)
    lab.add_miners(2, pretrain=[0, 20])
    lab.add_validators(1, stake=200)
    rows = lab.wait(timeout=180)
    assert (rows["state"] == "running").all(), rows
    yield lab
    lab.close()


def test_process_validators_stream_their_events_to_the_lab(lab):
    status = lab.supervisor.status("validator0")
    assert status["mode"] == "process" and status["pid"] and int(status["pid"]) > 0
    start, _ = lab.events.since(0)
    assert wait_for(lambda: {"route", "response", "score"} <= {e["kind"] for e in lab.events.since(0)[0]}), \
        lab.logs("validator0")
    events = lab.events.since(len(start))[0] or lab.events.since(0)[0]
    assert {e["neuron"] for e in events} == {"validator0"}
    routed = {e["miner_uid"] for e in lab.events.since(0)[0] if e["kind"] == "route"}
    assert routed <= {lab.uid("miner0"), lab.uid("miner1")} and routed


def test_the_dashboard_shows_a_process_validators_routing_and_scores(lab):
    lab.run(epochs=1, progress=False)
    d = lab.dashboard(refresh=0.2)
    try:
        ticks = d.ticks
        assert wait_for(lambda: d.ticks >= ticks + 3), d.error
        seen = len(d._events)
        assert wait_for(lambda: len(d._events) > seen)  # new events arrive while it runs
        d.update(force=True)
        sankey = d.widgets["routing"].data[0]
        assert sankey.type == "sankey" and sum(sankey.link.value) > 0
        v, m = lab.uid("validator0"), lab.uid("miner1")
        assert {f"V{v}", f"M{m}"} <= set(sankey.node.label), sankey.node.label
        scored = {t.name for t in d.widgets["scores"].data}
        assert f"V{v}→M{m}" in scored, scored
        mg = lab.metagraph()
        assert np.asarray(mg.W[lab.uid("validator0")]).sum() > 0.99  # the process set weights on chain
    finally:
        d.close()
