"""`Miner`: a model served on an axon, registered on a subnet, optionally training while it serves."""

from __future__ import annotations

import logging
import threading

import numpy as np

from ..errors import InputError
from .axon import Axon
from .protocol import ClassLogProbs, NextToken, TextLogProbs

log = logging.getLogger("tao_lab.neurons.miner")


class Miner:
    """A miner on subnet ``netuid``: registers its hotkey, serves its axon, answers its task's synapse.

    Next-token tasks are answered as `TextLogProbs`, classification tasks (``response ==
    "class_logprobs"``, e.g. `tao_lab.tasks.DigitsTask`) as `ClassLogProbs`.

    Args:
        wallet: a `tao_lab.Wallet` (the coldkey pays the registration, the hotkey signs and serves).
        subtensor: a `tao_lab.Subtensor`.
        netuid: the subnet.
        model: what answers: an ``nn.Module`` (a causal LM over byte ids), a `tao_lab.models.Predictor`,
            or a function ``tokens (B, T+1) -> target log-probs (B, T)``; ``"tiny"`` builds a fresh
            tiny byte-level Llama (`tao_lab.models.tiny_lm`).
        task: the task it trains on when ``train_steps`` > 0 (default `NextTokenTask()`).
        train_steps: training steps after each answered request (0: serve only). Training and
            serving share the model under a lock, so answers always see a consistent model.
        lr, optimizer, checkpoint_dir, checkpoint_every: passed to `tao_lab.models.Trainer`
            (``save()`` writes a checkpoint on demand).
        port: axon port (0: any free one), bound on 127.0.0.1.
        register: register the hotkey on the subnet if it is not yet (burned registration).
        device: where the model runs (e.g. ``"cuda:0"``; default: where it is, CPU for "tiny").
        batch_size: rows per forward pass when answering (None: the whole request at once).
        amp: bfloat16 autocast for the forward pass on CUDA (log-softmax stays float32).
        threads: ``torch.set_num_threads`` for this process (a CPU budget; process-wide).
    """

    def __init__(self, wallet, subtensor, netuid: int, model="tiny", task=None, train_steps: int = 0,
                 lr: float = 3e-3, optimizer="adamw", checkpoint_dir=None, checkpoint_every: int = 0,
                 port: int = 0, register: bool = True, seed: int = 0, device: str | None = None,
                 batch_size: int | None = None, amp: bool = False, threads: int | None = None):
        from ..models import as_predictor, tiny_lm

        response = getattr(task, "response", "logprobs")
        from ..models.loaders import Predictor

        if isinstance(model, str) and model == "tiny":
            model = tiny_lm(seed=seed)
        if isinstance(model, Predictor) and model.model is not None and model.byte_level:
            # A Predictor answers whole windows; NextToken needs the module's logits after a context.
            # (Supervised miners are built as Predictors: serving those as functions scored noise.)
            self.model = model.model
        else:
            self.model = model  # what answers NextToken: a module or a function of context ids
        if threads:
            import torch

            torch.set_num_threads(int(threads))
        if device is not None and hasattr(model, "to"):
            model = model.to(device)
        self.predictor = as_predictor(model, response=response, batch_size=batch_size, amp=amp)
        self.optimizer, self.checkpoint_dir, self.checkpoint_every = optimizer, checkpoint_dir, checkpoint_every
        self.wallet, self.subtensor, self.netuid = wallet, subtensor, netuid
        self.train_steps, self.lr, self.seed = int(train_steps), lr, seed
        self.task = task
        self.register = register
        self.uid: int | None = None
        if response == "class_logprobs":
            self.axon = Axon(wallet, port=port).attach(ClassLogProbs, self._classify)
        else:
            self.axon = (Axon(wallet, port=port).attach(TextLogProbs, self._answer)
                         .attach(NextToken, self._next_token))
        self.answered = 0
        self.trained = 0
        self.losses: list[float] = []
        self._lock = threading.Lock()
        self._trainer = None

    def __repr__(self) -> str:
        return f"Miner(uid={self.uid}, netuid={self.netuid}, running={self.running})"

    @property
    def running(self) -> bool:
        return self.axon.is_running

    def start(self) -> "Miner":
        """Register (if asked), serve the axon and publish its address on chain. Idempotent."""
        if self.running:
            return self
        if self.uid is None:
            self.uid = self.subtensor.uid(self.netuid, self.wallet)
        if self.uid is None:
            if not self.register:
                raise InputError("register", f"the hotkey is not registered on subnet {self.netuid}")
            self.uid = self.subtensor.burned_register(self.wallet, self.netuid)
        self.axon.start()
        self.subtensor.serve_axon(self.wallet, self.netuid, "127.0.0.1", self.axon.port)
        return self

    def stop(self) -> None:
        self.axon.stop()

    def __enter__(self) -> "Miner":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def status(self) -> dict:
        return {"uid": self.uid, "running": self.running, "answered": self.answered, "trained": self.trained,
                "last_loss": self.losses[-1] if self.losses else None, "url": self.axon.url if self.running else None}

    # ------------------------------------------------------------------ serving and training

    def _answer(self, synapse: TextLogProbs) -> TextLogProbs:
        tokens = np.asarray(synapse.token_ids, dtype=np.int64)  # (B, T)
        with self._lock:
            lp = self.predictor(tokens)  # (B, T-1): log p(tokens[:, t+1] | tokens[:, :t+1])
        out = np.zeros(tokens.shape, dtype=np.float32)  # position 0 has no context: 0 by convention
        out[:, 1:] = lp
        synapse.log_probs = out
        self.answered += 1
        if self.train_steps:
            self._train(self.train_steps)
        return synapse

    def _next_token(self, synapse: NextToken) -> NextToken:
        context = np.asarray(synapse.context_ids, dtype=np.int64)  # (B, T)
        with self._lock:
            logits = _last_logits(self.model, context)  # (B, V)
        logits = logits - logits.max(axis=1, keepdims=True)
        synapse.log_probs = (logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))).astype(np.float32)
        self.answered += 1
        if self.train_steps:
            self._train(self.train_steps)
        return synapse

    def _classify(self, synapse: ClassLogProbs) -> ClassLogProbs:
        with self._lock:
            synapse.log_probs = self.predictor(np.asarray(synapse.features, dtype=np.float32))  # (B, C)
        self.answered += 1
        if self.train_steps:
            self._train(self.train_steps)
        return synapse

    def _train(self, steps: int) -> None:
        if self.predictor.model is None:
            return
        if self._trainer is None:
            from ..models import Trainer
            from ..tasks import NextTokenTask

            self._trainer = Trainer(self.predictor.model, self.task or NextTokenTask(), lr=self.lr, seed=self.seed,
                                    optimizer=self.optimizer, checkpoint_dir=self.checkpoint_dir,
                                    checkpoint_every=self.checkpoint_every)
        with self._lock:
            self.losses += self._trainer.step(steps)
            self.predictor.model.eval()
        self.trained += steps

    def save(self, directory=None):
        """Write a checkpoint of the model and its optimizer (see `tao_lab.models.Trainer.save`)."""
        if self._trainer is None:
            self._train(0)
        with self._lock:
            return self._trainer.save(directory)

    def train(self, steps: int) -> list[float]:
        """Train ``steps`` steps now (e.g. to pre-train before serving); returns their losses."""
        before = len(self.losses)
        self._train(steps)
        return self.losses[before:]


def _last_logits(model, context: np.ndarray) -> np.ndarray:
    """Next-token logits after each context, (B, V) float64, from a causal module or a function."""
    if hasattr(model, "parameters"):  # an nn.Module over byte ids
        import torch

        from ..tasks.base import logits_of

        device = next(model.parameters()).device
        with torch.inference_mode():
            out = logits_of(model(torch.as_tensor(context, device=device)))
        return out[:, -1, :].double().cpu().numpy()
    out = np.asarray(model(context), dtype=np.float64)  # a function: (B, T, V) logits, or (B, V)
    return out[:, -1, :] if out.ndim == 3 else out
