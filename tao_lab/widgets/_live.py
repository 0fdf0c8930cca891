"""Keeping plotly FigureWidgets live when their front end connects late or fails to start.

plotly sends a FigureWidget's changes as messages and keeps the state a new view starts from as it
was at construction, so a front end that connects after some changes (Voila renders while the
notebook still runs; a page is reloaded) never sees them. And anywidget 0.11 gives each model 2 s
to load plotly.js, then drops its messages: on a loaded machine some panels froze in Voila.
`FrontEndWatch` copes with both: until a view confirms an edit, the starting state is kept current
(at most ``INITIAL_STATE_EVERY_S`` old), and a figure no view confirms for ``UNCONFIRMED_S`` is due
for a fresh FigureWidget, at most ``MAX_SWAPS`` times, further apart each time (so a notebook with
no front end at all pays little). It reads plotly's private edit-tracking traits (plotly 6-7).
"""

from __future__ import annotations

import time
from copy import deepcopy

__all__ = ["FrontEndWatch", "INITIAL_STATE_EVERY_S", "MAX_SWAPS", "UNCONFIRMED_S"]

UNCONFIRMED_S = 8.0
MAX_SWAPS = 3
INITIAL_STATE_EVERY_S = 1.0


def refresh_initial_state(fig) -> None:
    """Make the state a new view of ``fig`` starts from equal to the figure now."""
    fig._widget_data = deepcopy(fig._data)
    fig._widget_layout = deepcopy(fig._layout_obj._props)


class FrontEndWatch:
    """Per figure (by key): whether a front end confirmed its edits, and how often it was replaced."""

    def __init__(self):
        self.swaps: dict[str, int] = {}
        self._unconfirmed: dict[str, float] = {}
        self._refreshed: dict[str, float] = {}

    def after_update(self, key: str, fig) -> bool:
        """Call after updating ``fig``; True when it should be replaced by a fresh FigureWidget
        (then call `swapped`)."""
        if not (fig._layout_edit_in_process or fig._trace_edit_in_process):
            self._unconfirmed.pop(key, None)  # a front end applied the last edit
            return False
        now = time.monotonic()
        if now - self._refreshed.get(key, 0.0) >= INITIAL_STATE_EVERY_S:  # deep copies: not every tick
            self._refreshed[key] = now
            refresh_initial_state(fig)
        since = self._unconfirmed.setdefault(key, now)
        return self.swaps.get(key, 0) < MAX_SWAPS and now - since > UNCONFIRMED_S * 2 ** self.swaps.get(key, 0)

    def swapped(self, key: str) -> None:
        self.swaps[key] = self.swaps.get(key, 0) + 1
        self._unconfirmed.pop(key, None)
