"""Checking and reading the epoch's inputs: stake vectors, u16 matrices, per-uid block numbers."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from itertools import chain

import numpy as np

from ..errors import InputError

U16_MAX = 65535
U64_MAX = (1 << 64) - 1


def check_int(name: str, value, lo: int, hi: int | None = None) -> int:
    """An integer in [lo, hi], or an `InputError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, numbers.Real) and float(value).is_integer():
            value = int(value)
        else:
            raise InputError(name, f"expected an integer, got {value!r}")
    value = int(value)
    if value < lo or (hi is not None and value > hi):
        bound = f"[{lo}, {hi}]" if hi is not None else f">= {lo}"
        raise InputError(name, f"{value} is out of range {bound}")
    return value


def int_vector(name: str, values, lo: int, hi: int, n: int | None = None) -> list[int]:
    """A 1-D sequence of integers in [lo, hi] as a list of Python ints (exact for u64)."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise InputError(name, f"expected a 1-D sequence, got shape {arr.shape}")
    if n is not None and len(arr) != n:
        raise InputError(name, f"expected {n} entries (one per uid), got {len(arr)}")
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise InputError(name, "contains NaN or infinity")
        if not (arr == np.floor(arr)).all():
            raise InputError(name, "expected integers (rao or blocks), got fractional values")
    elif arr.dtype.kind == "b" or arr.dtype.kind not in "iuO":
        raise InputError(name, f"expected integers, got dtype {arr.dtype}")
    out = [int(v) for v in arr.tolist()]
    bad = [v for v in out if v < lo or v > hi]
    if bad:
        raise InputError(name, f"value {bad[0]} is out of range [{lo}, {hi}]")
    return out


def bool_vector(name: str, values, n: int) -> np.ndarray:
    """A bool vector of length n; a shorter one is padded with False as the chain pads storage."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise InputError(name, f"expected a 1-D sequence of bools, got shape {arr.shape}")
    if arr.dtype.kind not in "biu":
        raise InputError(name, f"expected bools, got dtype {arr.dtype}")
    if len(arr) > n:
        raise InputError(name, f"has {len(arr)} entries for {n} uids")
    out = np.zeros(n, dtype=bool)
    out[: len(arr)] = arr.astype(bool)
    return out


class U16Matrix:
    """An (n, n) matrix of u16 values as the chain stores it: only some rows and entries exist.

    Built from sparse rows it keeps them in compressed-row form (``indptr``, ``cols``, ``vals``),
    sorted by column within each row, with explicit zero entries (they matter to Yuma3). Built
    from a dense array it keeps the array, and a zero means "absent".
    """

    def __init__(self, n: int, csr: tuple | None = None, array: np.ndarray | None = None):
        self.n = n
        empty = np.zeros(0, dtype=np.int64)
        self._csr = csr if csr is not None else (np.zeros(n + 1, dtype=np.int64), empty, empty)
        self._array = array

    @classmethod
    def read(cls, name: str, matrix, n: int) -> "U16Matrix":
        if matrix is None:
            return cls(n)
        if isinstance(matrix, np.ndarray) and matrix.ndim == 2:
            return cls._read_dense(name, matrix, n)
        if not isinstance(matrix, Sequence) and not isinstance(matrix, np.ndarray):
            raise InputError(name, f"expected an (n, n) array or n sparse rows, got {type(matrix).__name__}")
        rows = list(matrix)
        if len(rows) != n:
            raise InputError(name, f"expected {n} rows (one per uid), got {len(rows)}")
        first = next((r for r in rows if len(r) > 0), None)
        if first is not None and not _is_pair(first[0]):
            return cls._read_dense(name, np.asarray(rows), n)
        return cls(n, csr=_read_rows(name, rows, n))

    @classmethod
    def _read_dense(cls, name: str, matrix: np.ndarray, n: int) -> "U16Matrix":
        if matrix.shape != (n, n):
            raise InputError(name, f"expected shape ({n}, {n}), got {matrix.shape}")
        if matrix.dtype.kind == "f":
            if not np.isfinite(matrix).all():
                raise InputError(name, "contains NaN or infinity")
            if not (matrix == np.floor(matrix)).all():
                raise InputError(name, "expected u16 integers as the chain stores them, got fractions")
        elif matrix.dtype.kind not in "iu":
            raise InputError(name, f"expected integers, got dtype {matrix.dtype}")
        if matrix.dtype != np.uint16 and matrix.size and (matrix.min() < 0 or matrix.max() > U16_MAX):
            raise InputError(name, f"values must be u16 in [0, {U16_MAX}]")
        return cls(n, array=matrix)

    def row_ids(self) -> np.ndarray:
        """Indices of the rows that hold at least one entry."""
        if self._array is not None:
            return np.flatnonzero(self._array.any(axis=1))
        return np.flatnonzero(np.diff(self._csr[0]) > 0)

    def row(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """``(columns, values)`` of row i (empty arrays when it has no entries)."""
        if self._array is not None:
            cols = np.flatnonzero(self._array[i])
            return cols, self._array[i, cols].astype(np.int64)
        indptr, cols, vals = self._csr
        return cols[indptr[i] : indptr[i + 1]], vals[indptr[i] : indptr[i + 1]]

    def dense(self, row_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(values, present)`` of shape (len(row_ids), n) for the given rows (int64, bool)."""
        if self._array is not None:
            values = self._array[row_ids].astype(np.int64)
            return values, values != 0
        indptr, cols, vals = self._csr
        values = np.zeros((len(row_ids), self.n), dtype=np.int64)
        present = np.zeros((len(row_ids), self.n), dtype=bool)
        starts, counts = indptr[row_ids], indptr[row_ids + 1] - indptr[row_ids]
        k = np.repeat(np.arange(len(row_ids)), counts)
        idx = np.repeat(starts - (np.cumsum(counts) - counts), counts) + np.arange(int(counts.sum()))
        values[k, cols[idx]] = vals[idx]
        present[k, cols[idx]] = True
        return values, present


def _read_rows(name: str, rows: list, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sparse rows of (uid, u16) pairs -> validated compressed rows, sorted by column."""
    lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=n)
    total = int(lengths.sum())
    try:
        flat = np.fromiter(chain.from_iterable(chain.from_iterable(rows)), dtype=np.float64, count=2 * total)
    except (TypeError, ValueError):
        for i, row in enumerate(rows):  # find the malformed row to name it
            for pair in row:
                if not _is_pair(pair):
                    raise InputError(f"{name}[{i}]", f"expected (uid, value) pairs, got {pair!r}") from None
                try:
                    float(pair[0]), float(pair[1])
                except (TypeError, ValueError):
                    raise InputError(f"{name}[{i}]", f"expected numbers in {pair!r}") from None
        raise InputError(name, "expected rows of (uid, value) pairs") from None
    row_of = np.repeat(np.arange(n), lengths)
    cols = _checked_ints(name, "uids", flat[0::2], 0, n - 1, row_of)
    vals = _checked_ints(name, "values", flat[1::2], 0, U16_MAX, row_of)
    same_row = row_of[1:] == row_of[:-1]
    if not ((cols[1:] > cols[:-1]) | ~same_row).all():  # rows as the chain stores them are sorted already
        order = np.lexsort((cols, row_of))
        row_of, cols, vals = row_of[order], cols[order], vals[order]
        same_row = row_of[1:] == row_of[:-1]
    dup = np.flatnonzero(same_row & (cols[1:] == cols[:-1]))
    if dup.size:
        raise InputError(f"{name}[{row_of[dup[0]]}]", f"lists uid {cols[dup[0]]} twice")
    return np.concatenate([[0], np.cumsum(lengths)]), cols, vals


def _is_pair(x) -> bool:
    return isinstance(x, (Sequence, np.ndarray)) and not isinstance(x, str) and len(x) == 2


def _checked_ints(name: str, what: str, values: np.ndarray, lo: int, hi: int, row_of: np.ndarray) -> np.ndarray:
    bad = ~np.isfinite(values) | (values != np.floor(values)) | (values < lo) | (values > hi)
    if bad.any():
        k = int(np.argmax(bad))
        raise InputError(f"{name}[{row_of[k]}] {what}", f"{values[k]!r} is not an integer in [{lo}, {hi}]")
    return values.astype(np.int64)
