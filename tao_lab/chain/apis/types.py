"""SCALE types of subtensor's runtime API results (``pallets/subtensor/src/rpc_info/*.rs``).

Field order is encoding order and every ``Compact`` is subtensor's: one slip shifts every later
field, so these follow subtensor field by field. subtensor's newtypes describe themselves as the
primitive they wrap (``NetUid`` = u16, ``MechId`` = u8, ``AlphaBalance`` / ``TaoBalance`` = u64);
their Rust names survive as the fields' type names. substrate-fixed numbers (``I96F32``,
``I32F32``, ``U64F64``) are composites with one ``bits`` field, which is what clients read.
"""

from __future__ import annotations

from ...chain.scale import (
    I64, U8, U16, U32, U64, U128, AccountId, Array, Bool, Bytes, Compact, Enum, F, Option, Prim, Struct, Tuple, V,
    Vec,
)
from ..pallets.subtensor.types import U64F64, AxonInfo, ChainIdentityV2, PrometheusInfo

__all__ = [
    "NetUid", "MechId", "I96F32", "I32F32", "U64F64", "SubnetIdentityV3", "ChainIdentityV2", "AxonInfo",
    "PrometheusInfo", "NeuronInfo", "NeuronInfoLite", "SubnetInfo", "SubnetInfov2", "SubnetHyperparams",
    "SubnetHyperparamsV2", "HyperparamEntry", "HyperparamValue", "DynamicInfo", "Metagraph",
    "SelectiveMetagraph", "METAGRAPH_FIELDS", "SubnetState", "StakeInfo", "DelegateInfo", "SubnetPrice",
    "SimSwapResult", "fixed", "I128",
]

I128 = Prim("i128")
NetUid = U16
MechId = U8
CU16, CU64, CU128 = Compact(U16), Compact(U64), Compact(U128)
CNetUid = Compact(U16)
CAlpha = CTao = Compact(U64)

I96F32 = Struct("substrate_fixed::FixedI128", [F("bits", I128, "i128")])
I32F32 = Struct("substrate_fixed::FixedI64", [F("bits", I64, "i64")])


def fixed(x: float | int, frac_bits: int = 32) -> dict:
    """A substrate-fixed value ``{"bits": x * 2**frac_bits}`` (exact for integers)."""
    return {"bits": int(x) << frac_bits if isinstance(x, int) else int(round(x * (1 << frac_bits)))}


def _s(path: str, fields: list[tuple], docs: str = "") -> Struct:
    """A struct from ``(name, type, type_name)`` triples."""
    return Struct(path, [F(name, ty, tn) for name, ty, tn in fields], docs)


RI = "pallet_subtensor::rpc_info"
ACC = (AccountId, "AccountId")

SubnetIdentityV3 = _s("pallet_subtensor::pallet::SubnetIdentityOfV3", [
    (name, Bytes, "Vec<u8>") for name in (
        "subnet_name", "github_repo", "subnet_contact", "subnet_url", "discord", "description", "logo_url",
        "additional")
], "A subnet's identity (set by its owner).")

_NEURON_HEAD = [
    ("hotkey", *ACC), ("coldkey", *ACC), ("uid", CU16, "Compact<u16>"), ("netuid", CNetUid, "Compact<NetUid>"),
    ("active", Bool, "bool"), ("axon_info", AxonInfo, "AxonInfo"), ("prometheus_info", PrometheusInfo, "PrometheusInfo"),
    ("stake", Vec(Tuple(AccountId, CAlpha)), "Vec<(AccountId, Compact<AlphaBalance>)>"),
    ("rank", CU16, "Compact<u16>"), ("emission", CAlpha, "Compact<AlphaBalance>"),
    ("incentive", CU16, "Compact<u16>"), ("consensus", CU16, "Compact<u16>"), ("trust", CU16, "Compact<u16>"),
    ("validator_trust", CU16, "Compact<u16>"), ("dividends", CU16, "Compact<u16>"),
    ("last_update", CU64, "Compact<u64>"), ("validator_permit", Bool, "bool"),
]
_SPARSE = Vec(Tuple(CU16, CU16))
NeuronInfo = _s(f"{RI}::neuron_info::NeuronInfo", _NEURON_HEAD + [
    ("weights", _SPARSE, "Vec<(Compact<u16>, Compact<u16>)>"), ("bonds", _SPARSE, "Vec<(Compact<u16>, Compact<u16>)>"),
    ("pruning_score", CU16, "Compact<u16>"),
], "A neuron: its keys, axon, stake, consensus outputs, weights and bonds.")
NeuronInfoLite = _s(f"{RI}::neuron_info::NeuronInfoLite", _NEURON_HEAD + [
    ("pruning_score", CU16, "Compact<u16>"),
], "A neuron without its weights and bonds.")

