"""Validator-side router maths: a gate over miners learned by EM, contribution scores, and the `Router`.

Notation (``notes/ml-offline.md`` §6): ``l[k, n] = log p_k(y_n | x_<n)`` is miner k's natural-log
probability of the n-th target token of a held-out batch (nats). Miners send only these K×N numbers.

- Gate: the static mixture ``p(y) = Σ_k w_k p_k(y)``, fitted by EM on
  ``L(w) = −mean_n logsumexp_k(log w_k + l[k, n])``, which is convex in w. EM needs no learning
  rate and never increases L: ``r[k, n] = softmax_k(log w_k + l[k, n])``, then ``w_k ← mean_n r[k, n]``.
- Contribution: with the coalition value ``v(S) = log V − L_mix(S)`` (nats/token better than a
  uniform guess over V tokens, so ``v(∅) = 0``), leave-one-out ``Δ_k = v(all) − v(all \\ k)`` and
  Shapley values (exact for K ≤ 12, Monte Carlo over permutations beyond).
- `Router`: which k miners to query next (gate weight, a UCB bonus so untried uids go first, and
  ε-greedy exploration), and the fit of one step's answers into a `StepScores`.

Log-probabilities must be ≤ 0 and not NaN; values below ``LOGPROB_FLOOR`` (−100 nats, p ≈ 4e-44)
are raised to it so that one zero-probability token cannot make a loss infinite.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from .scoring import StepScores

__all__ = [
    "LOGPROB_FLOOR",
    "MAX_EXACT_SHAPLEY",
    "GateFit",
    "MinerState",
    "Router",
    "as_logprobs",
    "em_fit",
    "em_gate",
    "leave_one_out",
    "mixture_loss",
    "responsibilities",
    "shapley_exact",
    "shapley_mc",
]

LOGPROB_FLOOR = -100.0
MAX_EXACT_SHAPLEY = 12
_POSITIVE_SLACK = 1e-4  # float32 log_softmax can round a certain token to a hair above 0


def as_logprobs(logprobs, argument: str = "logprobs") -> np.ndarray:
    """Check and convert miners' target-token log-probs to a float64 (K, N) array.

    Accepts (K, N) or (K, B, T) (flattened to (K, B·T)). Raises `InputError` on NaN, on values
    above 0 (a probability above 1) or on an empty axis; floors values at `LOGPROB_FLOOR`.
    """
    arr = np.asarray(logprobs, dtype=np.float64)
    if arr.ndim < 2:
        raise InputError(argument, f"expected (miners, tokens) log-probs, got shape {arr.shape}")
    arr = arr.reshape(arr.shape[0], -1)
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InputError(argument, f"need at least one miner and one token, got shape {arr.shape}")
    bad = _invalid(arr)
    if bad:
        raise InputError(argument, bad)
    return np.clip(arr, LOGPROB_FLOOR, 0.0)


def _invalid(arr: np.ndarray) -> str | None:
    """Why ``arr`` is not a set of log-probabilities, or None."""
    if np.isnan(arr).any():
        return "contains NaN; send the natural-log probability of each target token"
    if (arr > _POSITIVE_SLACK).any():
        return f"contains values up to {arr.max():.3g} > 0; log-probabilities cannot exceed 0"
    return None


def _weights(weights, k: int) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64).ravel()
    if w.shape != (k,):
        raise InputError("weights", f"expected {k} mixture weights, got shape {np.shape(weights)}")
    if not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise InputError("weights", "mixture weights must be finite, non-negative and not all zero")
    return w / w.sum()


def _lse(a: np.ndarray) -> np.ndarray:
    """logsumexp over axis 0 of (K, N), where rows may be −inf (zero weight) but not all of them."""
    m = a.max(axis=0)
    return m + np.log(np.exp(a - m).sum(axis=0))


def _joint(l: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``log w_k + l[k, n]`` (K, N); −inf rows for zero weights."""
    with np.errstate(divide="ignore"):
        return np.log(w)[:, None] + l


def responsibilities(logprobs, weights) -> np.ndarray:
    """``r[k, n] = softmax_k(log w_k + l[k, n])`` (K, N): the posterior that miner k produced token n."""
    l = as_logprobs(logprobs)
    a = _joint(l, _weights(weights, l.shape[0]))
    return np.exp(a - _lse(a))


