"""pallet_aura: block authoring slots. The devnet has no authorities; only the slot length is declared,
because clients derive the block time from it (bittensor 11's ``block_time()`` = SlotDuration / 1000)."""

from __future__ import annotations

from ..pallet import Constant, Pallet
from ..scale import U64

#: milliseconds per slot: the devnet's default interval between blocks (``Devnet(block_time=0.25)``)
SLOT_DURATION_MS = 250


class Aura(Pallet):
    name = "Aura"
    index = 3
    module = "pallet_aura"
    docs = "Block authoring slots; on the devnet only the slot length, which clients read as the block time."

    constants = [Constant("SlotDuration", U64, SLOT_DURATION_MS,
                          "The slot duration in milliseconds: the devnet's default block interval (0.25 s). It does "
                          "not follow Devnet(block_time=...), instant or manual blocks.")]
