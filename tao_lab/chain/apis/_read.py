"""Reading SubtensorModule storage for the runtime APIs: per-subnet columns, neurons, optional items.

Items the devnet may not declare (yet) read as their subtensor default through `get`, so an API
answers the same shape whatever subset of subtensor's storage the pallet carries.
"""

from __future__ import annotations

from ..runtime_api import ApiCtx

ST = "SubtensorModule"
ZERO_ACCOUNT = bytes(32)


def get(ctx: ApiCtx, item: str, *keys, default=None):
    """``SubtensorModule.<item>[keys]`` at the queried block; ``default`` if the pallet has no such item."""
    st = ctx.pallet(ST)
    found = getattr(st, item, None)
    if found is None or not hasattr(found, "get"):
        return default
    return found.get(ctx.state, *keys)


def netuids(ctx: ApiCtx) -> list[int]:
    """Every existing subnet, in netuid order."""
    st = ctx.pallet(ST)
    return sorted(netuid for (netuid,), added in st.NetworksAdded.items(ctx.state) if added)


def subnet_exists(ctx: ApiCtx, netuid: int) -> bool:
    return bool(ctx.pallet(ST).NetworksAdded.get(ctx.state, netuid))


def column(ctx: ApiCtx, item: str, netuid: int, n: int, fill=0) -> list:
    """A per-uid vector (``Incentive``, ``Active``, ...) cut or padded with ``fill`` to ``n`` uids."""
    values = get(ctx, item, netuid, default=[]) or []
    return (list(values) + [fill] * n)[:n]


def hotkeys(ctx: ApiCtx, netuid: int) -> list[bytes]:
    """Hotkey of each uid 0..SubnetworkN-1 (the zero account for an empty slot, as subtensor reads it)."""
    st = ctx.pallet(ST)
    return [st.Keys.get(ctx.state, netuid, uid) for uid in range(st.SubnetworkN.get(ctx.state, netuid))]


def coldkey_of(ctx: ApiCtx, hotkey: bytes) -> bytes:
    return ctx.pallet(ST).Owner.get(ctx.state, hotkey)


def hotkey_alpha(ctx: ApiCtx, hotkey: bytes, netuid: int) -> int:
    """Alpha (rao) staked to ``hotkey`` on ``netuid``, all nominators together."""
    return ctx.pallet(ST).TotalHotkeyAlpha.get(ctx.state, hotkey, netuid)


def effective_activity_cutoff(ctx: ApiCtx, netuid: int) -> int:
    """The activity cutoff the devnet's epoch uses, in blocks: tempo * ActivityCutoffFactorMilli / 1000."""
    tempo = get(ctx, "Tempo", netuid, default=0)
    factor = get(ctx, "ActivityCutoffFactorMilli", netuid, default=None)
    if factor is None:
        return get(ctx, "ActivityCutoff", netuid, default=0)
    return max(factor * tempo // 1000, 1)
