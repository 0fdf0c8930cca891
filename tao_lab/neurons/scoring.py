"""Validator scores: per-step components → moving averages per uid → weights for ``set_weights``.

One validator step queries a few miners on a held-out batch and yields a `StepScores` (the `Router`
builds one; any task can build its own). A `ScoreBook` keeps an exponential moving average of each
component per uid and combines them into one score:

- ``loss``: ``softmax(−L_k / τ)`` over the miners of the step (``L_k`` in nats/token). Rewards being
  good, but pays a copy of a good miner as much as the original.
- ``share``: the miner's weight in the mixture EM learned on the step (its mean responsibility).
  Duplicates split one share, so copying earns nothing extra.
- ``loo``: leave-one-out contribution, clipped at 0. Rewards only what no other miner supplies.
- ``shapley``: Shapley value, clipped at 0 (teaching; costly).

Each component is normalised to sum to 1 over the miners of its step. The default combination is
``share`` alone, as ``notes/ml-offline.md`` §6 recommends: it follows quality, pays specialists for
their part of the mixture, and stops copy-paste miners. A miner that timed out or sent invalid data
is scored as the worst: 0 in every component of that step.

The chain side is a few pure decisions (`weights_allowed`, `reveal_status`, `next_weights_action`)
that take the numbers a validator reads from the chain and say what to do this block.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ..errors import InputError

__all__ = [
    "COMPONENTS",
    "DEFAULT_MIX",
    "ScoreBook",
    "StepScores",
    "blocks_until_weights_allowed",
    "next_weights_action",
    "reveal_status",
    "weights_allowed",
]

COMPONENTS = ("loss", "share", "loo", "shapley")
DEFAULT_MIX: Mapping[str, float] = {"share": 1.0}


@dataclass(frozen=True)
class StepScores:
    """What one validator step measured, per miner uid.

    Attributes:
        uids: the uids queried this step, in routing order.
        loss: uid → mean negative log-likelihood of the batch's target tokens (nats/token), responders only.
        share: uid → weight in the step's EM mixture (sums to 1 over responders).
        loo: uid → leave-one-out contribution (nats/token).
        shapley: uid → Shapley value (nats/token); empty unless asked for.
        failed: uid → why no usable answer came back (``"timeout"``, ``"invalid"``, ...).
        mixture_loss: loss of the step's EM mixture (nats/token); NaN when nobody answered.
    """

    uids: tuple[int, ...]
    loss: Mapping[int, float] = field(default_factory=dict)
    share: Mapping[int, float] = field(default_factory=dict)
    loo: Mapping[int, float] = field(default_factory=dict)
    shapley: Mapping[int, float] = field(default_factory=dict)
    failed: Mapping[int, str] = field(default_factory=dict)
    mixture_loss: float = math.nan

    @property
    def responded(self) -> tuple[int, ...]:
        """The queried uids that answered usefully, in routing order."""
        return tuple(u for u in self.uids if u not in self.failed)


def _normalised(values: Mapping[int, float], uids: Iterable[int]) -> dict[int, float]:
    """Clip at 0 and scale to sum 1 over ``uids`` (missing uids count as 0); all zeros when nothing is positive."""
    raw = {u: max(float(values.get(u, 0.0)), 0.0) for u in uids}
    raw = {u: (v if math.isfinite(v) else 0.0) for u, v in raw.items()}
    total = sum(raw.values())
    return {u: (v / total if total > 0 else 0.0) for u, v in raw.items()}


class ScoreBook:
    """Moving-average scores per miner uid, and the float weights a validator sets from them.

    Args:
        n: number of uids on the subnet (scores for uids ``>= n`` are refused), or None to grow as uids appear.
        alpha: moving-average rate; each step a queried uid's component moves ``alpha`` of the way to
            its new value (``e ← (1 − alpha)·e + alpha·x``). Uids start at 0 and earn trust gradually.
        tau: temperature of the ``loss`` component (nats/token): a miner ``tau`` nats worse gets ``1/e`` as much.
        mix: component → coefficient of the combined score (default `DEFAULT_MIX`, share only).
        floor: in `weights`, uids whose score is below ``floor`` × the best score get weight 0.
    """

    def __init__(self, n: int | None = None, alpha: float = 0.1, *, tau: float = 0.25,
                 mix: Mapping[str, float] | None = None, floor: float = 0.01):
        if n is not None and (int(n) != n or n < 0):
            raise InputError("n", f"expected a non-negative uid count or None, got {n!r}")
        if not 0 < alpha <= 1:
            raise InputError("alpha", f"the moving-average rate must lie in (0, 1], got {alpha}")
        if not tau > 0:
            raise InputError("tau", f"the loss temperature must be positive (nats/token), got {tau}")
        if not 0 <= floor < 1:
            raise InputError("floor", f"expected a fraction of the best score in [0, 1), got {floor}")
        self.n = None if n is None else int(n)
        self.alpha = float(alpha)
        self.tau = float(tau)
        self.floor = float(floor)
        self.mix = self._check_mix(DEFAULT_MIX if mix is None else mix)
        self._ema: dict[int, dict[str, float]] = {}
        self._steps: dict[int, int] = {}      # times queried
        self._failures: dict[int, int] = {}   # times failed
        self._hotkeys: dict[int, str] = {}

    @staticmethod
    def _check_mix(mix: Mapping[str, float]) -> dict[str, float]:
        unknown = set(mix) - set(COMPONENTS)
        if unknown:
            raise InputError("mix", f"unknown components {sorted(unknown)}; choose from {COMPONENTS}")
        mix = {c: float(mix.get(c, 0.0)) for c in COMPONENTS}
        if any(not math.isfinite(v) or v < 0 for v in mix.values()) or sum(mix.values()) <= 0:
            raise InputError("mix", "coefficients must be finite, non-negative and not all zero")
        return mix

    # ------------------------------------------------------------------ membership

    def sync(self, uids: Iterable[int], hotkeys: Mapping[int, str] | None = None) -> None:
        """Forget uids no longer registered, and uids whose hotkey changed (a new miner took the uid)."""
        keep = {int(u) for u in uids}
        for uid in list(self._ema):
            if uid not in keep:
                self.forget(uid)
        for uid, hotkey in (hotkeys or {}).items():
            uid = int(uid)
            if self._hotkeys.get(uid, hotkey) != hotkey:
                self.forget(uid)
            self._hotkeys[uid] = hotkey

    def forget(self, uid: int) -> None:
        """Drop everything known about ``uid`` (it was deregistered or replaced)."""
        for table in (self._ema, self._steps, self._failures, self._hotkeys):
            table.pop(int(uid), None)

    # ------------------------------------------------------------------ updates

    def step_values(self, step: StepScores) -> dict[str, dict[int, float]]:
        """The step's normalised components: component → uid → value in [0, 1] (failed uids get 0).

        A component the step did not measure (empty mapping while someone responded) is left out.
        """
        queried = [int(u) for u in step.uids]
        responders = [u for u in queried if u not in step.failed]
        out: dict[str, dict[int, float]] = {}
        if step.loss or not responders:
            losses = {u: float(step.loss.get(u, math.inf)) for u in responders}
            finite = [v for v in losses.values() if math.isfinite(v)]
            best = min(finite) if finite else 0.0
            # softmax(−L/τ), shifted by the best loss for stability; non-finite losses weigh 0
            out["loss"] = _normalised({u: math.exp(-(v - best) / self.tau) if math.isfinite(v) else 0.0
                                       for u, v in losses.items()}, queried)
        for name in ("share", "loo", "shapley"):
            values = getattr(step, name)
            if values or not responders:
                out[name] = _normalised({u: values.get(u, 0.0) for u in responders}, queried)
        return out

    def update(self, step: StepScores) -> dict[int, float]:
        """Fold one step into the moving averages; returns this step's combined value per queried uid."""
        for uid in step.uids:
            if uid < 0 or (self.n is not None and uid >= self.n):
                raise InputError("step.uids", f"uid {uid} is outside [0, {self.n}) for this ScoreBook")
        values = self.step_values(step)
        a = self.alpha
        for uid in (int(u) for u in step.uids):
            ema = self._ema.setdefault(uid, {c: 0.0 for c in COMPONENTS})
            for name, per_uid in values.items():
                ema[name] = (1 - a) * ema[name] + a * per_uid[uid]
            self._steps[uid] = self._steps.get(uid, 0) + 1
            if uid in step.failed:
                self._failures[uid] = self._failures.get(uid, 0) + 1
        return {int(u): sum(self.mix[c] * values[c][int(u)] for c in values) for u in step.uids}

    # ------------------------------------------------------------------ reading

    @property
    def scores(self) -> dict[int, float]:
        """uid → combined moving-average score (``Σ_c mix[c] · ema[c]``), for every uid seen."""
        return {uid: sum(self.mix[c] * ema[c] for c in COMPONENTS) for uid, ema in sorted(self._ema.items())}

    def component(self, name: str) -> dict[int, float]:
        """uid → moving average of one component (``"loss"``, ``"share"``, ``"loo"`` or ``"shapley"``)."""
        if name not in COMPONENTS:
            raise InputError("name", f"unknown component {name!r}; choose from {COMPONENTS}")
        return {uid: ema[name] for uid, ema in sorted(self._ema.items())}

    def weights(self, n: int | None = None) -> np.ndarray:
        """Float weights indexed by uid, summing to 1, ready for ``Subtensor.set_weights``.

        Uids never seen, and uids scoring below ``floor`` × the best, get 0. All zeros when no uid
        has a positive score yet (setting them would be refused by the chain: wait a few steps).

        Args:
            n: length of the vector (default: the book's ``n``, else the largest uid seen + 1).
        """
        if n is None:
            n = self.n if self.n is not None else (max(self._ema) + 1 if self._ema else 0)
        out = np.zeros(int(n), dtype=np.float64)
        for uid, s in self.scores.items():
            if uid < n:
                out[uid] = s
        top = out.max() if out.size else 0.0
        if top <= 0:
            return np.zeros_like(out)
        out[out < self.floor * top] = 0.0
        return out / out.sum()

    def table(self):
        """A pandas DataFrame, one row per uid: score, each component's moving average, steps, failures, weight."""
        import pandas as pd

        weights = self.weights()
        rows = [{"uid": uid, "score": self.scores[uid], **ema, "steps": self._steps.get(uid, 0),
                 "failures": self._failures.get(uid, 0), "weight": float(weights[uid]) if uid < len(weights) else 0.0}
                for uid, ema in sorted(self._ema.items())]
        return pd.DataFrame(rows, columns=["uid", "score", *COMPONENTS, "steps", "failures", "weight"])


