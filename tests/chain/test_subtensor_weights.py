"""SubtensorModule weights: set_weights and its checks in subtensor's order, commit-reveal v2."""

import hashlib

import pytest

from tao_lab.chain.chain import Chain, dev_genesis
from tao_lab.chain.pallets.subtensor import commit_hash

TAO = 10**9
ST = "SubtensorModule"


@pytest.fixture
def net(chain, bob, h):
    """Subnet 1 with uid 0 = Alice (owner), uid 1 = validator v (staked, permit after the epoch at block 10),
    uids 2 and 3 = miners; every hotkey funded for fees."""
    v, m1, m2 = h.key("v"), h.key("m1"), h.key("m2")
    for hot in (v, m1, m2):
        h.fund(chain, hot)
        h.register(chain, bob, hot)
    chain.dispatch(bob, ST, "add_stake", hotkey=v, netuid=1, amount_staked=100 * TAO)
    return {"v": v, "m1": m1, "m2": m2}


def test_set_weights_stores_the_max_upscaled_row(chain, net):
    v = net["v"]
    chain.advance(10 - chain.head_number)  # the epoch at block 10 gives v a permit
    assert chain.query(ST, "ValidatorPermit", 1)[1] is True
    events = chain.dispatch(v, ST, "set_weights", netuid=1, dests=[2, 3], weights=[100, 50], version_key=0)
    assert (ST, "WeightsSet", (1, 1)) in events
    assert chain.query(ST, "Weights", 1, 1) == [(2, 65535), (3, 32768)]
    assert chain.query(ST, "LastUpdate", 1)[1] == chain.head_number


def test_owner_and_self_weights_need_no_permit(chain, alice, net):
    chain.dispatch(alice, ST, "set_weights", netuid=1, dests=[2], weights=[1], version_key=0)  # the owner
    assert chain.query(ST, "Weights", 1, 0) == [(2, 65535)]
    chain.dispatch(net["m1"], ST, "set_weights", netuid=1, dests=[2], weights=[7], version_key=0)  # self-weight
    assert chain.query(ST, "Weights", 1, 2) == [(2, 65535)]


def test_set_weights_errors(chain, bob, net, h):
    v, m1 = net["v"], net["m1"]

    def noop(who, error, netuid=1, dests=(2, 3), weights=(1, 1), version_key=0):
        h.assert_noop(chain, who, ST, "set_weights", error, netuid=netuid, dests=list(dests), weights=list(weights),
                      version_key=version_key)

    noop(v, "CommitRevealEnabled", netuid=0)  # root keeps subtensor's default: commit-reveal on
    chain.dispatch("root", "AdminUtils", "sudo_set_commit_reveal_weights_enabled", netuid=0, enabled=False)
    noop(v, "CanNotSetRootNetworkWeights", netuid=0)
    noop(v, "WeightVecNotEqualSize", weights=[1])
    noop(v, "CommitRevealEnabled", netuid=9)  # as on subtensor: an absent subnet reads the flag's default (on)
    noop(v, "UidsLengthExceedUidsInSubNet", dests=[0, 1, 2, 3, 3], weights=[1] * 5)
    outsider = h.key("outsider")
    h.fund(chain, outsider)
    noop(outsider, "HotKeyNotRegisteredInSubNet")
    noop(m1, "NeuronNoValidatorPermit")  # no permit before the first epoch with stake
    chain.advance(10 - chain.head_number)
    noop(v, "DuplicateUids", dests=[2, 2])
    noop(v, "UidVecContainInvalidOne", dests=[2, 9])
    chain.dispatch("root", "AdminUtils", "sudo_set_min_allowed_weights", netuid=1, min_allowed_weights=3)
    noop(v, "WeightVecLengthIsLow")
    chain.dispatch("root", "AdminUtils", "sudo_set_weights_version_key", netuid=1, weights_version_key=5)
    noop(v, "IncorrectWeightVersionKey", version_key=4)
    chain.dispatch("root", "AdminUtils", "sudo_set_stake_threshold", min_stake=1000 * TAO)
    noop(v, "NotEnoughStakeToSetWeights", version_key=5)
    chain.dispatch("root", "AdminUtils", "sudo_set_stake_threshold", min_stake=0)
    chain.dispatch(v, ST, "set_weights", netuid=1, dests=[1, 2, 3], weights=[1, 1, 1], version_key=5)
    chain.dispatch("root", "AdminUtils", "sudo_set_weights_set_rate_limit", netuid=1, weights_set_rate_limit=50)
    noop(v, "SettingWeightsTooFast", dests=[1, 2, 3], weights=[1, 1, 1], version_key=5)
    chain.dispatch("root", "AdminUtils", "sudo_set_commit_reveal_weights_enabled", netuid=1, enabled=True)
    noop(v, "CommitRevealEnabled")


