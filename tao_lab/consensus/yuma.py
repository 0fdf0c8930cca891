"""Yuma consensus: the epoch subtensor runs for a subnet every tempo.

`epoch` reproduces ``epoch_mechanism`` (``variant="sparse"``, what production runs) and
``epoch_dense_mechanism`` (``variant="dense"``) from subtensor's ``epoch/run_epoch.rs``, with both
bond modes (original Yuma, Yuma3 with optional liquid alpha). With ``exact=True`` every number is
computed in the chain's fixed-point arithmetic and equals the chain's bit for bit; ``exact=False``
runs the same steps in float64.

Inside, only the rows that can carry weights or bonds (validators with a permit and rows with
stored bonds) are materialised, as dense ``(rows, n)`` arrays with a ``present`` mask standing in
for subtensor's sparse entries. Every other row is all-absent, so the result is the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ..errors import InputError
from . import primitives as P
from ._inputs import U16_MAX, U64_MAX, U16Matrix, bool_vector, check_int, int_vector
from .arith import FIXED, FLOAT

__all__ = ["EpochParams", "EpochContext", "EpochResult", "epoch"]

MAX_BLOCK = (1 << 63) - 2  # block numbers are u64 on chain; anything near this is nonsense
NEVER = MAX_BLOCK + 1  # a commit block for "no un-expired commit"


@dataclass(frozen=True)
class EpochParams:
    """A subnet's hyperparameters in the chain's own units; defaults are subtensor's defaults."""

    kappa: int = 32767  #: u16; consensus majority = kappa / 65535
    bonds_penalty: int = 65535  #: u16; 65535 = bonds follow clipped weights
    bonds_moving_average: int = 900_000  #: per million; EMA keeps this much of the old bonds
    yuma3: bool = False  #: Yuma3 bonds (``Yuma3On``)
    liquid_alpha: bool = False  #: per-entry EMA alpha (``LiquidAlphaOn``, Yuma3 only)
    alpha_low: int = 45875  #: u16 (0.7)
    alpha_high: int = 58982  #: u16 (0.9)
    alpha_sigmoid_steepness: int = 1000  #: i16
    max_allowed_validators: int = 64  #: k of the top-k validator permits
    activity_cutoff: int = 5000  #: blocks without weights after which a uid is inactive
    tempo: int = 360  #: blocks between epochs
    stake_threshold: int = 0  #: rao; stake below it counts as zero
    owner_uid: int | None = None  #: uid of the subnet owner's hotkey, if registered
    commit_reveal: bool = False  #: mask weights by commit block (``CommitRevealWeightsEnabled``)

    def __post_init__(self):
        u16 = (0, U16_MAX)
        for name, (lo, hi) in {
            "kappa": u16,
            "bonds_penalty": u16,
            "alpha_low": u16,
            "alpha_high": u16,
            "max_allowed_validators": u16,
            "tempo": u16,
            "bonds_moving_average": (0, U64_MAX),
            "activity_cutoff": (0, U64_MAX),
            "stake_threshold": (0, U64_MAX),
            "alpha_sigmoid_steepness": (-32768, 32767),
        }.items():
            object.__setattr__(self, name, check_int(f"params.{name}", getattr(self, name), lo, hi))
        if self.alpha_low > self.alpha_high:
            raise InputError(
                "params.alpha_low", f"{self.alpha_low} is above alpha_high={self.alpha_high}; low must be <= high"
            )
        if self.owner_uid is not None:
            object.__setattr__(self, "owner_uid", check_int("params.owner_uid", self.owner_uid, 0, U16_MAX))
        for name in ("yuma3", "liquid_alpha", "commit_reveal"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise InputError(f"params.{name}", f"expected a bool, got {getattr(self, name)!r}")


@dataclass(frozen=True)
class EpochContext:
    """Block numbers the epoch compares. ``None`` for a vector means "do not mask by it".

    ``last_update``: block of each uid's last ``set_weights`` (activity and outdated weights).
    ``block_at_registration``: block each uid was registered (outdated weights, new-uid bonds).
    ``last_mechanism_step_block``: block of the previous epoch (0 = never, use ``current_block - tempo``).
    ``commit_blocks``: per uid, the block of its earliest un-expired weight commit, or None.
    """

    current_block: int = 0
    last_update: object = None
    block_at_registration: object = None
    last_mechanism_step_block: int = 0
    commit_blocks: object = None


@dataclass(eq=False)
class EpochResult:
    """Everything an epoch computes, per uid. Floats are the fixed-point values as float64.

    ``stake`` is the raw stake in rao (the chain's epoch output); ``stake_weight`` is the
    normalised stake S the epoch worked with, and ``stake_weight_u16`` its stored form.
    """

    n: int
    stake: np.ndarray  #: (n,) u64 raw stake in rao, as the chain's epoch outputs it
    stake_weight: np.ndarray  #: (n,) normalised stake S after the threshold
    active: np.ndarray  #: (n,) bool
    validator_permits: np.ndarray  #: (n,) bool, the permits this epoch masked with
    new_validator_permits: np.ndarray  #: (n,) bool, stored for the next epoch
    active_stake: np.ndarray  #: (n,) A
    consensus: np.ndarray  #: (n,) C
    validator_trust: np.ndarray  #: (n,) Tv
    ranks: np.ndarray  #: (n,) R before normalisation
    incentive: np.ndarray  #: (n,) I
    dividends: np.ndarray  #: (n,) D
    server_emission: np.ndarray  #: (n,) rao
    validator_emission: np.ndarray  #: (n,) rao
    emission: np.ndarray  #: (n,) rao, combined (the chain's ``Emission``)
    stake_weight_u16: np.ndarray
    consensus_u16: np.ndarray
    incentive_u16: np.ndarray
    dividends_u16: np.ndarray
    validator_trust_u16: np.ndarray
    rows: np.ndarray = field(repr=False)  #: uids of the materialised matrix rows
    _weights: np.ndarray = field(repr=False)
    _clipped: np.ndarray = field(repr=False)
    _weights_for_bonds: np.ndarray = field(repr=False)
    _ema_u16: np.ndarray = field(repr=False)
    _ema_present: np.ndarray = field(repr=False)
    _alphas: np.ndarray | None = field(repr=False)
    _bonds_in: U16Matrix = field(repr=False)

    def _expand(self, compact: np.ndarray, dtype) -> np.ndarray:
        out = np.zeros((self.n, self.n), dtype=dtype)
        out[self.rows] = compact
        return out

    @cached_property
    def weights(self) -> np.ndarray:
        """(n, n) weights after the masks, row-normalised: what consensus was computed from."""
        return self._expand(self._weights, np.float64)

    @cached_property
    def clipped_weights(self) -> np.ndarray:
        """(n, n) weights clipped at consensus."""
        return self._expand(self._clipped, np.float64)

    @cached_property
    def weights_for_bonds(self) -> np.ndarray:
        """(n, n) weights after the bonds penalty: what bonds were built from."""
        return self._expand(self._weights_for_bonds, np.float64)

    @cached_property
    def liquid_alphas(self) -> np.ndarray | None:
        """(n, n) per-entry EMA alphas when liquid alpha ran, else None."""
        return None if self._alphas is None else self._expand(self._alphas, np.float64)

    @cached_property
    def ema_bonds(self) -> np.ndarray:
        """(n, n) u16 bonds this epoch computed for every row, as the chain would store them."""
        return self._expand(self._ema_u16, np.uint16)

    @cached_property
    def new_bonds_rows(self) -> list[list[tuple[int, int]]]:
        """The ``Bonds`` storage after this epoch as n sparse rows of (uid, u16)."""
        where = {int(r): k for k, r in enumerate(self.rows)}
        out = []
        for i in range(self.n):
            if self.new_validator_permits[i]:
                k = where.get(i)
                if k is None:
                    out.append([])
                else:
                    cols = np.flatnonzero(self._ema_present[k])
                    out.append([(int(j), int(self._ema_u16[k, j])) for j in cols])
            elif self.validator_permits[i]:
                out.append([])
            else:
                cols, vals = self._bonds_in.row(i)
                out.append([(int(j), int(v)) for j, v in zip(cols, vals)])
        return out

    @cached_property
    def new_bonds(self) -> np.ndarray:
        """(n, n) u16 ``Bonds`` after this epoch (0 = absent): feed it to the next epoch."""
        out = np.zeros((self.n, self.n), dtype=np.uint16)
        for i, row in enumerate(self.new_bonds_rows):
            for j, v in row:
                out[i, j] = v
        return out


def epoch(
    stake,
    weights,
    bonds,
    permits,
    params: EpochParams | None = None,
    context: EpochContext | None = None,
    rao_emission: int = 1_000_000_000,
    variant: str = "sparse",
    exact: bool = True,
) -> EpochResult:
    """Run one Yuma consensus epoch for a subnet of ``n = len(stake)`` uids.

    Args:
        stake: (n,) raw stake per uid in rao (integers).
        weights: stored ``Weights`` as u16 — a dense (n, n) array (0 = absent) or n sparse rows of
            ``(uid, weight)`` pairs, where an explicit zero entry counts (Yuma3 keeps decaying it).
        bonds: stored ``Bonds`` as u16, same forms; ``None`` for no bonds.
        permits: (n,) bool ``ValidatorPermit`` stored by the previous epoch.
        params: subnet hyperparameters (`EpochParams`); ``None`` = subtensor's defaults.
        context: block numbers (`EpochContext`); ``None`` = everyone active, nothing outdated.
        rao_emission: emission to share out, in rao.
        variant: ``"sparse"`` (``epoch_mechanism``) or ``"dense"`` (``epoch_dense_mechanism``).
        exact: fixed-point arithmetic identical to the chain (default) or float64.

    Returns:
        An `EpochResult`. Inputs are never modified.

    Raises:
        InputError: a malformed argument, named in the error.
    """
    if variant not in ("sparse", "dense"):
        raise InputError("variant", f"expected 'sparse' or 'dense', got {variant!r}")
    params = EpochParams() if params is None else params
    if not isinstance(params, EpochParams):
        raise InputError("params", f"expected EpochParams, got {type(params).__name__}")
    ar = FIXED if exact else FLOAT
    sparse = variant == "sparse"

    raw_stake = int_vector("stake", stake, 0, U64_MAX)
    n = len(raw_stake)
    rao = check_int("rao_emission", rao_emission, 0, U64_MAX)
    W = U16Matrix.read("weights", weights, n)
    B = U16Matrix.read("bonds", bonds, n)
    permits = bool_vector("permits", permits, n)
    ctx = _read_context(context, n)
    owner = params.owner_uid if (sparse and params.owner_uid is not None and params.owner_uid < n) else None

    # Activity and stake.
    active = np.ones(n, dtype=bool)
    if ctx.last_update is not None and ctx.current_block > params.activity_cutoff:
        # last_update + cutoff < current_block, without overflowing (the chain saturates).
        active = ~(ctx.last_update < ctx.current_block - params.activity_cutoff)
    filtered = [0 if (s < params.stake_threshold and i != owner) else s for i, s in enumerate(raw_stake)]
    S = ar.stake_weights(filtered)

    # Validator permits: last epoch's mask this one; the new ones are stored for the next.
    vp = permits.copy()
    new_vp = P.is_topk_nonzero(S, params.max_allowed_validators)
    if owner is not None:
        vp[owner] = True
        new_vp[owner] = True
    A = P.normalize(np.where(active & vp, S, ar.zero), ar)

    # Materialise the rows that can hold weights (permitted validators) or bonds.
    rows = np.union1d(np.flatnonzero(vp), B.row_ids()).astype(np.int64)
    Wv, Wp = W.dense(rows)
    masked = ~vp[rows]  # rows of uids without a permit are emptied
    Wv[masked] = 0
    Wp[masked] = False
    if sparse:
        diag = np.flatnonzero(rows != owner) if owner is not None else np.arange(len(rows))
    else:
        diag = np.arange(len(rows))  # the dense epoch masks the whole diagonal, owner too
    Wv[diag, rows[diag]] = 0
    Wp[diag, rows[diag]] = False
    if ctx.block_at_registration is not None and ctx.last_update is not None:
        _drop(Wv, Wp, ctx.last_update[rows][:, None] <= ctx.block_at_registration[None, :])
    if sparse and params.commit_reveal and ctx.commit_blocks is not None and ctx.block_at_registration is not None:
        _drop(Wv, Wp, ctx.commit_blocks[rows][:, None] < ctx.block_at_registration[None, :])
    Wn = ar.normalize_ints(Wv, axis=1)  # rows with a positive sum; weights are never negative

    # Consensus, clipping, validator trust, incentive.
    kappa = ar.ratio(params.kappa, U16_MAX)
    C = P.weighted_median_col(A[rows], Wn, kappa, ar)
    clipped = np.minimum(Wn, C[None, :])
    Tv = np.zeros(n, dtype=ar.dtype)
    Tv[rows] = clipped.sum(axis=1)
    stake_weighted = P.row_hadamard(clipped, A[rows], ar)  # A_i * W̄_ij, each product floored
    R = stake_weighted.sum(axis=0)
    I = P.normalize(R, ar)

    # Weights for bonds: interpolate between raw and clipped weights by the bonds penalty.
    penalty = ar.ratio(params.bonds_penalty, U16_MAX)
    WB = P.interpolate(Wn, clipped, penalty, ar)

    # Bonds of uids registered since the last epoch are dropped.
    last_tempo = max(ctx.current_block - params.tempo, 0) if ctx.last_step == 0 else ctx.last_step + 1
    Bv, _ = B.dense(rows)
    if ctx.block_at_registration is not None:
        Bv[:, last_tempo <= ctx.block_at_registration] = 0

    alphas = None
    if params.yuma3:
        Bf = ar.u16_proportion(Bv)
        if params.liquid_alpha and (C != 0).any():
            alphas = _liquid_alphas(ar, params, C, WB, Bf)
            ema = P.mat_ema_alpha(WB, Bf, alphas, ar)
            # Only entries present in WB survive in the sparse epoch: a bond on a column the
            # validator no longer weights is dropped, not decayed as in the dense epoch.
            ema_p = _present_in_weights_for_bonds(Wp, Wn, C, WB, penalty, ar) & (ema > 0) if sparse else _all(ema)
        else:
            ema = P.mat_ema(WB, Bf, ar.ema_alpha(params.bonds_moving_average), ar)
            ema_p = (ema > 0) if sparse else _all(ema)
        ema = np.where(ema_p, ema, 0)
        per_validator = ar.mul(P.col_normalize(ema, ar), I[None, :]).sum(axis=1)
        D_rows = ar.mul(per_validator, A[rows])
        ema_u16 = ar.to_u16(ema)
    else:
        Bn = ar.normalize_ints(Bv, axis=0)
        # ΔB = WB ◦ A; with the default full penalty WB is W̄, whose products ranks already made.
        delta = stake_weighted if WB is clipped else P.row_hadamard(WB, A[rows], ar)
        delta = P.col_normalize(delta, ar)
        ema = P.mat_ema(delta, Bn, ar.ema_alpha(params.bonds_moving_average), ar)
        ema_p = (ema > 0) if sparse else _all(ema)  # mat_ema_sparse keeps the positive entries
        ema = P.col_normalize(ema, ar)
        D_rows = P.matmul_transpose(ema, I, ar)
        ema_u16 = ar.to_u16(P.col_max_upscale(ema, ar))
    D = np.zeros(n, dtype=ar.dtype)
    D[rows] = D_rows
    D = P.normalize(D, ar)

    # Emission: servers get incentive, validators dividends, each over the sum of both.
    combined = I + D
    total = combined.sum()
    server = I.copy() if total == 0 else ar.div(I, total)
    validator = D.copy() if total == 0 else ar.div(D, total)
    combined = P.normalize(combined, ar)
    if total == 0:  # no weights, outdated weights or self-weights only: emission follows stake
        fallback = S if A.sum() == 0 else A
        validator, combined = fallback.copy(), fallback.copy()

    return EpochResult(
        n=n,
        stake=np.array(raw_stake, dtype=np.uint64),
        stake_weight=ar.to_float(S),
        active=active,
        validator_permits=vp,
        new_validator_permits=new_vp,
        active_stake=ar.to_float(A),
        consensus=ar.to_float(C),
        validator_trust=ar.to_float(Tv),
        ranks=ar.to_float(R),
        incentive=ar.to_float(I),
        dividends=ar.to_float(D),
        server_emission=ar.to_rao(server, rao),
        validator_emission=ar.to_rao(validator, rao),
        emission=ar.to_rao(combined, rao),
        stake_weight_u16=ar.to_u16(S),
        consensus_u16=ar.to_u16(C),
        incentive_u16=ar.to_u16(I),
        dividends_u16=ar.to_u16(D),
        validator_trust_u16=ar.to_u16(Tv),
        rows=rows,
        _weights=ar.to_float(Wn),
        _clipped=ar.to_float(clipped),
        _weights_for_bonds=ar.to_float(WB),
        _ema_u16=ema_u16,
        _ema_present=ema_p,
        _alphas=None if alphas is None else ar.to_float(alphas),
        _bonds_in=B,
    )


def _drop(values: np.ndarray, present: np.ndarray, mask: np.ndarray) -> None:
    """Remove the masked entries of a sparse matrix held as (values, present), in place."""
    values[mask] = 0
    present[mask] = False


def _all(m: np.ndarray) -> np.ndarray:
    return np.ones(m.shape, dtype=bool)


def _present_in_weights_for_bonds(Wp, Wn, C, WB, penalty, ar) -> np.ndarray:
    """Which entries of the sparse ``weights_for_bonds`` exist (``interpolate_sparse``).

    Penalty 0 keeps the weights' entries, explicit zeros included; penalty 1 keeps the clipped
    weights' entries (clipping removes an entry above a zero consensus); in between only entries
    above zero survive.
    """
    if penalty == 0:
        return Wp
    if penalty == ar.one:
        return Wp & ~((C[None, :] == 0) & (Wn > 0))
    return WB > 0


def _liquid_alphas(ar, params: EpochParams, C, WB, B):
    """One EMA alpha per (validator, server): a sigmoid of how far the weight moved (``alpha_sigmoid``)."""
    low = ar.u16_proportion(params.alpha_low)
    high = ar.u16_proportion(params.alpha_high)
    buy = np.clip(WB - C[None, :], ar.zero, ar.one)
    sell = np.clip(B - WB, ar.zero, ar.one)
    diff = np.where(WB >= B, buy, sell)
    # Many entries share a difference (0 wherever a weight sits at consensus): evaluate each once.
    values, inverse = np.unique(diff, return_inverse=True)
    sigmoid = ar.sigmoid(ar.mul(ar.steepness_scale(params.alpha_sigmoid_steepness), values - ar.half))
    alpha = np.maximum(np.minimum(low + ar.mul(sigmoid, high - low), high), low)
    return alpha[inverse].reshape(diff.shape)


@dataclass
class _Context:
    current_block: int
    last_update: np.ndarray | None
    block_at_registration: np.ndarray | None
    last_step: int
    commit_blocks: np.ndarray | None


def _read_context(context: EpochContext | None, n: int) -> _Context:
    if context is None:
        return _Context(0, None, None, 0, None)
    if not isinstance(context, EpochContext):
        raise InputError("context", f"expected EpochContext or None, got {type(context).__name__}")
    block = check_int("context.current_block", context.current_block, 0, MAX_BLOCK)

    def blocks(name):
        value = getattr(context, name)
        if value is None:
            return None
        # Stored vectors can be shorter than n (e.g. LastUpdate before a uid's first update): pad with 0.
        vec = int_vector(f"context.{name}", value, 0, MAX_BLOCK)
        if len(vec) > n:
            raise InputError(f"context.{name}", f"has {len(vec)} entries for {n} uids")
        return np.array(vec + [0] * (n - len(vec)), dtype=np.int64)

    commits = None
    if context.commit_blocks is not None:
        raw = list(context.commit_blocks)
        if len(raw) != n:
            raise InputError("context.commit_blocks", f"expected {n} entries (one per uid), got {len(raw)}")
        commits = np.array(
            # None, or the chain's own sentinel u64::MAX, means "no un-expired commit".
            [NEVER if b is None else min(check_int(f"context.commit_blocks[{i}]", b, 0, U64_MAX), NEVER) for i, b in enumerate(raw)],
            dtype=np.int64,
        )
    return _Context(
        current_block=block,
        last_update=blocks("last_update"),
        block_at_registration=blocks("block_at_registration"),
        last_step=check_int("context.last_mechanism_step_block", context.last_mechanism_step_block, 0, MAX_BLOCK),
        commit_blocks=commits,
    )

