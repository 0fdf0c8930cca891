"""Panels drawn from the chain: weights and consensus, incentive/dividends/emission, stake, and
cumulative emission over a `Recorder` history.

``mg`` is a `tao_lab.client.metagraph.Metagraph` or anything with its arrays (uids, S, W, C, I, D,
E, validator_permit, block); stake and emission are in TAO, I, D and C in [0, 1].
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ._base import (
    ALPHA_OFF, OUTLINE, Spec, apply, base_layout, figure, house_title, message, outline_widths, rgba, subtitle,
    uid_color, uid_colors,
)

__all__ = [
    "build_cumulative_emission", "build_emission", "build_stake", "build_weights",
    "update_cumulative_emission", "update_emission", "update_stake", "update_weights",
]

DEFAULT_MAX_UIDS = 20
_OTHERS = "#bdbdbd"
_BALANCE = "#6c8ebf"


def _labels(uids) -> list[str]:
    return [f"uid {int(u)}" for u in uids]


def _at_block(mg) -> str:
    block = getattr(mg, "block", None)
    return "" if block is None else f" at block {int(block)}"


def _index(values: np.ndarray, value) -> int | None:
    """Position of ``value`` in ``values``, or None."""
    found = np.flatnonzero(values == value)
    return int(found[0]) if len(found) else None


def _bar_marker(uids, highlight, **extra) -> dict:
    """Per-uid bar colours, with the highlighted uid outlined."""
    return {"color": uid_colors(uids, highlight),
            "line": {"color": OUTLINE, "width": outline_widths(uids, highlight)}, **extra}


# ---------------------------------------------------------------------------------------------- weights

_WEIGHTS_BASE = base_layout(
    "weights", height=380, showlegend=True,
    legend={"font": {"size": 11}, "orientation": "h", "x": 0, "y": 0.93, "yanchor": "bottom"},
    # top strip: kappa-clipped weight (bars, left) and consensus C (line, right); below: the heatmap
    xaxis={"anchor": "y", "domain": [0.0, 0.92], "matches": "x2", "showticklabels": False, "type": "category"},
    yaxis={"anchor": "x", "domain": [0.72, 0.9], "title": {"text": "clipped Σ"}, "rangemode": "tozero"},
    yaxis2={"anchor": "x", "overlaying": "y", "side": "right", "title": {"text": "C"}, "rangemode": "tozero",
            "showgrid": False},
    xaxis2={"anchor": "y3", "domain": [0.0, 0.92], "type": "category", "title": {"text": "target uid"}},
    yaxis3={"anchor": "x2", "domain": [0.0, 0.66], "type": "category", "autorange": "reversed",
            "title": {"text": "validator"}},
)


def _weights_spec(mg, highlight: int | None) -> Spec:
    uids = np.asarray(mg.uids, dtype=np.int64)
    W = np.asarray(mg.W, dtype=float).reshape(len(uids), len(uids))
    C = np.asarray(mg.C, dtype=float)
    # rows worth showing: validators with a permit, and anyone whose weights are set
    rows = np.flatnonzero(np.asarray(mg.validator_permit, dtype=bool) | (W.sum(axis=1) > 0))
    z = W[rows]
    clipped = np.maximum(z - C[None, :], 0.0)  # what Yuma's kappa-majority clip takes off each weight
    cols, row_labels = _labels(uids), _labels(uids[rows])
    hover = np.dstack([clipped, np.broadcast_to(C, z.shape)]) if z.size else np.zeros((0, len(uids), 2))
    traces = [
        {"type": "bar", "name": "clipped by kappa (Σ over validators)", "x": cols, "y": clipped.sum(axis=0),
         "xaxis": "x", "yaxis": "y", "marker": _bar_marker(uids, highlight),
         "hovertemplate": "%{x}: %{y:.4f} of weight clipped above C<extra></extra>"},
        {"type": "scatter", "name": "consensus C", "mode": "lines+markers", "x": cols, "y": C,
         "xaxis": "x", "yaxis": "y2", "line": {"color": "#333333", "width": 1.5}, "marker": {"size": 4},
         "hovertemplate": "%{x}: C %{y:.4f}<extra></extra>"},
        {"type": "heatmap", "name": "W", "x": cols, "y": row_labels, "z": z, "customdata": hover,
         "xaxis": "x2", "yaxis": "y3", "colorscale": "Blues", "zmin": 0.0, "showscale": True,
         "colorbar": {"title": {"text": "W"}, "thickness": 10, "len": 0.66, "y": 0, "yanchor": "bottom", "x": 0.97},
         "hovertemplate": ("%{y} → %{x}<br>W %{z:.4f}, C %{customdata[1]:.4f}<br>"
                           "clipped above C %{customdata[0]:.4f}<extra></extra>")},
    ]
    shapes = []
    if highlight is not None:
        line = {"color": OUTLINE, "width": 2.5}  # dark: a uid colour can vanish on the blue scale
        col = _index(uids, highlight)
        if col is not None:
            shapes.append({"type": "rect", "xref": "x2", "yref": "y3 domain", "x0": col - 0.5, "x1": col + 0.5,
                           "y0": 0, "y1": 1, "line": line})
        row = _index(uids[rows], highlight)
        if row is not None:
            shapes.append({"type": "rect", "xref": "x2 domain", "yref": "y3", "x0": 0, "x1": 1,
                           "y0": row - 0.5, "y1": row + 0.5, "line": line})
    notes = []
    if not len(uids):
        notes = [message("no neurons yet")]
    elif not z.any():
        notes = [message("no weights set yet")]
    title = f"Weights W{_at_block(mg)}" + subtitle("rows sum to 1 · top: consensus C, weight clipped by kappa")
    return Spec(_WEIGHTS_BASE, traces, {"title": house_title(title), "annotations": notes, "shapes": shapes})


def build_weights(mg, *, highlight: int | None = None):
    """Heatmap of W (rows: validators with a permit or with weights set; columns: every uid), under a
    strip with the consensus C of each column (line, right axis) and the weight kappa clipped from it
    (bars: Σ over rows of max(W − C, 0), left axis). Hover on a cell gives W, C and its clipped part.
    ``highlight`` draws a box round that uid's column (and its row, if it is one) and dims the
    other bars.
    """
    return figure(_weights_spec(mg, highlight))


def update_weights(fig, mg, *, highlight: int | None = None) -> None:
    """Make ``fig`` (from `build_weights`) show ``mg`` in place, as `build_weights` would."""
    apply(fig, _weights_spec(mg, highlight))


# ---------------------------------------------------------------------------------------------- emission

_EMISSION_BASE = base_layout(
    "emission", height=360, barmode="group", bargap=0.15,
    legend={"font": {"size": 11}, "orientation": "h", "x": 0, "y": 0.95, "yanchor": "bottom"},
    xaxis={"anchor": "y", "domain": [0, 1], "matches": "x2", "showticklabels": False, "type": "category"},
    yaxis={"anchor": "x", "domain": [0.54, 0.93], "title": {"text": "I, D (fraction)"}, "rangemode": "tozero"},
    xaxis2={"anchor": "y2", "domain": [0, 1], "type": "category"},
    yaxis2={"anchor": "x2", "domain": [0.0, 0.46], "title": {"text": "E (TAO)"}, "rangemode": "tozero"},
)


def _emission_spec(mg, highlight: int | None) -> Spec:
    uids = np.asarray(mg.uids, dtype=np.int64)
    x = _labels(uids)
    traces = [
        {"type": "bar", "name": "incentive I", "x": x, "y": np.asarray(mg.I, dtype=float), "xaxis": "x",
         "yaxis": "y", "marker": _bar_marker(uids, highlight),
         "hovertemplate": "%{x}: incentive %{y:.4f}<extra></extra>"},
        {"type": "bar", "name": "dividends D (hatched)", "x": x, "y": np.asarray(mg.D, dtype=float), "xaxis": "x",
         "yaxis": "y", "marker": _bar_marker(uids, highlight, pattern={"shape": "/", "solidity": 0.4}),
         "hovertemplate": "%{x}: dividends %{y:.4f}<extra></extra>"},
        {"type": "bar", "name": "emission E (TAO)", "x": x, "y": np.asarray(mg.E, dtype=float), "xaxis": "x2",
         "yaxis": "y2", "marker": _bar_marker(uids, highlight), "showlegend": False,
         "hovertemplate": "%{x}: emission %{y:.4g} TAO<extra></extra>"},
    ]
    notes = [] if len(uids) else [message("no neurons yet")]
    title = f"Incentive, dividends, emission, last epoch{_at_block(mg)}" + subtitle(
        "top: I and D (fractions) · bottom: E per uid (TAO)")
    return Spec(_EMISSION_BASE, traces, {"title": house_title(title), "annotations": notes})


def build_emission(mg, *, highlight: int | None = None):
    """Bars per uid: incentive I and dividends D (fractions in [0, 1], D hatched) above, the last
    epoch's emission E (TAO) below, in each uid's colour; ``highlight`` outlines its bars, dims others."""
    return figure(_emission_spec(mg, highlight))


def update_emission(fig, mg, *, highlight: int | None = None) -> None:
    """Make ``fig`` (from `build_emission`) show ``mg`` in place, as `build_emission` would."""
    apply(fig, _emission_spec(mg, highlight))


# ---------------------------------------------------------------------------------------------- stake

_STAKE_AXES = {"xaxis": {"anchor": "y", "domain": [0, 1], "type": "category"},
               "yaxis": {"anchor": "x", "domain": [0, 1], "title": {"text": "stake S (TAO)"}, "rangemode": "tozero"}}
_STAKE_BASE = base_layout("stake", height=320, **_STAKE_AXES)
_STAKE_BALANCES_BASE = base_layout(
    "stake+balances", height=320,
    xaxis={**_STAKE_AXES["xaxis"], "domain": [0, 0.68]}, yaxis=_STAKE_AXES["yaxis"],
    xaxis2={"anchor": "y2", "domain": [0.78, 1], "title": {"text": "balance (TAO)"}, "rangemode": "tozero"},
    yaxis2={"anchor": "x2", "domain": [0, 1], "type": "category", "autorange": "reversed"},
)


def _stake_spec(mg, balances: Mapping[str, float] | None, highlight: int | None) -> Spec:
    uids = np.asarray(mg.uids, dtype=np.int64)
    S = np.asarray(mg.S, dtype=float)
    x = _labels(uids)
    permit = np.asarray(mg.validator_permit, dtype=bool)
    traces = [
        {"type": "bar", "name": "stake S", "x": x, "y": S, "marker": _bar_marker(uids, highlight),
         "hovertemplate": "%{x}: %{y:.4g} TAO staked<extra></extra>"},
        # a dark marker on top of each validator's bar: readable at any size, and it has a legend entry
        {"type": "scatter", "name": "validator permit", "mode": "markers", "x": [x[i] for i in np.flatnonzero(permit)],
         "y": S[permit], "cliponaxis": False,
         "marker": {"symbol": "triangle-down", "size": 9, "color": "#222222"},
         "hovertemplate": "%{x}: validator, %{y:.4g} TAO<extra></extra>"},
    ]
    base = _STAKE_BASE
    title = f"Stake S per uid (TAO){_at_block(mg)}" + subtitle("▼ validator permit")
    if balances is not None:
        base = _STAKE_BALANCES_BASE
        labels = [str(k) for k in balances]
        traces.append({"type": "bar", "name": "balance", "orientation": "h", "x": [float(v) for v in balances.values()],
                       "y": labels, "xaxis": "x2", "yaxis": "y2", "marker": {"color": _BALANCE},
                       "hovertemplate": "%{y}: %{x:.4g} TAO free<extra></extra>"})
        title += "; right: balances (TAO)"
    notes = [] if len(uids) else [message("no neurons yet")]
    return Spec(base, traces, {"title": house_title(title), "annotations": notes})


def build_stake(mg, *, balances: Mapping[str, float] | None = None, highlight: int | None = None):
    """Bars of stake S per uid (TAO) in each uid's colour, a ▼ on every validator-permit holder, and,
    when ``balances`` (label -> free balance in TAO) is given, horizontal bars of them at the right.
    ``highlight`` outlines that uid's bar and dims the others."""
    return figure(_stake_spec(mg, balances, highlight))


