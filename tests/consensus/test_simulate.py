"""simulate: bonds and permits carried between epochs, a tidy series, callables for dynamics."""

import numpy as np
import pytest

from tao_lab.consensus import SERIES_COLUMNS, EpochParams, epoch, simulate
from tao_lab.errors import InputError

STAKE = [500, 300, 200, 0, 0, 0]
WEIGHTS = [[(3, 65535), (4, 30000)], [(3, 65535), (4, 40000), (5, 1000)], [(5, 65535)], [], [], []]


def test_simulate_equals_chaining_epochs_by_hand():
    params = EpochParams(yuma3=True, liquid_alpha=True)
    sim = simulate(STAKE, WEIGHTS, epochs=4, params=params)
    bonds, permits = None, [True, True, True, False, False, False]
    for r in sim.results:
        manual = epoch(STAKE, WEIGHTS, bonds, permits, params=params)
        np.testing.assert_array_equal(r.emission, manual.emission)
        np.testing.assert_array_equal(r.new_bonds, manual.new_bonds)
        bonds, permits = manual.new_bonds_rows, manual.new_validator_permits


def test_series_is_tidy_one_row_per_epoch_and_uid():
    sim = simulate(STAKE, WEIGHTS, epochs=3)
    s = sim.series
    assert set(s) == set(SERIES_COLUMNS)
    assert all(len(v) == 18 for v in s.values())
    assert s["epoch"].tolist() == [0] * 6 + [1] * 6 + [2] * 6
    assert s["uid"].tolist() == list(range(6)) * 3
    rows = sim.rows()
    assert rows[7]["epoch"] == 1 and rows[7]["uid"] == 1
    assert sum(r["emission"] for r in rows if r["epoch"] == 2) == pytest.approx(1e9, abs=10)


def test_bonds_build_up_over_epochs_with_original_yuma():
    sim = simulate(STAKE, WEIGHTS, epochs=6)
    first, last = sim.results[0], sim.results[-1]
    assert first.new_bonds[0, 3] > 0
    # Validator 2 backs only miner 5, which the majority does not: its dividends stay small.
    assert last.dividends[2] < last.dividends[0]


def test_callable_weights_and_progress_hook():
    seen = []

    def weights(e, last):
        assert (last is None) == (e == 0)
        w = [list(r) for r in WEIGHTS]
        w[1] = [(3, 65535)] if e >= 2 else w[1]
        return w

    sim = simulate(STAKE, weights, epochs=4, on_epoch=lambda e, r: seen.append((e, int(r.emission.sum()))))
    assert [e for e, _ in seen] == [0, 1, 2, 3]
    assert sim.results[3].weights[1, 4] == 0 and sim.results[0].weights[1, 4] > 0


def test_default_permits_match_a_chain_that_ran_one_epoch_and_all_false_reproduces_a_new_subnet():
    new = simulate(STAKE, WEIGHTS, epochs=1, permits=[False] * 6)
    assert new.results[0].incentive.sum() == 0  # no permits yet: nobody's weights count
    assert new.results[0].emission[:3].sum() == pytest.approx(1e9, abs=5)
    warm = simulate(STAKE, WEIGHTS, epochs=1)
    assert warm.results[0].incentive[3] > 0


def test_bad_epoch_count():
    with pytest.raises(InputError):
        simulate(STAKE, WEIGHTS, epochs=-1)
