"""Runtime metadata V14, built from the pallets' own declarations.

Every storage item, call, event, error and constant a pallet declares appears here with its docs,
and every type comes from the same `scale` objects the runtime encodes with, so substrate-interface
decodes exactly what the runtime writes. scalecodec (a dependency of substrate-interface) does the
final encoding of the ``MetadataVersioned`` structure.
"""

from __future__ import annotations

from .scale import U8, U32, U64, Compact, F, H256, Struct, Tuple, TypeRegistry, Unit, Array, Bool
from .types import Era, MultiAddress, MultiSignature

#: Signed extensions in subtensor's order: (identifier, type carried in the extrinsic, additional signed data).
SIGNED_EXTENSIONS = [
    ("CheckNonZeroSender", Unit, Unit),
    ("CheckSpecVersion", Unit, U32),
    ("CheckTxVersion", Unit, U32),
    ("CheckGenesis", Unit, H256),
    ("CheckMortality", Era, H256),
    ("CheckNonce", Compact(U32), Unit),
    ("CheckWeight", Unit, Unit),
    ("ChargeTransactionPayment", Compact(U64), Unit),
    ("SubtensorSignedExtension", Unit, Unit),
]

_MODE = None  # built lazily: frame_metadata_hash_extension::Mode


def _metadata_hash_types():
    from .scale import Enum, Option, V

    mode = Enum("frame_metadata_hash_extension::Mode", [V("Disabled"), V("Enabled")])
    check = Struct("frame_metadata_hash_extension::CheckMetadataHash", [F("mode", mode, "Mode")])
    return check, Option(Array(U8, 32))


def _storage_entry(reg: TypeRegistry, item) -> dict:
    if not item.keys:
        ty = {"Plain": reg.add(item.value)}
    else:
        key = item.keys[0][1] if len(item.keys) == 1 else Tuple(*[k for _, k in item.keys])
        ty = {"Map": {"hashers": [h for h, _ in item.keys], "key": reg.add(key), "value": reg.add(item.value)}}
    default = b"\x00" if item.optional else item.value.encode(item.default)
    return {
        "name": item.name,
        "modifier": "Optional" if item.optional else "Default",
        "type": ty,
        "default": "0x" + default.hex(),
        "documentation": [item.docs] if item.docs else [],
    }


def build_metadata(runtime) -> bytes:
    """Encode the runtime's ``RuntimeMetadataPrefixed`` (magic ``meta`` + V14) as bytes."""
    from scalecodec.base import RuntimeConfigurationObject
    from scalecodec.type_registry import load_type_registry_preset

    reg = TypeRegistry()
    reg.add(runtime.call_type)
    reg.add(runtime.event_record)
    pallets = []
    for p in runtime.pallets:
        items = p.storage_items()
        pallets.append({
            "name": p.name,
            "storage": {"prefix": p.name, "entries": [_storage_entry(reg, i) for i in items]} if items else None,
            "calls": {"ty": reg.add(runtime.call_enums[p.name])} if p.name in runtime.call_enums else None,
            "event": {"ty": reg.add(runtime.event_enums[p.name])} if p.name in runtime.event_enums else None,
            "constants": [
                {"name": c.name, "type": reg.add(c.type), "value": "0x" + c.type.encode(c.value).hex(),
                 "documentation": [c.docs] if c.docs else []}
                for c in p.constants
            ],
            "error": {"ty": reg.add(runtime.error_enums[p.name])} if p.name in runtime.error_enums else None,
            "index": p.index,
        })

    check_hash, hash_option = _metadata_hash_types()
    extensions = SIGNED_EXTENSIONS + [("CheckMetadataHash", check_hash, hash_option)]
    extra = Tuple(*[ty for _, ty, _ in extensions])
    unchecked = Struct("sp_runtime::generic::unchecked_extrinsic::UncheckedExtrinsic", [F(None, _Bytes(), "Vec<u8>")])
    unchecked.params = (("Address", MultiAddress), ("Call", runtime.call_type), ("Signature", MultiSignature), ("Extra", extra))
    extrinsic = {
        "ty": reg.add(unchecked),
        "version": 4,
        "signed_extensions": [
            {"identifier": name, "ty": reg.add(ty), "additional_signed": reg.add(add)} for name, ty, add in extensions
        ],
    }
    runtime_type = reg.add(Struct("node_subtensor_runtime::Runtime", []))
    reg.add(Bool)

    value = ["0x6d657461", {"V14": {
        "types": {"types": reg.portable()},
        "pallets": pallets,
        "extrinsic": extrinsic,
        "runtime_type": runtime_type,
    }}]
    config = RuntimeConfigurationObject()
    config.update_type_registry(load_type_registry_preset("core"))
    return bytes(config.create_scale_object("MetadataVersioned").encode(value).data)


def _Bytes():
    from .scale import Bytes

    return Bytes
