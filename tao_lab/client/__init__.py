"""The chain in Bittensor's vocabulary: `Subtensor` (client), `Wallet` (keys), `Metagraph` (state)."""

from .errors import ChainConnectionError, ChainError, NoBlockProduced, Receipt, TransactionRejected
from .metagraph import AxonInfo, Metagraph
from .recorder import Recorder
from .subtensor import Subtensor, weights_to_u16
from .keyfile import KeyFileError, KeyFileExists, WrongPassword
from .wallet import Wallet

__all__ = [
    "Subtensor", "Metagraph", "AxonInfo", "Recorder", "Receipt", "ChainError", "TransactionRejected",
    "ChainConnectionError", "NoBlockProduced", "weights_to_u16", "Wallet", "KeyFileError", "WrongPassword", "KeyFileExists",
]
