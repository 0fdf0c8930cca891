"""``SwapRuntimeApi`` and ``SubnetRegistrationRuntimeApi`` under the devnet's stable mechanism.

One alpha is always worth one TAO (`tao_lab.chain.pallets.subtensor.staking`): the price is
1_000_000_000 rao per alpha on every subnet, and a swap gives back what it is given, with no fee
and no slippage. A subnet costs ``NetworkMinLockCost`` to register (no doubling or decay).
"""

from __future__ import annotations

from ..runtime_api import ApiCtx, RuntimeApi, api_method
from ..scale import U64, Vec
from ..pallets.subtensor.types import RAO_PER_TAO
from . import _read as R
from .types import NetUid, SimSwapResult, SubnetPrice

__all__ = ["SWAP", "SUBNET_REGISTRATION", "PRICE"]

PRICE = RAO_PER_TAO  #: rao per alpha, on every subnet


@api_method("current_alpha_price", [("netuid", NetUid)], U64)
def current_alpha_price(ctx: ApiCtx, netuid: int):
    """The subnet's alpha price in rao per alpha (1_000_000_000: one TAO)."""
    return PRICE


@api_method("current_alpha_price_all", [], Vec(SubnetPrice))
def current_alpha_price_all(ctx: ApiCtx):
    """Every subnet's alpha price in rao per alpha."""
    return [{"netuid": netuid, "price": PRICE} for netuid in R.netuids(ctx)]


def _swap(amount: int) -> dict:
    return {"tao_amount": amount, "alpha_amount": amount, "tao_fee": 0, "alpha_fee": 0, "tao_slippage": 0,
            "alpha_slippage": 0}


@api_method("sim_swap_tao_for_alpha", [("netuid", NetUid), ("tao", U64)], SimSwapResult)
def sim_swap_tao_for_alpha(ctx: ApiCtx, netuid: int, tao: int):
    """What staking ``tao`` rao buys: as much alpha, no fee, no slippage."""
    return _swap(tao)


@api_method("sim_swap_alpha_for_tao", [("netuid", NetUid), ("alpha", U64)], SimSwapResult)
def sim_swap_alpha_for_tao(ctx: ApiCtx, netuid: int, alpha: int):
    """What unstaking ``alpha`` pays: as much TAO (rao), no fee, no slippage."""
    return _swap(alpha)


SWAP = RuntimeApi("SwapRuntimeApi", [current_alpha_price, current_alpha_price_all, sim_swap_tao_for_alpha,
                                     sim_swap_alpha_for_tao])


@api_method("get_network_registration_cost", [], U64)
def get_network_registration_cost(ctx: ApiCtx):
    """TAO (rao) locked by register_network."""
    return ctx.pallet(R.ST).NetworkMinLockCost.get(ctx.state)


SUBNET_REGISTRATION = RuntimeApi("SubnetRegistrationRuntimeApi", [get_network_registration_cost])
