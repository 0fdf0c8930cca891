"""I32F32 fixed-point arithmetic, bit-exact with subtensor's `substrate-fixed` (v0.6.0).

Values are held as their raw bits in numpy ``int64`` arrays: ``value = raw / 2**32``. Every
operation reproduces the Rust rounding exactly:

* multiply floors (``(a*b) >> 32`` on the 128-bit product), saturating at the type's bounds;
* divide truncates toward zero (``(a << 32) / b``); ``div`` is subtensor's ``safe_div``, which
  returns 0 on division by zero or overflow;
* ``exp`` is ``substrate_fixed::transcendental::exp``: the Taylor series to the 31st term, computed
  term by term with a floored multiply and a truncating divide.

The common cases run vectorised in 64-bit integer arithmetic (128-bit products are assembled from
32-bit limbs, quotients come from a float estimate that an exact residual corrects). The rare inputs
whose magnitudes leave that safe range are recomputed with Python integers, so results never
depend on which path ran.
"""

from __future__ import annotations

import numpy as np

FRAC_BITS = 32
ONE = 1 << FRAC_BITS
HALF = 1 << (FRAC_BITS - 1)
MAX_RAW = (1 << 63) - 1
MIN_RAW = -(1 << 63)
U16_MAX = 65535

# e in I9F23, widened to I32F32 (transcendental::exp returns it for an input of exactly 1).
_E_RAW = 22802600 << 9
_LO32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
_SAFE_PRODUCT = float(1 << 62)  # |a*b| / 2**32 below this never overflows the limb assembly
_SAFE_QUOTIENT = float(1 << 50)  # float quotient estimate is within 1 of the truth below this
_SAFE_DIVISOR = 1 << 60  # residual a*2**32 - q*b fits int64 below this


def _arr(x) -> np.ndarray:
    return np.asarray(x, dtype=np.int64)


def from_int(x) -> np.ndarray:
    """I32F32 from integers (``I32F32::saturating_from_num(int)``)."""
    x = np.asarray(x, dtype=np.int64)
    return np.clip(x, MIN_RAW >> FRAC_BITS, MAX_RAW >> FRAC_BITS) << FRAC_BITS


def from_float(x) -> np.ndarray:
    """I32F32 from floats, rounding to nearest with ties to even (``I32F32::from_num``)."""
    scaled = np.rint(np.asarray(x, dtype=np.float64) * ONE)
    return np.clip(scaled, MIN_RAW, MAX_RAW).astype(np.int64)


def to_float(raw) -> np.ndarray:
    """The real value of raw I32F32 bits, as float64."""
    return _arr(raw).astype(np.float64) / ONE


def _clamp(v: int) -> int:
    return MAX_RAW if v > MAX_RAW else MIN_RAW if v < MIN_RAW else v


def _mul_py(a: int, b: int) -> int:
    return _clamp((a * b) >> FRAC_BITS)  # Python's >> floors, like the Rust arithmetic shift


def _div_py(a: int, b: int) -> int:
    if b == 0:
        return 0
    q = (abs(a) << FRAC_BITS) // abs(b)
    if (a < 0) != (b < 0):
        q = -q
    return q if MIN_RAW <= q <= MAX_RAW else 0  # checked_div overflow -> safe_div default


def _patch(out: np.ndarray, slow: np.ndarray, a: np.ndarray, b: np.ndarray, fn) -> np.ndarray:
    if slow.any():
        idx = np.nonzero(slow)
        out[idx] = [fn(int(x), int(y)) for x, y in zip(a[idx], b[idx])]
    return out


def _operands(a, b) -> tuple[np.ndarray, np.ndarray, tuple]:
    a, b = np.broadcast_arrays(_arr(a), _arr(b))
    return np.atleast_1d(a), np.atleast_1d(b), a.shape


def mul(a, b) -> np.ndarray:
    """Saturating I32F32 multiply, elementwise: ``floor(a*b / 2**32)`` on the exact product."""
    a, b = _arr(a), _arr(b)
    with np.errstate(over="ignore"):
        fast = _mul_unit(a, b)
        if fast is None:
            fast = _mul_unit(b, a)
        if fast is not None:
            return fast.reshape(np.broadcast_shapes(a.shape, b.shape))
        a, b, shape = _operands(a, b)
        out = _mul(a, b)
    slow = np.abs(a).view(np.uint64).astype(np.float64) * np.abs(b).view(np.uint64).astype(np.float64)
    return _patch(out, slow >= _SAFE_PRODUCT * ONE, a, b, _mul_py).reshape(shape)