def test_max_weight_limit(bob, h):
    genesis = dev_genesis()
    genesis["SubtensorModule"]["subnets"][0]["max_weights_limit"] = 40_000
    chain = Chain(genesis=genesis)
    alice = genesis["Sudo"]["key"]
    for name in ("a", "b"):
        h.register(chain, bob, h.key(name))
    h.assert_noop(chain, alice, ST, "set_weights", "MaxWeightExceeded", netuid=1, dests=[1, 2], weights=[9, 1],
                  version_key=0)
    chain.dispatch(alice, ST, "set_weights", netuid=1, dests=[1, 2], weights=[1, 1], version_key=0)


# ---------------------------------------------------------------------------------------------- commit-reveal


def test_commit_hash_is_blake2_of_the_scale_tuple(alice):
    def vec_u16(xs):
        return bytes([len(xs) << 2]) + b"".join(x.to_bytes(2, "little") for x in xs)

    data = alice + (1).to_bytes(2, "little") + vec_u16([2, 3]) + vec_u16([65535, 100]) + vec_u16([9, 8, 7]) \
        + (4).to_bytes(8, "little")
    assert commit_hash(alice, 1, [2, 3], [65535, 100], [9, 8, 7], 4) == hashlib.blake2b(data, digest_size=32).digest()


@pytest.fixture
def cr(chain, net):
    chain.dispatch("root", "AdminUtils", "sudo_set_commit_reveal_weights_enabled", netuid=1, enabled=True)
    chain.advance(10 - chain.head_number)  # epoch 1 at block 10: v has a permit
    return net


def test_commit_then_reveal_in_the_next_epoch(chain, cr, h):
    v = cr["v"]
    args = {"uids": [2, 3], "values": [10, 20], "salt": [1, 2, 3], "version_key": 0}
    digest = commit_hash(v, 1, **args)
    events = chain.dispatch(v, ST, "commit_weights", netuid=1, commit_hash=digest)
    assert (ST, "WeightsCommitted", (v, 1, digest)) in events
    (stored,) = chain.query(ST, "WeightCommits", 1, v)
    assert stored[0] == digest and stored[1] == chain.query(ST, "SubnetEpochIndex", 1) and stored[2] == chain.head_number
    assert chain.query(ST, "LastUpdate", 1)[1] == chain.head_number
    chain.dispatch("root", "AdminUtils", "sudo_set_commit_reveal_weights_interval", netuid=1, interval=1)
    from_block = chain.head_number
    # Same epoch: too early.
    h.assert_noop(chain, v, ST, "reveal_weights", "RevealTooEarly", netuid=1, **args)
    chain.advance(20 - chain.head_number)  # the epoch at block 20
    assert chain.head_number > from_block
    events = chain.dispatch(v, ST, "reveal_weights", netuid=1, **args)
    assert (ST, "WeightsRevealed", (v, 1, digest)) in events and (ST, "WeightsSet", (1, 1)) in events
    assert chain.query(ST, "Weights", 1, 1) == [(2, 32768), (3, 65535)]
    assert chain.query(ST, "WeightCommits", 1, v) is None


def test_commit_reveal_errors(chain, cr, net, h):
    v, m1 = cr["v"], cr["m1"]
    args = {"uids": [2, 3], "values": [10, 20], "salt": [1], "version_key": 0}
    h.assert_noop(chain, v, ST, "reveal_weights", "NoWeightsCommitFound", netuid=1, **args)
    h.assert_noop(chain, v, ST, "commit_weights", "MechanismDoesNotExist", netuid=9, commit_hash=bytes(32))
    outsider = h.key("outsider")
    h.fund(chain, outsider)
    h.assert_noop(chain, outsider, ST, "commit_weights", "HotKeyNotRegisteredInSubNet", netuid=1,
                  commit_hash=bytes(32))
    chain.dispatch(v, ST, "commit_weights", netuid=1, commit_hash=commit_hash(v, 1, **args))
    chain.advance(20 - chain.head_number)
    h.assert_noop(chain, v, ST, "reveal_weights", "InvalidRevealCommitHashNotMatch", netuid=1,
                  **{**args, "salt": [2]})
    chain.advance(20)  # two more epochs: the commit expired
    h.assert_noop(chain, v, ST, "reveal_weights", "ExpiredWeightCommit", netuid=1, **args)
    for i in range(10):
        chain.dispatch(m1, ST, "commit_weights", netuid=1, commit_hash=bytes([i]) * 32)
    h.assert_noop(chain, m1, ST, "commit_weights", "TooManyUnrevealedCommits", netuid=1, commit_hash=bytes(32))
    chain.dispatch("root", "AdminUtils", "sudo_set_weights_set_rate_limit", netuid=1, weights_set_rate_limit=100)
    h.assert_noop(chain, v, ST, "commit_weights", "CommittingWeightsTooFast", netuid=1, commit_hash=bytes(32))
    chain.dispatch("root", "AdminUtils", "sudo_set_commit_reveal_weights_enabled", netuid=1, enabled=False)
    h.assert_noop(chain, v, ST, "commit_weights", "CommitRevealDisabled", netuid=1, commit_hash=bytes(32))
    h.assert_noop(chain, v, ST, "reveal_weights", "CommitRevealDisabled", netuid=1, **args)
