"""Ports of subtensor's ``pallets/subtensor/src/tests/math.rs`` (commit 14bc6f9f).

Each test names the Rust test it comes from and keeps its tolerance: ``assert_eq!`` becomes an
exact comparison of I32F32 raw bits, ``assert_*_compare(.., epsilon)`` becomes
``|a - b| <= I32F32::from_num(epsilon)`` on raw bits. Inputs built in Rust with
``vec_to_fixed(&[f32])`` go through float32 first, exactly like ``I32F32::from_num(f32)``.

Rust tests not ported, because the function they test is not part of
``tao_lab.consensus.primitives`` / ``.fixed`` (or is a Rust numeric-type / test-helper check):
  test_math_fixed_overflow, test_math_u64_normalization, test_math_to_num (substrate-fixed casts,
  I64F64 / I96F32 / I110F18); test_math_vec_to_fixed, test_math_vec_to_mat_fixed,
  test_math_vec_to_sparse_mat_fixed (test helpers); test_math_sum (sum); test_math_inplace_normalize
  (same cases as test_math_normalize, folded in there); test_math_inplace_normalize_64 (I64F64);
  test_math_vecdiv (vecdiv); test_math_inplace_mask_vector (inplace_mask_vector);
  test_math_inplace_mask_matrix (inplace_mask_matrix); test_math_vec_mask_sparse_matrix
  (vec_mask_sparse_matrix); test_math_vec_mul, test_math_mat_vec_mul, test_math_mat_vec_mul_sparse
  (vec_mul, mat_vec_mul*); test_math_row_sum, test_math_row_sum_sparse (row_sum*);
  test_math_fixed_to_u16(_panics), test_math_fixed_to_u64(_saturates), test_math_fixed64_to_u64
  (_saturates), test_math_fixed64_to_fixed32(_saturates), test_math_u16_to_fixed,
  test_vec_fixed64_to_fixed32(_saturates), test_checked_sum (casts not in the API).

math.rs has no Rust test for is_topk_nonzero, mat_ema, mat_ema_sparse or inplace_mask_cols; the
tests at the end of this file pin them to the Rust code of epoch/math.rs directly.
"""

import numpy as np

from tao_lab.consensus import fixed
from tao_lab.consensus import primitives as P

ONE = fixed.ONE
I32F32_MAX = int(np.iinfo(np.int64).max)  # I32F32::max_value() as raw bits
I32F32_MIN = int(np.iinfo(np.int64).min)  # I32F32::min_value()
U16_MAX = 65535


# ---------------------------------------------------------------- helpers (Rust test helpers)


def fx(values) -> np.ndarray:
    """vec_to_fixed(&[f32]): I32F32::from_num of each value taken as f32. -> raw int64 (n,)."""
    as_f32 = np.array(values, dtype=np.float32).astype(np.float64)
    return np.asarray(fixed.from_float(as_f32), dtype=np.int64).reshape(-1)


def f64(value: float) -> int:
    """I32F32::from_num(f64 literal) -> raw bits."""
    return int(fixed.from_float(np.float64(value)))


def mat_fx(values, rows: int, transpose: bool = False) -> np.ndarray:
    """vec_to_mat_fixed: reshape row-major to `rows` rows (then transpose) -> raw int64 (r, c)."""
    mat = fx(values).reshape(rows, -1)
    return np.ascontiguousarray(mat.T) if transpose else mat


def sparse_fx(values, rows: int, transpose: bool = False) -> list:
    """vec_to_sparse_mat_fixed: like mat_fx but as sparse rows keeping only entries > 0."""
    as_f32 = np.array(values, dtype=np.float32).reshape(rows, -1)
    raw = fx(values).reshape(rows, -1)
    if transpose:
        as_f32, raw = as_f32.T, raw.T
    return [[(j, int(raw[i, j])) for j in range(as_f32.shape[1]) if as_f32[i, j] > 0]
            for i in range(as_f32.shape[0])]


def fmat(rows_of_floats) -> np.ndarray:
    """mat_to_fixed(&[Vec<f32>]) -> raw int64 (r, c)."""
    return np.stack([fx(row) for row in rows_of_floats])


def raw(x) -> np.ndarray:
    return np.asarray(x, dtype=np.int64)


def rows_of(sparse) -> list:
    return [[(int(j), int(v)) for j, v in row] for row in sparse]


def assert_vec(actual, expected, eps: float = 0.0):
    """assert_vec_compare / assert_mat_compare: same shape, |a - b| <= from_num(eps) in raw bits."""
    a, e = raw(actual), raw(expected)
    assert a.shape == e.shape, f"shape {a.shape} != {e.shape}"
    tol = f64(eps)
    assert np.all(np.abs(a - e) <= tol), f"\n{a.tolist()}\n!=\n{e.tolist()}  (tol {tol} raw)"


def assert_sparse(actual, expected, eps: float = 0.0):
    """assert_sparse_mat_compare: same rows, same column indices, values within from_num(eps)."""
    a, e = rows_of(actual), rows_of(expected)
    assert len(a) == len(e), f"{len(a)} rows != {len(e)} rows"
    tol = f64(eps)
    for i, (ra, re_) in enumerate(zip(a, e)):
        assert [j for j, _ in ra] == [j for j, _ in re_], f"row {i}: {ra} != {re_}"
        assert all(abs(va - ve) <= tol for (_, va), (_, ve) in zip(ra, re_)), \
            f"row {i}: {ra} != {re_} (tol {tol} raw)"


def ref_exp(x: int) -> int:
    """substrate_fixed::transcendental::exp::<I32F32, I32F32> on raw bits (|x| <= 20, no overflow).

    exp(0) = 1 and exp(1) = the crate's I9F23 constant E (23 fractional bits only); otherwise
    1 + x + sum_{i=2..31} x^i/i! term by term (floor multiply, truncating divide), and for x < 0
    1/exp(|x|) (truncating divide).
    """
    if x == 0:
        return ONE
    if x == ONE:
        return 22802600 << 9  # consts::E >> 103, an I9F23, widened to I32F32
    neg, x = x < 0, abs(x)
    result, term = x + ONE, x
    for i in range(2, 32):
        term = (term * x) >> 32
        term = term // i
        result += term
    return (ONE << 32) // result if neg else result


# ------------------------------------------------- §8 primitives first: upscale / limits