# ---------------------------------------------------------------------- when to write weights on chain


def blocks_until_weights_allowed(block: int, last_update: int, rate_limit: int) -> int:
    """Blocks to wait before the chain accepts this validator's weights (0: now).

    Mirrors subtensor's ``check_rate_limit``: allowed when ``last_update == 0`` (never set) or
    ``block − last_update >= rate_limit``.

    Args:
        block: the current block number.
        last_update: the validator's ``LastUpdate`` entry (block of its last weights or commit).
        rate_limit: the subnet's ``WeightsSetRateLimit`` (blocks).
    """
    if min(block, last_update, rate_limit) < 0:
        raise InputError("block", "block, last_update and rate_limit are block counts and must be >= 0")
    if last_update == 0:
        return 0
    return max(0, int(last_update) + int(rate_limit) - int(block))


def weights_allowed(block: int, last_update: int, rate_limit: int) -> bool:
    """True when the chain's weights rate limit lets this validator set (or commit) weights at ``block``."""
    return blocks_until_weights_allowed(block, last_update, rate_limit) == 0


def reveal_status(commit_epoch: int, current_epoch: int, reveal_period: int) -> Literal["early", "due", "expired"]:
    """Where a commit stands under commit-reveal v2.

    A commit made in epoch ``e`` must be revealed in epoch ``e + reveal_period`` exactly
    (``RevealPeriodEpochs``); before that a reveal fails with ``RevealTooEarly``, after it the commit
    has expired. ``current_epoch`` is the subnet's epoch index at the block the reveal would land in
    (on the devnet ``SubnetEpochIndex``, plus one if the epoch runs in that block).
    """
    target = int(commit_epoch) + int(reveal_period)
    if current_epoch < target:
        return "early"
    return "due" if current_epoch == target else "expired"


