"""``SubnetInfoRuntimeApi``: subnets, their hyperparameters, pools and metagraphs
(``rpc_info/subnet_info.rs``, ``dynamic_info.rs``, ``metagraph.rs``, ``show_subnet.rs``).

Under the devnet's stake model (subtensor's *stable* mechanism, see `tao_lab.chain.pallets.subtensor.
staking`) one alpha is always worth one TAO: the pool reserves are reported as a notional 1:1 pool
(``tao_in`` = ``alpha_in`` = the TAO staked into the subnet, at least 1 TAO so that clients that
divide one by the other get the price 1), ``moving_price`` is 1.0, and the TAO-side emissions the
devnet does not model (root dividends, TAO injection) read 0. Hyperparameters the devnet has no
storage for read subtensor's defaults.
"""

from __future__ import annotations

from ..runtime_api import ApiCtx, RuntimeApi, api_method
from ..scale import U16, U64, AccountId, Option, Vec
from ..pallets.subtensor.types import RAO_PER_TAO
from . import _read as R
from .types import (
    METAGRAPH_FIELDS, SELECTIVE_EXTRA, DynamicInfo, HyperparamEntry, MechId, Metagraph, NetUid, SelectiveMetagraph,
    SubnetHyperparams, SubnetHyperparamsV2, SubnetInfo, SubnetInfov2, SubnetState, fixed,
)

__all__ = ["SUBNET_INFO", "hyperparams", "metagraph", "dynamic_info"]

MOVING_PRICE_ONE = fixed(1)  # I96F32 1.0: the stable mechanism's price


# ---------------------------------------------------------------------------------------- hyperparameters


def hyperparams(ctx: ApiCtx, netuid: int) -> dict:
    """Every ``SubnetHyperparamsV2`` field of ``netuid``, read from storage."""
    g = lambda item, default=0: R.get(ctx, item, netuid, default=default)  # noqa: E731
    alpha_low, alpha_high = g("AlphaValues", (45_875, 58_982))
    return {
        "rho": g("Rho"), "kappa": g("Kappa"), "immunity_period": g("ImmunityPeriod"),
        "min_allowed_weights": g("MinAllowedWeights"), "max_weights_limit": g("MaxWeightsLimit"),
        "tempo": g("Tempo"), "min_difficulty": g("MinDifficulty", 1), "max_difficulty": g("MaxDifficulty", (1 << 64) - 1),
        "weights_version": g("WeightsVersionKey"), "weights_rate_limit": g("WeightsSetRateLimit"),
        "adjustment_interval": g("AdjustmentInterval", 100),
        "activity_cutoff": R.effective_activity_cutoff(ctx, netuid),
        "registration_allowed": g("NetworkRegistrationAllowed", True),
        "target_regs_per_interval": g("TargetRegistrationsPerInterval", 1),
        "min_burn": g("MinBurn"), "max_burn": g("MaxBurn"), "bonds_moving_avg": g("BondsMovingAverage"),
        "max_regs_per_block": g("MaxRegistrationsPerBlock"), "serving_rate_limit": g("ServingRateLimit"),
        "max_validators": g("MaxAllowedValidators"), "adjustment_alpha": g("AdjustmentAlpha", 0),
        "difficulty": g("Difficulty"), "commit_reveal_period": g("RevealPeriodEpochs"),
        "commit_reveal_weights_enabled": g("CommitRevealWeightsEnabled"),
        "alpha_high": alpha_high, "alpha_low": alpha_low, "liquid_alpha_enabled": g("LiquidAlphaOn", False),
        "alpha_sigmoid_steepness": fixed(g("AlphaSigmoidSteepness", 1000)),
        "yuma_version": 3 if g("Yuma3On", False) else 2,
        "subnet_is_active": bool(g("SubtokenEnabled", False)),
        "transfers_enabled": bool(g("TransferToggle", True)),
        "bonds_reset_enabled": bool(g("BondsResetOn", False)),
        "user_liquidity_enabled": bool(g("UserLiquidityEnabled", False)),
    }


