"""A literal pure-Python port of subtensor's sparse ``epoch_mechanism`` (original Yuma bonds only).

This is the benchmark's reference point: the epoch written the way a first port of
``pallets/subtensor/src/epoch/run_epoch.rs`` and ``epoch/math.rs`` would be, one Rust function
to one Python function, with no numpy and nothing shared with ``tao_lab.consensus``:

* a sparse matrix is a list of n rows, each a list of ``(j, value)`` tuples;
* an I32F32 number is a Python int holding its raw bits (``value = raw / 2**32``); multiply floors
  ``(a*b) >> 32``, ``safe_div`` truncates ``a * 2**32 / b`` toward zero and gives 0 on a zero divisor
  or an overflow; sums and products saturate at the I32F32 bounds as ``saturating_*`` does.

Scope: ``Yuma3On = false``, no owner uid, no stake threshold, and no activity, outdated-weight,
commit-reveal or recently-registered masks (what ``tao_lab.consensus.epoch`` does with
``context=None``). Everyone is active.
"""

from __future__ import annotations

from dataclasses import dataclass

FRAC_BITS = 32
ONE = 1 << FRAC_BITS
MAX_RAW = (1 << 63) - 1
MIN_RAW = -(1 << 63)
U16_MAX = 65535
U64_MAX = (1 << 64) - 1

# ---------------------------------------------------------------- I32F32 scalars


def saturate(raw: int) -> int:
    return MAX_RAW if raw > MAX_RAW else MIN_RAW if raw < MIN_RAW else raw


def fixed_from_int(x: int) -> int:
    """``I32F32::saturating_from_num(x)`` for an integer."""
    return saturate(x << FRAC_BITS)


def fmul(a: int, b: int) -> int:
    """``a.saturating_mul(b)``: the exact product, floored to 32 fractional bits."""
    return saturate((a * b) >> FRAC_BITS)


def fadd(a: int, b: int) -> int:
    """``a.saturating_add(b)``."""
    return saturate(a + b)


def fsub(a: int, b: int) -> int:
    """``a.saturating_sub(b)``."""
    return saturate(a - b)


def safe_div(a: int, b: int) -> int:
    """``a.safe_div(b)``: ``trunc(a * 2**32 / b)``; 0 when ``b`` is 0 or the quotient overflows."""
    if b == 0:
        return 0
    q = (abs(a) << FRAC_BITS) // abs(b)
    if (a < 0) != (b < 0):
        q = -q
    return q if MIN_RAW <= q <= MAX_RAW else 0


def fixed_proportion_to_u16(x: int) -> int:
    """``fixed_to_u16(x.saturating_mul(65535))``: ``floor(x * 65535)`` saturated to u16."""
    v = fmul(x, fixed_from_int(U16_MAX)) >> FRAC_BITS
    return 0 if v < 0 else U16_MAX if v > U16_MAX else v


def fixed_to_rao(x: int, rao_emission: int) -> int:
    """``I96F32::from(x).saturating_mul(I96F32::from(rao)).saturating_to_num::<u64>()``."""
    v = (x * rao_emission) >> FRAC_BITS
    return 0 if v < 0 else U64_MAX if v > U64_MAX else v


# ---------------------------------------------------------------- vectors (math.rs)


def is_topk_nonzero(vector: list[int], k: int) -> list[bool]:
    n = len(vector)
    result = [v != 0 for v in vector]
    if n < k:
        return result
    idxs = sorted(range(n), key=lambda idx: vector[idx])  # ascending, stable
    for idx in idxs[: n - k]:
        result[idx] = False
    return result


def inplace_normalize(x: list[int]) -> None:
    x_sum = sum(x)
    if x_sum == 0:
        return
    for i, value in enumerate(x):
        x[i] = safe_div(value, x_sum)


def inplace_normalize_using_sum(x: list[int], x_sum: int) -> None:
    if x_sum == 0:
        return
    for i, value in enumerate(x):
        x[i] = safe_div(value, x_sum)


def inplace_mask_vector(mask: list[bool], vector: list[int]) -> None:
    for i in range(len(vector)):
        if mask[i]:
            vector[i] = 0


# ---------------------------------------------------------------- sparse matrices (math.rs)


def mask_rows_sparse(mask: list[bool], matrix):
    return [[] if mask[i] else list(row) for i, row in enumerate(matrix)]


def mask_diag_sparse(matrix):
    return [[(j, v) for (j, v) in row if j != i] for i, row in enumerate(matrix)]


def inplace_row_normalize_sparse(matrix) -> None:
    for row in matrix:
        row_sum = sum(v for _, v in row)
        if row_sum > 0:
            row[:] = [(j, safe_div(v, row_sum)) for j, v in row]


def row_sum_sparse(matrix) -> list[int]:
    return [sum(v for _, v in row) for row in matrix]


def inplace_col_normalize_sparse(matrix, columns: int) -> None:
    col_sum = [0] * columns
    for row in matrix:
        for j, v in row:
            col_sum[j] = fadd(col_sum[j], v)
    for row in matrix:
        row[:] = [(j, safe_div(v, col_sum[j]) if col_sum[j] != 0 else v) for j, v in row]