def mixture_loss(logprobs, weights) -> float:
    """Loss of the mixture ``Σ_k w_k p_k`` on the batch: ``−mean_n logsumexp_k(log w_k + l[k, n])`` (nats/token)."""
    l = as_logprobs(logprobs)
    return float(-_lse(_joint(l, _weights(weights, l.shape[0]))).mean())


@dataclass(frozen=True)
class GateFit:
    """An EM fit of the static gate.

    Attributes:
        weights: (K,) mixture weights, summing to 1.
        losses: mixture loss (nats/token) at the start and after each EM iteration; never increases.
        iterations: EM iterations run.
        converged: True when the last iteration improved the loss by less than ``tol``.
    """

    weights: np.ndarray
    losses: tuple[float, ...]
    iterations: int
    converged: bool

    @property
    def loss(self) -> float:
        """Mixture loss at ``weights`` (nats/token)."""
        return self.losses[-1]


def em_fit(logprobs, iters: int = 100, tol: float = 1e-9, init=None) -> GateFit:
    """Fit the static mixture's weights by EM; see `GateFit`.

    Args:
        logprobs: (K, N) target-token log-probs (nats), one row per miner.
        iters: most EM iterations (each costs one K×N exp).
        tol: stop when an iteration lowers the loss by less than this (nats/token).
        init: (K,) starting weights (default uniform). A zero weight stays zero.
    """
    l = as_logprobs(logprobs)
    k = l.shape[0]
    w = np.full(k, 1.0 / k) if init is None else _weights(init, k)

    def e_step(w):  # one exp of (K, N) gives both the loss and the responsibilities
        a = _joint(l, w)
        m = a.max(axis=0)
        e = np.exp(a - m)
        total = e.sum(axis=0)
        return float(-(m + np.log(total)).mean()), e / total

    loss, r = e_step(w)
    losses = [loss]
    converged = False
    it = 0
    for it in range(1, int(iters) + 1):
        w = r.mean(axis=1)                      # M-step: mean responsibility
        w /= w.sum()                            # guard against rounding drift
        loss, r = e_step(w)
        losses.append(loss)
        if losses[-2] - losses[-1] < tol:
            converged = True
            break
    return GateFit(weights=w, losses=tuple(losses), iterations=it, converged=converged)


def em_gate(logprobs, iters: int = 100, tol: float = 1e-9, init=None) -> np.ndarray:
    """The (K,) mixture weights EM learns from miners' log-probs (see `em_fit`)."""
    return em_fit(logprobs, iters=iters, tol=tol, init=init).weights


# ---------------------------------------------------------------------- contribution


def leave_one_out(logprobs, iters: int = 100, tol: float = 1e-9, vocab_size: int = 256) -> np.ndarray:
    """Leave-one-out contribution ``Δ_k = L_mix(all \\ k) − L_mix(all)`` (nats/token), EM refit each time.

    ≥ 0 at convergence (up to EM's tolerance). Exact duplicates both get ≈ 0: LOO rewards only what
    no other miner supplies. With one miner, ``Δ = log V − L`` (its gain over a uniform guess).
    """
    l = as_logprobs(logprobs)
    k = l.shape[0]
    full = em_fit(l, iters=iters, tol=tol)
    if k == 1:
        return np.array([math.log(vocab_size) - full.loss])
    out = np.empty(k)
    for j in range(k):
        rest = np.delete(np.arange(k), j)
        init = full.weights[rest] if full.weights[rest].sum() > 0 else None
        out[j] = em_fit(l[rest], iters=iters, tol=tol, init=init).loss - full.loss
    return out


class _Coalitions:
    """``v(S) = log V − L_mix(S)`` for bit masks S, cached; fixed renormalised weights or an EM refit."""

    def __init__(self, l: np.ndarray, weights, refit: bool, vocab_size: int, iters: int, tol: float):
        self.l, self.refit, self.iters, self.tol = l, refit, iters, tol
        self.log_v = math.log(vocab_size)
        self.w = None if refit else (em_gate(l, iters, tol) if weights is None else _weights(weights, l.shape[0]))
        self.cache: dict[int, float] = {0: 0.0}

    def __call__(self, mask: int) -> float:
        if mask not in self.cache:
            rows = [i for i in range(self.l.shape[0]) if mask >> i & 1]
            l = self.l[rows]
            if self.refit:
                loss = em_fit(l, self.iters, self.tol).loss
            else:
                w = self.w[rows]
                w = w / w.sum() if w.sum() > 0 else np.full(len(rows), 1.0 / len(rows))
                loss = float(-_lse(_joint(l, w)).mean())
            self.cache[mask] = self.log_v - loss
        return self.cache[mask]