#: get_subnet_hyperparams_v3 entries in subtensor's order: (name, HyperparamValue variant); the names
#: are the V2 field names plus a few V2 lacks
_V3 = [
    ("kappa", "U16"), ("immunity_period", "U16"), ("min_allowed_weights", "U16"), ("max_weights_limit", "U16"),
    ("tempo", "U16"), ("weights_version", "U64"), ("weights_rate_limit", "U64"), ("activity_cutoff", "U64"),
    ("activity_cutoff_factor", "U32"), ("registration_allowed", "Bool"), ("target_regs_per_interval", "U16"),
    ("min_burn", "TaoBalance"), ("max_burn", "TaoBalance"), ("burn_half_life", "U16"),
    ("burn_increase_mult", "U64F64"), ("bonds_moving_avg", "U64"), ("max_regs_per_block", "U16"),
    ("serving_rate_limit", "U64"), ("max_validators", "U16"), ("commit_reveal_period", "U64"),
    ("commit_reveal_weights_enabled", "Bool"), ("alpha_high", "U16"), ("alpha_low", "U16"),
    ("liquid_alpha_enabled", "Bool"), ("alpha_sigmoid_steepness", "I32F32"), ("yuma_version", "U16"),
    ("subnet_is_active", "Bool"), ("transfers_enabled", "Bool"), ("bonds_reset_enabled", "Bool"),
    ("user_liquidity_enabled", "Bool"), ("owner_cut_enabled", "Bool"), ("owner_cut_auto_lock_enabled", "Bool"),
]


def hyperparams_v3(ctx: ApiCtx, netuid: int) -> list[dict]:
    """The named, typed hyperparameter entries of ``netuid``."""
    values = hyperparams(ctx, netuid)
    g = lambda item, default=0: R.get(ctx, item, netuid, default=default)  # noqa: E731
    values.update({
        "activity_cutoff_factor": g("ActivityCutoffFactorMilli", 0), "burn_half_life": g("BurnHalfLife", 360),
        "burn_increase_mult": g("BurnIncreaseMult", {"bits": 2 << 64}),
        "owner_cut_enabled": bool(g("OwnerCutEnabled", True)),
        "owner_cut_auto_lock_enabled": bool(g("OwnerCutAutoLockEnabled", False)),
    })
    return [{"name": name.encode(), "value": (kind, values[name])} for name, kind in _V3]


@api_method("get_subnet_hyperparams", [("netuid", NetUid)], Option(SubnetHyperparams))
def get_subnet_hyperparams(ctx: ApiCtx, netuid: int):
    """A subnet's hyperparameters; None if it does not exist."""
    if not R.subnet_exists(ctx, netuid):
        return None
    return hyperparams(ctx, netuid)


@api_method("get_subnet_hyperparams_v2", [("netuid", NetUid)], Option(SubnetHyperparamsV2))
def get_subnet_hyperparams_v2(ctx: ApiCtx, netuid: int):
    """A subnet's hyperparameters (version 2); None if it does not exist."""
    return get_subnet_hyperparams.fn(ctx, netuid)


@api_method("get_subnet_hyperparams_v3", [("netuid", NetUid)], Option(Vec(HyperparamEntry)))
def get_subnet_hyperparams_v3(ctx: ApiCtx, netuid: int):
    """A subnet's hyperparameters as named, typed entries; None if it does not exist."""
    if not R.subnet_exists(ctx, netuid):
        return None
    return hyperparams_v3(ctx, netuid)


# ---------------------------------------------------------------------------------------- subnet info


def _identity(ctx: ApiCtx, netuid: int):
    return R.get(ctx, "SubnetIdentitiesV3", netuid, default=None)


def subnet_info(ctx: ApiCtx, netuid: int, v2: bool) -> dict | None:
    if not R.subnet_exists(ctx, netuid):
        return None
    g = lambda item, default=0: R.get(ctx, item, netuid, default=default)  # noqa: E731
    out = {
        "netuid": netuid, "rho": g("Rho"), "kappa": g("Kappa"), "difficulty": g("Difficulty"),
        "immunity_period": g("ImmunityPeriod"), "max_allowed_validators": g("MaxAllowedValidators"),
        "min_allowed_weights": g("MinAllowedWeights"), "max_weights_limit": g("MaxWeightsLimit"),
        "scaling_law_power": g("ScalingLawPower", 50), "subnetwork_n": g("SubnetworkN"),
        "max_allowed_uids": g("MaxAllowedUids"), "blocks_since_last_step": g("BlocksSinceLastStep"),
        "tempo": g("Tempo"), "network_modality": 0, "network_connect": [],
        "burn": g("Burn"), "owner": g("SubnetOwner", bytes(32)),
    }
    out["emission_value" if v2 else "emission_values"] = g("EmissionValues")
    if v2:
        out["identity"] = _identity(ctx, netuid)
    return out


