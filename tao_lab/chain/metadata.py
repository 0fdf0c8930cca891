"""Runtime metadata V14 and V15, built from the pallets' and runtime APIs' own declarations.

Every storage item, call, event, error and constant a pallet declares appears here with its docs,
and every type comes from the same `scale` objects the runtime encodes with, so substrate-interface
decodes exactly what the runtime writes. scalecodec (a dependency of substrate-interface) does the
final encoding of the ``MetadataVersioned`` structure.

V14 is what ``state_getMetadata`` serves (substrate-interface 1.8.1 reads only V14). V15 adds the
runtime APIs (`tao_lab.chain.runtime_api`) and is served by ``state_call
Metadata_metadata_at_version(15)``; the bittensor SDKs and btcli decode runtime API results with it.
"""

from __future__ import annotations

from .scale import U8, U32, U64, Array, Bool, Compact, Enum, F, H256, Struct, Tuple, TypeRegistry, Unit, V
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


def _pallet(reg: TypeRegistry, runtime, p, v15: bool) -> dict:
    items = p.storage_items()
    out = {
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
    }
    if v15:
        out["docs"] = [p.docs] if p.docs else []
    return out


def _extensions():
    check_hash, hash_option = _metadata_hash_types()
    return SIGNED_EXTENSIONS + [("CheckMetadataHash", check_hash, hash_option)]


def _unchecked_extrinsic(runtime, extra):
    from .apis.core import UncheckedExtrinsic

    UncheckedExtrinsic.params = (("Address", MultiAddress), ("Call", runtime.call_type), ("Signature", MultiSignature),
                                 ("Extra", extra))
    return UncheckedExtrinsic


def build_metadata(runtime) -> bytes:
    """Encode the runtime's ``RuntimeMetadataPrefixed`` (magic ``meta`` + V14) as bytes."""
    reg = TypeRegistry()
    reg.add(runtime.call_type)
    reg.add(runtime.event_record)
    pallets = [_pallet(reg, runtime, p, v15=False) for p in runtime.pallets]
    extensions = _extensions()
    extra = Tuple(*[ty for _, ty, _ in extensions])
    extrinsic = {
        "ty": reg.add(_unchecked_extrinsic(runtime, extra)),
        "version": 4,
        "signed_extensions": [
            {"identifier": name, "ty": reg.add(ty), "additional_signed": reg.add(add)} for name, ty, add in extensions
        ],
    }
    runtime_type = reg.add(Struct("node_subtensor_runtime::Runtime", []))
    reg.add(Bool)
    return _encode(["0x6d657461", {"V14": {
        "types": {"types": reg.portable()},
        "pallets": pallets,
        "extrinsic": extrinsic,
        "runtime_type": runtime_type,
    }}])


def build_metadata_v15(runtime) -> bytes:
    """Encode ``meta`` + V15: V14's pallets (with their docs), the runtime APIs, the outer enums.

    Every runtime API method's parameters and output come from `tao_lab.chain.runtime_api`
    declarations, so clients decode ``state_call`` results with the types the node encodes them with.
    """
    from .runtime_api import runtime_apis

    reg = TypeRegistry()
    reg.add(runtime.call_type)
    reg.add(runtime.event_record)
    pallets = [_pallet(reg, runtime, p, v15=True) for p in runtime.pallets]
    extensions = _extensions()
    extra = Tuple(*[ty for _, ty, _ in extensions])
    reg.add(_unchecked_extrinsic(runtime, extra))
    extrinsic = {
        "version": 4,
        "address_ty": reg.add(MultiAddress),
        "call_ty": reg.add(runtime.call_type),
        "signature_ty": reg.add(MultiSignature),
        "extra_ty": reg.add(extra),
        "signed_extensions": [
            {"identifier": name, "ty": reg.add(ty), "additional_signed": reg.add(add)} for name, ty, add in extensions
        ],
    }
    runtime_type = reg.add(Struct("node_subtensor_runtime::Runtime", []))
    reg.add(Bool)
    apis = [{
        "name": api.name,
        "methods": [{
            "name": m.name,
            "inputs": [{"name": name, "ty": reg.add(ty)} for name, ty in m.params],
            "output": reg.add(m.output),
            "docs": [m.docs] if m.docs else [],
        } for m in api.methods],
        "docs": [api.docs] if api.docs else [],
    } for api in runtime_apis()]
    error_type = Enum("node_subtensor_runtime::RuntimeError", [
        V(p.name, [F(None, runtime.error_enums[p.name], f"{p.module}::Error<Runtime>")], index=p.index)
        for p in runtime.pallets if p.name in runtime.error_enums
    ])
    outer_enums = {
        "call_enum_ty": reg.add(runtime.call_type),
        "event_enum_ty": reg.add(runtime.event_type),
        "error_enum_ty": reg.add(error_type),
    }
    return _encode(["0x6d657461", {"V15": {
        "types": {"types": reg.portable()},
        "pallets": pallets,
        "extrinsic": extrinsic,
        "runtime_type": runtime_type,
        "apis": apis,
        "outer_enums": outer_enums,
        "custom": {"map": []},
    }}])


