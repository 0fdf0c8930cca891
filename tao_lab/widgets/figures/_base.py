"""What every panel shares: one colour per uid, the house layout, empty states, and in-place updates.

A panel is written as a *spec*: the full list of trace dicts it wants and the per-tick layout
properties (title, annotations, shapes), plus the name of the fixed "base" layout they sit on (axes,
domains, theme). `figure` turns a spec into a new ``go.Figure``; `apply` makes an existing figure
(``go.Figure`` or ``go.FigureWidget``) show the spec in place. Because ``build_x`` is literally
``apply`` on a blank figure, ``update_x(fig, data)`` and ``build_x(data)`` cannot drift apart.

Traces are matched by ``(type, name)``: a trace whose key is still wanted keeps its object (and, in
a FigureWidget, the user's legend clicks and zoom); only traces whose key appears or disappears are
added or removed, which happens when the set of uids or validators changes.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import plotly.graph_objects as go

__all__ = ["empty_figure", "uid_color"]

TEMPLATE = "plotly_white"
MARGIN = {"l": 56, "r": 24, "t": 64, "b": 44}  # t: room for a title and its subtitle line
FONT = {"size": 12}
#: alpha of every uid's colour when nothing is highlighted / of the highlighted uid / of the others
ALPHA, ALPHA_ON, ALPHA_OFF = 0.85, 1.0, 0.4
#: outline of the highlighted uid's bars and nodes
OUTLINE = "#111111"

# Tableau 10 then plotly's Bold: distinct on white, none close to grey (grey means "other uids").
_PALETTE = (
    "#4c78a8", "#f58518", "#e45756", "#72b7b2", "#54a24b", "#eeca3b", "#b279a2", "#ff9da6", "#9d755d",
    "#7f3c8d", "#11a579", "#3969ac", "#f2b701", "#e73f74", "#80ba5a", "#e68310", "#008695", "#cf1c90",
    "#f97b72", "#4b4b8f",
)


@lru_cache(maxsize=4096)
def uid_color(uid: int) -> str:
    """The colour of ``uid`` in every panel, as ``"#rrggbb"``.

    The first 20 uids get a hand-picked palette; later ones a hue stepped by the golden angle, so any
    two nearby uids differ and a uid has the same colour in every figure and every run.
    """
    uid = int(uid)
    if 0 <= uid < len(_PALETTE):
        return _PALETTE[uid]
    hue = (uid * 0.618033988749895) % 1.0
    light = 0.42 if uid % 2 else 0.55  # alternate lightness so neighbouring hues still separate
    r, g, b = colorsys.hls_to_rgb(hue, light, 0.62)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


@lru_cache(maxsize=16384)
def rgba(color: str, alpha: float) -> str:
    """``"#rrggbb"`` with an alpha in [0, 1], as ``"#rrggbbaa"`` (plotly checks it about twice as fast
    as ``rgba(...)``, which counts with thousands of bars or links per tick)."""
    return f"{color[:7]}{round(alpha * 255):02x}"


def alpha_of(uid: int, highlight: int | None) -> float:
    """Opacity for ``uid``'s marks: all equal without a highlight; the selected uid on top otherwise."""
    if highlight is None:
        return ALPHA
    return ALPHA_ON if int(uid) == int(highlight) else ALPHA_OFF


def uid_colors(uids, highlight: int | None) -> list[str]:
    """``rgba`` colour per uid, dimmed unless it is ``highlight`` (all equal when that is None)."""
    return [rgba(uid_color(u), alpha_of(u, highlight)) for u in uids]


def outline_widths(uids, highlight: int | None, width: float = 2.0) -> list[float]:
    """Bar/marker outline width per uid: ``width`` for the highlighted uid, 0 for the others."""
    h = None if highlight is None else int(highlight)
    return [width if int(u) == h else 0.0 for u in uids]


def message(text: str) -> dict:
    """A centred, grey annotation saying why a panel is empty (e.g. "no queries yet")."""
    return {"text": text, "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5, "showarrow": False,
            "font": {"size": 15, "color": "#888888"}}


def house_title(text: str) -> dict:
    """The house title: ``text`` at the top left, a little larger than the body."""
    return {"text": text, "font": {"size": 14}, "x": 0.01, "xanchor": "left"}


def subtitle(text: str) -> str:
    """A smaller grey second title line (panels are ~480 px wide: one line holds ~45 characters)."""
    return f"<br><span style='font-size:11px;color:#555'>{text}</span>"


