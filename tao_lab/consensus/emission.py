"""The emission split around the epoch: owner cut, miner and validator halves, takes, nominators.

A documented, simplified model of subtensor's coinbase (``run_coinbase.rs``), in integer rao:

1. Each block a subnet emits ``alpha_out``. The owner cut (``SubnetOwnerCut``, u16, default
   11796 ≈ 18%) comes off first. Miners' pending half is 50% of the rest; validators get the other
   50% less the root share (``root_proportion``, 0 on a devnet without root stake).
2. At the epoch, miners receive ``server_emission`` as the epoch computed it, and validators'
   dividends are used as proportions to share out the pending validator alpha. If no miner earned
   incentive, validators also share the miners' half.
3. Each validator hotkey keeps its delegate take (``Delegates``, u16, default 11796) for its owner;
   the rest joins the hotkey's stake pool, owned by its nominators in proportion to their stake.

Fixed-point fractions are U96F32 as on chain (32 fractional bits, floored). Not modelled: dTAO
pool swaps, the root network's TAO weight, and parent/child hotkey takes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ._inputs import U16_MAX, U64_MAX, check_int, int_vector

__all__ = ["DEFAULT_OWNER_CUT", "DEFAULT_TAKE", "BlockSplit", "split_block_emission", "EpochPayout", "distribute_epoch", "share_by_stake"]

DEFAULT_OWNER_CUT = 11796  # SubnetOwnerCut, u16
DEFAULT_TAKE = 11796  # delegate take, u16
_F = 32  # fractional bits of U96F32


def _u16_fraction(x: int) -> int:
    """``U96F32(x) / 65535`` as raw bits."""
    return (x << _F) // U16_MAX


def _times(amount: int, frac_raw: int) -> int:
    """``floor(amount * fraction)`` for a U96F32 fraction given as raw bits."""
    return (amount * frac_raw) >> _F


@dataclass(frozen=True)
class BlockSplit:
    """One block's subnet emission in rao: ``owner + server + validator + root == alpha_out``."""

    owner: int
    server: int
    validator: int
    root: int


def split_block_emission(alpha_out: int, owner_cut: int = DEFAULT_OWNER_CUT, root_proportion: float = 0.0) -> BlockSplit:
    """Split a block's ``alpha_out`` (rao) into owner cut, miners' half, validators' and root share.

    Args:
        alpha_out: the subnet's emission this block, rao.
        owner_cut: ``SubnetOwnerCut`` as u16 (65535 = 100%).
        root_proportion: share of the validators' half that goes to root stakers, in [0, 1].
    """
    alpha_out = check_int("alpha_out", alpha_out, 0, U64_MAX)
    owner_cut = check_int("owner_cut", owner_cut, 0, U16_MAX)
    if not 0.0 <= float(root_proportion) <= 1.0:
        from ..errors import InputError

        raise InputError("root_proportion", f"{root_proportion} is outside [0, 1]")
    owner = _times(alpha_out, _u16_fraction(owner_cut))
    rest = alpha_out - owner
    server = rest // 2
    root = min(int(rest * float(root_proportion)) // 2, rest - server)
    return BlockSplit(owner=owner, server=server, validator=rest - server - root, root=root)


@dataclass(frozen=True)
class EpochPayout:
    """What an epoch pays, per uid, in rao."""

    incentive: np.ndarray  #: (n,) to each miner
    dividends: np.ndarray  #: (n,) to each validator hotkey, before its take
    take: np.ndarray  #: (n,) delegate take kept for the hotkey's owner
    to_nominators: np.ndarray  #: (n,) dividends less take, added to the hotkey's stake pool


def distribute_epoch(server_emission, dividends, pending_validator: int, pending_server: int = 0, takes=DEFAULT_TAKE) -> EpochPayout:
    """Pay out an epoch: miners their ``server_emission``, validators pro rata to ``dividends``.

    Args:
        server_emission: (n,) rao per uid, as `epoch` returns it.
        dividends: (n,) each validator's dividend proportions (e.g. ``result.dividends_u16`` or
            ``result.validator_emission``); only their ratios matter.
        pending_validator: rao accumulated for validators since the last epoch.
        pending_server: rao accumulated for miners; shared with validators when no miner earned.
        takes: delegate take per hotkey as u16, one value or (n,).
    """
    incentive = int_vector("server_emission", server_emission, 0, U64_MAX)
    n = len(incentive)
    divs = int_vector("dividends", dividends, 0, U64_MAX, n)
    pool = check_int("pending_validator", pending_validator, 0, U64_MAX)
    if sum(incentive) == 0:
        pool += check_int("pending_server", pending_server, 0, U64_MAX)
    takes_u16 = [check_int("takes", takes, 0, U16_MAX)] * n if np.ndim(takes) == 0 else int_vector("takes", takes, 0, U16_MAX, n)
    total = sum(divs)
    paid = [pool * d // total if total else 0 for d in divs]
    take = [_times(p, _u16_fraction(t)) for p, t in zip(paid, takes_u16)]
    as_array = lambda v: np.array(v, dtype=np.uint64)  # noqa: E731
    return EpochPayout(
        incentive=as_array(incentive),
        dividends=as_array(paid),
        take=as_array(take),
        to_nominators=as_array([p - t for p, t in zip(paid, take)]),
    )


def share_by_stake(amount: int, stakes: Mapping[str, int]) -> dict[str, int]:
    """Split ``amount`` rao among nominators in proportion to their stake, flooring each share.

    The dust left by flooring (less than one rao per nominator) is not paid, as on chain.
    """
    amount = check_int("amount", amount, 0, U64_MAX)
    clean = {k: check_int(f"stakes[{k!r}]", v, 0, U64_MAX) for k, v in stakes.items()}
    total = sum(clean.values())
    return {k: (amount * v // total if total else 0) for k, v in clean.items()}
