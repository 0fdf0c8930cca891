"""AdminUtils: each sudo_set_* stores its hyperparameter with subtensor's origin rules, events and checks."""

import pytest

TAO = 10**9
ST = "SubtensorModule"
AU = "AdminUtils"

# call, arguments, storage item, stored value, SubtensorModule event payload (None: no event), owner may call
SETTERS = [
    ("sudo_set_serving_rate_limit", {"serving_rate_limit": 7}, "ServingRateLimit", 7, "ServingRateLimitSet", True),
    ("sudo_set_weights_version_key", {"weights_version_key": 3}, "WeightsVersionKey", 3, "WeightsVersionKeySet", True),
    ("sudo_set_weights_set_rate_limit", {"weights_set_rate_limit": 5}, "WeightsSetRateLimit", 5,
     "WeightsSetRateLimitSet", False),
    ("sudo_set_immunity_period", {"immunity_period": 99}, "ImmunityPeriod", 99, "ImmunityPeriodSet", True),
    ("sudo_set_min_allowed_weights", {"min_allowed_weights": 2}, "MinAllowedWeights", 2, "MinAllowedWeightSet", True),
    ("sudo_set_max_allowed_uids", {"max_allowed_uids": 100}, "MaxAllowedUids", 100, "MaxAllowedUidsSet", True),
    ("sudo_set_kappa", {"kappa": 40000}, "Kappa", 40000, "KappaSet", False),
    ("sudo_set_rho", {"rho": 30}, "Rho", 30, None, True),
    ("sudo_set_activity_cutoff", {"activity_cutoff": 400}, "ActivityCutoff", 400, "ActivityCutoffSet", True),
    ("sudo_set_min_burn", {"min_burn": 600_000}, "MinBurn", 600_000, "MinBurnSet", True),
    ("sudo_set_max_burn", {"max_burn": 10 * TAO}, "MaxBurn", 10 * TAO, "MaxBurnSet", True),
    ("sudo_set_difficulty", {"difficulty": 77}, "Difficulty", 77, "DifficultySet", False),
    ("sudo_set_max_allowed_validators", {"max_allowed_validators": 8}, "MaxAllowedValidators", 8,
     "MaxAllowedValidatorsSet", False),
    ("sudo_set_bonds_moving_average", {"bonds_moving_average": 500_000}, "BondsMovingAverage", 500_000,
     "BondsMovingAverageSet", True),
    ("sudo_set_bonds_penalty", {"bonds_penalty": 0}, "BondsPenalty", 0, "BondsPenaltySet", True),
    ("sudo_set_max_registrations_per_block", {"max_registrations_per_block": 4}, "MaxRegistrationsPerBlock", 4,
     "MaxRegistrationsPerBlockSet", False),
    ("sudo_set_commit_reveal_weights_enabled", {"enabled": True}, "CommitRevealWeightsEnabled", True,
     "CommitRevealEnabled", True),
    ("sudo_set_liquid_alpha_enabled", {"enabled": True}, "LiquidAlphaOn", True, None, True),
    ("sudo_set_commit_reveal_weights_interval", {"interval": 3}, "RevealPeriodEpochs", 3, "CommitRevealPeriodsSet",
     True),
    ("sudo_set_subtoken_enabled", {"subtoken_enabled": False}, "SubtokenEnabled", False, None, False),
    ("sudo_set_alpha_sigmoid_steepness", {"steepness": 500}, "AlphaSigmoidSteepness", 500, None, True),
    ("sudo_set_min_non_immune_uids", {"min": 3}, "MinNonImmuneUids", 3, "MinNonImmuneUidsSet", False),
    ("sudo_set_network_registration_allowed", {"registration_allowed": False}, "NetworkRegistrationAllowed", False,
     "RegistrationAllowed", False),
    ("sudo_set_tempo", {"tempo": 25}, "Tempo", 25, "TempoSet", False),
    ("sudo_set_yuma3_enabled", {"enabled": False}, "Yuma3On", False, None, True),
    ("sudo_set_bonds_reset_enabled", {"enabled": True}, "BondsResetOn", True, "BondsResetOnSet", True),
    ("sudo_set_burn_half_life", {"burn_half_life": 100}, "BurnHalfLife", 100, None, True),
]