def test_vec_max_upscale_to_u16():
    """test_vec_max_upscale_to_u16"""
    cases = [
        (fx([]), []),
        (fx([0.0]), [0]),
        (fx([0.0, 0.0]), [0, 0]),
        (fx([0.0, 1.0]), [0, 65535]),
        (fx([0.0, 0.000000001]), [0, 65535]),
        (fx([0.0, 0.000016, 1.0]), [0, 1, 65535]),
        (fx([0.000000001, 0.000000001]), [65535, 65535]),
        (fx([0.000001, 0.000006, 0.000007, 0.0001, 0.001, 0.01, 0.1, 0.2, 0.3, 0.4]),
         [0, 1, 1, 16, 164, 1638, 16384, 32768, 49151, 65535]),
        (raw([fixed.from_int(16384)]), [65535]),
        (raw([fixed.from_int(32768)]), [65535]),
        (raw([fixed.from_int(32769)]), [65535]),
        (raw([fixed.from_int(65535)]), [65535]),
        (raw([I32F32_MAX]), [65535]),
        (fx([0.0, 1.0, 65535.0]), [0, 1, 65535]),
        (fx([0.0, 0.5, 1.0, 1.5, 2.0, 32768.0]), [0, 1, 2, 3, 4, 65535]),
        (fx([0.0, 0.5, 1.0, 1.5, 2.0, 32768.0, 32769.0]), [0, 1, 2, 3, 4, 65533, 65535]),
        (raw([fixed.from_int(0), fixed.from_int(1), fixed.from_int(32768),
              fixed.from_int(32769), I32F32_MAX]), [0, 0, 1, 1, 65535]),
    ]
    for vec, target in cases:
        assert np.asarray(P.vec_max_upscale_to_u16(vec)).tolist() == target, vec.tolist()


def test_vec_u16_max_upscale_to_u16():
    """test_vec_u16_max_upscale_to_u16"""
    cases = [
        ([], []),
        ([0], [0]),
        ([0, 0], [0, 0]),
        ([1], [65535]),
        ([0, 1], [0, 65535]),
        ([65534], [65535]),
        ([65535], [65535]),
        ([65535, 65535], [65535, 65535]),
        ([0, 1, 65534], [0, 1, 65535]),
        ([0, 1, 2, 3, 4, 65533, 65535], [0, 1, 2, 3, 4, 65533, 65535]),
    ]
    for vec, target in cases:
        got = P.vec_u16_max_upscale_to_u16(np.array(vec, dtype=np.uint16))
        assert np.asarray(got).tolist() == target, vec


