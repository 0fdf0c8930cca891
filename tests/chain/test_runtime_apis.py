"""Subtensor's runtime APIs on a dev chain: results decoded the way clients decode them.

Each result is decoded with scalecodec from the V15 portable registry by the method's output type
id (what async-substrate-interface does with ``scale_info::<id>``), and compared with storage. The
struct layouts are checked field by field against subtensor's ``rpc_info`` (the note
``real-clients.md`` section 6): a wrong order or Compact would decode here but not on a real client.
"""

from __future__ import annotations

import pytest
from scalecodec.base import ScaleBytes

from tao_lab.chain.apis import types as T
from tao_lab.chain.metadata import scalecodec_config
from tao_lab.chain.runtime_api import ApiCtx, RuntimeApiNotFound, call, runtime_apis
from tao_lab.chain.scale import U16, U64, AccountId, CodecError, Compact, Vec

TAO = 10**9
ST = "SubtensorModule"


@pytest.fixture(scope="module")
def decoder():
    """``decode(method, result_bytes)``: scalecodec over the V15 registry, as the SDKs decode results."""
    from tao_lab.chain.runtime import Runtime

    config = scalecodec_config()
    config.ss58_format = 42  # as substrate-interface sets it: account ids decode to SS58 addresses
    md = config.create_scale_object("MetadataVersioned", data=ScaleBytes(Runtime().metadata_at(15)))
    md.decode()
    config.add_portable_registry(md)
    outputs = {f"{a['name']}_{m['name']}": m["output"] for a in md.value[1]["V15"]["apis"] for m in a["methods"]}

    def decode(method: str, data: bytes):
        obj = config.create_scale_object(f"scale_info::{outputs[method]}", data=ScaleBytes(data))
        return obj.decode()

    return decode


@pytest.fixture
def net(chain, accounts, h):
    """Subnet 1 with Bob's hotkey registered (uid 1) and staked to by Bob, one epoch run after weights."""
    alice, bob = accounts["alice"].public, accounts["bob"].public
    hot = h.key("bob-hot")
    uid = h.register(chain, bob, hot)
    chain.dispatch(bob, ST, "add_stake", hotkey=hot, netuid=1, amount_staked=50 * TAO)
    chain.dispatch(alice, ST, "add_stake", hotkey=alice, netuid=1, amount_staked=100 * TAO)
    chain.advance(11)  # an epoch: validator permits
    chain.dispatch(alice, ST, "set_weights", netuid=1, dests=[0, uid], weights=[1, 3], version_key=0)
    chain.advance(11)
    return {"alice": alice, "bob": bob, "hot": hot, "uid": uid}


def run(chain, method: str, data: bytes = b"") -> bytes:
    return call(ApiCtx(chain.state(), chain.runtime, chain.head_number), method, data)


def ss58(key: bytes) -> str:
    from substrateinterface.utils.ss58 import ss58_encode

    return ss58_encode(key, 42)


# ------------------------------------------------------------------------------------ layouts


def names(struct):
    return [f.name for f in struct.fields]


