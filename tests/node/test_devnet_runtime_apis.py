"""Runtime APIs and metadata V15 over JSON-RPC ``state_call``, as the bittensor SDKs call them."""

from __future__ import annotations

import pytest
from substrateinterface import Keypair
from substrateinterface.exceptions import SubstrateRequestException

from tao_lab.chain.scale import compact_decode


def state_call(substrate, method: str, data: str, block_hash=None) -> bytes:
    params = [method, data] + ([block_hash] if block_hash else [])
    out = substrate.rpc_request("state_call", params)
    assert "error" not in out, out
    return bytes.fromhex(out["result"][2:])


def test_metadata_at_version_as_the_sdks_ask_for_it(substrate):
    v15 = state_call(substrate, "Metadata_metadata_at_version", "0x0f000000")
    assert v15[0] == 1
    _, start = compact_decode(v15, 1)
    assert v15[start:start + 5] == b"meta\x0f"
    v14 = state_call(substrate, "Metadata_metadata_at_version", "0e000000")  # without 0x too
    _, start = compact_decode(v14, 1)
    assert v14[start:] == bytes.fromhex(substrate.rpc_request("state_getMetadata", [])["result"][2:])
    assert state_call(substrate, "Metadata_metadata_at_version", "0x10000000") == b"\x00"
    assert state_call(substrate, "Metadata_metadata_versions", "0x") == bytes.fromhex("080e0000000f000000")


def test_runtime_apis_answer_at_the_queried_block(substrate, devnet):
    alice = Keypair.create_from_uri("//Alice")
    now = state_call(substrate, "NeuronInfoRuntimeApi_get_neurons_lite", "0100")  # netuid 1, no 0x
    count, _ = compact_decode(now, 0)
    assert count >= 1 and now[1:33] == alice.public_key  # uid 0: Alice's hotkey
    genesis = substrate.get_block_hash(0)
    assert state_call(substrate, "SwapRuntimeApi_current_alpha_price", "0x0100", genesis) == (10**9).to_bytes(8, "little")
    with pytest.raises(SubstrateRequestException) as bad:  # a u16 needs two bytes
        substrate.rpc_request("state_call", ["NeuronInfoRuntimeApi_get_neurons_lite", "0x01"])
    assert bad.value.args[0]["code"] == -32602


def test_spec_version_is_the_runtimes(substrate, devnet):
    version = substrate.rpc_request("state_getRuntimeVersion", [])["result"]
    assert version["specVersion"] // 1_000_000 == 300
    assert len(version["apis"]) >= 9
