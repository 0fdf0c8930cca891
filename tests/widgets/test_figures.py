"""Dashboard figures: each panel shows the right numbers, handles empty inputs, and updates in place.

The update property is checked for every panel: ``update_x(fig, data)`` on a figure built from other
data (a Figure and a FigureWidget) leaves it equal to ``build_x(data)``, and keeps the very same
trace objects while the uids do not change.
"""

import json
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from tao_lab.client.metagraph import Metagraph
from tao_lab.neurons.events import EventLog
from tao_lab.neurons.scoring import StepScores
from tao_lab.widgets import figures as F

N = 8
VALIDATORS = (0, 1)
MINERS = tuple(range(2, N))


def make_mg(seed=0, n=N, block=120):
    """A hand-built metagraph: uids 0 and 1 are validators with weights on every uid; uid 7 (no permit)
    has set weights too, so the heatmap must show its row."""
    rng = np.random.default_rng(seed)
    W = np.zeros((n, n))
    setters = [*VALIDATORS, n - 1]
    W[setters] = rng.random((len(setters), n))
    W[setters] /= W[setters].sum(axis=1, keepdims=True)
    permit = np.zeros(n, dtype=bool)
    permit[list(VALIDATORS)] = True
    return SimpleNamespace(
        uids=np.arange(n), hotkeys=[f"5Hot{i}" for i in range(n)], S=rng.random(n) * 1000, W=W,
        C=rng.random(n) * 0.25, I=rng.random(n), D=np.where(permit, rng.random(n), 0.0), VT=rng.random(n),
        E=rng.random(n), validator_permit=permit, active=np.ones(n, dtype=bool), block=block)


def real_metagraph():
    """A real `Metagraph` with its arrays set as a sync would leave them."""
    src = make_mg(seed=3)
    mg = Metagraph(1)
    for name in ("uids", "hotkeys", "S", "W", "C", "I", "D", "VT", "E", "validator_permit", "active", "block"):
        setattr(mg, name, getattr(src, name))
    return mg


def make_log(blocks=range(10, 20)):
    """A real EventLog filled as validators fill it: record_step per step, then a score per miner.

    Miner 5 times out on odd blocks; latency grows with the miner's uid (10 ms per uid)."""
    log = EventLog()
    for block in blocks:
        for v in VALIDATORS:
            failed = {5: "timeout"} if block % 2 else {}
            step = StepScores(uids=MINERS, loss={m: 1.0 + 0.1 * m for m in MINERS if m not in failed},
                              share={m: 1 / len(MINERS) for m in MINERS if m not in failed}, failed=failed)
            log.record_step(step, block=block, validator_uid=v, latency_s={m: 0.01 * m for m in MINERS})
            for m in MINERS:
                log.append("score", block=block, validator_uid=v, miner_uid=m, value=0.1 * m + 0.01 * block + v)
    return log


def make_history(epochs=5, n=N, every_block=1):
    """A Recorder-like history: ``every_block`` snapshots per epoch, each repeating that epoch's E."""
    rows = []
    for e in range(epochs):
        for k in range(every_block):
            for u in range(n):
                rows.append({"block": 100 * e + k, "epoch": e, "epoch_block": 100 * e, "uid": u,
                             "E": 0.5 * u + e, "S": 10.0 * u})
    return pd.DataFrame(rows)


def snapshot(fig):
    """The figure as plain JSON data, without the per-trace ``uid`` a FigureWidget adds."""
    data = json.loads(fig.to_json())
    for trace in data["data"]:
        trace.pop("uid", None)
    return data


def annotations(fig):
    return [a.text for a in fig.layout.annotations]


# ---------------------------------------------------------------------------------------------- colours

def test_uid_color_is_stable_hex_and_distinct():
    colors = [F.uid_color(u) for u in range(256)]
    assert all(re.fullmatch(r"#[0-9a-f]{6}", c) for c in colors)
    assert len(set(colors[:20])) == 20
    assert len(set(colors)) > 200
    assert F.uid_color(np.int64(7)) == F.uid_color(7)


def alpha(color):
    """The alpha of a "#rrggbbaa" colour, in [0, 1]."""
    return round(int(color[7:9], 16) / 255, 2)


