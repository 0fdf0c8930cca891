"""The chain: genesis, block import, transaction validity and historical state, with no I/O.

`Chain` applies blocks of extrinsics to a `VersionedStore` with a `Runtime`. The node wraps it with
RPC, a transaction pool, block timing and persistence; tests drive it directly.

Memory is bounded: the state and bodies of the latest ``keep_blocks`` blocks are kept (default
`DEFAULT_KEEP_BLOCKS`), older ones are pruned in batches of `PRUNE_BATCH`, and reading them raises
`StatePruned`, as on a pruned Substrate node. Only the 32-byte hash of every block stays. The state
at genesis and at every `pin`-ned block (the node's snapshots) is copied before it is pruned, so
`truncate` back to them (``dev_reset``, ``dev_restore``) still works.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from types import SimpleNamespace

from . import extrinsic as X
from .pallet import Ctx, DispatchError, blake2_256
from .pallets.transaction_payment import compute_fee
from .runtime import Runtime
from .scale import compact_encode
from .state import Overlay, StatePruned, VersionedStore

log = logging.getLogger("tao_lab.chain")

DEFAULT_KEEP_BLOCKS = 4096  # blocks whose state and body stay in memory (~17 min at 0.25 s blocks)
PRUNE_BATCH = 256  # prune once this many blocks beyond keep_blocks have piled up (amortises the scan)
BLOCK_HASH_COUNT = 4096  # System::BlockHash keeps this many entries, as frame_system's BlockHashCount

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
    """Blocks and state. Not thread-safe: the node serialises access.

    ``keep_blocks``: how many of the latest blocks keep their state and body in memory (None: all,
    forever). Older ones are pruned; see the module docstring.
    """

    def __init__(self, runtime: Runtime | None = None, genesis: dict | None = None, journal=None,
                 keep_blocks: int | None = DEFAULT_KEEP_BLOCKS):
        """``journal``: optional object with ``block(block, changes)`` and ``truncate(number)``
        methods, told about every import and truncation (persistence lives in the node)."""
        self._empty(runtime or Runtime(), keep_blocks)
        self.journal = journal
        self._genesis(genesis if genesis is not None else {})

    def _empty(self, runtime: Runtime, keep_blocks: int | None) -> None:
        if keep_blocks is not None and (isinstance(keep_blocks, bool) or not isinstance(keep_blocks, int) or keep_blocks < 1):
            raise ValueError(f"keep_blocks must be a positive number of blocks or None, got {keep_blocks!r}")
        self.runtime = runtime
        self.keep_blocks = keep_blocks
        self.store = VersionedStore()
        self._hashes = bytearray()  # 32 bytes per block, every block: hashes outlive pruning
        self._recent: list[Block] = []  # blocks floor .. head, in full
        self.by_hash: dict[bytes, int] = {}  # of the blocks in _recent
        self._pins: set[int] = {0}  # blocks whose state is copied before it is pruned
        self._checkpoints: dict[int, tuple[Block, dict[bytes, bytes]]] = {}
        self.journal = None

    @classmethod
    def restore(cls, runtime: Runtime, saved, journal=None, keep_blocks: int | None = DEFAULT_KEEP_BLOCKS) -> "Chain":
        """A chain rebuilt from saved ``(block, changes)`` pairs in block order, without re-executing
        blocks. Each block is checked against its changes and its parent (hash, parent link, state
        and extrinsics roots), so a damaged record raises ValueError instead of loading."""
        chain = cls.__new__(cls)
        chain._empty(runtime, keep_blocks)
        for block, changes in saved:
            chain._check_record(block, changes)
            chain.store.commit(block.number, changes)
            if block.number == 0:
                chain._checkpoints[0] = (block, {k: v for k, v in changes.items() if v is not None})
            chain._append(block, None)
        if not chain._hashes:
            raise ValueError("no genesis block")
        chain.journal = journal
        return chain

    def _check_record(self, block: Block, changes: dict) -> None:
        """Raise ValueError unless ``block`` is the next block and its roots match ``changes``."""
        number = len(self._hashes) // 32
        if block.number != number:
            raise ValueError(f"block {number} is missing")
        parent_root = self.head.state_root if number else b""
        if number and block.parent_hash != self.head.hash:
            raise ValueError(f"block {number} does not link to block {number - 1}")
        if block.hash != blake2_256(block.header_bytes()):
            raise ValueError(f"block {number}'s header does not match its hash")
        if block.state_root != _state_root(parent_root, changes):
            raise ValueError(f"block {number}'s stored changes do not match its state root")
        if block.extrinsics_root != blake2_256(b"".join(blake2_256(e) for e in block.extrinsics)):
            raise ValueError(f"block {number}'s extrinsics do not match its extrinsics root")

    def _append(self, block: Block, changes) -> None:
        self._hashes += block.hash
        self._recent.append(block)
        self.by_hash[block.hash] = block.number
        if self.journal is not None and changes is not None:
            self.journal.block(block, changes)
        if self.keep_blocks is not None and block.number - self.floor >= self.keep_blocks + PRUNE_BATCH:
            self._prune(block.number - self.keep_blocks + 1)

    def _prune(self, floor: int) -> None:
        """Discard the state and bodies of blocks before ``floor`` (pinned states copied first)."""
        old = self.floor
        for number in self._pins:
            if old <= number < floor and number not in self._checkpoints:
                self._checkpoints[number] = (self.block(number), self.store.snapshot(number))
        self.store.prune(floor)
        for block in self._recent[: floor - old]:
            del self.by_hash[block.hash]
        del self._recent[: floor - old]

    def pin(self, number: int) -> None:
        """Keep a way back to block ``number`` (a snapshot): `truncate` to it works after pruning."""
        if number < self.floor and number not in self._checkpoints:
            raise StatePruned(number, self.floor, self.block_hash(number))
        self._pins.add(number)

    @classmethod
    def dev(cls) -> "Chain":
        return cls(genesis=dev_genesis())

    # ------------------------------------------------------------------ reading

    @property
    def head(self) -> Block:
        return self._recent[-1]

    @property
    def head_number(self) -> int:
        return len(self._hashes) // 32 - 1

    @property
    def floor(self) -> int:
        """The oldest block whose state and body are still kept."""
        return max(self.store.floor, 0)

    @property
    def genesis_hash(self) -> bytes:
        return bytes(self._hashes[:32])

    def block_hash(self, number: int) -> bytes:
        """The hash of block ``number`` (kept for every block, pruned or not)."""
        if not 0 <= number <= self.head_number:
            raise IndexError(f"block {number} is not between genesis and the head {self.head_number}")
        return bytes(self._hashes[number * 32 : number * 32 + 32])

    def block(self, number: int) -> Block:
        """Block ``number`` in full; raises `StatePruned` for a block older than the kept history."""
        if number < self.floor:
            raise StatePruned(number, self.floor, self.block_hash(number))
        return self._recent[number - self.floor]

    def state(self, number: int | None = None) -> Overlay:
        """A scratch overlay on the state after block ``number`` (default: the head)."""
        if number is not None and number < self.floor:
            raise StatePruned(number, self.floor, self.block_hash(number))
        return Overlay(self.store, self.head_number if number is None else number)

    def query(self, pallet: str, item: str, *keys, at: int | None = None):
        """A storage value, decoded (its default when absent)."""
        return getattr(self.runtime.pallet(pallet), item).get(self.state(at), *keys)

    def block_number(self, block_hash: bytes) -> int:
        """The number of a block of this chain, pruned or not; KeyError for an unknown hash."""
        number = self.by_hash.get(block_hash)
        if number is not None:
            return number
        if len(block_hash) == 32:  # a pruned block: look through the hash list (a C-speed scan)
            i = self._hashes.find(block_hash)
            while i >= 0:
                if i % 32 == 0:
                    return i // 32
                i = self._hashes.find(block_hash, i + 1)
        raise KeyError(f"unknown block 0x{block_hash.hex()}")

    # ------------------------------------------------------------------ transactions

    def validate(self, raw: bytes, pending: dict[bytes, int] | None = None, carried: bool = False) -> X.Extrinsic:
        """Check a transaction against the head, as the pool does; raise `InvalidTransaction`.

        ``pending`` counts transactions per signer already in the pool, so consecutive nonces
        submitted before inclusion are valid. A MEV-shielded carrier (``MevShield.submit_encrypted``)
        is decrypted and the extrinsic it carries validated too (``carried``: this is that extrinsic).
        """
        ext = X.decode(self.runtime, raw)
        if not ext.signed:
            raise X.InvalidTransaction("Transaction call is not expected (unsigned transactions are not accepted)")
        if carried and self.runtime.is_carrier(ext.call):
            raise X.InvalidTransaction("a MEV-shielded extrinsic cannot carry another MevShield.submit_encrypted")
        state = self.state()
        self._check_era(ext)
        era = X.era_birth(ext.era, self.head_number)
        era_hash = self.genesis_hash if era is None else self.block_hash(era[0])
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
        inner = self.runtime.carried_extrinsic(state, ext)
        if inner is not None:
            self._validate_carried(state, ext, fee, inner, pending)
        return ext

    def _validate_carried(self, state: Overlay, carrier: X.Extrinsic, carrier_fee: int, raw: bytes,
                          pending: dict[bytes, int] | None) -> None:
        """Validate the extrinsic a carrier brings: it runs right after the carrier, so the carrier's
        signer has one more transaction before it (the inner one is usually signed at nonce + 1)."""
        pending = dict(pending or {})
        pending[carrier.signer] = pending.get(carrier.signer, 0) + 1
        try:
            inner = self.validate(raw, pending, carried=True)
            if inner.signer == carrier.signer:
                free = self.runtime.pallet("Balances").free_balance(state, inner.signer)
                if free < carrier_fee + self.fee(inner):
                    raise X.InvalidTransaction("Inability to pay some fees (e.g. account balance too low): the "
                                               "carrier's fee and the carried extrinsic's fee together")
        except X.InvalidTransaction as exc:
            raise X.InvalidTransaction(f"the MEV-shielded extrinsic (decrypted from MevShield.submit_encrypted) is "
                                       f"invalid: {exc.reason}") from None

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
        if number - BLOCK_HASH_COUNT - 1 > 0:  # frame_system keeps the genesis hash and the latest ones
            system.BlockHash.remove(state, number - BLOCK_HASH_COUNT - 1)
        for p in self.runtime.pallets:
            p.on_initialize(ctx, number)

        inherent = self._timestamp_inherent(timestamp_ms)
        included, receipts = [inherent], []
        self._apply(ctx, X.decode(self.runtime, inherent), 0, receipts)
        for item in extrinsics:
            self._include(ctx, item, included, receipts)

        ctx.phase = ("Finalization", None)
        for p in self.runtime.pallets:
            p.on_finalize(ctx, number)
        system.Events.set(state, self.runtime.event_records(events))
        system.EventCount.set(state, len(events))
        system.ExtrinsicCount.set(state, len(included))
        changes = state.changes()
        state_root = _state_root(self.head.state_root, changes)
        block = Block(number, self.head.hash, state_root, blake2_256(b"".join(blake2_256(e) for e in included)), included)
        block.hash = blake2_256(block.header_bytes())
        self.store.commit(number, changes)
        self._append(block, changes)
        return block, receipts

    def _include(self, ctx: Ctx, item, included: list[bytes], receipts: list[Receipt], carried: bool = False) -> None:
        """Apply one extrinsic of a block, then the one it carries (a MEV-shielded carrier's, decrypted).

        Each extrinsic runs in a transaction of its own: one that is invalid, or that breaks the runtime
        (any exception, a RecursionError included), is dropped with no trace in the state, and the block
        goes on without it. A carrier whose ciphertext does not decrypt is dropped before it runs; a
        carried extrinsic that is invalid by its turn is dropped and its carrier stays, as on subtensor.
        """
        state, events, number = ctx.state, ctx.events, ctx.block_number
        depth, n_events, n_receipts = state.depth, len(events), len(receipts)
        state.begin()
        try:
            ext = item if isinstance(item, X.Extrinsic) else X.decode(self.runtime, item)
            if carried and self.runtime.is_carrier(ext.call):
                raise X.InvalidTransaction("a MEV-shielded extrinsic cannot carry another MevShield.submit_encrypted")
            self._check_in_block(state, ext)
            inner = self.runtime.carried_extrinsic(state, ext)
            self._apply(ctx, ext, len(included), receipts)
        except Exception as exc:
            state.rollback_to(depth)
            del events[n_events:], receipts[n_receipts:]
            if not isinstance(exc, X.InvalidTransaction):
                log.error("dropped extrinsic 0x%s from block #%d: it raised %s: %s",
                          _tx_hash(item).hex(), number, type(exc).__name__, str(exc)[:200])
                log.debug("the dropped extrinsic's traceback", exc_info=True)
            elif carried:
                log.info("left the MEV-shielded extrinsic 0x%s out of block #%d: %s", _tx_hash(item).hex(), number,
                         exc.reason)
            return
        state.commit_transaction()
        if len(receipts) > n_receipts:  # applied (an unpayable fee leaves it out)
            included.append(ext.raw)
            if inner is not None and receipts[-1].success:
                self._include(ctx, inner, included, receipts, carried=True)

    def _check_in_block(self, state: Overlay, ext: X.Extrinsic) -> None:
        if not ext.signed:
            raise X.InvalidTransaction("unsigned")
        if self.runtime.pallet("System").nonce(state, ext.signer) != ext.nonce:
            raise X.InvalidTransaction("nonce")
        if ext.trusted:
            return
        era = X.era_birth(ext.era, self.head_number)
        era_hash = self.genesis_hash if era is None else self.block_hash(era[0])
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
        block = Block(0, bytes(32), _state_root(b"", changes), blake2_256(b""), [])
        block.hash = blake2_256(block.header_bytes())
        self.store.commit(0, changes)
        self._checkpoints[0] = (block, {k: v for k, v in changes.items() if v is not None})
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
        """Drop every block after ``number`` and its state (snapshot restore, reset).

        ``number`` must be a kept block, genesis or a `pin`-ned one; else `StatePruned`.
        """
        if not 0 <= number <= self.head_number:
            raise ValueError(f"block {number} is not between genesis and the head {self.head_number}")
        if number in self._checkpoints:  # its state was copied (genesis, pruned snapshots): start from it
            block, state = self._checkpoints[number]  # fresh containers: the old history's memory goes
            self.store.reset(number, state)
            self._recent, self.by_hash = [block], {block.hash: number}
        elif number >= self.floor:
            for block in self._recent[number - self.floor + 1 :]:
                del self.by_hash[block.hash]
            del self._recent[number - self.floor + 1 :]
            self.store.truncate(number)
        else:
            raise StatePruned(number, self.floor, self.block_hash(number))
        del self._hashes[(number + 1) * 32 :]
        self._pins = {p for p in self._pins if p <= number}
        self._checkpoints = {p: c for p, c in self._checkpoints.items() if p <= number}
        if self.journal is not None:
            self.journal.truncate(number)


def _tx_hash(item) -> bytes:
    return item.hash if isinstance(item, X.Extrinsic) else blake2_256(bytes(item))


def _state_root(parent_root: bytes, changes: dict[bytes, bytes | None]) -> bytes:
    """The devnet's state root: blake2_256 of the parent's root and the block's sorted changes.

    Not a trie root, but a hash chain over every change ever made: a changed byte anywhere in the
    stored history changes every later root (persistence checks it when it loads a journal).
    """
    return blake2_256(parent_root + b"".join(k + (v or b"") for k, v in sorted(changes.items())))
