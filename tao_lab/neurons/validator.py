"""`Validator`: routes held-out batches to miners, scores them as a mixture of experts, sets weights.

One step: sync the metagraph, let the `Router` pick k serving miners (exploring new ones), send
them a held-out batch (text: the contexts only, as `NextToken`, so no miner sees the tokens it is
scored on), fit the EM gate over their log-probs of the truth, fold the
step into the `ScoreBook`, log route/response/timeout events, and set weights on chain when the
rate limit (and the validator's own interval) allows, or commits them and reveals them in the
reveal epoch when the subnet runs commit-reveal.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Hashable, Mapping

import numpy as np

from ..client.metagraph import Metagraph
from .dendrite import Dendrite
from .events import EventLog
from .protocol import ClassLogProbs, NextToken
from .router import Router
from .scoring import ScoreBook, next_weights_action, reveal_status

log = logging.getLogger("tao_lab.neurons.validator")


class Validator:
    """A validator on subnet ``netuid``.

    Args:
        wallet: a `tao_lab.Wallet` whose hotkey is registered and staked on the subnet (it needs a
            validator permit for its weights to count).
        subtensor: a `tao_lab.Subtensor`.
        netuid: the subnet.
        task: where held-out batches come from (default `NextTokenTask()`).
        k: miners queried per step. batch_size: examples per batch (for text: contexts, one scored
            next token each). timeout: seconds per request.
        weights_interval: minimum blocks between weight updates (besides the chain's rate limit).
        explore: share of routing slots given to a random miner.
        loo, shapley: compute leave-one-out contributions / Shapley values each step (Shapley is
            for teaching: slower, and not part of the default reward).
        alpha: the moving average's weight for each new step in the `ScoreBook`.
        seed: routing and sampling seed.
        dedupe: the copy guard. Answers that repeat another miner's answer of the same step (every
            target log-prob within ``duplicate_tol`` nats) fail as ``"duplicate"``, and only the
            original keeps the credit: the one that, over every step the two matched, answered
            first (by the processing time each reports) most often. A miner that relays
            another's answers is slower than the miner it copies on average, so it earns nothing
            from it (`find_duplicates`).

    Subclasses change what the validator does by overriding `choose_weights` (what it puts on chain)
    or `step`; `tao_lab.scenarios` has adversarial ones (weight copiers, colluders, lazy and
    random validators).
    """

    def __init__(self, wallet, subtensor, netuid: int, task=None, k: int = 4, batch_size: int = 32,
                 timeout: float = 5.0, weights_interval: int = 1, explore: float = 0.1, seed: int = 0,
                 loo: bool = True, shapley: bool = False, alpha: float = 0.1, dedupe: bool = False,
                 duplicate_tol: float = 1e-3):
        from ..tasks import NextTokenTask

        self.wallet, self.subtensor, self.netuid = wallet, subtensor, netuid
        self.task = task or NextTokenTask()
        self.batch_size, self.timeout, self.weights_interval = batch_size, timeout, weights_interval
        self.dedupe, self.duplicate_tol = bool(dedupe), float(duplicate_tol)
        self.rng = np.random.default_rng(seed)
        self.router = Router(k=k, explore=explore, rng=np.random.default_rng(seed + 1), loo=loo, shapley=shapley)
        self.scores = ScoreBook(alpha=alpha)
        self.events = EventLog()
        self.dendrite = Dendrite(wallet)
        self.metagraph = Metagraph(netuid)
        self.uid: int | None = None
        self.steps = 0
        self.weights_set = 0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.error: BaseException | None = None
        self._pending: dict | None = None  # a commit awaiting its reveal (commit-reveal subnets)
        self.last_step = None
        self.last_weights: dict[int, float] | None = None  # the scores as of the last weights on chain
        self._copies: dict = {}  # the copy guard's record: who answered first, per pair of identical answerers

    def __repr__(self) -> str:
        return f"Validator(uid={self.uid}, netuid={self.netuid}, steps={self.steps})"

    # ------------------------------------------------------------------ one step

    def step(self) -> dict:
        """Query, score, maybe set weights; returns what happened (for logs and tests)."""
        mg = self.metagraph.sync(self.subtensor)
        self.uid = mg.hotkeys.index(self.wallet.hotkey_ss58) if self.wallet.hotkey_ss58 in mg.hotkeys else None
        serving = [u for u in range(mg.n) if u != self.uid and mg.axons[u].is_serving]
        hotkeys = {u: mg.hotkeys[u] for u in serving}
        self.router.sync(serving, hotkeys)
        self.scores.sync(serving, hotkeys)
        chosen = self.router.select()
        batch = self.task.sample(self.batch_size, "heldout", self.rng)
        synapse, expected = self._request(batch)
        replies = self.dendrite.query([mg.axons[u] for u in chosen], synapse, timeout=self.timeout)
        answers, latency = {}, {}
        for uid, reply in zip(chosen, replies):
            ok = (reply.status == 200 and reply.log_probs is not None and reply.log_probs.ndim == len(expected)
                  and all(e is None or e == got for e, got in zip(expected, reply.log_probs.shape)))
            answers[uid] = self._target_logprobs(reply.log_probs, batch) if ok else None
            # the miner's own processing time: a relay's includes the whole round trip to its target, so
            # it is longer; the round trip measured here also carries this validator's queueing of
            # the replies, which in a busy process hid that difference (docs/security.md: a miner
            # could claim a short time; the record below needs it to do so in most steps)
            latency[uid] = getattr(reply, "process_time", None)
        rejected = (find_duplicates(answers, latency, self.duplicate_tol, record=self._copies, keys=hotkeys)
                    if self.dedupe else {})
        scores = self.router.update(answers, rejected)
        self.last_step = scores  # `StepScores`: per-miner loss, mixture share, leave-one-out, failures
        moving = self.scores.update(scores)
        me = self.uid if self.uid is not None else -1
        self.events.record_step(scores, block=mg.block, validator_uid=me, latency_s=latency)
        for uid in scores.uids:
            self.events.append("score", block=mg.block, validator_uid=me, miner_uid=uid, value=moving.get(uid))
        action = self._maybe_set_weights(mg)
        self.steps += 1
        return {"block": mg.block, "queried": chosen, "failed": dict(scores.failed), "action": action,
                "mixture_loss": scores.mixture_loss}

    def _request(self, batch):
        """The synapse carrying ``batch`` for the task's kind of answer, and the answer's shape."""
        if getattr(self.task, "response", "logprobs") == "class_logprobs":
            features = batch.inputs.astype(np.float32)  # (B, F)
            return ClassLogProbs(features=features), (len(batch), None)  # (B, C): any number of classes
        context = batch.inputs[:, :-1].astype(np.int32)  # (B, T): the target (last token) is not sent
        return NextToken(context_ids=context), (len(batch), None)

    def _target_logprobs(self, log_probs, batch):
        """Each answer's log-probability of the truth: what the router mixes and scores, (B,).

        Answers are renormalised here (log-softmax), so a miner cannot claim more than certainty.
        """
        lp = np.asarray(log_probs, dtype=np.float64)
        if not np.isfinite(lp).all():
            return np.full(len(batch), np.nan)  # malformed: the router counts it as invalid
        lp = lp - lp.max(axis=1, keepdims=True)
        lp = lp - np.log(np.exp(lp).sum(axis=1, keepdims=True))
        truth = batch.targets if batch.targets.ndim == 1 else batch.inputs[:, -1]
        if truth.max() >= lp.shape[1]:
            return np.full(len(batch), np.nan)  # a vocabulary too small for the task
        return lp[np.arange(len(batch)), truth]

    def _maybe_set_weights(self, mg) -> str:
        if self.uid is None:
            return "unregistered"
        hyper = self.subtensor.hyperparameters(self.netuid)
        commit_reveal = bool(hyper["commit_reveal_weights_enabled"])
        if not commit_reveal:
            self._pending = None
        epoch = self.subtensor.query("SubtensorModule", "SubnetEpochIndex", [self.netuid]) if commit_reveal else None
        period = self.subtensor.query("SubtensorModule", "RevealPeriodEpochs", [self.netuid]) if commit_reveal else 1
        if self._pending is not None and reveal_status(self._pending["epoch"], epoch, period) == "expired":
            self._pending = None  # missed its reveal window: commit afresh
        last = int(mg.last_update[self.uid]) if self.uid < len(mg.last_update) else 0
        action = next_weights_action(mg.block, last, hyper["weights_rate_limit"], interval=self.weights_interval,
                                     commit_reveal=commit_reveal,
                                     commit_epoch=self._pending["epoch"] if self._pending else None,
                                     current_epoch=epoch, reveal_period=period)
        if action == "reveal":
            return self._reveal(mg)
        if action == "wait" or (action == "commit" and self._pending is not None):
            return "wait"
        if self.uid < len(mg.validator_permit) and not mg.validator_permit[self.uid]:
            return "no permit"  # the chain refuses weights on others until an epoch grants a permit
        weights = np.asarray(self.choose_weights(mg), dtype=np.float64)
        if not weights.any():
            return "nothing to weigh"
        targets = {int(u): float(w) for u, w in enumerate(weights) if w > 0}
        if action == "commit":
            salt = [int(x) for x in self.rng.integers(0, 65536, 8)]
            self.subtensor.commit_weights(self.wallet, self.netuid, targets, salt)
            commits = self.subtensor.query("SubtensorModule", "WeightCommits", [self.netuid, self.wallet.hotkey_ss58])
            self._pending = {"weights": targets, "salt": salt, "epoch": commits[-1][1] if commits else epoch}
            self.events.append("weights", block=mg.block, validator_uid=self.uid, value=len(targets), action="commit")
            return "commit"
        self.subtensor.set_weights(self.wallet, self.netuid, targets)
        self.last_weights = targets
        self.weights_set += 1
        self.events.append("weights", block=mg.block, validator_uid=self.uid, value=len(targets), action="set")
        return "set"

    def choose_weights(self, mg) -> np.ndarray:
        """The weights to put on chain now, (n,) floats >= 0 over uids (any scale; zeros are left out).

        The default is the moving-average scores (`ScoreBook.weights`); a subclass may override it.
        """
        return self.scores.weights(mg.n)

    def _reveal(self, mg) -> str:
        from ..client.errors import ChainError

        pending = self._pending
        try:
            self.subtensor.reveal_weights(self.wallet, self.netuid, pending["weights"], pending["salt"])
        except ChainError as exc:
            if exc.error == "RevealTooEarly":  # the epoch turns in a later block than we guessed
                return "wait"
            self._pending = None
            if exc.error in ("ExpiredWeightCommit", "NoWeightsCommitFound", "InvalidRevealCommitHashNotMatch"):
                return "expired"  # missed the window: the next step commits afresh
            raise
        self._pending = None
        self.last_weights = pending["weights"]
        self.weights_set += 1
        self.events.append("weights", block=mg.block, validator_uid=self.uid, value=len(pending["weights"]),
                           action="reveal")
        return "reveal"

    # ------------------------------------------------------------------ running

    def run(self, steps: int) -> list[dict]:
        """Run ``steps`` steps now, in this thread."""
        return [self.step() for _ in range(steps)]

    def start(self, interval: float = 0.5) -> "Validator":
        """Step every ``interval`` seconds in a background thread until `stop` (idempotent).

        A failing step (no permit yet, the node busy) never reaches the caller's thread: it is
        logged and kept in ``error``, and the loop goes on, backing off (doubling, up to 30 s) while
        steps keep failing; a step that succeeds clears ``error``.
        """
        if self._thread is not None and self._thread.is_alive():
            return self
        self._stop.clear()

        def loop():
            failures = 0
            while not self._stop.is_set():
                try:
                    self.step()
                    failures, self.error = 0, None
                except Exception as exc:  # shown via .error / status, never kills the kernel
                    failures += 1
                    self.error = exc
                    log.warning("validator step failed (%s: %s)", type(exc).__name__, exc)
                self._stop.wait(min(interval * 2 ** failures, 30.0) if failures else interval)

        self._thread = threading.Thread(target=loop, name=f"validator-{self.netuid}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        self.dendrite.close()

    @property
    def status(self) -> dict:
        return {"uid": self.uid, "steps": self.steps, "weights_set": self.weights_set,
                "running": self._thread is not None and self._thread.is_alive(),
                "error": repr(self.error) if self.error else None}



def find_duplicates(answers, latency, tol: float = 1e-3, record: dict | None = None,
                    keys: Mapping[int, Hashable] | None = None) -> dict[int, str]:
    """The answers of one step that repeat another miner's answer: uid -> ``"duplicate of uid K"``.

    ``answers``: uid -> (N,) target log-probs or None; ``latency``: uid -> seconds or None (unknown
    counts as slowest). Answers whose every value lies within ``tol`` of each other form a group
    (honest miners with different models differ by far more than 1e-3 nats on some token of a batch;
    a relay of another miner's answer matches it exactly). One member of each group keeps the
    credit, the original, and the others are duplicates of it.

    Without ``record`` the original is the fastest of the step. A relay is slower than the miner it
    copies on average, not in every step: on a busy machine the relayed request can be served
    first. So a validator passes ``record``, a dict it keeps across steps, where every group adds
    who answered first for each pair of its members; the original is then the member that answered
    first most often over all the steps its group matched (this step's order breaks ties).
    ``keys``: uid -> a stable identity for ``record`` (the hotkey, so that a new miner on a uid
    starts afresh); default the uid.
    """
    order = sorted((u for u, a in answers.items() if a is not None),
                   key=lambda u: (latency.get(u) is None, latency.get(u) or 0.0, u))
    groups: list[list[tuple[int, np.ndarray]]] = []
    for uid in order:
        arr = np.asarray(answers[uid], dtype=np.float64).ravel()
        if not np.isfinite(arr).all():
            continue  # invalid answers fail on their own
        group = next((g for g in groups if g[0][1].shape == arr.shape and np.max(np.abs(g[0][1] - arr)) <= tol), None)
        if group is None:
            groups.append([(uid, arr)])
        else:
            group.append((uid, arr))
    rejected: dict[int, str] = {}
    for group in (g for g in groups if len(g) > 1):
        uids = [u for u, _ in group]  # fastest first
        original = uids[0]
        if record is not None:
            key = (lambda u: keys.get(u, u)) if keys is not None else (lambda u: u)
            wins = dict.fromkeys(uids, 0)
            for i, a in enumerate(uids):
                for b in uids[i + 1:]:
                    tally = record.setdefault(tuple(sorted((key(a), key(b)), key=repr)), {key(a): 0, key(b): 0})
                    tally[key(a)] += 1  # a answered before b this step
            for a in uids:
                wins[a] = sum(record[tuple(sorted((key(a), key(b)), key=repr))][key(a)] for b in uids if b != a)
            original = max(uids, key=lambda u: (wins[u], -uids.index(u)))
        for uid in uids:
            if uid != original:
                rejected[uid] = f"duplicate of uid {original}"
    return rejected