def update_stake(fig, mg, *, balances: Mapping[str, float] | None = None, highlight: int | None = None) -> None:
    """Make ``fig`` (from `build_stake`) show ``mg`` in place, as `build_stake` would."""
    apply(fig, _stake_spec(mg, balances, highlight))


# ---------------------------------------------------------------------------------------------- cumulative

def cumulative_emission(history: pd.DataFrame) -> pd.DataFrame:
    """Cumulative emission in TAO: one row per epoch (index: its block), one column per uid.

    Each epoch is counted once, however many snapshots the history holds of it (a ``Recorder`` with
    ``every="block"`` repeats the last epoch's E at every block); it sits at the block the epoch ran
    in (``epoch_block``) when the history has that column, else at the epoch's first snapshot.
    Without an ``epoch`` column every block is taken as its own epoch.
    """
    if history is None or len(history) == 0:
        return pd.DataFrame(dtype=float)
    h = history
    epoch = "epoch" if "epoch" in h.columns else "block"
    first = h.drop_duplicates([epoch, "uid"], keep="first")
    at = "epoch_block" if "epoch_block" in h.columns else "block"
    per_epoch = first.groupby([epoch, "uid"])["E"].sum().unstack("uid", fill_value=0.0)
    x = first.groupby(epoch)[at].first().reindex(per_epoch.index)
    table = per_epoch.astype(float).cumsum()
    table.index = pd.Index(x.to_numpy(dtype=np.int64), name="block")
    table.columns = table.columns.astype(np.int64)
    return table


