"""The Yuma explainer: its figures show `tao_lab.consensus.epoch`'s numbers, its controls recompute
the epoch and update the FigureWidgets in place, and it needs no kernel.

The worked example (docs/explainer.md): validators uid 0 (700 TAO) and uid 1 (300 TAO, the outlier),
miners 2, 3, 4. Validator 0 weights them 0.5 / 0.3 / 0.2; validator 1 pushes miner 4: 0.1 / 0.1 / 0.8.
With kappa 0.5 validator 0 alone holds the majority, so consensus is its row; above kappa 0.7 nobody
does, and on miners 2 and 3 consensus falls to the outlier's 0.1; below kappa 0.3 the outlier's 0.8
on miner 4 becomes consensus.
"""

import functools
import json
import re
import time
from types import SimpleNamespace

import numpy as np
import plotly.graph_objects as go
import pytest

from tao_lab.consensus import EpochParams, epoch
from tao_lab.errors import InputError
from tao_lab.widgets import Explainer
from tao_lab.widgets import explain_figures as F
from tao_lab.widgets.explainer import _bench_subnet, bench_rows, params_from_hyperparameters

TAO = 10**9
STAKE = [700 * TAO, 300 * TAO, 0, 0, 0]
WEIGHTS = [[0, 0, 0.5, 0.3, 0.2], [0, 0, 0.1, 0.1, 0.8], [0] * 5, [0] * 5, [0] * 5]
U16_ROWS = [[(2, 65535), (3, 39321), (4, 26214)], [(2, 8192), (3, 8192), (4, 65535)], [], [], []]
PERMITS = [True, True, False, False, False]


@pytest.fixture(scope="module")
def example():
    return Explainer(STAKE, WEIGHTS)


def trace(fig, name):
    (t,) = [t for t in fig.data if t.name == name]
    return t


def snapshot(fig):
    data = json.loads(fig.to_json())
    for t in data["data"]:
        t.pop("uid", None)
    return data


# ---------------------------------------------------------------------------------------------- the maths


def test_worked_example_consensus_follows_kappa_as_the_median_says():
    ex = Explainer(STAKE, WEIGHTS)

    def consensus(kappa):
        return ex.update(kappa=kappa).consensus[2:]

    assert consensus(0.5) == pytest.approx([0.5, 0.3, 0.2], abs=1e-4)  # validator 0 holds the majority
    assert consensus(0.8) == pytest.approx([0.1, 0.1, 0.2], abs=1e-4)  # nobody does: the lower weight wins
    assert consensus(0.2) == pytest.approx([0.5, 0.3, 0.8], abs=1e-4)  # a 30% minority suffices: the outlier


def test_the_explainer_result_is_the_epoch_for_every_weights_form(example):
    direct = epoch(STAKE, U16_ROWS, None, PERMITS)
    for weights in (WEIGHTS, U16_ROWS, np.array(WEIGHTS), np.array([[0, 0, 65535, 39321, 26214],
                                                                     [0, 0, 8192, 8192, 65535]] + [[0] * 5] * 3)):
        r = Explainer(STAKE, weights, permits=PERMITS).result if weights is not WEIGHTS else example.result
        for name in ("consensus_u16", "incentive_u16", "dividends_u16", "validator_trust_u16", "emission"):
            assert np.array_equal(getattr(r, name), getattr(direct, name)), name
    assert example.result.validator_permits.tolist() == PERMITS  # default permits: the uids that set weights


def test_update_kappa_recomputes_and_says_what_changed():
    ex = Explainer(STAKE, WEIGHTS, focus=2)
    old = ex.result
    r = ex.update(kappa=0.8)
    assert r is ex.result and r is not old and ex.params.kappa == round(0.8 * 65535)
    want = epoch(STAKE, U16_ROWS, None, PERMITS, EpochParams(kappa=52428))
    assert np.array_equal(r.consensus_u16, want.consensus_u16) and np.array_equal(r.emission, want.emission)
    text = ex.text.value
    assert text.startswith("kappa 0.50 → 0.80: consensus on uid 2 drops from 0.50 to 0.10")
    assert "validator 0 loses 60% trust" in text  # 0.5 + 0.3 + 0.2 clipped to 0.1 + 0.1 + 0.2
    assert ex.update(kappa=0.8) is r and "nothing changed" in ex.text.value


