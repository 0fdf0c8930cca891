"""Errors and receipts of chain writes."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import TaoLabError

__all__ = ["Receipt", "ChainError", "TransactionRejected", "ChainConnectionError", "NoBlockProduced"]


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
    included it (the fee was paid, nothing else changed). ``hint`` says what to do where the client
    knows (for ``BadOrigin``: who may sign the call); it ends the message.
    """

    def __init__(self, pallet: str | None, error: str, docs: str = "", receipt: Receipt | None = None,
                 hint: str = ""):
        self.pallet, self.error, self.docs, self.receipt, self.hint = pallet, error, docs, receipt, hint
        name = f"{pallet}.{error}" if pallet else error
        message = f"{name}: {docs}" if docs else name
        super().__init__(f"{message.rstrip('.')}. {hint}" if hint else message)


class TransactionRejected(TaoLabError):
    """The node refused the transaction before inclusion (bad nonce, unpayable fee, ...); nothing changed.

    ``reason`` is the node's wording, ``code`` the JSON-RPC error code (1010 for invalid transactions).
    """

    def __init__(self, reason: str, code: int | None = None):
        self.reason, self.code = reason, code
        super().__init__(f"the node rejected the transaction: {reason}")


class ChainConnectionError(TaoLabError, ConnectionError):
    """The node could not be reached or stopped answering within the timeout."""


class NoBlockProduced(ChainConnectionError):
    """A write waits for a block that the chain is not making: a devnet in manual block mode, a paused `Lab`.

    Nothing was lost: the transaction (``extrinsic_hash``) waits in the node's pool and goes into the
    next block, so make one (``subtensor.advance()``, ``lab.advance()``, the ``dev_newBlock`` RPC) or
    switch back to interval blocks (``lab.resume()``, ``dev_setBlockMode``). ``seconds`` is how long
    the client waited without seeing a new block.
    """

    def __init__(self, url: str, extrinsic_hash: str, seconds: float):
        self.url, self.extrinsic_hash, self.seconds = url, extrinsic_hash, seconds
        super().__init__(
            f"no block is being produced: the devnet at {url} made no block in {seconds:.0f} s (manual block "
            f"mode, or a paused lab). The transaction {extrinsic_hash} waits in its pool and goes into the next "
            "block: make one with subtensor.advance() (lab.advance() in a Lab, or the dev_newBlock RPC), or "
            "switch to interval blocks (lab.resume(), or dev_setBlockMode)")
