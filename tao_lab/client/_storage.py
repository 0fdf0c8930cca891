"""Reading a subtensor chain's storage fast, for `tao_lab.client.metagraph.Metagraph`.

Storage keys are built from the metadata's hashers here rather than one ``create_storage_key`` call
each in substrate-interface (about 1 ms apiece); the known fixed layouts (``u64``, ``Vec<u16>``,
``Vec<(u16, u16)>``, ``AccountId32``, ``AxonInfo``) are decoded straight into numpy. Every layout is
checked against the node's metadata first: a type the fast path does not know goes through
scalecodec instead, and bytes that do not fit the type raise `StorageLayoutError`.
"""

from __future__ import annotations

import hashlib
import struct
import weakref
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from ..errors import InputError, TaoLabError
from .errors import ChainConnectionError

U16_MAX = 65535
#: keys per ``state_queryStorageAt`` request; real nodes cap request and response sizes
BATCH_KEYS = 1024

class StorageLayoutError(TaoLabError):
    """A storage value does not have the layout its metadata type promises, or a type is not usable.

    ``item`` names the storage item (``"SubtensorModule.Weights"``), ``type`` the metadata type.
    """

    def __init__(self, item: str, type_: str, message: str):
        self.item, self.type = item, type_
        super().__init__(f"{item} ({type_}): {message}")


def _twox(data: bytes, seeds: int) -> bytes:
    import xxhash

    return b"".join(xxhash.xxh64(data, seed=s).intdigest().to_bytes(8, "little") for s in range(seeds))


_HASHERS = {
    "Identity": lambda b: b,
    "Twox64Concat": lambda b: _twox(b, 1) + b,
    "Twox128": lambda b: _twox(b, 2),
    "Twox256": lambda b: _twox(b, 4),
    "Blake2_128Concat": lambda b: hashlib.blake2b(b, digest_size=16).digest() + b,
    "Blake2_128": lambda b: hashlib.blake2b(b, digest_size=16).digest(),
    "Blake2_256": lambda b: hashlib.blake2b(b, digest_size=32).digest(),
}
_INT_KEYS = {"u8": "<B", "u16": "<H", "u32": "<I", "u64": "<Q"}
_SCALARS = {"u8": "<B", "u16": "<H", "u32": "<I", "u64": "<Q", "bool": "<?"}
_VECTORS = {"Vec<u16>": np.dtype("<u2"), "Vec<u32>": np.dtype("<u4"), "Vec<u64>": np.dtype("<u8"),
            "Vec<bool>": np.dtype("u1")}
_PAIRS = "Vec<(u16,u16)>"
_ACCOUNT = "[u8;32]"
_AXON_FIELDS = (("block", "Q"), ("version", "I"), ("ip", "16s"), ("port", "H"), ("ip_type", "B"),
                ("protocol", "B"), ("placeholder1", "B"), ("placeholder2", "B"))
_AXON = "{" + ",".join(f"{name}:{ty}" for name, ty in zip(
    (f for f, _ in _AXON_FIELDS), ("u64", "u32", "u128", "u16", "u8", "u8", "u8", "u8"))) + "}"
_AXON_STRUCT = struct.Struct("<" + "".join(code for _, code in _AXON_FIELDS))

#: the kind of Python value each storage item the metagraph reads must turn into
_KINDS = {
    "Number": "scalar", "NetworksAdded": "scalar", "SubnetworkN": "scalar", "Tempo": "scalar",
    "LastMechansimStepBlock": "scalar", "BlockAtRegistration": "scalar", "TotalHotkeyAlpha": "scalar",
    "Incentive": "vector", "Dividends": "vector", "Consensus": "vector", "ValidatorTrust": "vector",
    "Emission": "vector", "Active": "vector", "ValidatorPermit": "vector", "LastUpdate": "vector",
    "Weights": "pairs", "Bonds": "pairs", "Keys": "account", "Owner": "account", "Axons": "axon",
    "Account": "free",
}
#: System.Account's AccountInfo as the devnet and subtensor lay it out: four u32 counters, then free
_ACCOUNT_INFO = "{nonce:u32,consumers:u32,providers:u32,sufficients:u32,data:{free:u128,"


def _compact(data: bytes) -> tuple[int, int]:
    """SCALE compact integer at the start of ``data``: (value, bytes used)."""
    mode = data[0] & 3
    if mode == 3:
        size = (data[0] >> 2) + 4
        return int.from_bytes(data[1:1 + size], "little"), 1 + size
    size = (1, 2, 4)[mode]
    return int.from_bytes(data[:size], "little") >> 2, size


