"""Chain state: a versioned key-value store with per-block history and transactional overlays.

Keys and values are raw bytes, exactly as a Substrate node stores them (SCALE values under
``twox128(pallet) ++ twox128(item) ++ hashed keys``). Every key keeps the list of
``(block_number, value)`` versions it went through, so the state at any past block can be read
(receipts and historical queries need that) without copying the whole state per block, and the
history maps one-to-one onto an append-only log for persistence.

History is bounded: `VersionedStore.prune` forgets the versions only blocks before a ``floor``
need (as a pruned Substrate node discards old state), and reading before the floor raises
`StatePruned` instead of answering with a made-up value.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterator

from ..errors import TaoLabError

_DELETED = None


class StatePruned(TaoLabError, LookupError):
    """The state (or body) of a block older than the kept history was asked for.

    ``number`` is the block asked for, ``floor`` the oldest block whose state is still kept.
    """

    def __init__(self, number: int, floor: int, block_hash: bytes | None = None):
        self.number, self.floor, self.block_hash = number, floor, block_hash
        at = f"0x{block_hash.hex()} (#{number})" if block_hash else f"block #{number}"
        super().__init__(
            f"State already discarded for {at}: this node keeps the state of blocks #{floor} and later only "
            "(see keep_blocks in docs/devnet.md); query a recent block, or keep more blocks")


class VersionedStore:
    """All versions of all keys. Block numbers only grow, except through `truncate`."""

    def __init__(self):
        self._versions: dict[bytes, list[tuple[int, bytes | None]]] = {}
        self._keys: list[bytes] = []  # every key with a kept version, sorted (prefix scans, paging)
        self.head = -1  # last committed block number
        self.floor = -1  # oldest block whose state can be read (see `prune`); -1: the empty pre-genesis state

    def commit(self, number: int, changes: dict[bytes, bytes | None]) -> None:
        """Record the changes made by block ``number`` (``None`` deletes a key)."""
        if number <= self.head and changes:
            raise ValueError(f"block {number} is not after the head {self.head}")
        for key, value in changes.items():
            versions = self._versions.get(key)
            if versions is None:
                self._versions[key] = [(number, value)]
                insort(self._keys, key)
            elif versions[-1][0] == number:
                versions[-1] = (number, value)
            else:
                versions.append((number, value))
        self.head = max(self.head, number)

    def get(self, key: bytes, number: int) -> bytes | None:
        if number < self.floor:
            raise StatePruned(number, self.floor)
        versions = self._versions.get(key)
        if not versions:
            return None
        if versions[-1][0] <= number:  # the common case: reading the head
            return versions[-1][1]
        i = bisect_right(versions, number, key=lambda v: v[0])
        return versions[i - 1][1] if i else None

    def keys(self, prefix: bytes, number: int, start_after: bytes | None = None) -> Iterator[bytes]:
        """Keys with ``prefix`` that exist at block ``number``, in order, after ``start_after``."""
        if number < self.floor:
            raise StatePruned(number, self.floor)
        lo = bisect_left(self._keys, prefix)
        if start_after is not None and start_after >= prefix:
            lo = bisect_right(self._keys, start_after)
        for i in range(lo, len(self._keys)):
            key = self._keys[i]
            if not key.startswith(prefix):
                break
            if self.get(key, number) is not None:
                yield key

    def truncate(self, number: int) -> None:
        """Forget every change made after block ``number`` (restore and reset)."""
        if number < self.floor:
            raise StatePruned(number, self.floor)
        dead = []
        for key, versions in self._versions.items():
            while versions and versions[-1][0] > number:
                versions.pop()
            if not versions:
                dead.append(key)
        self._forget(dead)
        self.head = min(self.head, number)

    def _forget(self, dead: list[bytes]) -> None:
        """Drop keys that no block in memory can see any more."""
        for key in dead:
            del self._versions[key]
        if dead:
            gone = set(dead)
            self._keys = [k for k in self._keys if k not in gone]

    def prune(self, floor: int) -> None:
        """Forget every version that only blocks before ``floor`` can see; reads before it then raise.

        Each key keeps its last version at or before ``floor`` (the value the state at ``floor`` has)
        and every later one; a key deleted at or before ``floor`` and not written since goes away.
        """
        if floor <= self.floor:
            return
        if floor > self.head:
            raise ValueError(f"cannot prune to block {floor}, after the head {self.head}")
        dead = []
        for key, versions in self._versions.items():
            if versions[0][0] > floor:
                continue  # written after the floor only: nothing to forget
            if len(versions) > 1:
                i = bisect_right(versions, floor, key=lambda v: v[0]) - 1  # the version the state at floor has
                del versions[:i]
            if len(versions) == 1 and versions[0][1] is None:
                dead.append(key)
        self._forget(dead)
        self.floor = floor

    def snapshot(self, number: int) -> dict[bytes, bytes]:
        """Every key's value at block ``number`` (a checkpoint that outlives pruning)."""
        if number < self.floor:
            raise StatePruned(number, self.floor)
        return {key: value for key in self._keys if (value := self.get(key, number)) is not None}

    def reset(self, number: int, state: dict[bytes, bytes]) -> None:
        """Forget everything and hold exactly ``state`` as the state after block ``number``."""
        self._versions = {key: [(number, value)] for key, value in state.items()}
        self._keys = sorted(self._versions)
        self.head = self.floor = number

    def history(self) -> Iterator[tuple[int, bytes, bytes | None]]:
        """Every ``(block_number, key, value)`` version, for persistence."""
        for key, versions in self._versions.items():
            for number, value in versions:
                yield number, key, value


class Overlay:
    """Writes on top of the state at a block, with nested transactions.

    The runtime applies a block in an overlay; each extrinsic's dispatch runs in a nested
    transaction that is rolled back if the call fails, so a failed call changes nothing (fees and
    the nonce are charged outside it, as in FRAME).
    """

    def __init__(self, store: VersionedStore, number: int):
        self.store = store
        self.number = number  # the block whose state we read underneath
        self._layers: list[dict[bytes, bytes | None]] = [{}]

    def get(self, key: bytes) -> bytes | None:
        for layer in reversed(self._layers):
            if key in layer:
                return layer[key]
        return self.store.get(key, self.number)

    def set(self, key: bytes, value: bytes) -> None:
        self._layers[-1][key] = value

    def delete(self, key: bytes) -> None:
        self._layers[-1][key] = _DELETED

    def keys(self, prefix: bytes) -> list[bytes]:
        """Keys with ``prefix`` visible in this overlay, sorted."""
        found = set(self.store.keys(prefix, self.number))
        for layer in self._layers:
            for key, value in layer.items():
                if key.startswith(prefix):
                    if value is None:
                        found.discard(key)
                    else:
                        found.add(key)
        return sorted(found)

    @property
    def depth(self) -> int:
        """How many layers are open (1 when no transaction is); for `rollback_to`."""
        return len(self._layers)

    def begin(self) -> None:
        self._layers.append({})

    def commit_transaction(self) -> None:
        top = self._layers.pop()
        self._layers[-1].update(top)

    def rollback(self) -> None:
        self._layers.pop()

    def rollback_to(self, depth: int) -> None:
        """Drop every transaction opened since `depth` was read, however deeply nested."""
        del self._layers[max(depth, 1) :]

    def changes(self) -> dict[bytes, bytes | None]:
        if len(self._layers) != 1:
            raise RuntimeError("a transaction is still open")
        return dict(self._layers[0])
