"""Validators that cheat or shirk: what Yuma consensus does to each is the lesson.

- `WeightCopier`: queries no miner; it copies weights from the chain: the consensus vector ``C``
  or another validator's row of ``W``. Under commit-reveal it can only copy what was revealed,
  an epoch or more old.
- `Colluder`: does its work, then puts ``share`` of its weight on ``friends`` (hotkeys or uids),
  whatever they earn: a colluding group weighting one of its own.
- `LazyValidator`: sets weights once and never updates them.
- `RandomValidator`: scores nothing; random weights every time it sets them.

All of them are `tao_lab.neurons.validator.Validator`\\s that override `choose_weights` (and, for the
weight copier, `step`), so they set weights through the same chain calls, rate limits and
commit-reveal as an honest validator.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..neurons.validator import Validator

__all__ = ["Colluder", "LazyValidator", "RandomValidator", "WeightCopier"]


def _uid_of(mg, who) -> int | None:
    if isinstance(who, (int, np.integer)) and not isinstance(who, bool):
        return int(who) if 0 <= int(who) < mg.n else None
    return mg.hotkeys.index(who) if who in mg.hotkeys else None


def _chain_only_step(validator: Validator) -> dict:
    """A step that queries no miner: read the chain, set weights when allowed."""
    mg = validator.metagraph.sync(validator.subtensor)
    hotkey = validator.wallet.hotkey_ss58
    validator.uid = mg.hotkeys.index(hotkey) if hotkey in mg.hotkeys else None
    action = validator._maybe_set_weights(mg)
    validator.steps += 1
    return {"block": mg.block, "queried": [], "failed": {}, "action": action, "mixture_loss": float("nan")}


class WeightCopier(Validator):
    """Copies weights from the chain instead of scoring miners.

    ``source``: ``"consensus"`` (the subnet's consensus ``C`` of the last epoch) or a validator's
    hotkey or uid (that validator's current row of ``W``, as the chain shows it).
    """

    def __init__(self, wallet, subtensor, netuid: int, source="consensus", **kwargs):
        if not (source == "consensus" or isinstance(source, (int, str))) or isinstance(source, bool):
            raise InputError("source", f"expected 'consensus' or a validator's hotkey or uid, got {source!r}")
        super().__init__(wallet, subtensor, netuid, **kwargs)
        self.source = source

    def step(self) -> dict:
        """No queries: read the chain, set the copied weights when allowed."""
        return _chain_only_step(self)

    def choose_weights(self, mg) -> np.ndarray:
        if self.source == "consensus":
            weights = np.asarray(mg.C, dtype=np.float64).copy()
        else:
            uid = _uid_of(mg, self.source)
            weights = np.asarray(mg.W[uid], dtype=np.float64).copy() if uid is not None else np.zeros(mg.n)
        if self.uid is not None and self.uid < len(weights):
            weights[self.uid] = 0.0  # never weight itself
        return weights


class Colluder(Validator):
    """An honest scorer that gives ``share`` (0..1) of its weight to ``friends`` (hotkeys or uids)."""

    def __init__(self, wallet, subtensor, netuid: int, friends=(), share: float = 1.0, **kwargs):
        if isinstance(friends, (str, int)):
            friends = [friends]
        if not (isinstance(share, (int, float)) and 0.0 <= share <= 1.0):
            raise InputError("share", f"expected the share of weight given to friends, 0 to 1, got {share!r}")
        super().__init__(wallet, subtensor, netuid, **kwargs)
        self.friends, self.share = list(friends), float(share)

    def choose_weights(self, mg) -> np.ndarray:
        honest = np.asarray(super().choose_weights(mg), dtype=np.float64)
        friends = [u for u in (_uid_of(mg, f) for f in self.friends) if u is not None]
        if not friends:
            return honest
        honest = honest / honest.sum() if honest.sum() > 0 else honest
        boost = np.zeros(mg.n)
        boost[friends] = 1.0 / len(friends)
        return (1.0 - self.share) * honest + self.share * boost


class LazyValidator(Validator):
    """Sets weights once (from its first scores) and never again."""

    def _maybe_set_weights(self, mg) -> str:
        if self.weights_set:  # under commit-reveal, counted once its commit is revealed
            return "lazy"
        return super()._maybe_set_weights(mg)


class RandomValidator(Validator):
    """Queries nothing and sets random weights over the subnet's other uids each time it may."""

    def __init__(self, wallet, subtensor, netuid: int, **kwargs):
        super().__init__(wallet, subtensor, netuid, **kwargs)
        self._weights_rng = np.random.default_rng(int(self.rng.integers(1 << 31)))

    def step(self) -> dict:
        return _chain_only_step(self)

    def choose_weights(self, mg) -> np.ndarray:
        weights = self._weights_rng.random(mg.n)
        if self.uid is not None and self.uid < mg.n:
            weights[self.uid] = 0.0
        return weights
