"""Subnets: creation (genesis and ``register_network``), ``start_call``, the owner's tempo controls,
and the origin checks every subnet call uses (``ensure_subnet_owner_or_root`` and friends).

A new subnet gets subtensor's ``init_new_network`` treatment, with lab-friendly values in place of
mainnet's (`LAB_SUBNET_DEFAULTS`): tempo 10, no weights rate limit, commit-reveal off, a cheap burn,
short immunity. The owner's hotkey is registered as uid 0, as on subtensor.
"""

from __future__ import annotations

from ....errors import InputError
from ...pallet import DispatchError, call
from ...scale import U16, U32, F
from .types import ACCOUNT, NET_UID, ROOT

__all__ = ["SubnetsMixin", "token_symbol", "LAB_SUBNET_DEFAULTS", "HYPERPARAMETERS", "MIN_TEMPO", "MAX_TEMPO"]

MIN_TEMPO = 360  #: bounds of the owner-side ``set_tempo`` (root's ``sudo_set_tempo`` has none)
MAX_TEMPO = 50_400
MIN_ACTIVITY_CUTOFF_FACTOR_MILLI = 1_000
MAX_ACTIVITY_CUTOFF_FACTOR_MILLI = 50_000

#: genesis / config name -> storage item of the hyperparameter
HYPERPARAMETERS = {
    "tempo": "Tempo", "kappa": "Kappa", "rho": "Rho", "immunity_period": "ImmunityPeriod",
    "max_allowed_uids": "MaxAllowedUids", "min_allowed_uids": "MinAllowedUids",
    "max_allowed_validators": "MaxAllowedValidators", "min_allowed_weights": "MinAllowedWeights",
    "max_weights_limit": "MaxWeightsLimit", "weights_set_rate_limit": "WeightsSetRateLimit",
    "weights_version_key": "WeightsVersionKey", "commit_reveal_weights_enabled": "CommitRevealWeightsEnabled",
    "commit_reveal_period": "RevealPeriodEpochs", "yuma3_enabled": "Yuma3On", "liquid_alpha_enabled": "LiquidAlphaOn",
    "alpha_values": "AlphaValues", "alpha_sigmoid_steepness": "AlphaSigmoidSteepness",
    "bonds_moving_average": "BondsMovingAverage", "bonds_penalty": "BondsPenalty", "bonds_reset_enabled": "BondsResetOn",
    "activity_cutoff": "ActivityCutoff", "activity_cutoff_factor_milli": "ActivityCutoffFactorMilli",
    "burn": "Burn", "min_burn": "MinBurn", "max_burn": "MaxBurn", "burn_half_life": "BurnHalfLife",
    "serving_rate_limit": "ServingRateLimit", "registration_allowed": "NetworkRegistrationAllowed",
    "max_registrations_per_block": "MaxRegistrationsPerBlock", "min_non_immune_uids": "MinNonImmuneUids",
    "immune_owner_uids_limit": "ImmuneOwnerUidsLimit", "owner_cut_enabled": "OwnerCutEnabled",
}

#: What every new devnet subnet starts with (subtensor's init_new_network writes mainnet values here).
LAB_SUBNET_DEFAULTS = {
    "tempo": 10,                            # blocks between epochs (subtensor fast-blocks: 10)
    "max_allowed_uids": 256,
    "min_allowed_uids": 1,                  # mainnet 64; lets a lab shrink a subnet to a few uids
    "max_allowed_validators": 64,
    "min_allowed_weights": 1,
    "immunity_period": 30,                  # blocks (3 tempos); mainnet 5000
    "min_non_immune_uids": 0,               # mainnet 10: small lab subnets could otherwise never prune
    "yuma3_enabled": True,                  # as subtensor's init_new_network
    "weights_set_rate_limit": 0,            # mainnet 100 blocks
    "commit_reveal_weights_enabled": False,  # mainnet true
    "serving_rate_limit": 0,                # mainnet 50 blocks
    "burn": 1_000_000,                      # 0.001 TAO to register a neuron
    "min_burn": 500_000,
    "registration_allowed": True,
}


def ensure_signed_or_root(ctx) -> bytes | None:
    """The signer, or None for the root origin; BadOrigin for an unsigned call."""
    if ctx.root:
        return None
    return ctx.ensure_signed()


