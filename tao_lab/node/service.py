"""The node: the JSON-RPC methods of a Substrate node over a `Chain`, a transaction pool, and
block production (interval, instant or manual) with head and extrinsic subscriptions.

Everything runs on one asyncio event loop, so the chain needs no locks: block building is a short
synchronous step between awaits.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import secrets
import time

from ..chain import extrinsic as X
from ..chain import runtime_api
from ..chain.chain import Chain
from ..chain.scale import CodecError
from ..chain.state import Overlay, StatePruned
from ..errors import InputError
from .jsonrpc import RpcError, Session

log = logging.getLogger("tao_lab.node")

CHAIN_NAME = "tao_lab devnet"  # must not match a scalecodec preset name ("polkadot", "kusama", ...)
NODE_NAME = "tao-lab"
NODE_VERSION = "0.1.0"
INVALID_TX = 1010
MIN_BLOCK_TIME_S = 0.01  # interval mode: faster pins a core and grows the journal for nothing
MAX_BLOCK_TIME_S = 3600.0  # slower is a stopped chain: use manual mode for that
MAX_NEW_BLOCKS = 10_000  # dev_newBlock(count): most blocks one call may ask for (call again for more)


def check_block_time(value, argument: str = "block_time") -> float:
    """``value`` as seconds between blocks; `InputError` unless a number in [0.01, 3600]."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and MIN_BLOCK_TIME_S <= value <= MAX_BLOCK_TIME_S
    if not ok:  # NaN fails the comparison too
        raise InputError(argument, f"expected seconds between blocks from {MIN_BLOCK_TIME_S:g} to {MAX_BLOCK_TIME_S:g}, "
                                   f"got {value!r} (for no blocks at all, use manual mode)")
    return float(value)


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


_HEX_DIGITS = re.compile(r"(?:[0-9a-fA-F]{2})*")


def _unhex(value, what: str = "hex string") -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise RpcError(-32602, f"Invalid params: expected a 0x-prefixed {what}, got {value!r}")
    # fullmatch, not bytes.fromhex alone: fromhex skips spaces, so "0x 00" would pass as 0x00
    if not _HEX_DIGITS.fullmatch(value, 2):
        raise RpcError(-32602, f"Invalid params: {what} {value!r} is not valid hex (pairs of 0-9a-f)")
    return bytes.fromhex(value[2:])


def _subscription_id() -> str:
    """A new subscription id: unguessable (128 random bits), so no other client can name it."""
    return "0x" + secrets.token_hex(16)


