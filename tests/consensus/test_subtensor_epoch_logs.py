"""Ports of subtensor's ``pallets/subtensor/src/tests/epoch_logs.rs`` (commit 14bc6f9f).

The Rust tests build a small subnet in the mock runtime, run ``epoch_mechanism`` (the sparse,
production epoch) and grep its trace log. Here each scenario becomes one ``epoch()`` call and each
log line becomes an assertion on the matching result attribute:

* ``Normalised Stake`` -> ``stake_weight`` (and ``stake_weight_u16``), ``Inactive`` -> ``~active``,
  ``new_validator_permits``, ``Active Stake``, ``Consensus``, ``Validator Trust``, ``Dividends``;
* ``Normalized Validator / Combined Emission`` -> ``validator_emission`` / ``emission`` in rao
  (``floor(x * rao_emission)``); ``Combined Emission`` -> ``emission``;
* ``Weights (mask+norm)`` / ``ΔB (norm)`` are intermediate; they are checked through what they
  determine: ``clipped_weights`` and the stored ``new_bonds`` (with no previous bonds the EMA is
  col-normalised ``alpha * ΔB``, so its column max-upscale is fixed by ΔB). Those extra assertions
  are marked "derived".

A logged I32F32 (``{:?}``) is the shortest decimal that parses back to the same bits, so a value
logged as ``s`` is asserted as "its raw bits equal round(s * 2**32)" (``assert_logged``).

Scenario constants from epoch_logs.rs and the mock runtime (tests/mock.rs):
Tempo 10; the test writes ``ActivityCutoff = 10`` but the chain ignores that item and uses
``max(1, ActivityCutoffFactorMilli * tempo / 1000)`` = 13_889 * 10 / 1000 = 138 blocks;
MaxAllowedValidators 100, kappa 32_767, bonds penalty 65_535, bonds moving average 900_000,
Yuma3 off (the subnet is created by hand, not by ``init_new_network``), no subnet owner hotkey,
no weight commits. ``epoch_mechanism`` writes no storage, so consecutive mechanism epochs see the
same permits.
"""

import numpy as np
import pytest

from tao_lab.consensus import EpochContext, EpochParams, epoch, normalize_weights