# ---------------------------------------------------------------------------------------------- figures show the result


def test_median_figure_marks_consensus_where_the_stake_line_crosses(example):
    r = example.result
    for miner, kappa in ((2, 0.5), (4, 0.5), (2, 0.8), (4, 0.2)):
        res = epoch(STAKE, U16_ROWS, None, PERMITS, EpochParams(kappa=round(kappa * 65535)))
        fig = F.build_median(res, STAKE, miner, kappa)
        c = trace(fig, "consensus C")
        assert c.y[1] == res.consensus[miner] and c.x[1] == pytest.approx(1 - kappa)
        bars = trace(fig, "validators' weights")
        right = np.asarray(bars.x) + np.asarray(bars.width) / 2
        crossing = int(np.flatnonzero(right > 1 - kappa)[0])
        assert bars.y[crossing] == pytest.approx(res.consensus[miner], abs=1e-9)
        assert list(bars.y) == sorted(bars.y)
        order = [int(label.split()[1]) for label in bars.text]
        assert order == ([1, 0] if miner == 2 else [0, 1])  # sorted by weight on the miner
        assert np.asarray(bars.width) == pytest.approx(r.active_stake[order])  # each bar as wide as its stake


def test_clipping_trust_incentive_figures_equal_the_epoch(example):
    r, cols = example.result, np.arange(5)
    for v in (0, 1):
        fig = F.build_clipping(r, v)
        assert np.array_equal(trace(fig, "kept: W̄ = min(W, C)").y, r.clipped_weights[v])
        assert np.array_equal(trace(fig, "cut off: W − W̄").y, r.weights[v] - r.clipped_weights[v])
        assert np.array_equal(trace(fig, "consensus C").y, r.consensus)
        assert np.array_equal(np.asarray(trace(fig, "cut off, every validator").z),
                              (r.weights - r.clipped_weights)[[0, 1]])
    trust = F.build_trust(r)
    assert np.array_equal(trace(trust, "validator trust Tv = Σ W̄").y, r.validator_trust[[0, 1]])
    assert list(trace(trust, "validator trust Tv = Σ W̄").x) == ["uid 0", "uid 1"]
    inc = F.build_incentive(r)
    assert np.array_equal(trace(inc, "incentive I = R / ΣR").y, r.incentive[cols])
    stacked = sum(np.asarray(t.y) for t in inc.data if t.name.startswith("from validator"))
    assert stacked == pytest.approx(r.ranks, abs=1e-8)


def test_bonds_dividends_emission_figures_equal_the_epoch():
    first = Explainer(STAKE, WEIGHTS, params=EpochParams(yuma3=True, liquid_alpha=True)).result
    ex = Explainer(STAKE, WEIGHTS, first.new_bonds, params=EpochParams(yuma3=True, liquid_alpha=True, kappa=52428))
    r = ex.result
    fig = ex.figures["bonds"]  # the widget's own figure, for its focus validator
    v = ex.validator
    assert np.array_equal(trace(fig, "old bonds B").y, first.new_bonds[v] / 65535)
    assert np.array_equal(trace(fig, "weights for bonds").y, r.weights_for_bonds[v])
    assert np.array_equal(trace(fig, "new bonds").y, r.new_bonds[v] / 65535)
    assert np.array_equal(trace(fig, "EMA alpha per entry").y, r.liquid_alphas[v])
    ex.update(liquid_alpha=False)
    assert list(trace(fig, "EMA alpha per entry").y) == pytest.approx([0.1] * 5)
    r = ex.result
    div = ex.figures["dividends"]
    assert np.array_equal(trace(div, "dividends D").y, r.dividends[[0, 1]])
    assert np.array_equal(trace(div, "active stake share A").y, r.active_stake[[0, 1]])
    em = ex.figures["emission"]
    assert np.array_equal(trace(em, "server emission (incentive)").y, r.server_emission / 1e9)
    assert np.array_equal(trace(em, "validator emission (dividends)").y, r.validator_emission / 1e9)