def test_struct_layouts_follow_subtensor():
    head = ["hotkey", "coldkey", "uid", "netuid", "active", "axon_info", "prometheus_info", "stake", "rank",
            "emission", "incentive", "consensus", "trust", "validator_trust", "dividends", "last_update",
            "validator_permit"]
    assert names(T.NeuronInfoLite) == head + ["pruning_score"]
    assert names(T.NeuronInfo) == head + ["weights", "bonds", "pruning_score"]
    assert [repr(f.type) for f in T.NeuronInfoLite.fields[2:4]] == ["Compact<u16>", "Compact<u16>"]
    assert names(T.StakeInfo) == ["hotkey", "coldkey", "netuid", "stake", "locked", "emission", "tao_emission",
                                  "drain", "is_registered"]
    assert names(T.Metagraph)[:8] == ["netuid", "name", "symbol", "identity", "network_registered_at",
                                      "owner_hotkey", "owner_coldkey", "block"]
    assert len(T.Metagraph.fields) == 72 and names(T.Metagraph)[71] == "alpha_dividends_per_hotkey"
    assert len(T.SelectiveMetagraph.fields) == 74
    assert names(T.SelectiveMetagraph)[72:] == ["validators", "commitments"]
    assert repr(T.SelectiveMetagraph.fields[0].type) == "Compact<u16>"  # netuid is not optional
    assert all(repr(f.type).startswith("Option") for f in T.SelectiveMetagraph.fields[1:])
    # Option<bool> as parity-scale-codec (and cyscale) encode it: a tag byte, then the bool
    opt_bool = T.SelectiveMetagraph.fields[names(T.SelectiveMetagraph).index("registration_allowed")].type
    assert opt_bool.encode(True) == b"\x01\x01" and opt_bool.encode(False) == b"\x01\x00"
    assert names(T.SubnetHyperparamsV2)[-6:] == ["alpha_sigmoid_steepness", "yuma_version", "subnet_is_active",
                                                 "transfers_enabled", "bonds_reset_enabled", "user_liquidity_enabled"]
    assert [v.name for v in T.HyperparamValue.variants] == ["Bool", "U16", "U32", "U64", "U128", "TaoBalance",
                                                            "I32F32", "U64F64"]
    assert names(T.DynamicInfo)[-2:] == ["subnet_identity", "moving_price"]
    assert names(T.SimSwapResult) == ["tao_amount", "alpha_amount", "tao_fee", "alpha_fee", "tao_slippage",
                                      "alpha_slippage"]


# ------------------------------------------------------------------------------------ neurons


def test_neurons_lite_equal_storage(chain, net, decoder):
    neurons = decoder("NeuronInfoRuntimeApi_get_neurons_lite", run(chain, "NeuronInfoRuntimeApi_get_neurons_lite",
                                                                   U16.encode(1)))
    q = lambda item, *k: chain.query(ST, item, *k)  # noqa: E731
    assert [n["uid"] for n in neurons] == list(range(q("SubnetworkN", 1)))
    bob = neurons[net["uid"]]
    assert bob["hotkey"] == ss58(net["hot"]) and bob["coldkey"] == ss58(net["bob"]) and bob["netuid"] == 1
    assert bob["stake"] == [(ss58(net["bob"]), q("TotalHotkeyAlpha", net["hot"], 1))]
    assert bob["stake"][0][1] >= 50 * TAO
    for n in neurons:
        uid = n["uid"]
        assert n["incentive"] == q("Incentive", 1)[uid]
        assert n["dividends"] == q("Dividends", 1)[uid]
        assert n["emission"] == q("Emission", 1)[uid]
        assert n["validator_permit"] == q("ValidatorPermit", 1)[uid]
        assert n["last_update"] == q("LastUpdate", 1)[uid]
    assert sum(n["incentive"] for n in neurons) > 0  # the epoch ran on the weights


def test_neuron_with_weights_and_missing_ones(chain, net, decoder):
    m = "NeuronInfoRuntimeApi_get_neuron"
    alice = decoder(m, run(chain, m, U16.encode(1) + U16.encode(0)))
    assert alice["weights"] == [(j, w) for j, w in chain.query(ST, "Weights", 1, 0) if w]
    assert alice["weights"] and alice["axon_info"]["port"] == 0
    assert decoder(m, run(chain, m, U16.encode(1) + U16.encode(999))) is None
    assert run(chain, "NeuronInfoRuntimeApi_get_neurons", U16.encode(77)) == b"\x00"  # no such subnet: []
    full = decoder("NeuronInfoRuntimeApi_get_neurons", run(chain, "NeuronInfoRuntimeApi_get_neurons", U16.encode(1)))
    assert full[0] == alice


# ------------------------------------------------------------------------------------ subnets