class Node:
    """RPC methods, pool and block production around one `Chain`.

    ``mode``: ``"interval"`` (a block every ``block_time`` seconds, default 0.25), ``"instant"``
    (a block as soon as a transaction arrives) or ``"manual"`` (blocks only through ``dev_newBlock``).
    """

    def __init__(self, chain: Chain, mode: str = "interval", block_time: float = 0.25):
        if mode not in ("interval", "instant", "manual"):
            raise ValueError(f"mode must be 'interval', 'instant' or 'manual', got {mode!r}")
        self.chain = chain
        self.mode = mode
        self.block_time = check_block_time(block_time)
        self.pool: list[X.Extrinsic] = []
        self._watchers: dict[bytes, list[tuple[Session, str]]] = {}
        self._head_subs: dict[str, Session] = {}
        self._final_subs: dict[str, Session] = {}
        self._ids = itertools.count(1)
        self._snapshots: dict[int, int] = {}
        self._producer: asyncio.Task | None = None
        self._last_timestamp = 0
        self.methods = {name[4:]: getattr(self, name) for name in dir(self) if name.startswith("rpc_")}

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self.mode == "interval" and self._producer is None:
            self._producer = asyncio.get_running_loop().create_task(self._produce_forever())

    async def stop(self) -> None:
        if self._producer is not None:
            self._producer.cancel()
            try:
                await self._producer
            except asyncio.CancelledError:
                pass
            except Exception:  # already logged; a stop must always complete (SIGTERM relies on it)
                log.exception("the block producer had failed")
            self._producer = None

    def close(self) -> None:
        """Release what the chain holds open: the journal and its data-dir lock (after `stop`)."""
        if self.chain.journal is not None:
            self.chain.journal.close()

    async def _produce_forever(self) -> None:
        while True:
            started = time.monotonic()
            try:
                await self.produce_block()
            except Exception:  # never stop producing: the failure is logged and the next block tried
                log.exception("block production failed; trying again in %g s", self.block_time)
            await asyncio.sleep(max(0.0, self.block_time - (time.monotonic() - started)))

    async def dispatch(self, method: str, params, session: Session):
        fn = self.methods.get(method)
        if fn is None:
            log.info("%s failed: no such method", method)
            raise RpcError(-32601, f"Method not found: {method}")
        if isinstance(params, dict):
            raise RpcError(-32602, "Invalid params: named parameters are not supported, pass a list")
        try:
            try:
                result = fn(session, *params)
            except TypeError as exc:
                raise RpcError(-32602, f"Invalid params: {exc}") from None
            if asyncio.iscoroutine(result):
                result = await result
        except StatePruned as exc:  # what a pruned Substrate node answers (code and wording)
            log.info("%s failed: state pruned (%s)", method, exc)
            raise RpcError(4003, f"Client error: UnknownBlock: {exc}") from None
        except RpcError as exc:  # a client's problem: at INFO, so `tao_lab.node` logging shows what clients get wrong
            log.info("%s failed: %s %s%s", method, exc.code, exc.message, f" ({exc.data})" if exc.data else "")
            raise
        return result

    # ------------------------------------------------------------------ blocks

    def _timestamp(self) -> int:
        now = int(time.time() * 1000)
        self._last_timestamp = max(now, self._last_timestamp + 1)
        return self._last_timestamp

    async def produce_block(self, extrinsics: list | None = None) -> bytes:
        """Build one block from ``extrinsics`` (default: the whole pool) and tell subscribers."""
        batch = self.pool if extrinsics is None else extrinsics
        if extrinsics is None:
            self.pool = []
        try:
            block, receipts = self.chain.build_block(batch, self._timestamp())
        except Exception as exc:
            # Extrinsics that fail are dropped inside build_block; this is a runtime hook failing.
            # The batch goes (it may be the cause) and the error is logged, never swallowed.
            log.exception("could not build block #%d; dropped %d extrinsic(s)", self.chain.head_number + 1, len(batch))
            for ext in batch:
                for session, sub in self._watchers.pop(ext.hash, []):
                    await session.notify("author_extrinsicUpdate", sub, "dropped")
            raise RpcError(-32603, f"Internal error: block production failed: {type(exc).__name__}: {exc}") from None
        included = {r.hash for r in receipts}
        header = block.header()
        for sub, session in list(self._head_subs.items()):
            await session.notify("chain_newHead", sub, header)
        for sub, session in list(self._final_subs.items()):
            await session.notify("chain_finalizedHead", sub, header)
        for ext in batch:
            watchers = self._watchers.pop(ext.hash, [])
            for session, sub in watchers:
                if ext.hash in included:
                    await session.notify("author_extrinsicUpdate", sub, {"inBlock": _hex(block.hash)})
                    await session.notify("author_extrinsicUpdate", sub, {"finalized": _hex(block.hash)})
                else:
                    await session.notify("author_extrinsicUpdate", sub, "dropped")
        return block.hash

    def _block_at(self, block_hash) -> int:
        if block_hash is None:
            return self.chain.head_number
        try:
            return self.chain.block_number(_unhex(block_hash, "block hash"))
        except KeyError:
            raise RpcError(4003, f"Client error: unknown block {block_hash}") from None

    def _state(self, block_hash) -> Overlay:
        return self.chain.state(self._block_at(block_hash))

    # ------------------------------------------------------------------ system_*

    def rpc_system_chain(self, s):
        return CHAIN_NAME

    def rpc_system_name(self, s):
        return NODE_NAME

    def rpc_system_version(self, s):
        return NODE_VERSION

    def rpc_system_health(self, s):
        return {"peers": 0, "isSyncing": False, "shouldHavePeers": False}

    def rpc_system_properties(self, s):
        return {"ss58Format": 42, "tokenDecimals": 9, "tokenSymbol": "TAO"}

    def rpc_system_chainType(self, s):
        return "Development"

    def rpc_system_accountNextIndex(self, s, address):
        from scalecodec.utils.ss58 import ss58_decode

        if not isinstance(address, str):
            raise RpcError(-32602, f"Invalid params: address must be an SS58 string or 0x account id, got {address!r}")
        try:
            who = bytes.fromhex(ss58_decode(address)) if not str(address).startswith("0x") else _unhex(address)
        except ValueError as exc:
            raise RpcError(-32602, f"Invalid params: {exc}") from None
        if len(who) != 32:
            raise RpcError(-32602, f"Invalid params: address must name a 32-byte account, got {len(who)} bytes")
        return self._next_nonce(who)

    def _next_nonce(self, who: bytes) -> int:
        return self.chain.runtime.pallet("System").nonce(self.chain.state(), who) + sum(1 for e in self.pool if e.signer == who)

    def rpc_account_nextIndex(self, s, address):
        """The same as ``system_accountNextIndex`` (its alias on a real node, which the bittensor SDKs call)."""
        return self.rpc_system_accountNextIndex(s, address)

    def rpc_rpc_methods(self, s):
        return {"version": 1, "methods": sorted(self.methods)}

    # ------------------------------------------------------------------ chain_*

    def rpc_chain_getBlockHash(self, s, number=None):
        if number is None:
            return _hex(self.chain.head.hash)
        if isinstance(number, str):
            try:
                number = int(number, 16) if number.startswith("0x") else int(number)
            except ValueError:  # a malformed number is the caller's error (-32602), not an internal one
                raise RpcError(-32602, f"Invalid params: block number {number!r}") from None
        if isinstance(number, bool) or not isinstance(number, int) or number < 0:  # True is an int to Python
            raise RpcError(-32602, f"Invalid params: block number must be an integer >= 0, got {number!r}")
        return _hex(self.chain.block_hash(number)) if number <= self.chain.head_number else None

    def rpc_chain_getHead(self, s):
        return _hex(self.chain.head.hash)

    def rpc_chain_getFinalizedHead(self, s):
        return _hex(self.chain.head.hash)  # instant finality

    def rpc_chain_getHeader(self, s, block_hash=None):
        return self.chain.block(self._block_at(block_hash)).header()

    def rpc_chain_getBlock(self, s, block_hash=None):
        block = self.chain.block(self._block_at(block_hash))
        return {"block": {"header": block.header(), "extrinsics": [_hex(e) for e in block.extrinsics]}, "justifications": None}

    def _subscribe(self, session: Session, table: dict, method: str) -> str:
        if not session.supports_subscriptions:
            raise RpcError(-32090, "Subscriptions are not available on this transport (use WebSocket)")
        sub = _subscription_id()
        table[sub] = session
        session.on_close(lambda: table.pop(sub, None))
        header = self.chain.head.header()

        async def first():
            await session.notify(method, sub, header)

        session.after_response(first)
        return sub

    def rpc_chain_subscribeNewHeads(self, s):
        return self._subscribe(s, self._head_subs, "chain_newHead")

    rpc_chain_subscribeAllHeads = rpc_chain_subscribeNewHeads

    def rpc_chain_subscribeFinalizedHeads(self, s):
        return self._subscribe(s, self._final_subs, "chain_finalizedHead")

    @staticmethod
    def _unsubscribe(session: Session, table: dict, sub) -> bool:
        """Drop ``sub`` if it is this connection's; False (not found) for anyone else's id."""
        if not isinstance(sub, str):
            raise RpcError(-32602, f"Invalid params: subscription id must be a string, got {sub!r}")
        if table.get(sub) is not session:
            return False
        del table[sub]
        return True

    def rpc_chain_unsubscribeNewHeads(self, s, sub):
        return self._unsubscribe(s, self._head_subs, sub)

    rpc_chain_unsubscribeAllHeads = rpc_chain_unsubscribeNewHeads

    def rpc_chain_unsubscribeFinalizedHeads(self, s, sub):
        return self._unsubscribe(s, self._final_subs, sub)

    # ------------------------------------------------------------------ state_*

    def rpc_state_getRuntimeVersion(self, s, block_hash=None):
        self._block_at(block_hash)
        return self.chain.runtime.version()

    def rpc_state_getMetadata(self, s, block_hash=None):
        self._block_at(block_hash)
        return _hex(self.chain.runtime.metadata())

    def rpc_state_getStorage(self, s, key, block_hash=None):
        value = self._state(block_hash).get(_unhex(key, "storage key"))
        return None if value is None else _hex(value)

    rpc_state_getStorageAt = rpc_state_getStorage

    def rpc_state_getStorageHash(self, s, key, block_hash=None):
        from ..chain.pallet import blake2_256

        value = self._state(block_hash).get(_unhex(key, "storage key"))
        return None if value is None else _hex(blake2_256(value))

    def rpc_state_getStorageSize(self, s, key, block_hash=None):
        value = self._state(block_hash).get(_unhex(key, "storage key"))
        return None if value is None else len(value)

    def rpc_state_getKeysPaged(self, s, prefix, count, start_key=None, block_hash=None):
        prefix_b = _unhex(prefix or "0x", "key prefix")
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise RpcError(-32602, f"Invalid params: count must be an integer >= 0, got {count!r}")
        count = min(count, 1000)
        start = _unhex(start_key, "start key") if start_key else None
        keys = self.chain.store.keys(prefix_b, self._block_at(block_hash), start_after=start)
        return [_hex(k) for k in itertools.islice(keys, count)]

    def rpc_state_getKeys(self, s, prefix, block_hash=None):
        return [_hex(k) for k in self.chain.store.keys(_unhex(prefix, "key prefix"), self._block_at(block_hash))]

    def rpc_state_queryStorageAt(self, s, keys, block_hash=None):
        state = self._state(block_hash)
        number = self._block_at(block_hash)
        changes = []
        for key in keys:
            value = state.get(_unhex(key, "storage key"))
            changes.append([key, None if value is None else _hex(value)])
        return [{"block": _hex(self.chain.block_hash(number)), "changes": changes}]

    def rpc_state_call(self, s, method, data, block_hash=None):
        if isinstance(data, str) and not data.startswith("0x"):
            data = "0x" + data  # real nodes take call data with or without 0x; the bittensor SDKs send it without
        payload = _unhex(data, "call data")
        number = self._block_at(block_hash)
        ctx = runtime_api.ApiCtx(self.chain.state(number), self.chain.runtime, number)
        try:
            return _hex(runtime_api.call(ctx, method, payload))
        except runtime_api.RuntimeApiNotFound:
            # a real node's words, which clients match exactly (async-substrate-interface falls back to
            # metadata V14 only on this text for Metadata_metadata_at_version)
            raise RpcError(-32000, f"Client error: Execution failed: Other: Exported method {method} is not found") from None
        except CodecError as exc:
            raise RpcError(-32602, f"Invalid params: {method}: {exc}") from None

    def _fee_of(self, raw: bytes):
        try:
            ext = X.decode(self.chain.runtime, raw)
        except X.InvalidTransaction as exc:
            raise RpcError(-32602, f"Invalid params: {exc.reason}") from None
        weight = self.chain.runtime.call_weight(ext.call)
        return ext, weight, self.chain.fee(ext)

    def rpc_payment_queryInfo(self, s, data, block_hash=None):
        ext, weight, fee = self._fee_of(_unhex(data, "extrinsic"))
        return {"weight": {"ref_time": weight, "proof_size": 0}, "class": "normal", "partialFee": str(fee)}

    # ------------------------------------------------------------------ author_*

    def _accept(self, data) -> X.Extrinsic:
        raw = _unhex(data, "extrinsic")
        # Checked before validation: the pool's own copy counts towards the signer's pending nonces,
        # so a resubmission would otherwise be refused as "outdated" instead of as already imported.
        if any(e.raw == raw for e in self.pool):
            raise RpcError(1013, "Transaction Already Imported")
        pending: dict[bytes, int] = {}
        for e in self.pool:
            pending[e.signer] = pending.get(e.signer, 0) + 1
        try:
            ext = self.chain.validate(raw, pending)
        except X.InvalidTransaction as exc:
            raise RpcError(INVALID_TX, "Invalid Transaction", exc.reason) from None
        except (CodecError, KeyError) as exc:
            raise RpcError(INVALID_TX, "Invalid Transaction", f"Could not decode the transaction: {exc}") from None
        except RecursionError:  # a backstop: call nesting is bounded at decoding (types.MAX_CALL_DEPTH)
            raise RpcError(INVALID_TX, "Invalid Transaction", "Could not decode the transaction: nested too deeply") from None
        return ext

    async def rpc_author_submitExtrinsic(self, s, data):
        ext = self._accept(data)
        self.pool.append(ext)
        if self.mode == "instant":
            await self.produce_block()
        return _hex(ext.hash)

    async def rpc_author_submitAndWatchExtrinsic(self, s, data):
        if not s.supports_subscriptions:
            raise RpcError(-32090, "Subscriptions are not available on this transport (use WebSocket)")
        ext = self._accept(data)
        sub = _subscription_id()
        self._watchers.setdefault(ext.hash, []).append((s, sub))
        self.pool.append(ext)

        async def progress():
            await s.notify("author_extrinsicUpdate", sub, "ready")
            if self.mode == "instant":
                await self.produce_block()

        s.after_response(progress)
        return sub

    def rpc_author_unwatchExtrinsic(self, s, sub):
        """Stop watching; False (not found) for an unknown id or another connection's."""
        if not isinstance(sub, str):
            raise RpcError(-32602, f"Invalid params: subscription id must be a string, got {sub!r}")
        found = False
        for watchers in self._watchers.values():
            for w in list(watchers):
                if w[1] == sub and w[0] is s:
                    watchers.remove(w)
                    found = True
        return found

    def rpc_author_pendingExtrinsics(self, s):
        return [_hex(e.raw) for e in self.pool]

    # ------------------------------------------------------------------ dev_* (devnet only)

    async def rpc_dev_newBlock(self, s, count=1):
        """Produce ``count`` blocks now (whatever the mode, at most `MAX_NEW_BLOCKS`); returns the new head hash."""
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_NEW_BLOCKS:
            raise RpcError(-32602, f"Invalid params: count must be an integer in [1, {MAX_NEW_BLOCKS}], got {count!r}; "
                                   "call dev_newBlock again for more blocks")
        return _hex(await self._new_blocks(count))

    async def _new_blocks(self, count: int) -> bytes:
        head = b""
        for _ in range(count):
            head = await self.produce_block()
            await asyncio.sleep(0)  # let other clients in between blocks: a long run starves nobody
        return head

    async def rpc_dev_nextEpoch(self, s, netuid=1):
        """Produce blocks until subnet ``netuid`` has run its next epoch; returns the blocks produced."""
        if isinstance(netuid, bool) or not isinstance(netuid, int) or not 0 <= netuid < 1 << 16:
            raise RpcError(-32602, f"Invalid params: netuid must be an integer in [0, 65535], got {netuid!r}")
        sub = self.chain.runtime.pallet("SubtensorModule")
        state = self.chain.state()
        if not sub.NetworksAdded.get(state, netuid):
            raise RpcError(-32602, f"Invalid params: subnet {netuid} does not exist")
        if not sub.Tempo.get(state, netuid):
            raise RpcError(-32602, f"Invalid params: subnet {netuid} has tempo 0 and runs no epoch on its own")
        # the pallet runs the epoch in the first block `now` with now - LastEpochBlock >= tempo
        # (`should_run_epoch`); the next block is head + 1
        blocks = sub.blocks_until_next_auto_epoch(state, netuid, self.chain.head_number + 1) + 1
        await self._new_blocks(blocks)  # at most a tempo (u16) of blocks
        return blocks

    def rpc_dev_snapshot(self, s):
        """Remember the current head; returns a snapshot id for ``dev_restore``."""
        sid = next(self._ids)
        self._snapshots[sid] = self.chain.head_number
        self.chain.pin(self.chain.head_number)  # its state is copied before pruning would discard it
        return sid

    def rpc_dev_restore(self, s, sid):
        """Go back to a snapshot: later blocks and their state are dropped, the pool emptied."""
        if sid not in self._snapshots:
            raise RpcError(-32602, f"Invalid params: unknown snapshot {sid!r}")
        self.chain.truncate(self._snapshots[sid])
        self.pool.clear()
        self._snapshots = {k: v for k, v in self._snapshots.items() if v <= self.chain.head_number}
        return _hex(self.chain.head.hash)

    def rpc_dev_reset(self, s):
        """Back to genesis; the history's memory is released (the store restarts from genesis's state)."""
        self.chain.truncate(0)
        self.pool.clear()
        self._snapshots.clear()
        return _hex(self.chain.head.hash)

    def rpc_dev_setBlockMode(self, s, mode, block_time=None):
        """Switch between ``interval``, ``instant`` and ``manual`` block production."""
        if mode not in ("interval", "instant", "manual"):
            raise RpcError(-32602, "Invalid params: mode must be interval, instant or manual")
        if block_time is not None:
            try:
                self.block_time = check_block_time(block_time)
            except InputError as exc:
                raise RpcError(-32602, f"Invalid params: {exc}") from None
        if mode != "interval" and self._producer is not None:
            self._producer.cancel()
            self._producer = None
        self.mode = mode
        self.start()
        return True