@functools.lru_cache(maxsize=1)
def _cases():
    """Two states per figure, differing in data, focus and (for incentive) the set of validators."""
    a = epoch(STAKE, U16_ROWS, None, PERMITS)
    bonds = a.new_bonds
    b = epoch(STAKE, U16_ROWS, bonds, PERMITS, EpochParams(kappa=52428, yuma3=True, liquid_alpha=True))
    c = epoch([5 * TAO] * 3 + [0, 0], U16_ROWS[:2] + [[(0, 65535), (1, 65535), (3, 30000), (4, 30000)], [], []],
              None, [True, True, True, False, False])
    zero = np.zeros((5, 5))
    return {
        "median": (F.build_median, F.update_median, (a, STAKE, 2, 0.5), (b, STAKE, 4, 0.8), {}),
        "clipping": (F.build_clipping, F.update_clipping, (a, 0), (c, 2), {"uids": [2, 3, 4]}),
        "trust": (F.build_trust, F.update_trust, (a,), (c,), {"highlight": 1}),
        "incentive": (F.build_incentive, F.update_incentive, (a,), (c,), {"highlight": 0}),
        "bonds": (F.build_bonds, F.update_bonds, (a, 0, zero, 0.1), (b, 1, bonds, 0.3), {}),
        "dividends": (F.build_dividends, F.update_dividends, (a,), (c,), {"highlight": 1}),
        "emission_split": (F.build_emission_split, F.update_emission_split, (a,), (b,), {"highlight": 3}),
    }


STEPS = ["median", "clipping", "trust", "incentive", "bonds", "dividends", "emission_split"]


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("kind", [go.Figure, go.FigureWidget])
def test_update_equals_build(step, kind):
    build, update, a, b, kw = _cases()[step]
    fig = kind(build(*a))
    before = list(fig.data)
    update(fig, *b, **kw)
    assert snapshot(fig) == snapshot(build(*b, **kw))
    update(fig, *a)
    assert snapshot(fig) == snapshot(build(*a))
    if step != "incentive":  # the same traces, reassigned (incentive has one trace per validator)
        assert all(x is y for x, y in zip(fig.data, before)) and len(fig.data) == len(before)


# ---------------------------------------------------------------------------------------------- the widget


def test_widget_works_without_a_kernel_and_updates_in_place():
    ex = Explainer(STAKE, WEIGHTS, focus=3)
    assert isinstance(ex, __import__("ipywidgets").VBox) and ex.miner == 3 and ex.validator == 0
    figures = dict(ex.figures)
    traces = {k: list(f.data) for k, f in figures.items()}
    assert all(isinstance(f, go.FigureWidget) for f in figures.values())
    ex.update(kappa=0.6)
    assert ex.figures == figures and all(list(f.data) == traces[k] for k, f in figures.items())
    assert trace(ex.figures["median"], "consensus C").y[1] == ex.result.consensus[3]
    assert trace(ex.figures["median"], "1 − kappa (stake line)").x[0] == pytest.approx(1 - 39321 / 65535)
    assert np.array_equal(trace(ex.figures["clipping"], "kept: W̄ = min(W, C)").y, ex.result.clipped_weights[0])
    ex.update(validator=1, miner=4)
    assert np.array_equal(trace(ex.figures["clipping"], "kept: W̄ = min(W, C)").y, ex.result.clipped_weights[1])
    assert "miner uid 4" in ex.figures["median"].layout.title.text
    assert ex.miner_select.value == 4 and ex.validator_select.value == 1


