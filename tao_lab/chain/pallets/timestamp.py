"""pallet_timestamp: the block's time, set by an inherent in every block."""

from __future__ import annotations

from ..pallet import Constant, Pallet, StorageValue, call
from ..scale import U64, Bool, Compact, F


class Timestamp(Pallet):
    name = "Timestamp"
    index = 2
    module = "pallet_timestamp"
    docs = "The time of the current block, in milliseconds since the Unix epoch."

    Now = StorageValue(U64, docs="The current time for the current block (ms).")
    DidUpdate = StorageValue(Bool, docs="Whether the timestamp has been updated in this block.")
    constants = [Constant("MinimumPeriod", U64, 0, "The minimum period between blocks (ms); 0 on the devnet.")]

    @call(0, F("now", Compact(U64), "T::Moment"), weight=0)
    def set(self, ctx, now):
        """Set the current time (an inherent: unsigned, first in every block)."""
        if ctx.origin is not None:
            from ..pallet import DispatchError

            raise DispatchError(None, "BadOrigin", "Timestamp.set is an inherent")
        self.Now.set(ctx.state, now)
        self.DidUpdate.set(ctx.state, True)

    def now(self, state) -> int:
        return self.Now.get(state)

    def on_finalize(self, ctx, number):
        self.DidUpdate.remove(ctx.state)
