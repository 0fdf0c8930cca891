"""The epoch's own contract: input checking, exact vs float agreement, no mutation, variants."""

import numpy as np
import pytest

import tao_lab
from tao_lab.consensus import EpochContext, EpochParams, epoch, primitives as P
from tao_lab.consensus import fixed
from tao_lab.errors import InputError, TaoLabError


def random_subnet(rng, n=40, validators=8, density=0.5):
    stake = [int(x) for x in rng.integers(1, 10**12, validators)] + [0] * (n - validators)
    weights = np.zeros((n, n), dtype=np.uint16)
    bonds = np.zeros((n, n), dtype=np.uint16)
    for i in range(validators):
        cols = rng.choice(np.arange(validators, n), int((n - validators) * density), replace=False)
        weights[i, cols] = rng.integers(1, 65536, len(cols))
        bonds[i, cols] = rng.integers(0, 65536, len(cols))
    permits = np.arange(n) < validators
    return stake, weights, bonds, permits


@pytest.mark.parametrize("yuma3,liquid", [(False, False), (True, False), (True, True)])
@pytest.mark.parametrize("penalty", [0, 32767, 65535])
def test_float_path_agrees_with_exact(yuma3, liquid, penalty):
    rng = np.random.default_rng(7)
    stake, weights, bonds, permits = random_subnet(rng)
    params = EpochParams(yuma3=yuma3, liquid_alpha=liquid, bonds_penalty=penalty)
    a = epoch(stake, weights, bonds, permits, params=params)
    b = epoch(stake, weights, bonds, permits, params=params, exact=False)
    np.testing.assert_array_equal(a.stake, np.array(stake, dtype=np.uint64))
    for name in ("stake_weight", "active_stake", "consensus", "validator_trust", "incentive", "dividends"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), atol=1e-6, err_msg=name)
    for name in ("consensus_u16", "incentive_u16", "dividends_u16", "validator_trust_u16", "stake_weight_u16"):
        assert np.abs(getattr(a, name).astype(int) - getattr(b, name).astype(int)).max() <= 1, name
    assert np.abs(a.new_bonds.astype(int) - b.new_bonds.astype(int)).max() <= 1
    # The float path keeps values on the I32F32 grid, so it drifts as the chain does: a few rao at most.
    for name in ("emission", "server_emission", "validator_emission"):
        rao = np.abs(getattr(a, name).astype(np.int64) - getattr(b, name).astype(np.int64))
        assert rao.max() <= 3, name


def test_inputs_are_not_mutated_and_dense_equals_sparse_rows():
    rng = np.random.default_rng(3)
    stake, weights, bonds, permits = random_subnet(rng, n=20, validators=5)
    copies = [np.array(stake), weights.copy(), bonds.copy(), permits.copy()]
    dense = epoch(stake, weights, bonds, permits)
    rows = [[(int(j), int(weights[i, j])) for j in np.flatnonzero(weights[i])] for i in range(20)]
    brows = [[(int(j), int(bonds[i, j])) for j in np.flatnonzero(bonds[i])] for i in range(20)]
    sparse = epoch(stake, rows, brows, list(permits))
    for got, orig in zip([np.array(stake), weights, bonds, permits], copies):
        np.testing.assert_array_equal(got, orig)
    for name in ("incentive_u16", "dividends_u16", "emission", "new_bonds"):
        np.testing.assert_array_equal(getattr(dense, name), getattr(sparse, name))


