"""Tasks: next-token prediction on pydoc text or user text, digits classification, a user-defined Task."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tao_lab.errors import InputError
from tao_lab.tasks import Batch, DigitsTask, NextTokenTask, Task, domains, pydoc_text, pydoc_topics, stdlib_source


@pytest.fixture(scope="module")
def task() -> NextTokenTask:
    return NextTokenTask(context=32)


def test_default_corpus_is_all_pydoc_topics_as_bytes(task):
    text = pydoc_text()
    assert len(pydoc_topics()) > 50 and len(text) > 300_000
    assert np.array_equal(task.tokens, np.frombuffer(text.encode(), np.uint8))
    assert task.vocab_size == 256 and task.uniform_loss == pytest.approx(math.log(256))


def test_split_is_by_position_disjoint_and_deterministic(task):
    train, heldout = task.part("train"), task.part("heldout")
    assert len(train) == task.boundary == int(len(task.tokens) * 0.9)
    assert np.array_equal(np.concatenate([train, heldout]), task.tokens)
    T = task.context
    for split, lo, hi in (("train", 0, task.boundary), ("heldout", task.boundary, len(task.tokens))):
        b = task.sample(256, split, rng=7)
        assert b.inputs.shape == (256, T + 1) and b.targets.shape == (256, T) and b.split == split
        assert b.inputs.dtype == np.int64
        assert np.array_equal(b.targets, b.inputs[:, 1:])
        assert (b.index >= lo).all() and (b.index + T + 1 <= hi).all()  # no window crosses the boundary
        assert all(np.array_equal(task.tokens[i: i + T + 1], row) for i, row in zip(b.index, b.inputs))
        again = task.sample(256, split, rng=np.random.default_rng(7))
        assert np.array_equal(b.inputs, again.inputs)  # same seed, same batch
    assert not np.array_equal(task.sample(8, rng=1).inputs, task.sample(8, rng=2).inputs)


def test_windows_cover_the_heldout_part_in_order(task):
    batches = list(task.windows("heldout", batch_size=64))
    starts = np.concatenate([b.index for b in batches])
    assert starts[0] == task.boundary and np.all(np.diff(starts) == task.context)
    assert starts[-1] + task.context + 1 <= len(task.tokens)


def test_user_text_and_its_errors():
    t = NextTokenTask(text="héllo wörld. " * 50, context=8, split=0.5)
    assert np.array_equal(t.tokens, np.frombuffer(("héllo wörld. " * 50).encode(), np.uint8))
    b = t.sample(4, "train", rng=0)
    assert bytes(b.inputs[0].astype(np.uint8)) in ("héllo wörld. " * 50).encode()
    assert np.array_equal(NextTokenTask(text=b"abc" * 40, context=4).tokens[:3], [97, 98, 99])
    with pytest.raises(InputError, match="fewer than context"):
        NextTokenTask(text="too short", context=8)
    with pytest.raises(InputError, match="split"):
        NextTokenTask(text="x" * 1000, split=1.0)
    with pytest.raises(InputError, match="split"):
        t.sample(2, "test")
    with pytest.raises(InputError, match="batch_size"):
        t.sample(0)


def test_score_is_nats_per_token_and_robust_to_bad_answers(task):
    b = task.sample(4, rng=0)
    uniform = np.full(b.targets.shape, -math.log(256), np.float32)
    assert np.allclose(task.score(uniform, b), math.log(256))
    assert task.evaluate(lambda tokens: np.full((len(tokens), task.context), -math.log(256))) == pytest.approx(
        math.log(256))
    bad = uniform.copy()
    bad[0, :] = np.nan  # NaN counts as the floor
    bad[1, :] = 5.0  # a claim of p > 1 is clipped to p = 1
    bad[2, :] = -np.inf
    loss = task.score(bad, b)
    assert loss[0] == loss[2] == -task.logprob_floor and loss[1] == 0.0 and np.isfinite(loss).all()
    with pytest.raises(InputError, match="shape"):
        task.score(uniform[:, :-1], b)


def test_domains_are_disjoint_topic_groups_and_code_is_python():
    d = domains()
    assert set(d) == {"statements", "types"} and all(len(v) > 20_000 for v in d.values())
    assert d["statements"] not in d["types"] and pydoc_topics()["if"] in d["statements"]
    custom = domains({"loops": ["for", "while"], "more": ["for", "if"]})  # "for" goes to the first group only
    assert custom["loops"] == pydoc_text(["for", "while"]) and custom["more"] == pydoc_text(["if"])
    with pytest.raises(InputError, match="matches no pydoc topic"):
        domains({"x": ["no-such-topic"]})
    code = stdlib_source(["textwrap"])
    assert "def wrap(" in code
    both = NextTokenTask(text=d["statements"] + code, context=16)
    assert both.sample(2, rng=0).inputs.shape == (2, 17)


def test_digits_task_shapes_split_and_uniform_score():
    t = DigitsTask()
    x, y = t.part("train")
    assert x.shape == (t.boundary, 64) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    assert t.boundary + len(t.part("heldout")[1]) == 1797 and set(np.unique(y)) == set(range(10))
    b = t.sample(16, rng=0)
    assert b.inputs.shape == (16, 64) and b.targets.shape == (16,) and (b.index >= t.boundary).all()
    assert np.array_equal(DigitsTask().sample(16, rng=0).inputs, b.inputs)
    assert np.allclose(t.score(np.full((16, 10), -math.log(10)), b), math.log(10))
    perfect = np.full((16, 10), -40.0)
    perfect[np.arange(16), b.targets] = 0.0
    assert np.allclose(t.score(perfect, b), 0.0)
    with pytest.raises(InputError, match="shape"):
        t.score(np.zeros((16, 9)), b)


def test_a_trained_torch_mlp_beats_uniform_on_digits():
    torch = pytest.importorskip("torch")
    from tao_lab.models import Trainer

    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    task = DigitsTask()
    trainer = Trainer(mlp, task, lr=1e-2, batch_size=32)
    before = trainer.evaluate()
    trainer.step(60)
    after = trainer.evaluate()
    assert before == pytest.approx(task.uniform_loss, abs=0.3)
    assert after < 0.5 * task.uniform_loss  # log 10 = 2.30 nats; a few steps bring it well under 1


class Parity(Task):
    """A user-defined task, written against the public interface only: the parity of 8 random bits."""

    name, response, uniform_loss = "parity", "class_logprobs", math.log(2)

    def sample(self, batch_size, split="heldout", rng=None):
        bits = np.random.default_rng(rng).integers(0, 2, size=(batch_size, 8))
        return Batch(inputs=bits.astype(np.float32), targets=bits.sum(1) % 2, split=split)

    def score(self, predictions, batch):
        lp = self._check_logprobs(predictions, (len(batch), 2))
        return -lp[np.arange(len(batch)), batch.targets]


def test_a_user_defined_task_works_with_evaluate():
    t = Parity()
    oracle = lambda x: np.where(np.eye(2)[x.sum(1).astype(int) % 2] == 1, 0.0, -30.0)
    assert t.evaluate(oracle) == 0.0
    assert t.evaluate(lambda x: np.full((len(x), 2), -math.log(2))) == pytest.approx(math.log(2))


def test_importing_tasks_and_models_starts_nothing():
    """No torch, no environment changes at import: tasks are numpy, models load lazily."""
    import os
    import subprocess
    import sys

    code = ("import os, sys; import tao_lab.tasks, tao_lab.models; from tao_lab.models import ByteTokenizer; "
            "t = tao_lab.tasks.NextTokenTask(context=8); t.score(t.sample(2, rng=0).targets * 0.0 - 1, t.sample(2, rng=0)); "
            "assert 'torch' not in sys.modules and 'transformers' not in sys.modules, 'heavy import'; "
            "assert 'HF_HUB_OFFLINE' not in os.environ, 'env changed at import'")
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=60)