def _fast_decoder(kind: str, shape: str):
    """A decoder of raw bytes for a (kind, canonical type) the fast path knows, else None.

    Each decoder consumes exactly the value's bytes and raises ValueError on anything else.
    """
    if kind == "scalar" and shape in _SCALARS:
        unpack = struct.Struct(_SCALARS[shape]).unpack

        def scalar(raw):
            (value,) = unpack(raw)
            if shape == "bool" and raw not in (b"\x00", b"\x01"):
                raise ValueError("a bool must be 0 or 1")
            return value
        return scalar
    if kind == "scalar" and shape == "u128":
        def u128(raw):
            if len(raw) != 16:
                raise ValueError(f"{len(raw)} bytes for a u128")
            return int.from_bytes(raw, "little")
        return u128
    if (kind == "vector" and shape in _VECTORS) or (kind == "pairs" and shape == _PAIRS):
        dtype, width = (_VECTORS[shape], 1) if kind == "vector" else (np.dtype("<u2"), 2)

        def vector(raw):
            count, used = _compact(raw)
            if len(raw) != used + count * width * dtype.itemsize:
                raise ValueError(f"{count} entries need {count * width * dtype.itemsize} bytes after the length, "
                                 f"got {len(raw) - used}")
            values = np.frombuffer(raw, dtype=dtype, offset=used)
            if shape == "Vec<bool>":
                if values.size and values.max() > 1:
                    raise ValueError("a bool must be 0 or 1")
                return values.astype(bool)
            return values.reshape(count, 2) if kind == "pairs" else values
        return vector
    if kind == "account" and shape == _ACCOUNT:
        def account(raw):
            if len(raw) != 32:
                raise ValueError(f"{len(raw)} bytes for an AccountId32")
            return raw
        return account
    if kind == "free" and shape.startswith(_ACCOUNT_INFO):
        def free(raw):
            if len(raw) < 32:
                raise ValueError(f"{len(raw)} bytes for an AccountInfo")
            return int.from_bytes(raw[16:32], "little")
        return free
    if kind == "axon" and shape == _AXON:
        def axon(raw):
            fields = dict(zip((f for f, _ in _AXON_FIELDS), _AXON_STRUCT.unpack(raw)))
            fields["ip"] = int.from_bytes(fields["ip"], "little")
            return fields
        return axon
    return None


def _from_scalecodec(kind: str, value):
    """Turn a scalecodec ``.value`` into what the fast decoder of ``kind`` returns; ValueError if it cannot."""
    if kind == "scalar":
        if isinstance(value, int):  # bool included
            return value
        raise ValueError(f"expected an integer, decoded {value!r}")
    if kind == "vector":
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, (int, bool)) for v in value):
            raise ValueError(f"expected a list of integers, decoded {str(value)[:80]}")
        return np.array(value, dtype=bool if value and isinstance(value[0], bool) else np.int64)
    if kind == "pairs":
        rows = np.array(value, dtype=np.int64).reshape(-1, 2)
        if rows.size and (rows.min() < 0 or rows.max() > U16_MAX):
            raise ValueError("pairs must be u16")
        return rows.astype(np.uint16)
    if kind == "account":
        from scalecodec.utils.ss58 import ss58_decode

        return bytes.fromhex(ss58_decode(value))
    if kind == "free":
        try:
            return int(value["data"]["free"])
        except (TypeError, KeyError, ValueError):
            raise ValueError(f"expected an AccountInfo, decoded {str(value)[:80]}") from None
    if kind == "axon":
        if not isinstance(value, dict) or not {f for f, _ in _AXON_FIELDS} <= set(value):
            raise ValueError(f"expected an AxonInfo, decoded {value!r}")
        return value
    raise ValueError(kind)


