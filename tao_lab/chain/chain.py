"""The chain: genesis, block import, transaction validity and historical state, with no I/O.

`Chain` applies blocks of extrinsics to a `VersionedStore` with a `Runtime`. The node wraps it with
RPC, a transaction pool, block timing and persistence; tests drive it directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

from . import extrinsic as X
from .pallet import Ctx, DispatchError, blake2_256
from .pallets.transaction_payment import compute_fee
from .runtime import Runtime
from .scale import compact_encode
from .state import Overlay, VersionedStore

DEV_NAMES = ("alice", "bob", "charlie", "dave", "eve", "ferdie")
DEV_PUBLIC = {
    "alice": "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d",
    "bob": "8eaf04151687736326c9fea17e25fc5287613693c912909cb226aa4794f26a48",
    "charlie": "90b5ab205c6974c9ea841be688864633dc9ca8a357843eeacf2314649965fe22",
    "dave": "306721211d5404bd9da88e0204360a1a9ab8b87c66c1bc2fcdd37f3c2222cc20",
    "eve": "e659a7a1628cdd93febc04a4e0646ea20e9f5f0ce097d9a05290d4a9e054df4e",
    "ferdie": "1cbd2d43530a44705ad088af313e18f80b53ef16b36177cd4b77b846f2a5f07c",
}
DEV_BALANCE = 1_000_000 * 10**9  # 1M TAO each
TAO = 10**9


def dev_accounts() -> dict[str, SimpleNamespace]:
    """The well-known dev accounts //Alice ... //Ferdie: ``.public`` (bytes), ``.uri``, ``.keypair()``."""

    def keypair(uri):
        from substrateinterface import Keypair

        return Keypair.create_from_uri(uri)

    return {
        n: SimpleNamespace(name=n, uri=f"//{n.capitalize()}", public=bytes.fromhex(DEV_PUBLIC[n]),
                           keypair=lambda uri=f"//{n.capitalize()}": keypair(uri))
        for n in DEV_NAMES
    }


def dev_genesis() -> dict:
    """Genesis config of the devnet: dev accounts funded, Alice sudo and owner of subnet 1."""
    accounts = dev_accounts()
    alice = accounts["alice"].public
    return {
        "Balances": {"balances": [(a.public, DEV_BALANCE) for a in accounts.values()]},
        "Sudo": {"key": alice},
        "SubtensorModule": {"subnets": [{"netuid": 1, "owner_coldkey": alice, "owner_hotkey": alice}]},
    }


@dataclass
class Block:
    number: int
    parent_hash: bytes
    state_root: bytes
    extrinsics_root: bytes
    extrinsics: list[bytes]
    hash: bytes = b""

    def header_bytes(self) -> bytes:
        return (self.parent_hash + compact_encode(self.number) + self.state_root + self.extrinsics_root + b"\x00")

    def header(self) -> dict:
        return {
            "parentHash": "0x" + self.parent_hash.hex(), "number": hex(self.number),
            "stateRoot": "0x" + self.state_root.hex(), "extrinsicsRoot": "0x" + self.extrinsics_root.hex(),
            "digest": {"logs": []},
        }


@dataclass
class Receipt:
    """What happened to one extrinsic in a block."""

    index: int
    hash: bytes
    success: bool
    error: DispatchError | None = None
    fee: int = 0
    events: list = field(default_factory=list)