@pytest.mark.parametrize("call, args, item, value, event, owner_ok", SETTERS, ids=[s[0] for s in SETTERS])
def test_setter(chain, alice, bob, h, call, args, item, value, event, owner_ok):
    h.assert_noop(chain, bob, AU, call, "BadOrigin", netuid=1, **args)  # neither owner nor root
    if not owner_ok:  # Alice owns subnet 1, but these are root only
        h.assert_noop(chain, alice, AU, call, "BadOrigin", netuid=1, **args)
    events = chain.dispatch("root" if not owner_ok else alice, AU, call, netuid=1, **args)
    assert chain.query(ST, item, 1) == value
    if event:
        assert (ST, event, (1, value)) in events


def test_global_setters(chain, alice, h):
    for call, args, item, event in (
        ("sudo_set_subnet_owner_cut", {"subnet_owner_cut": 1000}, "SubnetOwnerCut", "SubnetOwnerCutSet"),
        ("sudo_set_stake_threshold", {"min_stake": 5}, "StakeThreshold", "StakeThresholdSet"),
        ("sudo_set_admin_freeze_window", {"window": 3}, "AdminFreezeWindow", "AdminFreezeWindowSet"),
        ("sudo_set_max_epochs_per_block", {"max_epochs_per_block": 2}, "MaxEpochsPerBlock", "MaxEpochsPerBlockSet"),
    ):
        h.assert_noop(chain, alice, AU, call, "BadOrigin", **args)
        events = chain.dispatch("root", AU, call, **args)
        (value,) = args.values()
        assert chain.query(ST, item) == value and (ST, event, value) in events
    h.assert_noop(chain, "root", AU, "sudo_set_max_epochs_per_block", "ValueNotInBounds", max_epochs_per_block=0)


def test_admin_utils_events(chain, alice):
    events = chain.dispatch(alice, AU, "sudo_set_yuma3_enabled", netuid=1, enabled=False)
    assert (AU, "Yuma3EnableToggled", {"netuid": 1, "enabled": False}) in events
    events = chain.dispatch(alice, AU, "sudo_set_burn_half_life", netuid=1, burn_half_life=50)
    assert (AU, "BurnHalfLifeSet", {"netuid": 1, "burn_half_life": 50}) in events
    mult = {"bits": 2 << 64}
    events = chain.dispatch(alice, AU, "sudo_set_burn_increase_mult", netuid=1, burn_increase_mult=mult)
    assert (AU, "BurnIncreaseMultSet", {"netuid": 1, "burn_increase_mult": mult}) in events
    assert chain.query(ST, "BurnIncreaseMult", 1) == mult


def test_alpha_values(chain, alice, h):
    h.assert_noop(chain, alice, AU, "sudo_set_alpha_values", "LiquidAlphaDisabled", netuid=1, alpha_low=2000,
                  alpha_high=3000)
    chain.dispatch(alice, AU, "sudo_set_liquid_alpha_enabled", netuid=1, enabled=True)
    h.assert_noop(chain, alice, AU, "sudo_set_alpha_values", "AlphaHighTooLow", netuid=1, alpha_low=100,
                  alpha_high=1000)
    h.assert_noop(chain, alice, AU, "sudo_set_alpha_values", "AlphaLowOutOfRange", netuid=1, alpha_low=5000,
                  alpha_high=3000)
    chain.dispatch(alice, AU, "sudo_set_alpha_values", netuid=1, alpha_low=2000, alpha_high=3000)
    assert chain.query(ST, "AlphaValues", 1) == (2000, 3000)


