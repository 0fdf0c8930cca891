"""Acceptance scenario of issue 5, on CPU: the network pays for quality.

A devnet subnet with one validator and four miners: two pre-trained a little, one untrained, one
answering noise. After a few epochs the chain's incentive ranks the trained miners above the
untrained one and the noise miner near zero, and the validator's weights on chain match its scores.
"""

import numpy as np
import pytest

from tao_lab import Devnet, Metagraph, Subtensor, Wallet
from tao_lab.neurons.miner import Miner
from tao_lab.neurons.validator import Validator

TAO = 10**9


def staked_validator(sub, hotkey_uri: str, stake: int):
    """Dave's validator hotkey, registered and staked on subnet 1, with a permit from one epoch."""
    wallet = Wallet.dev("//Dave", hotkey_uri=hotkey_uri)
    sub.burned_register(wallet, 1)
    sub.add_stake(wallet, 1, stake)
    sub.next_epoch(1)
    return wallet


def noise(context_ids):  # (B, T) -> logits (B, T, 256): confident about random bytes
    return np.random.default_rng(len(context_ids)).normal(0, 5, (*context_ids.shape, 256))


@pytest.fixture(scope="module")
def network():
    with Devnet(instant=True) as dev, Subtensor(dev) as sub:
        sub.set_hyperparameter(Wallet.dev("//Alice"), 1, "tempo", 5)
        miners = []
        for i, kind in enumerate(["trained", "trained", "untrained", "noise"]):
            wallet = Wallet.dev("//Charlie", hotkey_uri=f"//Charlie//miner{i}")
            miner = Miner(wallet, sub, 1, model=noise if kind == "noise" else "tiny", seed=i)
            if kind == "trained":
                miner.train(30)
            miners.append((kind, miner.start()))
        vw = staked_validator(sub, "//Dave//validator", 1000 * TAO)
        validator = Validator(vw, sub, 1, k=4, batch_size=32, seed=0)
        try:
            yield sub, miners, validator
        finally:
            validator.stop()
            for _, miner in miners:
                miner.stop()


def test_incentive_ranks_trained_above_untrained_and_noise_near_zero(network):
    sub, miners, validator = network
    for i in range(12):
        report = validator.step()
        assert not report["failed"], report
        if i % 3 == 2:
            sub.next_epoch(1)
    sub.next_epoch(1)
    mg = Metagraph(1).sync(sub)
    uid = {kind + str(n): m.uid for n, (kind, m) in enumerate(miners)}
    trained = [mg.I[uid["trained0"]], mg.I[uid["trained1"]]]
    assert min(trained) > mg.I[uid["untrained2"]]
    assert mg.I[uid["noise3"]] < 0.02
    assert sum(trained) > 0.8

    # The weights on chain are the validator's scores when it last set them, as set_weights stores them.
    on_chain = dict(sub.query("SubtensorModule", "Weights", [1, validator.uid]))
    sent = validator.last_weights
    assert set(on_chain) == set(sent)
    top = max(sent.values())
    for miner_uid, value in on_chain.items():
        assert abs(value / 65535 - sent[miner_uid] / top) < 1e-4
    assert np.argmax(validator.scores.weights(mg.n)) in (uid["trained0"], uid["trained1"])
    kinds = set(validator.events.to_pandas()["kind"])
    assert {"route", "response", "score", "weights"} <= kinds and kinds <= {"route", "response", "timeout", "score", "weights"}


def test_validator_commits_and_reveals_on_a_commit_reveal_subnet():
    with Devnet(instant=True) as dev, Subtensor(dev) as sub:
        alice = Wallet.dev("//Alice")
        sub.set_hyperparameter(alice, 1, "tempo", 3)
        sub.set_hyperparameter(alice, 1, "commit_reveal_weights_enabled", True)
        miners = [Miner(Wallet.dev("//Charlie", hotkey_uri=f"//Charlie//cr{i}"), sub, 1, seed=i).start() for i in range(2)]
        vw = staked_validator(sub, "//Dave//cr", 100 * TAO)
        validator = Validator(vw, sub, 1, k=2, batch_size=8, seed=1)
        try:
            actions = []
            for _ in range(8):
                actions.append(validator.step()["action"])
                if "reveal" in actions:
                    break
                if actions[-1] == "commit":
                    sub.next_epoch(1)  # the reveal epoch
                else:
                    sub.advance(1)
            assert "commit" in actions and "reveal" in actions, actions
            stored = dict(sub.query("SubtensorModule", "Weights", [1, validator.uid]))
            assert set(stored) <= {m.uid for m in miners} and max(stored.values()) == 65535
        finally:
            validator.stop()
            for m in miners:
                m.stop()


