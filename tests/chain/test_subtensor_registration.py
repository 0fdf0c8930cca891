"""SubtensorModule subnets and registration: register_network, start_call, burned_register / register,
root_register, pruning of full subnets, the burn price, faucet, genesis and the owner's epoch controls."""

import pytest

from tao_lab.chain.chain import Chain, dev_genesis
from tao_lab.chain.pallets.subtensor import LAB_SUBNET_DEFAULTS
from tao_lab.chain.pallets.subtensor.registration import FAUCET_AMOUNT, decay_factor_q32
from tao_lab.errors import InputError

TAO = 10**9
ST = "SubtensorModule"



def free(chain, who):
    return chain.runtime.pallet("Balances").free_balance(chain.state(), who)


# ---------------------------------------------------------------------------------------------- genesis


def test_genesis_creates_root_and_subnet_1_with_lab_defaults(chain, alice):
    assert chain.query(ST, "NetworksAdded", 0) and chain.query(ST, "NetworksAdded", 1)
    assert chain.query(ST, "SubnetOwner", 1) == alice
    assert chain.query(ST, "SubnetOwnerHotkey", 1) == alice
    assert chain.query(ST, "Keys", 1, 0) == alice and chain.query(ST, "Uids", 1, alice) == 0
    assert chain.query(ST, "SubnetworkN", 1) == 1
    assert chain.query(ST, "Tempo", 1) == 10
    assert chain.query(ST, "WeightsSetRateLimit", 1) == 0
    assert chain.query(ST, "CommitRevealWeightsEnabled", 1) is False
    assert chain.query(ST, "Yuma3On", 1) is True
    assert chain.query(ST, "Burn", 1) == LAB_SUBNET_DEFAULTS["burn"]
    assert chain.query(ST, "FirstEmissionBlockNumber", 1) == 1
    assert chain.query(ST, "SubtokenEnabled", 1) is True
    assert chain.query(ST, "TotalIssuance") == chain.query("Balances", "TotalIssuance")


def test_genesis_hyperparameters_and_unknown_keys(alice):
    genesis = dev_genesis()
    genesis["SubtensorModule"] = {"subnets": [{"netuid": 3, "owner": alice, "kappa": 40000, "max_allowed_uids": 8,
                                               "start": False}], "block_emission": 5 * TAO}
    chain = Chain(genesis=genesis)
    assert chain.query(ST, "Kappa", 3) == 40000 and chain.query(ST, "MaxAllowedUids", 3) == 8
    assert chain.query(ST, "FirstEmissionBlockNumber", 3) is None
    assert chain.query(ST, "BlockEmission") == 5 * TAO
    genesis["SubtensorModule"] = {"subnets": [{"netuid": 2, "owner": alice, "kapa": 1}]}
    with pytest.raises(InputError, match="kapa"):
        Chain(genesis=genesis)


# ---------------------------------------------------------------------------------------------- register_network


def test_register_network_locks_cost_and_waits_for_start_call(chain, bob, h):
    hot = h.key("bob-owner-hot")
    lock = chain.query(ST, "NetworkMinLockCost")
    before = free(chain, bob)
    events = chain.dispatch(bob, ST, "register_network", hotkey=hot)
    assert (ST, "NetworkAdded", (2, 0)) in events
    assert free(chain, bob) < before - lock + 1  # lock and fee paid
    assert chain.query(ST, "SubnetOwner", 2) == bob and chain.query(ST, "Keys", 2, 0) == hot
    assert chain.query(ST, "SubnetLocked", 2) == lock
    assert chain.query(ST, "Owner", hot) == bob and chain.query(ST, "OwnedHotkeys", bob) == [hot]
    assert chain.query(ST, "FirstEmissionBlockNumber", 2) is None
    # Not started: no emission, no staking.
    chain.advance(3)
    assert chain.query(ST, "PendingServerEmission", 2) == 0
    h.assert_noop(chain, bob, ST, "add_stake", "SubtokenDisabled", hotkey=hot, netuid=2, amount_staked=TAO)
    events = chain.dispatch(bob, ST, "start_call", netuid=2)
    start = chain.head_number + 1
    assert (ST, "FirstEmissionBlockNumberSet", (2, start)) in events
    chain.advance(1)
    assert chain.query(ST, "PendingServerEmission", 2) > 0


