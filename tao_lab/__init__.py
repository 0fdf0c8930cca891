"""tao_lab: a Jupyter-first lab kit for Bittensor-style networks.

The names below are the public API. They load on first use, so ``import tao_lab`` starts nothing
and stays fast.
"""

from importlib import import_module

from .errors import InputError, TaoLabError

__version__ = "0.1.0"

_LAZY = {
    "Devnet": "tao_lab.node.devnet",
    "Subtensor": "tao_lab.client.subtensor",
    "Wallet": "tao_lab.client.wallet",
    "Metagraph": "tao_lab.client.metagraph",
    "Recorder": "tao_lab.client.recorder",
    "ChainError": "tao_lab.client.errors",
    "TransactionRejected": "tao_lab.client.errors",
    "ChainConnectionError": "tao_lab.client.errors",
    "Receipt": "tao_lab.client.errors",
    "KeyFileError": "tao_lab.client.keyfile",
    "WrongPassword": "tao_lab.client.keyfile",
}

__all__ = ["TaoLabError", "InputError", *_LAZY]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tao_lab' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
