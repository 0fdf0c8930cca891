"""How a pallet is declared: storage, calls, events, errors, constants and hooks, FRAME style.

A pallet is a class. Its storage items are class attributes (`StorageValue`, `StorageMap`,
`StorageDoubleMap`), its calls are methods marked with `call`, its events and errors are lists,
its constants a list of `Constant`. The runtime reads these declarations to dispatch extrinsics
and to build the metadata clients decode with; the docs written here are the metadata's docs.

A call runs with a `Ctx`: the state overlay, the origin, the block, and ``ctx.event(...)`` to
deposit events. It fails by raising `DispatchError`; the runtime then rolls its writes back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import xxhash

from ..errors import TaoLabError
from .scale import F, ScaleType, V
from .state import Overlay

# ------------------------------------------------------------------------------------ hashing


def twox64(data: bytes) -> bytes:
    return xxhash.xxh64(data, seed=0).intdigest().to_bytes(8, "little")


def twox128(data: bytes) -> bytes:
    return twox64(data) + xxhash.xxh64(data, seed=1).intdigest().to_bytes(8, "little")


def blake2_128(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def blake2_256(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=32).digest()


#: hasher name -> (hash function, bytes of hash before the key itself; None = key not recoverable)
HASHERS: dict[str, tuple[Callable[[bytes], bytes], int | None]] = {
    "Blake2_128Concat": (lambda k: blake2_128(k) + k, 16),
    "Twox64Concat": (lambda k: twox64(k) + k, 8),
    "Identity": (lambda k: k, 0),
    "Blake2_128": (blake2_128, None),
    "Blake2_256": (blake2_256, None),
    "Twox128": (twox128, None),
}

# ------------------------------------------------------------------------------------ storage


class StorageItem:
    """A storage item of a pallet: a value, or a map keyed by one or more hashed keys."""

    def __init__(self, value: ScaleType, keys: list[tuple[str, ScaleType]], default=None, docs: str = "", optional: bool = False):
        self.value = value
        self.keys = keys
        self._default = default
        self.docs = docs
        self.optional = optional  # ``OptionQuery``: absent reads as None, not as the default
        self.name = ""
        self.pallet = ""
        self.prefix = b""
        self._key_cache: dict[tuple, bytes] = {}

    @property
    def default(self):
        """The value an absent key reads as (computed late: the type may be a forward reference)."""
        return self.value.default() if self._default is None else self._default

    def __set_name__(self, owner, name: str):
        self.name = name

    def bind(self, pallet: str) -> None:
        self.pallet = pallet
        self.prefix = twox128(pallet.encode()) + twox128(self.name.encode())
        self._key_cache = {}

    def key(self, *keys) -> bytes:
        cached = self._key_cache.get(keys)
        if cached is not None:
            return cached
        if len(keys) != len(self.keys):
            raise TypeError(f"{self.pallet}.{self.name} takes {len(self.keys)} keys, got {len(keys)}")
        out = self.prefix
        for (hasher, ty), k in zip(self.keys, keys):
            out += HASHERS[hasher][0](ty.encode(k))
        if len(self._key_cache) > 20_000:  # hashing keys is a large share of an epoch; keep the hot ones
            self._key_cache.clear()
        self._key_cache[keys] = out
        return out

    def get(self, state: Overlay, *keys):
        raw = state.get(self.key(*keys))
        if raw is None:
            return None if self.optional else _copy(self.default)
        return self.value.decode(raw)

    def contains(self, state: Overlay, *keys) -> bool:
        return state.get(self.key(*keys)) is not None

    def set(self, state: Overlay, *keys_and_value) -> None:
        *keys, value = keys_and_value
        state.set(self.key(*keys), self.value.encode(value))

    def remove(self, state: Overlay, *keys) -> None:
        state.delete(self.key(*keys))

    def mutate(self, state: Overlay, *keys, fn):
        value = fn(self.get(state, *keys))
        self.set(state, *keys, value)
        return value

    def items(self, state: Overlay, *first_keys) -> Iterator[tuple[tuple, object]]:
        """``(keys, value)`` of every entry, optionally only those under the given leading keys."""
        prefix = self.prefix
        for (hasher, ty), k in zip(self.keys, first_keys):
            prefix += HASHERS[hasher][0](ty.encode(k))
        for raw_key in state.keys(prefix):
            yield self.decode_keys(raw_key), self.value.decode(state.get(raw_key))

    def decode_keys(self, raw_key: bytes) -> tuple:
        pos, out = len(self.prefix), []
        for hasher, ty in self.keys:
            skip = HASHERS[hasher][1]
            if skip is None:
                raise TypeError(f"{self.pallet}.{self.name}: keys hashed with {hasher} cannot be listed")
            value, pos = ty.decode_at(raw_key, pos + skip)
            out.append(value)
        return tuple(out)


def _copy(value):
    return list(value) if isinstance(value, list) else dict(value) if isinstance(value, dict) else value


def StorageValue(value: ScaleType, default=None, docs: str = "", optional: bool = False) -> StorageItem:
    return StorageItem(value, [], default, docs, optional)


def StorageMap(hasher: str, key: ScaleType, value: ScaleType, default=None, docs: str = "", optional: bool = False) -> StorageItem:
    return StorageItem(value, [(hasher, key)], default, docs, optional)


def StorageDoubleMap(hasher1: str, key1: ScaleType, hasher2: str, key2: ScaleType, value: ScaleType,
                     default=None, docs: str = "", optional: bool = False) -> StorageItem:
    return StorageItem(value, [(hasher1, key1), (hasher2, key2)], default, docs, optional)


# ------------------------------------------------------------------------------------ calls


@dataclass
class CallDef:
    name: str
    index: int
    fields: list[F]
    docs: str
    weight: int
    fn: Callable
    pays_fee: bool = True  #: False for calls subtensor makes free (``Pays::No``: weights, serving, ...)


def call(index: int, *fields: F, weight: int = 10_000_000, docs: str = ""):
    """Mark a pallet method as the dispatchable call ``index`` with the given argument fields."""

    def mark(fn):
        fn._call = CallDef(fn.__name__, index, list(fields), docs or (fn.__doc__ or "").strip(), weight, fn)
        return fn

    return mark


@dataclass
class Constant:
    name: str
    type: ScaleType
    value: object
    docs: str = ""


class DispatchError(TaoLabError):
    """A call failed. ``pallet``/``error`` name a pallet error (``DispatchError::Module``); with
    ``pallet=None``, ``error`` names a plain ``sp_runtime::DispatchError`` variant (e.g. BadOrigin)."""

    def __init__(self, pallet: str | None, error: str, detail: str = ""):
        self.pallet = pallet
        self.error = error
        super().__init__(f"{pallet + '.' if pallet else ''}{error}" + (f": {detail}" if detail else ""))


@dataclass
class Ctx:
    """What a call sees while it runs."""

    state: Overlay
    runtime: object
    block_number: int
    origin: bytes | None = None  #: the signer's account id; None for root or unsigned
    root: bool = False
    events: list = field(default_factory=list)
    phase: tuple = ("Initialization", None)

    def event(self, pallet: str, name: str, payload=None) -> None:
        self.events.append((self.phase, pallet, name, payload))

    def ensure_signed(self) -> bytes:
        if self.origin is None:
            raise DispatchError(None, "BadOrigin", "a signed origin is required")
        return self.origin

    def ensure_root(self) -> None:
        if not self.root:
            raise DispatchError(None, "BadOrigin", "the root (sudo) origin is required")

    def pallet(self, name: str):
        return self.runtime.pallet(name)


# ------------------------------------------------------------------------------------ pallets


class Pallet:
    """Base class of pallets. Subclasses set ``name``, ``index``, ``module`` (the Rust crate path for
    metadata type paths, e.g. ``pallet_balances``), ``events``, ``errors`` and ``constants``."""

    name: str = ""
    index: int = 0
    module: str = ""
    docs: str = ""
    events: list[V] = []
    errors: list[tuple[str, str]] = []
    constants: list[Constant] = []

    def __init__(self):
        for item in self.storage_items():
            item.bind(self.name)
        self.error_names = [name for name, _ in self.errors]

    @classmethod
    def storage_items(cls) -> list[StorageItem]:
        seen, out = set(), []
        for klass in reversed(cls.__mro__):
            for value in vars(klass).values():
                if isinstance(value, StorageItem) and id(value) not in seen:
                    seen.add(id(value))
                    out.append(value)
        return out

    @classmethod
    def calls(cls) -> list[CallDef]:
        found = {}
        for klass in reversed(cls.__mro__):  # calls may live in mixins, one file per concern
            for v in vars(klass).values():
                if hasattr(v, "_call"):
                    found[v._call.name] = v._call
        return sorted(found.values(), key=lambda c: c.index)

    def error(self, name: str, detail: str = "") -> DispatchError:
        """A `DispatchError` for one of this pallet's declared errors."""
        if name not in self.error_names:
            raise KeyError(f"{self.name} declares no error {name!r}")
        return DispatchError(self.name, name, detail)

    # Hooks, overridden where a pallet needs them.
    def genesis(self, ctx: Ctx, config: dict) -> None:
        """Write this pallet's genesis state."""

    def on_initialize(self, ctx: Ctx, number: int) -> None:
        """Runs at the start of each block, before its extrinsics."""

    def on_finalize(self, ctx: Ctx, number: int) -> None:
        """Runs at the end of each block, after its extrinsics."""
