"""``StakeInfoRuntimeApi`` and ``DelegateInfoRuntimeApi``: who stakes what to whom
(``rpc_info/stake_info.rs``, ``delegate_info.rs``).

Stake is the devnet's share-pool stake (`tao_lab.chain.pallets.subtensor.staking`), in alpha rao
(1 alpha = 1 TAO). The devnet models no locks, conviction, drains or delegate returns: those read
0 or None. Every hotkey is a delegate at its ``Delegates`` take (18% unless set), as the devnet's
coinbase pays it.
"""

from __future__ import annotations

from ..runtime_api import ApiCtx, RuntimeApi, api_method
from ..scale import U64, AccountId, Compact, F, Option, Struct, Tuple, Vec
from . import _read as R
from .types import U64F64, DelegateInfo, NetUid, StakeInfo

__all__ = ["STAKE_INFO", "DELEGATE_INFO"]

LockState = Struct("pallet_subtensor::staking::lock::LockState", [
    F("locked_mass", U64, "AlphaBalance"), F("conviction", U64F64, "U64F64"), F("last_update", U64, "u64"),
], "A coldkey's stake lock on a subnet.")


def _stakes(ctx: ApiCtx, coldkey: bytes, hotkey: bytes) -> list[tuple[int, int]]:
    """``(netuid, alpha)`` of every non-zero stake of ``coldkey`` on ``hotkey``."""
    st = ctx.pallet(R.ST)
    out = []
    for (_, _, netuid), shares in st.Alpha.items(ctx.state, hotkey, coldkey):
        amount = st.stake_of(ctx.state, hotkey, coldkey, netuid) if shares["bits"] else 0
        if amount:
            out.append((netuid, amount))
    return sorted(out)


def stake_info(ctx: ApiCtx, hotkey: bytes, coldkey: bytes, netuid: int, amount: int) -> dict:
    st = ctx.pallet(R.ST)
    return {
        "hotkey": hotkey, "coldkey": coldkey, "netuid": netuid, "stake": amount, "locked": 0,
        "emission": R.get(ctx, "AlphaDividendsPerSubnet", netuid, hotkey), "tao_emission": 0, "drain": 0,
        "is_registered": st.Uids.get(ctx.state, netuid, hotkey) is not None,
    }


def stakes_of_coldkey(ctx: ApiCtx, coldkey: bytes) -> list[dict]:
    st = ctx.pallet(R.ST)
    return [stake_info(ctx, hotkey, coldkey, netuid, amount)
            for hotkey in st.StakingHotkeys.get(ctx.state, coldkey)
            for netuid, amount in _stakes(ctx, coldkey, hotkey)]


@api_method("get_stake_info_for_coldkey", [("coldkey_account", AccountId)], Vec(StakeInfo))
def get_stake_info_for_coldkey(ctx: ApiCtx, coldkey_account: bytes):
    """Every non-zero stake of a coldkey, per hotkey and subnet."""
    return stakes_of_coldkey(ctx, coldkey_account)


@api_method("get_stake_info_for_coldkeys", [("coldkey_accounts", Vec(AccountId))],
            Vec(Tuple(AccountId, Vec(StakeInfo))))
def get_stake_info_for_coldkeys(ctx: ApiCtx, coldkey_accounts: list[bytes]):
    """get_stake_info_for_coldkey for several coldkeys."""
    return [(ck, stakes_of_coldkey(ctx, ck)) for ck in coldkey_accounts]


@api_method("get_stake_info_for_hotkey_coldkey_netuid",
            [("hotkey_account", AccountId), ("coldkey_account", AccountId), ("netuid", NetUid)], Option(StakeInfo))
def get_stake_info_for_hotkey_coldkey_netuid(ctx: ApiCtx, hotkey_account: bytes, coldkey_account: bytes, netuid: int):
    """One stake (possibly 0); None if the subnet does not exist."""
    if not R.subnet_exists(ctx, netuid):
        return None
    amount = ctx.pallet(R.ST).stake_of(ctx.state, hotkey_account, coldkey_account, netuid)
    return stake_info(ctx, hotkey_account, coldkey_account, netuid, amount)


_ORIGIN = Option(Tuple(AccountId, NetUid))


@api_method("get_stake_fee", [("origin", _ORIGIN), ("origin_coldkey_account", AccountId), ("destination", _ORIGIN),
                              ("destination_coldkey_account", AccountId), ("amount", U64)], U64)
