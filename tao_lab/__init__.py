"""tao_lab: a Jupyter-first lab kit for Bittensor-style networks.

The names below are the public API. They load on first use, so ``import tao_lab`` starts nothing
and stays fast.
"""

from ._lazy import lazy_attributes
from .errors import InputError, TaoLabError

__version__ = "0.1.0"

_LAZY = {
    "Lab": "tao_lab.lab",
    "LabError": "tao_lab.lab",
    "Miner": "tao_lab.neurons.miner",
    "Validator": "tao_lab.neurons.validator",
    "Supervisor": "tao_lab.neurons.supervisor",
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


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)


def _jupyter_labextension_paths() -> list[dict]:
    """Where JupyterLab finds the TAO Lab sidebar (built into ``tao_lab/labextension``)."""
    return [{"src": "labextension", "dest": "tao-lab"}]


def _jupyter_server_extension_points() -> list[dict]:
    """The server extension (REST API for the sidebar) lives in `tao_lab.server`; docs/server.md."""
    return [{"module": "tao_lab.server"}]
