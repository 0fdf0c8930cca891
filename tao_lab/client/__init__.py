"""The chain in Bittensor's vocabulary: `Subtensor` (client), `Wallet` (keys), `Metagraph` (state)."""

from .errors import ChainConnectionError, ChainError, Receipt, TransactionRejected
from .subtensor import Subtensor, weights_to_u16

__all__ = ["Subtensor", "Receipt", "ChainError", "TransactionRejected", "ChainConnectionError", "weights_to_u16"]