class Chain:
    """Blocks and state. Not thread-safe: the node serialises access."""

    def __init__(self, runtime: Runtime | None = None, genesis: dict | None = None, journal=None):
        """``journal``: optional object with ``block(block, changes)`` and ``truncate(number)``
        methods, told about every import and truncation (persistence lives in the node)."""
        self.runtime = runtime or Runtime()
        self.store = VersionedStore()
        self.blocks: list[Block] = []
        self.by_hash: dict[bytes, int] = {}
        self.journal = journal
        self._genesis(genesis if genesis is not None else {})

    @classmethod
    def restore(cls, runtime: Runtime, saved, journal=None) -> "Chain":
        """A chain rebuilt from saved ``(blocks, {number: changes})`` without re-executing blocks."""
        blocks, changes = saved
        if not blocks:
            raise ValueError("no genesis block")
        chain = cls.__new__(cls)
        chain.runtime, chain.store, chain.blocks, chain.by_hash, chain.journal = runtime, VersionedStore(), [], {}, None
        for block in blocks:
            chain.store.commit(block.number, changes.get(block.number, {}))
            chain._append(block, None)
        chain.journal = journal
        return chain

    def _append(self, block: Block, changes) -> None:
        self.blocks.append(block)
        self.by_hash[block.hash] = block.number
        if self.journal is not None and changes is not None:
            self.journal.block(block, changes)

    @classmethod
    def dev(cls) -> "Chain":
        return cls(genesis=dev_genesis())

    # ------------------------------------------------------------------ reading

    @property
    def head(self) -> Block:
        return self.blocks[-1]

    @property
    def head_number(self) -> int:
        return len(self.blocks) - 1

    @property
    def genesis_hash(self) -> bytes:
        return self.blocks[0].hash

    def state(self, number: int | None = None) -> Overlay:
        """A scratch overlay on the state after block ``number`` (default: the head)."""
        return Overlay(self.store, self.head_number if number is None else number)

    def query(self, pallet: str, item: str, *keys, at: int | None = None):
        """A storage value, decoded (its default when absent)."""
        return getattr(self.runtime.pallet(pallet), item).get(self.state(at), *keys)

    def block_number(self, block_hash: bytes) -> int:
        try:
            return self.by_hash[block_hash]
        except KeyError:
            raise KeyError(f"unknown block 0x{block_hash.hex()}") from None

    # ------------------------------------------------------------------ transactions

    def validate(self, raw: bytes, pending: dict[bytes, int] | None = None) -> X.Extrinsic:
        """Check a transaction against the head, as the pool does; raise `InvalidTransaction`.

        ``pending`` counts transactions per signer already in the pool, so consecutive nonces
        submitted before inclusion are valid.
        """
        ext = X.decode(self.runtime, raw)
        if not ext.signed:
            raise X.InvalidTransaction("Transaction call is not expected (unsigned transactions are not accepted)")
        state = self.state()
        self._check_era(ext)
        era = X.era_birth(ext.era, self.head_number)
        era_hash = self.genesis_hash if era is None else self.blocks[era[0]].hash
        if not X.verify_signature(ext, X.signing_payload(ext, self.runtime, self.genesis_hash, era_hash)):
            raise X.InvalidTransaction("Transaction has a bad signature")
        expected = self.runtime.pallet("System").nonce(state, ext.signer) + (pending or {}).get(ext.signer, 0)
        if ext.nonce < expected:
            raise X.InvalidTransaction("Transaction is outdated")
        if ext.nonce > expected:
            raise X.InvalidTransaction("Transaction will be valid in the future")
        fee = self.fee(ext)
        if self.runtime.pallet("Balances").free_balance(state, ext.signer) < fee:
            raise X.InvalidTransaction("Inability to pay some fees (e.g. account balance too low)")
        return ext

    def _check_era(self, ext: X.Extrinsic) -> None:
        era = X.era_birth(ext.era, self.head_number + 1)
        if era is not None:
            birth, period = era
            if birth > self.head_number or self.head_number + 1 >= birth + period:
                raise X.InvalidTransaction("Transaction has an ancient birth block")

    def fee(self, ext: X.Extrinsic) -> int:
        """The fee in rao; 0 for the calls subtensor makes free (weights, serving, faucet)."""
        if not self.runtime.call_pays_fee(ext.call):
            return ext.tip
        return compute_fee(self.runtime.call_weight(ext.call), len(ext.raw), ext.tip)

    # ------------------------------------------------------------------ blocks

    def build_block(self, extrinsics: list, timestamp_ms: int) -> tuple[Block, list[Receipt]]:
        """Apply a block of signed extrinsics (after the timestamp inherent) and import it.

        Items are raw extrinsic bytes, or `Extrinsic` objects already decoded (those marked
        ``trusted`` skip the signature check: dev tools and tests). Invalid extrinsics (bad
        signature, wrong nonce, unpayable fee) are skipped, not included.
        """
        number = self.head_number + 1
        state = Overlay(self.store, self.head_number)
        system = self.runtime.pallet("System")
        events: list = []
        ctx = Ctx(state, self.runtime, number, events=events, phase=("Initialization", None))
        system.Number.set(state, number)
        system.ParentHash.set(state, self.head.hash)
        system.BlockHash.set(state, number - 1, self.head.hash)
        for p in self.runtime.pallets:
            p.on_initialize(ctx, number)

        inherent = self._timestamp_inherent(timestamp_ms)
        included, receipts = [inherent], []
        self._apply(ctx, X.decode(self.runtime, inherent), 0, receipts)
        for item in extrinsics:
            try:
                ext = item if isinstance(item, X.Extrinsic) else X.decode(self.runtime, item)
                self._check_in_block(state, ext)
            except X.InvalidTransaction:
                continue
            self._apply(ctx, ext, len(included), receipts)
            included.append(ext.raw)

        ctx.phase = ("Finalization", None)
        for p in self.runtime.pallets:
            p.on_finalize(ctx, number)
        system.Events.set(state, self.runtime.event_records(events))
        system.EventCount.set(state, len(events))
        system.ExtrinsicCount.set(state, len(included))
        changes = state.changes()
        state_root = blake2_256(self.head.state_root + b"".join(k + (v or b"") for k, v in sorted(changes.items())))
        block = Block(number, self.head.hash, state_root, blake2_256(b"".join(blake2_256(e) for e in included)), included)
        block.hash = blake2_256(block.header_bytes())
        self.store.commit(number, changes)
        self._append(block, changes)
        return block, receipts

    def _check_in_block(self, state: Overlay, ext: X.Extrinsic) -> None:
        if not ext.signed:
            raise X.InvalidTransaction("unsigned")
        if self.runtime.pallet("System").nonce(state, ext.signer) != ext.nonce:
            raise X.InvalidTransaction("nonce")
        if ext.trusted:
            return
        era = X.era_birth(ext.era, self.head_number)
        era_hash = self.genesis_hash if era is None else self.blocks[era[0]].hash
        if not X.verify_signature(ext, X.signing_payload(ext, self.runtime, self.genesis_hash, era_hash)):
            raise X.InvalidTransaction("signature")

    def _apply(self, ctx: Ctx, ext: X.Extrinsic, index: int, receipts: list[Receipt]) -> None:
        """Charge the fee and bump the nonce (kept even if the call fails), then dispatch."""
        state, runtime = ctx.state, self.runtime
        first_event = len(ctx.events)
        ctx.phase = ("ApplyExtrinsic", index)
        weight = runtime.call_weight(ext.call)
        fee = 0
        if ext.signed:
            fee = self.fee(ext)
            balances = runtime.pallet("Balances")
            if balances.free_balance(state, ext.signer) < fee:
                return  # cannot pay: not included (validated out of the pool normally)
            runtime.pallet("System").inc_nonce(state, ext.signer)
            if fee:
                balances.withdraw(ctx, ext.signer, fee)
        after_fee = len(ctx.events)
        call_ctx = Ctx(state, runtime, ctx.block_number, origin=ext.signer, events=ctx.events, phase=ctx.phase)
        state.begin()
        error = None
        try:
            runtime.dispatch(call_ctx, ext.call)
            state.commit_transaction()
        except DispatchError as exc:
            state.rollback()
            del ctx.events[after_fee:]  # the call's own events go with its writes
            error = exc
        info = {"weight": {"ref_time": weight, "proof_size": 0},
                "class": "Normal" if ext.signed else "Mandatory", "pays_fee": "Yes" if fee else "No"}
        if ext.signed:
            ctx.event("TransactionPayment", "TransactionFeePaid", {"who": ext.signer, "actual_fee": fee, "tip": ext.tip})
        if error is None:
            ctx.event("System", "ExtrinsicSuccess", {"dispatch_info": info})
        else:
            ctx.event("System", "ExtrinsicFailed", {"dispatch_error": runtime.dispatch_error_value(error), "dispatch_info": info})
        receipts.append(Receipt(index, ext.hash, error is None, error, fee, ctx.events[first_event:]))

    def _timestamp_inherent(self, timestamp_ms: int) -> bytes:
        ts = self.runtime.pallet("Timestamp")
        call = bytes([ts.index, 0]) + compact_encode(timestamp_ms)  # Timestamp.set(now: Compact<u64>)
        body = b"\x04" + call
        return compact_encode(len(body)) + body

    def _genesis(self, config: dict) -> None:
        state = Overlay(self.store, -1)
        ctx = Ctx(state, self.runtime, 0, root=True)
        for p in self.runtime.pallets:
            p.genesis(ctx, config.get(p.name, {}))
        self.runtime.pallet("System").Events.set(state, [])
        changes = state.changes()
        root = blake2_256(b"".join(k + (v or b"") for k, v in sorted(changes.items())))
        block = Block(0, bytes(32), root, blake2_256(b""), [])
        block.hash = blake2_256(block.header_bytes())
        self.store.commit(0, changes)
        self._append(block, changes)

    # ------------------------------------------------------------------ for tests and dev tools

    def dispatch(self, origin, pallet: str, call: str, **args) -> list:
        """Include one call from ``origin`` (32-byte account, "root" or None) in a new block.

        Signatures are not checked (this is for tests and dev tools); fees and nonces apply to a
        signed origin. Returns the call's events as ``(pallet, name, payload)``; raises the call's
        `DispatchError` (its writes rolled back, the block still imported).
        """
        value = (pallet, (call, args))
        if origin == "root":
            value, origin = ("Sudo", ("sudo", {"call": value})), dev_accounts()["alice"].public
        call_bytes = self.runtime.call_type.encode(value)
        ext = X.Extrinsic(raw=b"", hash=b"", call=value, call_bytes=call_bytes, signer=origin,
                          scheme="Sr25519", nonce=self.runtime.pallet("System").nonce(self.state(), origin) if origin else 0)
        ext.raw = compact_encode(len(call_bytes) + 1) + b"\x04" + call_bytes
        ext.hash = blake2_256(ext.raw)
        ext.trusted = True
        block, receipts = self.build_block([ext], self._next_timestamp())
        receipt = next((r for r in receipts if r.hash == ext.hash), None)
        if receipt is None:
            raise X.InvalidTransaction("Inability to pay some fees (e.g. account balance too low)")
        events = [(p, n, v) for (_, p, n, v) in receipt.events if p not in ("System", "TransactionPayment") and not (p == "Balances" and n == "Withdraw" and v["amount"] == receipt.fee)]
        if pallet != "Sudo" and value[0] == "Sudo":  # unwrap the sudo result
            result = next((v for p, n, v in events if p == "Sudo" and n == "Sudid"), None)
            if result and result["sudo_result"][0] == "Err":
                raise self._error_from_value(result["sudo_result"][1])
        if not receipt.success:
            raise receipt.error
        return events

    def _error_from_value(self, value) -> DispatchError:
        kind, payload = value
        if kind == "Module":
            pallet = next(p for p in self.runtime.pallets if p.index == payload["index"])
            return DispatchError(pallet.name, pallet.error_names[payload["error"][0]])
        return DispatchError(None, kind)

    def _next_timestamp(self) -> int:
        now = self.runtime.pallet("Timestamp").now(self.state())
        return now + 12_000 if now else 1_700_000_000_000

    def advance(self, blocks: int = 1, block_time_ms: int = 12_000) -> None:
        """Import ``blocks`` empty blocks (hooks run: emission, epochs)."""
        for _ in range(blocks):
            now = self.runtime.pallet("Timestamp").now(self.state())
            self.build_block([], now + block_time_ms if now else 1_700_000_000_000)

    def truncate(self, number: int) -> None:
        """Drop every block after ``number`` and its state (snapshot restore)."""
        if not 0 <= number <= self.head_number:
            raise ValueError(f"block {number} is not between genesis and the head {self.head_number}")
        for block in self.blocks[number + 1 :]:
            del self.by_hash[block.hash]
        del self.blocks[number + 1 :]
        self.store.truncate(number)
        if self.journal is not None:
            self.journal.truncate(number)