def test_register_network_errors(chain, bob, accounts, h):
    hot = h.key("bob-hot")
    h.register(chain, bob, hot)
    h.assert_noop(chain, accounts["charlie"].public, ST, "register_network", "NonAssociatedColdKey", hotkey=hot)
    poor = h.key("poor")
    h.fund(chain, poor, 10 * TAO)
    h.assert_noop(chain, poor, ST, "register_network", "CannotAffordLockCost", hotkey=h.key("poor-hot"))
    genesis = dev_genesis()
    genesis["SubtensorModule"]["subnet_limit"] = 1
    h.assert_noop(Chain(genesis=genesis), bob, ST, "register_network", "SubnetLimitReached", hotkey=h.key("x"))


def test_start_call_errors(chain, alice, bob, h):
    h.assert_noop(chain, alice, ST, "start_call", "SubnetNotExists", netuid=9)
    h.assert_noop(chain, bob, ST, "start_call", "BadOrigin", netuid=1)
    h.assert_noop(chain, alice, ST, "start_call", "FirstEmissionBlockNumberAlreadySet", netuid=1)


# ---------------------------------------------------------------------------------------------- burned_register


def test_burned_register_appends_a_neuron_and_bumps_the_burn(chain, bob, h):
    hot = h.key("h1")
    burn = chain.query(ST, "Burn", 1)
    before = free(chain, bob)
    events = chain.dispatch(bob, ST, "burned_register", netuid=1, hotkey=hot)
    block = chain.head_number
    assert (ST, "NeuronRegistered", (1, 1, hot)) in events
    assert before - free(chain, bob) >= burn
    assert chain.query(ST, "SubnetworkN", 1) == 2
    assert chain.query(ST, "Keys", 1, 1) == hot and chain.query(ST, "Uids", 1, hot) == 1
    assert chain.query(ST, "BlockAtRegistration", 1, 1) == block
    assert chain.query(ST, "LastUpdate", 1)[1] == block
    assert chain.query(ST, "IsNetworkMember", hot, 1) is True
    for item, value in (("Active", True), ("ValidatorPermit", False), ("Emission", 0), ("Incentive", 0)):
        assert chain.query(ST, item, 1)[1] == value
    assert chain.query(ST, "Owner", hot) == bob
    assert chain.query(ST, "RAORecycledForRegistration", 1) == burn
    # burn * 1.26, then a block of decay (half-life 360 blocks) in the next block
    bumped = (burn * chain.query(ST, "BurnIncreaseMult", 1)["bits"]) >> 64
    assert chain.query(ST, "Burn", 1) == bumped
    chain.advance(1)
    assert chain.query(ST, "Burn", 1) == (bumped * decay_factor_q32(360)) >> 32


def test_burn_decays_to_min_burn_and_register_is_burned_registration(chain, bob, h):
    chain.advance(400)
    assert chain.query(ST, "Burn", 1) == chain.query(ST, "MinBurn", 1)
    hot = h.key("pow")
    events = chain.dispatch(bob, ST, "register", netuid=1, block_number=0, nonce=0, work=b"", hotkey=hot, coldkey=bob)
    assert (ST, "NeuronRegistered", (1, 1, hot)) in events


def test_decay_factor_halves_in_half_life():
    f = decay_factor_q32(360)
    x = 1 << 40
    for _ in range(360):
        x = (x * f) >> 32
    assert abs(x - (1 << 39)) / (1 << 39) < 1e-6


