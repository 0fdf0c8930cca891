"""Neuron registration: ``burned_register`` / ``register`` (both pay the burn; the devnet has no
proof of work, as subtensor's ``register`` no longer checks it), ``root_register``, the per-block
burn decay and per-registration bump, pruning a full subnet, and the devnet ``faucet``.

When a subnet is full, the new hotkey replaces the uid subtensor's ``get_neuron_to_prune`` picks:
the lowest ``Emission`` among non-immune uids (ties: earliest registration, then lowest uid), never
the owner's immune hotkeys; immune uids are pruned only when fewer than ``MinNonImmuneUids``
non-immune ones exist.
"""

from __future__ import annotations

from functools import lru_cache

from ...pallet import call
from ...scale import U64, Bytes, F
from .types import ACCOUNT, NET_UID, ROOT, pays_no

__all__ = ["RegistrationMixin", "FAUCET_AMOUNT", "decay_factor_q32"]

FAUCET_AMOUNT = 1_000_000_000_000  #: rao per faucet call (1000 TAO), as subtensor's testnet faucet


def _mul_q32(value: int, factor_q32: int) -> int:
    return min((value * factor_q32) >> 32, (1 << 64) - 1)


def _pow_q32(base_q32: int, exp: int) -> int:
    result, factor = 1 << 32, base_q32
    while exp > 0:
        if exp & 1:
            result = _mul_q32(result, factor)
        exp >>= 1
        if exp > 0:
            factor = _mul_q32(factor, factor)
    return result


@lru_cache(maxsize=64)
def decay_factor_q32(half_life: int) -> int:
    """Per-block burn factor ``f`` (Q32) with ``f ** half_life == 1/2``, found as subtensor does (bisection)."""
    if half_life == 0:
        return 1 << 32
    lo, hi = 0, 1 << 32
    while lo + 1 < hi:
        mid = lo + ((hi - lo) >> 1)
        if _pow_q32(mid, half_life) > 1 << 31:
            hi = mid
        else:
            lo = mid
    return lo


