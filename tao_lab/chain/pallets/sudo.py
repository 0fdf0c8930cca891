"""pallet_sudo: one key (//Alice on the devnet) may dispatch any call with the root origin."""

from __future__ import annotations

from ..pallet import DispatchError, Pallet, StorageValue, call
from ..scale import AccountId, F, V
from ..types import DispatchResult, MultiAddress, RuntimeCall, Weight
from .balances import lookup


class Sudo(Pallet):
    name = "Sudo"
    index = 12
    module = "pallet_sudo"
    docs = "A single account with root access, for development chains."

    Key = StorageValue(AccountId, optional=True, docs="The `AccountId` of the sudo key.")

    events = [
        V("Sudid", [F("sudo_result", DispatchResult, "DispatchResult")], "A sudo call just took place."),
        V("KeyChanged", [F("old", AccountId, "Option<T::AccountId>"), F("new", AccountId, "T::AccountId")], "The sudo key has been updated."),
        V("KeyRemoved", [], "The key was permanently removed."),
        V("SudoAsDone", [F("sudo_result", DispatchResult, "DispatchResult")], "A `sudo_as` call just took place."),
    ]
    errors = [("RequireSudo", "Sender must be the Sudo account.")]

    def _ensure_sudo(self, ctx) -> bytes:
        who = ctx.ensure_signed()
        if self.Key.get(ctx.state) != who:
            raise self.error("RequireSudo")
        return who

    @call(0, F("call", RuntimeCall, "Box<<T as Config>::RuntimeCall>"), weight=1_000_000)
    def sudo(self, ctx, call):
        """Authenticates the sudo key and dispatches a function call with `Root` origin."""
        self._ensure_sudo(ctx)
        ctx.event(self.name, "Sudid", {"sudo_result": self._dispatch(ctx, call, root=True)})

    @call(1, F("call", RuntimeCall, "Box<<T as Config>::RuntimeCall>"), F("weight", Weight, "Weight"), weight=1_000_000)
    def sudo_unchecked_weight(self, ctx, call, weight):
        """Like `sudo`, with a weight given by the caller."""
        self._ensure_sudo(ctx)
        ctx.event(self.name, "Sudid", {"sudo_result": self._dispatch(ctx, call, root=True)})

    @call(2, F("new", MultiAddress, "AccountIdLookupOf<T>"), weight=1_000_000)
    def set_key(self, ctx, new):
        """Authenticates the current sudo key and sets the given account as the new sudo key."""
        old = self._ensure_sudo(ctx)
        new = lookup(new)
        self.Key.set(ctx.state, new)
        ctx.event(self.name, "KeyChanged", {"old": old, "new": new})

    @call(3, F("who", MultiAddress, "AccountIdLookupOf<T>"), F("call", RuntimeCall, "Box<<T as Config>::RuntimeCall>"),
          weight=1_000_000)
    def sudo_as(self, ctx, who, call):
        """Dispatches a call with a `Signed` origin from the given account."""
        self._ensure_sudo(ctx)
        ctx.event(self.name, "SudoAsDone", {"sudo_result": self._dispatch(ctx, call, signer=lookup(who))})

    def _dispatch(self, ctx, call, root=False, signer=None):
        """Run the inner call in its own transaction; its failure is reported in the event, not raised."""
        try:
            ctx.runtime.dispatch_nested(ctx, call, root=root, signer=signer)
            return ("Ok", ())
        except DispatchError as exc:
            return ("Err", ctx.runtime.dispatch_error_value(exc))

    def genesis(self, ctx, config):
        if config.get("key") is not None:
            self.Key.set(ctx.state, config["key"])
