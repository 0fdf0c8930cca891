"""Next-token prediction on text: the default task of a tao_lab subnet.

The corpus is a byte string tokenized once. It is split by position: the first ``split`` fraction
is for training, the rest is held out for validators. A batch is B windows of T+1 tokens taken at
random offsets inside one split; a miner answers with log p(x[t+1] | x[..t]) for t = 0..T-1, a
(B, T) float32 array, and its loss is the mean negative log-probability (nats per token; with the
byte tokenizer, nats per byte). Sending only the target log-probs keeps answers small (16x128
float32 = 8 KB) and is all a validator needs to score miners and fit a mixture of them.

Note for validators: target-only answers can be inflated (a miner may claim p = 1). Clipping to
[floor, 0] bounds the damage but does not detect it; spot-check with full distributions.

The default corpus is `pydoc_data.topics`, the ~466 KB of English reference prose that ships with
every CPython (its exact text, and so the split, depends on the Python version). `domains` builds
named sub-corpora from groups of topics, and `stdlib_source` gives Python code, for experiments with
specialist miners.
"""

from __future__ import annotations

import fnmatch
import importlib.util
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..errors import InputError
from .base import Batch, Split, Task, as_rng, logits_of

__all__ = ["NextTokenTask", "pydoc_topics", "pydoc_text", "domains", "stdlib_source", "DEFAULT_DOMAINS"]


class Tokenizer(Protocol):
    vocab_size: int

    def encode(self, text: str | bytes) -> Any: ...


def pydoc_topics() -> dict[str, str]:
    """The topics of Python's built-in help (`pydoc_data.topics`): topic name -> English text."""
    from pydoc_data.topics import topics

    return dict(topics)


def pydoc_text(topics: Iterable[str] | None = None) -> str:
    """The text of the given pydoc topics (all of them by default), in sorted order, joined by blank lines."""
    all_topics = pydoc_topics()
    names = sorted(all_topics) if topics is None else list(topics)
    missing = [n for n in names if n not in all_topics]
    if missing:
        raise InputError("topics", f"unknown pydoc topics {missing}; see sorted(pydoc_topics())")
    return "\n\n".join(all_topics[n] for n in names)


# Two groups of pydoc topics with different vocabularies: statements and control flow vs the data
# model and built-in types. Glob patterns are matched against topic names.
DEFAULT_DOMAINS: dict[str, tuple[str, ...]] = {
    "statements": ("assert", "assignment", "augassign", "break", "class", "compound", "continue", "del",
                   "for", "function", "global", "if", "import", "nonlocal", "pass", "raise", "return",
                   "try", "while", "with", "yield", "exceptions", "execmodel", "naming"),
    "types": ("types*", "string-methods", "specialattrs", "specialnames", "customization", "numeric-types",
              "sequence-types", "callable-types", "bltin-*", "dict", "lists", "truth", "formatstrings"),
}


def domains(groups: Mapping[str, Iterable[str]] | None = None) -> dict[str, str]:
    """Build named text domains from groups of pydoc topics (names or glob patterns like ``"types*"``).

    >>> d = domains()                           # DEFAULT_DOMAINS: "statements" and "types"
    >>> d = domains({"loops": ["for", "while", "break", "continue"], "numbers": ["integers", "floating"]})

    Each topic goes to the first group that names it, so domains never share text.
    """
    all_names = sorted(pydoc_topics())
    taken: set[str] = set()
    out: dict[str, str] = {}
    for domain, patterns in (DEFAULT_DOMAINS if groups is None else groups).items():
        names: list[str] = []
        for pattern in ([patterns] if isinstance(patterns, str) else patterns):
            hits = [n for n in all_names if fnmatch.fnmatchcase(n, pattern)]
            if not hits:
                raise InputError("groups", f"domain {domain!r}: pattern {pattern!r} matches no pydoc topic")
            names += [n for n in hits if n not in taken and n not in names]
        if not names:
            raise InputError("groups", f"domain {domain!r} has no topics left (earlier domains took them)")
        taken.update(names)
        out[domain] = pydoc_text(names)
    return out


def stdlib_source(modules: Iterable[str] = ("textwrap", "string", "shlex", "difflib", "heapq", "bisect",
                                            "fractions", "statistics", "calendar", "argparse")) -> str:
    """Python source code of standard-library modules: a "code" domain to set against pydoc's prose."""
    parts = []
    for name in modules:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            raise InputError("modules", f"{name!r} has no Python source file in this installation")
        parts.append(Path(spec.origin).read_text(encoding="utf-8"))
    return "\n\n".join(parts)


