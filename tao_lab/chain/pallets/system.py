"""frame_system: accounts and nonces, block number and hashes, events."""

from __future__ import annotations

from ..pallet import Constant, Pallet, StorageMap, StorageValue, call
from ..scale import U16, U32, U64, AccountId, Bytes, F, H256, V
from ..types import AccountInfo, DispatchError, DispatchInfo, Lazy

#: ``Vec<EventRecord>``, resolved by the runtime once ``RuntimeEvent`` exists.
EventRecords = Lazy("Vec<EventRecord>")


class System(Pallet):
    name = "System"
    index = 0
    module = "frame_system"
    docs = "Accounts, block numbers and hashes, and the events of the current block."

    Account = StorageMap("Blake2_128Concat", AccountId, AccountInfo, docs="The full account information for a particular account ID.")
    ExtrinsicCount = StorageValue(U32, docs="Total extrinsics count for the current block.")
    BlockHash = StorageMap("Twox64Concat", U32, H256, docs="Map of block numbers to block hashes.")
    Number = StorageValue(U32, docs="The current block number being processed.")
    ParentHash = StorageValue(H256, docs="Hash of the previous block.")
    Events = StorageValue(EventRecords, docs="Events deposited for the current block.")
    EventCount = StorageValue(U32, docs="The number of events in the `Events<T>` list.")

    events = [
        V("ExtrinsicSuccess", [F("dispatch_info", DispatchInfo, "DispatchInfo")], "An extrinsic completed successfully."),
        V("ExtrinsicFailed", [F("dispatch_error", DispatchError, "DispatchError"), F("dispatch_info", DispatchInfo, "DispatchInfo")],
          "An extrinsic failed."),
        V("CodeUpdated", [], "`:code` was updated."),
        V("NewAccount", [F("account", AccountId, "T::AccountId")], "A new account was created."),
        V("KilledAccount", [F("account", AccountId, "T::AccountId")], "An account was reaped."),
        V("Remarked", [F("sender", AccountId, "T::AccountId"), F("hash", H256, "T::Hash")], "On on-chain remark happened."),
    ]
    errors = [
        ("InvalidSpecName", "The name of specification does not match between the current runtime and the new runtime."),
        ("SpecVersionNeedsToIncrease", "The specification version is not allowed to decrease."),
        ("FailedToExtractRuntimeVersion", "Failed to extract the runtime version from the new runtime."),
        ("NonDefaultComposite", "Suicide called when the account has non-default composite data."),
        ("NonZeroRefCount", "There is a non-zero reference count preventing the account from being purged."),
        ("CallFiltered", "The origin filter prevent the call to be dispatched."),
    ]
    constants = [
        Constant("BlockHashCount", U32, 4096, "Maximum number of block number to block hash mappings to keep."),
        Constant("SS58Prefix", U16, 42, "The designated SS58 prefix of this chain."),
        Constant("ExistentialDepositHint", U64, 500, "Informational: Balances.ExistentialDeposit in rao."),
    ]

    @call(0, F("remark", Bytes, "Vec<u8>"), weight=1_000_000)
    def remark(self, ctx, remark):
        """Make some on-chain remark."""
        ctx.ensure_signed()

    @call(7, F("remark", Bytes, "Vec<u8>"), weight=1_000_000)
    def remark_with_event(self, ctx, remark):
        """Make some on-chain remark and emit an event."""
        from ..pallet import blake2_256

        who = ctx.ensure_signed()
        ctx.event(self.name, "Remarked", {"sender": who, "hash": blake2_256(remark)})

    # ------------------------------------------------------------------ helpers for other pallets

    def account(self, state, who: bytes) -> dict:
        return self.Account.get(state, who)

    def nonce(self, state, who: bytes) -> int:
        return self.Account.get(state, who)["nonce"]

    def inc_nonce(self, state, who: bytes) -> None:
        info = self.Account.get(state, who)
        info["nonce"] += 1
        self.Account.set(state, who, info)
