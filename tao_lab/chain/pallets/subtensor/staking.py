"""Staking: ``add_stake`` / ``remove_stake`` and the hotkey share pools behind them.

The devnet's stake model is subtensor's *stable* subnet mechanism (``SubnetMechanism`` 0): one TAO
staked buys exactly one alpha and one alpha unstaked pays exactly one TAO. There are no liquidity
pools, swaps, slippage or fees, no root TAO weight and no child/parent hotkeys.

Stake is kept as subtensor keeps it: each (hotkey, netuid) is a share pool. ``TotalHotkeyAlpha``
is the pool's value in alpha (what the epoch reads as the hotkey's stake), ``TotalHotkeyShares``
its total shares and ``Alpha[(hotkey, coldkey, netuid)]`` a coldkey's shares, all shares as
``U64F64``. A coldkey's stake is ``shares * TotalHotkeyAlpha / TotalHotkeyShares``; emission added
to the pool (validator dividends after take) raises every nominator's stake in proportion.

The limit calls (``add_stake_limit``, ``remove_stake_limit``) take subtensor's ``limit_price`` in rao per
alpha. Under the stable mechanism the price is always exactly 1 TAO per alpha (``STABLE_PRICE`` =
1_000_000_000 rao), as subtensor's ``get_max_amount_add`` / ``get_max_amount_remove`` treat mechanism 0:
a buy limit at or above it, or a sell limit at or below it, executes in full; any other limit executes
nothing and fails with ``SlippageTooHigh`` (also with ``allow_partial``, where subtensor would go on with
a zero amount).
"""

from __future__ import annotations

from ...pallet import call
from ...scale import Bool, F
from .types import ACCOUNT, ALPHA, NET_UID, RAO_PER_TAO, ROOT, TAO

__all__ = ["StakingMixin", "MIN_STAKE", "STABLE_PRICE"]

STABLE_PRICE = RAO_PER_TAO  #: the alpha price under the stable mechanism, in rao per alpha (1 TAO)

MIN_STAKE = 2_000_000  #: DefaultMinStake: the smallest add_stake / partial remove_stake, in rao
ONE = 1 << 64  # U64F64 one