def test_burned_register_errors(chain, alice, bob, accounts, h):
    hot = h.key("h1")
    h.assert_noop(chain, bob, ST, "burned_register", "RegistrationNotPermittedOnRootSubnet", netuid=0, hotkey=hot)
    h.assert_noop(chain, bob, ST, "burned_register", "SubnetNotExists", netuid=7, hotkey=hot)
    h.register(chain, bob, hot)
    h.assert_noop(chain, bob, ST, "burned_register", "HotKeyAlreadyRegisteredInSubNet", netuid=1, hotkey=hot)
    # hot belongs to bob: charlie cannot register it elsewhere
    chain.dispatch(bob, ST, "register_network", hotkey=h.key("sn2"))
    chain.dispatch(bob, ST, "start_call", netuid=2)
    h.assert_noop(chain, accounts["charlie"].public, ST, "burned_register", "NonAssociatedColdKey", netuid=2, hotkey=hot)
    poor = h.key("poor")
    h.fund(chain, poor, 50_000_000)  # pays fees, not a 0.1 TAO burn
    chain.dispatch("root", "AdminUtils", "sudo_set_min_burn", netuid=1, min_burn=100_000_000)
    chain.advance(1)
    h.assert_noop(chain, poor, ST, "burned_register", "NotEnoughBalanceToStake", netuid=1, hotkey=h.key("p"))
    chain.dispatch("root", "AdminUtils", "sudo_set_network_registration_allowed", netuid=1, registration_allowed=False)
    h.assert_noop(chain, bob, ST, "burned_register", "SubNetRegistrationDisabled", netuid=1, hotkey=h.key("h2"))


def test_full_subnet_prunes_the_lowest_emission_non_immune_uid(chain, alice, bob, h):
    chain.dispatch("root", "AdminUtils", "sudo_set_max_allowed_uids", netuid=1, max_allowed_uids=3)
    chain.dispatch("root", "AdminUtils", "sudo_set_immunity_period", netuid=1, immunity_period=2)
    a, b = h.key("a"), h.key("b")
    h.register(chain, bob, a)
    h.register(chain, bob, b)
    st, prune = chain.runtime.pallet(ST), lambda: st.get_neuron_to_prune(chain.state(), 1, chain.head_number + 1)
    chain.advance(2)
    assert chain.query(ST, "Emission", 1)[1:] == [0, 0]
    assert prune() == 1  # equal emission: the earliest registration goes first
    chain.dispatch(bob, ST, "add_stake", hotkey=a, netuid=1, amount_staked=10 * TAO)
    chain.advance(10)  # an epoch: emission follows stake, so a earns and b does not
    assert chain.query(ST, "Emission", 1)[1] > 0 == chain.query(ST, "Emission", 1)[2]
    assert prune() == 2
    c = h.key("c")
    events = chain.dispatch(bob, ST, "burned_register", netuid=1, hotkey=c)
    assert (ST, "NeuronRegistered", (1, 2, c)) in events
    assert chain.query(ST, "Uids", 1, b) is None and chain.query(ST, "Keys", 1, 2) == c
    assert chain.query(ST, "IsNetworkMember", b, 1) is False
    assert chain.query(ST, "BlockAtRegistration", 1, 2) == chain.head_number
    assert chain.query(ST, "SubnetworkN", 1) == 3
    assert chain.query(ST, "Keys", 1, 0) == alice  # the owner's hotkey is never pruned
    assert prune() == 1  # c is immune for 2 blocks, so a (non-immune, even with emission) goes next


def test_immune_uids_are_pruned_only_when_no_uid_is_free(chain, bob, h):
    chain.dispatch("root", "AdminUtils", "sudo_set_max_allowed_uids", netuid=1, max_allowed_uids=2)
    a = h.key("a")
    h.register(chain, bob, a)  # immune for 30 blocks
    events = chain.dispatch(bob, ST, "burned_register", netuid=1, hotkey=h.key("b"))
    assert (ST, "NeuronRegistered", (1, 1, h.key("b"))) in events


def test_no_uid_available_when_everything_is_owner_immune(chain, bob, h):
    chain.dispatch("root", "AdminUtils", "sudo_set_max_allowed_uids", netuid=1, max_allowed_uids=1)
    h.assert_noop(chain, bob, ST, "burned_register", "NoNeuronIdAvailable", netuid=1, hotkey=h.key("x"))