class NextTokenTask(Task):
    """Next-token prediction on ``text`` (default: all pydoc topics).

    Args:
        text: the corpus, str or bytes; None for `pydoc_text()`.
        context: T, the number of predicted positions per window; a window holds T+1 tokens.
        split: the fraction of the corpus (by position, from the start) used for training; the
            rest is held out. Windows never cross the boundary.
        tokenizer: anything with ``encode(text)`` and ``vocab_size``; default the byte tokenizer
            (token id == byte value, vocab 256), which needs no torch.
    """

    name = "next_token"
    response = "logprobs"

    def __init__(self, text: str | bytes | None = None, context: int = 128, split: float = 0.9,
                 tokenizer: Tokenizer | None = None):
        if tokenizer is None:
            from ..models.tokenizer import ByteTokenizer

            tokenizer = ByteTokenizer()
        if not (isinstance(context, (int, np.integer)) and context >= 1):
            raise InputError("context", f"expected a positive int, got {context!r}")
        if not 0.0 < split < 1.0:
            raise InputError("split", f"expected a fraction strictly between 0 and 1, got {split!r}")
        self.tokenizer = tokenizer
        self.context = int(context)
        self.split = float(split)
        self.vocab_size = int(tokenizer.vocab_size)
        self.uniform_loss = float(np.log(self.vocab_size))
        self.tokens = np.asarray(tokenizer.encode(pydoc_text() if text is None else text), dtype=np.int64)  # (N,)
        self.boundary = int(len(self.tokens) * self.split)  # tokens[:boundary] train, tokens[boundary:] held out
        for part, n in (("train", self.boundary), ("heldout", len(self.tokens) - self.boundary)):
            if n < self.context + 1:
                raise InputError("text", f"the {part} part has {n} tokens, fewer than context+1 = {self.context + 1}; "
                                         "pass more text, a smaller context or another split")

    def part(self, split: Split) -> np.ndarray:
        """The tokens of one split, (N_split,) int64."""
        self._check_split(split)
        return self.tokens[: self.boundary] if split == "train" else self.tokens[self.boundary:]

    def sample(self, batch_size: int, split: Split = "heldout", rng: np.random.Generator | int | None = None) -> Batch:
        """B windows of T+1 tokens at uniform random offsets in ``split``; ``index`` holds their corpus offsets."""
        self._check_batch_size(batch_size)
        tokens = self.part(split)
        starts = as_rng(rng).integers(0, len(tokens) - self.context, size=batch_size)  # (B,)
        windows = tokens[starts[:, None] + np.arange(self.context + 1)]  # (B, T+1)
        offset = 0 if split == "train" else self.boundary
        return Batch(inputs=windows, targets=windows[:, 1:], split=split, index=starts + offset)

    def windows(self, split: Split = "heldout", batch_size: int = 16):
        """Every non-overlapping window of ``split`` in order, as batches: a deterministic full evaluation."""
        tokens = self.part(split)
        n = (len(tokens) - 1) // self.context
        starts = np.arange(n) * self.context
        offset = 0 if split == "train" else self.boundary
        for i in range(0, n, batch_size):
            s = starts[i: i + batch_size]
            w = tokens[s[:, None] + np.arange(self.context + 1)]
            yield Batch(inputs=w, targets=w[:, 1:], split=split, index=s + offset)

    def score(self, predictions: Any, batch: Batch) -> np.ndarray:
        """Mean negative log-prob of the targets per window, (B,) nats per token; log-probs clipped to [floor, 0]."""
        lp = self._check_logprobs(predictions, batch.targets.shape)  # (B, T)
        return -lp.mean(axis=1)

    def training_loss(self, model: Any, batch: Batch) -> Any:
        """Cross-entropy of a causal LM (``model(input_ids) -> logits (B, T, V)``) on the batch's windows."""
        import torch
        import torch.nn.functional as F

        device = next(model.parameters()).device
        tokens = torch.as_tensor(batch.inputs, dtype=torch.long, device=device)  # (B, T+1)
        logits = logits_of(model(tokens[:, :-1]))  # (B, T, V)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), tokens[:, 1:].reshape(-1))

    def __repr__(self) -> str:
        return (f"NextTokenTask(tokens={len(self.tokens)}, context={self.context}, split={self.split}, "
                f"vocab_size={self.vocab_size})")