class StakingMixin:
    """Share pools and staking calls of `SubtensorModule`."""

    # ------------------------------------------------------------------ share pools

    def stake_of(self, state, hotkey: bytes, coldkey: bytes, netuid: int) -> int:
        """Alpha (rao) that ``coldkey`` has staked to ``hotkey`` on ``netuid``."""
        shares = self.Alpha.get(state, hotkey, coldkey, netuid)["bits"]
        total_shares = self.TotalHotkeyShares.get(state, hotkey, netuid)["bits"]
        if shares == 0 or total_shares == 0:
            return 0
        return shares * self.TotalHotkeyAlpha.get(state, hotkey, netuid) // total_shares

    def increase_stake_for_hotkey_and_coldkey(self, ctx, hotkey: bytes, coldkey: bytes, netuid: int,
                                              amount: int) -> None:
        """Buy ``amount`` alpha of shares in ``hotkey``'s pool for ``coldkey``."""
        if amount <= 0:
            return
        state = ctx.state
        staking = self.StakingHotkeys.get(state, coldkey)
        if hotkey not in staking:
            self.StakingHotkeys.set(state, coldkey, staking + [hotkey])
        value = self.TotalHotkeyAlpha.get(state, hotkey, netuid)
        total_shares = self.TotalHotkeyShares.get(state, hotkey, netuid)["bits"]
        new_shares = amount * ONE if total_shares == 0 or value == 0 else amount * total_shares // value
        shares = self.Alpha.get(state, hotkey, coldkey, netuid)["bits"]
        self.Alpha.set(state, hotkey, coldkey, netuid, {"bits": shares + new_shares})
        self.TotalHotkeyShares.set(state, hotkey, netuid, {"bits": total_shares + new_shares})
        self.TotalHotkeyAlpha.set(state, hotkey, netuid, value + amount)
        self._add_subnet_stake(state, netuid, amount)

    def decrease_stake_for_hotkey_and_coldkey(self, ctx, hotkey: bytes, coldkey: bytes, netuid: int,
                                              amount: int) -> None:
        """Sell ``amount`` alpha (at most the coldkey's stake) of ``coldkey``'s shares in ``hotkey``'s pool."""
        state = ctx.state
        value = self.TotalHotkeyAlpha.get(state, hotkey, netuid)
        total_shares = self.TotalHotkeyShares.get(state, hotkey, netuid)["bits"]
        shares = self.Alpha.get(state, hotkey, coldkey, netuid)["bits"]
        held = self.stake_of(state, hotkey, coldkey, netuid)
        if amount <= 0 or amount > held:
            return
        # Round the shares sold up, so what stays behind is never worth more than before.
        sold = shares if amount == held else min(-(-amount * total_shares // value), shares)
        if shares - sold == 0:
            self.Alpha.remove(state, hotkey, coldkey, netuid)
        else:
            self.Alpha.set(state, hotkey, coldkey, netuid, {"bits": shares - sold})
        self.TotalHotkeyShares.set(state, hotkey, netuid, {"bits": total_shares - sold})
        self.TotalHotkeyAlpha.set(state, hotkey, netuid, value - amount)
        self._add_subnet_stake(state, netuid, -amount)

    def increase_stake_for_hotkey(self, ctx, hotkey: bytes, netuid: int, amount: int) -> None:
        """Add ``amount`` alpha to ``hotkey``'s pool without new shares: every nominator gains pro rata.
        A pool without shares goes to the hotkey's owner, so no alpha is left unowned."""
        if amount <= 0:
            return
        state = ctx.state
        if self.TotalHotkeyShares.get(state, hotkey, netuid)["bits"] == 0:
            self.increase_stake_for_hotkey_and_coldkey(ctx, hotkey, self.Owner.get(state, hotkey), netuid, amount)
            return
        self.TotalHotkeyAlpha.set(state, hotkey, netuid, self.TotalHotkeyAlpha.get(state, hotkey, netuid) + amount)
        self._add_subnet_stake(state, netuid, amount)

    def _add_subnet_stake(self, state, netuid: int, delta: int) -> None:
        """Keep SubnetTAO, SubnetAlphaOut, TotalAlphaStaked and TotalStake equal to the stake held (1 alpha = 1 TAO)."""
        for item, key in ((self.SubnetTAO, (netuid,)), (self.SubnetAlphaOut, (netuid,)),
                          (self.TotalAlphaStaked, (netuid,)), (self.TotalStake, ())):
            item.set(state, *key, max(item.get(state, *key) + delta, 0))

    # ------------------------------------------------------------------ calls

    @call(2, ACCOUNT("hotkey"), NET_UID("netuid"), TAO("amount_staked"))
    def add_stake(self, ctx, hotkey, netuid, amount_staked):
        """Stake ``amount_staked`` rao of the caller's TAO to ``hotkey`` on ``netuid``; it buys the same amount of
        alpha (stable mechanism, 1:1)."""
        self.do_add_stake(ctx, hotkey, netuid, amount_staked)

    @call(88, ACCOUNT("hotkey"), NET_UID("netuid"), TAO("amount_staked"), TAO("limit_price"),
          F("allow_partial", Bool, "bool"))
    def add_stake_limit(self, ctx, hotkey, netuid, amount_staked, limit_price, allow_partial):
        """``add_stake`` at a price of at most ``limit_price`` rao per alpha. The devnet's price is always 1 TAO
        (1_000_000_000 rao) per alpha: a lower limit fails with SlippageTooHigh, any other stakes in full."""
        self.do_add_stake(ctx, hotkey, netuid, amount_staked, price_ok=limit_price >= STABLE_PRICE)

    def do_add_stake(self, ctx, hotkey: bytes, netuid: int, amount_staked: int, price_ok: bool = True) -> None:
        coldkey = ctx.ensure_signed()
        state = ctx.state
        if not self.if_subnet_exist(state, netuid):
            raise self.error("SubnetNotExists", f"subnet {netuid} does not exist")
        if not self.SubtokenEnabled.get(state, netuid):
            raise self.error("SubtokenDisabled", f"staking on subnet {netuid} starts after its owner's start_call")
        if amount_staked < MIN_STAKE:
            raise self.error("AmountTooLow", f"the minimum stake is {MIN_STAKE} rao")
        if not price_ok:
            raise self.error("SlippageTooHigh", f"the alpha price is {STABLE_PRICE} rao, above limit_price")
        balances = ctx.pallet("Balances")
        if balances.free_balance(state, coldkey) < amount_staked:
            raise self.error("NotEnoughBalanceToStake")
        if not self.Owner.contains(state, hotkey):
            raise self.error("HotKeyAccountNotExists", "register the hotkey on a subnet first")
        balances.withdraw(ctx, coldkey, amount_staked)
        self.increase_stake_for_hotkey_and_coldkey(ctx, hotkey, coldkey, netuid, amount_staked)
        ctx.event(self.name, "StakeAdded", (coldkey, hotkey, amount_staked, amount_staked, netuid, 0))

    @call(3, ACCOUNT("hotkey"), NET_UID("netuid"), ALPHA("amount_unstaked"))
    def remove_stake(self, ctx, hotkey, netuid, amount_unstaked):
        """Unstake up to ``amount_unstaked`` alpha from ``hotkey`` on ``netuid``; the caller receives the same
        amount of TAO. Amounts above the caller's stake are capped to it."""
        self.do_remove_stake(ctx, hotkey, netuid, amount_unstaked)

    @call(89, ACCOUNT("hotkey"), NET_UID("netuid"), ALPHA("amount_unstaked"), TAO("limit_price"),
          F("allow_partial", Bool, "bool"))
    def remove_stake_limit(self, ctx, hotkey, netuid, amount_unstaked, limit_price, allow_partial):
        """``remove_stake`` at a price of at least ``limit_price`` rao per alpha. The devnet's price is always 1 TAO
        (1_000_000_000 rao) per alpha: a higher limit fails with SlippageTooHigh, any other unstakes in full."""
        self.do_remove_stake(ctx, hotkey, netuid, amount_unstaked, price_ok=limit_price <= STABLE_PRICE)

    def do_remove_stake(self, ctx, hotkey: bytes, netuid: int, amount_unstaked: int, price_ok: bool = True) -> None:
        coldkey = ctx.ensure_signed()
        state = ctx.state
        if not self.SubtokenEnabled.get(state, netuid):
            raise self.error("SubtokenDisabled")
        amount = min(amount_unstaked, self.stake_of(state, hotkey, coldkey, netuid))
        if not self.if_subnet_exist(state, netuid):
            raise self.error("SubnetNotExists")
        if amount == 0:
            raise self.error("AmountTooLow", "nothing staked to unstake")
        if not price_ok:
            raise self.error("SlippageTooHigh", f"the alpha price is {STABLE_PRICE} rao, below limit_price")
        remaining = self.stake_of(state, hotkey, coldkey, netuid) - amount
        if remaining > 0 and amount < MIN_STAKE:
            raise self.error("AmountTooLow", f"a partial unstake must be at least {MIN_STAKE} rao")
        if not self.Owner.contains(state, hotkey):
            raise self.error("HotKeyAccountNotExists")
        self.decrease_stake_for_hotkey_and_coldkey(ctx, hotkey, coldkey, netuid, amount)
        ctx.pallet("Balances").deposit(ctx, coldkey, amount)
        ctx.event(self.name, "StakeRemoved", (coldkey, hotkey, amount, amount, netuid, 0))

    def total_stake_of_hotkey(self, state, hotkey: bytes) -> int:
        """Alpha staked to ``hotkey`` over all subnets but root (rao)."""
        return sum(v for (_, netuid), v in self.TotalHotkeyAlpha.items(state, hotkey) if netuid != ROOT)
