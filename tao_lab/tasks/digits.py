"""Classification of handwritten digits: a second task, to show the kit is not tied to language.

scikit-learn ships the UCI digits set (1797 images of 8x8 pixels, values 0..16, ten classes) inside
its wheel, so it loads offline in well under a second. Inputs are the 64 pixels scaled to [0, 1];
a miner answers with the log-probabilities of the ten classes, (B, 10) float32, and its loss is the
negative log-probability of the true class (uniform guessing: log 10 = 2.30 nats).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError
from .base import Batch, Split, Task, as_rng, logits_of

__all__ = ["DigitsTask"]


class DigitsTask(Task):
    """Classify scikit-learn's bundled 8x8 digits into 10 classes.

    The examples are shuffled once with ``seed`` and the first ``split`` fraction is for training;
    the rest is held out. Needs scikit-learn (``pip install scikit-learn``).
    """

    name = "digits"
    response = "class_logprobs"
    num_classes = 10
    uniform_loss = float(np.log(10))

    def __init__(self, split: float = 0.8, seed: int = 0):
        try:
            from sklearn.datasets import load_digits
        except ImportError as e:
            raise ImportError("DigitsTask needs scikit-learn: pip install scikit-learn") from e
        if not 0.0 < split < 1.0:
            raise InputError("split", f"expected a fraction strictly between 0 and 1, got {split!r}")
        digits = load_digits()
        order = np.random.default_rng(seed).permutation(len(digits.target))
        self.x = (digits.data[order] / 16.0).astype(np.float32)  # (N, 64) pixels in [0, 1]
        self.y = digits.target[order].astype(np.int64)  # (N,) labels 0..9
        self.boundary = int(len(self.y) * split)

    def part(self, split: Split) -> tuple[np.ndarray, np.ndarray]:
        """Features (N_split, 64) and labels (N_split,) of one split."""
        self._check_split(split)
        s = slice(0, self.boundary) if split == "train" else slice(self.boundary, None)
        return self.x[s], self.y[s]

    def sample(self, batch_size: int, split: Split = "heldout", rng: np.random.Generator | int | None = None) -> Batch:
        """B examples drawn with replacement from ``split``."""
        self._check_batch_size(batch_size)
        x, y = self.part(split)
        i = as_rng(rng).integers(0, len(y), size=batch_size)  # (B,)
        offset = 0 if split == "train" else self.boundary
        return Batch(inputs=x[i], targets=y[i], split=split, index=i + offset)

    def score(self, predictions: Any, batch: Batch) -> np.ndarray:
        """Negative log-prob of the true class per example, (B,) nats; log-probs clipped to [floor, 0]."""
        lp = self._check_logprobs(predictions, (len(batch), self.num_classes))  # (B, C)
        return -lp[np.arange(len(batch)), batch.targets]

    def training_loss(self, model: Any, batch: Batch) -> Any:
        """Cross-entropy of ``model(x (B, 64)) -> logits (B, 10)``."""
        import torch
        import torch.nn.functional as F

        device = next(model.parameters()).device
        x = torch.as_tensor(batch.inputs, device=device)  # (B, 64)
        y = torch.as_tensor(batch.targets, device=device)  # (B,)
        return F.cross_entropy(logits_of(model(x)).float(), y)

    def __repr__(self) -> str:
        return f"DigitsTask(train={self.boundary}, heldout={len(self.y) - self.boundary})"