#: frame-metadata's V15 structures, in scalecodec's type-definition format (its ``core`` preset
#: stops at V14); ``MetadataAll`` gains the ``V15`` variant.
V15_TYPES = {
    "MetadataV15": {"type": "struct", "type_mapping": [
        ["types", "PortableRegistry"], ["pallets", "Vec<PalletMetadataV15>"], ["extrinsic", "ExtrinsicMetadataV15"],
        ["runtime_type", "SiLookupTypeId"], ["apis", "Vec<RuntimeApiMetadataV15>"],
        ["outer_enums", "OuterEnumsMetadataV15"], ["custom", "CustomMetadataV15"]]},
    "PalletMetadataV15": {"type": "struct", "base_class": "ScaleInfoPalletMetadata", "type_mapping": [
        ["name", "Text"], ["storage", "Option<StorageMetadataV14>"], ["calls", "Option<PalletCallMetadataV14>"],
        ["event", "Option<PalletEventMetadataV14>"], ["constants", "Vec<PalletConstantMetadataV14>"],
        ["error", "Option<PalletErrorMetadataV14>"], ["index", "u8"], ["docs", "Vec<Text>"]]},
    "ExtrinsicMetadataV15": {"type": "struct", "type_mapping": [
        ["version", "u8"], ["address_ty", "SiLookupTypeId"], ["call_ty", "SiLookupTypeId"],
        ["signature_ty", "SiLookupTypeId"], ["extra_ty", "SiLookupTypeId"],
        ["signed_extensions", "Vec<SignedExtensionMetadataV14>"]]},
    "RuntimeApiMetadataV15": {"type": "struct", "type_mapping": [
        ["name", "Text"], ["methods", "Vec<RuntimeApiMethodMetadataV15>"], ["docs", "Vec<Text>"]]},
    "RuntimeApiMethodMetadataV15": {"type": "struct", "type_mapping": [
        ["name", "Text"], ["inputs", "Vec<RuntimeApiMethodParamMetadataV15>"], ["output", "SiLookupTypeId"],
        ["docs", "Vec<Text>"]]},
    "RuntimeApiMethodParamMetadataV15": {"type": "struct", "type_mapping": [["name", "Text"], ["ty", "SiLookupTypeId"]]},
    "OuterEnumsMetadataV15": {"type": "struct", "type_mapping": [
        ["call_enum_ty", "SiLookupTypeId"], ["event_enum_ty", "SiLookupTypeId"], ["error_enum_ty", "SiLookupTypeId"]]},
    "CustomMetadataV15": {"type": "struct", "type_mapping": [["map", "Vec<CustomMetadataEntryV15>"]]},
    "CustomMetadataEntryV15": {"type": "struct", "type_mapping": [["key", "Text"], ["value", "CustomValueMetadataV15"]]},
    "CustomValueMetadataV15": {"type": "struct", "type_mapping": [["ty", "SiLookupTypeId"], ["value", "Bytes"]]},
}


def scalecodec_config():
    """A scalecodec ``RuntimeConfigurationObject`` with the ``core`` preset and `V15_TYPES`: it
    encodes and decodes ``MetadataVersioned`` V14 and V15 (tests decode the node's blobs with it)."""
    from scalecodec.base import RuntimeConfigurationObject
    from scalecodec.type_registry import load_type_registry_preset

    config = RuntimeConfigurationObject()
    core = load_type_registry_preset("core")
    config.update_type_registry(core)
    versions = [v for v in core["types"]["MetadataAll"]["type_mapping"] if v[0] != "V15"] + [["V15", "MetadataV15"]]
    config.update_type_registry({"types": {
        **V15_TYPES, "MetadataAll": {**core["types"]["MetadataAll"], "type_mapping": versions},
    }})
    return config


def _encode(value) -> bytes:
    return bytes(scalecodec_config().create_scale_object("MetadataVersioned").encode(value).data)
