"""The byte tokenizer: token id == byte value, vocabulary 256.

Byte-level tokens need no training and no download, cover every text, and make losses comparable
across miners (nats per byte). `ByteTokenizer` itself is pure Python and numpy (encoding runs at
~150 MB/s). `ByteTokenizer.to_hf()` gives the same mapping as a transformers tokenizer, so the
Hugging Face paths (``save_pretrained``, ``AutoTokenizer.from_pretrained``, pipelines) work on tiny
byte models: a ByteLevel BPE with the 256 single-byte tokens and no merges.

The HF tokenizer has no special tokens, so its vocabulary stays 256 and every text, whatever it
holds, maps to exactly its bytes. (A special token must be a new id: registering an existing byte
token as pad would turn the character that spells it, "Ā", into that byte.) Byte models use the NUL
byte, id 0, which never occurs in text, as pad and end-of-text id in their config.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..errors import InputError

__all__ = ["ByteTokenizer", "bytes_to_unicode"]

PAD_ID = 0  # the NUL byte: pad and end-of-text id of byte models


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte -> printable unicode character table (ByteLevel pre-tokenizers spell bytes with it).

    transformers 5 no longer exports it. Printable latin-1 bytes map to themselves; the other 68
    bytes map to characters from U+0100 on, in byte order.
    """
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table, extra = {}, 0
    for b in range(256):
        if b in printable:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


class ByteTokenizer:
    """UTF-8 bytes as tokens: ``encode("hé") -> [104, 195, 169]``, vocab_size 256."""

    vocab_size = 256
    pad_token_id = PAD_ID
    eos_token_id = PAD_ID

    def encode(self, text: str | bytes) -> np.ndarray:
        """Token ids of ``text`` (str is UTF-8 encoded), (N,) int64."""
        if isinstance(text, str):
            text = text.encode("utf-8")
        elif not isinstance(text, (bytes, bytearray, memoryview)):
            raise InputError("text", f"expected str or bytes, got {type(text).__name__}")
        return np.frombuffer(bytes(text), dtype=np.uint8).astype(np.int64)

    def decode(self, ids: Iterable[int] | np.ndarray) -> str:
        """The text of ``ids``; byte sequences that are not valid UTF-8 become U+FFFD."""
        arr = np.asarray(ids if not hasattr(ids, "tolist") else ids.tolist(), dtype=np.int64).reshape(-1)
        if arr.size and (arr.min() < 0 or arr.max() > 255):
            raise InputError("ids", f"byte ids must be in 0..255, got range {arr.min()}..{arr.max()}")
        return arr.astype(np.uint8).tobytes().decode("utf-8", errors="replace")

    def to_hf(self, pad_token: str | None = None):
        """The same tokenizer as a transformers ``PreTrainedTokenizerFast`` (ids == bytes, vocab 256).

        Built from a `tokenizers` BPE with one token per byte and no merges, with a ByteLevel
        pre-tokenizer (no prefix space) and decoder. It saves with ``save_pretrained`` and reloads
        with ``AutoTokenizer.from_pretrained``. ``pad_token`` (e.g. ``"<pad>"``) adds a special
        token with id 256 so ``padding=True`` works; the vocabulary is then 257.
        """
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers
        from transformers import PreTrainedTokenizerFast

        table = bytes_to_unicode()
        vocab = {table[b]: b for b in range(256)}
        core = Tokenizer(models.BPE(vocab=vocab, merges=[]))
        # use_regex=False: a window of bytes is one "word"; with no merges the split would not change ids.
        core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
        core.decoder = decoders.ByteLevel()
        extra = {} if pad_token is None else {"pad_token": pad_token}
        return PreTrainedTokenizerFast(tokenizer_object=core, model_max_length=1 << 30,
                                       clean_up_tokenization_spaces=False, **extra)

    def __repr__(self) -> str:
        return "ByteTokenizer(vocab_size=256)"