@dataclass
class _Item:
    """How to key and decode one storage item under one runtime."""

    name: str  #: "Pallet.Item"
    prefix: bytes  #: twox128(pallet) + twox128(item)
    hashers: list[str]
    key_shapes: list[str]
    shape: str  #: canonical value type, e.g. "Vec<(u16,u16)>"
    type_id: int
    optional: bool
    default: bytes
    decode_fast: object  # callable or None
    _keys: dict = field(default_factory=dict, repr=False)  #: params -> key, reused at every sync

    def key(self, params) -> bytes:
        """The storage key of ``params`` (a sync asks for the same per-uid keys every block: cached)."""
        params = tuple(bytes(p) if isinstance(p, (bytearray, memoryview, list)) else p for p in params)
        try:
            found = self._keys.get(params)
        except TypeError:  # an unhashable key part: build it each time
            return self._build_key(params)
        if found is None:
            found = self._build_key(params)
            if len(self._keys) >= 65_536:  # bounded: a long session across many subnets
                self._keys.clear()
            self._keys[params] = found
        return found

    def _build_key(self, params) -> bytes:
        if len(params) != len(self.hashers):
            raise InputError("params", f"{self.name} takes {len(self.hashers)} keys, got {len(params)}")
        out = [self.prefix]
        for hasher, shape, param in zip(self.hashers, self.key_shapes, params):
            if shape == _ACCOUNT:
                encoded = bytes(param)
                if len(encoded) != 32:
                    raise InputError("params", f"{self.name}: an AccountId32 key must be 32 bytes")
            else:
                encoded = struct.pack(_INT_KEYS[shape], param)
            out.append(_HASHERS[hasher](encoded))
        return b"".join(out)


class _Layout:
    """The `_Item`s of one runtime, built from its metadata and checked against substrate-interface."""

    def __init__(self, substrate):
        self.substrate = substrate
        self.types = {t["id"]: t["type"] for t in substrate.metadata.portable_registry.value["types"]}
        self.items: dict[tuple[str, str], _Item] = {}

    def shape(self, type_id: int, depth: int = 0) -> str:
        """A canonical text of a registry type: newtypes unwrapped, field names kept for structs."""
        if depth > 16:
            return "?"
        d = self.types[type_id]["def"]
        if "primitive" in d:
            return d["primitive"]
        if "sequence" in d:
            return f"Vec<{self.shape(d['sequence']['type'], depth + 1)}>"
        if "array" in d:
            return f"[{self.shape(d['array']['type'], depth + 1)};{d['array']['len']}]"
        if "tuple" in d:
            return "(" + ",".join(self.shape(t, depth + 1) for t in d["tuple"]) + ")"
        if "compact" in d:
            return f"Compact<{self.shape(d['compact']['type'], depth + 1)}>"
        if "composite" in d:
            fields = d["composite"]["fields"]
            if len(fields) == 1 and not fields[0].get("name"):
                return self.shape(fields[0]["type"], depth + 1)  # a newtype encodes as its inner type
            return "{" + ",".join(f"{f.get('name')}:{self.shape(f['type'], depth + 1)}" for f in fields) + "}"
        return "?" + "::".join(self.types[type_id].get("path", []))

    def item(self, pallet: str, name: str) -> _Item:
        found = self.items.get((pallet, name))
        if found is not None:
            return found
        try:
            fn = self.substrate.metadata.get_metadata_pallet(pallet).get_storage_function(name)
        except AttributeError:
            fn = None
        if fn is None:
            raise StorageLayoutError(f"{pallet}.{name}", "?", "the node's metadata has no such storage item")
        spec = fn.value
        if "Plain" in spec["type"]:
            hashers, key_shapes, value_id = [], [], spec["type"]["Plain"]
        else:
            m = spec["type"]["Map"]
            hashers, value_id = list(m["hashers"]), m["value"]
            key_def = self.types[m["key"]]["def"]
            key_ids = key_def["tuple"] if len(hashers) > 1 else [m["key"]]
            key_shapes = [self.shape(k) for k in key_ids]
        label = f"{pallet}.{name}"
        bad = [s for s in key_shapes if s not in _INT_KEYS and s != _ACCOUNT] + [h for h in hashers if h not in _HASHERS]
        if bad:
            raise StorageLayoutError(label, str(key_shapes), f"keys of {bad} are not supported by the metagraph reader")
        shape = self.shape(value_id)
        storage_prefix = self.substrate.metadata.get_metadata_pallet(pallet).value["storage"]["prefix"]
        found = _Item(label, _twox(storage_prefix.encode(), 2) + _twox(name.encode(), 2), hashers, key_shapes,
                      shape, value_id, spec["modifier"] == "Optional", bytes(fn["default"].value_object),
                      _fast_decoder(_KINDS[name], shape))
        self._check_key(found, pallet, name)
        self.items[(pallet, name)] = found
        return found

    def _check_key(self, item: _Item, pallet: str, name: str) -> None:
        """Our key for sample params must equal substrate-interface's, once per item and runtime."""
        params = [bytes(range(32)) if s == _ACCOUNT else 7 for s in item.key_shapes]
        theirs = self.substrate.create_storage_key(
            pallet, name, ["0x" + p.hex() if isinstance(p, bytes) else p for p in params]).to_hex()
        if theirs != "0x" + item.key(params).hex():
            raise StorageLayoutError(item.name, str(item.key_shapes), "storage key differs from substrate-interface's")

    def decode(self, item: _Item, raw: bytes | None):
        if raw is None:
            if item.optional:
                return None
            raw = item.default
        if item.decode_fast is not None:
            try:
                return item.decode_fast(raw)
            except (ValueError, struct.error, IndexError) as exc:
                raise StorageLayoutError(item.name, item.shape, f"value 0x{raw[:48].hex()} does not decode: {exc}") from None
        from scalecodec.base import ScaleBytes
        from scalecodec.exceptions import InvalidScaleTypeValueException, RemainingScaleBytesNotEmptyException

        try:
            obj = self.substrate.runtime_config.create_scale_object(f"scale_info::{item.type_id}", data=ScaleBytes(raw))
            return _from_scalecodec(_KINDS[item.name.split(".")[1]], obj.decode())
        except (ValueError, TypeError, IndexError, KeyError, NotImplementedError, RemainingScaleBytesNotEmptyException,
                InvalidScaleTypeValueException) as exc:
            raise StorageLayoutError(item.name, item.shape, f"value 0x{raw[:48].hex()} does not decode: {exc}") from None


