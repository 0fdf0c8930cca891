"""Metadata V15 (served by ``state_call Metadata_metadata_at_version``) next to V14, and the spec
version that follows the metadata.

The blobs are decoded with scalecodec (substrate-interface's codec) extended by frame-metadata's V15
structures (`tao_lab.chain.metadata.V15_TYPES`), the route cyscale and async-substrate-interface take.
"""

from __future__ import annotations

import pytest
from scalecodec.base import RuntimeConfigurationObject, ScaleBytes
from scalecodec.type_registry import load_type_registry_preset

from tao_lab.chain.metadata import scalecodec_config
from tao_lab.chain.runtime import Runtime, default_pallets
from tao_lab.chain.runtime_api import ApiCtx, call, runtime_apis
from tao_lab.chain.scale import U32, compact_decode


@pytest.fixture(scope="module")
def runtime():
    return Runtime()


def decode(blob: bytes, config=None):
    config = config or scalecodec_config()
    obj = config.create_scale_object("MetadataVersioned", data=ScaleBytes(blob))
    obj.decode()
    return obj


@pytest.fixture(scope="module")
def v15(runtime):
    obj = decode(runtime.metadata_at(15))
    return obj, obj.value[1]["V15"]


def test_v14_stays_what_substrate_interface_reads(runtime):
    plain = RuntimeConfigurationObject()
    plain.update_type_registry(load_type_registry_preset("core"))  # scalecodec as shipped: no V15
    v14 = decode(runtime.metadata_at(14), plain)
    assert v14.value[0] == "0x6d657461" and "V14" in v14.value[1]
    assert runtime.metadata() == runtime.metadata_at(14)


def test_v15_has_every_v14_pallet_with_docs(runtime, v15):
    _, md = v15
    v14 = decode(runtime.metadata_at(14)).value[1]["V14"]
    strip = lambda p: {k: v for k, v in p.items() if k != "docs"}  # noqa: E731
    assert [strip(p) for p in md["pallets"]] == v14["pallets"]  # same type ids too: same registry order
    docs = {p["name"]: p["docs"] for p in md["pallets"]}
    assert docs["SubtensorModule"] == [runtime.pallet("SubtensorModule").docs]


def test_v15_extrinsic_and_outer_enums_point_at_the_runtime_types(v15):
    _, md = v15
    types = {t["id"]: t["type"] for t in md["types"]["types"]}
    path = lambda i: "::".join(types[i]["path"])  # noqa: E731
    ext = md["extrinsic"]
    assert ext["version"] == 4
    assert path(ext["address_ty"]) == "sp_runtime::multiaddress::MultiAddress"
    assert path(ext["call_ty"]) == "node_subtensor_runtime::RuntimeCall"
    assert path(ext["signature_ty"]) == "sp_runtime::MultiSignature"
    assert len(types[ext["extra_ty"]]["def"]["tuple"]) == len(ext["signed_extensions"])
    outer = md["outer_enums"]
    assert path(outer["call_enum_ty"]) == "node_subtensor_runtime::RuntimeCall"
    assert path(outer["event_enum_ty"]) == "node_subtensor_runtime::RuntimeEvent"
    errors = types[outer["error_enum_ty"]]
    assert "::".join(errors["path"]) == "node_subtensor_runtime::RuntimeError"
    by_name = {v["name"]: v for v in errors["def"]["variant"]["variants"]}
    assert by_name["SubtensorModule"]["index"] == 7
    assert path(by_name["SubtensorModule"]["fields"][0]["type"]) == "pallet_subtensor::pallet::Error"
    assert md["custom"] == {"map": []}


def test_v15_apis_are_the_declared_ones(v15):
    _, md = v15
    types = {t["id"]: t["type"] for t in md["types"]["types"]}
    served = {(a["name"], m["name"]): m for a in md["apis"] for m in a["methods"]}
    declared = {(a.name, m.name): m for a in runtime_apis() for m in a.methods}
    assert served.keys() == declared.keys()
    for key, method in declared.items():
        assert [i["name"] for i in served[key]["inputs"]] == [name for name, _ in method.params], key
        out = types[served[key]["output"]]["def"]
        # a Vec<u8> output sends the SDKs down their legacy (double-decoding) path
        assert not ("sequence" in out and types[out["sequence"]["type"]]["def"] == {"primitive": "u8"}), key
    for needed in [("NeuronInfoRuntimeApi", "get_neurons_lite"), ("SubnetInfoRuntimeApi", "get_metagraph"),
                   ("SubnetInfoRuntimeApi", "get_subnet_hyperparams_v3"), ("StakeInfoRuntimeApi",
                   "get_stake_info_for_coldkey"), ("SwapRuntimeApi", "current_alpha_price"),
                   ("AccountNonceApi", "account_nonce"), ("TransactionPaymentApi", "query_info"),
                   ("Metadata", "metadata_at_version")]:
        assert needed in served
    account = types[served[("AccountNonceApi", "account_nonce")]["inputs"][0]["ty"]]
    assert account["path"] == ["sp_core", "crypto", "AccountId32"]


def test_metadata_runtime_calls(runtime):
    ctx = ApiCtx(None, runtime, 0)
    for version in (14, 15):
        out = call(ctx, "Metadata_metadata_at_version", U32.encode(version))
        assert out[0] == 1  # Some
        length, start = compact_decode(out, 1)
        assert out[start:] == runtime.metadata_at(version) and length == len(out) - start
        assert out[start + 4] == version  # b"meta" then the version byte
    assert call(ctx, "Metadata_metadata_at_version", U32.encode(16)) == b"\x00"
    assert call(ctx, "Metadata_metadata_versions", b"") == bytes.fromhex("080e0000000f000000")
    blob = runtime.metadata()
    assert call(ctx, "Metadata_metadata", b"")[-len(blob):] == blob


def test_spec_version_follows_the_metadata(runtime):
    """bittensor 11 caches metadata by genesis hash and spec version, and the devnet's genesis never
    changes: a runtime with other metadata must report another spec version."""
    assert Runtime().spec_version == runtime.spec_version  # stable for one shape
    assert runtime.version()["specVersion"] == runtime.spec_version
    assert 300_000_000 <= runtime.spec_version < 301_000_000
    smaller = Runtime([p for p in default_pallets() if p.name != "AdminUtils"])
    try:
        assert smaller.metadata_at(14) != runtime.metadata_at(14)
        assert smaller.spec_version != runtime.spec_version
    finally:
        Runtime()  # a runtime points the shared RuntimeCall type at its calls: put the full set back


def test_runtime_version_lists_the_apis(runtime):
    apis = dict(runtime.version()["apis"])
    from tao_lab.chain.runtime_api import api_id

    assert apis["0x" + api_id("NeuronInfoRuntimeApi").hex()] == 1
    assert apis["0x" + api_id("Metadata").hex()] == 2
    assert len(apis) == len(runtime_apis())
