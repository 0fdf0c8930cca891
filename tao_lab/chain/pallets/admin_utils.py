"""pallet_admin_utils: the ``sudo_set_*`` hyperparameter setters of subtensor (pallet index 19).

Each call keeps subtensor's call index, name, arguments, origin and checks: some are root only
(through ``Sudo.sudo``), the rest accept the subnet owner's coldkey or root. Values land in
``SubtensorModule`` storage and most setters deposit the ``SubtensorModule`` event subtensor's own
setter deposits (``KappaSet``, ``TempoSet``, ...). Devnet differences: subnet owners are not rate
limited, and the admin freeze window (``AdminFreezeWindow``, last blocks before an epoch in which
owner changes are refused) is 0 at genesis.
"""

from __future__ import annotations

from ..pallet import Pallet, call
from ..scale import I16, U8, U16, U64, Bool, F, V
from .subtensor.types import ACCOUNT, NET_UID, ROOT, U64F64

__all__ = ["AdminUtils"]

ST = "SubtensorModule"
MIN_BURN_UPPER_BOUND = 1_000_000_000  # rao (1 TAO)
MAX_BURN_LOWER_BOUND = 100_000_000  # rao (0.1 TAO)
DEFAULT_MAX_ALLOWED_UIDS = 256
MAX_BURN_HALF_LIFE = 36_100
MIN_ALPHA = 65535 // 40  # 1638: smallest alpha_low / alpha_high
OWNER_MAX_BONDS_MOVING_AVERAGE = 975_000


def _hyper(index, name, arg, ty, type_name, item, *, root_only=False, event=None, window=True, exists=True,
           check=None, doc=""):
    """A call that stores one hyperparameter of one subnet, with subtensor's origin and checks."""

    def setter(self, ctx, netuid, **kwargs):
        value = kwargs[arg]
        st = ctx.pallet(ST)
        who = self._ensure_origin(ctx, st, netuid, root_only)
        if window:
            st.ensure_admin_window_open(ctx, netuid)
        if exists:
            self._ensure_subnet(ctx, st, netuid)
        if check is not None:
            check(self, ctx, st, netuid, value, who)
        getattr(st, item).set(ctx.state, netuid, value)
        if event:
            ctx.event(ST, event, (netuid, value))

    setter.__name__ = name
    return call(index, NET_UID("netuid"), F(arg, ty, type_name), docs=doc)(setter)


def _check_max_uids(self, ctx, st, netuid, value, who):
    if value < st.MinAllowedUids.get(ctx.state, netuid):
        raise self.error("MaxAllowedUidsLessThanMinAllowedUids")
    if st.SubnetworkN.get(ctx.state, netuid) > value:
        raise self.error("MaxAllowedUIdsLessThanCurrentUIds", "trim the subnet first")
    if value > DEFAULT_MAX_ALLOWED_UIDS:
        raise self.error("MaxAllowedUidsGreaterThanDefaultMaxAllowedUids", f"at most {DEFAULT_MAX_ALLOWED_UIDS}")


def _check_max_validators(self, ctx, st, netuid, value, who):
    if value > st.MaxAllowedUids.get(ctx.state, netuid):
        raise self.error("MaxValidatorsLargerThanMaxUIds")


def _check_activity_cutoff(self, ctx, st, netuid, value, who):
    if value < st.MinActivityCutoff.get(ctx.state):
        raise st.error("ActivityCutoffTooLow", f"at least {st.MinActivityCutoff.get(ctx.state)} blocks")


def _check_min_burn(self, ctx, st, netuid, value, who):
    if value >= MIN_BURN_UPPER_BOUND or value >= st.MaxBurn.get(ctx.state, netuid):
        raise self.error("ValueNotInBounds", f"min_burn must be below {MIN_BURN_UPPER_BOUND} rao and MaxBurn")


def _check_max_burn(self, ctx, st, netuid, value, who):
    if value <= MAX_BURN_LOWER_BOUND or value <= st.MinBurn.get(ctx.state, netuid):
        raise self.error("ValueNotInBounds", f"max_burn must be above {MAX_BURN_LOWER_BOUND} rao and MinBurn")