def shapley_exact(logprobs, weights=None, *, refit: bool = False, vocab_size: int = 256,
                  iters: int = 100, tol: float = 1e-9) -> np.ndarray:
    """Exact Shapley values of ``v(S) = log V − L_mix(S)`` (nats/token) for K ≤ `MAX_EXACT_SHAPLEY` miners.

    They sum to ``v(all)``. By default each coalition mixes with the gate ``weights`` (EM-fitted on
    all miners when None) renormalised over its members, as in the note; ``refit=True`` refits EM
    for each of the 2^K coalitions instead (slower). A miner that only hurts gets a negative value.
    """
    l = as_logprobs(logprobs)
    k = l.shape[0]
    if k > MAX_EXACT_SHAPLEY:
        raise InputError("logprobs", f"exact Shapley over {k} miners needs 2^{k} coalitions; "
                                     f"use shapley_mc for more than {MAX_EXACT_SHAPLEY}")
    value = _Coalitions(l, weights, refit, vocab_size, iters, tol)
    masks = np.arange(1 << k)
    v = np.array([value(int(m)) for m in masks])
    sizes = np.zeros(len(masks), dtype=np.int64)
    for i in range(k):
        sizes += (masks >> i) & 1
    # |S|!(K−|S|−1)!/K!: the chance that exactly S precedes k in a random order
    coef = np.array([math.factorial(s) * math.factorial(k - s - 1) / math.factorial(k) for s in range(k)])
    out = np.empty(k)
    for i in range(k):
        without = masks[((masks >> i) & 1) == 0]
        out[i] = float((coef[sizes[without]] * (v[without | (1 << i)] - v[without])).sum())
    return out


def shapley_mc(logprobs, permutations: int = 20, rng=None, weights=None, *, refit: bool = False,
               vocab_size: int = 256, iters: int = 100, tol: float = 1e-9) -> np.ndarray:
    """Monte-Carlo Shapley values: mean marginal gain of each miner over ``permutations`` random orders.

    Same value function and options as `shapley_exact`; coalition values are cached. Noisy: with 20
    permutations over 16 miners the note saw errors up to ~0.8 nats/token. For teaching.

    Args:
        rng: a ``numpy.random.Generator``, a seed, or None.
    """
    l = as_logprobs(logprobs)
    if permutations < 1:
        raise InputError("permutations", f"need at least one permutation, got {permutations}")
    rng = np.random.default_rng(rng)
    value = _Coalitions(l, weights, refit, vocab_size, iters, tol)
    out = np.zeros(l.shape[0])
    for _ in range(int(permutations)):
        mask, before = 0, 0.0
        for i in rng.permutation(l.shape[0]):
            mask |= 1 << int(i)
            after = value(mask)
            out[i] += after - before
            before = after
    return out / permutations


# ---------------------------------------------------------------------- the router


@dataclass
class MinerState:
    """What the router knows about one miner uid.

    Attributes:
        gate: its weight in the router's global gate (all uids sum to 1).
        queried, responded: how many steps it was routed to, and answered usefully.
        consecutive_failures: failed steps since its last useful answer.
        last_loss: its loss on the last batch it answered (nats/token), NaN before.
    """

    uid: int
    gate: float
    hotkey: str | None = None
    queried: int = 0
    responded: int = 0
    consecutive_failures: int = 0
    last_loss: float = math.nan


