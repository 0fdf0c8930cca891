"""Models miners serve: tiny byte-level LMs, local Hugging Face folders, SmolLM2, your own function.

Everything a miner can serve becomes a `Predictor` (`as_predictor`); `Trainer` trains the model
behind it while it serves. Names load on first use: ``from tao_lab.models import ByteTokenizer``
does not import torch.
"""

from .._lazy import lazy_attributes

_LAZY = {
    "ByteTokenizer": "tao_lab.models.tokenizer",
    "tiny_lm": "tao_lab.models.tiny",
    "tiny_config": "tao_lab.models.tiny",
    "target_logprobs": "tao_lab.models.loaders",
    "Predictor": "tao_lab.models.loaders",
    "as_predictor": "tao_lab.models.loaders",
    "load_hf_folder": "tao_lab.models.loaders",
    "load_smollm2": "tao_lab.models.loaders",
    "offline_env": "tao_lab.models.loaders",
    "ModelNotFound": "tao_lab.models.loaders",
    "ModelUnavailable": "tao_lab.models.loaders",
    "Trainer": "tao_lab.models.trainer",
}

__all__ = list(_LAZY)


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