def next_weights_action(block: int, last_update: int, rate_limit: int, *, commit_reveal: bool = False,
                        interval: int = 0, commit_epoch: int | None = None, current_epoch: int | None = None,
                        reveal_period: int = 1) -> Literal["wait", "set", "commit", "reveal"]:
    """What a validator should do about weights at ``block``.

    - ``"reveal"``: a pending commit (made in ``commit_epoch``) is due now; reveal it first.
    - ``"set"`` / ``"commit"``: the rate limit (and the validator's own ``interval``, e.g. a tempo, in
      blocks) has passed; set weights, or commit them when the subnet has commit-reveal enabled.
    - ``"wait"``: nothing to do this block.

    Args:
        block, last_update, rate_limit: as in `blocks_until_weights_allowed`.
        commit_reveal: the subnet's ``CommitRevealWeightsEnabled``.
        interval: the validator's own minimum number of blocks between updates.
        commit_epoch: epoch of the oldest unrevealed commit, or None.
        current_epoch, reveal_period: as in `reveal_status` (needed when ``commit_epoch`` is given).
    """
    if commit_reveal and commit_epoch is not None:
        if current_epoch is None:
            raise InputError("current_epoch", "needed to decide whether a pending commit is due")
        if reveal_status(commit_epoch, current_epoch, reveal_period) == "due":
            return "reveal"
    if not weights_allowed(block, last_update, max(int(rate_limit), int(interval))):
        return "wait"
    return "commit" if commit_reveal else "set"