_SUBNET_INFO = [
    ("netuid", CNetUid, "Compact<NetUid>"), ("rho", CU16, "Compact<u16>"), ("kappa", CU16, "Compact<u16>"),
    ("difficulty", CU64, "Compact<u64>"), ("immunity_period", CU16, "Compact<u16>"),
    ("max_allowed_validators", CU16, "Compact<u16>"), ("min_allowed_weights", CU16, "Compact<u16>"),
    ("max_weights_limit", CU16, "Compact<u16>"), ("scaling_law_power", CU16, "Compact<u16>"),
    ("subnetwork_n", CU16, "Compact<u16>"), ("max_allowed_uids", CU16, "Compact<u16>"),
    ("blocks_since_last_step", CU64, "Compact<u64>"), ("tempo", CU16, "Compact<u16>"),
    ("network_modality", CU16, "Compact<u16>"), ("network_connect", Vec(Array(U16, 2)), "Vec<[u16; 2]>"),
]
SubnetInfo = _s(f"{RI}::subnet_info::SubnetInfo", _SUBNET_INFO + [
    ("emission_values", CU64, "Compact<u64>"), ("burn", CTao, "Compact<TaoBalance>"), ("owner", *ACC),
], "A subnet's parameters (legacy view).")
SubnetInfov2 = _s(f"{RI}::subnet_info::SubnetInfov2", _SUBNET_INFO + [
    ("emission_value", CU64, "Compact<u64>"), ("burn", CTao, "Compact<TaoBalance>"), ("owner", *ACC),
    ("identity", Option(SubnetIdentityV3), "Option<SubnetIdentityV3>"),
], "A subnet's parameters and identity.")

_HYPER = [
    ("rho", CU16, "Compact<u16>"), ("kappa", CU16, "Compact<u16>"), ("immunity_period", CU16, "Compact<u16>"),
    ("min_allowed_weights", CU16, "Compact<u16>"), ("max_weights_limit", CU16, "Compact<u16>"),
    ("tempo", CU16, "Compact<u16>"), ("min_difficulty", CU64, "Compact<u64>"),
    ("max_difficulty", CU64, "Compact<u64>"), ("weights_version", CU64, "Compact<u64>"),
    ("weights_rate_limit", CU64, "Compact<u64>"), ("adjustment_interval", CU16, "Compact<u16>"),
    ("activity_cutoff", CU64, "Compact<u64>"), ("registration_allowed", Bool, "bool"),
    ("target_regs_per_interval", CU16, "Compact<u16>"), ("min_burn", CTao, "Compact<TaoBalance>"),
    ("max_burn", CTao, "Compact<TaoBalance>"), ("bonds_moving_avg", CU64, "Compact<u64>"),
    ("max_regs_per_block", CU16, "Compact<u16>"), ("serving_rate_limit", CU64, "Compact<u64>"),
    ("max_validators", CU16, "Compact<u16>"), ("adjustment_alpha", CU64, "Compact<u64>"),
    ("difficulty", CU64, "Compact<u64>"), ("commit_reveal_period", CU64, "Compact<u64>"),
    ("commit_reveal_weights_enabled", Bool, "bool"), ("alpha_high", CU16, "Compact<u16>"),
    ("alpha_low", CU16, "Compact<u16>"), ("liquid_alpha_enabled", Bool, "bool"),
]
SubnetHyperparams = _s(f"{RI}::subnet_info::SubnetHyperparams", _HYPER, "A subnet's hyperparameters.")
_HYPER_V2_EXTRA = [
    ("alpha_sigmoid_steepness", I32F32, "I32F32"), ("yuma_version", CU16, "Compact<u16>"),
    ("subnet_is_active", Bool, "bool"), ("transfers_enabled", Bool, "bool"), ("bonds_reset_enabled", Bool, "bool"),
    ("user_liquidity_enabled", Bool, "bool"),
]
SubnetHyperparamsV2 = _s(f"{RI}::subnet_info::SubnetHyperparamsV2", _HYPER + _HYPER_V2_EXTRA,
                         "A subnet's hyperparameters (version 2).")

