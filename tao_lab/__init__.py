"""tao_lab: a Jupyter-first lab kit for Bittensor-style networks."""

from .errors import InputError, TaoLabError

__all__ = ["TaoLabError", "InputError"]
__version__ = "0.1.0"
