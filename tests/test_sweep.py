"""`tao-lab sweep`: notebooks/sweep.ipynb over a grid, in local worker processes and on a local Dask
cluster with real worker processes; one table of every run's rows, a failed run reported while the
others are kept, and each run's executed notebook, CSV and report on disk."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tao_lab import InputError
from tao_lab.sweep import grid, parse_grid, run_sweep

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "sweep.ipynb"
FAST = {"epochs": 3}


def test_grids_are_parsed_and_checked():
    assert parse_grid(["kappa=0.3,0.5", "guard=true,false", "seed=0"]) == [
        {"kappa": 0.3, "guard": True, "seed": 0}, {"kappa": 0.3, "guard": False, "seed": 0},
        {"kappa": 0.5, "guard": True, "seed": 0}, {"kappa": 0.5, "guard": False, "seed": 0}]
    assert parse_grid(['name="a b",c']) == [{"name": "a b"}, {"name": "c"}]
    for bad, match in ((["kappa"], "NAME=V1,V2"), (["9x=1"], "NAME=V1,V2"), (["k=1", "k=2"], "given twice"),
                       (["k="], "NAME=V1,V2")):
        with pytest.raises(InputError, match=match):
            parse_grid(bad)
    with pytest.raises(InputError, match="non-empty list"):
        grid(kappa=[])


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        run_sweep(tmp_path / "nope.ipynb", [{"a": 1}], tmp_path)
    with pytest.raises(InputError, match="grid is empty"):
        run_sweep(NOTEBOOK, [], tmp_path)
    with pytest.raises(InputError, match="worker processes >= 1"):
        run_sweep(NOTEBOOK, [{"a": 1}], tmp_path, workers=0)


def check(result, n_ok: int, n_failed: int):
    runs = result.runs
    assert len(runs) == n_ok + n_failed and int(runs["ok"].sum()) == n_ok, runs.to_string()
    for _, run in runs.iterrows():
        assert Path(run["notebook"]).exists()  # kept, executed, even when the run failed
        if run["ok"]:
            assert Path(run["results"]).exists() and Path(run["report"]).stat().st_size > 1_000_000
    t = result.table
    assert set(t["run"]) == set(runs[runs["ok"]]["run"])
    assert {"name", "uid", "group", "role", "emission", "miner_share", "guard", "kappa"} <= set(t.columns)
    for _, rows in t.groupby("run"):
        assert rows.loc[rows["role"] == "miner", "miner_share"].sum() == pytest.approx(1.0)
    assert (result.out / "results.csv").exists() and (result.out / "runs.csv").exists()
    assert (result.out / "sweep.html").stat().st_size > 1_000_000  # the figure, plotly.js inlined


def test_a_local_sweep_collects_every_run_and_reports_a_failed_one(tmp_path):
    # kappa 2.0 is no fraction: its run fails when the chain refuses the hyperparameter
    points = [{**FAST, "kappa": k, "guard": True} for k in (0.5, 2.0)]
    seen = []
    result = run_sweep(NOTEBOOK, points, tmp_path / "local", workers=2, on_run=seen.append)
    check(result, n_ok=1, n_failed=1)
    failed = result.failed.iloc[0]
    assert failed["param:kappa"] == 2.0 and "kappa" in failed["error"], failed["error"]
    assert sorted(s["run"] for s in seen) == [0, 1]
    t = result.table.set_index("name")
    assert t.loc["copier0", "emission"] < 0.25 * t.loc["honest0", "emission"]  # the guard holds in the sweep too


def test_a_sweep_on_a_local_dask_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  host="127.0.0.1") as cluster:
        points = [{**FAST, "kappa": 0.5, "guard": g} for g in (False, True)]
        result = run_sweep(NOTEBOOK, points, tmp_path / "dask", scheduler=cluster.scheduler_address)
    check(result, n_ok=2, n_failed=0)
    assert os.getpid() not in set(result.runs["pid"])  # the runs ran in the cluster's worker processes
    by_guard = result.table.groupby(["guard", "group"])["miner_share"].sum()
    assert by_guard[(True, "copier")] < by_guard[(False, "copier")]


def test_the_cli_refuses_a_bad_grid(tmp_path):
    out = subprocess.run([sys.executable, "-m", "tao_lab.cli", "sweep", str(NOTEBOOK), "--grid", "kappa", "--out",
                          str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "expected NAME=V1,V2" in out.stderr, out.stderr
