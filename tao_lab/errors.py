"""The one exception tree of tao_lab.

Every error tao_lab raises derives from `TaoLabError`, so ``except TaoLabError`` catches them all.
Errors say what was wrong and what to do, and carry what they came from as attributes.
"""

from __future__ import annotations

__all__ = ["TaoLabError", "InputError"]


class TaoLabError(Exception):
    """Base class of every error raised by tao_lab."""


class InputError(TaoLabError, ValueError):
    """An argument was malformed: wrong shape, type, range or value.

    ``argument`` names the offending parameter (e.g. ``"stake"`` or ``"params.kappa"``).
    """

    def __init__(self, argument: str, message: str):
        self.argument = argument
        super().__init__(f"{argument}: {message}")