def test_a_uid_has_the_same_colour_in_every_panel():
    mg, log = make_mg(), make_log()
    tag = F.uid_color(4)  # bars and nodes add an alpha: "#rrggbbaa"
    assert F.build_emission(mg).data[0].marker.color[4].startswith(tag)
    assert F.build_stake(mg).data[0].marker.color[4].startswith(tag)
    assert F.build_weights(mg).data[0].marker.color[4].startswith(tag)
    assert F.build_cumulative_emission(make_history()).data[4].line.color == F.uid_color(4)
    scores = {t.name: t for t in F.build_scores(log).data}
    assert scores["V0→M4"].line.color == F.uid_color(4)
    sankey = F.build_routing(log).data[0]
    assert sankey.node.color[list(sankey.node.label).index("M4")].startswith(tag)


# ---------------------------------------------------------------------------------------------- routing

def links(fig):
    """(validator label, miner label, outcome) -> link value."""
    s = fig.data[0]
    lab = s.node.label
    return {(lab[a], lab[b], o): v for a, b, o, v in zip(s.link.source, s.link.target, s.link.label, s.link.value)}


def test_routing_link_values_are_the_query_counts():
    log = make_log()
    fig = F.build_routing(log.since(0)[0], last_steps=20)
    sankey = fig.data[0]
    assert list(sankey.node.label) == ["V0", "V1"] + [f"M{m}" for m in MINERS]
    flows = links(fig)
    events = log.since(0)[0]
    for v in VALIDATORS:
        for m in MINERS:
            routed = sum(e["kind"] == "route" and e["validator_uid"] == v and e["miner_uid"] == m for e in events)
            timeouts = sum(e["kind"] == "timeout" and e["validator_uid"] == v and e["miner_uid"] == m
                           for e in events)
            answered = flows.get((f"V{v}", f"M{m}", "answered"), 0)
            assert answered + flows.get((f"V{v}", f"M{m}", "timed out"), 0) == routed == 10
            assert flows.get((f"V{v}", f"M{m}", "timed out"), 0) == timeouts
    assert flows[("V0", "M5", "timed out")] == 5
    # timeouts are red; hover carries queries, timeouts and mean latency (ms) of the pair
    k = list(sankey.link.label).index("timed out")
    assert sankey.link.color[k].startswith("#d62728")
    assert list(sankey.link.customdata[k]) == [10, 5, 50]


def test_routing_window_counts_each_validators_last_steps():
    fig = F.build_routing(make_log(), last_steps=3)
    assert links(fig)[("V1", "M2", "answered")] == 3
    table = F.routing_table(make_log(), last_steps=3)
    assert set(table["queries"]) == {3}
    # blocks 17, 18, 19: miner 5 timed out at 17 and 19
    assert table.set_index(["validator_uid", "miner_uid"]).loc[(0, 5), "timeouts"] == 2


def test_routing_latency_colours_run_from_fast_to_slow():
    table = F.routing_table(make_log())
    assert table.set_index(["validator_uid", "miner_uid"]).loc[(0, 7), "latency_ms"] == pytest.approx(70.0)
    sankey = F.build_routing(make_log()).data[0]
    answered = [i for i, o in enumerate(sankey.link.label) if o == "answered"]
    fast, slow = sankey.link.color[answered[0]], sankey.link.color[answered[len(MINERS) - 1]]
    assert fast.startswith("#1a9850") and slow.startswith("#f06e28")


def test_routing_accepts_a_dataframe_and_an_eventlog():
    log = make_log()
    assert snapshot(F.build_routing(log.to_pandas())) == snapshot(F.build_routing(log.since(0)[0]))
    assert snapshot(F.build_routing(log)) == snapshot(F.build_routing(log.since(0)[0]))


def test_routing_without_queries_says_so():
    for events in ([], EventLog().to_pandas(), [{"block": 1, "validator_uid": 0, "miner_uid": 2,
                                                 "kind": "score", "value": 0.5}]):
        fig = F.build_routing(events)
        assert annotations(fig) == ["no queries yet"]
        assert len(fig.data) == 0  # no empty Sankey: plotly.js (and Voila's widget manager) fail on one
    assert annotations(F.build_routing(make_log())) == []