def test_controls_recompute_through_their_observers():
    ex = Explainer(STAKE, WEIGHTS, focus=2)
    before = ex.result
    ex.sliders["kappa"].value = 0.8
    assert ex.result is not before and ex.params.kappa == 52428
    assert ex.result.consensus[2] == pytest.approx(0.1, abs=1e-4) and "kappa 0.50 → 0.80" in ex.text.value
    ex.sliders["bonds_penalty"].value = 0.0
    assert ex.params.bonds_penalty == 0
    assert np.array_equal(ex.result.weights_for_bonds, ex.result.weights)  # no penalty: bonds follow W
    ex.sliders["bonds_moving_average"].value = 0.5
    assert ex.params.bonds_moving_average == 500_000
    assert ex.liquid_box.disabled and ex.alpha_range.layout.display == "none"
    ex.yuma3_box.value = True
    assert ex.params.yuma3 and not ex.liquid_box.disabled
    ex.liquid_box.value = True
    assert ex.params.liquid_alpha and ex.result.liquid_alphas is not None and ex.alpha_range.layout.display == ""
    ex.alpha_range.value = (0.2, 0.4)
    assert (ex.params.alpha_low, ex.params.alpha_high) == (round(0.2 * 65535), round(0.4 * 65535))
    assert ex.result.liquid_alphas[0, 2:].max() <= 0.4 + 1e-9
    ex.miner_select.value = 4
    assert ex.miner == 4 and trace(ex.figures["median"], "consensus C").y[1] == ex.result.consensus[4]


def test_a_slider_drawn_at_its_step_changes_nothing():
    """A browser draws kappa 32767 (0.499992) at the slider's 0.50 and sends 0.50 back, and the alpha
    range likewise: merely showing the widget must not change the epoch (it did, to kappa 32768)."""
    ex = Explainer(STAKE, WEIGHTS, params=EpochParams(yuma3=True, liquid_alpha=True))
    before, text = ex.result, ex.text.value
    assert ex.params.kappa == 32767 and ex.params.alpha_low == 45875
    ex.sliders["kappa"].value = 0.5  # what the front end sends when it first draws the slider
    ex.sliders["bonds_moving_average"].value = 0.9
    ex.alpha_range.value = (0.70, 0.90)
    assert ex.params.kappa == 32767 and (ex.params.alpha_low, ex.params.alpha_high) == (45875, 58982)
    assert ex.result is before and ex.text.value == text
    ex.sliders["kappa"].value = 0.51  # one step is a move
    assert ex.params.kappa == round(0.51 * 65535) and ex.text.value.startswith("kappa 0.50 → 0.51")


def test_hiding_the_alpha_range_hides_no_other_slider():
    """The alpha range hides by its layout; the sliders once shared it, and showed nowhere without liquid alpha."""
    ex = Explainer(STAKE, WEIGHTS)
    assert ex.alpha_range.layout.display == "none"
    assert all(s.layout.display in (None, "") for s in ex.sliders.values())
    assert len({id(s.layout) for s in (*ex.sliders.values(), ex.alpha_range)}) == 4


def test_update_sets_the_controls_and_rejects_bad_values():
    ex = Explainer(STAKE, WEIGHTS)
    ex.update(kappa=0.7, yuma3=True, bonds_moving_average=0.975)
    assert ex.sliders["kappa"].value == pytest.approx(0.7, abs=1e-4) and ex.yuma3_box.value
    assert ex.sliders["bonds_moving_average"].value == pytest.approx(0.975, abs=1e-6) and ex.params.bonds_moving_average == 975_000
    for bad in ({"kappa": 1.5}, {"kappa": "0.5"}, {"gamma": 0.1}, {"miner": 9}, {"alpha_low": 0.95}):
        with pytest.raises(InputError):
            ex.update(**bad)
    assert ex.params.kappa == round(0.7 * 65535)  # a refused update changes nothing
    with pytest.raises(InputError):
        Explainer(STAKE, [[0.5, 0.5]])


