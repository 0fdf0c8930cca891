"""The `Task` interface: what validators ask miners, and how they score the answers.

A task owns its data. It samples batches (``inputs`` to send to miners, ``targets`` kept by the
validator), says which kind of response it expects, and turns responses into a loss per example,
lower is better. Everything here is numpy: a validator can score without importing torch. A task
that miners can also *train* on gives a differentiable ``training_loss`` (torch, imported lazily).

To write your own task, subclass `Task`, set ``name``, ``response`` and ``uniform_loss``, and
implement ``sample`` and ``score`` (see `tao_lab.tasks.digits` for a 70-line example).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ..errors import InputError

__all__ = ["Task", "Batch", "Split", "as_rng", "RESPONSE_KINDS"]

Split = Literal["train", "heldout"]

# The response kinds the kit knows how to carry and score:
#   "logprobs":        log p(target) for each target position, (B, T) float32
#   "class_logprobs":  log p(class) for every class, (B, C) float32
RESPONSE_KINDS = ("logprobs", "class_logprobs")


@dataclass(frozen=True)
class Batch:
    """One batch of a task.

    ``inputs`` is what a miner receives; ``targets`` is what its answer is scored against. For
    next-token prediction the inputs hold the targets too (a miner needs them to report their
    log-probabilities), so ``targets`` is a view of ``inputs``.
    """

    inputs: np.ndarray  # task-specific, e.g. (B, T+1) int64 tokens or (B, F) float32 features
    targets: np.ndarray  # e.g. (B, T) int64 next tokens or (B,) int64 class labels
    split: Split = "heldout"
    index: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # (B,) where each example came from

    def __len__(self) -> int:
        return int(self.inputs.shape[0])


def as_rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    """A numpy Generator from a Generator, a seed, or None (fresh entropy)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    raise InputError("rng", f"expected a numpy Generator, an int seed or None, got {type(rng).__name__}")


class Task(ABC):
    """A task miners answer and validators score.

    Subclasses set the class attributes and implement `sample` and `score`.
    """

    name: str = "task"
    response: str = "logprobs"  # one of RESPONSE_KINDS
    uniform_loss: float = float("nan")  # the loss of a uniform guess (nats per target), the "knows nothing" line
    logprob_floor: float = -30.0  # log-probs are clipped to [floor, 0]: NaN, -inf or a claim of p > 1 cannot win

    @abstractmethod
    def sample(self, batch_size: int, split: Split = "heldout", rng: np.random.Generator | int | None = None) -> Batch:
        """Draw ``batch_size`` examples from ``split`` ("train" or "heldout") with ``rng``."""

    @abstractmethod
    def score(self, predictions: Any, batch: Batch) -> np.ndarray:
        """Loss per example, (B,) float64, in nats: lower is better. Raises `InputError` on a malformed answer."""

    def training_loss(self, model: Any, batch: Batch) -> Any:
        """A differentiable scalar loss of ``model`` on ``batch`` (a torch tensor), for miners that train."""
        raise NotImplementedError(f"task {self.name!r} defines no training_loss; miners cannot train on it")

    def evaluate(self, predict: Callable[[np.ndarray], Any], batches: int = 4, batch_size: int = 16,
                 seed: int = 1234) -> float:
        """Mean held-out loss (nats per target) of ``predict(inputs) -> predictions`` on fixed batches.

        The same ``seed`` gives the same batches, so two predictors evaluated with it are compared on
        the same examples.
        """
        rng = np.random.default_rng(seed)
        losses = [self.score(predict(b.inputs), b) for b in (self.sample(batch_size, "heldout", rng)
                                                              for _ in range(batches))]
        return float(np.mean(np.concatenate(losses)))

    # -- helpers for subclasses -------------------------------------------------------------------

    def _check_logprobs(self, predictions: Any, shape: tuple[int, ...]) -> np.ndarray:
        """``predictions`` as float64 of ``shape``, clipped to [logprob_floor, 0]; NaN counts as the floor."""
        lp = np.asarray(predictions, dtype=np.float64)
        if lp.shape != shape:
            raise InputError("predictions", f"{self.name}: expected {self.response} of shape {shape}, got {lp.shape}")
        lp = np.nan_to_num(lp, nan=self.logprob_floor, neginf=self.logprob_floor, posinf=0.0)
        return np.clip(lp, self.logprob_floor, 0.0)

    @staticmethod
    def _check_split(split: str) -> None:
        if split not in ("train", "heldout"):
            raise InputError("split", f"expected 'train' or 'heldout', got {split!r}")

    @staticmethod
    def _check_batch_size(batch_size: int) -> None:
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise InputError("batch_size", f"expected a positive int, got {batch_size!r}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, response={self.response!r})"


def logits_of(output: Any) -> Any:
    """The logits tensor of a model's output: a transformers output's ``.logits``, or the tensor itself."""
    logits = getattr(output, "logits", output)
    if isinstance(logits, (tuple, list)):  # modules that return (logits, ...) like nanoGPT's
        logits = logits[0]
    return logits
