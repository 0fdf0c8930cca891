"""`Miner`: a model served on an axon, registered on a subnet, optionally training while it serves."""

from __future__ import annotations

import logging
import threading

import numpy as np

from ..errors import InputError
from .admission import SubnetCallers
from .axon import Axon
from .protocol import ClassLogProbs, NextToken, TextLogProbs, TransportError

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
        allow: who it answers: ``"registered"`` (default: hotkeys registered on the subnet),
            ``"validators"`` (registered with a validator permit), ``"any"`` (every caller whose
            signature verifies), or a function ``hotkey -> bool``. Others get 403 saying why. The
            subnet's hotkeys are re-read every ``allow_refresh_s`` seconds in the background, and at
            most once a second when an unknown caller arrives (so a new validator gets in at once).
        max_tokens: most tokens in one request, rows x columns (examples for classification); 413
            beyond. Default: 64 rows of the model's context (8192 for the default tiny model; 8192
            when the context is not known). Rows longer than the model's context are 413 too.
        rate_limit: ``(tokens, seconds)`` one caller may ask for per interval, as a token bucket
            (429 with Retry-After beyond); ``"auto"`` (default): ``(16 * max_tokens, 4.0)``, four
            full requests a second with bursts of sixteen; None: no limit.
        concurrency: requests handled at once (the model answers one at a time; more only helps
            handlers that wait on something else); the rest queue, callers who asked less first.
    """

    def __init__(self, wallet, subtensor, netuid: int, model="tiny", task=None, train_steps: int = 0,
                 lr: float = 3e-3, optimizer="adamw", checkpoint_dir=None, checkpoint_every: int = 0,
                 port: int = 0, register: bool = True, seed: int = 0, device: str | None = None,
                 batch_size: int | None = None, amp: bool = False, threads: int | None = None,
                 allow="registered", max_tokens: int | None = None, rate_limit="auto", allow_refresh_s: float = 12.0,
                 concurrency: int = 2):
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
        self.vocab, self.context = _capacity(self.predictor, self.model)
        if max_tokens is None:
            max_tokens = 64 * self.context if self.context else 8192
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            raise InputError("max_tokens", f"expected a positive number of tokens per request, got {max_tokens!r}")
        self.max_tokens = max_tokens
        if isinstance(rate_limit, str) and rate_limit == "auto":
            rate_limit = (16 * max_tokens, 4.0)
        self._callers: SubnetCallers | None = None
        if isinstance(allow, str) and allow in ("registered", "validators"):
            self._callers = SubnetCallers(subtensor, netuid, allow, refresh_s=allow_refresh_s)
            gate = self._callers
        elif isinstance(allow, str) and allow == "any":
            gate = None
        elif callable(allow) and not isinstance(allow, str):
            gate = allow
        else:
            raise InputError("allow", f"expected 'registered', 'validators', 'any' or a function hotkey -> bool, "
                                      f"got {allow!r}")
        self.allow = allow
        axon = Axon(wallet, port=port, allow=gate, rate_limit=rate_limit, concurrency=concurrency)
        if response == "class_logprobs":
            self.axon = axon.attach(ClassLogProbs, self._classify, cost=self._classify_cost)
        else:
            self.axon = (axon.attach(TextLogProbs, self._answer, cost=self._text_cost)
                         .attach(NextToken, self._next_token, cost=self._next_token_cost))
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
        if self._callers is not None:
            # who may call, known before the first request; read over the callers' own connection,
            # so that its set-up (the node's metadata, about a second) is paid here and not by the
            # first caller that is not known yet (a validator registered after this miner started)
            self._callers.read()
        self.axon.start()
        self.subtensor.serve_axon(self.wallet, self.netuid, "127.0.0.1", self.axon.port)
        return self

    def stop(self) -> None:
        self.axon.stop()
        if self._callers is not None:
            self._callers.close()

    def __enter__(self) -> "Miner":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def status(self) -> dict:
        return {"uid": self.uid, "running": self.running, "answered": self.answered, "trained": self.trained,
                "last_loss": self.losses[-1] if self.losses else None, "url": self.axon.url if self.running else None}

    # ------------------------------------------------------------------ what a request may ask

    def _tokens_cost(self, ids, field: str, row_limit: int | None, row_min: int = 1) -> int:
        """Validate token ids (B, T) for this model; their count. 422 malformed, 413 too large."""
        b, t = ids.shape
        if b < 1 or t < row_min:
            raise TransportError(422, f"{field} of shape {ids.shape}: at least one row of {row_min} token(s) is "
                                      f"needed")
        if row_limit is not None and t > row_limit:
            raise TransportError(413, f"{field} rows of {t} tokens are longer than the model's context "
                                      f"({row_limit}); send shorter rows")
        if b * t > self.max_tokens:
            raise TransportError(413, f"{field} of {b} x {t} = {b * t} tokens is over this miner's limit of "
                                      f"{self.max_tokens} per request; send fewer rows (Miner(max_tokens=...) sets it)")
        vocab = self.vocab
        if vocab is not None:
            low, high = int(ids.min()), int(ids.max())
            if low < 0 or high >= vocab:
                bad = low if low < 0 else high
                raise TransportError(422, f"{field} holds token id {bad}, outside the model's vocabulary "
                                          f"[0, {vocab})")
        return b * t

    def _text_cost(self, synapse: TextLogProbs) -> int:
        # windows of T+1 tokens: the model reads T of them
        row = self.context + 1 if self.context and self.predictor.byte_level else None
        return self._tokens_cost(synapse.token_ids, "token_ids", row, row_min=2)

    def _next_token_cost(self, synapse: NextToken) -> int:
        return self._tokens_cost(synapse.context_ids, "context_ids", self.context)

    def _classify_cost(self, synapse: ClassLogProbs) -> int:
        x = synapse.features
        b, f = x.shape
        if b < 1:
            raise TransportError(422, f"features of shape {x.shape}: at least one example is needed")
        if b > self.max_tokens:
            raise TransportError(413, f"{b} examples are over this miner's limit of {self.max_tokens} per request")
        wanted = _in_features(self.predictor.model)
        if wanted is not None and f != wanted:
            raise TransportError(422, f"features of {f} columns; this model reads {wanted}")
        if not np.isfinite(x).all():
            raise TransportError(422, "features hold NaN or infinity")
        return b

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
        with self._lock:
            return self.trainer.save(directory)

    @property
    def trainer(self):
        """The `tao_lab.models.Trainer` of the served model (made on first use)."""
        if self._trainer is None:
            self._train(0)
        return self._trainer

    def load(self, checkpoint) -> None:
        """Resume from a checkpoint: a folder `save` wrote, or what ``Trainer.state_dict()`` returned
        (weights, optimizer, sampler state and the loss history)."""
        if isinstance(checkpoint, dict):
            self.trainer.load_state_dict(checkpoint)  # each takes the trainer's lock
        else:
            self.trainer.load(checkpoint)
        with self._lock:
            self.predictor.model.eval()
            self.losses = [loss for _, loss in self._trainer.history]
            self.trained = self._trainer.steps

    def train(self, steps: int) -> list[float]:
        """Train ``steps`` steps now (e.g. to pre-train before serving); returns their losses."""
        before = len(self.losses)
        self._train(steps)
        return self.losses[before:]


def _capacity(predictor, model) -> tuple[int | None, int | None]:
    """(vocabulary size, context length in tokens) of what answers, None where it cannot be told.

    Requests carry byte ids, so a subword model (its predictor re-tokenizes bytes) takes ids below
    256 and rows of any length its total limit allows.
    """
    module = predictor.model if predictor.model is not None else (model if hasattr(model, "parameters") else None)
    config = getattr(module, "config", None)
    if config is None:
        return None, None
    vocab = getattr(config, "vocab_size", None)
    context = getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None)
    if not predictor.byte_level:
        return 256, None
    return (int(vocab) if vocab else None), (int(context) if context else None)


def _in_features(model) -> int | None:
    """The input width of a classifier module: its first Linear layer's ``in_features`` (None if none)."""
    for layer in getattr(model, "modules", lambda: ())():
        if hasattr(layer, "in_features"):
            return int(layer.in_features)
    return None


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