def test_weighted_median_col_matches_literal_partition_search():
    rng = np.random.default_rng(11)
    for trial in range(200):
        rows = int(rng.integers(1, 9))
        stake = fixed.from_float(rng.uniform(0, 1, rows) * (rng.uniform(size=rows) > 0.2))
        score = fixed.from_float(rng.choice([0.0, 0.1, 0.25, 0.5, 0.75, 1.0], (rows, 3)))
        kappa = int(rng.choice([0, fixed.ONE // 4, 2147450879, fixed.ONE // 2, fixed.ONE]))
        got = P.weighted_median_col(stake, score, kappa)
        voters = stake > 0
        w = P.normalize(stake[voters])
        for c in range(3):
            want = P.weighted_median(w, score[voters, c], int(w.sum()) - kappa, 0, int(w.sum())) if voters.any() else 0
            assert got[c] == want, (trial, c)


def test_context_masks_inactive_and_outdated():
    stake = [100, 100, 0, 0]
    W = [[(2, 65535), (3, 65535)], [(2, 65535)], [], []]
    ctx = EpochContext(current_block=100, last_update=[10, 90, 0, 0], block_at_registration=[0, 0, 0, 50])
    r = epoch(stake, W, None, [True, True, False, False], params=EpochParams(activity_cutoff=50), context=ctx)
    assert r.active.tolist() == [False, True, False, False]  # uid 0 last set weights 90 blocks ago
    assert r.active_stake.tolist() == [0.0, 1.0, 0.0, 0.0]
    assert r.weights[0, 3] == 0.0  # validators 0's weight to uid 3 predates uid 3's registration
    assert r.incentive_u16.tolist() == [0, 0, 65535, 0]


@pytest.mark.parametrize(
    "kwargs,argument",
    [
        (dict(stake=[1, -1]), "stake"),
        (dict(stake=[1.5, 2]), "stake"),
        (dict(stake=[np.nan, 2]), "stake"),
        (dict(weights=np.array([[0, 70000], [0, 0]])), "weights"),
        (dict(weights=np.zeros((3, 3), dtype=int)), "weights"),
        (dict(weights=[[(1, 5), (1, 6)], []]), "weights[0]"),
        (dict(weights=[[(2, 5)], []]), "weights[0] uids"),
        (dict(weights=np.array([[0.0, np.nan], [0, 0]])), "weights"),
        (dict(bonds=[[(1, -3)], []]), "bonds[0] values"),
        (dict(permits=[True, False, True]), "permits"),
        (dict(params=EpochParams), "params"),
        (dict(variant="fast"), "variant"),
        (dict(rao_emission=-1), "rao_emission"),
        (dict(context=EpochContext(current_block=5, last_update=[1, 2, 3])), "context.last_update"),
    ],
)
def test_bad_input_raises_typed_error_naming_the_argument(kwargs, argument):
    args = dict(stake=[10, 20], weights=[[(1, 65535)], []], bonds=None, permits=[True, False])
    args.update(kwargs)
    with pytest.raises(InputError) as info:
        epoch(args.pop("stake"), args.pop("weights"), args.pop("bonds"), args.pop("permits"), **args)
    assert info.value.argument == argument
    assert isinstance(info.value, TaoLabError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "field,value", [("kappa", 70000), ("tempo", -1), ("alpha_low", 60000), ("yuma3", "yes"), ("bonds_penalty", 0.5)]
)
def test_bad_hyperparameter_is_rejected(field, value):
    with pytest.raises(InputError) as info:
        EpochParams(**{field: value})
    assert info.value.argument == f"params.{field}"


def test_public_api_is_curated():
    import tao_lab.consensus as c

    assert set(tao_lab.__all__) >= {"TaoLabError", "InputError", "Lab", "Devnet", "Subtensor", "Wallet", "Metagraph",
                                   "Miner", "Validator", "Supervisor"}
    assert all(getattr(tao_lab, name) is not None for name in tao_lab.__all__)
    assert {"epoch", "EpochParams", "EpochContext", "simulate", "normalize_weights"} <= set(c.__all__)
    assert all(hasattr(c, name) for name in c.__all__)


def test_sparse_rows_in_any_column_order_read_the_same():
    stake = [50, 30, 0, 0, 0]
    rows = [[(4, 100), (2, 65535), (3, 0)], [(3, 65535), (2, 1)], [], [], []]
    ordered = [sorted(r) for r in rows]
    params = EpochParams(yuma3=True, liquid_alpha=True)
    bonds = [[(3, 30000), (2, 60000)], [], [], [], []]
    a = epoch(stake, rows, bonds, [True, True, False, False, False], params=params)
    b = epoch(stake, ordered, [sorted(r) for r in bonds], [True, True, False, False, False], params=params)
    assert a.new_bonds_rows == b.new_bonds_rows
    np.testing.assert_array_equal(a.emission, b.emission)
    assert a.new_bonds_rows[0][0][0] == 2  # stored rows come back sorted by uid
