"""Miners that cheat or fail, for the lessons Yuma consensus is about.

Each is a real miner on the real transport: an axon that validators query like any other.

- `noise_model`: answers random log-distributions (fresh noise every request).
- `lazy_model`: always the same answer (a uniform distribution), whatever the question.
- `CopierMiner`: serves nothing of its own; it relays each question to another miner's axon and
  returns that miner's answer, signed as itself. Nothing in the protocol stops it (the miners it
  copies answer any signed caller); a validator's copy guard (``Validator(dedupe=True)``) does.
- `FlakyMiner`: a normal miner that is offline part of the time (answers 503 in the off part of
  each period).

Sybil groups (one coldkey, many hotkeys) need no class: ``lab.add_miners(4, coldkey="sybil")``.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from ..errors import InputError
from ..neurons.miner import Miner
from ..neurons.protocol import ClassLogProbs, NextToken, TextLogProbs, TransportError

__all__ = ["CopierMiner", "FlakyMiner", "lazy_model", "noise_model"]

VOCAB = 256  # byte-level tasks: the tiny models' vocabulary


def noise_model(seed: int = 0, vocab: int = VOCAB, scale: float = 3.0):
    """A "model" of context ids that returns random logits, (B, T) -> (B, vocab); new noise each call."""
    rng = np.random.default_rng(seed)
    lock = threading.Lock()

    def noise(context):
        with lock:  # numpy Generators are not thread-safe; the axon answers from a pool
            return rng.normal(0.0, scale, size=(len(context), vocab))

    return noise


def lazy_model(vocab: int = VOCAB):
    """A "model" that gives the same answer to every question: zero logits (a uniform distribution)."""

    def lazy(context):
        return np.zeros((len(context), vocab))

    return lazy


class _Intercepting(Miner):
    """A miner whose every kind of answer (next token, text log-probs, classes) goes through
    ``_intercept(synapse, own_answer)``, where ``own_answer`` is the normal miner's answer."""

    def _intercept(self, synapse, own_answer):
        return own_answer(synapse)

    def _next_token(self, synapse: NextToken) -> NextToken:
        return self._intercept(synapse, super()._next_token)

    def _answer(self, synapse: TextLogProbs) -> TextLogProbs:
        return self._intercept(synapse, super()._answer)

    def _classify(self, synapse: ClassLogProbs) -> ClassLogProbs:
        return self._intercept(synapse, super()._classify)


class CopierMiner(_Intercepting):
    """A miner that relays every question to ``target`` (a hotkey SS58 address or a uid) and returns its answer.

    It holds no model worth the name (a lazy one answers when the target cannot be reached) and
    pays nothing for compute: the lesson is what a validator must do so that this earns less than
    the miner it copies. ``refresh_s``: how often it re-reads the target's axon from the chain.
    """

    def __init__(self, wallet, subtensor, netuid: int, target, *, timeout: float = 4.0, refresh_s: float = 5.0,
                 **kwargs):
        if not isinstance(target, (int, str)) or isinstance(target, bool):
            raise InputError("target", f"expected the copied miner's hotkey (SS58) or uid, got {target!r}")
        kwargs.setdefault("model", lazy_model())
        super().__init__(wallet, subtensor, netuid, **kwargs)
        from ..neurons.dendrite import Dendrite

        self.target, self.timeout, self.refresh_s = target, float(timeout), float(refresh_s)
        self.dendrite = Dendrite(wallet)
        self.copied = 0  # answers relayed from the target
        self._axon_of_target = None
        self._read_at = 0.0
        self._target_lock = threading.Lock()

    def _target_axon(self):
        with self._target_lock:
            serving = self._axon_of_target is not None and self._axon_of_target.is_serving
            # a serving target is re-read every refresh_s; one not serving yet (still loading) every 0.5 s
            if time.monotonic() - self._read_at > (self.refresh_s if serving else 0.5):
                from ..client.metagraph import Metagraph

                mg = Metagraph(self.netuid).sync(self.subtensor)
                uid = self.target if isinstance(self.target, int) else (
                    mg.hotkeys.index(self.target) if self.target in mg.hotkeys else None)
                self._axon_of_target = mg.axons[uid] if uid is not None and uid < mg.n else None
                self._read_at = time.monotonic()
            return self._axon_of_target

    def _intercept(self, synapse, own_answer):
        axon = self._target_axon()
        if axon is not None and axon.is_serving:
            reply = self.dendrite.query(axon, synapse, timeout=self.timeout)
            if reply.status == 200 and reply.log_probs is not None:
                synapse.log_probs = reply.log_probs
                self.copied += 1
                self.answered += 1
                return synapse
        return own_answer(synapse)  # the target is away: fall back to its own (lazy) answer

    def stop(self) -> None:
        super().stop()
        self.dendrite.close()

    @property
    def status(self) -> dict:
        return {**super().status, "copied": self.copied}


class FlakyMiner(_Intercepting):
    """A normal miner that is offline for part of each ``period_s`` seconds: it answers only
    ``online`` of the time (0..1) and 503 otherwise, as a miner on a laptop that sleeps would."""

    def __init__(self, wallet, subtensor, netuid: int, *, online: float = 0.5, period_s: float = 20.0, **kwargs):
        if not (isinstance(online, (int, float)) and 0.0 <= online <= 1.0):
            raise InputError("online", f"expected the share of time online, 0 to 1, got {online!r}")
        if not (isinstance(period_s, (int, float)) and period_s > 0):
            raise InputError("period_s", f"expected seconds > 0, got {period_s!r}")
        super().__init__(wallet, subtensor, netuid, **kwargs)
        self.online, self.period_s = float(online), float(period_s)
        self._t0 = time.monotonic()
        self.refused = 0

    @property
    def is_online(self) -> bool:
        return ((time.monotonic() - self._t0) % self.period_s) < self.online * self.period_s

    def _intercept(self, synapse, answer):
        if not self.is_online:
            self.refused += 1
            raise TransportError(503, "this miner is offline for now")
        return answer(synapse)