#: subtensor's token symbols for netuids 0-24: upper-case tau for root, then the Greek lower-case letters
#: (final sigma skipped, tau written "t"); later netuids get the root's symbol on the devnet.
_GREEK = ["\u03a4"] + [chr(c) for c in range(0x3B1, 0x3CA) if c != 0x3C2]
_GREEK[19] = "t"


def token_symbol(netuid: int) -> bytes:
    """The UTF-8 ``TokenSymbol`` of subnet ``netuid`` (subtensor's ``get_symbol_for_subnet`` for netuid < 25)."""
    return (_GREEK[netuid] if netuid < len(_GREEK) else _GREEK[0]).encode()


class SubnetsMixin:
    """Subnet creation and owner controls of `SubtensorModule`."""

    # ------------------------------------------------------------------ origins and small queries

    def if_subnet_exist(self, state, netuid: int) -> bool:
        return self.NetworksAdded.get(state, netuid)

    def ensure_subnet_owner_or_root(self, ctx, netuid: int) -> bytes | None:
        """The owner coldkey (signed) or None (root); BadOrigin for anyone else."""
        who = ensure_signed_or_root(ctx)
        if who is not None and self.SubnetOwner.get(ctx.state, netuid) != who:
            raise DispatchError(None, "BadOrigin", f"only the owner of subnet {netuid} or root may do this")
        return who

    def ensure_subnet_owner(self, ctx, netuid: int) -> bytes:
        who = ctx.ensure_signed()
        if self.SubnetOwner.get(ctx.state, netuid) != who:
            raise DispatchError(None, "BadOrigin", f"only the owner of subnet {netuid} may do this")
        return who

    def blocks_until_next_auto_epoch(self, state, netuid: int, now: int) -> int:
        tempo = self.Tempo.get(state, netuid)
        if tempo == 0:
            return (1 << 64) - 1
        return max(self.LastEpochBlock.get(state, netuid) + tempo - now, 0)

    def ensure_admin_window_open(self, ctx, netuid: int) -> None:
        """Refuse hyperparameter changes in the last ``AdminFreezeWindow`` blocks before an epoch."""
        tempo = self.Tempo.get(ctx.state, netuid)
        if tempo == 0:
            return
        pending = self.PendingEpochAt.get(ctx.state, netuid)
        remaining = self.blocks_until_next_auto_epoch(ctx.state, netuid, ctx.block_number)
        if (pending > 0 and pending > ctx.block_number) or remaining < self.AdminFreezeWindow.get(ctx.state):
            raise self.error("AdminActionProhibitedDuringWeightsWindow",
                             f"subnet {netuid} is {remaining} blocks from its epoch; wait until it has run")

    def get_owner_uid(self, state, netuid: int) -> int | None:
        """Uid of the subnet owner's hotkey, if that hotkey is registered on the subnet."""
        if not self.SubnetOwnerHotkey.contains(state, netuid):
            return None
        return self.Uids.get(state, netuid, self.SubnetOwnerHotkey.get(state, netuid))

    def set_subnet_owner_hotkey(self, ctx, netuid: int, hotkey: bytes) -> None:
        self.SubnetOwnerHotkey.set(ctx.state, netuid, hotkey)
        ctx.event(self.name, "SubnetOwnerHotkeySet", (netuid, hotkey))

    # ------------------------------------------------------------------ creation

    def init_new_network(self, ctx, netuid: int, params: dict | None = None) -> None:
        """Write a new subnet's bookkeeping and hyperparameters (`LAB_SUBNET_DEFAULTS` + ``params``)."""
        state = ctx.state
        self.SubnetworkN.set(state, netuid, 0)
        self.NetworksAdded.set(state, netuid, True)
        self.TotalNetworks.set(state, self.TotalNetworks.get(state) + 1)
        self.apply_hyperparameters(state, netuid, {**LAB_SUBNET_DEFAULTS, **(params or {})})
        self.TokenSymbol.set(state, netuid, token_symbol(netuid))
        tempo = self.Tempo.get(state, netuid)
        # subtensor staggers subnets' epochs: the first one runs netuid % tempo blocks early.
        self.LastEpochBlock.set(state, netuid, max(ctx.block_number - netuid % max(tempo, 1), 0))

    def apply_hyperparameters(self, state, netuid: int, params: dict) -> None:
        """Store hyperparameters given by their config names (see `HYPERPARAMETERS`)."""
        for key, value in params.items():
            item = HYPERPARAMETERS.get(key)
            if item is None:
                raise InputError(f"subnets[{netuid}].{key}",
                                 f"unknown hyperparameter; known: {', '.join(sorted(HYPERPARAMETERS))}")
            if key == "alpha_values":
                value = tuple(value)
            getattr(self, item).set(state, netuid, value)

    def create_subnet(self, ctx, netuid: int, coldkey: bytes, hotkey: bytes, params: dict | None = None) -> None:
        """A subnet owned by ``coldkey`` with ``hotkey`` registered as uid 0 (no lock cost is charged)."""
        self.init_new_network(ctx, netuid, params)
        self.create_account_if_non_existent(ctx, coldkey, hotkey)
        self.append_neuron(ctx, netuid, hotkey)
        self.SubnetMechanism.set(ctx.state, netuid, 0)  # stable: TAO and alpha 1:1
        self.NetworkRegisteredAt.set(ctx.state, netuid, ctx.block_number)
        self.SubnetOwner.set(ctx.state, netuid, coldkey)
        self.set_subnet_owner_hotkey(ctx, netuid, hotkey)

    def start_emission(self, ctx, netuid: int) -> int:
        """What ``start_call`` does: emission from the next block, staking enabled."""
        first = ctx.block_number + 1
        self.FirstEmissionBlockNumber.set(ctx.state, netuid, first)
        self.SubtokenEnabled.set(ctx.state, netuid, True)
        return first

    def next_netuid(self, state) -> int:
        netuid = 1
        while self.NetworksAdded.get(state, netuid):
            netuid += 1
        return netuid

    # ------------------------------------------------------------------ calls

    @call(59, ACCOUNT("hotkey"))
    def register_network(self, ctx, hotkey):
        """Register a new subnet owned by the caller, locking NetworkMinLockCost; ``hotkey`` becomes uid 0.
        Staking and emission start after the owner's ``start_call``."""
        coldkey = ctx.ensure_signed()
        state = ctx.state
        if self.Owner.contains(state, hotkey) and self.Owner.get(state, hotkey) != coldkey:
            raise self.error("NonAssociatedColdKey", "the hotkey belongs to another coldkey")
        count = sum(1 for (netuid,), added in self.NetworksAdded.items(state) if added and netuid != ROOT)
        if count >= self.SubnetLimit.get(state):
            raise self.error("SubnetLimitReached", f"{count} subnets exist; the devnet does not prune subnets")
        lock = self.NetworkMinLockCost.get(state)
        balances = ctx.pallet("Balances")
        if balances.free_balance(state, coldkey) < lock:
            raise self.error("CannotAffordLockCost", f"registering a subnet locks {lock} rao")
        netuid = self.next_netuid(state)
        balances.withdraw(ctx, coldkey, lock)
        self.create_subnet(ctx, netuid, coldkey, hotkey)
        self.SubnetLocked.set(state, netuid, lock)
        ctx.event(self.name, "NetworkAdded", (netuid, 0))

    @call(92, NET_UID("netuid"))
    def start_call(self, ctx, netuid):
        """Start emission on the caller's subnet from the next block and enable staking on it."""
        if not self.if_subnet_exist(ctx.state, netuid):
            raise self.error("SubnetNotExists")
        self.ensure_subnet_owner(ctx, netuid)
        if self.FirstEmissionBlockNumber.get(ctx.state, netuid) is not None:
            raise self.error("FirstEmissionBlockNumberAlreadySet")
        registered = self.NetworkRegisteredAt.get(ctx.state, netuid)
        if ctx.block_number < registered + self.StartCallDelay.get(ctx.state):
            raise self.error("NeedWaitingMoreBlocksToStarCall")
        ctx.event(self.name, "FirstEmissionBlockNumberSet", (netuid, self.start_emission(ctx, netuid)))

    @call(139, NET_UID("netuid"), F("tempo", U16, "u16"))
    def set_tempo(self, ctx, netuid, tempo):
        """Owner sets the subnet's tempo (360..=50400 blocks) and restarts the epoch cycle."""
        self.ensure_subnet_owner(ctx, netuid)
        if not MIN_TEMPO <= tempo <= MAX_TEMPO:
            raise self.error("TempoOutOfBounds", f"tempo must be in {MIN_TEMPO}..={MAX_TEMPO}; root may set any")
        self.ensure_admin_window_open(ctx, netuid)
        self.apply_tempo_with_cycle_reset(ctx, netuid, tempo)

    def apply_tempo_with_cycle_reset(self, ctx, netuid: int, tempo: int) -> None:
        self.Tempo.set(ctx.state, netuid, tempo)
        ctx.event(self.name, "TempoSet", (netuid, tempo))
        self.LastEpochBlock.set(ctx.state, netuid, ctx.block_number)

    @call(140, NET_UID("netuid"), F("factor_milli", U32, "u32"))
    def set_activity_cutoff_factor(self, ctx, netuid, factor_milli):
        """Owner or root sets the activity cutoff as a per-mille multiple of tempo (1000..=50000)."""
        who = self.ensure_subnet_owner_or_root(ctx, netuid)
        if not MIN_ACTIVITY_CUTOFF_FACTOR_MILLI <= factor_milli <= MAX_ACTIVITY_CUTOFF_FACTOR_MILLI:
            raise self.error("ActivityCutoffFactorMilliOutOfBounds")
        if who is not None:
            self.ensure_admin_window_open(ctx, netuid)
        self.ActivityCutoffFactorMilli.set(ctx.state, netuid, factor_milli)
        ctx.event(self.name, "ActivityCutoffFactorMilliSet", {"netuid": netuid, "factor_milli": factor_milli})

    @call(141, NET_UID("netuid"))
    def trigger_epoch(self, ctx, netuid):
        """Owner asks for an epoch AdminFreezeWindow blocks from now, ahead of the tempo schedule."""
        who = self.ensure_subnet_owner(ctx, netuid)
        if self.CommitRevealWeightsEnabled.get(ctx.state, netuid):
            raise self.error("DynamicTempoBlockedByCommitReveal")
        if self.PendingEpochAt.get(ctx.state, netuid) != 0:
            raise self.error("EpochTriggerAlreadyPending")
        window = self.AdminFreezeWindow.get(ctx.state)
        if self.blocks_until_next_auto_epoch(ctx.state, netuid, ctx.block_number) < window:
            raise self.error("AutoEpochAlreadyImminent")
        fires_at = ctx.block_number + window
        self.PendingEpochAt.set(ctx.state, netuid, fires_at)
        ctx.event(self.name, "EpochTriggered", {"netuid": netuid, "by": who, "fires_at": fires_at})

    # ------------------------------------------------------------------ genesis

    def genesis(self, ctx, config: dict) -> None:
        """Global values, the root network, and the subnets of ``config`` (see the package docstring)."""
        config = dict(config or {})
        state = ctx.state
        globals_ = {"block_emission": self.BlockEmission, "stake_threshold": self.StakeThreshold,
                    "subnet_owner_cut": self.SubnetOwnerCut, "network_min_lock_cost": self.NetworkMinLockCost,
                    "admin_freeze_window": self.AdminFreezeWindow, "subnet_limit": self.SubnetLimit,
                    "max_epochs_per_block": self.MaxEpochsPerBlock}
        self.NetworkMinLockCost.set(state, 100_000_000_000)  # 100 TAO on the devnet
        self.AdminFreezeWindow.set(state, 0)  # tempo 10 leaves no room for mainnet's 10-block freeze
        for key, item in globals_.items():
            if key in config:
                item.set(state, config.pop(key))
        try:
            self.TotalIssuance.set(state, ctx.pallet("Balances").TotalIssuance.get(state))
        except KeyError:  # a runtime without Balances (unit tests)
            pass
        if config.pop("root", True):
            self.NetworksAdded.set(state, ROOT, True)
            self.SubtokenEnabled.set(state, ROOT, True)
            self.MaxAllowedUids.set(state, ROOT, 64)  # root validators
            self.TokenSymbol.set(state, ROOT, token_symbol(ROOT))
            self.TotalNetworks.set(state, self.TotalNetworks.get(state) + 1)
        for i, subnet in enumerate(config.pop("subnets", [])):
            subnet = dict(subnet)
            netuid = subnet.pop("netuid", None)
            coldkey = subnet.pop("owner_coldkey", None) or subnet.pop("owner", None)
            hotkey = subnet.pop("owner_hotkey", None) or coldkey
            start = subnet.pop("start", True)
            if netuid is None or netuid == ROOT or coldkey is None:
                raise InputError(f"SubtensorModule.subnets[{i}]", "needs a netuid >= 1 and an owner_coldkey")
            self.create_subnet(ctx, netuid, bytes(coldkey), bytes(hotkey), subnet)
            if start:
                self.start_emission(ctx, netuid)
        if config:
            raise InputError("SubtensorModule", f"unknown genesis keys: {', '.join(sorted(config))}")
