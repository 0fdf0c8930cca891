"""Many epochs in a row, offline: bonds and permits carried forward, a tidy time series out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from .yuma import EpochContext, EpochParams, EpochResult, epoch

__all__ = ["Simulation", "simulate", "SERIES_COLUMNS"]

#: Columns of `Simulation.series`, one row per (epoch, uid).
SERIES_COLUMNS = (
    "epoch", "uid", "stake", "stake_weight", "active_stake", "validator_permit", "consensus", "validator_trust",
    "incentive", "dividends", "server_emission", "validator_emission", "emission",
)


@dataclass
class Simulation:
    """The outcome of `simulate`: every epoch's result and a tidy table of them."""

    results: list[EpochResult] = field(default_factory=list)

    @property
    def series(self) -> dict[str, np.ndarray]:
        """Columns of equal length, one row per epoch and uid (see `SERIES_COLUMNS`)."""
        cols: dict[str, list] = {c: [] for c in SERIES_COLUMNS}
        for e, r in enumerate(self.results):
            cols["epoch"].append(np.full(r.n, e))
            cols["uid"].append(np.arange(r.n))
            cols["validator_permit"].append(r.new_validator_permits)
            for c in SERIES_COLUMNS[2:]:
                if c != "validator_permit":
                    cols[c].append(getattr(r, c))
        return {c: np.concatenate(v) if v else np.array([]) for c, v in cols.items()}

    def to_pandas(self):
        """The series as a pandas DataFrame (needs pandas installed)."""
        import pandas as pd

        return pd.DataFrame(self.series)

    def rows(self) -> list[dict]:
        """The series as a list of dicts, one per epoch and uid."""
        s = self.series
        return [{c: s[c][k].item() for c in SERIES_COLUMNS} for k in range(len(s["epoch"]))]


MatrixSource = object  # a matrix as `epoch` takes it, or a callable (epoch_index, last_result) -> matrix


def simulate(
    stake,
    weights: MatrixSource,
    epochs: int = 10,
    *,
    params: EpochParams | None = None,
    bonds=None,
    permits=None,
    context: EpochContext | Callable[[int], EpochContext | None] | None = None,
    rao_emission: int = 1_000_000_000,
    variant: str = "sparse",
    exact: bool = True,
    on_epoch: Callable[[int, EpochResult], None] | None = None,
) -> Simulation:
    """Run ``epochs`` epochs, carrying ``Bonds`` and ``ValidatorPermit`` from each to the next.

    Args:
        stake: (n,) rao, or a callable ``(e, last_result) -> stake`` for stake that changes.
        weights: stored u16 weights (see `epoch`), or a callable ``(e, last_result) -> weights``
            (``last_result`` is None before the first epoch) for validators that react.
        epochs: how many epochs to run.
        params: hyperparameters, fixed for the run.
        bonds: initial bonds (default none).
        permits: initial permits. ``None`` gives the permits the chain would hold after one
            epoch of this stake (top-k by stake), so the first simulated epoch already has
            validators; pass an all-False vector to reproduce a brand-new subnet.
        context: an `EpochContext` for every epoch, or a callable ``e -> EpochContext``.
        on_epoch: called as ``on_epoch(e, result)`` after each epoch (progress bars, live plots).

    Returns:
        A `Simulation`; ``.series`` is the tidy table, ``.results`` the full results.
    """
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 0:
        raise InputError("epochs", f"expected a non-negative integer, got {epochs!r}")
    params = EpochParams() if params is None else params
    sim = Simulation()
    last: EpochResult | None = None
    for e in range(epochs):
        s = stake(e, last) if callable(stake) else stake
        w = weights(e, last) if callable(weights) else weights
        ctx = context(e) if callable(context) else context
        if e == 0 and permits is None:  # the permits one earlier epoch of this stake would store
            n = len(s)
            permits = epoch(s, [[]] * n, None, [False] * n, params=params, variant=variant).new_validator_permits
        last = epoch(s, w, bonds, permits, params=params, context=ctx, rao_emission=rao_emission, variant=variant, exact=exact)
        bonds, permits = last.new_bonds_rows, last.new_validator_permits
        sim.results.append(last)
        if on_epoch is not None:
            on_epoch(e, last)
    return sim