TEMPO = 10
ACTIVITY_CUTOFF_BLOCKS = max(1, 13_889 * TEMPO // 1000)  # 138
U16_MAX = 65535
RAO = 1_000_000_000


def neuron(uid, validator, stake, registration_block, last_update):
    """Neuron::new(uid, hotkey, validator, alpha_stake, registration_block, last_update)."""
    return dict(uid=uid, validator=validator, stake=stake, reg=registration_block,
                upd=last_update)


def run(neurons, *, block, weights=None, permits=None, rao_emission=RAO, **params):
    """setup_epoch(neurons) at `block`, then SubtensorModule::epoch_mechanism(netuid, mecid, rao).

    `weights`: the stored Weights rows, sparse [(j, u16), ...] per uid (empty rows by default).
    `permits`: the stored ValidatorPermit (defaults to the neurons' `validator` flags).
    """
    n = len(neurons)
    assert [nr["uid"] for nr in neurons] == list(range(n))
    if permits is None:
        permits = [nr["validator"] for nr in neurons]
    hyper = dict(tempo=TEMPO, activity_cutoff=ACTIVITY_CUTOFF_BLOCKS, max_allowed_validators=100,
                 kappa=32_767, bonds_penalty=65_535, bonds_moving_average=900_000, yuma3=False,
                 liquid_alpha=False, stake_threshold=0, owner_uid=None, commit_reveal=False)
    hyper.update(params)
    context = EpochContext(
        current_block=block,
        last_update=np.array([nr["upd"] for nr in neurons], dtype=np.int64),
        block_at_registration=np.array([nr["reg"] for nr in neurons], dtype=np.int64),
        last_mechanism_step_block=0,
        commit_blocks=None,
    )
    return epoch(
        np.array([nr["stake"] for nr in neurons], dtype=np.int64),
        weights if weights is not None else [[] for _ in range(n)],
        [[] for _ in range(n)],  # no Bonds stored yet
        np.array(permits, dtype=bool),
        params=EpochParams(**hyper),
        context=context,
        rao_emission=rao_emission,
        variant="sparse",
    )


def raw_bits(values) -> list:
    """I32F32 floats back to raw bits (exact: every I32F32 in range is a float64)."""
    return [int(round(float(v) * 2**32)) for v in np.asarray(values, dtype=np.float64).ravel()]


def assert_logged(values, logged: str):
    """`values` is what Rust logs as `logged`, e.g. "[0.3333333333, 0, 1]"."""
    items = [s for s in logged.strip().strip("[]").split(",") if s.strip()]
    expected = [int(round(float(s) * 2**32)) for s in items]
    assert raw_bits(values) == expected, f"{np.asarray(values).tolist()} is not logged as {logged}"


def ints(x) -> list:
    return [int(v) for v in np.asarray(x).ravel()]


def bools(x) -> list:
    return [bool(v) for v in np.asarray(x).ravel()]


def dense(matrix, n) -> np.ndarray:
    """A result matrix as a dense (n, n) float array, whether it comes dense or as sparse rows."""
    if isinstance(matrix, np.ndarray) and matrix.ndim == 2:
        return matrix.astype(np.float64)
    out = np.zeros((n, n))
    for i, row in enumerate(matrix):
        for j, v in row:
            out[i, int(j)] = float(v)
    return out


def bonds_u16(rows, n) -> list:
    """Expected Bonds as a dense u16 list of lists from sparse {row: {col: u16}}."""
    out = [[0] * n for _ in range(n)]
    for i, row in rows.items():
        for j, v in row.items():
            out[i][j] = v
    return out


# Two validators with 1 TAO each, registered at 0, weights set at block 1.
TWO_VALIDATORS = [neuron(0, True, 1_000_000_000, 0, 1), neuron(1, True, 1_000_000_000, 0, 1)]
# Three validators with 1 TAO each and two servers with no stake.
THREE_VALIDATORS_TWO_SERVERS = [
    neuron(0, True, 1_000_000_000, 0, 1),
    neuron(1, True, 1_000_000_000, 0, 1),
    neuron(2, True, 1_000_000_000, 0, 1),
    neuron(3, False, 0, 0, 1),
    neuron(4, False, 0, 0, 1),
]


def test_simple():
    """test_simple: no weights, so emission falls back to active stake."""
    r = run(TWO_VALIDATORS, block=1)
    assert len(bools(r.active)) == 2  # Number of Neurons in Network: 2
    assert bools(r.active) == [True, True]  # Inactive: [false, false]
    assert_logged(r.stake_weight, "[0.5, 0.5]")  # Normalised Stake
    assert ints(r.stake_weight_u16) == [32767, 32767]
    assert bools(r.new_validator_permits) == [True, True]
    assert_logged(r.active_stake, "[0.5, 0.5]")
    assert_logged(r.consensus, "[0, 0]")
    assert ints(r.validator_emission) == [500_000_000, 500_000_000]  # nVE [0.5, 0.5]
    assert ints(r.emission) == [500_000_000, 500_000_000]  # nCE / Combined Emission
    assert ints(r.server_emission) == [0, 0]  # derived: the fallback leaves servers at 0


def test_bad_permit_vector():
    """test_bad_permit_vector: ValidatorPermit shorter than n; the missing uid counts as having
    no permit (the chain logs a math error and masks it), so uid 1 gets no validator emission."""
    r = run(TWO_VALIDATORS, block=1, permits=[True])
    assert ints(r.validator_emission) == [1_000_000_000, 0]
    assert_logged(r.active_stake, "[1, 0]")  # derived


def test_inactive_mask_zeroes_active_stake():
    """test_inactive_mask_zeroes_active_stake: last_update 0 + 138 < block 1_000_000."""
    r = run([neuron(0, True, 1_000_000_000, 0, 0), neuron(1, True, 1_000_000_000, 0, 0)],
            block=1_000_000)
    assert len(bools(r.active)) == 2
    assert bools(r.active) == [False, False]
    assert_logged(r.active_stake, "[0, 0]")


def test_validator_permit_masks_active_stake():
    """test_validator_permit_masks_active_stake: stored permits [true, false]."""
    r = run(TWO_VALIDATORS, block=1, permits=[True, False])
    assert_logged(r.active_stake, "[1, 0]")


def test_yuma_emergency_mode():
    """yuma_emergency_mode: everyone inactive and no weights -> emission follows normalised stake."""
    r = run([neuron(0, True, 1_000_000_000, 0, 0), neuron(1, True, 1_000_000_000, 0, 0)],
            block=1_000_000)
    assert bools(r.active) == [False, False]
    assert ints(r.emission) == [500_000_000, 500_000_000]  # nCE [0.5, 0.5]
    assert ints(r.validator_emission) == [500_000_000, 500_000_000]  # derived


def test_epoch_uses_active_stake_when_nonzero_active():
    """epoch_uses_active_stake_when_nonzero_active: block 1000, last_update [999, 1]."""
    r = run([neuron(0, True, 1_000_000_000, 0, 999), neuron(1, True, 1_000_000_000, 0, 1)],
            block=1000)
    assert bools(r.active) == [True, False]
    assert_logged(r.active_stake, "[1, 0]")
    assert ints(r.emission) == [1_000_000_000, 0]  # nCE [1, 0]


def test_epoch_topk_validator_permits():
    """epoch_topk_validator_permits: MaxAllowedValidators = 1 keeps only the larger stake."""
    r = run([neuron(0, True, 2_000_000_000, 0, 1), neuron(1, True, 1_000_000_000, 0, 1)],
            block=1, max_allowed_validators=1)
    stake0 = float(np.asarray(r.stake_weight, dtype=np.float64)[0])
    assert 0.666 <= stake0 < 0.667  # "Normalised Stake: [0.666"
    assert bools(r.new_validator_permits) == [True, False]


@pytest.mark.parametrize("yuma3", [True, False], ids=["yuma3", "original_yuma"])
def test_epoch_bonds_pipeline(yuma3):
    """epoch_yuma3_bonds_pipeline / epoch_original_yuma_bonds_pipeline: the Rust tests only check
    that the chosen bonds branch ran. Derived: with no weights it yields no bonds and no dividends,
    and emission falls back to active stake."""
    r = run(TWO_VALIDATORS, block=1, yuma3=yuma3)
    assert ints(r.new_bonds) == [0, 0, 0, 0]
    assert_logged(r.dividends, "[0, 0]")
    assert ints(r.emission) == [500_000_000, 500_000_000]


def test_validators_weight_two_distinct_servers():
    """test_validators_weight_two_distinct_servers: V0, V2 -> server 3, V1 -> server 4."""
    assert [ints(x) for x in normalize_weights([3, 4], [U16_MAX, 0])] == [[3, 4], [U16_MAX, 0]]
    assert [ints(x) for x in normalize_weights([3, 4], [0, U16_MAX])] == [[3, 4], [0, U16_MAX]]
    # "Weights: [[(3, 65535), (4, 0)], [(3, 0), (4, 65535)], [(3, 65535), (4, 0)], [], []]"
    weights = [[(3, U16_MAX), (4, 0)], [(3, 0), (4, U16_MAX)], [(3, U16_MAX), (4, 0)], [], []]
    r = run(THREE_VALIDATORS_TWO_SERVERS, block=1, weights=weights)

    assert len(bools(r.active)) == 5
    assert_logged(r.consensus, "[0, 0, 0, 1, 0]")
    assert_logged(r.validator_trust, "[1, 0, 1, 0, 0]")
    assert_logged(r.dividends, "[0.5, 0, 0.5, 0, 0]")
    assert ints(r.emission) == [250_000_000, 0, 250_000_000, 500_000_000, 0]  # nCE
    # derived: V1's weight on server 4 is clipped away (consensus 0), the rest are unchanged
    expected_clipped = np.zeros((5, 5))
    expected_clipped[0, 3] = expected_clipped[2, 3] = 1.0
    assert np.array_equal(dense(r.clipped_weights, 5), expected_clipped)
    # derived: ΔB (norm) puts 0.5 on (0, 3) and (2, 3) and nothing positive elsewhere
    assert [ints(row) for row in np.asarray(r.new_bonds)] == \
        bonds_u16({0: {3: U16_MAX}, 2: {3: U16_MAX}}, 5)


def test_validator_splits_weight_across_two_servers():
    """test_validator_splits_weight_across_two_servers: V2 splits evenly over servers 3 and 4."""
    weights = [[(3, U16_MAX), (4, 0)], [(3, 0), (4, U16_MAX)], [(3, U16_MAX), (4, U16_MAX)],
               [], []]
    r = run(THREE_VALIDATORS_TWO_SERVERS, block=1, weights=weights)

    assert_logged(r.dividends, "[0.25, 0.25, 0.5, 0, 0]")
    assert ints(r.emission) == [125_000_000, 125_000_000, 250_000_000, 250_000_000, 250_000_000]
    # derived from "Weights (mask+norm)" and "ΔB (norm): [[(3, 0.5), (4, 0)], [(3, 0), (4, 0.5)],
    # [(3, 0.5), (4, 0.5)], [], []]": both servers reach consensus 0.5, weights clip to it
    assert_logged(r.consensus, "[0, 0, 0, 0.5, 0.5]")
    expected_clipped = np.zeros((5, 5))
    expected_clipped[0, 3] = expected_clipped[1, 4] = 0.5
    expected_clipped[2, 3] = expected_clipped[2, 4] = 0.5
    assert np.array_equal(dense(r.clipped_weights, 5), expected_clipped)
    assert [ints(row) for row in np.asarray(r.new_bonds)] == \
        bonds_u16({0: {3: U16_MAX}, 1: {4: U16_MAX}, 2: {3: U16_MAX, 4: U16_MAX}}, 5)


def test_epoch_mechanism_reads_weights_per_mechanism():
    """epoch_mechanism_reads_weights_per_mechanism: two mechanisms with mirrored routing, each
    its own epoch() over the shared stake / permits with its own weights (1000 rao each)."""
    mech0 = [[(3, U16_MAX)], [(4, U16_MAX)], [(3, U16_MAX)], [], []]
    mech1 = [[(4, U16_MAX)], [(3, U16_MAX)], [(4, U16_MAX)], [], []]
    r0 = run(THREE_VALIDATORS_TWO_SERVERS, block=1, weights=mech0, rao_emission=1_000)
    r1 = run(THREE_VALIDATORS_TWO_SERVERS, block=1, weights=mech1, rao_emission=1_000)

    for r in (r0, r1):
        assert_logged(r.active_stake, "[0.3333333333, 0.3333333333, 0.3333333333, 0, 0]")
    assert ints(r0.emission) == [250, 0, 250, 500, 0]  # nCE [0.25, 0, 0.25, 0.5, 0]
    assert ints(r1.emission) == [250, 0, 250, 0, 500]  # nCE [0.25, 0, 0.25, 0, 0.5]
    # derived from ΔB (norm) [[(3, 0.5)], [], [(3, 0.5)], [], []] and its mirror
    assert [ints(row) for row in np.asarray(r0.new_bonds)] == \
        bonds_u16({0: {3: U16_MAX}, 2: {3: U16_MAX}}, 5)
    assert [ints(row) for row in np.asarray(r1.new_bonds)] == \
        bonds_u16({0: {4: U16_MAX}, 2: {4: U16_MAX}}, 5)
    assert raw_bits(r0.incentive) != raw_bits(r1.incentive)  # assert_ne!(logs_m0, logs_m1)


def test_epoch_mechanism_three_mechanisms_separate_state():
    """epoch_mechanism_three_mechanisms_separate_state: 2 validators, 2 servers, 3 mechanisms."""
    neurons = [
        neuron(0, True, 1_000_000_000, 0, 1),
        neuron(1, True, 1_000_000_000, 0, 1),
        neuron(2, False, 0, 0, 1),
        neuron(3, False, 0, 0, 1),
    ]
    mechs = [
        [[(2, U16_MAX)], [(2, U16_MAX)], [], []],
        [[(2, U16_MAX), (3, U16_MAX)], [(2, U16_MAX), (3, U16_MAX)], [], []],
        [[(3, U16_MAX)], [(3, U16_MAX)], [], []],
    ]
    l0, l1, l2 = (run(neurons, block=1, weights=w, rao_emission=1_000) for w in mechs)

    # "Weights (mask+norm)": everyone agrees, so clipping leaves them unchanged
    for r, row in ((l0, [0, 0, 1.0, 0]), (l1, [0, 0, 0.5, 0.5]), (l2, [0, 0, 0, 1.0])):
        assert np.array_equal(dense(r.clipped_weights, 4), np.array([row, row, [0] * 4, [0] * 4]))
    assert ints(l0.emission) == [250, 250, 500, 0]  # nCE [0.25, 0.25, 0.5, 0]
    assert ints(l1.emission) == [250, 250, 250, 250]  # nCE [0.25, 0.25, 0.25, 0.25]
    assert ints(l2.emission) == [250, 250, 0, 500]  # nCE [0.25, 0.25, 0, 0.5]
    # derived from "ΔB (norm)": [[(2, 0.5)], [(2, 0.5)], ..], [[(2, 0.5), (3, 0.5)] x2, ..], ..
    assert [ints(row) for row in np.asarray(l0.new_bonds)] == \
        bonds_u16({0: {2: U16_MAX}, 1: {2: U16_MAX}}, 4)
    assert [ints(row) for row in np.asarray(l1.new_bonds)] == \
        bonds_u16({0: {2: U16_MAX, 3: U16_MAX}, 1: {2: U16_MAX, 3: U16_MAX}}, 4)
    assert [ints(row) for row in np.asarray(l2.new_bonds)] == \
        bonds_u16({0: {3: U16_MAX}, 1: {3: U16_MAX}}, 4)
    # assert_ne! between the three mechanisms' logs
    incentives = [tuple(raw_bits(r.incentive)) for r in (l0, l1, l2)]
    assert len(set(incentives)) == 3
