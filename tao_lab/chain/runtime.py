"""The runtime: pallets assembled into one state machine with one call type and one event type.

`Runtime` knows the pallets, builds ``RuntimeCall`` / ``RuntimeEvent`` from their declarations,
dispatches calls and serves the metadata. It holds no state: `tao_lab.chain.chain.Chain` applies
blocks to a store with it.
"""

from __future__ import annotations

import hashlib

from .pallet import Ctx, DispatchError, Pallet
from .runtime_api import api_id, runtime_apis
from .scale import F, H256, Enum, Struct, V, Vec
from .types import DispatchError as DispatchErrorType
from .types import Phase, RuntimeCall
from .pallets.system import EventRecords

SPEC_NAME = "node-subtensor"
IMPL_NAME = "tao-lab-devnet"
SPEC_VERSION = 300  #: the base of `Runtime.spec_version`, which adds a fingerprint of the metadata
TRANSACTION_VERSION = 1
METADATA_VERSIONS = (14, 15)

# Metadata blobs by runtime shape (pallet classes and indices): building them takes about a second,
# and tests and notebooks create many runtimes of the same shape.
_METADATA_CACHE: dict[tuple, dict[int, bytes]] = {}


def default_pallets() -> list[Pallet]:
    from .pallets.balances import Balances
    from .pallets.sudo import Sudo
    from .pallets.system import System
    from .pallets.timestamp import Timestamp
    from .pallets.transaction_payment import TransactionPayment

    from .pallets.admin_utils import AdminUtils
    from .pallets.aura import Aura
    from .pallets.commitments import Commitments
    from .pallets.mev_shield import MevShield
    from .pallets.subtensor import SubtensorModule

    return [System(), Timestamp(), Aura(), Balances(), TransactionPayment(), Sudo(), SubtensorModule(), Commitments(),
            AdminUtils(), MevShield()]


