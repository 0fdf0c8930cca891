"""The vector and matrix primitives of subtensor's ``epoch/math.rs``, vectorised.

Each function takes an ``ar`` argument (`arith.FIXED`, the default, or `arith.FLOAT`) so the epoch
can run the same code in either number system. With `FIXED`, inputs and outputs are raw I32F32
bits in int64 arrays and every result equals the Rust function's bit for bit.

A "sparse" matrix in subtensor is a list of rows of ``(column, value)`` pairs, where an explicit
entry may hold zero. Here such a matrix is a dense ``values`` array plus a boolean ``present``
mask of the same shape; the ``*_sparse`` functions at the bottom accept and return the
list-of-rows form for people comparing with the Rust code. No function mutates its inputs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import fixed
from .arith import FIXED

# ---------------------------------------------------------------- vectors and dense matrices


def normalize(x, ar=FIXED) -> np.ndarray:
    """``x / sum(x)``, or ``x`` unchanged when the sum is 0 (``inplace_normalize``)."""
    x = np.asarray(x, dtype=ar.dtype)
    total = x.sum()
    return x.copy() if total == 0 else ar.div(x, total)  # a zero entry stays zero


def row_normalize(m, ar=FIXED) -> np.ndarray:
    """Divide each row with a positive sum by that sum (``inplace_row_normalize``)."""
    m = np.asarray(m, dtype=ar.dtype)
    sums = m.sum(axis=1, keepdims=True)
    return np.where(sums > 0, ar.div(m, np.where(sums > 0, sums, 1)), m)


def col_normalize(m, ar=FIXED) -> np.ndarray:
    """Divide each column with a non-zero sum by that sum (``inplace_col_normalize``)."""
    m = np.asarray(m, dtype=ar.dtype)
    sums = m.sum(axis=0, keepdims=True)
    return np.where(sums != 0, ar.div(m, np.where(sums != 0, sums, 1)), m)


def col_max_upscale(m, ar=FIXED) -> np.ndarray:
    """Divide each column by its maximum where that is positive (``inplace_col_max_upscale``)."""
    m = np.asarray(m, dtype=ar.dtype)
    if m.size == 0:
        return m.copy()
    maxes = np.maximum(m.max(axis=0, keepdims=True), 0)
    return np.where(maxes != 0, ar.div(m, np.where(maxes != 0, maxes, 1)), m)


def is_topk(x, k: int) -> np.ndarray:
    """True for the k largest entries; ties lose in favour of the higher index (stable sort)."""
    x = np.asarray(x)
    result = np.ones(len(x), dtype=bool)
    if len(x) >= k:
        result[np.argsort(x, kind="stable")[: len(x) - k]] = False
    return result


def is_topk_nonzero(x, k: int) -> np.ndarray:
    """`is_topk`, and also false wherever the entry is zero."""
    return is_topk(x, k) & (np.asarray(x) != 0)


def weighted_median(stake, score, minority, lo, hi, partition_idx: Sequence[int] | None = None) -> int:
    """subtensor's deterministic mid-pivot weighted median search, step by step (exact only).

    `weighted_median_col` computes the same thing for all columns at once; this literal version
    exists to test it against and to mirror ``math.rs`` for readers.
    """
    stake = [int(s) for s in np.asarray(stake, dtype=np.int64)]
    score = [int(s) for s in np.asarray(score, dtype=np.int64)]
    if len(stake) != len(score):
        return 0
    current = list(range(len(stake)) if partition_idx is None else partition_idx)
    minority, lo, hi = int(minority), int(lo), int(hi)
    for _ in range(len(current) + 1):
        if not current:
            return 0
        if len(current) == 1:
            return score[current[0]]
        pivot = score[current[len(current) // 2]]
        lower = [i for i in current if score[i] < pivot]
        upper = [i for i in current if score[i] > pivot]
        lo_stake = sum(stake[i] for i in lower)
        hi_stake = sum(stake[i] for i in upper)
        if minority < lo + lo_stake and lower:
            current, hi = lower, lo + lo_stake
        elif hi - hi_stake <= minority and upper:
            current, lo = upper, hi - hi_stake
        else:
            return pivot
    return 0


def weighted_median_col(stake, score, majority, ar=FIXED) -> np.ndarray:
    """Stake-weighted median of each column over the rows with positive stake.

    Only rows with ``stake > 0`` vote; their stake is renormalised to sum ``s`` and
    ``minority = s - majority``. subtensor's partition search returns, for each column, the
    smallest score value whose cumulative stake (all rows scoring at most that value) exceeds
    ``minority``, or the largest score when none does. Computing that directly from a sorted
    column gives the same value, ties included, in O(rows log rows) per column.
    """
    stake = np.asarray(stake, dtype=ar.dtype)
    score = np.asarray(score, dtype=ar.dtype)
    columns = score.shape[1] if score.ndim == 2 else 0
    voters = stake > 0
    if not voters.any() or columns == 0:
        return np.zeros(columns, dtype=ar.dtype)
    weights = normalize(stake[voters], ar)
    minority = weights.sum() - majority
    cols = np.ascontiguousarray(score[voters].T)  # (columns, voters)
    order = _argsort_rows(cols, exact=ar.exact)
    cumulative = np.cumsum(weights[order], axis=1)
    over = cumulative > minority
    first = np.where(over.any(axis=1), over.argmax(axis=1), cols.shape[1] - 1)
    at = np.arange(columns)
    return cols[at, order[at, first]]


def _argsort_rows(x: np.ndarray, exact: bool) -> np.ndarray:
    """A stable ascending argsort of each row of a non-negative matrix.

    A plain sort of packed ``value << bits | index`` keys is several times faster than argsort.
    Exact (integer) rows are packed only when no bit is lost; float rows are packed by their bit
    patterns (monotone for non-negative floats) with the lowest mantissa bits dropped, which can
    only swap values within ~1e-13 of each other.
    """
    bits = max(1, (x.shape[1] - 1).bit_length())
    ordered = x if exact else x.view(np.int64)
    if ordered.size == 0 or ordered.min() < 0:
        return np.argsort(x, axis=1, kind="stable")
    shift = max(0, int(ordered.max()).bit_length() + bits - 62)
    if exact and shift:
        return np.argsort(x, axis=1, kind="stable")
    keys = np.sort(((ordered >> shift) << bits) | np.arange(x.shape[1]), axis=1)
    return keys & ((1 << bits) - 1)


def col_clip(m, thresholds) -> np.ndarray:
    """``min(m_ij, threshold_j)`` (``inplace_col_clip``)."""
    return np.minimum(m, np.asarray(thresholds)[None, :])


def matmul(m, v, ar=FIXED) -> np.ndarray:
    """``result_j = sum_i v_i * m_ij``, each product rounded before summing."""
    m = np.asarray(m, dtype=ar.dtype)
    return ar.mul(np.asarray(v, dtype=ar.dtype)[:, None], m).sum(axis=0)


def matmul_transpose(m, v, ar=FIXED) -> np.ndarray:
    """``result_i = sum_j v_j * m_ij``, each product rounded before summing."""
    m = np.asarray(m, dtype=ar.dtype)
    return ar.mul(np.asarray(v, dtype=ar.dtype)[None, :], m).sum(axis=1)


def row_hadamard(m, v, ar=FIXED) -> np.ndarray:
    """``m_ij * v_i``."""
    return ar.mul(np.asarray(m, dtype=ar.dtype), np.asarray(v, dtype=ar.dtype)[:, None])


def interpolate(m1, m2, ratio, ar=FIXED) -> np.ndarray:
    """``m1 + ratio * (m2 - m1)``; at ratio 0 and 1 the input itself is returned, not a copy."""
    m1 = np.asarray(m1, dtype=ar.dtype)
    m2 = np.asarray(m2, dtype=ar.dtype)
    if ratio == 0:
        return m1
    if ratio == ar.one:
        return m2
    return m1 + ar.mul(ratio, m2 - m1)


def mat_ema(new, old, alpha, ar=FIXED) -> np.ndarray:
    """``alpha * new + (1 - alpha) * old`` with one scalar alpha."""
    return ar.mul(alpha, np.asarray(new, dtype=ar.dtype)) + ar.mul(ar.one - alpha, np.asarray(old, dtype=ar.dtype))


def mat_ema_alpha(new, old, alpha, ar=FIXED) -> np.ndarray:
    """``min((1 - a_ij) * old_ij + max(a_ij * new_ij, 0), 1)`` with one alpha per entry.

    Mismatched shapes are answered as the chain answers them: ``old`` when the row counts differ,
    ``new`` when the row lengths differ.
    """
    new, old = np.asarray(new, dtype=ar.dtype), np.asarray(old, dtype=ar.dtype)
    alpha = np.asarray(alpha, dtype=ar.dtype)
    if not (len(new) == len(old) == len(alpha)):
        return old.copy()
    if not (new.shape == old.shape == alpha.shape):
        return new.copy()
    decayed = ar.mul(ar.one - alpha, np.asarray(old, dtype=ar.dtype))
    gained = np.maximum(ar.mul(alpha, np.asarray(new, dtype=ar.dtype)), 0)
    return np.minimum(decayed + gained, ar.one)


def mask_diag(m) -> np.ndarray:
    out = np.array(m, copy=True)
    k = min(out.shape)
    out[np.arange(k), np.arange(k)] = 0
    return out


def mask_diag_except_index(m, except_index: int) -> np.ndarray:
    out = mask_diag(m)
    if except_index < min(out.shape):
        out[except_index, except_index] = np.asarray(m)[except_index, except_index]
    return out


def mask_rows(mask, m) -> np.ndarray:
    """Zero the rows where ``mask`` is true."""
    return np.where(np.asarray(mask, dtype=bool)[:, None], 0, m)


def mask_cols(mask, m) -> np.ndarray:
    """Zero the columns where ``mask`` is true."""
    return np.where(np.asarray(mask, dtype=bool)[None, :], 0, m)


def vec_max_upscale_to_u16(x) -> np.ndarray:
    """Scale so the largest entry becomes 65535, rounding half away from zero (exact only)."""
    x = np.asarray(x, dtype=np.int64)
    if x.size == 0:
        return np.zeros(0, dtype=np.uint16)
    u16_max = fixed.from_int(fixed.U16_MAX)
    top = int(x.max())
    if top == 0:
        scaled = fixed.mul(x, u16_max)
    elif top > fixed.from_int(32768):
        scaled = _round(fixed.mul(x, fixed.div(u16_max, top)))
    else:
        scaled = _round(fixed.div(fixed.mul(x, u16_max), top))
    return np.clip(scaled >> fixed.FRAC_BITS, 0, fixed.U16_MAX).astype(np.uint16)


def _round(raw: np.ndarray) -> np.ndarray:
    """I32F32 ``round()``: to the nearest integer, ties away from zero."""
    up = (np.abs(raw) + fixed.HALF) >> fixed.FRAC_BITS << fixed.FRAC_BITS
    return np.where(raw < 0, -up, up)


def vec_u16_max_upscale_to_u16(x) -> np.ndarray:
    """What ``set_weights`` stores: the row max-upscaled so its largest weight is 65535."""
    return vec_max_upscale_to_u16(fixed.from_int(np.asarray(x, dtype=np.int64)))


def check_vec_max_limited(x, max_limit: int) -> bool:
    """True when the largest entry of ``x / sum(x)`` is at most ``max_limit / 65535``."""
    x = np.asarray(x, dtype=np.int64)
    if x.size == 0:
        return True
    limit = fixed.div(fixed.from_int(max_limit), fixed.from_int(fixed.U16_MAX))
    return bool(normalize(fixed.from_int(x)).max() <= limit)


# ---------------------------------------------------------------- the list-of-rows form


def to_dense(rows, columns: int, dtype=np.int64) -> tuple[np.ndarray, np.ndarray]:
    """``(values, present)`` arrays of shape (len(rows), columns) from rows of (j, value) pairs."""
    values = np.zeros((len(rows), columns), dtype=dtype)
    present = np.zeros((len(rows), columns), dtype=bool)
    for i, row in enumerate(rows):
        for j, v in row:
            if 0 <= j < columns:
                values[i, j] = v
                present[i, j] = True
    return values, present


def to_rows(values, present) -> list[list[tuple[int, int]]]:
    """Rows of ``(j, value)`` pairs for the present entries, in column order."""
    values = np.asarray(values)
    return [
        [(int(j), values[i, j].item()) for j in np.flatnonzero(present[i])] for i in range(values.shape[0])
    ]


def _columns(rows) -> int:
    return 1 + max((j for row in rows for j, _ in row), default=-1)


def row_normalize_sparse(rows):
    values, present = to_dense(rows, _columns(rows))
    return to_rows(row_normalize(values), present)


def col_normalize_sparse(rows, columns: int):
    values, present = to_dense(rows, columns)
    return to_rows(col_normalize(values), present)


def col_max_upscale_sparse(rows, columns: int):
    values, present = to_dense(rows, columns)
    return to_rows(col_max_upscale(values), present)


def weighted_median_col_sparse(stake, score_rows, columns: int, majority) -> np.ndarray:
    values, _ = to_dense(score_rows, columns)
    return weighted_median_col(stake, values, majority)


def col_clip_sparse(rows, thresholds):
    """Clip to the column thresholds; an entry above a zero threshold is removed."""
    thresholds = np.asarray(thresholds, dtype=np.int64)
    values, present = to_dense(rows, len(thresholds))
    clipped = np.minimum(values, thresholds[None, :])
    return to_rows(clipped, present & ~((values > thresholds[None, :]) & (thresholds[None, :] <= 0)))


def matmul_sparse(rows, v, columns: int) -> np.ndarray:
    return matmul(to_dense(rows, columns)[0], v)


def matmul_transpose_sparse(rows, v) -> np.ndarray:
    return matmul_transpose(to_dense(rows, len(v))[0], v)


def row_hadamard_sparse(rows, v):
    values, present = to_dense(rows, _columns(rows))
    return to_rows(row_hadamard(values, v), present)


def interpolate_sparse(rows1, rows2, columns: int, ratio):
    """Like `interpolate`; in between the end points only entries above zero are kept."""
    if ratio == 0:
        return [list(r) for r in rows1]
    if ratio == fixed.ONE:
        return [list(r) for r in rows2]
    if len(rows1) != len(rows2):
        return [list(r) for r in rows2]
    out = interpolate(to_dense(rows1, columns)[0], to_dense(rows2, columns)[0], ratio)
    return to_rows(out, out > 0)


def mat_ema_sparse(new_rows, old_rows, alpha):
    """Union of the entries of both, keeping only results above zero."""
    n = len(new_rows)
    out = mat_ema(to_dense(new_rows, n)[0], to_dense(old_rows, n)[0], alpha)
    return to_rows(out, out > 0)


def mat_ema_alpha_sparse(new_rows, old_rows, alpha):
    """Only entries present in ``new`` survive (a bond on an absent column is dropped)."""
    alpha = np.asarray(alpha, dtype=np.int64)
    if len(new_rows) != len(old_rows) or len(new_rows) != len(alpha):
        return [list(r) for r in new_rows]
    columns = alpha.shape[1] if alpha.ndim == 2 else 0
    new, present = to_dense(new_rows, columns)
    out = mat_ema_alpha(new, to_dense(old_rows, columns)[0], alpha)
    return to_rows(out, present & (out > 0))


def mask_diag_sparse(rows):
    return [[(j, v) for j, v in row if j != i] for i, row in enumerate(rows)]


def mask_diag_sparse_except_index(rows, except_index: int):
    return [[(j, v) for j, v in row if j != i or i == except_index] for i, row in enumerate(rows)]


def mask_rows_sparse(mask, rows):
    """Empty the rows where ``mask`` is true; rows beyond the mask's length are emptied too."""
    return [[] if (mask[i] if i < len(mask) else True) else list(row) for i, row in enumerate(rows)]
