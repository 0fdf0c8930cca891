"""The two number systems the epoch runs in: the chain's I32F32 (exact) and float64 (fast).

`yuma.epoch` is written once against this small interface, so the exact and the float paths share
every step of the algorithm and differ only in how a number is multiplied, divided and rounded.
Values are numpy arrays: raw I32F32 bits (int64) for `FIXED`, plain floats for `FLOAT`.
"""

from __future__ import annotations

import numpy as np

from . import fixed

U16_MAX = 65535


class FixedArith:
    """subtensor's arithmetic: I32F32 raw bits, floored multiplies, truncated divides."""

    exact = True
    dtype = np.int64
    zero = 0
    one = fixed.ONE
    half = fixed.HALF

    mul = staticmethod(fixed.mul)
    div = staticmethod(fixed.div)
    to_float = staticmethod(fixed.to_float)
    to_u16 = staticmethod(fixed.fixed_proportion_to_u16)
    to_rao = staticmethod(fixed.to_rao)
    exp_safe = staticmethod(fixed.exp_safe)

    @staticmethod
    def from_int(x) -> np.ndarray:
        return fixed.from_int(x)

    @staticmethod
    def u16_proportion(x) -> np.ndarray:
        return fixed.u16_proportion_to_fixed(x)

    @staticmethod
    def normalize_ints(x: np.ndarray, axis: int) -> np.ndarray:
        """Integers (u16) read as I32F32 and normalised along ``axis`` where the sum is non-zero.

        ``I32F32(w) / I32F32(sum)`` is ``trunc(w * 2**32 / sum)``: computed in integers directly.
        """
        x = np.asarray(x, dtype=np.int64)
        sums = x.sum(axis=axis, keepdims=True)
        raw = x << fixed.FRAC_BITS
        # Non-negative u16 counts: unsigned division is about twice as fast as signed.
        quotient = (raw.view(np.uint64) // np.maximum(sums, 1).view(np.uint64)).view(np.int64)
        return np.where(sums != 0, quotient, raw)

    @staticmethod
    def ratio(num: int, den: int) -> int:
        """``I32F32(num) / I32F32(den)``, as ``get_float_kappa`` and friends compute it."""
        return fixed._div_py(num << fixed.FRAC_BITS, den << fixed.FRAC_BITS)

    @staticmethod
    def stake_weights(stake: list[int]) -> np.ndarray:
        """Normalise raw stake in I64F64, then truncate to I32F32: ``floor(s * 2**32 / sum)``."""
        total = sum(stake)
        if total == 0:
            return np.zeros(len(stake), dtype=np.int64)
        return np.array([(s << fixed.FRAC_BITS) // total for s in stake], dtype=np.int64)

    @staticmethod
    def ema_alpha(bonds_moving_average: int) -> int:
        """``1 - I32F32(I64F64(bma) / 1e6)``: the fixed EMA coefficient of bonds."""
        bma = (bonds_moving_average << 64) // 1_000_000  # I64F64 quotient, truncated
        return fixed._clamp(fixed.ONE - (bma >> fixed.FRAC_BITS))

    @staticmethod
    def steepness_scale(steepness: int) -> int:
        """``I32F32(steepness).saturating_div(-100)``."""
        return int(fixed.saturating_div(fixed.from_int(steepness), fixed.from_int(-100)))

    @staticmethod
    def sigmoid(x) -> np.ndarray:
        """``1.saturating_div(1 + exp_safe(x))``."""
        return fixed.saturating_div(fixed.ONE, fixed.ONE + fixed.exp_safe(x))


_SCALE = float(fixed.ONE)
_UNIT = 1.0 / _SCALE


def _grid(x) -> np.ndarray:
    """Truncate non-negative floats to the I32F32 grid (multiples of 2**-32), as the chain's divides do."""
    out = np.multiply(x, _SCALE, dtype=np.float64)
    if not isinstance(out, np.ndarray):  # a scalar
        return np.trunc(out) * _UNIT
    np.trunc(out, out=out)
    out *= _UNIT
    return out


class FloatArith:
    """The same steps in float64, with products and quotients truncated to the I32F32 grid.

    Keeping values on the chain's 2**-32 grid makes the float path drift the way the chain does
    (a dividend summed from thousands of floored products ends up ~1e-7 below the ideal value on
    chain); what remains are float64 rounding differences of a few ulps.
    """

    exact = False
    dtype = np.float64
    zero = 0.0
    one = 1.0
    half = 0.5

    @staticmethod
    def mul(a, b) -> np.ndarray:
        # Floored to the chain's 2**-32 grid, so sums of thousands of products drift as the chain's do.
        out = np.multiply(a, b, dtype=np.float64)
        out *= _SCALE
        np.floor(out, out=out)
        out *= _UNIT
        return out

    @staticmethod
    def div(a, b) -> np.ndarray:
        b = np.asarray(b, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.true_divide(a, b)
        out *= _SCALE
        np.trunc(out, out=out)
        out *= _UNIT
        return np.where(b == 0, 0.0, out) if (b == 0).any() else out

    @staticmethod
    def to_float(x) -> np.ndarray:
        return np.asarray(x, dtype=np.float64)

    @staticmethod
    def to_u16(x) -> np.ndarray:
        return np.clip(np.floor(np.asarray(x, dtype=np.float64) * U16_MAX), 0, U16_MAX).astype(np.uint16)

    @staticmethod
    def to_rao(x, rao_emission: int) -> np.ndarray:
        vals = np.floor(np.asarray(x, dtype=np.float64) * float(rao_emission))
        return np.clip(vals, 0, float(2**64 - 1)).astype(np.uint64)

    @staticmethod
    def exp_safe(x) -> np.ndarray:
        return np.exp(np.clip(x, -20.0, 20.0))

    @staticmethod
    def from_int(x) -> np.ndarray:
        return np.asarray(x, dtype=np.float64)

    @staticmethod
    def u16_proportion(x) -> np.ndarray:
        return np.asarray(x, dtype=np.float64) / U16_MAX

    @staticmethod
    def normalize_ints(x: np.ndarray, axis: int) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        sums = x.sum(axis=axis, keepdims=True)
        return _grid(x * np.where(sums != 0, 1.0 / np.where(sums != 0, sums, 1.0), 1.0))

    @staticmethod
    def ratio(num: int, den: int) -> float:
        return num / den if den else 0.0

    @staticmethod
    def stake_weights(stake: list[int]) -> np.ndarray:
        total = sum(stake)
        if total == 0:
            return np.zeros(len(stake))
        return _grid([s / total for s in stake])

    @staticmethod
    def ema_alpha(bonds_moving_average: int) -> float:
        return 1.0 - float(_grid(bonds_moving_average / 1e6))

    @staticmethod
    def steepness_scale(steepness: int) -> float:
        return float(np.trunc(steepness / -100.0 * _SCALE) * _UNIT)

    @staticmethod
    def sigmoid(x) -> np.ndarray:
        return _grid(1.0 / (1.0 + np.exp(np.clip(x, -20.0, 20.0))))


FIXED = FixedArith()
FLOAT = FloatArith()