HyperparamValue = Enum(f"{RI}::subnet_info::HyperparamValue", [
    V("Bool", [F(None, Bool, "bool")]), V("U16", [F(None, CU16, "Compact<u16>")]),
    V("U32", [F(None, Compact(U32), "Compact<u32>")]), V("U64", [F(None, CU64, "Compact<u64>")]),
    V("U128", [F(None, CU128, "Compact<u128>")]), V("TaoBalance", [F(None, CTao, "Compact<TaoBalance>")]),
    V("I32F32", [F(None, I32F32, "I32F32")]), V("U64F64", [F(None, U64F64, "U64F64")]),
])
HyperparamEntry = _s(f"{RI}::subnet_info::HyperparamEntry", [
    ("name", Bytes, "Vec<u8>"), ("value", HyperparamValue, "HyperparamValue"),
], "One named hyperparameter (get_subnet_hyperparams_v3).")

_TEXT = Vec(Compact(U8))  # subnet names and symbols are Vec<Compact<u8>> in these structs
DynamicInfo = _s(f"{RI}::dynamic_info::DynamicInfo", [
    ("netuid", CNetUid, "Compact<NetUid>"), ("owner_hotkey", *ACC), ("owner_coldkey", *ACC),
    ("subnet_name", _TEXT, "Vec<Compact<u8>>"), ("token_symbol", _TEXT, "Vec<Compact<u8>>"),
    ("tempo", CU16, "Compact<u16>"), ("last_step", CU64, "Compact<u64>"),
    ("blocks_since_last_step", CU64, "Compact<u64>"), ("emission", CU64, "Compact<u64>"),
    ("alpha_in", CAlpha, "Compact<AlphaBalance>"), ("alpha_out", CAlpha, "Compact<AlphaBalance>"),
    ("tao_in", CTao, "Compact<TaoBalance>"), ("alpha_out_emission", CAlpha, "Compact<AlphaBalance>"),
    ("alpha_in_emission", CAlpha, "Compact<AlphaBalance>"), ("tao_in_emission", CTao, "Compact<TaoBalance>"),
    ("pending_alpha_emission", CAlpha, "Compact<AlphaBalance>"),
    ("pending_root_emission", CTao, "Compact<TaoBalance>"), ("subnet_volume", CU128, "Compact<u128>"),
    ("network_registered_at", CU64, "Compact<u64>"),
    ("subnet_identity", Option(SubnetIdentityV3), "Option<SubnetIdentityV3>"), ("moving_price", I96F32, "I96F32"),
], "A subnet's pool, emission and identity.")