class _Reader:
    """Batched storage reads over one SubstrateInterface; layouts cached per runtime version."""

    _by_substrate: ClassVar[weakref.WeakKeyDictionary] = weakref.WeakKeyDictionary()

    def __init__(self, substrate):
        self.substrate = substrate
        self.layouts: dict[object, _Layout] = {}

    @classmethod
    def of(cls, substrate) -> _Reader:
        reader = cls._by_substrate.get(substrate)
        if reader is None:
            reader = cls._by_substrate[substrate] = cls(substrate)
        return reader

    def rpc(self, method: str, params: list):
        from substrateinterface.exceptions import SubstrateRequestException

        try:
            return self.substrate.rpc_request(method, params)["result"]
        except SubstrateRequestException as exc:
            raise ChainConnectionError(f"{method} failed on {self.substrate.url}: {exc}") from None
        except (OSError, ConnectionError, TimeoutError) as exc:
            raise ChainConnectionError(f"{self.substrate.url} did not answer {method}: {exc}") from None
        except Exception as exc:  # websocket-client's errors are not OSErrors
            if type(exc).__module__.startswith("websocket"):
                raise ChainConnectionError(f"{self.substrate.url} did not answer {method}: {exc}") from None
            raise

    def block_hash(self, block: int | None) -> str:
        if block is None:
            return self.rpc("chain_getHead", [])
        if isinstance(block, bool) or not isinstance(block, (int, np.integer)) or block < 0:
            raise InputError("block", f"expected a block number >= 0 or None, got {block!r}")
        found = self.rpc("chain_getBlockHash", [int(block)])
        if found is None:
            head = int(self.rpc("chain_getHeader", [])["number"], 16)
            raise InputError("block", f"block {block} does not exist yet (head is {head})")
        return found

    @property
    def ss58_format(self) -> int:
        fmt = self.substrate.ss58_format
        return 42 if fmt is None else int(fmt)

    def layout(self, at: str) -> _Layout:
        try:
            self.substrate.init_runtime(block_hash=at)
        except (OSError, ConnectionError, TimeoutError) as exc:
            raise ChainConnectionError(f"{self.substrate.url} did not answer: {exc}") from None
        version = (self.substrate.runtime_version, id(self.substrate.metadata))
        if version not in self.layouts:
            self.layouts[version] = _Layout(self.substrate)
        return self.layouts[version]

    def read(self, layout: _Layout, at: str, wanted: list[tuple[str, str, list]]) -> list:
        """Decoded values of ``(pallet, item, params)`` at block hash ``at``, one round trip per BATCH_KEYS."""
        items = [layout.item(pallet, name) for pallet, name, _ in wanted]
        keys = ["0x" + item.key(params).hex() for item, (_, _, params) in zip(items, wanted)]
        unique = list(dict.fromkeys(keys))  # a real node leaves out a key repeated in one request
        raw: dict[str, bytes | None] = {}
        for start in range(0, len(unique), BATCH_KEYS):
            for change_set in self.rpc("state_queryStorageAt", [unique[start:start + BATCH_KEYS], at]):
                for key, value in change_set["changes"]:
                    raw[key.lower()] = None if value is None else bytes.fromhex(value[2:])
        return [layout.decode(item, raw.get(key)) for item, key in zip(items, keys)]
