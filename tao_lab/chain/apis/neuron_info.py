"""``NeuronInfoRuntimeApi``: the neurons of a subnet, one struct per uid (``rpc_info/neuron_info.rs``).

Values come straight from storage: keys from ``Keys``/``Owner``, consensus outputs from the
per-subnet vectors the epoch writes, weights and bonds from their sparse rows (non-zero entries
only, as subtensor). ``stake`` holds one entry, ``(coldkey, alpha staked to the hotkey on the
subnet)``. The devnet keeps no ``Rank``, ``Trust`` or ``PruningScores`` (subtensor no longer
computes them either), so those read 0.
"""

from __future__ import annotations

from ..runtime_api import ApiCtx, RuntimeApi, api_method
from ..scale import U16, Option, Vec
from . import _read as R
from .types import AxonInfo, NetUid, NeuronInfo, NeuronInfoLite, PrometheusInfo

__all__ = ["NEURON_INFO", "neuron"]


_COLUMNS = {"Active": False, "Emission": 0, "Incentive": 0, "Consensus": 0, "ValidatorTrust": 0, "Dividends": 0,
            "LastUpdate": 0, "ValidatorPermit": False}


def _columns(ctx: ApiCtx, netuid: int, n: int) -> dict[str, list]:
    return {item: R.column(ctx, item, netuid, n, fill) for item, fill in _COLUMNS.items()}


def neuron(ctx: ApiCtx, netuid: int, uid: int, full: bool, columns: dict | None = None) -> dict | None:
    """The ``NeuronInfo`` (``full``) or ``NeuronInfoLite`` value of ``uid``; None if there is none.
    ``columns``: the subnet's per-uid vectors, when the caller reads many neurons."""
    st = ctx.pallet(R.ST)
    state = ctx.state
    n = st.SubnetworkN.get(state, netuid)
    if not R.subnet_exists(ctx, netuid) or uid >= n:
        return None
    hotkey = st.Keys.get(state, netuid, uid)
    coldkey = R.coldkey_of(ctx, hotkey)
    columns = columns or _columns(ctx, netuid, n)

    def at(item):
        return columns[item][uid]

    out = {
        "hotkey": hotkey, "coldkey": coldkey, "uid": uid, "netuid": netuid,
        "active": at("Active"),
        "axon_info": st.Axons.get(state, netuid, hotkey) or AxonInfo.default(),
        "prometheus_info": st.Prometheus.get(state, netuid, hotkey) or PrometheusInfo.default(),
        "stake": [(coldkey, R.hotkey_alpha(ctx, hotkey, netuid))],
        "rank": 0, "emission": at("Emission"), "incentive": at("Incentive"), "consensus": at("Consensus"),
        "trust": 0, "validator_trust": at("ValidatorTrust"), "dividends": at("Dividends"),
        "last_update": at("LastUpdate"), "validator_permit": at("ValidatorPermit"), "pruning_score": 0,
    }
    if full:
        out["weights"] = [(j, w) for j, w in st.Weights.get(state, netuid, uid) if w]
        out["bonds"] = [(j, b) for j, b in st.Bonds.get(state, netuid, uid) if b]
    return out


def neurons(ctx: ApiCtx, netuid: int, full: bool) -> list[dict]:
    if not R.subnet_exists(ctx, netuid):
        return []
    n = ctx.pallet(R.ST).SubnetworkN.get(ctx.state, netuid)
    columns = _columns(ctx, netuid, n)
    return [neuron(ctx, netuid, uid, full, columns) for uid in range(n)]


@api_method("get_neurons_lite", [("netuid", NetUid)], Vec(NeuronInfoLite))
def get_neurons_lite(ctx: ApiCtx, netuid: int):
    """Every neuron of a subnet, without weights and bonds (empty for a subnet that does not exist)."""
    return neurons(ctx, netuid, full=False)


@api_method("get_neuron_lite", [("netuid", NetUid), ("uid", U16)], Option(NeuronInfoLite))
def get_neuron_lite(ctx: ApiCtx, netuid: int, uid: int):
    """One neuron, without weights and bonds."""
    return neuron(ctx, netuid, uid, full=False)


@api_method("get_neurons", [("netuid", NetUid)], Vec(NeuronInfo))
def get_neurons(ctx: ApiCtx, netuid: int):
    """Every neuron of a subnet, with its non-zero weights and bonds."""
    return neurons(ctx, netuid, full=True)


@api_method("get_neuron", [("netuid", NetUid), ("uid", U16)], Option(NeuronInfo))
def get_neuron(ctx: ApiCtx, netuid: int, uid: int):
    """One neuron, with its non-zero weights and bonds."""
    return neuron(ctx, netuid, uid, full=True)


NEURON_INFO = RuntimeApi("NeuronInfoRuntimeApi", [get_neurons, get_neuron, get_neurons_lite, get_neuron_lite])
