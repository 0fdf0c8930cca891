"""What the chain does around the epoch: storing weights and splitting emission."""

import pytest

from tao_lab.consensus import (
    WeightsRejected,
    distribute_epoch,
    max_weight_limited,
    normalize_weights,
    prepare_weights,
    share_by_stake,
    split_block_emission,
)


def test_normalize_weights_max_upscales_and_rounds_half_away_from_zero():
    uids, vals = normalize_weights([3, 1], [43690, 21845])
    assert uids.tolist() == [3, 1] and vals.tolist() == [65535, 32768]
    assert normalize_weights([0, 1, 2], [1, 2, 4])[1].tolist() == [16384, 32768, 65535]
    assert normalize_weights([0, 1], [0, 0])[1].tolist() == [0, 0]


@pytest.mark.parametrize(
    "uids,values,kwargs,reason",
    [
        ([1, 2], [5], {}, "WeightVecNotEqualSize"),
        ([1, 1], [5, 6], {}, "DuplicateUids"),
        ([1, 9], [5, 6], {}, "UidVecContainInvalidOne"),
        ([1], [5], {"min_allowed_weights": 2}, "WeightVecLengthIsLow"),
        ([1, 2], [65535, 1], {"max_weight_limit": 32768}, "MaxWeightExceeded"),
        (list(range(5)), [1] * 5, {}, "UidsLengthExceedUidsInSubNet"),
    ],
)
def test_prepare_weights_rejects_like_the_chain(uids, values, kwargs, reason):
    with pytest.raises(WeightsRejected) as info:
        prepare_weights(0, uids, values, n=4, **kwargs)
    assert info.value.reason == reason
    assert reason in str(info.value)


def test_prepare_weights_allows_a_lone_self_weight_and_stores_upscaled_row():
    assert prepare_weights(2, [2], [7], n=4, min_allowed_weights=3, max_weight_limit=100) == [(2, 65535)]
    assert prepare_weights(0, [1, 2], [10, 20], n=4) == [(1, 32768), (2, 65535)]
    assert max_weight_limited(0, [1, 2], [65535, 65535], 32768)  # each is exactly half
    assert not max_weight_limited(0, [1, 2], [65535, 65534], 32767)


def test_block_split_sums_to_alpha_out_and_takes_owner_cut_first():
    s = split_block_emission(1_000_000_000)
    assert s.owner + s.server + s.validator + s.root == 1_000_000_000
    assert s.owner == 179_995_422  # floor(1e9 * U96F32(11796/65535))
    assert s.server == (1_000_000_000 - s.owner) // 2 and s.root == 0
    r = split_block_emission(1000, owner_cut=0, root_proportion=0.5)
    assert (r.owner, r.server, r.validator, r.root) == (0, 500, 250, 250)


def test_distribute_epoch_pays_miners_and_shares_validator_pool_by_dividends():
    p = distribute_epoch([0, 0, 700, 300], [3, 1, 0, 0], pending_validator=1000, takes=[0, 65535, 0, 0])
    assert p.incentive.tolist() == [0, 0, 700, 300]
    assert p.dividends.tolist() == [750, 250, 0, 0]
    assert p.take.tolist() == [0, 250, 0, 0]
    assert p.to_nominators.tolist() == [750, 0, 0, 0]
    # No miner earned: validators share the miners' pool too.
    q = distribute_epoch([0, 0], [1, 1], pending_validator=100, pending_server=100, takes=0)
    assert q.dividends.tolist() == [100, 100]


def test_share_by_stake_floors_each_share():
    assert share_by_stake(100, {"a": 1, "b": 2}) == {"a": 33, "b": 66}
    assert share_by_stake(100, {"a": 0}) == {"a": 0}