def test_routing_highlight_brightens_that_uids_links():
    plain = F.build_routing(make_log()).data[0]
    lit = F.build_routing(make_log(), highlight=3).data[0]
    lab = list(lit.node.label)
    m3 = lab.index("M3")
    for k, (t, color) in enumerate(zip(lit.link.target, lit.link.color)):
        assert alpha(color) == (0.85 if t == m3 else 0.18)
        assert alpha(plain.link.color[k]) == 0.55
    assert lit.node.line.width[m3] == 2.0 and lit.node.line.width[0] < 2.0


# ---------------------------------------------------------------------------------------------- scores

def test_scores_one_line_per_validator_miner_pair():
    fig = F.build_scores(make_log())
    names = [t.name for t in fig.data]
    assert names == [f"V{v}→M{m}" for v in VALIDATORS for m in MINERS]
    line = fig.data[names.index("V1→M6")]
    assert list(line.x) == list(range(10, 20))
    assert np.allclose(line.y, [0.6 + 0.01 * b + 1 for b in range(10, 20)])
    assert line.legendgroup == "V1" and line.legendgrouptitle.text == "validator 1"
    assert fig.layout.xaxis.title.text == "block"


def test_scores_cap_keeps_highlighted_lines_and_says_so():
    fig = F.build_scores(make_log(), max_lines=4, highlight=2)
    names = [t.name for t in fig.data]
    assert len(names) == 4 and {"V0→M2", "V1→M2"} <= set(names)
    assert "top 4 of 12 lines" in fig.layout.title.text
    widths = {t.name: t.line.width for t in fig.data}
    assert set(widths) == {"V0→M2", "V1→M2", "V1→M7", "V1→M6"}  # then the best latest scores
    assert widths["V0→M2"] > widths["V1→M7"]
    assert {t.opacity for t in fig.data if "M2" not in t.name} == {0.4}


def test_scores_empty():
    fig = F.build_scores([])
    assert len(fig.data) == 0 and annotations(fig) == ["no scores yet"]


# ---------------------------------------------------------------------------------------------- weights

def test_weights_heatmap_is_the_weight_rows_with_consensus_and_clipping():
    mg = make_mg()
    fig = F.build_weights(mg)
    clipped_bar, consensus, heat = fig.data
    rows = [0, 1, N - 1]  # the permits and uid 7, which set weights without a permit
    assert np.array_equal(np.asarray(heat.z), mg.W[rows])
    assert list(heat.y) == ["uid 0", "uid 1", f"uid {N - 1}"] and list(heat.x) == [f"uid {u}" for u in range(N)]
    assert np.allclose(consensus.y, mg.C)
    clipped = np.maximum(mg.W[rows] - mg.C, 0)
    assert np.allclose(clipped_bar.y, clipped.sum(axis=0))
    assert np.allclose(np.asarray(heat.customdata)[..., 0], clipped)
    assert "block 120" in fig.layout.title.text


def test_weights_highlight_boxes_the_uid():
    fig = F.build_weights(make_mg(), highlight=1)
    boxes = {(s.xref, s.yref): (s.x0, s.x1, s.y0, s.y1) for s in fig.layout.shapes}
    assert boxes[("x2", "y3 domain")][:2] == (0.5, 1.5)  # column of uid 1
    assert boxes[("x2 domain", "y3")][2:] == (0.5, 1.5)  # its row
    assert len(F.build_weights(make_mg(), highlight=4).layout.shapes) == 1  # a miner: its column only
    assert len(F.build_weights(make_mg()).layout.shapes) == 0
    colors = fig.data[0].marker.color
    assert alpha(colors[1]) == 1.0 and alpha(colors[2]) == 0.4


def test_weights_with_a_real_metagraph_and_empty_ones():
    mg = real_metagraph()
    assert np.array_equal(np.asarray(F.build_weights(mg).data[2].z), mg.W[[0, 1, N - 1]])
    assert annotations(F.build_weights(Metagraph(1))) == ["no neurons yet"]
    quiet = make_mg()
    quiet.W = np.zeros((N, N))
    fig = F.build_weights(quiet)
    assert annotations(fig) == ["no weights set yet"] and list(fig.data[2].y) == ["uid 0", "uid 1"]


