"""Scenarios as data: checked, round-tripped through JSON, named in a library, run on a real devnet,
and their results drawn by pure figure functions."""

import json

import numpy as np

import pandas as pd
import pytest

from tao_lab import InputError
from tao_lab.scenarios import LIBRARY, Scenario, build_scenario, build_sweep, library


def test_a_scenario_is_checked_data_that_round_trips():
    s = library("copier", guard=True, copiers=2, seed=3, epochs=4, kappa=20_000)
    assert s.name == "copier_guarded" and s.seed == 3 and s.epochs == 4 and s.hyperparameters == {"kappa": 20_000}
    copier = next(g for g in s.miners if g["group"] == "copier")
    assert copier["n"] == 2 and copier["behaviour"] == {"kind": "copier", "target": "honest0"}
    assert all(g.get("dedupe") for g in s.validators)
    again = Scenario.from_json(s.to_json())
    assert again == s and json.loads(again.to_json()) == json.loads(s.to_json())
    changed = s.replace(seed=4, hyperparameters={"tempo": 5})
    assert changed.seed == 4 and changed.hyperparameters == {"kappa": 20_000, "tempo": 5} and s.seed == 3


@pytest.mark.parametrize("kwargs,match", [
    ({"epochs": 0}, "epochs >= 1"),
    ({"seed": 1.5}, "integer seed"),
    ({"miners": [{"n": -1}]}, "count >= 0"),
    ({"miners": "two"}, "list of miner groups"),
    ({"miners": [{"group": "a"}, {"group": "a"}]}, "two miner groups are named 'a'"),
    ({"miners": [{"group": "x"}], "validators": [{"group": "x"}]}, "must differ"),
    ({"hyperparameters": [1]}, "expected a dict"),
])
def test_bad_scenarios_are_refused(kwargs, match):
    with pytest.raises(InputError, match=match):
        Scenario(**kwargs)


def test_unknown_fields_and_names_are_refused():
    with pytest.raises(InputError, match="unknown scenario fields \\['speed'\\]"):
        Scenario.from_dict({"speed": 2})
    with pytest.raises(InputError, match="not JSON"):
        Scenario.from_json("{nope")
    with pytest.raises(InputError, match="unknown scenario 'copy'"):
        library("copy")
    assert {"noise", "copier", "sybil", "collusion", "weight_copier", "lazy_miner", "flaky"} <= set(LIBRARY)


def test_a_specialist_trains_on_its_domain_only():
    from tao_lab.scenarios import behaviour_spec, build_miner
    from tao_lab.tasks import stdlib_source

    with pytest.raises(InputError, match="needs a 'domain'"):
        behaviour_spec({"kind": "specialist", "domain": "poetry"}, "miner")
    from tao_lab import Wallet

    miner = build_miner({"kind": "specialist", "domain": "code"}, Wallet.dev("//Charlie"), None, 1, model="tiny")
    corpus = np.frombuffer(stdlib_source().encode()[:500], dtype=np.uint8)
    assert miner.task.name == "next_token" and (miner.task.tokens[:500] == corpus).all()  # trains on code only
    assert library("specialists").miners[1]["behaviour"] == {"kind": "specialist", "domain": "code"}


def test_seeds_differ_per_neuron_and_follow_the_scenario_seed():
    s = library("sybil", sybils=3, seed=7)
    seeds = [s._seeded(g, i)["seed"] for i, g in enumerate(s.miners)]
    flat = [x for group in seeds for x in group]
    assert len(set(flat)) == len(flat) == 4
    assert [s.replace(seed=8)._seeded(g, i)["seed"] for i, g in enumerate(s.miners)] != seeds


def _table():
    return pd.DataFrame({
        "run": [0, 0, 0, 1, 1, 1], "name": ["honest0", "copier0", "validator0"] * 2,
        "role": ["miner", "miner", "validator"] * 2, "group": ["honest", "copier", "validator"] * 2,
        "behaviour": ["honest", "copier", "honest"] * 2, "uid": [1, 2, 3] * 2,
        "emission": [0.6, 0.4, 1.0, 0.9, 0.1, 1.0], "miner_share": [0.6, 0.4, 0.0, 0.9, 0.1, 0.0],
        "guard": [False] * 3 + [True] * 3, "seed": [0] * 6,
    })


def test_build_scenario_draws_each_neuron_in_its_behaviours_colour():
    fig = build_scenario(_table()[lambda t: t["run"] == 0])
    assert [t.name for t in fig.data] == ["honest", "copier"]
    honest = fig.data[0]
    assert list(honest.x) == ["honest0 (m)", "validator0 (v)"] and list(honest.y) == [0.6, 1.0]
    assert fig.data[1].marker.color == "#d62728" and fig.layout.yaxis.title.text == "TAO"
    with pytest.raises(InputError, match="no column 'nope'"):
        build_scenario(_table(), value="nope")


def test_build_sweep_plots_each_groups_mean_share_against_the_parameter():
    fig = build_sweep(_table(), x="guard")
    lines = {t.name: t for t in fig.data}
    assert set(lines) == {"honest", "copier"}  # miners only
    assert list(lines["copier"].x) == [False, True] and list(lines["copier"].y) == pytest.approx([0.4, 0.1])
    assert "guard" in fig.layout.title.text and fig.layout.xaxis.title.text == "guard"
    assert build_sweep(pd.DataFrame(), x="guard").layout.title.text == "no successful runs"


def test_a_small_scenario_runs_on_a_devnet_and_reports(tmp_path):
    s = Scenario(miners=[{"n": 1, "group": "honest", "pretrain": 40}, {"n": 1, "group": "noise", "behaviour": "noise"}],
                 validators=[{"n": 1, "group": "validator", "stake": 500, "k": 2, "explore": 0.0}],
                 hyperparameters={"tempo": 6}, epochs=3, seed=1, name="tiny")
    result = s.run(report=tmp_path / "tiny.html")
    t = result.table.set_index("name")
    assert list(t.index) == ["honest0", "noise0", "validator0"]
    assert t.loc["honest0", "behaviour"] == "honest" and t.loc["noise0", "behaviour"] == "noise"
    assert t.loc["validator0", "role"] == "validator" and t.loc["validator0", "emission"] > 0
    assert result.share("honest") + result.share("noise") == pytest.approx(1.0)
    assert result.earned("honest0") > result.earned("noise0")
    assert (tmp_path / "tiny.html").stat().st_size > 1_000_000  # a lab report, plotly.js inlined
    with pytest.raises(InputError, match="no group 'copier'"):
        result.share("copier")


def test_a_weight_copier_works_under_commit_reveal():
    """With commit-reveal on, the weight copier commits and reveals like an honest validator: its
    copied weights reach the chain (revealed) and earn it dividends."""
    s = library("weight_copier", commit_reveal=True, epochs=4)
    assert s.hyperparameters == {"commit_reveal_weights_enabled": True}
    result = s.run()
    t = result.table.set_index("name")
    # what it earned over the run (the last epoch alone may fall between a commit and its reveal)
    assert t.loc["copycat0", "emission"] > 0, t
    assert t.loc["validator0", "emission"] > 0 and t.loc["validator1", "emission"] > 0, t