def test_check_vec_max_limited():
    """test_check_vec_max_limited"""
    def u16(v):
        return np.array(v, dtype=np.uint16)

    assert P.check_vec_max_limited(u16([]), 0)
    assert P.check_vec_max_limited(u16([]), U16_MAX)
    assert P.check_vec_max_limited(u16([U16_MAX]), U16_MAX)
    assert not P.check_vec_max_limited(u16([U16_MAX]), U16_MAX - 1)
    assert not P.check_vec_max_limited(u16([U16_MAX]), 0)
    assert P.check_vec_max_limited(u16([0]), U16_MAX)
    assert P.check_vec_max_limited(u16([0, U16_MAX]), U16_MAX)
    assert not P.check_vec_max_limited(u16([0, U16_MAX, U16_MAX]), U16_MAX // 2)
    assert P.check_vec_max_limited(u16([0, U16_MAX, U16_MAX]), U16_MAX // 2 + 1)
    assert not P.check_vec_max_limited(u16([0, U16_MAX, U16_MAX, U16_MAX]), U16_MAX // 3 - 1)
    assert P.check_vec_max_limited(u16([0, U16_MAX, U16_MAX, U16_MAX]), U16_MAX // 3)


# ---------------------------------------------------------------- exp / sigmoid


def test_math_exp_safe():
    """test_math_exp_safe: exp_safe clamps to [-20, 20] and otherwise equals the crate's exp."""
    def exp_safe(x):
        return int(raw(fixed.exp_safe(raw([x])))[0])

    assert exp_safe(0) == ref_exp(0) == ONE
    assert exp_safe(ONE) == ref_exp(ONE)
    lo, hi = -20 * ONE, 20 * ONE
    for x in (lo, lo - ONE, I32F32_MIN):
        assert exp_safe(x) == ref_exp(lo), x
    for x in (hi, hi + ONE, I32F32_MAX):
        assert exp_safe(x) == ref_exp(hi), x
    # sanity of the reference: it is the Taylor polynomial of degree 31, which at x = 20 is
    # ~0.8% below e^20 (the chain's exp_safe(20) is about 4.812e8, not 4.852e8)
    term, poly = 1.0, 1.0
    for i in range(1, 32):
        term *= 20.0 / i
        poly += term
    assert abs(ref_exp(hi) / ONE - poly) < 1e-6 * poly
    assert ref_exp(hi) / ONE < 0.995 * np.exp(20.0)


def test_math_sigmoid_safe():
    """test_math_sigmoid_safe (exact: pins exp_safe bit for bit)."""
    def sigmoid(xs, rho, kappa):
        xs = raw(xs)
        out = fixed.sigmoid_safe(xs, np.full(xs.shape, rho, dtype=np.int64),
                                 np.full(xs.shape, kappa, dtype=np.int64))
        return raw(out).tolist()

    trust = [I32F32_MIN, fixed.from_int(0), f64(0.4), f64(0.5), f64(0.6), fixed.from_int(1),
             I32F32_MAX]
    assert sigmoid(trust, I32F32_MAX, I32F32_MAX) == \
        fx([0.0000000019] * 6 + [0.5]).tolist()
    assert sigmoid(trust, I32F32_MIN, I32F32_MIN) == \
        fx([0.5] + [0.0000000019] * 6).tolist()
    target = [0.0000000019, 0.0000003057, 0.0474258729, 0.5, 0.952574127, 0.9999996943,
              0.9999999981]
    assert sigmoid(trust, fixed.from_int(30), f64(0.5)) == [f64(t) for t in target]

    trust = fx([0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    target = [0.0000000019, 0.0000001125, 0.0000061442, 0.0003353502, 0.017986214, 0.5,
              0.9820138067, 0.9996646498, 0.9999938558, 0.9999998875, 0.9999999981]
    assert sigmoid(trust, fixed.from_int(40), f64(0.5)) == [f64(t) for t in target]


# ---------------------------------------------------------------- top-k


def test_math_is_topk():
    """test_math_is_topk (ascending stable sort: on ties the lower index loses)."""
    def topk(vals, k):
        return np.asarray(P.is_topk(fx(vals), k)).tolist()

    F, T = False, True
    assert topk([], 5) == []
    v = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
    assert topk(v, 0) == [F] * 10
    assert topk(v, 5) == [F] * 5 + [T] * 5
    assert topk(v, 10) == [T] * 10
    assert topk(v, 100) == [T] * 10
    assert topk([9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0, 0.0], 5) == [T] * 5 + [F] * 5
    assert topk([9.0, 0.0, 8.0, 1.0, 7.0, 2.0, 6.0, 3.0, 5.0, 4.0], 5) == [T, F] * 5
    assert topk([0.9, 0.0, 0.8, 0.1, 0.7, 0.2, 0.6, 0.3, 0.5, 0.4], 5) == [T, F] * 5
    assert topk([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 5.0, 5.0, 5.0, 6.0], 5) == [F] * 5 + [T] * 5


# ---------------------------------------------------------------- weighted median


def _median(stake, score, minority, lo, hi):
    idx = list(range(len(stake)))
    return int(P.weighted_median(raw(stake), raw(score), minority, lo, hi, partition_idx=idx))


WEIGHTED_MEDIAN_RANDOM_ROUNDS = 100  # as many rounds as the Rust test


def test_math_weighted_median_fixed_cases():
    """test_math_weighted_median, the hand-written cases (minority = 1 - 0.51, hi = sum(stake))."""
    one, majority = ONE, int(fx([0.51])[0])
    minority = one - majority
    cases = [
        ([], [], 0),
        (raw(P.normalize(fx([0.51]))), fx([1.0]), one),
        (fx([0.49, 0.51]), fx([0.5, 1.0]), one),
        (fx([0.51, 0.49]), fx([0.5, 1.0]), int(fx([0.5])[0])),
        (fx([0.49, 0.0, 0.51]), fx([0.5, 0.7, 1.0]), one),
        (fx([0.49, 0.01, 0.5]), fx([0.5, 0.7, 1.0]), int(fx([0.7])[0])),
        (fx([0.49, 0.51, 0.0]), fx([0.5, 0.7, 1.0]), int(fx([0.7])[0])),
        (fx([0.0, 0.49, 0.51]), fx([0.5, 0.7, 1.0]), one),
        (fx([0.0, 0.49, 0.0, 0.51]), fx([0.5, 0.5, 1.0, 1.0]), one),
        (fx([0.0, 0.49, 0.0, 0.51, 0.0]), fx([0.5, 0.5, 1.0, 1.0, 0.5]), one),
        (fx([0.2] * 5), fx([0.8, 0.2, 1.0, 0.6, 0.4]), int(fx([0.6])[0])),
        (fx([0.1] * 10), fx([0.8, 0.8, 0.2, 0.2, 1.0, 1.0, 0.6, 0.6, 0.4, 0.4]),
         int(fx([0.6])[0])),
    ]
    for stake, score, expected in cases:
        stake = raw(stake)
        got = _median(stake, score, minority, 0, int(stake.sum()))
        assert got == expected, (stake.tolist(), raw(score).tolist())


def _reference_medians(stake, score, minority):
    """The Rust test's own reference: scores of the uids at which cumulative stake reaches minority."""
    medians, median_stake, median_set, stake_sum = [], 0, False, 0
    for s, sc in zip(stake, score):
        stake_sum += s
        if not median_set and stake_sum >= minority:
            median_stake, median_set = stake_sum, True
        if median_set:
            if median_stake < stake_sum:
                if median_stake == minority and sc not in medians:
                    medians.append(sc)
                break
            if sc not in medians:
                medians.append(sc)
    return medians or [0]


def test_math_weighted_median_random():
    """test_math_weighted_median, randomized part: result is one of the reference medians for
    sorted scores and stays one under random permutations of the uids (seeded numpy RNG)."""
    rng = np.random.default_rng(14_2025)
    n = 100
    majorities = fx([0.0, 0.0000001, 0.25, 0.49, 0.49, 0.49, 0.5, 0.51, 0.51, 0.51, 0.9999999, 1.0])
    for _ in range(WEIGHTED_MEDIAN_RANDOM_ROUNDS):
        for majority in (int(m) for m in majorities):
            for allow_equal in (False, True):
                if allow_equal:
                    draws = rng.integers(0, 2, size=(n, 2))
                    stake = np.where(draws[:, 0] == 1, ONE, 0).astype(np.int64)
                    score = (np.cumsum(draws[:, 1]) * ONE).astype(np.int64)
                else:
                    stake = np.full(n, ONE, dtype=np.int64)
                    score = np.arange(n, dtype=np.int64) * ONE
                stake = raw(P.normalize(stake))
                total = int(stake.sum())
                minority = max(total - majority, 0)
                medians = _reference_medians(stake.tolist(), score.tolist(), minority)
                assert _median(stake, score, minority, 0, total) in medians
                for _ in range(10):
                    perm = rng.permutation(n)
                    stake, score = stake[perm], score[perm]
                    assert _median(stake, score, minority, 0, total) in medians


WMC_WEIGHTS = [0.0, 0.1, 0.0, 0.0, 0.2, 0.4, 0.0, 0.3, 0.1, 0.0, 0.4, 0.5]
WMC_WEIGHTS_2 = [0.0, 0.1, 0.0, 0.0, 0.2, 0.4, 0.0, 0.3, 0.1, 0.0, 0.0, 0.5]


def test_math_weighted_median_col():
    """test_math_weighted_median_col"""
    def med(stake, weights, majority):
        return raw(P.weighted_median_col(stake, weights, majority)).tolist()

    assert med(fx([]), np.zeros((1, 0), dtype=np.int64), f64(0.5)) == []
    assert med(fx([0.0, 0.0]), mat_fx([0.0] * 4, 2), int(fx([0.5])[0])) == fx([0.0, 0.0]).tolist()

    stake, w = fx([0.0, 0.75, 0.25, 0.0]), mat_fx(WMC_WEIGHTS, 4)
    assert med(stake, w, int(fx([0.24])[0])) == fx([0.0, 0.3, 0.4]).tolist()
    assert med(stake, w, int(fx([0.26])[0])) == fx([0.0, 0.2, 0.4]).tolist()
    assert med(stake, w, int(fx([0.76])[0])) == fx([0.0, 0.2, 0.1]).tolist()

    stake, w = fx([0.0, 0.3, 0.2, 0.5]), mat_fx(WMC_WEIGHTS_2, 4)
    assert med(stake, w, int(fx([0.51])[0])) == fx([0.0, 0.0, 0.4]).tolist()


def test_math_weighted_median_col_sparse():
    """test_math_weighted_median_col_sparse"""
    def med(stake, weights, columns, majority):
        return raw(P.weighted_median_col_sparse(stake, weights, columns, majority)).tolist()

    assert med(fx([]), [[]], 0, int(fx([0.5])[0])) == []
    assert med(fx([0.0, 0.0]), sparse_fx([0.0] * 4, 2), 2, int(fx([0.5])[0])) == [0, 0]

    stake, w = fx([0.0, 0.75, 0.25, 0.0]), sparse_fx(WMC_WEIGHTS, 4)
    assert med(stake, w, 3, int(fx([0.24])[0])) == fx([0.0, 0.3, 0.4]).tolist()
    assert med(stake, w, 3, int(fx([0.26])[0])) == fx([0.0, 0.2, 0.4]).tolist()
    assert med(stake, w, 3, int(fx([0.76])[0])) == fx([0.0, 0.2, 0.1]).tolist()

    stake, w = fx([0.0, 0.3, 0.2, 0.5]), sparse_fx(WMC_WEIGHTS_2, 4)
    assert med(stake, w, 3, int(fx([0.51])[0])) == fx([0.0, 0.0, 0.4]).tolist()


# ---------------------------------------------------------------- EMA with per-cell alpha


def test_math_mat_ema_alpha():
    """test_math_mat_ema_alpha (results clamped to [0, 1])."""
    old = [0.1, 0.2, 3.0, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.10, 0.11, 0.12]
    new = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0]
    target = [0.19, 0.38, 1.0, 0.436, 0.545, 0.6539, 0.763, 0.8719, 0.981, 1.0, 1.0, 1.0]
    got = P.mat_ema_alpha(mat_fx(new, 4), mat_fx(old, 4), mat_fx([0.1] * 12, 4))
    assert_vec(got, mat_fx(target, 4), 1e-4)

    new = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0, 110.0, 120.0]
    target = [0.10, 0.2, 1.0, 0.0399, 0.05, 0.0599, 0.07, 0.07999, 0.09, 0.1, 0.10999, 0.11999]
    got = P.mat_ema_alpha(mat_fx(new, 4), mat_fx(old, 4), mat_fx([0.0] * 12, 4))
    assert_vec(got, mat_fx(target, 4), 1e-4)

    old = [0.001, 0.002, 0.003, 0.004, 0.05, 0.006, 0.007, 0.008, 0.009, 0.010, 0.011, 0.012]
    new = [0.1, 0.2, 3.0, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.10, 0.11, 0.12]
    got = P.mat_ema_alpha(mat_fx(new, 4), mat_fx(old, 4), mat_fx([1.0] * 12, 4))
    assert_vec(got, mat_fx(target, 4), 1e-4)


def test_math_sparse_mat_ema_alpha():
    """test_math_sparse_mat_ema_alpha (only entries present in `new` come out)."""
    alphas = mat_fx([0.1] * 12, 4)

    def check(old, new, target, eps):
        got = P.mat_ema_alpha_sparse(sparse_fx(new, 4), sparse_fx(old, 4), alphas)
        assert_sparse(got, sparse_fx(target, 4), eps)

    check(old=[0.1, 0.2, 3.0, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.10, 0.11, 0.12],
          new=[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0],
          target=[0.19, 0.38, 1.0, 0.43599, 0.545, 0.65399, 0.763, 0.87199, 0.981, 1.0, 1.0,
                  1.0], eps=1e-4)
    check(old=[0.001, 0.002, 0.003, 0.004, 0.05, 0.006, 0.007, 0.008, 0.009, 0.010, 0.011,
               0.012],
          new=[0.1, 0.2, 3.0, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.10, 0.11, 0.12],
          target=[0.0109, 0.0218, 0.30270, 0.007599, 0.05, 0.01139, 0.0133, 0.01519, 0.017,
                  0.01899, 0.02089, 0.0227], eps=1e-4)
    check(old=[0.0] * 12,
          new=[0.1, 0.2, 3.0, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.10, 0.11, 0.12],
          target=[0.01, 0.02, 0.3, 0.00399, 0.005, 0.00599, 0.007, 0.00799, 0.009, 0.01, 0.011,
                  0.01199], eps=1e-4)
    check(old=[0.0] * 12, new=[0.0] * 12, target=[0.0] * 12, eps=1e-4)
    # an old bond on a cell absent from `new` is dropped, not decayed
    check(old=[1.0] + [0.0] * 11, new=[0.0] * 4 + [2.0] + [0.0] * 7,
          target=[0.0] * 4 + [0.2] + [0.0] * 7, eps=1e-1)


def _f(v):
    return f64(v)


def test_mat_ema_alpha_sparse_empty():
    """test_mat_ema_alpha_sparse_empty"""
    got = P.mat_ema_alpha_sparse([], [], np.zeros((0, 0), dtype=np.int64))
    assert rows_of(got) == []


def test_mat_ema_alpha_sparse_single_element():
    """test_mat_ema_alpha_sparse_single_element"""
    got = P.mat_ema_alpha_sparse([[(0, _f(1.0))]], [[(0, _f(2.0))]], raw([[_f(0.5)]]))
    assert rows_of(got) == [[(0, _f(1.0))]]


def test_mat_ema_alpha_sparse_multiple_elements():
    """test_mat_ema_alpha_sparse_multiple_elements"""
    new = [[(0, _f(1.0)), (1, _f(2.0))], [(0, _f(3.0)), (1, _f(4.0))]]
    old = [[(0, _f(5.0)), (1, _f(6.0))], [(0, _f(7.0)), (1, _f(8.0))]]
    alpha = raw([[_f(0.1), _f(0.2)]] * 2)
    expected = [[(0, _f(1.0)), (1, _f(1.0))]] * 2
    assert_sparse(P.mat_ema_alpha_sparse(new, old, alpha), expected, 0.000001)


def test_mat_ema_alpha_sparse_zero_alpha():
    """test_mat_ema_alpha_sparse_zero_alpha"""
    got = P.mat_ema_alpha_sparse([[(0, _f(1.0))]], [[(0, _f(2.0))]], raw([[_f(0.1), _f(0.0)]]))
    assert rows_of(got) == [[(0, _f(1.0))]]


def test_mat_ema_alpha_sparse_one_alpha():
    """test_mat_ema_alpha_sparse_one_alpha"""
    got = P.mat_ema_alpha_sparse([[(0, _f(1.0))]], [[(0, _f(2.0))]], raw([[_f(1.0), _f(0.0)]]))
    assert rows_of(got) == [[(0, _f(1.0))]]


def test_mat_ema_alpha_sparse_mixed_alpha():
    """test_mat_ema_alpha_sparse_mixed_alpha"""
    new = [[(0, _f(1.0)), (1, _f(2.0))], [(0, _f(3.0)), (1, _f(4.0))]]
    old = [[(0, _f(5.0)), (1, _f(6.0))], [(0, _f(7.0)), (1, _f(8.0))]]
    alpha = raw([[_f(0.3), _f(0.7)]] * 2)
    expected = [[(0, _f(1.0)), (1, _f(1.0))]] * 2
    assert_sparse(P.mat_ema_alpha_sparse(new, old, alpha), expected, 0.000001)


def test_mat_ema_alpha_sparse_sparse_matrix():
    """test_mat_ema_alpha_sparse_sparse_matrix"""
    new = [[(0, _f(1.0))], [(1, _f(4.0))]]
    old = [[(0, _f(5.0))], [(1, _f(8.0))]]
    alpha = raw([[_f(0.5), _f(0.5)]] * 2)
    assert rows_of(P.mat_ema_alpha_sparse(new, old, alpha)) == [[(0, _f(1.0))], [(1, _f(1.0))]]


def test_mat_ema_alpha_basic():
    """test_mat_ema_alpha_basic"""
    new = fmat([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    old = fmat([[0.5, 1.5, 2.5], [3.5, 4.5, 5.5]])
    alpha = raw([[_f(0.5)] * 3] * 2)
    assert_vec(P.mat_ema_alpha(new, old, alpha), fmat([[0.75, 1.0, 1.0], [1.0, 1.0, 1.0]]))


def test_mat_ema_alpha_varying_alpha():
    """test_mat_ema_alpha_varying_alpha"""
    new = fmat([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    old = fmat([[0.5, 1.5, 2.5], [3.5, 4.5, 5.5]])
    alpha = raw([[_f(0.2), _f(0.5), _f(0.8)]] * 2)
    assert_vec(P.mat_ema_alpha(new, old, alpha), fmat([[0.6, 1.0, 1.0], [1.0, 1.0, 1.0]]), 1e-6)


def test_mat_ema_alpha_sparse_varying_alpha():
    """test_mat_ema_alpha_sparse_varying_alpha"""
    weights = [[(0, _f(0.1)), (1, _f(0.2))], [(0, _f(0.3)), (1, _f(0.4))]]
    bonds = [[(0, _f(0.5)), (1, _f(0.6))], [(0, _f(0.7)), (1, _f(0.8))]]
    alpha = raw([[_f(0.9), _f(0.8)], [_f(0.5), _f(0.7)]])
    expected = [[(0, _f(0.14)), (1, _f(0.28))], [(0, _f(0.499999)), (1, _f(0.519999))]]
    assert_sparse(P.mat_ema_alpha_sparse(weights, bonds, alpha), expected, 1e-6)


def test_mat_ema_alpha_empty_matrices():
    """test_mat_ema_alpha_empty_matrices (Rust returns vec![vec![]]: one empty row)."""
    empty = np.zeros((0, 0), dtype=np.int64)
    assert raw(P.mat_ema_alpha(empty, empty, empty)).size == 0


def test_mat_ema_alpha_single_element():
    """test_mat_ema_alpha_single_element"""
    got = P.mat_ema_alpha(fmat([[1.0]]), fmat([[0.5]]), raw([[_f(0.5)]]))
    assert_vec(got, fmat([[0.75]]))


def test_mat_ema_alpha_mismatched_dimensions():
    """test_mat_ema_alpha_mismatched_dimensions: rows of different length -> `new` unchanged."""
    new = fmat([[1.0, 2.0], [3.0, 4.0]])
    old = fmat([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    alpha = raw([[_f(0.5)] * 3] * 2)
    got = P.mat_ema_alpha(new, old, alpha)
    assert int(raw(got)[0][0]) == int(old[0][0])


# ---------------------------------------------------------------- normalisation / upscaling

NORM_DENSE = [0.0, 1.0, 2.0, 3.0, 4.0, 0.0, 10.0, 100.0, 1000.0, 10000.0, 0.0, 0.0, 0.0, 0.0,
              0.0, 1.0, 1.0, 1.0, 1.0, 1.0]
NORM_DENSE_TARGET = [0.0, 0.1, 0.2, 0.3, 0.4, 0.0, 0.0009, 0.009, 0.09, 0.9, 0.0, 0.0, 0.0, 0.0,
                     0.0, 0.2, 0.2, 0.2, 0.2, 0.2]
NORM_SPARSE = [0.0, 1.0, 0.0, 2.0, 0.0, 3.0, 4.0, 0.0, 1.0, 0.0, 2.0, 0.0, 3.0, 0.0, 1.0, 0.0,
               0.0, 2.0, 0.0, 3.0, 4.0, 0.0, 10.0, 0.0, 100.0, 1000.0, 0.0, 10000.0, 0.0, 0.0,
               0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
NORM_SPARSE_TARGET = [0.0, 0.1, 0.0, 0.2, 0.0, 0.3, 0.4, 0.0, 0.166666, 0.0, 0.333333, 0.0, 0.5,
                      0.0, 0.1, 0.0, 0.0, 0.2, 0.0, 0.3, 0.4, 0.0, 0.0009, 0.0, 0.009, 0.09, 0.0,
                      0.9, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.142857, 0.142857, 0.142857,
                      0.142857, 0.142857, 0.142857, 0.142857]


def test_math_normalize():
    """test_math_normalize (+ the identical cases of test_math_inplace_normalize)."""
    assert raw(P.normalize(fx([]))).size == 0
    x = raw([fixed.from_int(1), fixed.from_int(10), fixed.from_int(30)])
    y = P.normalize(x)
    assert_vec(y, [_f(0.0243902437), _f(0.243902439), _f(0.7317073171)], 0.0001)
    assert abs(int(raw(y).sum()) - ONE) <= _f(0.0001)
    x = raw([fixed.from_int(-1), fixed.from_int(10), fixed.from_int(30)])
    y = P.normalize(x)
    assert_vec(y, [_f(-0.0256410255), _f(0.2564102563), _f(0.769230769)], 0.0001)
    assert abs(int(raw(y).sum()) - ONE) <= _f(0.0001)


def test_math_inplace_row_normalize():
    """test_math_inplace_row_normalize"""
    got = P.row_normalize(mat_fx(NORM_DENSE, 4))
    assert_vec(got, mat_fx(NORM_DENSE_TARGET, 4), 0.0001)


def test_math_inplace_row_normalize_sparse():
    """test_math_inplace_row_normalize_sparse"""
    got = P.row_normalize_sparse(sparse_fx(NORM_SPARSE, 6))
    assert_sparse(got, sparse_fx(NORM_SPARSE_TARGET, 6), 0.0001)
    got = P.row_normalize_sparse(sparse_fx([0.0] * 12, 3))
    assert_sparse(got, sparse_fx([0.0] * 12, 3))


def test_math_inplace_col_normalize():
    """test_math_inplace_col_normalize"""
    got = P.col_normalize(mat_fx(NORM_DENSE, 4, transpose=True))
    assert_vec(got, mat_fx(NORM_DENSE_TARGET, 4, transpose=True), 0.0001)


def test_math_inplace_col_normalize_sparse():
    """test_math_inplace_col_normalize_sparse"""
    got = P.col_normalize_sparse(sparse_fx(NORM_SPARSE, 6, transpose=True), 6)
    assert_sparse(got, sparse_fx(NORM_SPARSE_TARGET, 6, transpose=True), 0.0001)
    got = P.col_normalize_sparse(sparse_fx([0.0] * 12, 3), 6)
    assert_sparse(got, sparse_fx([0.0] * 12, 3))
    assert rows_of(P.col_normalize_sparse([], 0)) == []


def test_math_inplace_col_max_upscale():
    """test_math_inplace_col_max_upscale"""
    assert raw(P.col_max_upscale(np.zeros((1, 0), dtype=np.int64))).shape == (1, 0)
    assert raw(P.col_max_upscale(raw([[0]]))).tolist() == [[0]]
    got = P.col_max_upscale(mat_fx(NORM_DENSE, 4, transpose=True))
    target = [0.0, 0.25, 0.5, 0.75, 1.0, 0.0, 0.001, 0.01, 0.1, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0,
              1.0, 1.0, 1.0, 1.0]
    assert_vec(got, mat_fx(target, 4, transpose=True), 0.0001)


def test_math_inplace_col_max_upscale_sparse():
    """test_math_inplace_col_max_upscale_sparse (an explicit zero entry stays present)."""
    assert rows_of(P.col_max_upscale_sparse([[]], 0)) == [[]]
    assert rows_of(P.col_max_upscale_sparse([[(0, 0)]], 1)) == [[(0, 0)]]
    got = P.col_max_upscale_sparse(sparse_fx(NORM_SPARSE, 6, transpose=True), 6)
    target = [0.0, 0.25, 0.0, 0.5, 0.0, 0.75, 1.0, 0.0, 0.333333, 0.0, 0.666666, 0.0, 1.0, 0.0,
              0.25, 0.0, 0.0, 0.5, 0.0, 0.75, 1.0, 0.0, 0.001, 0.0, 0.01, 0.1, 0.0, 1.0, 0.0, 0.0,
              0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    assert_sparse(got, sparse_fx(target, 6, transpose=True), 0.0001)
    got = P.col_max_upscale_sparse(sparse_fx([0.0] * 12, 3), 6)
    assert_sparse(got, sparse_fx([0.0] * 12, 3))
    assert rows_of(P.col_max_upscale_sparse([], 0)) == []


# ---------------------------------------------------------------- masks

MASK_INPUT = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
DIAG_MASKED = [0.0, 2.0, 3.0, 4.0, 0.0, 6.0, 7.0, 8.0, 0.0]
ROW_MASK_CASES = [
    ([False, False, False], MASK_INPUT),
    ([True, True, True], [0.0] * 9),
    ([True, False, True], [0.0, 0.0, 0.0, 4.0, 5.0, 6.0, 0.0, 0.0, 0.0]),
]


def test_math_inplace_mask_rows():
    """test_math_inplace_mask_rows"""
    for mask, target in ROW_MASK_CASES:
        got = P.mask_rows(np.array(mask), mat_fx(MASK_INPUT, 3))
        assert_vec(got, mat_fx(target, 3))
    got = P.mask_rows(np.array([False] * 3), mat_fx([0.0] * 9, 3))
    assert_vec(got, mat_fx([0.0] * 9, 3))


def test_math_inplace_mask_diag():
    """test_math_inplace_mask_diag"""
    assert_vec(P.mask_diag(mat_fx(MASK_INPUT, 3)), mat_fx(DIAG_MASKED, 3))


def test_math_inplace_mask_diag_except_index():
    """test_math_inplace_mask_diag_except_index"""
    for i in range(3):
        target = list(DIAG_MASKED)
        target[i * 3 + i] = MASK_INPUT[i * 3 + i]
        got = P.mask_diag_except_index(mat_fx(MASK_INPUT, 3), i)
        assert_vec(got, mat_fx(target, 3))


def test_math_mask_rows_sparse():
    """test_math_mask_rows_sparse"""
    mat = sparse_fx(MASK_INPUT, 3)
    for mask, target in ROW_MASK_CASES:
        assert_sparse(P.mask_rows_sparse(np.array(mask), mat), sparse_fx(target, 3))
    got = P.mask_rows_sparse(np.array([False] * 3), sparse_fx([0.0] * 9, 3))
    assert_sparse(got, sparse_fx([0.0] * 9, 3))


def test_math_mask_diag_sparse():
    """test_math_mask_diag_sparse"""
    cases = [
        (MASK_INPUT, DIAG_MASKED),
        ([1.0, 0.0, 0.0, 0.0, 5.0, 0.0, 0.0, 0.0, 9.0], [0.0] * 9),
        ([0.0] * 9, [0.0] * 9),
    ]
    for vector, target in cases:
        assert_sparse(P.mask_diag_sparse(sparse_fx(vector, 3)), sparse_fx(target, 3))


def test_math_mask_diag_sparse_except_index():
    """test_math_mask_diag_sparse_except_index"""
    cases = [
        (MASK_INPUT, DIAG_MASKED),
        ([1.0, 0.0, 0.0, 0.0, 5.0, 0.0, 0.0, 0.0, 9.0], [0.0] * 9),
        ([0.0] * 9, [0.0] * 9),
    ]
    for vector, base_target in cases:
        mat = sparse_fx(vector, 3)
        for i in range(3):
            target = list(base_target)
            target[i * 3 + i] = vector[i * 3 + i]
            got = P.mask_diag_sparse_except_index(mat, i)
            assert len(rows_of(got)) == 3
            assert_sparse(got, sparse_fx(target, 3))


# ---------------------------------------------------------------- products / clipping

M12 = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0]
M12_HOLES = [0.0, 2.0, 3.0, 4.0, 0.0, 6.0, 7.0, 8.0, 0.0, 10.0, 11.0, 12.0]


def test_math_row_hadamard():
    """test_math_row_hadamard"""
    got = P.row_hadamard(mat_fx(M12, 4), fx([1.0, 2.0, 3.0, 4.0]))
    target = [1.0, 2.0, 3.0, 8.0, 10.0, 12.0, 21.0, 24.0, 27.0, 40.0, 44.0, 48.0]
    assert_vec(got, mat_fx(target, 4))


def test_math_row_hadamard_sparse():
    """test_math_row_hadamard_sparse"""
    vector = fx([1.0, 2.0, 3.0, 4.0])
    cases = [
        (M12, [1.0, 2.0, 3.0, 8.0, 10.0, 12.0, 21.0, 24.0, 27.0, 40.0, 44.0, 48.0]),
        (M12_HOLES, [0.0, 2.0, 3.0, 8.0, 0.0, 12.0, 21.0, 24.0, 0.0, 40.0, 44.0, 48.0]),
        ([0.0] * 12, [0.0] * 12),
    ]
    for matrix, target in cases:
        got = P.row_hadamard_sparse(sparse_fx(matrix, 4), vector)
        assert_sparse(got, sparse_fx(target, 4))


def test_math_matmul():
    """test_math_matmul"""
    got = P.matmul(mat_fx(M12, 4), fx([1.0, 2.0, 3.0, 4.0]))
    assert_vec(got, fx([70.0, 80.0, 90.0]))


def test_math_matmul_transpose():
    """test_math_matmul_transpose"""
    got = P.matmul_transpose(mat_fx(M12, 4), fx([1.0, 2.0, 3.0]))
    assert_vec(got, fx([14.0, 32.0, 50.0, 68.0]))


def test_math_sparse_matmul():
    """test_math_sparse_matmul"""
    vector = fx([1.0, 2.0, 3.0, 4.0])
    for matrix, target in [(M12, [70.0, 80.0, 90.0]), (M12_HOLES, [69.0, 70.0, 63.0]),
                           ([0.0] * 12, [0.0, 0.0, 0.0])]:
        assert_vec(P.matmul_sparse(sparse_fx(matrix, 4), vector, 3), fx(target))


def test_math_sparse_matmul_transpose():
    """test_math_sparse_matmul_transpose"""
    vector = fx([1.0, 2.0, 3.0])
    for matrix, target in [(M12, [14.0, 32.0, 50.0, 68.0]), (M12_HOLES, [13.0, 22.0, 23.0, 68.0]),
                           ([0.0] * 12, [0.0] * 4)]:
        assert_vec(P.matmul_transpose_sparse(sparse_fx(matrix, 4), vector), fx(target))


def test_math_matmul2():
    """test_math_matmul2 (negative values; saturating arithmetic keeps signs)."""
    def vec3(v):
        return raw([_f(v)] * 3)

    w = raw([[fixed.from_int(1)] * 3] * 3)
    for v, target in [(1.0, 3), (2.0, 6), (3.0, 9), (-1.0, -3)]:
        assert_vec(P.matmul(w, vec3(v)), vec3(target), 0.0001)
    w = raw([[fixed.from_int(-1)] * 3] * 3)
    for v, target in [(1.0, -3), (2.0, -6), (3.0, -9), (-1.0, 3)]:
        assert_vec(P.matmul(w, vec3(v)), vec3(target), 0.0001)
    w = raw([[fixed.from_int(1)] * 3, [fixed.from_int(2)] * 3, [fixed.from_int(3)] * 3])
    assert_vec(P.matmul(w, vec3(0.0)), vec3(0.0), 0.0001)
    assert_vec(P.matmul(w, vec3(2.0)), vec3(12), 0.0001)
    w = raw([[fixed.from_int(1), fixed.from_int(2), fixed.from_int(3)]] * 3)
    assert_vec(P.matmul(w, vec3(0.0)), vec3(0.0), 0.0001)
    assert_vec(P.matmul(w, vec3(2.0)), raw([_f(6), _f(12), _f(18)]), 0.0001)


def test_math_inplace_col_clip():
    """test_math_inplace_col_clip"""
    matrix = [0.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0]
    target = [0.0, 2.0, 3.0, 0.0, 5.0, 6.0, 0.0, 5.0, 9.0, 0.0, 5.0, 12.0]
    got = P.col_clip(mat_fx(matrix, 4), fx([0.0, 5.0, 12.0]))
    assert_vec(got, mat_fx(target, 4))


def test_math_col_clip_sparse():
    """test_math_col_clip_sparse (an entry above a zero threshold is removed, not set to 0)."""
    thresholds = fx([0.0, 5.0, 12.0])
    cases = [
        ([0.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0],
         [0.0, 2.0, 3.0, 0.0, 5.0, 6.0, 0.0, 5.0, 9.0, 0.0, 5.0, 12.0]),
        ([0.0, 2.0, 3.0, 4.0, 5.0, 6.0, 0.0, 0.0, 0.0, 10.0, 11.0, 12.0],
         [0.0, 2.0, 3.0, 0.0, 5.0, 6.0, 0.0, 0.0, 0.0, 0.0, 5.0, 12.0]),
        ([0.0] * 12, [0.0] * 12),
    ]
    for matrix, target in cases:
        assert_sparse(P.col_clip_sparse(sparse_fx(matrix, 4), thresholds), sparse_fx(target, 4))


# ---------------------------------------------------------------- interpolation


def test_math_interpolate():
    """test_math_interpolate"""
    empty = np.zeros((1, 0), dtype=np.int64)
    assert_vec(P.interpolate(empty, empty, 0), empty)
    m1, m2 = raw([[fixed.from_int(0)]]), raw([[fixed.from_int(1)]])
    assert_vec(P.interpolate(m1, m2, 0), raw([[fixed.from_int(0)]]))
    assert_vec(P.interpolate(m1, m2, ONE), raw([[fixed.from_int(1)]]))

    zeros = mat_fx([0.0] * 12, 4)
    assert_vec(P.interpolate(zeros, zeros, 0), zeros)
    assert_vec(P.interpolate(zeros, zeros, ONE), zeros)

    m1 = mat_fx([1.0, 10.0, 100.0, 1000.0, 10000.0, 100000.0], 3)
    m2 = mat_fx([10.0, 100.0, 1000.0, 10000.0, 100000.0, 1000000.0], 3)
    assert_vec(P.interpolate(m1, m2, 0), m1)
    assert_vec(P.interpolate(m1, m2, _f(0.9)),
               mat_fx([9.1, 91.0, 910.0, 9100.0, 91000.0, 910000.0], 3), 0.0001)

    ones = mat_fx([1.0] * 12, 4)
    for ratio, value in [(0.0, 0.0), (0.000000001, 0.000000001), (0.5, 0.5),
                         (0.9999998808, 0.999_999_9), (1.0, 1.0)]:
        assert_vec(P.interpolate(zeros, ones, _f(ratio)), mat_fx([value] * 12, 4))


def test_math_interpolate_sparse():
    """test_math_interpolate_sparse (only entries > 0 are kept; `columns` bounds the output)."""
    assert_sparse(P.interpolate_sparse([[]], [[]], 0, 0), [[]])
    m1, m2 = sparse_fx([0.0], 1), sparse_fx([1.0], 1)
    assert_sparse(P.interpolate_sparse(m1, m2, 1, 0), sparse_fx([0.0], 1))
    assert_sparse(P.interpolate_sparse(m1, m2, 1, _f(0.5)), sparse_fx([0.5], 1))
    assert_sparse(P.interpolate_sparse(m1, m2, 1, ONE), sparse_fx([1.0], 1))

    zeros = sparse_fx([0.0] * 12, 4)
    assert_sparse(P.interpolate_sparse(zeros, zeros, 3, 0), zeros)
    assert_sparse(P.interpolate_sparse(zeros, zeros, 3, ONE), zeros)

    m1 = sparse_fx([1.0, 0.0, 100.0, 1000.0, 10000.0, 100000.0], 3)
    m2 = sparse_fx([10.0, 100.0, 1000.0, 10000.0, 100000.0, 0.0], 3)
    assert_sparse(P.interpolate_sparse(m1, m2, 2, 0), m1)
    assert_sparse(P.interpolate_sparse(m1, m2, 2, _f(0.9)),
                  sparse_fx([9.1, 90.0, 910.0, 9100.0, 91000.0, 10000.0], 3), 0.0001)

    ones = sparse_fx([1.0] * 12, 4)
    for ratio, value in [(0.0, 0.0), (0.000000001, 0.000000001), (0.5, 0.5),
                         (0.9999998808, 0.999_999_9), (1.0, 1.0)]:
        assert_sparse(P.interpolate_sparse(zeros, ones, 3, _f(ratio)),
                      sparse_fx([value] * 12, 4))


# ---------------------------------------------------------------- u16 <-> fixed (fixed module)


def test_math_u16_proportion_to_fixed():
    """test_math_u16_proportion_to_fixed"""
    assert raw(fixed.u16_proportion_to_fixed(np.array([0], dtype=np.uint16))).tolist() == [0]


def test_fixed_proportion_to_u16():
    """test_fixed_proportion_to_u16"""
    assert np.asarray(fixed.fixed_proportion_to_u16(raw([fixed.from_int(0)]))).tolist() == [0]


def test_fixed_proportion_to_u16_saturates():
    """test_fixed_proportion_to_u16_saturates: 65535 * 65535 saturates to u16::MAX."""
    got = fixed.fixed_proportion_to_u16(raw([fixed.from_int(65535)]))
    assert np.asarray(got).tolist() == [65535]


# -------------------------------------------- no Rust test in math.rs: pinned to epoch/math.rs


def _mul(a: int, b: int) -> int:
    return (a * b) >> 32  # I32F32 multiply: floor


def test_is_topk_nonzero_from_math_rs():
    """is_topk_nonzero: zero entries never qualify; ties lose by lower uid; n < k keeps all nonzero."""
    def topk(vals, k):
        return np.asarray(P.is_topk_nonzero(raw(vals), k)).tolist()

    half = ONE // 2
    assert topk([], 3) == []
    assert topk([0, half, half, 0], 1) == [False, False, True, False]
    assert topk([0, half, half, 0], 2) == [False, True, True, False]
    assert topk([0, half, half, 0], 3) == [False, True, True, False]
    assert topk([0, half, half, 0], 10) == [False, True, True, False]
    assert topk([0, half, half, 0], 0) == [False] * 4


def test_mat_ema_from_math_rs():
    """mat_ema: alpha*new + (1-alpha)*old, each product floored, no clamping."""
    alpha = _f(0.1)
    new = raw([[ONE, 0], [ONE // 2, 3 * ONE]])
    old = raw([[0, ONE], [ONE, ONE // 3]])
    expected = [[_mul(alpha, int(n)) + _mul(ONE - alpha, int(o)) for n, o in zip(rn, ro)]
                for rn, ro in zip(new, old)]
    assert raw(P.mat_ema(new, old, alpha)).tolist() == expected


def test_mat_ema_sparse_from_math_rs():
    """mat_ema_sparse: union of the cells of new and old, entries <= 0 dropped, sorted by column."""
    alpha = _f(0.1)
    new = [[(0, ONE)], [(1, 0)], [(2, ONE // 2)]]
    old = [[(1, ONE)], [(0, ONE)], [(2, 0)]]
    expected = [
        [(0, _mul(alpha, ONE)), (1, _mul(ONE - alpha, ONE))],
        [(0, _mul(ONE - alpha, ONE))],
        [(2, _mul(alpha, ONE // 2))],
    ]
    assert rows_of(P.mat_ema_sparse(new, old, alpha)) == expected
    assert rows_of(P.mat_ema_sparse([[(0, 0)], []], [[], []], alpha)) == [[], []]


def test_mask_cols_from_math_rs():
    """inplace_mask_cols: mask=True zeroes the whole column."""
    got = P.mask_cols(np.array([False, True, False]), mat_fx(MASK_INPUT, 3))
    assert_vec(got, mat_fx([1.0, 0.0, 3.0, 4.0, 0.0, 6.0, 7.0, 0.0, 9.0], 3))
