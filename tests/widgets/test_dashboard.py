"""The dashboard on a real lab (devnet, thread-mode neurons): it shows the chain's numbers, updates
live and in place, and its controls act on the lab. No front end is needed: the FigureWidgets'
Python side holds exactly what the browser is sent."""

import time

import numpy as np
import pytest
from _support import wait_for

from tao_lab import Lab
from tao_lab.widgets.dashboard import NO_UID, PANELS, Dashboard


@pytest.fixture(scope="module")
def lab():
    lab = Lab(block_time=0.1, reuse=False)
    lab.subnet(tempo=8)
    lab.add_miners(2, pretrain=[0, 20])
    lab.add_validators(1, stake=200)
    lab.wait(timeout=120)
    lab.run(epochs=1, progress=False)
    yield lab
    lab.close()



@pytest.fixture
def dashboard(lab):
    d = lab.dashboard(refresh=0.2)
    yield d
    d.close()


def test_dashboard_shows_the_chain_and_updates_live(lab, dashboard):
    assert set(dashboard.widgets) == set(PANELS)
    first = dashboard.ticks
    assert wait_for(lambda: dashboard.ticks >= first + 5), dashboard.error
    assert dashboard.error is None
    block = int(dashboard.ticker.value.split("tao-lab-block'>")[1].split("<")[0])
    assert abs(block - lab.block) <= 3
    mg = lab.metagraph()
    dashboard.update(force=True)
    emission = dashboard.widgets["emission"]
    e_trace = next(t for t in emission.data if t.type == "bar" and "E" in (t.name or ""))
    assert np.allclose(np.asarray(e_trace.y, dtype=float), dashboard._mg.E)
    assert abs(sum(dashboard._mg.E) - sum(mg.E)) < 1e-6 or dashboard._mg.last_epoch_block != mg.last_epoch_block
    routing = dashboard.widgets["routing"]
    assert routing.data and routing.data[0].type == "sankey" and sum(routing.data[0].link.value) > 0
    assert len(dashboard.widgets["scores"].data) >= 2  # a line per miner the validator scores


def test_updates_are_in_place(dashboard):
    traces = {name: list(fig.data) for name, fig in dashboard.widgets.items()}
    widgets = dict(dashboard.widgets)
    ticks = dashboard.ticks
    assert wait_for(lambda: dashboard.ticks >= ticks + 5)
    assert dashboard.widgets == widgets  # the same FigureWidgets, never rebuilt
    for name in ("weights", "emission", "stake"):
        assert all(a is b for a, b in zip(traces[name], dashboard.widgets[name].data))


def test_stake_panel_shows_the_coldkeys_balances(lab, dashboard):
    dashboard.update(force=True)
    mg = dashboard._mg
    bars = next(t for t in dashboard.widgets["stake"].data if t.name == "balance")
    shown = dict(zip(bars.y, bars.x))
    for name in ("validator0", "miner0", "miner1"):
        coldkey = lab._members[name].wallet.coldkey_ss58
        free = lab.subtensor.query("System", "Account", [coldkey], block=mg.block)["data"]["free"]
        assert shown[name] == pytest.approx(free / 1e9, abs=1e-9), (name, shown)
    assert list(shown.values()) == sorted(shown.values(), reverse=True)  # largest first
    assert "balances" in dashboard.widgets["stake"].layout.title.text


def test_highlight_reaches_every_panel(lab, dashboard):
    uid = lab.uid("miner1")
    before = dashboard.widgets["stake"].to_dict()
    dashboard.uid_select.value = uid
    assert wait_for(lambda: dashboard.highlight == uid and dashboard.widgets["stake"].to_dict() != before)
    dashboard.uid_select.value = NO_UID
    assert wait_for(lambda: dashboard.highlight is None)


def test_controls_act_on_the_lab(lab, dashboard):
    dashboard.pause_button.value = True
    try:
        assert lab.paused and dashboard.pause_button.description == "Resume"
        block = lab.block
        dashboard.epoch_button.click()
        assert lab.block > block and "next epoch" in dashboard.message.value
    finally:
        dashboard.pause_button.value = False
    assert not lab.paused
    dashboard.block_time.value = 0.05
    assert lab.block_time == 0.05
    dashboard.block_time.value = 0.1
    n = len(lab.miners)
    dashboard.miner_button.click()
    assert len(lab.miners) == n + 1 and "added0" in lab.miners


def test_static_copy_for_offline_html(dashboard):
    page = dashboard.static_html(include_plotlyjs=True)
    assert page.count("Plotly.newPlot") == len(PANELS) and "tao-lab-block" in page
    bundle = dashboard._repr_mimebundle_()
    assert {"text/html", "application/vnd.jupyter.widget-view+json"} <= set(bundle)


def test_a_dashboard_stops_with_its_lab():
    lab = Lab(block_time=0.1, reuse=False)
    d = Dashboard(lab, refresh=0.1)
    assert wait_for(lambda: d.ticks >= 2)
    lab.close()
    assert wait_for(lambda: d._thread is None or not d._thread.is_alive(), timeout=5)


def test_a_panel_no_front_end_confirms_gets_a_fresh_widget_a_few_times(lab, monkeypatch):
    """With no browser, no edit is ever confirmed: each panel is replaced at most MAX_SWAPS times,
    each time later, and the replacement shows the same figure in the same grid cell."""
    import tao_lab.widgets._live as D

    monkeypatch.setattr(D, "UNCONFIRMED_S", 0.3)
    d = lab.dashboard(refresh=0.1, panels=("weights", "emission"))
    try:
        first = d.widgets["weights"]
        assert wait_for(lambda: d.swaps.get("weights", 0) == D.MAX_SWAPS, timeout=15), d.swaps
        new = d.widgets["weights"]
        assert new is not first and d._cells["weights"].children == (new,)
        assert new.data[0].type == first.data[0].type and len(new.data) == len(first.data)
        time.sleep(1.0)
        assert d.swaps["weights"] == D.MAX_SWAPS and d.error is None
    finally:
        d.close()