def test_complementary_specialists_mix_better_than_either_and_both_earn():
    """Second scenario: a prose miner and a code miner; the validator asks about both kinds of text."""
    from tao_lab.tasks import NextTokenTask, pydoc_text, stdlib_source

    prose, code = pydoc_text(), stdlib_source()
    mixed = NextTokenTask(text="".join(p + c for p, c in zip(_chunks(prose), _chunks(code))), context=64)
    with Devnet(instant=True) as dev, Subtensor(dev) as sub:
        sub.set_hyperparameter(Wallet.dev("//Alice"), 1, "tempo", 5)
        specialists = []
        for i, text in enumerate((prose, code)):
            miner = Miner(Wallet.dev("//Charlie", hotkey_uri=f"//Charlie//spec{i}"), sub, 1, seed=i,
                          task=NextTokenTask(text=text, context=64))
            miner.train(60)
            specialists.append(miner.start())
        vw = staked_validator(sub, "//Dave//mix", 100 * TAO)
        validator = Validator(vw, sub, 1, task=mixed, k=2, batch_size=64, seed=3)
        try:
            gains = []
            for i in range(10):
                validator.step()
                step = validator.last_step
                gains.append(min(step.loss.values()) - step.mixture_loss)
                if i % 3 == 2:
                    sub.next_epoch(1)
            sub.next_epoch(1)
            # The learned mixture beats the best single miner on every batch of mixed text.
            assert min(gains) > 0 and np.mean(gains) > 0.01, gains
            incentive = Metagraph(1).sync(sub).I
            assert all(incentive[m.uid] > 0.2 for m in specialists), incentive
        finally:
            validator.stop()
            for m in specialists:
                m.stop()


def _chunks(text, size=2048):
    return [text[i:i + size] for i in range(0, len(text), size)]


def test_a_second_task_digits_classification_runs_through_the_same_network():
    """Not tied to text: miners classify scikit-learn's digits; the trained one outscores the untrained one."""
    import torch

    from tao_lab.tasks import DigitsTask

    task = DigitsTask()
    with Devnet(instant=True) as dev, Subtensor(dev) as sub:
        miners = []
        for i in range(2):
            torch.manual_seed(i)
            mlp = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
            miner = Miner(Wallet.dev("//Charlie", hotkey_uri=f"//Charlie//digits{i}"), sub, 1, model=mlp, task=task,
                          lr=1e-2, seed=i)
            if i == 0:
                miner.train(150)
            miners.append(miner.start())
        vw = staked_validator(sub, "//Dave//digits", 100 * TAO)
        validator = Validator(vw, sub, 1, task=task, k=2, batch_size=32, seed=5)
        try:
            for _ in range(6):
                report = validator.step()
                assert not report["failed"], report
            scores = validator.scores.scores
            assert scores[miners[0].uid] > 2 * scores[miners[1].uid]
            assert validator.last_step.loss[miners[0].uid] < validator.last_step.loss[miners[1].uid]
        finally:
            validator.stop()
            for m in miners:
                m.stop()


def test_a_miner_claiming_certainty_gains_nothing():
    """A cheater that answers "probability 1" for every token cannot know the hidden target: after
    renormalisation its claims are a uniform guess, and an honest trained miner outscores it."""
    from tao_lab.neurons.protocol import NextToken

    with Devnet(instant=True) as dev, Subtensor(dev) as sub:
        honest = Miner(Wallet.dev("//Charlie", hotkey_uri="//Charlie//honest"), sub, 1, seed=0)
        honest.train(30)
        cheater = Miner(Wallet.dev("//Charlie", hotkey_uri="//Charlie//cheat"), sub, 1, seed=1)

        def claim_certainty(synapse: NextToken) -> NextToken:
            synapse.log_probs = np.zeros((len(synapse.context_ids), 256), dtype=np.float32)  # "p = 1" everywhere
            return synapse

        cheater.axon.attach(NextToken, claim_certainty)
        honest.start(), cheater.start()
        vw = staked_validator(sub, "//Dave//judge", 100 * TAO)
        validator = Validator(vw, sub, 1, k=2, seed=2)
        try:
            for _ in range(4):
                validator.step()
            loss = validator.last_step.loss
            assert abs(loss[cheater.uid] - np.log(256)) < 1e-6  # renormalised: exactly uniform
            assert loss[honest.uid] < loss[cheater.uid]
            scores = validator.scores.scores
            assert scores[honest.uid] > scores[cheater.uid]
        finally:
            validator.stop()
            honest.stop()
            cheater.stop()