def get_stake_fee(ctx: ApiCtx, origin, origin_coldkey_account, destination, destination_coldkey_account, amount):
    """The swap fee of a stake operation, in rao: 0 under the stable mechanism."""
    return 0


@api_method("get_coldkey_lock", [("coldkey", AccountId), ("netuid", NetUid)], Option(LockState))
def get_coldkey_lock(ctx: ApiCtx, coldkey: bytes, netuid: int):
    """A coldkey's stake lock on a subnet: none on the devnet."""
    return None


@api_method("get_hotkey_conviction", [("hotkey", AccountId), ("netuid", NetUid)], U64F64)
def get_hotkey_conviction(ctx: ApiCtx, hotkey: bytes, netuid: int):
    """A hotkey's locked-stake conviction on a subnet: 0 on the devnet."""
    return {"bits": 0}


@api_method("get_most_convicted_hotkey_on_subnet", [("netuid", NetUid)], Option(AccountId))
def get_most_convicted_hotkey_on_subnet(ctx: ApiCtx, netuid: int):
    """The hotkey with the most conviction on a subnet: none on the devnet."""
    return None


STAKE_INFO = RuntimeApi("StakeInfoRuntimeApi", [
    get_stake_info_for_coldkey, get_stake_info_for_coldkeys, get_stake_info_for_hotkey_coldkey_netuid,
    get_stake_fee, get_coldkey_lock, get_hotkey_conviction, get_most_convicted_hotkey_on_subnet,
])


# ---------------------------------------------------------------------------------------- delegates


def delegate_info(ctx: ApiCtx, hotkey: bytes) -> dict:
    st = ctx.pallet(R.ST)
    state = ctx.state
    nominators: dict[bytes, list] = {}
    for (_, coldkey, netuid), shares in st.Alpha.items(state, hotkey):
        amount = st.stake_of(state, hotkey, coldkey, netuid) if shares["bits"] else 0
        if amount:
            nominators.setdefault(coldkey, []).append((netuid, amount))
    registrations = sorted(netuid for (_, netuid), member in st.IsNetworkMember.items(state, hotkey) if member)
    permits = []
    for netuid in registrations:
        uid = st.Uids.get(state, netuid, hotkey)
        if uid is not None and R.column(ctx, "ValidatorPermit", netuid, uid + 1, False)[uid]:
            permits.append(netuid)
    return {
        "delegate_ss58": hotkey, "take": st.Delegates.get(state, hotkey),
        "nominators": [(ck, sorted(v)) for ck, v in nominators.items()], "owner_ss58": st.Owner.get(state, hotkey),
        "registrations": registrations, "validator_permits": permits, "return_per_1000": 0, "total_daily_return": 0,
    }


def _all_hotkeys(ctx: ApiCtx) -> list[bytes]:
    return [hotkey for (hotkey,), _ in ctx.pallet(R.ST).Owner.items(ctx.state)]


@api_method("get_delegates", [], Vec(DelegateInfo))
def get_delegates(ctx: ApiCtx):
    """Every delegate: on the devnet, every hotkey with an owner."""
    return [delegate_info(ctx, hk) for hk in _all_hotkeys(ctx)]


@api_method("get_delegate", [("delegate_account", AccountId)], Option(DelegateInfo))
def get_delegate(ctx: ApiCtx, delegate_account: bytes):
    """One delegate; None for a hotkey nobody owns."""
    if not ctx.pallet(R.ST).Owner.contains(ctx.state, delegate_account):
        return None
    return delegate_info(ctx, delegate_account)


@api_method("get_delegated", [("delegatee_account", AccountId)],
            Vec(Tuple(DelegateInfo, Tuple(Compact(NetUid), Compact(U64)))))
def get_delegated(ctx: ApiCtx, delegatee_account: bytes):
    """The delegates a coldkey stakes to, with the (netuid, alpha) of each stake."""
    st = ctx.pallet(R.ST)
    out = []
    for hotkey in st.StakingHotkeys.get(ctx.state, delegatee_account):
        info = delegate_info(ctx, hotkey)
        out.extend((info, (netuid, amount)) for netuid, amount in _stakes(ctx, delegatee_account, hotkey))
    return out


DELEGATE_INFO = RuntimeApi("DelegateInfoRuntimeApi", [get_delegates, get_delegate, get_delegated])