def test_hyperparameters_all_versions(chain, net, decoder):
    q = lambda item: chain.query(ST, item, 1)  # noqa: E731
    v1 = decoder("SubnetInfoRuntimeApi_get_subnet_hyperparams",
                 run(chain, "SubnetInfoRuntimeApi_get_subnet_hyperparams", U16.encode(1)))
    assert v1["tempo"] == q("Tempo") and v1["kappa"] == q("Kappa") and v1["min_burn"] == q("MinBurn")
    assert v1["weights_rate_limit"] == q("WeightsSetRateLimit") and v1["alpha_low"] == q("AlphaValues")[0]
    v2 = decoder("SubnetInfoRuntimeApi_get_subnet_hyperparams_v2",
                 run(chain, "SubnetInfoRuntimeApi_get_subnet_hyperparams_v2", U16.encode(1)))
    assert {k: v2[k] for k in v1} == v1
    assert v2["alpha_sigmoid_steepness"] == {"bits": q("AlphaSigmoidSteepness") << 32}
    assert v2["yuma_version"] == (3 if q("Yuma3On") else 2)
    v3 = decoder("SubnetInfoRuntimeApi_get_subnet_hyperparams_v3",
                 run(chain, "SubnetInfoRuntimeApi_get_subnet_hyperparams_v3", U16.encode(1)))
    entries = {e["name"]: e["value"] for e in v3}
    assert entries["tempo"] == {"U16": q("Tempo")}
    assert entries["min_burn"] == {"TaoBalance": q("MinBurn")}
    assert entries["registration_allowed"] == {"Bool": q("NetworkRegistrationAllowed")}
    assert run(chain, "SubnetInfoRuntimeApi_get_subnet_hyperparams_v3", U16.encode(77)) == b"\x00"


def test_subnet_info_dynamic_info_and_prices(chain, net, decoder):
    infos = decoder("SubnetInfoRuntimeApi_get_subnets_info_v2", run(chain, "SubnetInfoRuntimeApi_get_subnets_info_v2"))
    one = next(i for i in infos if i["netuid"] == 1)
    assert one["subnetwork_n"] == chain.query(ST, "SubnetworkN", 1) and one["owner"] == ss58(net["alice"])
    dyn = decoder("SubnetInfoRuntimeApi_get_dynamic_info", run(chain, "SubnetInfoRuntimeApi_get_dynamic_info",
                                                               U16.encode(1)))
    assert dyn["tao_in"] == dyn["alpha_in"] == chain.query(ST, "SubnetTAO", 1)  # price tao_in / alpha_in = 1
    assert dyn["moving_price"] == {"bits": 1 << 32} and dyn["owner_coldkey"] == ss58(net["alice"])
    price = decoder("SwapRuntimeApi_current_alpha_price", run(chain, "SwapRuntimeApi_current_alpha_price",
                                                               U16.encode(1)))
    assert price == TAO
    sim = decoder("SwapRuntimeApi_sim_swap_tao_for_alpha",
                  run(chain, "SwapRuntimeApi_sim_swap_tao_for_alpha", U16.encode(1) + U64.encode(5 * TAO)))
    assert sim["alpha_amount"] == sim["tao_amount"] == 5 * TAO and sim["tao_fee"] == 0


def test_metagraph_and_selective_metagraph(chain, net, decoder):
    mg = decoder("SubnetInfoRuntimeApi_get_metagraph", run(chain, "SubnetInfoRuntimeApi_get_metagraph", U16.encode(1)))
    n = chain.query(ST, "SubnetworkN", 1)
    assert mg["num_uids"] == n == len(mg["hotkeys"]) == len(mg["axons"]) == len(mg["alpha_stake"])
    assert mg["hotkeys"][net["uid"]] == ss58(net["hot"]) and mg["block"] == chain.head_number
    assert mg["alpha_stake"][net["uid"]] == chain.query(ST, "TotalHotkeyAlpha", net["hot"], 1)
    assert mg["incentives"] == chain.query(ST, "Incentive", 1)[:n]
    m = "SubnetInfoRuntimeApi_get_selective_metagraph"
    sel = decoder(m, run(chain, m, U16.encode(1) + Vec(U16).encode([0, 52, 72])))
    assert sel["netuid"] == 1 and sel["hotkeys"] == mg["hotkeys"] and sel["name"] is None
    assert sel["validators"] == [uid for uid, p in enumerate(mg["validator_permit"]) if p]
    state = decoder("SubnetInfoRuntimeApi_get_subnet_state",
                    run(chain, "SubnetInfoRuntimeApi_get_subnet_state", U16.encode(1)))
    assert state["hotkeys"] == mg["hotkeys"] and state["total_stake"] == mg["total_stake"]
    nxt = decoder("SubnetInfoRuntimeApi_get_next_epoch_start_block",
                  run(chain, "SubnetInfoRuntimeApi_get_next_epoch_start_block", U16.encode(1)))
    assert chain.head_number < nxt <= chain.head_number + chain.query(ST, "Tempo", 1)
    mecha = "SubnetInfoRuntimeApi_get_mechagraph"
    assert run(chain, mecha, U16.encode(1) + b"\x00") == run(chain, "SubnetInfoRuntimeApi_get_metagraph", U16.encode(1))
    assert run(chain, mecha, U16.encode(1) + b"\x01") == b"\x00"


