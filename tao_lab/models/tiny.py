"""Tiny causal language models built from a config: the default miners of a tao_lab subnet.

These are real transformers models (``LlamaForCausalLM``, ``GPT2LMHeadModel``), just small: the
default (hidden 128, 2 layers, 4 heads, byte vocabulary) has about half a million parameters,
trains at thousands of tokens per second and scores ~70k target tokens per second on 2 CPU cores.
Because they are ordinary transformers models they save with ``save_pretrained``, reload with
``from_pretrained``, and scale up by changing the config. Dropout is off: short runs learn faster without it, and train and eval outputs agree.

| kind    | hidden 128, 2 layers, 4 heads, vocab 256 | notes                                        |
|---------|------------------------------------------|----------------------------------------------|
| "llama" | 0.52M params                             | RoPE, RMSNorm, SwiGLU, 2 key/value heads     |
| "gpt2"  | 0.45M params                             | learned positions (so at most ``context``)   |
"""

from __future__ import annotations

from typing import Literal

from ..errors import InputError
from .tokenizer import PAD_ID

__all__ = ["tiny_lm", "tiny_config"]


def tiny_config(kind: Literal["llama", "gpt2"] = "llama", hidden: int = 128, layers: int = 2, heads: int = 4,
                context: int = 128, vocab_size: int = 256, kv_heads: int | None = None,
                intermediate: int | None = None, tie_embeddings: bool = True):
    """The transformers config of a tiny LM (see `tiny_lm` for the arguments)."""
    from transformers import GPT2Config, LlamaConfig

    if hidden % heads:
        raise InputError("heads", f"hidden ({hidden}) must be a multiple of heads ({heads})")
    common = dict(vocab_size=vocab_size, pad_token_id=PAD_ID, eos_token_id=PAD_ID, bos_token_id=None,
                  tie_word_embeddings=tie_embeddings)
    if kind == "llama":
        kv_heads = kv_heads or max(1, heads // 2)  # grouped-query attention, as in current Llamas
        if heads % kv_heads:
            raise InputError("kv_heads", f"heads ({heads}) must be a multiple of kv_heads ({kv_heads})")
        return LlamaConfig(hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                           num_key_value_heads=kv_heads, intermediate_size=intermediate or 4 * hidden,
                           max_position_embeddings=context, attention_dropout=0.0, **common)
    if kind == "gpt2":
        return GPT2Config(n_embd=hidden, n_layer=layers, n_head=heads, n_positions=context,
                          n_inner=intermediate, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, **common)
    raise InputError("kind", f"expected 'llama' or 'gpt2', got {kind!r}")


def tiny_lm(kind: Literal["llama", "gpt2"] = "llama", hidden: int = 128, layers: int = 2, heads: int = 4,
            context: int = 128, seed: int = 0, vocab_size: int = 256, kv_heads: int | None = None,
            intermediate: int | None = None, tie_embeddings: bool = True, attn_implementation: str = "sdpa"):
    """A freshly initialised tiny causal LM, in eval mode, fp32, on the CPU.

    Args:
        kind: "llama" or "gpt2".
        hidden, layers, heads: width, depth and attention heads.
        context: the longest sequence it is meant for (positions; GPT-2 cannot go beyond it).
        seed: initial weights are a function of the seed alone; the global torch RNG is left as it was.
        vocab_size: 256 for the byte tokenizer.
        kv_heads, intermediate: Llama's key/value heads (default heads // 2) and MLP width (default 4 * hidden).
    """
    import torch
    from transformers import AutoModelForCausalLM

    config = tiny_config(kind, hidden, layers, heads, context, vocab_size, kv_heads, intermediate, tie_embeddings)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = AutoModelForCausalLM.from_config(config, attn_implementation=attn_implementation)
    return model.eval()  # from_config returns train mode; eval mode is what serving expects
