"""Errors and receipts of chain writes."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import TaoLabError

__all__ = ["Receipt", "ChainError", "TransactionRejected", "ChainConnectionError"]


@dataclass
class Receipt:
    """What a write did: where it landed, what it emitted, what it cost."""

    extrinsic_hash: str
    block_hash: str
    block_number: int
    success: bool
    fee: int  #: rao
    events: list[dict] = field(default_factory=list)  #: {"pallet", "name", "attributes"}

    def event(self, name: str, pallet: str | None = None) -> dict | None:
        """The attributes of the first event called ``name`` (optionally of ``pallet``), or None."""
        for e in self.events:
            if e["name"] == name and (pallet is None or e["pallet"] == pallet):
                return e["attributes"]
        return None


class ChainError(TaoLabError):
    """A transaction was included but its call failed.

    ``pallet`` and ``error`` name the chain's error (e.g. ``SubtensorModule.NotEnoughBalanceToStake``),
    ``docs`` is its documentation from the metadata, ``receipt`` the `Receipt` of the block that
    included it (the fee was paid, nothing else changed).
    """

    def __init__(self, pallet: str | None, error: str, docs: str = "", receipt: Receipt | None = None):
        self.pallet, self.error, self.docs, self.receipt = pallet, error, docs, receipt
        name = f"{pallet}.{error}" if pallet else error
        super().__init__(f"{name}: {docs}" if docs else name)


class TransactionRejected(TaoLabError):
    """The node refused the transaction before inclusion (bad nonce, unpayable fee, ...); nothing changed.

    ``reason`` is the node's wording, ``code`` the JSON-RPC error code (1010 for invalid transactions).
    """

    def __init__(self, reason: str, code: int | None = None):
        self.reason, self.code = reason, code
        super().__init__(f"the node rejected the transaction: {reason}")


class ChainConnectionError(TaoLabError, ConnectionError):
    """The node could not be reached or stopped answering within the timeout."""