def test_from_metagraph_uses_stored_arrays():
    n = 5
    w16 = np.zeros((n, n), dtype=np.uint16)
    w16[0, 2:], w16[1, 2:] = [65535, 39321, 26214], [8192, 8192, 65535]
    mg = SimpleNamespace(stake_rao=np.array(STAKE), weights_u16=w16, bonds_u16=np.zeros((n, n), dtype=np.uint16),
                         validator_permit=np.array(PERMITS), last_update=np.full(n, 50), block_at_registration=np.zeros(n),
                         block=60, tempo=10, last_epoch_block=50, emission_rao=np.zeros(n, dtype=np.int64))
    ex = Explainer.from_metagraph(mg)
    assert ex.params.tempo == 10 and ex.emission_rao == TAO
    assert np.array_equal(ex.result.consensus_u16, epoch(STAKE, U16_ROWS, None, PERMITS).consensus_u16)


def test_params_from_hyperparameters():
    hp = {"tempo": 360, "kappa": 40000, "bonds_moving_avg": 975_000, "bonds_penalty": 0, "yuma3_enabled": True,
          "liquid_alpha_enabled": True, "alpha_values": (1638, 30000), "alpha_sigmoid_steepness": 500,
          "max_allowed_validators": 8, "activity_cutoff_factor_milli": 13889, "commit_reveal_weights_enabled": True}
    p = params_from_hyperparameters(hp, owner_uid=0)
    assert p == EpochParams(kappa=40000, bonds_penalty=0, bonds_moving_average=975_000, yuma3=True, liquid_alpha=True,
                            alpha_low=1638, alpha_high=30000, alpha_sigmoid_steepness=500, max_allowed_validators=8,
                            activity_cutoff=5000, tempo=360, commit_reveal=True, owner_uid=0)


def test_from_chain_reproduces_the_chains_epoch():
    """On a real devnet, the explainer of the block before an epoch computes what the chain stored."""
    from substrateinterface import Keypair

    from tao_lab.client.metagraph import Metagraph
    from tao_lab.client.subtensor import Subtensor
    from tao_lab.node.devnet import Devnet

    def submit(si, keypair, function, **params):
        ext = si.create_signed_extrinsic(si.compose_call("SubtensorModule", function, params), keypair=keypair)
        assert si.submit_extrinsic(ext, wait_for_inclusion=True).is_success, function

    with Devnet(instant=True) as dev, Subtensor(dev) as sub:
        si = sub.substrate
        charlie, dave = Keypair.create_from_uri("//Charlie"), Keypair.create_from_uri("//Dave")
        miners = [Keypair.create_from_uri(f"//Charlie//m{i}") for i in range(3)]
        validators = [Keypair.create_from_uri(f"//Dave//v{i}") for i in range(2)]
        for hk in miners:
            submit(si, charlie, "burned_register", netuid=1, hotkey=hk.ss58_address)
        for hk, stake in zip(validators, (700 * TAO, 300 * TAO)):
            submit(si, dave, "burned_register", netuid=1, hotkey=hk.ss58_address)
            submit(si, dave, "add_stake", hotkey=hk.ss58_address, netuid=1, amount_staked=stake)
        si.rpc_request("dev_nextEpoch", [1])  # permits
        uids = [sub.uid(1, m) for m in miners]
        for v, row in zip(validators, ([65535, 39321, 26214], [8192, 8192, 65535])):
            submit(si, v, "set_weights", netuid=1, dests=uids, weights=row, version_key=0)
        si.rpc_request("dev_nextEpoch", [1])
        si.rpc_request("dev_nextEpoch", [1])  # a second epoch with bonds from the first
        after = Metagraph(1).sync(sub)
        ex = Explainer.from_chain(sub, 1, block=after.last_epoch_block - 1)
        assert ex.params.yuma3 == sub.hyperparameters(1)["yuma3_enabled"]
        r = ex.result
        for mine, stored in ((r.consensus_u16, after.C), (r.incentive_u16, after.I), (r.dividends_u16, after.D)):
            assert mine.tolist() == np.round(stored * 65535).astype(int).tolist()
        assert np.array_equal(r.new_bonds, after.bonds_u16)
        ex.update(kappa=0.9)  # and it explains what a different kappa would have done
        assert ex.result.consensus[uids[0]] < r.consensus[uids[0]]