#: Metagraph fields in order, ``(name, type)``; SelectiveMetagraph index i selects field i.
METAGRAPH_FIELDS: list[tuple[str, object, str]] = [
    ("netuid", CNetUid, "Compact<NetUid>"), ("name", _TEXT, "Vec<Compact<u8>>"), ("symbol", _TEXT, "Vec<Compact<u8>>"),
    ("identity", Option(SubnetIdentityV3), "Option<SubnetIdentityV3>"), ("network_registered_at", CU64, "Compact<u64>"),
    ("owner_hotkey", *ACC), ("owner_coldkey", *ACC), ("block", CU64, "Compact<u64>"), ("tempo", CU16, "Compact<u16>"),
    ("last_step", CU64, "Compact<u64>"), ("blocks_since_last_step", CU64, "Compact<u64>"),
    ("subnet_emission", CU64, "Compact<u64>"), ("alpha_in", CAlpha, "Compact<AlphaBalance>"),
    ("alpha_out", CAlpha, "Compact<AlphaBalance>"), ("tao_in", CTao, "Compact<TaoBalance>"),
    ("alpha_out_emission", CAlpha, "Compact<AlphaBalance>"), ("alpha_in_emission", CAlpha, "Compact<AlphaBalance>"),
    ("tao_in_emission", CTao, "Compact<TaoBalance>"), ("pending_alpha_emission", CAlpha, "Compact<AlphaBalance>"),
    ("pending_root_emission", CTao, "Compact<TaoBalance>"), ("subnet_volume", CU128, "Compact<u128>"),
    ("moving_price", I96F32, "I96F32"), ("rho", CU16, "Compact<u16>"), ("kappa", CU16, "Compact<u16>"),
    ("min_allowed_weights", CU16, "Compact<u16>"), ("max_weights_limit", CU16, "Compact<u16>"),
    ("weights_version", CU64, "Compact<u64>"), ("weights_rate_limit", CU64, "Compact<u64>"),
    ("activity_cutoff", CU64, "Compact<u64>"), ("max_validators", CU16, "Compact<u16>"),
    ("num_uids", CU16, "Compact<u16>"), ("max_uids", CU16, "Compact<u16>"), ("burn", CTao, "Compact<TaoBalance>"),
    ("difficulty", CU64, "Compact<u64>"), ("registration_allowed", Bool, "bool"),
    ("pow_registration_allowed", Bool, "bool"), ("immunity_period", CU16, "Compact<u16>"),
    ("min_difficulty", CU64, "Compact<u64>"), ("max_difficulty", CU64, "Compact<u64>"),
    ("min_burn", CTao, "Compact<TaoBalance>"), ("max_burn", CTao, "Compact<TaoBalance>"),
    ("adjustment_alpha", CU64, "Compact<u64>"), ("adjustment_interval", CU16, "Compact<u16>"),
    ("target_regs_per_interval", CU16, "Compact<u16>"), ("max_regs_per_block", CU16, "Compact<u16>"),
    ("serving_rate_limit", CU64, "Compact<u64>"), ("commit_reveal_weights_enabled", Bool, "bool"),
    ("commit_reveal_period", CU64, "Compact<u64>"), ("liquid_alpha_enabled", Bool, "bool"),
    ("alpha_high", CU16, "Compact<u16>"), ("alpha_low", CU16, "Compact<u16>"),
    ("bonds_moving_avg", CU64, "Compact<u64>"), ("hotkeys", Vec(AccountId), "Vec<AccountId>"),
    ("coldkeys", Vec(AccountId), "Vec<AccountId>"),
    ("identities", Vec(Option(ChainIdentityV2)), "Vec<Option<ChainIdentityOfV2>>"),
    ("axons", Vec(AxonInfo), "Vec<AxonInfo>"), ("active", Vec(Bool), "Vec<bool>"),
    ("validator_permit", Vec(Bool), "Vec<bool>"), ("pruning_score", Vec(CU16), "Vec<Compact<u16>>"),
    ("last_update", Vec(CU64), "Vec<Compact<u64>>"), ("emission", Vec(CAlpha), "Vec<Compact<AlphaBalance>>"),
    ("dividends", Vec(CU16), "Vec<Compact<u16>>"), ("incentives", Vec(CU16), "Vec<Compact<u16>>"),
    ("consensus", Vec(CU16), "Vec<Compact<u16>>"), ("trust", Vec(CU16), "Vec<Compact<u16>>"),
    ("rank", Vec(CU16), "Vec<Compact<u16>>"), ("block_at_registration", Vec(CU64), "Vec<Compact<u64>>"),
    ("alpha_stake", Vec(CAlpha), "Vec<Compact<AlphaBalance>>"), ("tao_stake", Vec(CTao), "Vec<Compact<TaoBalance>>"),
    ("total_stake", Vec(CTao), "Vec<Compact<TaoBalance>>"),
    ("tao_dividends_per_hotkey", Vec(Tuple(AccountId, CTao)), "Vec<(AccountId, Compact<TaoBalance>)>"),
    ("alpha_dividends_per_hotkey", Vec(Tuple(AccountId, CAlpha)), "Vec<(AccountId, Compact<AlphaBalance>)>"),
]
Metagraph = _s(f"{RI}::metagraph::Metagraph", METAGRAPH_FIELDS, "A subnet and all its neurons, column by column.")

#: fields SelectiveMetagraph has after the Metagraph ones (indexes 72 and 73)
SELECTIVE_EXTRA: list[tuple[str, object, str]] = [
    ("validators", Vec(CU16), "Vec<Compact<u16>>"),
    ("commitments", Vec(Tuple(AccountId, _TEXT)), "Vec<(AccountId, Vec<Compact<u8>>)>"),
]
#: ``bool`` for ``Option<bool>``: parity-scale-codec encodes ``Option<bool>`` as any Option (tag byte,
#: then the bool), and so do the clients' decoders; `tao_lab.chain.scale.Option` gives the `Bool`
#: object itself the one-byte ``OptionBool`` form.
PlainBool = Prim("bool")