# ---------------------------------------------------------------------------------------------- emission, stake

def test_emission_bars_are_incentive_dividends_and_emission():
    mg = make_mg()
    fig = F.build_emission(mg, highlight=2)
    inc, div, em = fig.data
    assert np.allclose(inc.y, mg.I) and np.allclose(div.y, mg.D) and np.allclose(em.y, mg.E)
    assert list(em.x) == [f"uid {u}" for u in range(N)]
    assert em.yaxis == "y2" and "TAO" in fig.layout.yaxis2.title.text
    assert em.marker.line.width[2] == 2.0 and em.marker.line.width[3] == 0.0
    assert em.marker.color[2] != F.build_emission(mg).data[2].marker.color[2]
    assert annotations(F.build_emission(Metagraph(1))) == ["no neurons yet"]


def test_stake_bars_mark_validators_and_show_balances():
    mg = real_metagraph()
    fig = F.build_stake(mg)
    bars, permits = fig.data
    assert np.allclose(bars.y, mg.S)
    assert list(permits.x) == ["uid 0", "uid 1"] and np.allclose(permits.y, mg.S[:2])
    with_balances = F.build_stake(mg, balances={"alice": 12.5, "bob": 3.0}, highlight=0)
    bal = with_balances.data[2]
    assert list(bal.y) == ["alice", "bob"] and list(bal.x) == [12.5, 3.0]
    assert with_balances.data[0].marker.line.width[0] == 2.0
    assert annotations(F.build_stake(Metagraph(1))) == ["no neurons yet"]


# ---------------------------------------------------------------------------------------------- cumulative

def test_cumulative_emission_top_of_the_stack_is_all_emission():
    history = make_history()
    fig = F.build_cumulative_emission(history)
    assert [t.name for t in fig.data] == [f"uid {u}" for u in range(N)]
    assert all(t.stackgroup == "E" for t in fig.data)
    assert sum(t.y[-1] for t in fig.data) == pytest.approx(history["E"].sum())
    assert np.allclose(fig.data[3].y, np.cumsum([1.5 + e for e in range(5)]))
    assert list(fig.data[0].x) == [0, 100, 200, 300, 400]


def test_cumulative_emission_counts_each_epoch_once():
    per_epoch, per_block = make_history(), make_history(every_block=4)
    assert snapshot(F.build_cumulative_emission(per_block)) == snapshot(F.build_cumulative_emission(per_epoch))
    # no epoch column: each block is an epoch
    bare = per_epoch[["block", "uid", "E"]]
    assert sum(t.y[-1] for t in F.build_cumulative_emission(bare).data) == pytest.approx(bare["E"].sum())


def test_cumulative_emission_folds_small_earners_and_keeps_highlight():
    history = make_history(n=30)
    fig = F.build_cumulative_emission(history, max_uids=5, highlight=0)
    names = [t.name for t in fig.data]
    assert names == ["uid 0", "uid 25", "uid 26", "uid 27", "uid 28", "uid 29", "other uids"]
    assert sum(t.y[-1] for t in fig.data) == pytest.approx(history["E"].sum())
    assert fig.data[0].line.width > fig.data[1].line.width


def test_cumulative_emission_empty():
    fig = F.build_cumulative_emission(make_history().iloc[:0])
    assert len(fig.data) == 0 and annotations(fig) == ["no epochs recorded yet"]


# ---------------------------------------------------------------------------------------------- update == build

def _panel_cases():
    log_a, log_b = make_log(range(10, 14)), make_log(range(10, 20))
    mg_a, mg_b = make_mg(seed=1), make_mg(seed=2, block=130)
    hist_a, hist_b = make_history(epochs=2), make_history(epochs=5)
    return {
        "routing": (F.build_routing, F.update_routing, log_a.since(0)[0], log_b.to_pandas(), {"last_steps": 5}),
        "scores": (F.build_scores, F.update_scores, log_a.since(0)[0], log_b.since(0)[0], {}),
        "weights": (F.build_weights, F.update_weights, mg_a, mg_b, {}),
        "emission": (F.build_emission, F.update_emission, mg_a, mg_b, {}),
        "cumulative_emission": (F.build_cumulative_emission, F.update_cumulative_emission, hist_a, hist_b, {}),
        "stake": (F.build_stake, F.update_stake, mg_a, mg_b, {"balances": {"alice": 1.0}}),
    }