# ---------------------------------------------------------------------------------------------- speed


def test_a_slider_move_at_64_uids_is_fast():
    ex = _bench_subnet(64)
    ex.update(kappa=0.3)
    times = []
    for k in (0.4, 0.6, 0.45, 0.7, 0.5):
        t = time.perf_counter()
        ex.update(kappa=k)
        times.append(time.perf_counter() - t)
    assert sorted(times)[2] < 0.3  # the requirement is 100 ms; bench_rows reports the real figure


def test_bench_rows_labels_and_times():
    rows = bench_rows(sizes=(16,), repeats=3)
    assert [label for label, _ in rows] == ["update(kappa) in place, 16 uids",
                                            "rebuild 7 FigureWidgets (baseline), 16 uids"]
    assert all(ms > 0 for _, ms in rows)


def test_the_docs_example_runs_and_says_what_the_docs_say():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "explainer.md").read_text()
    scope: dict = {}
    exec(compile(re.search(r"```python\n(.*?)```", doc, re.S).group(1), "docs/explainer.md", "exec"), scope)
    ex = scope["ex"]
    assert ex.result.consensus[2:] == pytest.approx([0.1, 0.1, 0.2], abs=1e-4)
    said = ex.text.value.split("; ")
    assert said[0] + "; " + said[1] in re.sub(r"\s+", " ", doc)


# ---------------------------------------------------------------------------------------------- static output


def plotlyjs_copies(page: str) -> int:
    """How many times ``page`` inlines plotly.js (its bundle opens with a ``plotly.js v<version>`` banner)."""
    return len(re.findall(r"\* plotly\.js v\d", page))


def test_static_copy_shows_the_current_state_with_every_figure():
    ex = Explainer(STAKE, WEIGHTS, focus=2)
    ex.update(kappa=0.8)
    page = ex.static_html(include_plotlyjs=False)
    assert page.startswith("<div class='tao-lab-explainer-static'>")
    assert page.count("Plotly.newPlot") == len(ex.figures) == 7 and plotlyjs_copies(page) == 0
    assert "kappa 0.80 · bonds penalty 1.00" in page and "miner uid 2 · validator uid 0" in page
    assert ex.text.value in page and "kappa 0.50 → 0.80" in page  # the sentence about the last change
    for step in ("1 · Consensus", "4 · Ranks and incentive", "7 · Emission"):
        assert step in page
    # the figures are what the widgets hold now, not what they were built with
    c = trace(ex.figures["median"], "consensus C").y[1]
    assert c == pytest.approx(0.1, abs=1e-4) and json.dumps(c) in page
    full = ex.static_html(include_plotlyjs=True)
    assert plotlyjs_copies(full) == 1 and "<script src=" not in full  # inlined once, nothing fetched


def test_notebook_outputs_carry_plotlyjs_once_per_kernel():
    """Every bundle has the live view and a static copy; of all the copies a kernel writes (explainers,
    dashboards) at most one inlines plotly.js, the first, and the rest reuse it from the page."""
    from tao_lab.widgets._static import plotlyjs_once

    bundles = [Explainer(STAKE, WEIGHTS)._repr_mimebundle_() for _ in range(3)]
    for b in bundles:
        assert {"text/plain", "application/vnd.jupyter.widget-view+json", "text/html"} <= set(b)
        assert "tao-lab-explainer-static" in b["text/html"] and b["text/html"].count("Plotly.newPlot") == 7
    copies = [plotlyjs_copies(b["text/html"]) for b in bundles]
    assert copies in ([1, 0, 0], [0, 0, 0])  # [0, 0, 0]: an earlier test in this process took the first
    assert plotlyjs_once(None) is False and plotlyjs_once(True) is True and plotlyjs_once(False) is False
