"""How the chain writes weights: the checks of ``set_weights`` and the u16 row it stores."""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from . import primitives as P
from ._inputs import U16_MAX, int_vector

__all__ = ["WeightsRejected", "normalize_weights", "max_weight_limited", "prepare_weights"]


class WeightsRejected(InputError):
    """``set_weights`` would fail; ``reason`` is the chain's error name (e.g. ``"DuplicateUids"``)."""

    def __init__(self, reason: str, message: str):
        self.reason = reason
        super().__init__("weights", f"{reason}: {message}")


def normalize_weights(uids, values) -> tuple[np.ndarray, np.ndarray]:
    """The row ``set_weights`` stores: values max-upscaled so the largest is 65535.

    Rounds half away from zero in I32F32, exactly as ``vec_u16_max_upscale_to_u16``.

    Args:
        uids: destination uids, one per value.
        values: u16 weights in any scale (only their ratios matter).

    Returns:
        ``(uids, stored_values)`` as int64 and uint16 arrays, in the order given.
    """
    uids = np.array(int_vector("uids", uids, 0, U16_MAX), dtype=np.int64)
    vals = int_vector("values", values, 0, U16_MAX)
    if len(vals) != len(uids):
        raise WeightsRejected("WeightVecNotEqualSize", f"{len(uids)} uids but {len(vals)} values")
    return uids, P.vec_u16_max_upscale_to_u16(vals)


def max_weight_limited(uid: int, uids, stored_values, max_weight_limit: int) -> bool:
    """The chain's ``max_weight_limited``: True when the row respects ``MaxWeightsLimit``.

    A single self-weight is always allowed, as is any row when the limit is 65535. Otherwise the
    largest normalised weight must be at most ``max_weight_limit / 65535``.
    """
    uids = list(uids)
    if len(uids) == 1 and uids[0] == uid:
        return True
    if max_weight_limit == U16_MAX:
        return True
    return P.check_vec_max_limited(stored_values, max_weight_limit)


def prepare_weights(
    uid: int,
    uids,
    values,
    *,
    n: int,
    min_allowed_weights: int = 0,
    max_weight_limit: int = U16_MAX,
) -> list[tuple[int, int]]:
    """Check a ``set_weights`` call as the chain does and return the ``Weights`` row it stores.

    Args:
        uid: the uid of the validator setting weights.
        uids, values: the call's arguments.
        n: number of uids in the subnet (``SubnetworkN``).
        min_allowed_weights: ``MinAllowedWeights`` (a single self-weight is always allowed).
        max_weight_limit: ``MaxWeightsLimit`` as u16.

    Raises:
        WeightsRejected: with ``reason`` set to the chain's error name.
    """
    uids = list(uids)
    values = list(values)
    if len(uids) != len(values):
        raise WeightsRejected("WeightVecNotEqualSize", f"{len(uids)} uids but {len(values)} values")
    if len(uids) > n:
        raise WeightsRejected("UidsLengthExceedUidsInSubNet", f"{len(uids)} uids for a subnet of {n}")
    if len(set(uids)) != len(uids):
        raise WeightsRejected("DuplicateUids", "a uid appears more than once")
    bad = [u for u in uids if not 0 <= int(u) < n]
    if bad:
        raise WeightsRejected("UidVecContainInvalidOne", f"uid {bad[0]} is not registered (n={n})")
    self_weight = len(uids) == 1 and uids[0] == uid
    if not self_weight and len(values) < min(min_allowed_weights, n):
        raise WeightsRejected(
            "WeightVecLengthIsLow", f"{len(values)} weights; the subnet requires at least {min(min_allowed_weights, n)}"
        )
    _, stored = normalize_weights(uids, values)
    if not max_weight_limited(uid, uids, stored, max_weight_limit):
        raise WeightsRejected(
            "MaxWeightExceeded", f"one weight exceeds max_weight_limit={max_weight_limit}/65535 of the row"
        )
    return [(int(u), int(v)) for u, v in zip(uids, stored)]
