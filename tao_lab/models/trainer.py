"""Training a miner's model on a task, a few steps at a time, while it serves.

A miner calls ``trainer.step(n)`` between requests (say n steps per block), so the model a validator
scores keeps improving and incentive visibly follows learning. The loop is nanoGPT's: sample a
train batch, ``task.training_loss``, backward, clip, optimizer step. Callbacks see every step
(``on_batch_end(step, loss)``), which is how a live plot hooks in. ``save``/``load`` write and read
checkpoints with ``save_pretrained`` (plus the optimizer and data-sampler state) so a restarted
miner resumes where it stopped.

Serving and training share the model: `Trainer.lock` is held during each step; a server that
takes it around its forward never sees half-updated weights.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..tasks.base import Task
from .loaders import Predictor, as_predictor

__all__ = ["Trainer"]

OPTIMIZERS = ("adamw", "adam", "sgd")


class Trainer:
    """Train ``model`` on ``task``'s train split.

    Args:
        model: an ``nn.Module`` (a tiny LM, a loaded HF model, your own module) or a `Predictor`
            that holds one. For next-token tasks it must read byte ids (vocab 256).
        task: a `Task` with a ``training_loss``.
        lr: learning rate of the named optimizers (times ``lr_schedule(step)`` if given).
        batch_size: examples per step.
        optimizer: "adamw" (betas 0.9/0.95, as nanoGPT), "adam", "sgd" (momentum 0.9), or a function
            ``params -> torch.optim.Optimizer``.
        weight_decay: for "adamw" and "sgd".
        grad_clip: max global gradient norm (None: no clipping).
        lr_schedule: ``step -> multiplier of lr`` (e.g. warmup or cosine decay); constant by default.
        callbacks: each a function ``(step, loss)`` or an object with ``on_batch_end(step, loss)``.
        checkpoint_dir: where `save` writes by default; with ``checkpoint_every`` > 0, every that
            many steps too.
        threads: if set, ``torch.set_num_threads(threads)`` (process-wide) to respect a CPU budget.
        seed: seeds the train-batch sampler, so a run is reproducible.
        device: if set, the model is moved there.
    """

    def __init__(self, model: Any, task: Task, lr: float = 3e-3, batch_size: int = 8,
                 optimizer: str | Callable[[Iterable[Any]], Any] = "adamw", weight_decay: float = 0.0,
                 grad_clip: float | None = 1.0, lr_schedule: Callable[[int], float] | None = None,
                 callbacks: Iterable[Any] = (), checkpoint_dir: str | Path | None = None, checkpoint_every: int = 0,
                 threads: int | None = None, seed: int = 0, device: str | None = None):
        import torch

        if isinstance(model, Predictor):
            if model.model is None:
                raise InputError("model", f"{model!r} wraps a plain function: there are no weights to train")
            if task.response == "logprobs" and not model.byte_level:
                raise InputError("model", f"{model!r} reads its own subword tokens; it cannot train on byte windows")
            model = model.model
        if not isinstance(model, torch.nn.Module):
            raise InputError("model", f"expected an nn.Module or a Predictor holding one, got {type(model).__name__}")
        if batch_size < 1:
            raise InputError("batch_size", f"expected a positive int, got {batch_size!r}")
        if threads is not None:
            torch.set_num_threads(int(threads))
        if device is not None:
            model.to(device)
        self.model = model
        self.task = task
        self.lr = float(lr)
        self.batch_size = int(batch_size)
        self.grad_clip = grad_clip
        self.lr_schedule = lr_schedule
        self.callbacks = list(callbacks)
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
        self.checkpoint_every = int(checkpoint_every)
        self.optimizer = self._make_optimizer(optimizer, weight_decay)
        self.rng = np.random.default_rng(seed)
        self.steps = 0  # optimizer steps taken so far
        self.history: list[tuple[int, float]] = []  # (step, train loss) of every step
        self.lock = threading.Lock()
        self._predictor: Predictor | None = None

    def _make_optimizer(self, optimizer: Any, weight_decay: float):
        import torch

        params = [p for p in self.model.parameters() if p.requires_grad]
        if callable(optimizer) and not isinstance(optimizer, str):
            return optimizer(params)
        if optimizer == "adamw":
            return torch.optim.AdamW(params, lr=self.lr, betas=(0.9, 0.95), weight_decay=weight_decay)
        if optimizer == "adam":
            return torch.optim.Adam(params, lr=self.lr)
        if optimizer == "sgd":
            return torch.optim.SGD(params, lr=self.lr, momentum=0.9, weight_decay=weight_decay)
        raise InputError("optimizer", f"expected one of {OPTIMIZERS} or a function params -> Optimizer, "
                                      f"got {optimizer!r}")

    @property
    def predictor(self) -> Predictor:
        """The model as a `Predictor` for the task (what a miner serves)."""
        if self._predictor is None:
            self._predictor = as_predictor(self.model, self.task.response)
        return self._predictor

    def step(self, n: int = 1) -> list[float]:
        """Take ``n`` optimizer steps on train batches; returns their losses (nats per target)."""
        import torch

        losses = []
        for _ in range(int(n)):
            batch = self.task.sample(self.batch_size, "train", self.rng)
            with self.lock:
                if self.lr_schedule is not None:
                    for group in self.optimizer.param_groups:
                        group["lr"] = self.lr * float(self.lr_schedule(self.steps))
                self.model.train()
                try:
                    loss = self.task.training_loss(self.model, batch)
                    loss.backward()
                    if self.grad_clip is not None:
                        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)
                    self.optimizer.step()
                    self.optimizer.zero_grad(set_to_none=True)
                finally:
                    self.model.eval()  # the served model is always in eval mode between steps
            self.steps += 1
            value = float(loss.detach())
            losses.append(value)
            self.history.append((self.steps, value))
            for cb in self.callbacks:
                (cb.on_batch_end if hasattr(cb, "on_batch_end") else cb)(self.steps, value)
            if self.checkpoint_dir is not None and self.checkpoint_every > 0 and self.steps % self.checkpoint_every == 0:
                self.save()
        return losses

    def evaluate(self, batches: int = 4, batch_size: int = 16, seed: int = 1234) -> float:
        """Held-out loss (nats per target) on fixed batches (`Task.evaluate`), under the lock."""
        with self.lock:
            return self.task.evaluate(self.predictor, batches=batches, batch_size=batch_size, seed=seed)

    def state_dict(self) -> dict:
        """Everything a resumed run needs, in memory: weights, optimizer, step count, loss history, sampler."""
        with self.lock:
            return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                    **self._progress()}

    def load_state_dict(self, state: dict) -> None:
        """Restore what `state_dict` returned, in place."""
        with self.lock:
            self.model.load_state_dict(state["model"])
            self.model.eval()
            self.optimizer.load_state_dict(state["optimizer"])
            self._restore_progress(state)

    def _progress(self) -> dict:
        return {"steps": self.steps, "history": self.history, "rng": self.rng.bit_generator.state}

    def _restore_progress(self, state: dict) -> None:
        self.steps = int(state["steps"])
        self.history = [tuple(h) for h in state["history"]]
        self.rng.bit_generator.state = state["rng"]

    def save(self, directory: str | Path | None = None) -> Path:
        """Write a checkpoint: weights (``save_pretrained``, or ``model.pt`` for plain modules), optimizer, state."""
        import torch

        directory = Path(directory) if directory is not None else self.checkpoint_dir
        if directory is None:
            raise InputError("directory", "no directory given and the Trainer has no checkpoint_dir")
        directory.mkdir(parents=True, exist_ok=True)
        with self.lock:
            if hasattr(self.model, "save_pretrained"):
                self.model.save_pretrained(directory)
            else:
                torch.save(self.model.state_dict(), directory / "model.pt")
            torch.save(self.optimizer.state_dict(), directory / "optimizer.pt")
            (directory / "trainer.json").write_text(json.dumps(self._progress()))
        return directory

    def load(self, directory: str | Path | None = None) -> None:
        """Restore weights, optimizer and sampler state from a checkpoint written by `save`, in place."""
        import torch

        directory = Path(directory) if directory is not None else self.checkpoint_dir
        if directory is None or not directory.is_dir():
            raise InputError("directory", f"no checkpoint folder at {directory!r}")
        device = next(self.model.parameters()).device
        with self.lock:
            if (directory / "config.json").exists() and hasattr(type(self.model), "from_pretrained"):
                loaded = type(self.model).from_pretrained(directory, dtype=next(self.model.parameters()).dtype)
                self.model.load_state_dict(loaded.state_dict())
            elif (directory / "model.pt").exists():
                self.model.load_state_dict(torch.load(directory / "model.pt", map_location=device))
            else:
                raise InputError("directory", f"{directory} holds neither config.json + weights nor model.pt")
            self.model.eval()
            if (directory / "optimizer.pt").exists():
                self.optimizer.load_state_dict(torch.load(directory / "optimizer.pt", map_location=device))
            if (directory / "trainer.json").exists():
                self._restore_progress(json.loads((directory / "trainer.json").read_text()))

    def __repr__(self) -> str:
        return f"Trainer({type(self.model).__name__}, task={self.task.name!r}, steps={self.steps})"