@dataclass
class Router:
    """Routes held-out batches to k miners and fits their answers.

    Selection (`select`): each of the k slots is, with probability ``explore``, a uniformly random
    uid not yet chosen; otherwise the uid with the highest priority
    ``gate / max(gate) + ucb · sqrt(ln(1 + steps) / queried)``, which is infinite for a uid never
    queried, so new uids are tried at once.

    Fit (`update`): EM on the answering miners' log-probs gives their shares of this batch; the
    global gate moves ``smoothing`` of the way toward them, keeping the queried uids' total mass
    (a uid that timed out loses its part of it to those that answered). Missing or invalid answers
    are left out of the fit and reported in ``StepScores.failed``.

    Args:
        k: miners queried per step.
        explore: per-slot probability of a uniformly random pick (ε-greedy).
        rng: a ``numpy.random.Generator``, a seed, or None.
        ucb: weight of the exploration bonus.
        smoothing: rate at which the global gate follows each step's EM shares.
        iters, tol: EM settings (see `em_fit`).
        loo: compute leave-one-out contributions each step (k extra EM fits).
        shapley: compute Shapley values each step (exact for ≤ 12 answers), for teaching.
        vocab_size: V of the task, for ``v(S) = log V − L``.
    """

    k: int = 4
    explore: float = 0.1
    rng: np.random.Generator | int | None = None
    ucb: float = 0.5
    smoothing: float = 0.2
    iters: int = 100
    tol: float = 1e-9
    loo: bool = True
    shapley: bool = False
    vocab_size: int = 256
    steps: int = field(default=0, init=False)
    _miners: dict[int, MinerState] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self):
        if int(self.k) != self.k or self.k < 1:
            raise InputError("k", f"expected a positive number of miners per step, got {self.k!r}")
        if not 0 <= self.explore <= 1:
            raise InputError("explore", f"expected a probability in [0, 1], got {self.explore}")
        if not 0 < self.smoothing <= 1:
            raise InputError("smoothing", f"expected a rate in (0, 1], got {self.smoothing}")
        if self.ucb < 0:
            raise InputError("ucb", f"the exploration bonus must be >= 0, got {self.ucb}")
        self.rng = np.random.default_rng(self.rng)

    # ------------------------------------------------------------------ membership

    @property
    def uids(self) -> list[int]:
        """The uids the router routes among, ascending."""
        return sorted(self._miners)

    @property
    def gate(self) -> dict[int, float]:
        """uid → global gate weight (sums to 1)."""
        return {uid: m.gate for uid, m in sorted(self._miners.items())}

    def state(self, uid: int) -> MinerState:
        """What the router knows about ``uid`` (a live object; do not modify)."""
        try:
            return self._miners[int(uid)]
        except KeyError:
            raise InputError("uid", f"uid {uid} is not routed; call sync() with the subnet's miner uids") from None

    def sync(self, uids: Iterable[int], hotkeys: Mapping[int, str] | None = None) -> None:
        """Route among exactly ``uids`` from now on: new uids join, missing ones vanish.

        A uid whose hotkey changed (given ``hotkeys``) starts afresh. New uids join with the mean
        gate weight, so they are neither favoured nor starved once tried.
        """
        keep = {int(u) for u in uids}
        for uid in [u for u in self._miners if u not in keep]:
            del self._miners[uid]
        for uid, hotkey in (hotkeys or {}).items():
            m = self._miners.get(int(uid))
            if m is not None and m.hotkey is not None and m.hotkey != hotkey:
                del self._miners[int(uid)]
        new = [u for u in sorted(keep) if u not in self._miners]
        if new:
            start = float(np.mean([m.gate for m in self._miners.values()])) if self._miners else 1.0
            for uid in new:
                self._miners[uid] = MinerState(uid=uid, gate=start)
        for uid, hotkey in (hotkeys or {}).items():
            if int(uid) in self._miners:
                self._miners[int(uid)].hotkey = hotkey
        self._renormalise()

    def forget(self, uid: int) -> None:
        """Drop ``uid`` (deregistered)."""
        self._miners.pop(int(uid), None)
        self._renormalise()

    def _renormalise(self) -> None:
        total = sum(m.gate for m in self._miners.values())
        for m in self._miners.values():
            m.gate = m.gate / total if total > 0 else 1.0 / len(self._miners)

    # ------------------------------------------------------------------ selection

    def select(self, uids: Iterable[int] | None = None) -> list[int]:
        """The uids to query this step (at most k), best first; ``uids`` given → `sync` to them first."""
        if uids is not None:
            self.sync(uids)
        pool = self.uids
        if len(pool) <= self.k:
            return list(self.rng.permutation(pool).tolist())
        top = max(m.gate for m in self._miners.values()) or 1.0
        log_t = math.log1p(self.steps)
        priority = {}
        for uid in pool:
            m = self._miners[uid]
            bonus = math.inf if m.queried == 0 else self.ucb * math.sqrt(log_t / m.queried)
            priority[uid] = m.gate / top + bonus
        order = [pool[i] for i in self.rng.permutation(len(pool))]   # random tie-break
        order.sort(key=lambda u: -priority[u])
        chosen: list[int] = []
        for _ in range(self.k):
            rest = [u for u in order if u not in chosen]
            if self.rng.random() < self.explore:
                chosen.append(rest[int(self.rng.integers(len(rest)))])
            else:
                chosen.append(rest[0])
        return chosen

    # ------------------------------------------------------------------ fitting one step

    def update(self, responses: Mapping[int, object], rejected: Mapping[int, str] | None = None) -> StepScores:
        """Fit one step's answers: uid → (N,) target-token log-probs, or None for a timeout / error.

        Answers of a different length than most, or with NaN or positive values, count as
        ``"invalid"``; ``rejected`` (uid → reason, e.g. ``"duplicate"``) fails answers the caller
        refused for its own reasons. Uids not routed yet are added. Returns the step's `StepScores`.
        """
        rejected = dict(rejected or {})
        queried = [int(u) for u in responses]
        unknown = [u for u in queried if u not in self._miners]
        if unknown:
            self.sync([*self._miners, *unknown])
        failed: dict[int, str] = {}
        rows: dict[int, np.ndarray] = {}
        for uid, answer in responses.items():
            uid = int(uid)
            if uid in rejected:
                failed[uid] = str(rejected[uid])
                continue
            if answer is None:
                failed[uid] = "timeout"
                continue
            try:
                arr = np.asarray(answer, dtype=np.float64).ravel()
            except (TypeError, ValueError):
                failed[uid] = "invalid"
                continue
            if arr.size == 0 or _invalid(arr):
                failed[uid] = "invalid"
            else:
                rows[uid] = np.clip(arr, LOGPROB_FLOOR, 0.0)
        if rows:
            n = Counter(a.size for a in rows.values()).most_common(1)[0][0]
            for uid in [u for u, a in rows.items() if a.size != n]:
                failed[uid] = "invalid"
                del rows[uid]
        responders = [u for u in queried if u in rows]
        self.steps += 1
        for uid in queried:
            m = self._miners[uid]
            m.queried += 1
            if uid in failed:
                m.consecutive_failures += 1
            else:
                m.responded += 1
                m.consecutive_failures = 0
        if not responders:
            self._move_gate(queried, {})
            return StepScores(uids=tuple(queried), failed=failed)

        l = np.stack([rows[u] for u in responders])
        fit = em_fit(l, iters=self.iters, tol=self.tol)
        loss = {u: float(-l[i].mean()) for i, u in enumerate(responders)}
        share = {u: float(fit.weights[i]) for i, u in enumerate(responders)}
        for u in responders:
            self._miners[u].last_loss = loss[u]
        loo = {}
        if self.loo:
            values = leave_one_out(l, self.iters, self.tol, self.vocab_size)
            loo = {u: float(values[i]) for i, u in enumerate(responders)}
        shapley = {}
        if self.shapley:
            if len(responders) <= MAX_EXACT_SHAPLEY:
                values = shapley_exact(l, fit.weights, vocab_size=self.vocab_size)
            else:
                values = shapley_mc(l, 20, self.rng, fit.weights, vocab_size=self.vocab_size)
            shapley = {u: float(values[i]) for i, u in enumerate(responders)}
        self._move_gate(queried, share)
        return StepScores(uids=tuple(queried), loss=loss, share=share, loo=loo, shapley=shapley,
                          failed=failed, mixture_loss=fit.loss)

    def _move_gate(self, queried: Sequence[int], share: Mapping[int, float]) -> None:
        """Move the queried uids' gate toward this step's shares, keeping their total mass.

        With no answers at all nothing is learned and the gate stays as it was.
        """
        if not share:
            return
        mass = sum(self._miners[u].gate for u in queried)
        for u in queried:
            m = self._miners[u]
            m.gate = (1 - self.smoothing) * m.gate + self.smoothing * mass * share.get(u, 0.0)
        self._renormalise()