@api_method("get_subnet_info", [("netuid", NetUid)], Option(SubnetInfo))
def get_subnet_info(ctx: ApiCtx, netuid: int):
    """A subnet's parameters (legacy view); None if it does not exist."""
    return subnet_info(ctx, netuid, v2=False)


@api_method("get_subnets_info", [], Vec(Option(SubnetInfo)))
def get_subnets_info(ctx: ApiCtx):
    """Every subnet's parameters (legacy view)."""
    return [subnet_info(ctx, netuid, v2=False) for netuid in R.netuids(ctx)]


@api_method("get_subnet_info_v2", [("netuid", NetUid)], Option(SubnetInfov2))
def get_subnet_info_v2(ctx: ApiCtx, netuid: int):
    """A subnet's parameters and identity; None if it does not exist."""
    return subnet_info(ctx, netuid, v2=True)


@api_method("get_subnets_info_v2", [], Vec(Option(SubnetInfov2)))
def get_subnets_info_v2(ctx: ApiCtx):
    """Every subnet's parameters and identity."""
    return [subnet_info(ctx, netuid, v2=True) for netuid in R.netuids(ctx)]


# ---------------------------------------------------------------------------------------- pools (dynamic info)


def _pool(ctx: ApiCtx, netuid: int) -> dict:
    """The subnet-wide fields DynamicInfo and Metagraph share."""
    g = lambda item, default=0: R.get(ctx, item, netuid, default=default)  # noqa: E731
    reserve = max(g("SubnetTAO"), RAO_PER_TAO)  # a notional 1:1 pool: price tao_in / alpha_in = 1
    identity = _identity(ctx, netuid)
    name = identity["subnet_name"] if identity else b""
    return {
        "netuid": netuid, "owner_hotkey": g("SubnetOwnerHotkey", bytes(32)), "owner_coldkey": g("SubnetOwner", bytes(32)),
        "name": list(name), "symbol": list(g("TokenSymbol", b"") or b""), "identity": identity,
        "tempo": g("Tempo"), "last_step": g("LastMechansimStepBlock"), "blocks_since_last_step": g("BlocksSinceLastStep"),
        "emission": g("EmissionValues"), "alpha_in": reserve, "alpha_out": g("SubnetAlphaOut"), "tao_in": reserve,
        "alpha_out_emission": g("SubnetAlphaOutEmission"), "alpha_in_emission": g("SubnetAlphaInEmission"),
        "tao_in_emission": g("SubnetTaoInEmission"),
        "pending_alpha_emission": g("PendingServerEmission") + g("PendingValidatorEmission"),
        "pending_root_emission": 0, "subnet_volume": g("SubnetVolume"),
        "network_registered_at": g("NetworkRegisteredAt"), "moving_price": MOVING_PRICE_ONE,
    }


def dynamic_info(ctx: ApiCtx, netuid: int) -> dict | None:
    if not R.subnet_exists(ctx, netuid):
        return None
    p = _pool(ctx, netuid)
    return {**p, "subnet_name": p["name"], "token_symbol": p["symbol"], "subnet_identity": p["identity"]}


@api_method("get_dynamic_info", [("netuid", NetUid)], Option(DynamicInfo))
def get_dynamic_info(ctx: ApiCtx, netuid: int):
    """A subnet's pool, emission and identity; None if it does not exist."""
    return dynamic_info(ctx, netuid)


@api_method("get_all_dynamic_info", [], Vec(Option(DynamicInfo)))
def get_all_dynamic_info(ctx: ApiCtx):
    """Every subnet's pool, emission and identity."""
    return [dynamic_info(ctx, netuid) for netuid in R.netuids(ctx)]


# ---------------------------------------------------------------------------------------- metagraph


