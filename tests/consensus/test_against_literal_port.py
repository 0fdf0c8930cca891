"""Random subnets, many hyperparameters: the engine against a literal port of subtensor's epoch.

``benchmarks/baseline_epoch.py`` is an independent, function-by-function pure-Python port of the
Rust ``epoch_mechanism`` (original Yuma bonds) that shares no code with ``tao_lab``. Where
subtensor's own tests pin particular scenarios, this sweeps random ones, including ties, explicit
zero weights, stale bonds on uids without permits and extreme hyperparameters.
"""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from tao_lab.consensus import EpochParams, epoch

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "baseline_epoch.py"
_spec = importlib.util.spec_from_file_location("baseline_epoch", _PATH)
baseline = importlib.util.module_from_spec(_spec)
sys.modules["baseline_epoch"] = baseline  # dataclasses look their module up while it loads
_spec.loader.exec_module(baseline)


def random_case(rng):
    n = int(rng.integers(2, 24))
    validators = int(rng.integers(1, n + 1))
    stake = [int(rng.choice([0, rng.integers(1, 10**6), rng.integers(1, 10**15)])) for _ in range(n)]
    levels = rng.choice([0, 1, 65535, 32768, 21845], 3)  # few distinct values: ties in the median
    weights, bonds = [], []
    for i in range(n):
        cols = [int(j) for j in rng.permutation(n)[: int(rng.integers(0, n + 1))]]
        if i < validators and rng.uniform() < 0.9:
            vals = [int(rng.choice(levels)) if rng.uniform() < 0.5 else int(rng.integers(0, 65536)) for _ in cols]
            weights.append(sorted(zip(cols, vals)))
        else:
            weights.append([])
        bcols = [int(j) for j in rng.permutation(n)[: int(rng.integers(0, n + 1))]]
        bonds.append(sorted((j, int(rng.integers(0, 65536))) for j in bcols) if rng.uniform() < 0.6 else [])
    permits = [bool(rng.uniform() < 0.7) for _ in range(n)]
    hyper = dict(
        kappa=int(rng.choice([0, 1, 16384, 32767, 32768, 65535])),
        bonds_penalty=int(rng.choice([0, 1, 32767, 65535])),
        bonds_moving_average=int(rng.choice([0, 500_000, 900_000, 975_000, 1_000_000])),
        max_allowed_validators=int(rng.integers(0, n + 2)),
    )
    rao = int(rng.choice([1, 1000, 10**9, 10**18]))
    return stake, weights, bonds, permits, hyper, rao


@pytest.mark.parametrize("seed", range(60))
def test_engine_equals_literal_port(seed):
    stake, weights, bonds, permits, hyper, rao = random_case(np.random.default_rng(seed))
    want = baseline.epoch_baseline(stake, weights, bonds, permits, rao_emission=rao, **hyper)
    got = epoch(stake, weights, bonds, permits, params=EpochParams(**hyper), rao_emission=rao)
    assert got.consensus_u16.tolist() == list(want.consensus_u16)
    assert got.incentive_u16.tolist() == list(want.incentive_u16)
    assert got.dividends_u16.tolist() == list(want.dividends_u16)
    assert got.server_emission.tolist() == list(want.server_emission)
    assert got.validator_emission.tolist() == list(want.validator_emission)
    assert got.emission.tolist() == list(want.emission)
    assert [[(j, v) for j, v in row if v] for row in got.new_bonds_rows] == [
        [(j, v) for j, v in row if v] for row in want.bonds
    ]