def _cumulative_spec(history, highlight: int | None, max_uids: int) -> Spec:
    table = cumulative_emission(history)
    blocks = table.index.to_numpy(dtype=np.int64)
    uids = list(table.columns)
    shown, rest = uids, []
    if len(uids) > max_uids:
        # the biggest earners by name, the highlighted uid always, the rest in one grey band
        order = table.iloc[-1].sort_values(ascending=False, kind="stable").index.tolist()
        keep = set(order[:max_uids]) | ({highlight} & set(uids))
        shown, rest = [u for u in uids if u in keep], [u for u in uids if u not in keep]
    traces = []
    for u in shown:
        on = highlight is not None and u == highlight
        alpha = 0.95 if on else (0.7 if highlight is None else ALPHA_OFF * 0.8)
        traces.append({"type": "scatter", "name": f"uid {u}", "mode": "lines", "stackgroup": "E",
                       "x": blocks, "y": table[u].to_numpy(dtype=float),
                       "line": {"color": uid_color(u), "width": 2.5 if on else 0.6},
                       "fillcolor": rgba(uid_color(u), alpha),
                       "hovertemplate": f"uid {u}<br>block %{{x}}<br>%{{y:.4g}} TAO so far<extra></extra>"})
    if rest:
        traces.append({"type": "scatter", "name": "other uids", "mode": "lines", "stackgroup": "E", "x": blocks,
                       "y": table[rest].sum(axis=1).to_numpy(dtype=float),
                       "line": {"color": _OTHERS, "width": 0.6}, "fillcolor": rgba(_OTHERS, 0.6),
                       "hovertemplate": (f"{len(rest)} other uids<br>block %{{x}}<br>"
                                         "%{y:.4g} TAO so far<extra></extra>")})
    base = base_layout("cumulative_emission", height=320, xaxis={"title": {"text": "block (epoch)"}},
                       yaxis={"title": {"text": "cumulative E (TAO)"}, "rangemode": "tozero"})
    total = float(table.iloc[-1].sum()) if len(table) else 0.0
    title = f"Cumulative emission: {total:.4g} TAO over {len(blocks)} epochs" + subtitle("stacked per uid, TAO")
    notes = [] if traces else [message("no epochs recorded yet")]
    return Spec(base, traces, {"title": house_title(title), "annotations": notes})


def build_cumulative_emission(history, *, highlight: int | None = None, max_uids: int = DEFAULT_MAX_UIDS):
    """Stacked areas of each uid's cumulative emission (TAO) over the epochs of a `Recorder` history.

    The top of the stack at an epoch is all emission so far. Past ``max_uids`` uids, the largest
    earners (and the highlighted uid) get their own band and the rest share a grey "other uids"
    band. ``highlight`` draws its band strong and outlined, the others paler.
    """
    return figure(_cumulative_spec(history, highlight, max_uids))


def update_cumulative_emission(fig, history, *, highlight: int | None = None,
                               max_uids: int = DEFAULT_MAX_UIDS) -> None:
    """Make ``fig`` (from `build_cumulative_emission`) show ``history`` in place, as building would."""
    apply(fig, _cumulative_spec(history, highlight, max_uids))