def test_owner_hotkey(chain, alice, bob, h):
    new = h.key("new-owner-hot")
    events = chain.dispatch(alice, AU, "sudo_set_sn_owner_hotkey", netuid=1, hotkey=new)
    assert (ST, "SubnetOwnerHotkeySet", (1, new)) in events and chain.query(ST, "SubnetOwnerHotkey", 1) == new
    chain.dispatch("root", AU, "sudo_set_subnet_owner_hotkey", netuid=1, hotkey=alice)
    h.assert_noop(chain, bob, AU, "sudo_set_sn_owner_hotkey", "BadOrigin", netuid=1, hotkey=new)
    h.assert_noop(chain, "root", AU, "sudo_set_sn_owner_hotkey", "SubnetNotExists", netuid=9, hotkey=new)


def test_setter_errors(chain, alice, bob, h):
    def noop(origin, call, error, **args):
        h.assert_noop(chain, origin, AU, call, error, **args)

    noop("root", "sudo_set_kappa", "SubnetDoesNotExist", netuid=9, kappa=1)
    noop(alice, "sudo_set_max_allowed_uids", "MaxAllowedUidsGreaterThanDefaultMaxAllowedUids", netuid=1,
         max_allowed_uids=257)
    noop(alice, "sudo_set_max_allowed_uids", "MaxAllowedUidsLessThanMinAllowedUids", netuid=1, max_allowed_uids=0)
    h.register(chain, bob, h.key("a"))
    noop(alice, "sudo_set_max_allowed_uids", "MaxAllowedUIdsLessThanCurrentUIds", netuid=1, max_allowed_uids=1)
    noop("root", "sudo_set_max_allowed_validators", "MaxValidatorsLargerThanMaxUIds", netuid=1,
         max_allowed_validators=300)
    noop(alice, "sudo_set_bonds_moving_average", "BondsMovingAverageMaxReached", netuid=1,
         bonds_moving_average=975_001)
    chain.dispatch("root", AU, "sudo_set_bonds_moving_average", netuid=1, bonds_moving_average=999_999)  # root may
    noop(alice, "sudo_set_alpha_sigmoid_steepness", "NegativeSigmoidSteepness", netuid=1, steepness=-1)
    chain.dispatch("root", AU, "sudo_set_alpha_sigmoid_steepness", netuid=1, steepness=-1)  # root may
    noop(alice, "sudo_set_min_burn", "ValueNotInBounds", netuid=1, min_burn=TAO)
    noop(alice, "sudo_set_max_burn", "ValueNotInBounds", netuid=1, max_burn=TAO // 10)
    noop("root", "sudo_set_min_allowed_uids", "MinAllowedUidsGreaterThanMaxAllowedUids", netuid=1,
         min_allowed_uids=256)
    noop("root", "sudo_set_min_allowed_uids", "MinAllowedUidsGreaterThanCurrentUids", netuid=1, min_allowed_uids=2)
    noop(alice, "sudo_set_activity_cutoff", "ActivityCutoffTooLow", netuid=1, activity_cutoff=359)
    noop(alice, "sudo_set_commit_reveal_weights_interval", "RevealPeriodTooLarge", netuid=1, interval=101)
    noop(alice, "sudo_set_commit_reveal_weights_interval", "RevealPeriodTooSmall", netuid=1, interval=0)
    noop(alice, "sudo_set_burn_half_life", "InvalidValue", netuid=1, burn_half_life=0)
    noop("root", "sudo_set_burn_half_life", "NotPermittedOnRootSubnet", netuid=0, burn_half_life=5)
    noop(alice, "sudo_set_burn_increase_mult", "InvalidValue", netuid=1, burn_increase_mult={"bits": 4 << 64})
    noop(alice, "sudo_set_network_pow_registration_allowed", "POWRegistrationDisabled", netuid=1,
         registration_allowed=True)


def test_admin_freeze_window(chain, alice, h):
    chain.dispatch("root", AU, "sudo_set_admin_freeze_window", window=5)
    chain.advance(16 - chain.head_number)  # block 17 is 3 blocks before the epoch at 20
    h.assert_noop(chain, alice, AU, "sudo_set_immunity_period", "AdminActionProhibitedDuringWeightsWindow", netuid=1,
                  immunity_period=5)
    chain.advance(5)
    chain.dispatch(alice, AU, "sudo_set_immunity_period", netuid=1, immunity_period=5)