def _neuron_columns(ctx: ApiCtx, netuid: int) -> dict:
    """The per-uid columns of Metagraph and SubnetState."""
    st = ctx.pallet(R.ST)
    keys = R.hotkeys(ctx, netuid)
    n = len(keys)
    col = lambda item, fill=0: R.column(ctx, item, netuid, n, fill)  # noqa: E731
    alpha = [R.hotkey_alpha(ctx, hk, netuid) for hk in keys]
    return {
        "hotkeys": keys, "coldkeys": [R.coldkey_of(ctx, hk) for hk in keys],
        "active": col("Active", False), "validator_permit": col("ValidatorPermit", False),
        "pruning_score": [0] * n, "last_update": col("LastUpdate"), "emission": col("Emission"),
        "dividends": col("Dividends"), "incentives": col("Incentive"), "consensus": col("Consensus"),
        "trust": [0] * n, "rank": [0] * n,
        "block_at_registration": [st.BlockAtRegistration.get(ctx.state, netuid, uid) for uid in range(n)],
        # no root TAO weight on the devnet: a neuron's stake is its alpha
        "alpha_stake": alpha, "tao_stake": [0] * n, "total_stake": list(alpha),
    }


def metagraph(ctx: ApiCtx, netuid: int) -> dict | None:
    """Every ``Metagraph`` field of ``netuid``; None if the subnet does not exist."""
    if not R.subnet_exists(ctx, netuid):
        return None
    st = ctx.pallet(R.ST)
    hp = hyperparams(ctx, netuid)
    g = lambda item, default=0: R.get(ctx, item, netuid, default=default)  # noqa: E731
    cols = _neuron_columns(ctx, netuid)
    keys = cols["hotkeys"]
    pool = _pool(ctx, netuid)
    out = {
        **pool, "block": ctx.block_number, "subnet_emission": pool["emission"],
        "activity_cutoff": R.effective_activity_cutoff(ctx, netuid), "num_uids": len(keys),
        "max_uids": g("MaxAllowedUids"), "burn": g("Burn"),
        "pow_registration_allowed": g("NetworkPowRegistrationAllowed", False),
        "identities": [st.IdentitiesV2.get(ctx.state, ck) for ck in cols["coldkeys"]],
        "axons": [st.Axons.get(ctx.state, netuid, hk) or _ZERO_AXON for hk in keys],
        "tao_dividends_per_hotkey": [(hk, 0) for hk in keys],
        "alpha_dividends_per_hotkey": [(hk, R.get(ctx, "AlphaDividendsPerSubnet", netuid, hk)) for hk in keys],
        **cols,
    }
    for name in ("rho", "kappa", "min_allowed_weights", "max_weights_limit", "weights_version", "weights_rate_limit",
                 "max_validators", "difficulty", "registration_allowed", "immunity_period", "min_difficulty",
                 "max_difficulty", "min_burn", "max_burn", "adjustment_alpha", "adjustment_interval",
                 "target_regs_per_interval", "max_regs_per_block", "serving_rate_limit",
                 "commit_reveal_weights_enabled", "commit_reveal_period", "liquid_alpha_enabled", "alpha_high",
                 "alpha_low", "bonds_moving_avg"):
        out[name] = hp[name]
    return {name: out[name] for name, _, _ in METAGRAPH_FIELDS}


_ZERO_AXON = Metagraph.fields[[f.name for f in Metagraph.fields].index("axons")].type.inner.default()


def selective_metagraph(ctx: ApiCtx, netuid: int, indexes: list[int]) -> dict | None:
    """The Metagraph fields at ``indexes`` (positions in SelectiveMetagraph), the others None."""
    full = metagraph(ctx, netuid)
    if full is None:
        return None
    names = [name for name, _, _ in METAGRAPH_FIELDS + SELECTIVE_EXTRA]
    wanted = {names[i] for i in indexes if 0 <= i < len(names)}
    full["validators"] = [uid for uid, permit in enumerate(full["validator_permit"]) if permit]
    full["commitments"] = []  # the devnet stores no commitments
    return {name: (full[name] if name in wanted or name == "netuid" else None) for name in names}


@api_method("get_metagraph", [("netuid", NetUid)], Option(Metagraph))
def get_metagraph(ctx: ApiCtx, netuid: int):
    """A subnet and all its neurons; None if it does not exist."""
    return metagraph(ctx, netuid)