class Runtime:
    """Pallets, their call and event types, dispatch, and metadata."""

    spec_name = SPEC_NAME
    impl_name = IMPL_NAME
    transaction_version = TRANSACTION_VERSION
    metadata_versions = METADATA_VERSIONS

    def __init__(self, pallets: list[Pallet] | None = None):
        self.pallets = sorted(pallets if pallets is not None else default_pallets(), key=lambda p: p.index)
        self._by_name = {p.name: p for p in self.pallets}
        for p in self.pallets:
            p.runtime = self
        self.call_enums: dict[str, Enum] = {}
        self.event_enums: dict[str, Enum] = {}
        self.error_enums: dict[str, Enum] = {}
        self._calls: dict[str, dict[str, object]] = {}
        for p in self.pallets:
            calls = p.calls()
            if calls:
                self.call_enums[p.name] = Enum(
                    f"{p.module}::pallet::Call", [V(c.name, c.fields, c.docs, index=c.index) for c in calls],
                    "Contains a variant per dispatchable extrinsic that this pallet has.",
                )
                self._calls[p.name] = {c.name: c for c in calls}
            if p.events:
                self.event_enums[p.name] = Enum(f"{p.module}::pallet::Event", p.events, "The `Event` enum of this pallet")
            if p.errors:
                self.error_enums[p.name] = Enum(
                    f"{p.module}::pallet::Error", [V(name, [], docs) for name, docs in p.errors],
                    "The `Error` enum of this pallet.",
                )
        self.call_type = Enum("node_subtensor_runtime::RuntimeCall", [
            V(name, [F(None, enum, f"self::sp_api_hidden_includes_construct_runtime::hidden_include::dispatch::CallableCallFor<{name}, Runtime>")],
              index=self._by_name[name].index)
            for name, enum in self.call_enums.items()
        ])
        self.event_type = Enum("node_subtensor_runtime::RuntimeEvent", [
            V(name, [F(None, enum, f"{self._by_name[name].module}::Event<Runtime>")], index=self._by_name[name].index)
            for name, enum in self.event_enums.items()
        ])
        self.event_record = Struct("frame_system::EventRecord", [
            F("phase", Phase, "Phase"), F("event", self.event_type, "E"), F("topics", Vec(H256), "Vec<T>"),
        ])
        self.event_record.params = (("E", self.event_type), ("T", H256))
        RuntimeCall.target = self.call_type
        EventRecords.target = Vec(self.event_record)
        self._spec_version: int | None = None

    # ------------------------------------------------------------------ lookups

    def pallet(self, name: str) -> Pallet:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"the runtime has no pallet {name!r}") from None

    def call_def(self, pallet: str, name: str):
        try:
            return self._calls[pallet][name]
        except KeyError:
            raise KeyError(f"{pallet} has no call {name!r}") from None

    def metadata(self) -> bytes:
        """SCALE-encoded ``RuntimeMetadataPrefixed`` (``meta`` + V14): what ``state_getMetadata`` serves."""
        return self.metadata_at(14)

    def metadata_at(self, version: int) -> bytes | None:
        """``meta`` + metadata of ``version`` (14 or 15, see `METADATA_VERSIONS`); None for other versions.
        Built once per runtime shape and process."""
        if version not in self.metadata_versions:
            return None
        shape = tuple((type(p).__module__, type(p).__qualname__, p.index) for p in self.pallets)
        blobs = _METADATA_CACHE.setdefault(shape, {})
        if version not in blobs:
            from .metadata import build_metadata, build_metadata_v15

            blobs[version] = build_metadata(self) if version == 14 else build_metadata_v15(self)
        return blobs[version]

    @property
    def spec_version(self) -> int:
        """``SPEC_VERSION * 1_000_000`` plus a 6-digit fingerprint of the V14 and V15 metadata.

        It changes whenever the metadata does, without anyone remembering to bump it: clients cache
        metadata by genesis hash and spec version (bittensor 11 on disk), and the devnet's genesis hash
        is the same on every start, so a stale cache would otherwise decode a newer runtime wrongly.
        """
        if self._spec_version is None:
            digest = hashlib.blake2b(self.metadata_at(14) + self.metadata_at(15), digest_size=8).digest()
            self._spec_version = SPEC_VERSION * 1_000_000 + int.from_bytes(digest, "little") % 1_000_000
        return self._spec_version

    def version(self) -> dict:
        return {
            "specName": self.spec_name, "implName": self.impl_name, "authoringVersion": 1,
            "specVersion": self.spec_version, "implVersion": 1,
            "apis": [["0x" + api_id(api.name).hex(), api.version] for api in runtime_apis()],
            "transactionVersion": self.transaction_version, "stateVersion": 1,
        }

    # ------------------------------------------------------------------ dispatch

    def call_weight(self, call) -> int:
        pallet, (name, _) = call
        return self.call_def(pallet, name).weight

    def call_pays_fee(self, call) -> bool:
        pallet, (name, _) = call
        return self.call_def(pallet, name).pays_fee

    def dispatch(self, ctx: Ctx, call) -> None:
        """Run a decoded ``RuntimeCall`` value ``(pallet, (call, args))`` in ``ctx``."""
        pallet, (name, args) = call
        cdef = self.call_def(pallet, name)
        kwargs = args if isinstance(args, dict) else {}
        cdef.fn(self._by_name[pallet], ctx, **kwargs)

    def is_carrier(self, call) -> bool:
        """Whether ``call`` is ``MevShield.submit_encrypted``, which carries an encrypted extrinsic."""
        pallet, (name, _) = call
        return pallet == "MevShield" and name == "submit_encrypted" and "MevShield" in self._by_name

    def carried_extrinsic(self, state, ext) -> bytes | None:
        """The signed extrinsic that ``ext`` carries for the block author to include right after it:
        ``MevShield.submit_encrypted``'s ciphertext, decrypted (length-prefixed bytes). None for any other call.

        Raises `tao_lab.chain.extrinsic.InvalidTransaction` for a carrier that cannot be unshielded, or that
        is immortal or mortal for more than 8 blocks (subtensor's ``CheckMortality``: "outdated").
        """
        if not self.is_carrier(ext.call):
            return None
        from .extrinsic import InvalidTransaction, era_birth
        from .pallets.mev_shield import MAX_SHIELD_ERA_PERIOD

        era = era_birth(ext.era, 0)
        if era is None or era[1] > MAX_SHIELD_ERA_PERIOD:
            raise InvalidTransaction(f"Transaction is outdated: MevShield.submit_encrypted must be signed with a mortal "
                                     f"era of at most {MAX_SHIELD_ERA_PERIOD} blocks, got "
                                     f"{'an immortal one' if era is None else f'a period of {era[1]}'}")
        return self._by_name["MevShield"].unshield(state, ext.call[1][1]["ciphertext"])

    def dispatch_nested(self, ctx: Ctx, call, root: bool = False, signer: bytes | None = None) -> None:
        """Dispatch ``call`` from inside another call (sudo) in a transaction of its own."""
        inner = Ctx(ctx.state, self, ctx.block_number, origin=signer, root=root, events=ctx.events, phase=ctx.phase)
        ctx.state.begin()
        try:
            self.dispatch(inner, call)
        except DispatchError:
            ctx.state.rollback()
            raise
        ctx.state.commit_transaction()

    def dispatch_error_value(self, exc: DispatchError):
        """The ``sp_runtime::DispatchError`` value a failed call reports."""
        if exc.pallet is None:
            variant = DispatchErrorType.by_name.get(exc.error)
            if variant is None or variant.fields:
                return ("Other", None)
            return (exc.error, None)
        pallet = self._by_name[exc.pallet]
        index = pallet.error_names.index(exc.error)
        return ("Module", {"index": pallet.index, "error": bytes([index, 0, 0, 0])})

    def event_records(self, events: list) -> list[dict]:
        """``EventRecord`` values for ``(phase, pallet, name, payload)`` tuples deposited by calls."""
        return [{"phase": phase, "event": (pallet, (name, payload)), "topics": []} for phase, pallet, name, payload in events]
