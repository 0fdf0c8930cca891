"""SubtensorModule coinbase and epoch, end to end: a subnet with 3 miners and 2 validators, staked and
weighted, runs tempo after tempo; what the chain stores equals `tao_lab.consensus.epoch` on the same
inputs, read back through ``chain.query``; the payout follows the documented emission model."""

import pytest

from tao_lab.consensus import EpochContext, EpochParams, distribute_epoch, epoch, split_block_emission

TAO = 10**9
ST = "SubtensorModule"


def q(chain, item, *keys):
    return chain.query(ST, item, *keys)


def expected_epoch(chain, netuid):
    """`tao_lab.consensus.epoch` on the state at the head, for an epoch in the next block."""
    n = q(chain, "SubnetworkN", netuid)
    hotkeys = [q(chain, "Keys", netuid, uid) for uid in range(n)]
    tempo = q(chain, "Tempo", netuid)
    low, high = q(chain, "AlphaValues", netuid)
    owner_hotkey = q(chain, "SubnetOwnerHotkey", netuid)
    params = EpochParams(
        kappa=q(chain, "Kappa", netuid), bonds_penalty=q(chain, "BondsPenalty", netuid),
        bonds_moving_average=q(chain, "BondsMovingAverage", netuid), yuma3=q(chain, "Yuma3On", netuid),
        liquid_alpha=q(chain, "LiquidAlphaOn", netuid), alpha_low=low, alpha_high=high,
        alpha_sigmoid_steepness=q(chain, "AlphaSigmoidSteepness", netuid),
        max_allowed_validators=q(chain, "MaxAllowedValidators", netuid),
        activity_cutoff=max(q(chain, "ActivityCutoffFactorMilli", netuid) * tempo // 1000, 1), tempo=tempo,
        stake_threshold=q(chain, "StakeThreshold"), owner_uid=q(chain, "Uids", netuid, owner_hotkey),
    )
    block = chain.head_number + 1
    context = EpochContext(current_block=block, last_update=q(chain, "LastUpdate", netuid),
                           block_at_registration=[q(chain, "BlockAtRegistration", netuid, u) for u in range(n)],
                           last_mechanism_step_block=q(chain, "LastMechansimStepBlock", netuid))
    split = split_block_emission(q(chain, "BlockEmission"), q(chain, "SubnetOwnerCut"))
    pending_server = q(chain, "PendingServerEmission", netuid) + split.server
    pending_validator = q(chain, "PendingValidatorEmission", netuid) + split.validator
    result = epoch([q(chain, "TotalHotkeyAlpha", hk, netuid) for hk in hotkeys],
                   [q(chain, "Weights", netuid, u) for u in range(n)], [q(chain, "Bonds", netuid, u) for u in range(n)],
                   q(chain, "ValidatorPermit", netuid), params, context, rao_emission=pending_server + pending_validator)
    return hotkeys, result, pending_server, pending_validator, q(chain, "PendingOwnerCut", netuid) + split.owner


def to_epoch(chain, netuid):
    """Advance to the block just before the subnet's next epoch."""
    due = q(chain, "LastEpochBlock", netuid) + q(chain, "Tempo", netuid)
    chain.advance(due - 1 - chain.head_number)


def stakes(chain, pairs, netuid):
    st = chain.runtime.pallet(ST)
    return {hot: st.stake_of(chain.state(), hot, cold, netuid) for hot, cold in pairs}


@pytest.fixture(params=["yuma3", "yuma3-liquid-alpha", "original-yuma"])
def subnet(request, chain, accounts, h):
    """Bob's subnet 2 with miners m1..m3 (coldkey Charlie) and validators v1 (Dave, 300 TAO), v2 (Eve, 100 TAO)."""
    bob, charlie, dave, eve = (accounts[n].public for n in ("bob", "charlie", "dave", "eve"))
    owner_hot = h.key("bob-owner-hot")
    chain.dispatch(bob, ST, "register_network", hotkey=owner_hot)
    chain.dispatch(bob, ST, "start_call", netuid=2)
    if request.param == "original-yuma":
        chain.dispatch(bob, "AdminUtils", "sudo_set_yuma3_enabled", netuid=2, enabled=False)
    if request.param == "yuma3-liquid-alpha":
        chain.dispatch(bob, "AdminUtils", "sudo_set_liquid_alpha_enabled", netuid=2, enabled=True)
    miners = [h.key(f"m{i}") for i in (1, 2, 3)]
    validators = [h.key("v1"), h.key("v2")]
    for hot in miners:
        h.register(chain, charlie, hot, netuid=2)
    for hot, cold in zip(validators, (dave, eve)):
        h.fund(chain, hot)
        h.register(chain, cold, hot, netuid=2)
    chain.dispatch(dave, ST, "add_stake", hotkey=validators[0], netuid=2, amount_staked=300 * TAO)
    chain.dispatch(eve, ST, "add_stake", hotkey=validators[1], netuid=2, amount_staked=100 * TAO)
    return {"owner": (owner_hot, bob), "miners": [(m, charlie) for m in miners],
            "validators": list(zip(validators, (dave, eve)))}


def assert_stored(chain, netuid, result):
    assert q(chain, "Incentive", netuid) == result.incentive_u16.tolist()
    assert q(chain, "Dividends", netuid) == result.dividends_u16.tolist()
    assert q(chain, "Emission", netuid) == result.emission.tolist()
    assert q(chain, "Consensus", netuid) == result.consensus_u16.tolist()
    assert q(chain, "ValidatorTrust", netuid) == result.validator_trust_u16.tolist()
    assert q(chain, "StakeWeight", netuid) == result.stake_weight_u16.tolist()
    assert q(chain, "Active", netuid) == result.active.tolist()
    assert q(chain, "ValidatorPermit", netuid) == result.new_validator_permits.tolist()
    rows = result.new_bonds_rows
    for uid in range(result.n):
        assert q(chain, "Bonds", netuid, uid) == (rows[uid] if result.new_validator_permits[uid] else [])
    assert q(chain, "LastMechansimStepBlock", netuid) == chain.head_number


def test_stored_epoch_equals_the_consensus_engine(chain, subnet):
    (v1, _), (v2, _) = subnet["validators"]
    to_epoch(chain, 2)
    _, result, *_ = expected_epoch(chain, 2)
    chain.advance(1)  # first epoch: no weights yet, emission follows stake; v1 and v2 get permits
    assert_stored(chain, 2, result)
    assert q(chain, "ValidatorPermit", 2)[4:] == [True, True]
    chain.dispatch(v1, ST, "set_weights", netuid=2, dests=[1, 2, 3], weights=[60000, 30000, 10000], version_key=0)
    chain.dispatch(v2, ST, "set_weights", netuid=2, dests=[1, 2, 3], weights=[10000, 30000, 60000], version_key=0)
    for _ in range(3):  # past two more tempos (bonds carry over between them)
        to_epoch(chain, 2)
        _, result, *_ = expected_epoch(chain, 2)
        chain.advance(1)
        assert_stored(chain, 2, result)
    assert sum(result.incentive_u16[1:4]) > 0 and all(result.dividends_u16[4:] > 0)
    assert result.incentive_u16[1] > result.incentive_u16[3]  # the bigger validator's favourite earns more


def test_payout_follows_the_emission_model(chain, subnet):
    (v1, _), (v2, _) = subnet["validators"]
    owner_hot, _ = subnet["owner"]
    chain.dispatch("root", "AdminUtils", "sudo_set_tempo", netuid=1, tempo=1000)  # keep subnet 1's payouts apart
    to_epoch(chain, 2)
    chain.advance(1)  # permits
    chain.dispatch(v1, ST, "set_weights", netuid=2, dests=[1, 2, 3], weights=[3, 2, 1], version_key=0)
    chain.dispatch(v2, ST, "set_weights", netuid=2, dests=[1, 2, 3], weights=[3, 2, 1], version_key=0)
    to_epoch(chain, 2)
    everyone = subnet["miners"] + subnet["validators"] + [subnet["owner"]]
    before = stakes(chain, everyone, 2)
    hotkeys, result, server, validator, owner_cut = expected_epoch(chain, 2)
    issuance = q(chain, "TotalIssuance")
    chain.advance(1)
    after = stakes(chain, everyone, 2)
    assert q(chain, "PendingServerEmission", 2) == q(chain, "PendingValidatorEmission", 2) == 0
    # Miners: exactly their server emission.
    for hot, _ in subnet["miners"]:
        assert after[hot] - before[hot] == result.server_emission[hotkeys.index(hot)] > 0
    # Validators: the validators' pool shared by validator emission, less nothing (each owns its hotkey).
    takes = [q(chain, "Delegates", hk) for hk in hotkeys]
    payout = distribute_epoch(result.server_emission, result.validator_emission, validator, server, takes)
    for hot, _ in subnet["validators"]:
        uid = hotkeys.index(hot)
        assert abs((after[hot] - before[hot]) - int(payout.dividends[uid])) <= 2
        assert q(chain, "AlphaDividendsPerSubnet", 2, hot) == int(payout.to_nominators[uid])
    # The owner: the owner cut, staked to the owner's hotkey (its own miner emission is burned).
    assert after[owner_hot] - before[owner_hot] == owner_cut
    minted = owner_cut + int(payout.incentive[1:4].sum()) + int(payout.dividends.sum())
    assert q(chain, "TotalIssuance") == issuance + minted
    events = [r["event"] for r in chain.query("System", "Events")]
    emitted = {"netuid": 2, "emissions": result.server_emission.tolist()}
    assert (ST, ("IncentiveAlphaEmittedToMiners", emitted)) in events


def test_emission_accrues_every_block(chain):
    split = split_block_emission(q(chain, "BlockEmission"), q(chain, "SubnetOwnerCut"))
    chain.advance(3)  # blocks 1..3, epoch at 10
    assert q(chain, "PendingServerEmission", 1) == 3 * split.server
    assert q(chain, "PendingValidatorEmission", 1) == 3 * split.validator
    assert q(chain, "PendingOwnerCut", 1) == 3 * split.owner
    assert q(chain, "SubnetAlphaOutEmission", 1) == q(chain, "BlockEmission")
    assert q(chain, "BlocksSinceLastStep", 1) == 3
    chain.advance(7)
    assert q(chain, "LastEpochBlock", 1) == 10 and q(chain, "SubnetEpochIndex", 1) == 1
    assert q(chain, "PendingServerEmission", 1) == 0 and q(chain, "BlocksSinceLastStep", 1) == 0


def test_epoch_inputs_match_what_the_test_reads(chain, subnet):
    """The pallet's own `epoch_inputs` (handy in notebooks) agrees with reading storage by hand."""
    to_epoch(chain, 2)
    st = chain.runtime.pallet(ST)
    inputs = st.epoch_inputs(chain.state(), 2, chain.head_number + 1)
    _, result, server, validator, _ = expected_epoch(chain, 2)
    again = epoch(**inputs, rao_emission=server + validator)
    assert again.emission.tolist() == result.emission.tolist()
    assert again.incentive_u16.tolist() == result.incentive_u16.tolist()


def test_commit_reveal_masks_weights_in_the_epoch(chain, subnet):
    """With commit-reveal on, the epoch gets each uid's earliest live commit block (the column mask)."""
    (v1, _), _ = subnet["validators"]
    chain.dispatch("root", "AdminUtils", "sudo_set_commit_reveal_weights_enabled", netuid=2, enabled=True)
    chain.dispatch(v1, ST, "commit_weights", netuid=2, commit_hash=bytes(32))
    commit_block = chain.head_number
    st = chain.runtime.pallet(ST)
    inputs = st.epoch_inputs(chain.state(), 2, chain.head_number + 1)
    assert inputs["params"].commit_reveal is True
    assert inputs["context"].commit_blocks[4] == commit_block
    assert inputs["context"].commit_blocks[5] == (1 << 64) - 1