@api_method("get_all_metagraphs", [], Vec(Option(Metagraph)))
def get_all_metagraphs(ctx: ApiCtx):
    """Every subnet's metagraph."""
    return [metagraph(ctx, netuid) for netuid in R.netuids(ctx)]


@api_method("get_mechagraph", [("netuid", NetUid), ("mecid", MechId)], Option(Metagraph))
def get_mechagraph(ctx: ApiCtx, netuid: int, mecid: int):
    """The metagraph of one mechanism of a subnet (the devnet has mechanism 0 only)."""
    return metagraph(ctx, netuid) if mecid == 0 else None


@api_method("get_all_mechagraphs", [], Vec(Option(Metagraph)))
def get_all_mechagraphs(ctx: ApiCtx):
    """The metagraph of every mechanism of every subnet (one each on the devnet)."""
    return get_all_metagraphs.fn(ctx)


@api_method("get_selective_metagraph", [("netuid", NetUid), ("metagraph_indexes", Vec(U16))],
            Option(SelectiveMetagraph))
def get_selective_metagraph(ctx: ApiCtx, netuid: int, metagraph_indexes: list[int]):
    """The metagraph fields selected by index (SelectiveMetagraphIndex), the others None."""
    return selective_metagraph(ctx, netuid, metagraph_indexes)


@api_method("get_selective_mechagraph", [("netuid", NetUid), ("subid", MechId), ("metagraph_indexes", Vec(U16))],
            Option(SelectiveMetagraph))
def get_selective_mechagraph(ctx: ApiCtx, netuid: int, subid: int, metagraph_indexes: list[int]):
    """get_selective_metagraph for one mechanism (the devnet has mechanism 0 only)."""
    return selective_metagraph(ctx, netuid, metagraph_indexes) if subid == 0 else None


@api_method("get_subnet_state", [("netuid", NetUid)], Option(SubnetState))
def get_subnet_state(ctx: ApiCtx, netuid: int):
    """A subnet's neurons, column by column; None if it does not exist."""
    if not R.subnet_exists(ctx, netuid):
        return None
    cols = _neuron_columns(ctx, netuid)
    return {"netuid": netuid, **cols, "emission_history": [[] for _ in cols["hotkeys"]]}


# ---------------------------------------------------------------------------------------- schedule and misc


@api_method("get_next_epoch_start_block", [("netuid", NetUid)], Option(U64))
def get_next_epoch_start_block(ctx: ApiCtx, netuid: int):
    """The block in which the subnet's next epoch runs; None if it does not exist or never runs (tempo 0)."""
    if not R.subnet_exists(ctx, netuid):
        return None
    tempo = R.get(ctx, "Tempo", netuid)
    if tempo == 0:
        return None
    after = ctx.block_number + 1
    nxt = max(R.get(ctx, "LastEpochBlock", netuid) + tempo, after)
    pending = R.get(ctx, "PendingEpochAt", netuid, default=0)
    if pending > 0:
        nxt = min(nxt, max(pending, after))
    return nxt


@api_method("get_subnet_to_prune", [], Option(NetUid))
def get_subnet_to_prune(ctx: ApiCtx):
    """The subnet that registering one more would prune: none on the devnet (subnets are never pruned)."""
    return None


@api_method("get_coldkey_auto_stake_hotkey", [("coldkey", AccountId), ("netuid", NetUid)], Option(AccountId))
def get_coldkey_auto_stake_hotkey(ctx: ApiCtx, coldkey: bytes, netuid: int):
    """The hotkey a coldkey's emissions are auto-staked to on a subnet: none on the devnet."""
    return None


SUBNET_INFO = RuntimeApi("SubnetInfoRuntimeApi", [
    get_subnet_info, get_subnets_info, get_subnet_info_v2, get_subnets_info_v2, get_subnet_hyperparams,
    get_subnet_hyperparams_v2, get_subnet_hyperparams_v3, get_all_dynamic_info, get_all_metagraphs, get_metagraph,
    get_all_mechagraphs, get_mechagraph, get_dynamic_info, get_subnet_state, get_selective_metagraph,
    get_selective_mechagraph, get_coldkey_auto_stake_hotkey, get_subnet_to_prune, get_next_epoch_start_block,
], version=2)
