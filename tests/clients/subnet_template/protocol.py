"""The wire protocol of the template subnet: one synapse, `AddOne`.

A validator sends a number; a miner fills in ``answer``; the right answer is ``number + 1``, so the validator can
score a reply without a model. A real subnet puts its task here (a prompt and a completion, an image and its
embedding, ...): every field is a pydantic field that travels in the HTTP body, and the fields a validator must trust
are hashed into the signed request (``required_hash_fields``).
"""

from typing import ClassVar, Optional

import bittensor as bt


class AddOne(bt.Synapse):
    """Ask a miner for ``number + 1``.

    ``number`` is set by the validator; ``answer`` is None until a miner fills it in. ``deserialize`` is what
    ``Dendrite.query(..., deserialize=True)`` hands back: the answer alone.
    """

    number: int
    answer: Optional[int] = None

    required_hash_fields: ClassVar[tuple[str, ...]] = ("number",)

    def deserialize(self) -> Optional[int]:
        return self.answer


def correct(number: int, answer: Optional[int]) -> bool:
    """Whether ``answer`` is the right reply to ``number``."""
    return answer is not None and answer == number + 1
