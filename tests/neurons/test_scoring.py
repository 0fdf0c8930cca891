"""ScoreBook (moving-average scores → weights), the weight-setting decisions, and the EventLog of a validator."""

import json
import threading

import numpy as np
import pytest

from tao_lab.errors import InputError
from tao_lab.neurons.events import FIELDS, EventLog
from tao_lab.neurons.router import Router
from tao_lab.neurons.scoring import (
    ScoreBook,
    StepScores,
    blocks_until_weights_allowed,
    next_weights_action,
    reveal_status,
    weights_allowed,
)

V = 32


def log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


@pytest.fixture(scope="module")
def miners():
    """uid → (N,) target log-probs: a good model, a weaker one, noise, one that never answers, a uniform guess."""
    rng = np.random.default_rng(0)
    n = 1500
    logits = rng.normal(0, 2, (n, V))
    y = (np.exp(log_softmax(logits)).cumsum(1) > rng.random((n, 1))).argmax(1)
    good = log_softmax(logits + rng.normal(0, 0.5, (n, V)))[np.arange(n), y]
    return {0: good, 1: log_softmax(0.6 * logits)[np.arange(n), y],
            2: np.log(rng.dirichlet(np.ones(V), n))[np.arange(n), y], 3: None, 4: np.full(n, -np.log(V))}


def run_validator(miners, steps=40, k=3, mix=None, seed=1):
    rng = np.random.default_rng(seed)
    router, book = Router(k=k, explore=0.1, rng=seed, vocab_size=V), ScoreBook(alpha=0.1, mix=mix)
    router.sync(miners)
    for _ in range(steps):
        chosen = router.select()
        rows = rng.integers(0, 1500, 128)
        book.update(router.update({u: None if miners[u] is None else miners[u][rows] for u in chosen}))
    return router, book


# ---------------------------------------------------------------------- ScoreBook


def test_good_miner_outranks_bad_after_a_few_steps():
    book = ScoreBook(alpha=0.2)
    for _ in range(5):
        book.update(StepScores(uids=(0, 1, 2), loss={0: 2.0, 1: 2.6, 2: 9.0}, share={0: 0.7, 1: 0.3, 2: 0.0}))
    s = book.scores
    assert s[0] > s[1] > s[2] == 0
    w = book.weights()
    assert w.sum() == pytest.approx(1.0) and w[2] == 0 and w[0] > w[1]


def test_scores_from_routed_miners(miners):
    _, book = run_validator(miners)
    w = book.weights()
    assert len(w) == 5 and w.sum() == pytest.approx(1.0)
    assert w[3] == 0                                            # never answered: scored as worst every time
    assert w[2] < 0.01                                          # noise
    assert w[0] > w[1] > max(w[2], w[4])                        # good > weaker > noise, uniform
    table = book.table()
    assert table.loc[table.uid == 3, "failures"].item() == table.loc[table.uid == 3, "steps"].item() > 0
    _, with_copy = run_validator({**miners, 5: miners[0].copy()}, steps=60)
    w = with_copy.weights()
    assert w[0] == pytest.approx(w[5], rel=0.5) and min(w[0], w[5]) > w[2]   # a copy earns as its original


def test_share_splits_credit_between_copies_where_loss_does_not():
    step = StepScores(uids=(0, 1, 2), loss={0: 2.0, 1: 2.0, 2: 2.1}, share={0: 0.35, 1: 0.35, 2: 0.30})
    by_share, by_loss = ScoreBook(), ScoreBook(mix={"loss": 1.0})
    for _ in range(10):
        by_share.update(step)
        by_loss.update(step)
    # two copies together earn what one would alone under share: copying gains nothing
    assert by_share.weights()[:2].sum() == pytest.approx(0.7)
    assert by_loss.weights()[:2].sum() > 0.7


def test_timeouts_score_as_worst_and_decay():
    book = ScoreBook(alpha=0.5)
    book.update(StepScores(uids=(0, 1), loss={0: 2.0, 1: 2.0}, share={0: 0.5, 1: 0.5}))
    step = book.update(StepScores(uids=(0, 1), loss={0: 2.0}, share={0: 1.0}, failed={1: "timeout"}))
    assert step == {0: 1.0, 1: 0.0}
    assert book.scores[1] == pytest.approx(0.125) and book.scores[0] == pytest.approx(0.625)
    everyone_failed = StepScores(uids=(0, 1), failed={0: "timeout", 1: "timeout"})
    book.update(everyone_failed)
    assert book.scores[0] == pytest.approx(0.3125)
    for name in ("loss", "share", "loo", "shapley"):            # every component counts a timeout as 0
        assert book.component(name)[1] <= 0.0625 + 1e-12