def base_layout(key: str, *, height: int, **axes) -> dict:
    """The house layout of a panel: theme, compact margins, ``height`` in px, and its axes.

    ``uirevision`` keeps a FigureWidget's zoom and legend clicks across updates; ``meta`` records
    which base layout this is, so `apply` knows when a figure needs a different one.
    """
    return {"template": TEMPLATE, "height": height, "margin": MARGIN, "font": FONT, "meta": key,
            "uirevision": key, "legend": {"font": {"size": 11}}, "hoverlabel": {"font": {"size": 11}}, **axes}


@dataclass
class Spec:
    """What a panel should show: ``base`` (the fixed layout dict), ``traces`` (full trace dicts with
    ``type`` and a unique ``name``, the same keys every tick) and ``layout`` (per-tick properties)."""

    base: dict
    traces: list[dict] = field(default_factory=list)
    layout: dict = field(default_factory=dict)


def figure(spec: Spec) -> go.Figure:
    """A new ``go.Figure`` showing ``spec``."""
    fig = go.Figure()
    apply(fig, spec)
    return fig


def apply(fig: go.Figure, spec: Spec) -> None:
    """Make ``fig`` (a Figure or FigureWidget) show ``spec`` in place, in one ``batch_update``
    (plus one relayout in the rare tick where annotations or shapes disappear)."""
    spec.traces = [_no_empty_arrays(t) for t in spec.traces]
    wanted = [(t["type"], t["name"]) for t in spec.traces]
    with fig.batch_update():
        if fig.layout.meta != spec.base["meta"]:
            fig.layout = go.Layout(spec.base)
        have = [(t.type, t.name) for t in fig.data]
        if have != wanted:
            keep = set(wanted)
            kept = [t for t, k in zip(fig.data, have) if k in keep]
            if len(kept) != len(fig.data):
                fig.data = kept
            known = {(t.type, t.name) for t in kept}
            new = [t for t, k in zip(spec.traces, wanted) if k not in known]
            if new:
                fig.add_traces(new)
            by_key = {(t.type, t.name): t for t in fig.data}
            if [(t.type, t.name) for t in fig.data] != wanted:
                fig.data = [by_key[k] for k in wanted]  # a permutation: plotly moves, never re-creates
            fresh = {(t["type"], t["name"]) for t in new}
        else:
            fresh = set()
        for trace, props, k in zip(fig.data, spec.traces, wanted):
            if k not in fresh:
                _assign(trace, props)
        # each property assigned whole (lists such as annotations are never merged element-wise)
        unset = []
        for name, value in spec.layout.items():
            if isinstance(value, list) and not value:
                if fig.layout[name]:
                    unset.append(name)
            else:
                fig.layout[name] = value
    # An emptied list is unset so the figure equals a fresh build; inside a batch plotly would keep
    # an explicit [] instead. This only happens when annotations or shapes go away (rare).
    for name in unset:
        fig.layout[name] = None


def _no_empty_arrays(props: dict) -> dict:
    """``props`` with empty numpy arrays as ``[]``: an empty array reaches plotly.js as a typed array
    that Voila's widget manager cannot set ("Invalid array length"), which broke the whole widget."""
    out = {}
    for name, value in props.items():
        if isinstance(value, dict):
            value = _no_empty_arrays(value)
        elif isinstance(value, np.ndarray) and value.size == 0:
            value = []
        out[name] = value
    return out


def _assign(obj, props: dict) -> None:
    """Set ``props`` on a trace (or one of its compound properties), skipping values it already has.

    Plotly validates every element of an assigned array (a colour string costs ~20 us), and a
    FigureWidget sends each assignment to the browser, so unchanged colours, labels and axes are
    left alone. A panel gives the same keys every tick, so this ends where building would.
    """
    for name, value in props.items():
        if name == "type":
            continue
        if isinstance(value, dict):
            _assign(obj[name], value)
        elif not _same(obj[name], value):
            obj[name] = value


def _same(old, new) -> bool:
    """Whether a stored property value ``old`` is already ``new`` (same dtype too, so the JSON matches)."""
    if isinstance(new, np.ndarray) or isinstance(old, np.ndarray):
        return (isinstance(old, np.ndarray) and isinstance(new, np.ndarray) and old.dtype == new.dtype
                and old.shape == new.shape and bool(np.array_equal(old, new)))
    if isinstance(new, (list, tuple)):
        return isinstance(old, (list, tuple)) and len(old) == len(new) and list(old) == list(new)
    try:
        return type(old) is type(new) and bool(old == new)
    except (TypeError, ValueError):
        return False


def empty_figure(text: str, *, height: int = 320) -> go.Figure:
    """A themed figure with no data and ``text`` in the middle (axes hidden), for a panel with nothing to show."""
    return figure(Spec(base=base_layout("empty", height=height, xaxis={"visible": False},
                                        yaxis={"visible": False}),
                       layout={"title": house_title(""), "annotations": [message(text)]}))