SelectiveMetagraph = _s(f"{RI}::metagraph::SelectiveMetagraph", [METAGRAPH_FIELDS[0]] + [
    (name, Option(PlainBool if ty is Bool else ty), f"Option<{tn}>")
    for name, ty, tn in METAGRAPH_FIELDS[1:] + SELECTIVE_EXTRA
], "The Metagraph fields a client asked for (the others None), selected by index.")

SubnetState = _s(f"{RI}::show_subnet::SubnetState", [
    ("netuid", CNetUid, "Compact<NetUid>"), ("hotkeys", Vec(AccountId), "Vec<AccountId>"),
    ("coldkeys", Vec(AccountId), "Vec<AccountId>"), ("active", Vec(Bool), "Vec<bool>"),
    ("validator_permit", Vec(Bool), "Vec<bool>"), ("pruning_score", Vec(CU16), "Vec<Compact<u16>>"),
    ("last_update", Vec(CU64), "Vec<Compact<u64>>"), ("emission", Vec(CAlpha), "Vec<Compact<AlphaBalance>>"),
    ("dividends", Vec(CU16), "Vec<Compact<u16>>"), ("incentives", Vec(CU16), "Vec<Compact<u16>>"),
    ("consensus", Vec(CU16), "Vec<Compact<u16>>"), ("trust", Vec(CU16), "Vec<Compact<u16>>"),
    ("rank", Vec(CU16), "Vec<Compact<u16>>"), ("block_at_registration", Vec(CU64), "Vec<Compact<u64>>"),
    ("alpha_stake", Vec(CAlpha), "Vec<Compact<AlphaBalance>>"), ("tao_stake", Vec(CTao), "Vec<Compact<TaoBalance>>"),
    ("total_stake", Vec(CTao), "Vec<Compact<TaoBalance>>"),
    ("emission_history", Vec(Vec(CAlpha)), "Vec<Vec<Compact<AlphaBalance>>>"),
], "A subnet's neurons, column by column (btcli subnets show).")

StakeInfo = _s(f"{RI}::stake_info::StakeInfo", [
    ("hotkey", *ACC), ("coldkey", *ACC), ("netuid", CNetUid, "Compact<NetUid>"),
    ("stake", CAlpha, "Compact<AlphaBalance>"), ("locked", CU64, "Compact<u64>"),
    ("emission", CAlpha, "Compact<AlphaBalance>"), ("tao_emission", CTao, "Compact<TaoBalance>"),
    ("drain", CU64, "Compact<u64>"), ("is_registered", Bool, "bool"),
], "A coldkey's stake on one hotkey on one subnet.")

DelegateInfo = _s(f"{RI}::delegate_info::DelegateInfo", [
    ("delegate_ss58", *ACC), ("take", CU16, "Compact<u16>"),
    ("nominators", Vec(Tuple(AccountId, Vec(Tuple(CNetUid, CU64)))), "Vec<(AccountId, Vec<(Compact<NetUid>, Compact<u64>)>)>"),
    ("owner_ss58", *ACC), ("registrations", Vec(CNetUid), "Vec<Compact<NetUid>>"),
    ("validator_permits", Vec(CNetUid), "Vec<Compact<NetUid>>"), ("return_per_1000", CU64, "Compact<u64>"),
    ("total_daily_return", CU64, "Compact<u64>"),
], "A delegate (a hotkey others stake to) and its nominators.")

SubnetPrice = _s("pallet_subtensor_swap_runtime_api::SubnetPrice", [
    ("netuid", NetUid, "NetUid"), ("price", U64, "u64"),
], "A subnet's alpha price in rao per alpha.")
SimSwapResult = _s("pallet_subtensor_swap_runtime_api::SimSwapResult", [
    (name, U64, "u64") for name in ("tao_amount", "alpha_amount", "tao_fee", "alpha_fee", "tao_slippage",
                                    "alpha_slippage")
], "What a swap would give, with its fees and slippage.")
