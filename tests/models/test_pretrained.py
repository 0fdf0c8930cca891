"""The cache of pre-trained miners: a cached miner is the trained one (weights, losses, optimizer and
sampler state), keys separate what differs, and a broken or disabled cache only costs the training."""

import logging

import pytest
import torch

from tao_lab.client.wallet import Wallet
from tao_lab.models import pretrained
from tao_lab.models.pretrained import cache_key, pretrain
from tao_lab.neurons.miner import Miner

SPEC = {"model": "tiny", "seed": 3, "lr": 3e-3}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TAO_LAB_PRETRAIN_CACHE", str(tmp_path / "pretrained"))
    return tmp_path / "pretrained"


def miner(seed=3) -> Miner:
    # never started: no chain is needed to build, train, save and load one
    return Miner(Wallet.dev("//Alice", hotkey_uri=f"//Alice//pretrained{seed}"), None, 1, seed=seed, allow="any")


def weights(m: Miner) -> list:
    return [p.detach().clone() for p in m.predictor.model.parameters()]


def test_a_cached_miner_is_the_trained_one_and_goes_on_the_same(cache):
    first, second = miner(), miner()
    assert pretrain(first, 4, SPEC) == "trained"
    assert pretrain(second, 4, SPEC) == "cached"
    assert all(torch.equal(a, b) for a, b in zip(weights(first), weights(second)))
    assert second.losses == first.losses and len(first.losses) == 4 and second.trained == first.trained == 4
    # the optimizer and the batch sampler were restored too: two more steps stay identical
    assert first.train(2) == second.train(2)
    assert all(torch.equal(a, b) for a, b in zip(weights(first), weights(second)))
    assert len(list(cache.iterdir())) == 1


def test_what_decides_the_weights_is_in_the_key(cache):
    keys = {cache_key(SPEC, 4), cache_key(SPEC, 5), cache_key({**SPEC, "seed": 4}, 4),
            cache_key({**SPEC, "lr": 1e-3}, 4), cache_key({**SPEC, "task": "digits"}, 4),
            cache_key({**SPEC, "behaviour": "flaky"}, 4), cache_key({**SPEC, "device": "cuda:1"}, 4)}
    assert len(keys) == 7 and None not in keys
    assert cache_key({**SPEC, "device": "cuda:0"}, 4) == cache_key({**SPEC, "device": "cuda:1"}, 4)
    # a model or task given as an object or a folder, or nothing to train: not cacheable
    assert cache_key({**SPEC, "model": "/some/hf/folder"}, 4) is None
    assert cache_key({**SPEC, "task": object()}, 4) is None
    assert cache_key(SPEC, 0) is None
    assert pretrain(miner(), 2, {**SPEC, "model": "/some/hf/folder"}) == "trained, not cached"
    assert not cache.exists()


def test_off_always_trains(monkeypatch, tmp_path):
    monkeypatch.setenv("TAO_LAB_PRETRAIN_CACHE", "off")
    assert pretrained.cache_dir() is None
    assert pretrain(miner(), 2, SPEC) == "trained, not cached"
    assert pretrain(miner(), 2, SPEC) == "trained, not cached"


def test_a_broken_entry_is_retrained_and_replaced(cache, caplog):
    assert pretrain(miner(), 3, SPEC) == "trained"
    [entry] = cache.iterdir()
    entry.write_bytes(b"not a checkpoint")
    with caplog.at_level(logging.WARNING, logger="tao_lab.models.pretrained"):
        again = miner()
        assert pretrain(again, 3, SPEC) == "trained"
    assert "unreadable" in caplog.text and again.trained == 3
    assert pretrain(miner(), 3, SPEC) == "cached"


def test_only_the_newest_entries_are_kept(cache, monkeypatch):
    monkeypatch.setattr(pretrained, "MAX_ENTRIES", 2)
    for seed in (1, 2, 3):
        pretrain(miner(seed), 1, {**SPEC, "seed": seed})
    assert len(list(cache.glob("*.pt"))) == 2
    assert pretrain(miner(3), 1, {**SPEC, "seed": 3}) == "cached"
    assert pretrain(miner(1), 1, {**SPEC, "seed": 1}) == "trained"  # the oldest went


def test_a_miner_without_weights_only_trains(cache):
    # a behaviour that brings its own answers (noise, lazy, copier) has no model: nothing to train or store
    m = Miner(Wallet.dev("//Alice", hotkey_uri="//Alice//noweights"), None, 1, model=lambda tokens: tokens[:, 1:] * 0.0,
              allow="any")
    assert pretrain(m, 3, {**SPEC, "behaviour": "noise"}) == "trained, not cached"
    assert not cache.exists()
