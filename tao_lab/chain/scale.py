"""SCALE types: one declaration serves the runtime's own codec and the metadata's type registry.

A runtime item (a storage value, a call argument, an event field) is declared with these type
objects. Each one encodes and decodes Python values in SCALE and knows how to describe itself in a
scale-info portable registry, so the metadata a client reads is, by construction, what the runtime
actually writes.

Python values: ints for integers, bool, bytes for byte vectors and arrays, str for text, lists for
sequences, tuples for tuples, None / value for Option, dicts for structs (field name -> value),
``(variant_name, value)`` for enums (value: dict of fields, a single value, or None).
"""

from __future__ import annotations

import struct
import threading
from dataclasses import dataclass, field

from ..errors import TaoLabError

__all__ = [
    "CodecError", "ScaleType", "Prim", "U8", "U16", "U32", "U64", "U128", "I16", "I32", "I64", "Bool", "Str",
    "Compact", "Vec", "Bytes", "Array", "Tuple", "Option", "Struct", "Enum", "Unit",
    "AccountId", "H256", "TypeRegistry", "compact_encode", "compact_decode", "F", "V", "Lazy",
]


class CodecError(TaoLabError, ValueError):
    """Bytes that do not decode as the declared type, or a value that does not encode."""


def compact_encode(n: int) -> bytes:
    if n < 0:
        raise CodecError(f"compact integers are unsigned, got {n}")
    if n < 1 << 6:
        return bytes([n << 2])
    if n < 1 << 14:
        return ((n << 2) | 1).to_bytes(2, "little")
    if n < 1 << 30:
        return ((n << 2) | 2).to_bytes(4, "little")
    raw = n.to_bytes((n.bit_length() + 7) // 8, "little")
    if len(raw) > 67:
        raise CodecError(f"{n} is too large for a compact integer")
    return bytes([((len(raw) - 4) << 2) | 3]) + raw


def compact_decode(data: bytes, pos: int = 0) -> tuple[int, int]:
    if pos >= len(data):
        raise CodecError("unexpected end of data in a compact integer")
    mode = data[pos] & 3
    if mode == 0:
        return data[pos] >> 2, pos + 1
    if mode == 1:
        return int.from_bytes(_take(data, pos, 2), "little") >> 2, pos + 2
    if mode == 2:
        return int.from_bytes(_take(data, pos, 4), "little") >> 2, pos + 4
    size = (data[pos] >> 2) + 4
    return int.from_bytes(_take(data, pos + 1, size), "little"), pos + 1 + size


def _take(data: bytes, pos: int, size: int) -> bytes:
    if pos + size > len(data):
        raise CodecError(f"unexpected end of data: needed {size} bytes at offset {pos}, have {len(data) - pos}")
    return data[pos : pos + size]


class ScaleType:
    """Base of all types. ``path`` names it in the registry (e.g. ``sp_core::crypto::AccountId32``)."""

    path: tuple[str, ...] = ()
    params: tuple = ()
    docs: tuple[str, ...] = ()

    def encode(self, value) -> bytes:
        raise NotImplementedError

    def decode_at(self, data: bytes, pos: int):
        raise NotImplementedError

    def decode(self, data: bytes):
        """Decode the whole of ``data`` (trailing bytes are an error, as in substrate-interface)."""
        value, pos = self.decode_at(bytes(data), 0)
        if pos != len(data):
            raise CodecError(f"{len(data) - pos} trailing bytes after a {self!r}")
        return value

    def default(self):
        raise NotImplementedError

    def type_def(self, reg: "TypeRegistry") -> dict:
        raise NotImplementedError

    def fixed_format(self) -> str | None:
        """The `struct` format of this type if it has a fixed size and a plain layout, else None."""
        return None

    def key(self):
        """Structural identity, for de-duplication in the registry."""
        return (type(self).__name__, self.path, self._key())

    def _key(self):
        return ()

    def __repr__(self):
        return "::".join(self.path) if self.path else type(self).__name__


class Prim(ScaleType):
    _formats = {"u8": "<B", "u16": "<H", "u32": "<I", "u64": "<Q", "i8": "<b", "i16": "<h", "i32": "<i", "i64": "<q"}
    _sizes = {"u128": 16, "i128": 16, "u256": 32}

    def __init__(self, name: str):
        self.name = name
        self._fmt = self._formats.get(name)
        self._size = struct.calcsize(self._fmt) if self._fmt else self._sizes.get(name, 1)
        signed = name.startswith("i")
        bits = self._size * 8
        self.min = -(1 << (bits - 1)) if signed else 0
        self.max = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1

    def encode(self, value) -> bytes:
        if self.name == "bool":
            if not isinstance(value, bool):
                raise CodecError(f"bool expected, got {value!r}")
            return b"\x01" if value else b"\x00"
        if isinstance(value, bool) or not isinstance(value, int):
            raise CodecError(f"{self.name} expected an int, got {value!r}")
        if not self.min <= value <= self.max:
            raise CodecError(f"{value} does not fit in {self.name}")
        if self._fmt:
            return struct.pack(self._fmt, value)
        return value.to_bytes(self._size, "little", signed=self.name.startswith("i"))

    def decode_at(self, data: bytes, pos: int):
        raw = _take(data, pos, self._size)
        if self.name == "bool":
            if raw[0] > 1:
                raise CodecError(f"invalid bool byte {raw[0]}")
            return raw[0] == 1, pos + 1
        if self._fmt:
            return struct.unpack(self._fmt, raw)[0], pos + self._size
        return int.from_bytes(raw, "little", signed=self.name.startswith("i")), pos + self._size

    def default(self):
        return False if self.name == "bool" else 0

    def fixed_format(self):
        return "?" if self.name == "bool" else (self._fmt[1:] if self._fmt else None)

    def type_def(self, reg):
        return {"primitive": self.name}

    def _key(self):
        return self.name

    def __repr__(self):
        return self.name


U8, U16, U32, U64, U128 = Prim("u8"), Prim("u16"), Prim("u32"), Prim("u64"), Prim("u128")
I16, I32, I64 = Prim("i16"), Prim("i32"), Prim("i64")
Bool = Prim("bool")


class _Str(ScaleType):
    def encode(self, value) -> bytes:
        raw = value.encode() if isinstance(value, str) else bytes(value)
        return compact_encode(len(raw)) + raw

    def decode_at(self, data, pos):
        n, pos = compact_decode(data, pos)
        return _take(data, pos, n).decode("utf-8", errors="replace"), pos + n

    def default(self):
        return ""

    def type_def(self, reg):
        return {"primitive": "str"}

    def __repr__(self):
        return "str"


Str = _Str()


class Compact(ScaleType):
    def __init__(self, inner: Prim):
        self.inner = inner

    def encode(self, value) -> bytes:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= self.inner.max:
            raise CodecError(f"Compact<{self.inner!r}> expected an int in range, got {value!r}")
        return compact_encode(value)

    def decode_at(self, data, pos):
        return compact_decode(data, pos)

    def default(self):
        return 0

    def type_def(self, reg):
        return {"compact": {"type": reg.add(self.inner)}}

    def _key(self):
        return self.inner.key()

    def __repr__(self):
        return f"Compact<{self.inner!r}>"


class Vec(ScaleType):
    def __init__(self, inner: ScaleType):
        self.inner = inner
        fmt = inner.fixed_format()
        # Sequences of fixed-size records (Weights rows of (u16, u16), Vec<u64>, ...) are packed and
        # unpacked in one `struct` call: the epoch reads hundreds of such rows per subnet.
        self._fmt = fmt if fmt and fmt != "?" else None
        self._size = struct.calcsize("<" + fmt) if self._fmt else 0
        self._tuple = type(inner).__name__ == "Tuple"  # (Tuple is defined below)

    def encode(self, value) -> bytes:
        if self._fmt and value and "s" not in self._fmt:  # struct would pad short byte strings silently
            try:
                flat = [x for v in value for x in v] if self._tuple else value
                return compact_encode(len(value)) + struct.pack("<" + self._fmt * len(value), *flat)
            except (struct.error, TypeError) as exc:
                raise CodecError(f"{self!r} cannot encode {value!r:.80}: {exc}") from None
        return compact_encode(len(value)) + b"".join(self.inner.encode(v) for v in value)

    def decode_at(self, data, pos):
        n, pos = compact_decode(data, pos)
        if n > len(data) - pos and self.inner is not Unit:
            raise CodecError(f"sequence of {n} items cannot fit in {len(data) - pos} bytes")
        if self._fmt:
            end = pos + n * self._size
            if end > len(data):
                raise CodecError(f"unexpected end of data in a {self!r} of {n} items")
            rows = list(struct.iter_unpack("<" + self._fmt, data[pos:end])) if n else []
            return (rows if self._tuple else [r[0] for r in rows]), end
        out = []
        for _ in range(n):
            v, pos = self.inner.decode_at(data, pos)
            out.append(v)
        return out, pos

    def default(self):
        return []

    def type_def(self, reg):
        return {"sequence": {"type": reg.add(self.inner)}}

    def _key(self):
        return self.inner.key()

    def __repr__(self):
        return f"Vec<{self.inner!r}>"


class _Bytes(Vec):
    """``Vec<u8>`` with Python ``bytes`` values."""

    def __init__(self):
        super().__init__(U8)

    def encode(self, value) -> bytes:
        raw = bytes(value)
        return compact_encode(len(raw)) + raw

    def decode_at(self, data, pos):
        n, pos = compact_decode(data, pos)
        return bytes(_take(data, pos, n)), pos + n

    def default(self):
        return b""

    def key(self):
        return Vec(U8).key()


Bytes = _Bytes()


class Array(ScaleType):
    """``[T; n]``; with ``U8`` its values are ``bytes``."""

    def __init__(self, inner: ScaleType, length: int, path: tuple[str, ...] = ()):
        self.inner, self.length, self.path = inner, length, path

    def encode(self, value) -> bytes:
        if len(value) != self.length:
            raise CodecError(f"[{self.inner!r}; {self.length}] expected {self.length} items, got {len(value)}")
        if self.inner is U8:
            return bytes(value)
        return b"".join(self.inner.encode(v) for v in value)

    def decode_at(self, data, pos):
        if self.inner is U8:
            return bytes(_take(data, pos, self.length)), pos + self.length
        out = []
        for _ in range(self.length):
            v, pos = self.inner.decode_at(data, pos)
            out.append(v)
        return out, pos

    def default(self):
        return bytes(self.length) if self.inner is U8 else [self.inner.default()] * self.length

    def fixed_format(self):
        return f"{self.length}s" if self.inner is U8 else None

    def type_def(self, reg):
        return {"array": {"len": self.length, "type": reg.add(self.inner)}}

    def _key(self):
        return (self.inner.key(), self.length)


class Tuple(ScaleType):
    def __init__(self, *items: ScaleType):
        self.items = items

    def encode(self, value) -> bytes:
        if len(value) != len(self.items):
            raise CodecError(f"tuple of {len(self.items)} expected, got {len(value)} items")
        return b"".join(t.encode(v) for t, v in zip(self.items, value))

    def decode_at(self, data, pos):
        out = []
        for t in self.items:
            v, pos = t.decode_at(data, pos)
            out.append(v)
        return tuple(out), pos

    def default(self):
        return tuple(t.default() for t in self.items)

    def fixed_format(self):
        parts = [t.fixed_format() for t in self.items]
        return "".join(parts) if self.items and all(parts) and "?" not in parts else None

    def type_def(self, reg):
        return {"tuple": [reg.add(t) for t in self.items]}

    def _key(self):
        return tuple(t.key() for t in self.items)

    def __repr__(self):
        return "(" + ", ".join(map(repr, self.items)) + ")"


Unit = Tuple()


class Option(ScaleType):
    path = ("Option",)

    def __init__(self, inner: ScaleType):
        self.inner = inner
        self.params = (("T", inner),)

    def encode(self, value) -> bytes:
        if self.inner is Bool:  # Option<bool> is one byte in SCALE
            return b"\x00" if value is None else (b"\x01" if value else b"\x02")
        return b"\x00" if value is None else b"\x01" + self.inner.encode(value)

    def decode_at(self, data, pos):
        tag = _take(data, pos, 1)[0]
        if self.inner is Bool:
            if tag > 2:
                raise CodecError(f"invalid Option<bool> byte {tag}")
            return (None, True, False)[tag], pos + 1
        if tag == 0:
            return None, pos + 1
        if tag != 1:
            raise CodecError(f"invalid Option tag {tag}")
        return self.inner.decode_at(data, pos + 1)

    def default(self):
        return None

    def type_def(self, reg):
        return {"variant": {"variants": [
            {"name": "None", "fields": [], "index": 0, "docs": []},
            {"name": "Some", "fields": [_field(reg, None, self.inner)], "index": 1, "docs": []},
        ]}}

    def _key(self):
        return self.inner.key()


def _field(reg, name, ty, type_name=None, docs=()):
    return {"name": name, "type": reg.add(ty), "typeName": type_name if type_name is not None else repr(ty), "docs": list(docs)}


@dataclass
class F:
    """A named field: ``F("netuid", U16, "NetUid", "The subnet.")``."""

    name: str | None
    type: ScaleType
    type_name: str | None = None
    docs: str = ""


class Struct(ScaleType):
    def __init__(self, path: str, fields: list[F], docs: str = ""):
        self.path = tuple(path.split("::")) if path else ()
        self.fields = fields
        self.docs = (docs,) if docs else ()

    def encode(self, value) -> bytes:
        if len(self.fields) == 1 and self.fields[0].name is None:  # newtype
            return self.fields[0].type.encode(value)
        try:
            return b"".join(f.type.encode(value[f.name]) for f in self.fields)
        except KeyError as exc:
            raise CodecError(f"{self!r} is missing field {exc}") from None

    def decode_at(self, data, pos):
        if len(self.fields) == 1 and self.fields[0].name is None:
            return self.fields[0].type.decode_at(data, pos)
        out = {}
        for f in self.fields:
            out[f.name], pos = f.type.decode_at(data, pos)
        return out, pos

    def default(self):
        if len(self.fields) == 1 and self.fields[0].name is None:
            return self.fields[0].type.default()
        return {f.name: f.type.default() for f in self.fields}

    def fixed_format(self):
        newtype = len(self.fields) == 1 and self.fields[0].name is None
        return self.fields[0].type.fixed_format() if newtype else None

    def type_def(self, reg):
        return {"composite": {"fields": [_field(reg, f.name, f.type, f.type_name, [f.docs] if f.docs else []) for f in self.fields]}}

    def _key(self):
        return tuple((f.name, f.type.key()) for f in self.fields)


@dataclass
class V:
    """An enum variant: ``V("Transfer", [F("from", AccountId), ...], "A transfer happened.")``."""

    name: str
    fields: list[F] = field(default_factory=list)
    docs: str = ""
    index: int | None = None


class Enum(ScaleType):
    """A Rust enum. Values are ``(variant, payload)``; a payload is a dict of named fields, the value
    of a single unnamed field, a tuple for several unnamed fields, or None."""

    def __init__(self, path: str, variants: list[V], docs: str = ""):
        self.path = tuple(path.split("::")) if path else ()
        self.variants = []
        for i, v in enumerate(variants):
            self.variants.append(V(v.name, v.fields, v.docs, i if v.index is None else v.index))
        self.by_name = {v.name: v for v in self.variants}
        self.by_index = {v.index: v for v in self.variants}
        self.docs = (docs,) if docs else ()

    def encode(self, value) -> bytes:
        name, payload = (value, None) if isinstance(value, str) else value
        v = self.by_name.get(name)
        if v is None:
            raise CodecError(f"{self!r} has no variant {name!r}")
        out = bytes([v.index])
        if not v.fields:
            return out
        if all(f.name for f in v.fields):
            return out + b"".join(f.type.encode(payload[f.name]) for f in v.fields)
        if len(v.fields) == 1:
            return out + v.fields[0].type.encode(payload)
        return out + b"".join(f.type.encode(p) for f, p in zip(v.fields, payload))

    def decode_at(self, data, pos):
        idx = _take(data, pos, 1)[0]
        v = self.by_index.get(idx)
        if v is None:
            raise CodecError(f"{self!r} has no variant with index {idx}")
        pos += 1
        if not v.fields:
            return (v.name, None), pos
        if all(f.name for f in v.fields):
            out = {}
            for f in v.fields:
                out[f.name], pos = f.type.decode_at(data, pos)
            return (v.name, out), pos
        vals = []
        for f in v.fields:
            x, pos = f.type.decode_at(data, pos)
            vals.append(x)
        return (v.name, vals[0] if len(vals) == 1 else tuple(vals)), pos

    def default(self):
        v = self.variants[0]
        return (v.name, None) if not v.fields else (v.name, Struct("", v.fields).default())

    def type_def(self, reg):
        return {"variant": {"variants": [
            {"name": v.name, "index": v.index, "docs": [v.docs] if v.docs else [],
             "fields": [_field(reg, f.name, f.type, f.type_name, [f.docs] if f.docs else []) for f in v.fields]}
            for v in self.variants
        ]}}

    def _key(self):
        return tuple((v.name, v.index, tuple((f.name, f.type.key()) for f in v.fields)) for v in self.variants)


AccountId = Struct("sp_core::crypto::AccountId32", [F(None, Array(U8, 32), "[u8; 32]")])
H256 = Struct("primitive_types::H256", [F(None, Array(U8, 32), "[u8; 32]")])


class TypeRegistry:
    """A scale-info portable registry: hands out type ids, de-duplicates identical types.

    ``reserve(ty)`` gives an id before the type's definition can be built (for types that refer
    to themselves through others, like ``RuntimeCall`` and the per-pallet call enums).
    """

    def __init__(self):
        self.types: list[dict | None] = []
        self._ids: dict = {}

    def reserve(self, ty: ScaleType) -> int:
        k = ty.key()
        if k not in self._ids:
            self._ids[k] = len(self.types)
            self.types.append(None)
        return self._ids[k]

    def add(self, ty: ScaleType) -> int:
        while isinstance(ty, Lazy):
            ty = ty._t()
        k = ty.key()
        if k in self._ids and self.types[self._ids[k]] is not None:
            return self._ids[k]
        tid = self.reserve(ty)
        self.types[tid] = {"id": tid, "type": {"path": [], "params": [], "def": {}, "docs": []}}  # placeholder
        params = [{"name": n, "type": self.add(t) if t is not None else None} for n, t in ty.params]
        self.types[tid] = {
            "id": tid,
            "type": {"path": list(ty.path), "params": params, "def": ty.type_def(self), "docs": list(ty.docs)},
        }
        return tid

    def portable(self) -> list[dict]:
        missing = [i for i, t in enumerate(self.types) if t is None]
        if missing:
            raise CodecError(f"registry types {missing} were reserved but never defined")
        return self.types


class Lazy(ScaleType):
    """A named forward reference, resolved later (``RuntimeCall`` inside ``Sudo::sudo``).

    ``max_depth``: how many times decoding may pass through this reference inside itself (a call
    holding a call holding a call ...). Deeper data raises `CodecError`, as Substrate's
    ``decode_with_depth_limit`` does, so hostile bytes cannot recurse the decoder (or later the
    dispatcher) past Python's stack.
    """

    def __init__(self, name: str, max_depth: int | None = None):
        self.name = name
        self.target: ScaleType | None = None
        self.max_depth = max_depth
        self._depth = threading.local()  # decoding may run in several threads at once

    def _t(self) -> ScaleType:
        if self.target is None:
            raise CodecError(f"type {self.name} is not resolved yet")
        return self.target

    def encode(self, value) -> bytes:
        return self._t().encode(value)

    def decode_at(self, data, pos):
        if self.max_depth is None:
            return self._t().decode_at(data, pos)
        depth = getattr(self._depth, "n", 0)
        if depth >= self.max_depth:
            raise CodecError(f"{self.name} values are nested more than {self.max_depth} deep")
        self._depth.n = depth + 1
        try:
            return self._t().decode_at(data, pos)
        finally:
            self._depth.n = depth

    def default(self):
        return self._t().default()

    def key(self):
        return ("Lazy", self.name)

    def __repr__(self):
        return self.name