# ---------------------------------------------------------------------------------------------- root, faucet


def test_root_register(chain, bob, h):
    hot = h.key("root-hot")
    events = chain.dispatch(bob, ST, "root_register", hotkey=hot)
    assert (ST, "NeuronRegistered", (0, 0, hot)) in events
    assert chain.query(ST, "Uids", 0, hot) == 0 and chain.query(ST, "Owner", hot) == bob
    h.assert_noop(chain, bob, ST, "root_register", "HotKeyAlreadyRegisteredInSubNet", hotkey=hot)


def test_root_register_full_replaces_the_lowest_stake(chain, bob, h):
    for i in range(64):  # root holds 64 validators; one registration per block
        chain.dispatch(bob, ST, "root_register", hotkey=h.key(f"r{i}"))
    newcomer = h.key("newcomer")
    h.assert_noop(chain, bob, ST, "root_register", "StakeTooLowForRoot", hotkey=newcomer)
    h.register(chain, bob, newcomer)  # creates the hotkey account so it can hold stake
    chain.dispatch(bob, ST, "add_stake", hotkey=newcomer, netuid=0, amount_staked=TAO)
    events = chain.dispatch(bob, ST, "root_register", hotkey=newcomer)
    assert (ST, "NeuronRegistered", (0, 0, newcomer)) in events
    assert chain.query(ST, "Uids", 0, h.key("r0")) is None


def test_faucet_mints_without_proof_of_work(chain, bob):
    before = free(chain, bob)
    issuance = chain.query(ST, "TotalIssuance")
    events = chain.dispatch(bob, ST, "faucet", block_number=0, nonce=0, work=b"")
    assert (ST, "Faucet", (bob, FAUCET_AMOUNT)) in events
    assert free(chain, bob) > before + FAUCET_AMOUNT - TAO
    assert chain.query(ST, "TotalIssuance") == issuance + FAUCET_AMOUNT


# ---------------------------------------------------------------------------------------------- tempo controls


def test_trigger_epoch_runs_an_epoch_next_block(chain, alice, bob, h):
    chain.advance(12)  # epoch ran at block 10; the next is due at 20
    events = chain.dispatch(alice, ST, "trigger_epoch", netuid=1)
    now = chain.head_number
    assert (ST, "EpochTriggered", {"netuid": 1, "by": alice, "fires_at": now}) in events
    assert chain.query(ST, "PendingEpochAt", 1) == now
    chain.advance(1)
    assert chain.query(ST, "LastEpochBlock", 1) == now + 1 and chain.query(ST, "PendingEpochAt", 1) == 0
    h.assert_noop(chain, bob, ST, "trigger_epoch", "BadOrigin", netuid=1)
    chain.dispatch("root", "AdminUtils", "sudo_set_commit_reveal_weights_enabled", netuid=1, enabled=True)
    h.assert_noop(chain, alice, ST, "trigger_epoch", "DynamicTempoBlockedByCommitReveal", netuid=1)


def test_set_tempo_and_activity_cutoff_factor(chain, alice, bob, h):
    h.assert_noop(chain, alice, ST, "set_tempo", "TempoOutOfBounds", netuid=1, tempo=10)
    h.assert_noop(chain, bob, ST, "set_tempo", "BadOrigin", netuid=1, tempo=400)
    events = chain.dispatch(alice, ST, "set_tempo", netuid=1, tempo=400)
    assert (ST, "TempoSet", (1, 400)) in events
    assert chain.query(ST, "LastEpochBlock", 1) == chain.head_number
    events = chain.dispatch(alice, ST, "set_activity_cutoff_factor", netuid=1, factor_milli=2000)
    assert chain.query(ST, "ActivityCutoffFactorMilli", 1) == 2000
    assert (ST, "ActivityCutoffFactorMilliSet", {"netuid": 1, "factor_milli": 2000}) in events
    h.assert_noop(chain, alice, ST, "set_activity_cutoff_factor", "ActivityCutoffFactorMilliOutOfBounds", netuid=1,
                factor_milli=999)
