"""Miner pieces that need no chain: training while serving, checkpoints, answers' shape."""

import numpy as np

from tao_lab.neurons.miner import Miner
from tao_lab.neurons.protocol import TextLogProbs
from tao_lab.client import Wallet


def test_miner_trains_answers_and_checkpoints(tmp_path):
    miner = Miner(Wallet.dev("//Eve", hotkey_uri="//Eve//m"), None, 1, model="tiny", train_steps=1,
                  optimizer="adam", checkpoint_dir=tmp_path / "ckpt", batch_size=2, threads=1)
    losses = miner.train(3)
    assert len(losses) == 3 and all(np.isfinite(losses))
    tokens = np.frombuffer(b"hello, world! " * 4, dtype=np.uint8)[:33].astype(np.int32).reshape(1, 33)
    reply = miner._answer(TextLogProbs(token_ids=np.repeat(tokens, 3, axis=0)))
    assert reply.log_probs.shape == (3, 33) and (reply.log_probs[:, 0] == 0).all() and (reply.log_probs <= 0).all()
    assert miner.trained == 4 and miner.answered == 1  # one training step after the answer
    path = miner.save()
    assert (path / "config.json").exists() or any(path.iterdir())


def test_a_miner_built_from_a_predictor_answers_next_token_with_its_module():
    """Supervised miners get their model as a Predictor (`build_model("tiny")`); NextToken must still
    be answered from the module's logits, the same as a miner built from the module itself."""
    from tao_lab.models import tiny_lm
    from tao_lab.neurons.protocol import NextToken
    from tao_lab.neurons.run import build_model

    wallet = Wallet.dev("//Eve", hotkey_uri="//Eve//p")
    context = np.frombuffer(b"def main():\n    return 0\n" * 3, dtype=np.uint8)[:48].astype(np.int32).reshape(2, 24)
    from_predictor = Miner(wallet, None, 1, model=build_model("tiny", seed=3))
    from_module = Miner(wallet, None, 1, model=tiny_lm(seed=3))
    a = from_predictor._next_token(NextToken(context_ids=context)).log_probs
    b = from_module._next_token(NextToken(context_ids=context)).log_probs
    assert a.shape == (2, 256) and np.allclose(np.exp(a).sum(axis=1), 1, atol=1e-4)
    assert np.allclose(a, b, atol=1e-5)