def inplace_col_max_upscale_sparse(matrix, columns: int) -> None:
    col_max = [0] * columns
    for row in matrix:
        for j, v in row:
            if col_max[j] < v:
                col_max[j] = v
    for row in matrix:
        row[:] = [(j, safe_div(v, col_max[j]) if col_max[j] != 0 else v) for j, v in row]


def weighted_median(stake, score, partition_idx, minority, partition_lo, partition_hi) -> int:
    """The deterministic mid-pivot partition search of ``math.rs::weighted_median``."""
    if len(stake) != len(score):
        return 0
    current = list(partition_idx)
    iteration_limit = len(partition_idx)
    iteration = 0
    while True:
        n = len(current)
        if n == 0:
            return 0
        if n == 1:
            return score[current[0]]
        pivot = score[current[n // 2]]
        lo_stake = hi_stake = 0
        lower: list[int] = []
        upper: list[int] = []
        for idx in current:
            s = score[idx]
            if s == pivot:
                continue
            if s < pivot:
                lo_stake = fadd(lo_stake, stake[idx])
                lower.append(idx)
            else:
                hi_stake = fadd(hi_stake, stake[idx])
                upper.append(idx)
        if minority < fadd(partition_lo, lo_stake) and lower:
            current = lower
            partition_hi = fadd(partition_lo, lo_stake)
        elif fsub(partition_hi, hi_stake) <= minority and upper:
            current = upper
            partition_lo = fsub(partition_hi, hi_stake)
        else:
            return pivot
        iteration += 1
        if iteration > iteration_limit:
            return 0


def weighted_median_col_sparse(stake: list[int], score, columns: int, majority: int) -> list[int]:
    use_stake = [s for s in stake if s > 0]
    inplace_normalize(use_stake)
    stake_sum = sum(use_stake)
    minority = fsub(stake_sum, majority)
    stake_idx = list(range(len(use_stake)))
    use_score = [[0] * len(use_stake) for _ in range(columns)]
    k = 0
    for s, row in zip(stake, score):
        if s > 0:
            for c, v in row:
                use_score[c][k] = v
            k += 1
    return [weighted_median(use_stake, col, stake_idx, minority, 0, stake_sum) for col in use_score]


def col_clip_sparse(matrix, col_threshold: list[int]):
    result = []
    for row in matrix:
        out_row = []
        for j, v in row:
            th = col_threshold[j]
            if th < v:
                if th > 0:
                    out_row.append((j, th))
            else:
                out_row.append((j, v))
        result.append(out_row)
    return result


def matmul_sparse(matrix, vector: list[int], columns: int) -> list[int]:
    result = [0] * columns
    for scale, row in zip(vector, matrix):
        for j, v in row:
            result[j] = fadd(result[j], fmul(scale, v))
    return result


def matmul_transpose_sparse(matrix, vector: list[int]) -> list[int]:
    result = []
    for row in matrix:
        acc = 0
        for j, v in row:
            acc = fadd(acc, fmul(vector[j], v))
        result.append(acc)
    return result


def interpolate_sparse(mat1, mat2, columns: int, ratio: int):
    if ratio == 0:
        return [list(r) for r in mat1]
    if ratio == ONE:
        return [list(r) for r in mat2]
    result = []
    for row_a, row_b in zip(mat1, mat2):
        row1 = [0] * columns
        for j, v in row_a:
            row1[j] = v
        row2 = [0] * columns
        for j, v in row_b:
            row2[j] = v
        out_row = []
        for j in range(columns):
            interp = fadd(row1[j], fmul(ratio, fsub(row2[j], row1[j])))
            if interp > 0:
                out_row.append((j, interp))
        result.append(out_row)
    return result


def row_hadamard_sparse(matrix, vector: list[int]):
    return [[(j, fmul(v, scale)) for j, v in row] for row, scale in zip(matrix, vector)]


def mat_ema_sparse(new, old, alpha: int):
    """``alpha * new + (1 - alpha) * old`` on the union of entries, keeping results above zero."""
    n = len(new)
    one_minus_alpha = fsub(ONE, alpha)
    result = []
    for new_row, old_row in zip(new, old):
        acc_row = [0] * n
        for j, v in new_row:
            acc_row[j] = fadd(acc_row[j], fmul(alpha, v))
        for j, v in old_row:
            acc_row[j] = fadd(acc_row[j], fmul(one_minus_alpha, v))
        result.append([(j, v) for j, v in enumerate(acc_row) if v > 0])
    return result


# ---------------------------------------------------------------- the epoch


@dataclass
class BaselineResult:
    stake: list[int]  #: normalised stake S, raw I32F32
    consensus: list[int]
    incentive: list[int]
    dividends: list[int]
    validator_trust: list[int]
    new_validator_permits: list[bool]
    consensus_u16: list[int]
    incentive_u16: list[int]
    dividends_u16: list[int]
    validator_trust_u16: list[int]
    server_emission: list[int]  #: rao
    validator_emission: list[int]  #: rao
    emission: list[int]  #: rao, combined
    bonds: list[list[tuple[int, int]]]  #: the ``Bonds`` storage after the epoch, u16 sparse rows


def epoch_baseline(
    stake: list[int],
    weights: list[list[tuple[int, int]]],
    bonds: list[list[tuple[int, int]]],
    permits: list[bool],
    kappa: int = 32767,
    bonds_penalty: int = 65535,
    bonds_moving_average: int = 900_000,
    max_allowed_validators: int = 64,
    rao_emission: int = 1_000_000_000,
) -> BaselineResult:
    """One sparse epoch with original Yuma bonds.

    Args:
        stake: raw stake per uid in rao.
        weights: n sparse rows of ``(uid, u16)`` as ``Weights`` stores them.
        bonds: n sparse rows of ``(uid, u16)`` as ``Bonds`` stores them.
        permits: ``ValidatorPermit`` from the previous epoch.
        kappa, bonds_penalty, bonds_moving_average, max_allowed_validators: hyperparameters.
        rao_emission: emission to share out, in rao.
    """
    n = len(stake)

    # Stake: normalised in I64F64, truncated to I32F32.
    total = sum(stake)
    S = [(s << FRAC_BITS) // total if total else 0 for s in stake]

    # Validator permits.
    validator_forbids = [not p for p in permits]
    new_validator_permits = is_topk_nonzero(S, max_allowed_validators)

    # Active stake (everyone is active).
    active_stake = list(S)
    inplace_mask_vector(validator_forbids, active_stake)
    inplace_normalize(active_stake)

    # Weights.
    W = [[(j, fixed_from_int(v)) for j, v in row] for row in weights]
    W = mask_rows_sparse(validator_forbids, W)
    W = mask_diag_sparse(W)
    inplace_row_normalize_sparse(W)

    # Consensus, clipping, validator trust.
    kappa_fixed = safe_div(fixed_from_int(kappa), fixed_from_int(U16_MAX))
    consensus = weighted_median_col_sparse(active_stake, W, n, kappa_fixed)
    clipped = col_clip_sparse(W, consensus)
    validator_trust = row_sum_sparse(clipped)

    # Ranks and incentive.
    incentive = matmul_sparse(clipped, active_stake, n)
    inplace_normalize(incentive)

    # Weights for bonds.
    penalty = safe_div(fixed_from_int(bonds_penalty), fixed_from_int(U16_MAX))
    weights_for_bonds = interpolate_sparse(W, clipped, n, penalty)

    # Bonds (original Yuma).
    B = [[(j, fixed_from_int(v)) for j, v in row] for row in bonds]
    inplace_col_normalize_sparse(B, n)
    bonds_delta = row_hadamard_sparse(weights_for_bonds, active_stake)
    inplace_col_normalize_sparse(bonds_delta, n)
    bma = (bonds_moving_average << 64) // 1_000_000  # I64F64 safe_div
    alpha = fsub(ONE, bma >> FRAC_BITS)  # 1 - I32F32::saturating_from_num(bma)
    ema_bonds = mat_ema_sparse(bonds_delta, B, alpha)
    inplace_col_normalize_sparse(ema_bonds, n)
    dividends = matmul_transpose_sparse(ema_bonds, incentive)
    inplace_normalize(dividends)
    inplace_col_max_upscale_sparse(ema_bonds, n)

    # Emission.
    combined = [fadd(i, d) for i, d in zip(incentive, dividends)]
    emission_sum = sum(combined)
    server = list(incentive)
    validator = list(dividends)
    normalized_combined = list(combined)
    inplace_normalize_using_sum(server, emission_sum)
    inplace_normalize_using_sum(validator, emission_sum)
    inplace_normalize(normalized_combined)
    if emission_sum == 0:
        fallback = S if all(a == 0 for a in active_stake) else active_stake
        validator = list(fallback)
        normalized_combined = list(fallback)

    return BaselineResult(
        stake=S,
        consensus=consensus,
        incentive=incentive,
        dividends=dividends,
        validator_trust=validator_trust,
        new_validator_permits=new_validator_permits,
        consensus_u16=[fixed_proportion_to_u16(x) for x in consensus],
        incentive_u16=[fixed_proportion_to_u16(x) for x in incentive],
        dividends_u16=[fixed_proportion_to_u16(x) for x in dividends],
        validator_trust_u16=[fixed_proportion_to_u16(x) for x in validator_trust],
        server_emission=[fixed_to_rao(x, rao_emission) for x in server],
        validator_emission=[fixed_to_rao(x, rao_emission) for x in validator],
        emission=[fixed_to_rao(x, rao_emission) for x in normalized_combined],
        bonds=[_stored_bonds_row(i, ema_bonds, bonds, permits, new_validator_permits) for i in range(n)],
    )


def _stored_bonds_row(i, ema_bonds, old_bonds, permits, new_validator_permits):
    """The ``Bonds`` row written for uid i: the new EMA row, emptied, or left as it was."""
    if new_validator_permits[i]:
        return [(j, fixed_proportion_to_u16(v)) for j, v in ema_bonds[i]]
    if permits[i]:
        return []
    return list(old_bonds[i])
