"""Widgets: live views of a running network, built from pure figure functions.

``tao_lab.widgets.figures`` holds the figures (data -> plotly figure, no kernel needed); the
widget classes below wire them to a `tao_lab.Lab` or to plain arrays. Nothing is imported until
first use, so ``import tao_lab.widgets`` stays cheap.
"""

from .._lazy import lazy_attributes

_LAZY = {
    "Dashboard": "tao_lab.widgets.dashboard",
    "Explainer": "tao_lab.widgets.explainer",
    "MetagraphTable": "tao_lab.widgets.table",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