def test_weights_vector_and_membership():
    book = ScoreBook(n=6, floor=0.1)
    book.update(StepScores(uids=(1, 4, 5), share={1: 0.6, 4: 0.35, 5: 0.05}, loss={1: 1, 4: 1, 5: 1}))
    w = book.weights()
    assert w.shape == (6,) and w[[0, 2, 3]].tolist() == [0, 0, 0]   # never seen
    assert w[5] == 0                                                # below 10% of the best
    assert w[1] == pytest.approx(0.6 / 0.95)
    assert book.weights(n=3).shape == (3,)
    with pytest.raises(InputError, match="outside"):
        book.update(StepScores(uids=(6,), share={6: 1.0}))
    book.sync([1, 4, 5], hotkeys={1: "5A", 4: "5B"})
    book.sync([1, 4, 5], hotkeys={1: "5A", 4: "5C"})               # uid 4 taken by a new hotkey
    book.sync([1, 4])                                               # uid 5 deregistered
    assert set(book.scores) == {1} and book.weights()[1] == 1.0
    assert ScoreBook().weights().shape == (0,)
    assert ScoreBook(n=3).weights().tolist() == [0, 0, 0]           # nothing earned yet: nothing to set
    with pytest.raises(InputError, match="unknown components"):
        ScoreBook(mix={"stake": 1.0})
    with pytest.raises(InputError):
        ScoreBook(alpha=0)


# ---------------------------------------------------------------------- when to set weights


def test_rate_limit_mirrors_the_chain():
    assert blocks_until_weights_allowed(block=5, last_update=0, rate_limit=100) == 0   # never set
    assert blocks_until_weights_allowed(block=150, last_update=100, rate_limit=100) == 50
    assert weights_allowed(200, 100, 100) and not weights_allowed(199, 100, 100)
    assert weights_allowed(101, 100, 0)


def test_next_weights_action():
    assert next_weights_action(199, 100, 100) == "wait"
    assert next_weights_action(200, 100, 100) == "set"
    assert next_weights_action(200, 100, 100, interval=360) == "wait"             # the validator's own cadence
    assert next_weights_action(200, 100, 100, commit_reveal=True) == "commit"
    kw = {"commit_reveal": True, "commit_epoch": 4, "reveal_period": 1}
    assert next_weights_action(150, 100, 100, current_epoch=5, **kw) == "reveal"  # reveals are not rate limited
    assert next_weights_action(150, 100, 100, current_epoch=4, **kw) == "wait"
    assert next_weights_action(250, 100, 100, current_epoch=7, **kw) == "commit"  # expired: commit anew
    assert [reveal_status(4, e, 2) for e in (5, 6, 7)] == ["early", "due", "expired"]
    with pytest.raises(InputError, match="current_epoch"):
        next_weights_action(150, 100, 100, commit_reveal=True, commit_epoch=4)


# ---------------------------------------------------------------------- EventLog


def test_eventlog_is_thread_safe_and_has_a_live_cursor():
    log = EventLog()
    cursor, seen = 0, []

    def write(thread):
        for i in range(500):
            log.append("response", block=i, validator_uid=0, miner_uid=thread, value=0.1 * i, latency_s=0.002)

    threads = [threading.Thread(target=write, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):                  # a widget polling while validators write
        new, cursor = log.since(cursor)
        seen.extend(new)
    for t in threads:
        t.join()
    new, cursor = log.since(cursor)
    seen.extend(new)
    assert len(log) == cursor == len(seen) == 4000
    assert sorted((e["miner_uid"], e["block"]) for e in seen) == [(t, i) for t in range(8) for i in range(500)]
    assert log.since(cursor) == ([], 4000)


def test_eventlog_tables_and_files(tmp_path, miners):
    log = EventLog()
    router = Router(k=5, rng=0, vocab_size=V)
    step = router.update({u: None if a is None else a[:64] for u, a in miners.items()})
    log.record_step(step, block=12, validator_uid=7, latency_s={0: 0.003, 3: 1.0})
    log.append("score", block=12, validator_uid=7, miner_uid=0, value=np.float32(0.5))
    log.append("weights", block=13, validator_uid=7, value=None, action="set", time=1.7e9)
    frame = log.to_pandas()
    assert list(frame.columns[:6]) == list(FIELDS)
    assert frame.kind.value_counts().to_dict() == {"route": 5, "response": 4, "timeout": 1, "score": 1, "weights": 1}
    assert frame.loc[frame.kind == "timeout", "miner_uid"].tolist() == [3]
    assert frame.miner_uid.isna().sum() == 1 and str(frame.miner_uid.dtype) == "Int64"
    for name in ("events.jsonl", "events.csv"):
        path = log.save(tmp_path / name)
        back = EventLog.load(path)
        assert len(back) == len(log)
        again = back.to_pandas()[frame.columns]
        assert again.equals(frame) if name.endswith("jsonl") else np.allclose(again.value, frame.value, equal_nan=True)
        assert back.since(0)[0][-1]["action"] == "set"
    first = json.loads((tmp_path / "events.jsonl").read_text().splitlines()[1])
    assert first["kind"] == "response" and first["share"] == pytest.approx(step.share[0])
    with pytest.raises(InputError, match="unknown event kind"):
        log.append("gossip", block=1, validator_uid=0)
    with pytest.raises(InputError, match="scalars"):
        log.append("weights", block=1, validator_uid=0, weights=[0.5, 0.5])
    with pytest.raises(InputError, match="validator_uid"):
        log.extend([{"kind": "route", "block": 1}])
    with pytest.raises(InputError, match=".jsonl or .csv"):
        log.save(tmp_path / "events.txt")
    assert frame.loc[frame.kind == "route", "value"].isna().all()
