"""pallet_balances: TAO balances in rao (u64), kept in ``System.Account``; existential deposit 500 rao."""

from __future__ import annotations

from ..pallet import Constant, Pallet, StorageValue, call
from ..scale import U64, AccountId, Bool, Compact, F, V
from ..types import MultiAddress

EXISTENTIAL_DEPOSIT = 500


def lookup(address) -> bytes:
    """The account a ``MultiAddress`` names (``Id`` or ``Address32``)."""
    from ..pallet import DispatchError

    kind, value = address
    if kind in ("Id", "Address32"):
        return bytes(value)
    raise DispatchError(None, "CannotLookup", f"MultiAddress::{kind} is not supported on the devnet")


class Balances(Pallet):
    name = "Balances"
    index = 5
    module = "pallet_balances"
    docs = "Free balances of accounts, transfers, and the total issuance of TAO."

    TotalIssuance = StorageValue(U64, docs="The total units issued in the system.")
    InactiveIssuance = StorageValue(U64, docs="The total units of outstanding deactivated balance in the system.")

    _acct = [F("account", AccountId, "T::AccountId")]
    events = [
        V("Endowed", [F("account", AccountId, "T::AccountId"), F("free_balance", U64, "T::Balance")], "An account was created with some free balance."),
        V("DustLost", [F("account", AccountId, "T::AccountId"), F("amount", U64, "T::Balance")], "An account was removed whose balance was non-zero but below ExistentialDeposit."),
        V("Transfer", [F("from", AccountId, "T::AccountId"), F("to", AccountId, "T::AccountId"), F("amount", U64, "T::Balance")], "Transfer succeeded."),
        V("BalanceSet", [F("who", AccountId, "T::AccountId"), F("free", U64, "T::Balance")], "A balance was set by root."),
        V("Reserved", [F("who", AccountId, "T::AccountId"), F("amount", U64, "T::Balance")], "Some balance was reserved."),
        V("Unreserved", [F("who", AccountId, "T::AccountId"), F("amount", U64, "T::Balance")], "Some balance was unreserved."),
        V("ReserveRepatriated", [F("from", AccountId), F("to", AccountId), F("amount", U64, "T::Balance")], "Reserved balance was moved."),
        V("Deposit", [F("who", AccountId, "T::AccountId"), F("amount", U64, "T::Balance")], "Some amount was deposited (e.g. for transaction fees)."),
        V("Withdraw", [F("who", AccountId, "T::AccountId"), F("amount", U64, "T::Balance")], "Some amount was withdrawn from the account (e.g. for transaction fees)."),
        V("Slashed", [F("who", AccountId, "T::AccountId"), F("amount", U64, "T::Balance")], "Some amount was removed from the account (e.g. for misbehavior)."),
        V("Minted", [F("who", AccountId, "T::AccountId"), F("amount", U64, "T::Balance")], "Some amount was minted into an account."),
        V("Burned", [F("who", AccountId, "T::AccountId"), F("amount", U64, "T::Balance")], "Some amount was burned from an account."),
    ]
    errors = [
        ("VestingBalance", "Vesting balance too high to send value."),
        ("LiquidityRestrictions", "Account liquidity restrictions prevent withdrawal."),
        ("InsufficientBalance", "Balance too low to send value."),
        ("ExistentialDeposit", "Value too low to create account due to existential deposit."),
        ("Expendability", "Transfer/payment would kill account."),
        ("ExistingVestingSchedule", "A vesting schedule already exists for this account."),
        ("DeadAccount", "Beneficiary account must pre-exist."),
        ("TooManyReserves", "Number of named reserves exceed `MaxReserves`."),
        ("TooManyHolds", "Number of holds exceed `VariantCountOf<T::RuntimeHoldReason>`."),
        ("TooManyFreezes", "Number of freezes exceed `MaxFreezes`."),
        ("IssuanceDeactivated", "The issuance cannot be modified since it is already deactivated."),
        ("DeltaZero", "The delta cannot be zero."),
    ]
    constants = [Constant("ExistentialDeposit", U64, EXISTENTIAL_DEPOSIT, "The minimum amount required to keep an account open (rao).")]

    # ------------------------------------------------------------------ calls

    @call(0, F("dest", MultiAddress, "AccountIdLookupOf<T>"), F("value", Compact(U64), "T::Balance"))
    def transfer_allow_death(self, ctx, dest, value):
        """Transfer some liquid free balance to another account; the sender may be reaped."""
        self.transfer(ctx, ctx.ensure_signed(), lookup(dest), value, keep_alive=False)

    @call(2, F("source", MultiAddress, "AccountIdLookupOf<T>"), F("dest", MultiAddress, "AccountIdLookupOf<T>"),
          F("value", Compact(U64), "T::Balance"))
    def force_transfer(self, ctx, source, dest, value):
        """Exactly as `transfer_allow_death`, except the origin must be root and the source account may be specified."""
        ctx.ensure_root()
        self.transfer(ctx, lookup(source), lookup(dest), value, keep_alive=False)

    @call(3, F("dest", MultiAddress, "AccountIdLookupOf<T>"), F("value", Compact(U64), "T::Balance"))
    def transfer_keep_alive(self, ctx, dest, value):
        """Same as `transfer_allow_death`, but the transfer fails if it would kill the sender."""
        self.transfer(ctx, ctx.ensure_signed(), lookup(dest), value, keep_alive=True)

    @call(4, F("dest", MultiAddress, "AccountIdLookupOf<T>"), F("keep_alive", Bool, "bool"))
    def transfer_all(self, ctx, dest, keep_alive):
        """Transfer the entire transferable balance from the caller account."""
        who = ctx.ensure_signed()
        free = self.free_balance(ctx.state, who)
        amount = free - EXISTENTIAL_DEPOSIT if keep_alive else free
        if amount > 0:
            self.transfer(ctx, who, lookup(dest), amount, keep_alive=keep_alive)

    @call(8, F("who", MultiAddress, "AccountIdLookupOf<T>"), F("new_free", Compact(U64), "T::Balance"))
    def force_set_balance(self, ctx, who, new_free):
        """Set the free balance of an account (root only); changes the total issuance."""
        ctx.ensure_root()
        who = lookup(who)
        old = self.free_balance(ctx.state, who)
        self._set_free(ctx, who, new_free)
        self.TotalIssuance.set(ctx.state, self.TotalIssuance.get(ctx.state) - old + new_free)
        ctx.event(self.name, "BalanceSet", {"who": who, "free": new_free})

    # ------------------------------------------------------------------ for other pallets

    def free_balance(self, state, who: bytes) -> int:
        return self._system().Account.get(state, who)["data"]["free"]

    def transfer(self, ctx, src: bytes, dst: bytes, amount: int, keep_alive: bool = True) -> None:
        free = self.free_balance(ctx.state, src)
        if amount > free:
            raise self.error("InsufficientBalance", f"balance {free} rao, tried to send {amount}")
        remaining = free - amount
        if keep_alive and remaining < EXISTENTIAL_DEPOSIT:
            raise self.error("Expendability", f"{remaining} rao would remain, below the existential deposit")
        if self.free_balance(ctx.state, dst) + amount < EXISTENTIAL_DEPOSIT:
            raise self.error("ExistentialDeposit", f"{amount} rao cannot create an account (minimum {EXISTENTIAL_DEPOSIT})")
        if src == dst or amount == 0:
            return
        self._set_free(ctx, src, remaining)
        self._set_free(ctx, dst, self.free_balance(ctx.state, dst) + amount)
        ctx.event(self.name, "Transfer", {"from": src, "to": dst, "amount": amount})

    def withdraw(self, ctx, who: bytes, amount: int, keep_alive: bool = False, event: str | None = "Withdraw") -> None:
        """Take ``amount`` rao out of circulation from ``who`` (fees, burns, stake)."""
        free = self.free_balance(ctx.state, who)
        if amount > free:
            raise self.error("InsufficientBalance", f"balance {free} rao, needs {amount}")
        if keep_alive and free - amount < EXISTENTIAL_DEPOSIT:
            raise self.error("Expendability", "the withdrawal would kill the account")
        self._set_free(ctx, who, free - amount)
        self.TotalIssuance.set(ctx.state, self.TotalIssuance.get(ctx.state) - amount)
        if event and amount:
            ctx.event(self.name, event, {"who": who, "amount": amount})

    def deposit(self, ctx, who: bytes, amount: int, event: str | None = "Deposit") -> None:
        """Bring ``amount`` rao into circulation in ``who``'s account (rewards, unstaking, faucet)."""
        if amount == 0:
            return
        self._set_free(ctx, who, self.free_balance(ctx.state, who) + amount)
        self.TotalIssuance.set(ctx.state, self.TotalIssuance.get(ctx.state) + amount)
        if event:
            ctx.event(self.name, event, {"who": who, "amount": amount})

    def _set_free(self, ctx, who: bytes, free: int) -> None:
        system = self._system()
        existed = system.Account.contains(ctx.state, who)
        info = system.Account.get(ctx.state, who)
        if 0 < free < EXISTENTIAL_DEPOSIT and info["nonce"] == 0 and not existed:
            raise self.error("ExistentialDeposit")
        if free < EXISTENTIAL_DEPOSIT and existed and free < info["data"]["free"]:
            # Below the existential deposit the account is reaped and the dust burned.
            if free:
                self.TotalIssuance.set(ctx.state, self.TotalIssuance.get(ctx.state) - free)
                ctx.event(self.name, "DustLost", {"account": who, "amount": free})
            system.Account.remove(ctx.state, who)
            ctx.event(system.name, "KilledAccount", {"account": who})
            return
        info["data"]["free"] = free
        if not existed:
            info["providers"] = 1
            ctx.event(system.name, "NewAccount", {"account": who})
            ctx.event(self.name, "Endowed", {"account": who, "free_balance": free})
        system.Account.set(ctx.state, who, info)

    def _system(self):
        return self.runtime.pallet("System")

    def genesis(self, ctx, config):
        total = 0
        for who, amount in config.get("balances", []):
            info = self._system().Account.get(ctx.state, who)
            info["data"]["free"] = amount
            info["providers"] = 1
            self._system().Account.set(ctx.state, who, info)
            total += amount
        self.TotalIssuance.set(ctx.state, total)