def _mul_unit(a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """The common case, ``a`` in [0, 1] and ``|b| <= 2**62``, in a few 64-bit operations; else None.

    With ``b = bh * 2**32 + bl``: ``floor(a*b / 2**32) = a*bh + floor(a*bl / 2**32)``, where
    ``a*bl < 2**64`` fits in uint64 and ``a*bh`` cannot overflow.
    """
    if a.size == 0 or b.size == 0 or a.min() < 0 or a.max() > ONE:
        return None
    lo, hi = b.min(), b.max()
    if hi > 1 << 62 or lo < -(1 << 62):
        return None
    ua = np.atleast_1d(a).view(np.uint64)
    ub = (np.atleast_1d(b) if lo >= 0 else np.abs(np.atleast_1d(b))).view(np.uint64)
    low = ua * (ub & _LO32)
    mag = ((low >> _S32) + ua * (ub >> _S32)).view(np.int64)
    if lo >= 0:
        return mag
    return np.where(b < 0, -(mag + ((low & _LO32) != 0)), mag)


def _mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ua = np.abs(a).view(np.uint64)  # |MIN_RAW| wraps to itself; as uint64 it is the right 2**63
    ub = np.abs(b).view(np.uint64)
    ah, al = ua >> _S32, ua & _LO32
    bh, bl = ub >> _S32, ub & _LO32
    low = al * bl
    # |a*b| >> 32 = ah*bh << 32 + ah*bl + al*bh + (al*bl >> 32); the dropped bits are low & 0xffffffff.
    mag = ((ah * bh) << _S32) + ah * bl + al * bh + (low >> _S32)
    inexact = (low & _LO32) != 0
    negative = (a < 0) != (b < 0)
    return np.where(negative, -(mag.astype(np.int64) + inexact), mag.astype(np.int64))


def div(a, b) -> np.ndarray:
    """subtensor's ``safe_div``: ``trunc(a * 2**32 / b)``, or 0 when b is 0 or the quotient overflows."""
    a, b = _arr(a), _arr(b)
    shape = np.broadcast_shapes(a.shape, b.shape)
    a, b = np.atleast_1d(a), np.atleast_1d(b)
    with np.errstate(over="ignore"):
        if a.size and b.size and a.min() >= 0 and b.min() > 0:
            # The common case: 0 <= a < 1 and b > 0, where (a << 32) fits in uint64.
            out = ((a.view(np.uint64) << _S32) // b.view(np.uint64)).view(np.int64)
            big = np.broadcast_to(a >= ONE, out.shape)
            if big.any():
                idx = np.nonzero(big)
                ab, bb = np.broadcast_arrays(a, b)
                out[idx] = _div(ab[idx], bb[idx])
            return out.reshape(shape)
        a, b = np.broadcast_arrays(a, b)
        return _div(a, b).reshape(shape)


def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ua = np.abs(a).view(np.uint64)
    ub = np.abs(b).view(np.uint64)
    ub_safe = np.where(ub == 0, np.uint64(1), ub)
    est = np.floor(ua.astype(np.float64) * ONE / ub_safe.astype(np.float64))
    slow = (est >= _SAFE_QUOTIENT) | (ub >= np.uint64(_SAFE_DIVISOR))
    q = np.where(slow, 0.0, est).astype(np.uint64)
    # Exact residual in wrapping 64-bit arithmetic: its true value is small, so the wrap is harmless.
    r = ((ua << _S32) - q * ub_safe).view(np.int64)
    sb = ub_safe.view(np.int64)
    low = r < 0
    q = q - low.astype(np.uint64)
    r = r + np.where(low, sb, 0)
    high = r >= sb
    q = q + high.astype(np.uint64)
    qs = q.view(np.int64)
    out = np.where((a < 0) != (b < 0), -qs, qs)
    out = np.where(ub == 0, 0, out)
    return _patch(out, slow & (ub != 0), a, b, _div_py)


def saturating_div(a, b) -> np.ndarray:
    """``saturating_div`` for non-zero divisors: like ``div``, but an overflow clamps instead of giving 0."""
    a, b, shape = _operands(a, b)
    if (b == 0).any():
        raise ZeroDivisionError("I32F32 saturating_div by zero")
    out = div(a, b)
    suspect = (out == 0) & (a != 0)  # a true zero quotient or an overflow that safe_div zeroed

    def exact(x: int, y: int) -> int:
        q = (abs(x) << FRAC_BITS) // abs(y)
        return _clamp(-q if (x < 0) != (y < 0) else q)

    return _patch(out, suspect, a, b, exact).reshape(shape)


def div_int(a, k: int) -> np.ndarray:
    """``a / I32F32::from_num(k)`` for a positive integer k: a plain truncating integer division."""
    a = _arr(a)
    q = np.abs(a) // k
    return np.where(a < 0, -q, q)


def u16_proportion_to_fixed(x) -> np.ndarray:
    """``u16 / 65535`` as I32F32 (``u16_proportion_to_fixed``): ``trunc(x * 2**32 / 65535)``."""
    return (np.asarray(x, dtype=np.int64) << FRAC_BITS) // U16_MAX


def fixed_proportion_to_u16(raw) -> np.ndarray:
    """``floor(x * 65535)`` saturated to u16 (``fixed_proportion_to_u16``)."""
    raw = np.clip(_arr(raw), 0, 2 * ONE)  # anything above 1.0 saturates to 65535 anyway
    return np.minimum((raw * U16_MAX) >> FRAC_BITS, U16_MAX).astype(np.uint16)


def to_rao(raw, rao_emission: int) -> np.ndarray:
    """``floor(x * rao_emission)`` in I96F32, saturated to u64: a share of an emission in rao."""
    rao = int(rao_emission)
    raw = _arr(raw)
    if rao < 1 << 30 and (raw.size == 0 or (raw.min() >= 0 and raw.max() <= ONE)):
        return mul(raw, rao).astype(np.uint64)  # floor(raw * rao / 2**32), when it fits in 64 bits
    vals = [min(max(int(v) * rao >> FRAC_BITS, 0), (1 << 64) - 1) for v in np.ravel(raw)]
    return np.array(vals, dtype=np.uint64).reshape(np.shape(raw))


def exp(x) -> np.ndarray:
    """``substrate_fixed::transcendental::exp`` for inputs in [-20, 20] (where it never errs).

    Note the library's special case: an input of exactly 1 returns its stored constant e, which
    differs in the low bits from the series; -1 goes through the series and a division.
    """
    x = _arr(x)
    ax = np.abs(x)
    result = ax + ONE
    term = ax
    for i in range(2, FRAC_BITS):
        term = div_int(mul(term, ax), i)
        result = result + term
    result = np.where(x < 0, div(ONE, result), result)
    result = np.where(x == ONE, _E_RAW, result)
    return np.where(x == 0, ONE, result)


def exp_safe(x) -> np.ndarray:
    """subtensor's ``exp_safe``: ``exp`` with the input clamped to [-20, 20]."""
    return exp(np.clip(_arr(x), -20 * ONE, 20 * ONE))


def saturating_add(a, b) -> np.ndarray:
    """``a + b`` clamped to the I32F32 range instead of wrapping."""
    a, b, shape = _operands(a, b)
    with np.errstate(over="ignore"):
        out = a + b
    wrapped = ((a < 0) == (b < 0)) & ((out < 0) != (a < 0))
    return np.where(wrapped, np.where(a < 0, MIN_RAW, MAX_RAW), out).reshape(shape)


def saturating_sub(a, b) -> np.ndarray:
    """``a - b`` clamped to the I32F32 range instead of wrapping."""
    a, b, shape = _operands(a, b)
    with np.errstate(over="ignore"):
        out = a - b
    wrapped = ((a < 0) != (b < 0)) & ((out < 0) != (a < 0))
    return np.where(wrapped, np.where(a < 0, MIN_RAW, MAX_RAW), out).reshape(shape)


def sigmoid_safe(x, rho, kappa) -> np.ndarray:
    """subtensor's ``sigmoid_safe``: ``1 / (1 + exp_safe(-rho * (x - kappa)))``, saturating throughout."""
    exp_input = mul(mul(rho, -ONE), saturating_sub(x, kappa))
    return div(ONE, saturating_add(exp_safe(exp_input), ONE))