# ------------------------------------------------------------------------------------ stake and delegates


def test_stake_info(chain, net, decoder):
    m = "StakeInfoRuntimeApi_get_stake_info_for_coldkey"
    stakes = decoder(m, run(chain, m, AccountId.encode(net["bob"])))
    bob = chain.runtime.pallet(ST).stake_of(chain.state(), net["hot"], net["bob"], 1)
    assert [(s["hotkey"], s["netuid"], s["stake"]) for s in stakes] == [(ss58(net["hot"]), 1, bob)]
    assert stakes[0]["is_registered"] is True
    m = "StakeInfoRuntimeApi_get_stake_info_for_hotkey_coldkey_netuid"
    one = decoder(m, run(chain, m, AccountId.encode(net["hot"]) + AccountId.encode(net["bob"]) + U16.encode(1)))
    assert one == stakes[0]
    m = "StakeInfoRuntimeApi_get_stake_info_for_coldkeys"
    many = decoder(m, run(chain, m, Vec(AccountId).encode([net["bob"], bytes(32)])))
    assert many == [(ss58(net["bob"]), stakes), (ss58(bytes(32)), [])]


def test_delegates(chain, net, decoder):
    delegates = decoder("DelegateInfoRuntimeApi_get_delegates", run(chain, "DelegateInfoRuntimeApi_get_delegates"))
    bob_hot = next(d for d in delegates if d["delegate_ss58"] == ss58(net["hot"]))
    assert bob_hot["owner_ss58"] == ss58(net["bob"]) and bob_hot["registrations"] == [1]
    assert bob_hot["take"] == chain.query(ST, "Delegates", net["hot"])
    assert [ck for ck, _ in bob_hot["nominators"]] == [ss58(net["bob"])]
    m = "DelegateInfoRuntimeApi_get_delegated"
    delegated = decoder(m, run(chain, m, AccountId.encode(net["bob"])))
    assert [(d["delegate_ss58"], stake) for d, stake in delegated] == [(ss58(net["hot"]), (1, bob_hot["nominators"][0][1][0][1]))]


# ------------------------------------------------------------------------------------ core APIs and errors


def test_account_nonce_and_unknown_or_malformed_calls(chain, net):
    nonce = run(chain, "AccountNonceApi_account_nonce", AccountId.encode(net["bob"]))
    assert nonce == chain.runtime.pallet("System").nonce(chain.state(), net["bob"]).to_bytes(4, "little")
    with pytest.raises(RuntimeApiNotFound):
        run(chain, "NeuronInfoRuntimeApi_no_such_method", b"")
    with pytest.raises(CodecError):
        run(chain, "NeuronInfoRuntimeApi_get_neurons_lite", b"\x01")  # a u16 needs two bytes
    with pytest.raises(CodecError):
        run(chain, "NeuronInfoRuntimeApi_get_neurons_lite", b"\x01\x00\x00")  # trailing byte


def test_every_method_answers_on_the_dev_chain(chain, decoder):
    """Every declared method runs on default parameters and its result decodes by its V15 output type."""
    for api in runtime_apis():
        for m in api.methods:
            if api.name == "TransactionPaymentApi" and m.name.startswith("query_") and m.params[0][0] == "uxt":
                continue  # needs a signed extrinsic: tests/node covers it
            args = b"".join(U16.encode(1) if name == "netuid" else ty.encode(ty.default()) for name, ty in m.params)
            decoder(f"{api.name}_{m.name}", run(chain, f"{api.name}_{m.name}", args))
    assert Compact(U16).encode(1) == b"\x04"