def _check_steepness(self, ctx, st, netuid, value, who):
    if who is not None and value < 0:
        raise self.error("NegativeSigmoidSteepness")


def _check_min_allowed_uids(self, ctx, st, netuid, value, who):
    if value >= st.MaxAllowedUids.get(ctx.state, netuid):
        raise self.error("MinAllowedUidsGreaterThanMaxAllowedUids")
    if value >= st.SubnetworkN.get(ctx.state, netuid):
        raise self.error("MinAllowedUidsGreaterThanCurrentUids")


def _check_reveal_period(self, ctx, st, netuid, value, who):
    if value > 100:
        raise st.error("RevealPeriodTooLarge")
    if value < 1:
        raise st.error("RevealPeriodTooSmall")


def _check_burn_half_life(self, ctx, st, netuid, value, who):
    if netuid == ROOT:
        raise self.error("NotPermittedOnRootSubnet")
    if not 0 < value <= MAX_BURN_HALF_LIFE:
        raise self.error("InvalidValue", f"burn_half_life must be in 1..={MAX_BURN_HALF_LIFE}")


class AdminUtils(Pallet):
    name = "AdminUtils"
    index = 19
    module = "pallet_admin_utils"
    docs = "Root and subnet-owner setters of subtensor's hyperparameters."

    events = [
        V("Yuma3EnableToggled", [NET_UID("netuid", "The network identifier."),
                                 F("enabled", Bool, "bool", "Indicates if the Yuma3 enable was enabled or disabled.")],
          "Event emitted when the Yuma3 enable is toggled.", index=1),
        V("BondsResetToggled", [NET_UID("netuid", "The network identifier."),
                                F("enabled", Bool, "bool", "Indicates if the Bonds Reset was enabled or disabled.")],
          "Event emitted when Bonds Reset is toggled.", index=2),
        V("BurnHalfLifeSet", [NET_UID("netuid", "The network identifier."),
                              F("burn_half_life", U16, "u16", "The new burn half-life value.")],
          "Event emitted when the burn half-life parameter is set for a subnet.", index=3),
        V("BurnIncreaseMultSet", [NET_UID("netuid", "The network identifier."),
                                  F("burn_increase_mult", U64F64, "U64F64", "The new burn increase multiplier.")],
          "Event emitted when the burn increase multiplier is set for a subnet.", index=4),
    ]
    errors = [
        ("SubnetDoesNotExist", "The subnet does not exist, check the netuid parameter"),
        ("MaxValidatorsLargerThanMaxUIds", ("The maximum number of subnet validators must be less than the maximum "
                                            "number of allowed UIDs in the subnet.")),
        ("MaxAllowedUIdsLessThanCurrentUIds", ("The maximum number of subnet validators must be more than the current "
                                               "number of UIDs already in the subnet.")),
        ("BondsMovingAverageMaxReached", "The maximum value for bonds moving average is reached"),
        ("NegativeSigmoidSteepness", "Only root can set negative sigmoid steepness values"),
        ("ValueNotInBounds", "Value not in allowed bounds."),
        ("MinAllowedUidsGreaterThanCurrentUids", ("The minimum allowed UIDs must be less than the current number of "
                                                  "UIDs in the subnet.")),
        ("MinAllowedUidsGreaterThanMaxAllowedUids", ("The minimum allowed UIDs must be less than the maximum allowed "
                                                     "UIDs.")),
        ("MaxAllowedUidsLessThanMinAllowedUids", ("The maximum allowed UIDs must be greater than the minimum allowed "
                                                  "UIDs.")),
        ("MaxAllowedUidsGreaterThanDefaultMaxAllowedUids", ("The maximum allowed UIDs must be less than the default "
                                                            "maximum allowed UIDs.")),
        ("InvalidValue", "Bad parameter value"),
        ("NotPermittedOnRootSubnet", "Operation is not permitted on the root network."),
        ("POWRegistrationDisabled", "POW Registration has been deprecated"),
        ("Deprecated", "Call is deprecated"),
    ]

    # ------------------------------------------------------------------ helpers

    def _ensure_origin(self, ctx, st, netuid: int, root_only: bool) -> bytes | None:
        """None for root; the owner's coldkey when owners may call; BadOrigin otherwise."""
        if root_only:
            ctx.ensure_root()
            return None
        return st.ensure_subnet_owner_or_root(ctx, netuid)

    def _ensure_subnet(self, ctx, st, netuid: int) -> None:
        if not st.if_subnet_exist(ctx.state, netuid):
            raise self.error("SubnetDoesNotExist", f"subnet {netuid} does not exist")

    # ------------------------------------------------------------------ one-value setters

    sudo_set_serving_rate_limit = _hyper(3, "sudo_set_serving_rate_limit", "serving_rate_limit", U64, "u64",
                                         "ServingRateLimit", event="ServingRateLimitSet", exists=False,
                                         doc="Owner or root sets the serving rate limit (blocks).")
    sudo_set_weights_version_key = _hyper(6, "sudo_set_weights_version_key", "weights_version_key", U64, "u64",
                                          "WeightsVersionKey", event="WeightsVersionKeySet",
                                          doc="Owner or root sets the minimum version_key of set_weights.")
    sudo_set_weights_set_rate_limit = _hyper(7, "sudo_set_weights_set_rate_limit", "weights_set_rate_limit", U64,
                                             "u64", "WeightsSetRateLimit", root_only=True, window=False,
                                             event="WeightsSetRateLimitSet",
                                             doc="Root sets the blocks a validator waits between set_weights.")
    sudo_set_immunity_period = _hyper(13, "sudo_set_immunity_period", "immunity_period", U16, "u16", "ImmunityPeriod",
                                      event="ImmunityPeriodSet", doc="Owner or root sets the immunity period (blocks).")
    sudo_set_min_allowed_weights = _hyper(14, "sudo_set_min_allowed_weights", "min_allowed_weights", U16, "u16",
                                          "MinAllowedWeights", event="MinAllowedWeightSet",
                                          doc="Owner or root sets the minimum number of weights in set_weights.")
    sudo_set_max_allowed_uids = _hyper(15, "sudo_set_max_allowed_uids", "max_allowed_uids", U16, "u16",
                                       "MaxAllowedUids", event="MaxAllowedUidsSet", check=_check_max_uids,
                                       doc="Owner or root sets the subnet's maximum number of uids (<= 256).")
    sudo_set_kappa = _hyper(16, "sudo_set_kappa", "kappa", U16, "u16", "Kappa", root_only=True, window=False,
                            event="KappaSet", doc="Root sets kappa, the consensus majority (u16).")
    sudo_set_rho = _hyper(17, "sudo_set_rho", "rho", U16, "u16", "Rho", doc="Owner or root sets rho.")
    sudo_set_activity_cutoff = _hyper(18, "sudo_set_activity_cutoff", "activity_cutoff", U16, "u16", "ActivityCutoff",
                                      event="ActivityCutoffSet", check=_check_activity_cutoff,
                                      doc="Owner or root sets the legacy ActivityCutoff (the epoch uses "
                                          "ActivityCutoffFactorMilli).")
    sudo_set_min_burn = _hyper(22, "sudo_set_min_burn", "min_burn", U64, "TaoBalance", "MinBurn", event="MinBurnSet",
                               check=_check_min_burn, doc="Owner or root sets the minimum registration burn (rao).")
    sudo_set_max_burn = _hyper(23, "sudo_set_max_burn", "max_burn", U64, "TaoBalance", "MaxBurn", event="MaxBurnSet",
                               check=_check_max_burn, doc="Owner or root sets the maximum registration burn (rao).")
    sudo_set_difficulty = _hyper(24, "sudo_set_difficulty", "difficulty", U64, "u64", "Difficulty", root_only=True,
                                 event="DifficultySet", doc="Root sets the PoW difficulty (unused on the devnet).")
    sudo_set_max_allowed_validators = _hyper(25, "sudo_set_max_allowed_validators", "max_allowed_validators", U16,
                                             "u16", "MaxAllowedValidators", root_only=True,
                                             event="MaxAllowedValidatorsSet", check=_check_max_validators,
                                             doc="Root sets how many uids get a validator permit.")
    sudo_set_bonds_penalty = _hyper(60, "sudo_set_bonds_penalty", "bonds_penalty", U16, "u16", "BondsPenalty",
                                    event="BondsPenaltySet", doc="Owner or root sets the bonds penalty (u16).")
    sudo_set_max_registrations_per_block = _hyper(27, "sudo_set_max_registrations_per_block",
                                                  "max_registrations_per_block", U16, "u16",
                                                  "MaxRegistrationsPerBlock", root_only=True,
                                                  event="MaxRegistrationsPerBlockSet",
                                                  doc="Root sets the registrations allowed per block.")
    sudo_set_commit_reveal_weights_enabled = _hyper(49, "sudo_set_commit_reveal_weights_enabled", "enabled", Bool,
                                                    "bool", "CommitRevealWeightsEnabled", event="CommitRevealEnabled",
                                                    doc="Owner or root turns commit-reveal weights on or off.")
    sudo_set_liquid_alpha_enabled = _hyper(50, "sudo_set_liquid_alpha_enabled", "enabled", Bool, "bool",
                                           "LiquidAlphaOn", exists=False,
                                           doc="Owner or root turns liquid alpha (Yuma3 bonds) on or off.")
    sudo_set_commit_reveal_weights_interval = _hyper(57, "sudo_set_commit_reveal_weights_interval", "interval", U64,
                                                     "u64", "RevealPeriodEpochs", event="CommitRevealPeriodsSet",
                                                     check=_check_reveal_period,
                                                     doc="Owner or root sets the epochs between commit and reveal.")
    sudo_set_subtoken_enabled = _hyper(66, "sudo_set_subtoken_enabled", "subtoken_enabled", Bool, "bool",
                                       "SubtokenEnabled", root_only=True, exists=False,
                                       doc="Root enables or disables staking on a subnet.")
    sudo_set_alpha_sigmoid_steepness = _hyper(68, "sudo_set_alpha_sigmoid_steepness", "steepness", I16, "i16",
                                              "AlphaSigmoidSteepness", check=_check_steepness,
                                              doc="Owner or root sets the liquid-alpha sigmoid steepness "
                                                  "(negative: root only).")
    sudo_set_min_allowed_uids = _hyper(79, "sudo_set_min_allowed_uids", "min_allowed_uids", U16, "u16",
                                       "MinAllowedUids", root_only=True, event="MinAllowedUidsSet",
                                       check=_check_min_allowed_uids, doc="Root sets the subnet's minimum uids.")
    sudo_set_min_non_immune_uids = _hyper(84, "sudo_set_min_non_immune_uids", "min", U16, "u16", "MinNonImmuneUids",
                                          root_only=True, window=False, exists=False, event="MinNonImmuneUidsSet",
                                          doc="Root sets the non-immune uids kept before immune ones are pruned.")

    # ------------------------------------------------------------------ setters with their own logic

    @call(19, NET_UID("netuid"), F("registration_allowed", Bool, "bool"))
    def sudo_set_network_registration_allowed(self, ctx, netuid, registration_allowed):
        """Root opens or closes neuron registration on a subnet."""
        ctx.ensure_root()
        ctx.pallet(ST).NetworkRegistrationAllowed.set(ctx.state, netuid, registration_allowed)
        ctx.event(ST, "RegistrationAllowed", (netuid, registration_allowed))

    @call(20, NET_UID("netuid"), F("registration_allowed", Bool, "bool"))
    def sudo_set_network_pow_registration_allowed(self, ctx, netuid, registration_allowed):
        """Deprecated: proof-of-work registration is disabled."""
        raise self.error("POWRegistrationDisabled")

    @call(26, NET_UID("netuid"), F("bonds_moving_average", U64, "u64"))
    def sudo_set_bonds_moving_average(self, ctx, netuid, bonds_moving_average):
        """Owner (at most 975000) or root sets the bonds moving average (per million)."""
        st = ctx.pallet(ST)
        who = self._ensure_origin(ctx, st, netuid, False)
        st.ensure_admin_window_open(ctx, netuid)
        if who is not None and bonds_moving_average > OWNER_MAX_BONDS_MOVING_AVERAGE:
            raise self.error("BondsMovingAverageMaxReached")
        self._ensure_subnet(ctx, st, netuid)
        st.BondsMovingAverage.set(ctx.state, netuid, bonds_moving_average)
        ctx.event(ST, "BondsMovingAverageSet", (netuid, bonds_moving_average))

    @call(28, F("subnet_owner_cut", U16, "u16"))
    def sudo_set_subnet_owner_cut(self, ctx, subnet_owner_cut):
        """Root sets the owners' share of subnet emission (u16, 11796 = 18%)."""
        ctx.ensure_root()
        ctx.pallet(ST).SubnetOwnerCut.set(ctx.state, subnet_owner_cut)
        ctx.event(ST, "SubnetOwnerCutSet", subnet_owner_cut)

    @call(30, NET_UID("netuid"), F("tempo", U16, "u16"))
    def sudo_set_tempo(self, ctx, netuid, tempo):
        """Root sets a subnet's tempo (any value) and restarts its epoch cycle from this block."""
        ctx.ensure_root()
        st = ctx.pallet(ST)
        st.ensure_admin_window_open(ctx, netuid)
        self._ensure_subnet(ctx, st, netuid)
        st.apply_tempo_with_cycle_reset(ctx, netuid, tempo)

    @call(42, F("min_stake", U64, "u64"))
    def sudo_set_stake_threshold(self, ctx, min_stake):
        """Root sets StakeThreshold: the stake (rao) needed to set weights and to count in the epoch."""
        ctx.ensure_root()
        ctx.pallet(ST).StakeThreshold.set(ctx.state, min_stake)
        ctx.event(ST, "StakeThresholdSet", min_stake)

    @call(51, NET_UID("netuid"), F("alpha_low", U16, "u16"), F("alpha_high", U16, "u16"))
    def sudo_set_alpha_values(self, ctx, netuid, alpha_low, alpha_high):
        """Owner or root sets the liquid-alpha bounds (u16; 1638 <= low <= high); liquid alpha must be on."""
        st = ctx.pallet(ST)
        self._ensure_origin(ctx, st, netuid, False)
        st.ensure_admin_window_open(ctx, netuid)
        if not st.LiquidAlphaOn.get(ctx.state, netuid):
            raise st.error("LiquidAlphaDisabled")
        if alpha_high < MIN_ALPHA:
            raise st.error("AlphaHighTooLow", f"alpha_high must be at least {MIN_ALPHA}")
        if not MIN_ALPHA <= alpha_low <= alpha_high:
            raise st.error("AlphaLowOutOfRange", f"need {MIN_ALPHA} <= alpha_low <= alpha_high")
        st.AlphaValues.set(ctx.state, netuid, (alpha_low, alpha_high))

    @call(64, NET_UID("netuid"), ACCOUNT("hotkey"))
    def sudo_set_subnet_owner_hotkey(self, ctx, netuid, hotkey):
        """Owner or root sets the subnet owner's hotkey."""
        self._set_owner_hotkey(ctx, netuid, hotkey)

    @call(67, NET_UID("netuid"), ACCOUNT("hotkey"))
    def sudo_set_sn_owner_hotkey(self, ctx, netuid, hotkey):
        """Owner or root sets the subnet owner's hotkey."""
        self._set_owner_hotkey(ctx, netuid, hotkey)

    def _set_owner_hotkey(self, ctx, netuid: int, hotkey: bytes) -> None:
        st = ctx.pallet(ST)
        st.ensure_subnet_owner_or_root(ctx, netuid)
        if not st.if_subnet_exist(ctx.state, netuid):
            raise st.error("SubnetNotExists")
        st.set_subnet_owner_hotkey(ctx, netuid, hotkey)

    @call(69, NET_UID("netuid"), F("enabled", Bool, "bool"))
    def sudo_set_yuma3_enabled(self, ctx, netuid, enabled):
        """Owner or root switches the subnet between original Yuma bonds and Yuma3 bonds."""
        st = ctx.pallet(ST)
        self._ensure_origin(ctx, st, netuid, False)
        st.ensure_admin_window_open(ctx, netuid)
        st.Yuma3On.set(ctx.state, netuid, enabled)
        ctx.event(self.name, "Yuma3EnableToggled", {"netuid": netuid, "enabled": enabled})

    @call(70, NET_UID("netuid"), F("enabled", Bool, "bool"))
    def sudo_set_bonds_reset_enabled(self, ctx, netuid, enabled):
        """Owner or root turns bonds reset on or off."""
        st = ctx.pallet(ST)
        self._ensure_origin(ctx, st, netuid, False)
        st.ensure_admin_window_open(ctx, netuid)
        st.BondsResetOn.set(ctx.state, netuid, enabled)
        ctx.event(ST, "BondsResetOnSet", (netuid, enabled))
        ctx.event(self.name, "BondsResetToggled", {"netuid": netuid, "enabled": enabled})

    @call(74, F("window", U16, "u16"))
    def sudo_set_admin_freeze_window(self, ctx, window):
        """Root sets the blocks before each epoch in which owner hyperparameter changes are refused."""
        ctx.ensure_root()
        ctx.pallet(ST).AdminFreezeWindow.set(ctx.state, window)
        ctx.event(ST, "AdminFreezeWindowSet", window)

    @call(89, NET_UID("netuid"), F("burn_half_life", U16, "u16"))
    def sudo_set_burn_half_life(self, ctx, netuid, burn_half_life):
        """Owner or root sets the blocks in which the registration burn halves (1..=36100)."""
        st = ctx.pallet(ST)
        who = self._ensure_origin(ctx, st, netuid, False)
        st.ensure_admin_window_open(ctx, netuid)
        self._ensure_subnet(ctx, st, netuid)
        _check_burn_half_life(self, ctx, st, netuid, burn_half_life, who)
        st.BurnHalfLife.set(ctx.state, netuid, burn_half_life)
        ctx.event(self.name, "BurnHalfLifeSet", {"netuid": netuid, "burn_half_life": burn_half_life})

    @call(90, NET_UID("netuid"), F("burn_increase_mult", U64F64, "U64F64"))
    def sudo_set_burn_increase_mult(self, ctx, netuid, burn_increase_mult):
        """Owner or root sets the factor (U64F64, 1..=3) the burn is multiplied by after each registration."""
        st = ctx.pallet(ST)
        self._ensure_origin(ctx, st, netuid, False)
        st.ensure_admin_window_open(ctx, netuid)
        self._ensure_subnet(ctx, st, netuid)
        if netuid == ROOT:
            raise self.error("NotPermittedOnRootSubnet")
        if not 1 << 64 <= burn_increase_mult["bits"] <= 3 << 64:
            raise self.error("InvalidValue", "burn_increase_mult must be in [1, 3]")
        st.BurnIncreaseMult.set(ctx.state, netuid, burn_increase_mult)
        ctx.event(self.name, "BurnIncreaseMultSet", {"netuid": netuid, "burn_increase_mult": burn_increase_mult})

    @call(96, F("max_epochs_per_block", U8, "u8"))
    def sudo_set_max_epochs_per_block(self, ctx, max_epochs_per_block):
        """Root sets how many subnet epochs may run in one block (at least 1)."""
        ctx.ensure_root()
        if max_epochs_per_block < 1:
            raise self.error("ValueNotInBounds")
        ctx.pallet(ST).MaxEpochsPerBlock.set(ctx.state, max_epochs_per_block)
        ctx.event(ST, "MaxEpochsPerBlockSet", max_epochs_per_block)