def _empty_like(data):
    if isinstance(data, pd.DataFrame):
        return data.iloc[:0]
    if isinstance(data, list):
        return []
    return Metagraph(1)


PANELS = list(_panel_cases())


@pytest.mark.parametrize("panel", PANELS)
@pytest.mark.parametrize("kind", [go.Figure, go.FigureWidget])
def test_update_equals_build(panel, kind):
    build, update, a, b, kw = _panel_cases()[panel]
    want = snapshot(build(b, highlight=3, **kw))
    for start in (a, _empty_like(a)):
        fig = kind(build(start, **kw))
        update(fig, b, highlight=3, **kw)
        assert snapshot(fig) == want
        update(fig, start, **kw)  # and back, with the highlight cleared
        assert snapshot(fig) == snapshot(build(start, **kw))


@pytest.mark.parametrize("panel", PANELS)
def test_update_keeps_trace_objects_when_uids_stay(panel):
    build, update, a, b, kw = _panel_cases()[panel]
    fig = go.FigureWidget(build(a, **kw))
    before = list(fig.data)
    update(fig, b, highlight=2, **kw)
    assert len(fig.data) == len(before) and all(x is y for x, y in zip(fig.data, before))


def test_update_adds_and_drops_only_the_traces_of_changed_uids():
    fig = go.FigureWidget(F.build_cumulative_emission(make_history(n=6)))
    kept = {t.name: t for t in fig.data}
    F.update_cumulative_emission(fig, make_history(n=8))
    assert [t.name for t in fig.data] == [f"uid {u}" for u in range(8)]
    assert all(fig.data[u] is kept[f"uid {u}"] for u in range(6))
    F.update_cumulative_emission(fig, make_history(n=4))
    assert [t.name for t in fig.data] == [f"uid {u}" for u in range(4)]
    assert all(fig.data[u] is kept[f"uid {u}"] for u in range(4))


def test_stake_switches_layout_when_balances_come_and_go():
    mg = make_mg()
    fig = go.FigureWidget(F.build_stake(mg))
    F.update_stake(fig, mg, balances={"alice": 2.0})
    assert snapshot(fig) == snapshot(F.build_stake(mg, balances={"alice": 2.0}))
    F.update_stake(fig, mg)
    assert snapshot(fig) == snapshot(F.build_stake(mg))


# ---------------------------------------------------------------------------------------------- the rest

def test_every_panel_has_a_build_and_update_pair():
    for panel in ("routing", "scores", "weights", "emission", "cumulative_emission", "stake"):
        assert callable(getattr(F, f"build_{panel}")) and callable(getattr(F, f"update_{panel}"))
    assert all(hasattr(F, name) for name in F.__all__)


def test_figures_share_the_house_theme():
    figs = [F.build_routing([]), F.build_scores([]), F.build_weights(make_mg()), F.build_emission(make_mg()),
            F.build_cumulative_emission(make_history()), F.build_stake(make_mg()), F.empty_figure("x")]
    for fig in figs:
        assert 300 <= fig.layout.height <= 380
        assert fig.layout.margin.t <= 70 and fig.layout.template.layout.paper_bgcolor == "white"


def test_empty_figure():
    fig = F.empty_figure("connecting to the chain…")
    assert len(fig.data) == 0 and annotations(fig) == ["connecting to the chain…"]
    assert fig.layout.xaxis.visible is False


def test_static_html_is_self_contained(tmp_path):
    path = tmp_path / "dashboard.html"
    body = "".join(pio.to_html(fig, include_plotlyjs=True, full_html=False)
                   for fig in (F.build_routing(make_log()), F.build_weights(make_mg(), highlight=1)))
    path.write_text(f"<html><body>{body}</body></html>", encoding="utf-8")
    html = path.read_text(encoding="utf-8")
    assert "Plotly.newPlot" in html and "V0" in html
    assert not re.search(r"<script[^>]*\bsrc=[\"'][^\"']*cdn", html, flags=re.IGNORECASE)