class RegistrationMixin:
    """Registration calls and neuron bookkeeping of `SubtensorModule`."""

    # ------------------------------------------------------------------ accounts

    def create_account_if_non_existent(self, ctx, coldkey: bytes, hotkey: bytes) -> None:
        """Make ``coldkey`` the owner of a new ``hotkey`` (Owner, OwnedHotkeys)."""
        if self.Owner.contains(ctx.state, hotkey):
            return
        self.Owner.set(ctx.state, hotkey, coldkey)
        owned = self.OwnedHotkeys.get(ctx.state, coldkey)
        if hotkey not in owned:
            self.OwnedHotkeys.set(ctx.state, coldkey, owned + [hotkey])

    # ------------------------------------------------------------------ neurons

    def _set_at(self, state, item, key, index: int, value) -> None:
        vec = item.get(state, key)
        if index < len(vec):
            vec[index] = value
            item.set(state, key, vec)

    def set_last_update_for_uid(self, state, netuid: int, uid: int, block: int) -> None:
        vec = self.LastUpdate.get(state, netuid)
        vec += [0] * (self.SubnetworkN.get(state, netuid) - len(vec))
        if uid < len(vec):
            vec[uid] = block
            self.LastUpdate.set(state, netuid, vec)

    def append_neuron(self, ctx, netuid: int, hotkey: bytes) -> int:
        """Add ``hotkey`` as the next uid of the subnet; returns the uid."""
        state, block = ctx.state, ctx.block_number
        uid = self.SubnetworkN.get(state, netuid)
        self.SubnetworkN.set(state, netuid, uid + 1)
        for item, value in ((self.Active, True), (self.Emission, 0), (self.Consensus, 0), (self.Incentive, 0),
                            (self.Dividends, 0), (self.ValidatorTrust, 0), (self.ValidatorPermit, False)):
            item.set(state, netuid, item.get(state, netuid) + [value])
        self.set_last_update_for_uid(state, netuid, uid, block)
        self._bind(state, netuid, uid, hotkey, block)
        return uid

    def _bind(self, state, netuid: int, uid: int, hotkey: bytes, block: int) -> None:
        self.Keys.set(state, netuid, uid, hotkey)
        self.Uids.set(state, netuid, hotkey, uid)
        self.BlockAtRegistration.set(state, netuid, uid, block)
        self.IsNetworkMember.set(state, hotkey, netuid, True)

    def replace_neuron(self, ctx, netuid: int, uid: int, new_hotkey: bytes) -> None:
        """Give ``uid`` to ``new_hotkey``: the old hotkey leaves the subnet (keeping its stake)."""
        state = ctx.state
        old = self.Keys.get(state, netuid, uid)
        if self.SubnetOwnerHotkey.contains(state, netuid) and self.SubnetOwnerHotkey.get(state, netuid) == old:
            return  # the owner's hotkey is never replaced
        self.Uids.remove(state, netuid, old)
        self.IsNetworkMember.remove(state, old, netuid)
        self._set_at(state, self.Active, netuid, uid, True)
        self._bind(state, netuid, uid, new_hotkey, ctx.block_number)
        self.Axons.remove(state, netuid, old)
        self.Prometheus.remove(state, netuid, old)
        self.clear_neuron(state, netuid, uid)
        self.set_last_update_for_uid(state, netuid, uid, ctx.block_number)

    def clear_neuron(self, state, netuid: int, uid: int) -> None:
        """Zero a uid's epoch outputs, drop its weights and bonds, and zero weights pointing at it."""
        for item, zero in ((self.Emission, 0), (self.Consensus, 0), (self.Incentive, 0), (self.Dividends, 0),
                           (self.StakeWeight, 0), (self.ValidatorTrust, 0), (self.ValidatorPermit, False)):
            self._set_at(state, item, netuid, uid, zero)
        self.Bonds.remove(state, netuid, uid)
        self.Weights.remove(state, netuid, uid)
        for (_, row_uid), row in list(self.Weights.items(state, netuid)):
            if any(j == uid for j, _ in row):
                self.Weights.set(state, netuid, row_uid, [(j, 0 if j == uid else w) for j, w in row])

    def is_neuron_immune(self, state, netuid: int, uid: int, now: int) -> bool:
        registered = self.BlockAtRegistration.get(state, netuid, uid)
        return max(now - registered, 0) < self.ImmunityPeriod.get(state, netuid)

    def immune_owner_hotkeys(self, state, netuid: int) -> list[bytes]:
        """The owner's hotkeys that are never pruned: the owner hotkey first, then the oldest owned ones."""
        owner = self.SubnetOwner.get(state, netuid)
        limit = self.ImmuneOwnerUidsLimit.get(state, netuid)
        triples = []
        for hotkey in self.OwnedHotkeys.get(state, owner):
            uid = self.Uids.get(state, netuid, hotkey)
            if uid is not None:
                triples.append((self.BlockAtRegistration.get(state, netuid, uid), uid, hotkey))
        immune = [hk for _, _, hk in sorted(triples)[:limit]]
        owner_hotkey = self.SubnetOwnerHotkey.get(state, netuid)
        if (self.SubnetOwnerHotkey.contains(state, netuid) and self.Uids.get(state, netuid, owner_hotkey) is not None
                and owner_hotkey not in immune):
            immune = ([owner_hotkey] + immune)[:limit]
        return immune

    def get_neuron_to_prune(self, state, netuid: int, now: int) -> int | None:
        """The uid a new registration replaces on a full subnet, or None."""
        n = self.SubnetworkN.get(state, netuid)
        if n == 0:
            return None
        immortal = set(self.immune_owner_hotkeys(state, netuid))
        emission = self.Emission.get(state, netuid)
        best_free = best_immune = None
        free_count = 0
        for uid in range(n):
            if not self.Keys.contains(state, netuid, uid) or self.Keys.get(state, netuid, uid) in immortal:
                continue
            candidate = (emission[uid] if uid < len(emission) else 0, self.BlockAtRegistration.get(state, netuid, uid),
                         uid)
            if self.is_neuron_immune(state, netuid, uid, now):
                best_immune = candidate if best_immune is None else min(best_immune, candidate)
            else:
                free_count += 1
                best_free = candidate if best_free is None else min(best_free, candidate)
        if best_free is not None and free_count > self.MinNonImmuneUids.get(state, netuid):
            return best_free[2]
        return None if best_immune is None else best_immune[2]

    # ------------------------------------------------------------------ burn price

    def update_registration_prices(self, ctx) -> None:
        """Per block: decay every subnet's burn towards MinBurn (half-life BurnHalfLife) and reset counters."""
        state = ctx.state
        for (netuid,), added in list(self.NetworksAdded.items(state)):
            if not added:
                continue
            burn = new = self.Burn.get(state, netuid)
            half_life = self.BurnHalfLife.get(state, netuid)
            if half_life > 0 and ctx.block_number > 1:
                new = _mul_q32(burn, decay_factor_q32(half_life))
            new = min(max(new, self.MinBurn.get(state, netuid)), self.MaxBurn.get(state, netuid))
            if new != burn:
                self.Burn.set(state, netuid, new)
            self.RegistrationsThisBlock.set(state, netuid, 0)

    def bump_burn_after_registration(self, state, netuid: int) -> None:
        mult_bits = max(self.BurnIncreaseMult.get(state, netuid)["bits"], 1 << 64)
        new = (self.Burn.get(state, netuid) * mult_bits) >> 64
        self.Burn.set(state, netuid, min(max(new, self.MinBurn.get(state, netuid)), self.MaxBurn.get(state, netuid)))

    # ------------------------------------------------------------------ calls

    def do_register(self, ctx, netuid: int, hotkey: bytes) -> None:
        coldkey = ctx.ensure_signed()
        state = ctx.state
        if netuid == ROOT:
            raise self.error("RegistrationNotPermittedOnRootSubnet", "use root_register")
        if not self.if_subnet_exist(state, netuid):
            raise self.error("SubnetNotExists", f"subnet {netuid} does not exist")
        if not self.NetworkRegistrationAllowed.get(state, netuid):
            raise self.error("SubNetRegistrationDisabled")
        if self.Uids.contains(state, netuid, hotkey):
            raise self.error("HotKeyAlreadyRegisteredInSubNet")
        cost = self.Burn.get(state, netuid)
        balances = ctx.pallet("Balances")
        if balances.free_balance(state, coldkey) < cost:
            raise self.error("NotEnoughBalanceToStake", f"registration burns {cost} rao")
        self.create_account_if_non_existent(ctx, coldkey, hotkey)
        if self.Owner.get(state, hotkey) != coldkey:
            raise self.error("NonAssociatedColdKey", "the hotkey belongs to another coldkey")
        max_n = self.MaxAllowedUids.get(state, netuid)
        if max_n == 0:
            raise self.error("NoNeuronIdAvailable")
        full = self.SubnetworkN.get(state, netuid) >= max_n
        prune = self.get_neuron_to_prune(state, netuid, ctx.block_number) if full else None
        if full and prune is None:
            raise self.error("NoNeuronIdAvailable", "the subnet is full and every uid is immune")
        balances.withdraw(ctx, coldkey, cost)  # the burn is recycled
        self.TotalIssuance.set(state, max(self.TotalIssuance.get(state) - cost, 0))
        if full:
            self.replace_neuron(ctx, netuid, prune, hotkey)
            uid = prune
        else:
            uid = self.append_neuron(ctx, netuid, hotkey)
        self.bump_burn_after_registration(state, netuid)
        self.RegistrationsThisBlock.set(state, netuid, self.RegistrationsThisBlock.get(state, netuid) + 1)
        self.RAORecycledForRegistration.set(state, netuid, self.RAORecycledForRegistration.get(state, netuid) + cost)
        ctx.event(self.name, "NeuronRegistered", (netuid, uid, hotkey))

    @call(7, NET_UID("netuid"), ACCOUNT("hotkey"))
    def burned_register(self, ctx, netuid, hotkey):
        """Register ``hotkey`` (owned by the calling coldkey) on a subnet by burning the current Burn."""
        self.do_register(ctx, netuid, hotkey)

    @call(134, NET_UID("netuid"), ACCOUNT("hotkey"), F("limit_price", U64, "u64"))
    def register_limit(self, ctx, netuid, hotkey, limit_price):
        """``burned_register``, but only if this block's Burn (rao) is at most ``limit_price`` (rao)."""
        ctx.ensure_signed()
        if netuid == ROOT:
            raise self.error("RegistrationNotPermittedOnRootSubnet", "use root_register")
        if not self.if_subnet_exist(ctx.state, netuid):
            raise self.error("SubnetNotExists", f"subnet {netuid} does not exist")
        burn = self.Burn.get(ctx.state, netuid)
        if burn > limit_price:
            raise self.error("RegistrationPriceLimitExceeded", f"Burn is {burn} rao, above limit_price {limit_price}")
        self.do_register(ctx, netuid, hotkey)

    @call(6, NET_UID("netuid"), F("block_number", U64, "u64"), F("nonce", U64, "u64"), F("work", Bytes, "Vec<u8>"),
          ACCOUNT("hotkey"), ACCOUNT("coldkey"))
    def register(self, ctx, netuid, block_number, nonce, work, hotkey, coldkey):
        """Register a neuron; the proof-of-work arguments are ignored and the burn is paid, as on subtensor."""
        self.do_register(ctx, netuid, hotkey)

    @call(62, ACCOUNT("hotkey"))
    def root_register(self, ctx, hotkey):
        """Register ``hotkey`` on the root network (netuid 0); when full it replaces the lowest-stake uid."""
        state = ctx.state
        if not self.if_subnet_exist(state, ROOT):
            raise self.error("RootNetworkDoesNotExist")
        coldkey = ctx.ensure_signed()
        if self.RegistrationsThisBlock.get(state, ROOT) >= self.MaxRegistrationsPerBlock.get(state, ROOT):
            raise self.error("TooManyRegistrationsThisBlock")
        if self.Uids.contains(state, ROOT, hotkey):
            raise self.error("HotKeyAlreadyRegisteredInSubNet")
        self.create_account_if_non_existent(ctx, coldkey, hotkey)
        if self.SubnetworkN.get(state, ROOT) < self.MaxAllowedUids.get(state, ROOT):
            uid = self.append_neuron(ctx, ROOT, hotkey)
        else:
            stakes = [(self.TotalHotkeyAlpha.get(state, hk, ROOT), u) for (_, u), hk in self.Keys.items(state, ROOT)]
            lowest, uid = min(stakes)
            if lowest >= self.TotalHotkeyAlpha.get(state, hotkey, ROOT):
                raise self.error("StakeTooLowForRoot")
            self.replace_neuron(ctx, ROOT, uid, hotkey)
        self.RegistrationsThisBlock.set(state, ROOT, self.RegistrationsThisBlock.get(state, ROOT) + 1)
        ctx.event(self.name, "NeuronRegistered", (ROOT, uid, hotkey))

    @pays_no
    @call(60, F("block_number", U64, "u64"), F("nonce", U64, "u64"), F("work", Bytes, "Vec<u8>"))
    def faucet(self, ctx, block_number, nonce, work):
        """Devnet faucet: mint 1000 TAO to the caller. No proof of work is checked; the arguments are ignored."""
        coldkey = ctx.ensure_signed()
        ctx.pallet("Balances").deposit(ctx, coldkey, FAUCET_AMOUNT)
        self.TotalIssuance.set(ctx.state, self.TotalIssuance.get(ctx.state) + FAUCET_AMOUNT)
        ctx.event(self.name, "Faucet", (coldkey, FAUCET_AMOUNT))
