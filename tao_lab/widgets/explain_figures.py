"""Figures of the Yuma explainer: one epoch's steps drawn from an `EpochResult`, no kernel needed.

Every step comes as a pair, as in `tao_lab.widgets.figures`: ``build_<step>(result, ...)`` draws a
new ``go.Figure`` and ``update_<step>(fig, result, ...)`` makes a figure built by it (a Figure or a
FigureWidget) show new data in place, in one ``batch_update``; afterwards it equals a fresh build.
Both go through the same spec, so they cannot drift apart.

=================  ==============================================================================
step               shows
=================  ==============================================================================
median             one miner's stake-weighted median: validators' weights sorted, each bar as wide
                   as its stake share, the ``1 − kappa`` stake line and where consensus C lands
clipping           one validator's weights W split into what survives the clip at C (W̄) and what
                   is cut off; below, the cut-off part of every validator's row
trust              validator trust Tv = Σ_j W̄_ij per validator, with the part clipping removed
incentive          ranks R_j = Σ_i A_i·W̄_ij stacked by validator, and incentive I = R / ΣR
bonds              one validator's old bonds, weights for bonds, new bonds, and the EMA alpha of
                   each entry (one fixed alpha, or liquid alpha per entry)
dividends          dividends D per validator beside its active-stake share A
emission_split     server (miner) and validator emission per uid, in TAO
=================  ==============================================================================

All fractions are in [0, 1]; stake and emission are shown in TAO (1 TAO = 1e9 rao).
"""

from __future__ import annotations

import numpy as np

from .figures._base import (MARGIN, OUTLINE, Spec, apply, base_layout, figure, house_title, message, outline_widths,
                            uid_colors)

__all__ = [
    "build_median", "build_clipping", "build_trust", "build_incentive", "build_bonds", "build_dividends",
    "build_emission_split", "update_median", "update_clipping", "update_trust", "update_incentive",
    "update_bonds", "update_dividends", "update_emission_split",
]

RAO_PER_TAO = 1e9
_KEPT, _CUT, _LINE = "#4c78a8", "#e45756", "#333333"
_OLD, _WB, _NEW, _ALPHA = "#bab0ac", "#f58518", "#54a24b", "#7f3c8d"
_OTHER_VALIDATORS = "#bdbdbd"


def _labels(uids) -> list[str]:
    return [f"uid {int(u)}" for u in uids]


def _columns(result, uids) -> np.ndarray:
    """The uids a per-uid figure shows: ``uids`` if given, else every uid."""
    return np.arange(result.n, dtype=np.int64) if uids is None else np.asarray(uids, dtype=np.int64)


def validators_of(result) -> np.ndarray:
    """Uids whose weights this epoch counted: the validators with a permit (the mask used)."""
    return np.flatnonzero(result.validator_permits).astype(np.int64)


#: every figure's width in px: two fit side by side in a ~1000 px notebook and in Voila; a FigureWidget
#: keeps its own width whatever its grid cell, so a wider one is clipped there
WIDTH = 460


#: the top margin: a two-line title, then a legend of up to two rows at WIDTH
TOP = 116


def _base_layout(key: str, *, height: int, **axes) -> dict:
    """The house layout at ``WIDTH``, ``height`` px for the plot plus the taller top margin."""
    return base_layout(key, height=height + TOP - MARGIN["t"], width=WIDTH, margin={**MARGIN, "t": TOP}, **axes)


def _title(text: str) -> dict:
    """The house title at the figure's top edge, broken after its first ": " so that it fits ``WIDTH``
    (the legend sits under it, just above the plot)."""
    head, sep, tail = text.partition(": ")
    return {**house_title(f"{head}:<br>{tail}" if sep else text),
            "yref": "container", "y": 1, "yanchor": "top", "pad": {"t": 14}}


def _legend(y: float = 0.98) -> dict:
    return {"font": {"size": 11}, "orientation": "h", "x": 0, "y": y, "yanchor": "bottom"}


def _one_axis(key: str, ytitle: str, *, height: int = 320, xtype: str = "category", **extra) -> dict:
    return _base_layout(key, height=height, legend=_legend(), xaxis={"type": xtype},
                       yaxis={"title": {"text": ytitle}, "rangemode": "tozero"}, **extra)


# ---------------------------------------------------------------------------------------------- 1 median

_MEDIAN_BASE = _base_layout(
    "explain-median", height=340, legend=_legend(), bargap=0,
    xaxis={"title": {"text": "cumulative stake share (validators by their weight on this miner)"},
           "range": [0, 1], "tickformat": ".0%"},
    yaxis={"title": {"text": "weight on the miner"}, "rangemode": "tozero"},
)


def median_steps(result, miner_uid: int) -> dict:
    """The numbers the median figure draws, for tests and text: validators taking part (active stake
    > 0) sorted by their weight on ``miner_uid`` (ties by uid), their weights, stake shares and the
    cumulative stake share at each bar's right edge."""
    A = np.asarray(result.active_stake, dtype=float)
    voters = np.flatnonzero(A > 0)
    w = np.asarray(result.weights[voters, int(miner_uid)], dtype=float)
    order = np.lexsort((voters, w))
    voters, w = voters[order], w[order]
    share = A[voters] / A[voters].sum() if len(voters) else A[voters]
    return {"validators": voters, "weights": w, "share": share, "cumulative": np.cumsum(share)}


def _median_spec(result, stake, miner_uid: int, kappa: float) -> Spec:
    m = int(miner_uid)
    steps = median_steps(result, m)
    voters, w, share, cum = steps["validators"], steps["weights"], steps["share"], steps["cumulative"]
    raw = np.asarray(result.stake if stake is None else stake, dtype=float)[voters] / RAO_PER_TAO
    C = float(result.consensus[m])
    line_x = 1.0 - float(kappa)
    top = float(max(w.max() if len(w) else 0.0, C, 1e-9)) * 1.1
    traces = [
        {"type": "bar", "name": "validators' weights", "x": cum - share / 2, "y": w, "width": share,
         "text": _labels(voters), "textposition": "inside", "customdata": np.column_stack([raw, share]) if len(w) else
         np.zeros((0, 2)), "marker": {"color": uid_colors(voters, None), "line": {"color": "#ffffff", "width": 1}},
         "hovertemplate": "%{text}: weight %{y:.4f}<br>stake %{customdata[0]:.4g} TAO"
                          " (%{customdata[1]:.1%})<extra></extra>"},
        {"type": "scatter", "name": "1 − kappa (stake line)", "mode": "lines", "x": [line_x, line_x], "y": [0.0, top],
         "line": {"color": _LINE, "dash": "dash", "width": 1.5},
         "hovertemplate": "C is the first weight whose cumulative stake passes %{x:.1%}<extra></extra>"},
        {"type": "scatter", "name": "consensus C", "mode": "lines+markers", "x": [0.0, line_x, 1.0], "y": [C, C, C],
         "line": {"color": _CUT, "width": 2}, "marker": {"size": [0, 11, 0], "color": _CUT},
         "hovertemplate": f"consensus C = {C:.4f}<extra></extra>"},
    ]
    notes = [] if len(voters) else [message("no validator with active stake: every consensus is 0")]
    title = (f"1 · Stake-weighted median for miner uid {m}: C = {C:.3f} "
             f"(kappa {kappa:.2f}: at least {kappa:.0%} of stake gives ≥ C)")
    return Spec(_MEDIAN_BASE, traces, {"title": _title(title), "annotations": notes})


def build_median(result, stake, miner_uid: int, kappa: float):
    """Step 1: for ``miner_uid``, the weights (row-normalised) each validator with active stake gives
    it, sorted ascending, each bar as wide as the validator's share of active stake, so the x axis is
    cumulative stake. The dashed line at ``1 − kappa`` (``kappa`` a float in [0, 1]) crosses the bar
    whose weight is the consensus C: the largest weight that validators holding at least kappa of the
    stake give. ``stake`` (rao per uid, or None for ``result.stake``) is shown on hover, in TAO.
    """
    return figure(_median_spec(result, stake, miner_uid, kappa))


def update_median(fig, result, stake, miner_uid: int, kappa: float) -> None:
    """Make ``fig`` (from `build_median`) show these arguments in place, as `build_median` would."""
    apply(fig, _median_spec(result, stake, miner_uid, kappa))


# ---------------------------------------------------------------------------------------------- 2 clipping

_CLIP_BASE = _base_layout(
    "explain-clipping", height=420, legend=_legend(), barmode="stack",
    xaxis={"anchor": "y", "domain": [0, 0.92], "matches": "x2", "showticklabels": False, "type": "category"},
    yaxis={"anchor": "x", "domain": [0.45, 0.95], "title": {"text": "weight"}, "rangemode": "tozero"},
    xaxis2={"anchor": "y2", "domain": [0, 0.92], "type": "category", "title": {"text": "miner uid"}},
    yaxis2={"anchor": "x2", "domain": [0, 0.36], "type": "category", "autorange": "reversed",
            "title": {"text": "validator"}},
)


def _clipping_spec(result, validator_uid: int, uids) -> Spec:
    v = int(validator_uid)
    cols = _columns(result, uids)
    x = _labels(cols)
    W, Wc = result.weights, result.clipped_weights
    kept = np.asarray(Wc[v, cols], dtype=float)
    cut = np.asarray(W[v, cols], dtype=float) - kept
    rows = validators_of(result)
    z = np.asarray(W[np.ix_(rows, cols)] - Wc[np.ix_(rows, cols)], dtype=float)
    traces = [
        {"type": "bar", "name": "kept: W̄ = min(W, C)", "x": x, "y": kept, "xaxis": "x", "yaxis": "y",
         "marker": {"color": _KEPT}, "hovertemplate": "%{x}: kept %{y:.4f}<extra></extra>"},
        {"type": "bar", "name": "cut off: W − W̄", "x": x, "y": cut, "xaxis": "x", "yaxis": "y",
         "marker": {"color": _CUT}, "hovertemplate": "%{x}: cut off %{y:.4f}<extra></extra>"},
        {"type": "scatter", "name": "consensus C", "mode": "markers", "x": x,
         "y": np.asarray(result.consensus[cols], dtype=float), "xaxis": "x", "yaxis": "y",
         "marker": {"symbol": "line-ew-open", "size": 18, "line": {"width": 2.5, "color": _LINE}},
         "hovertemplate": "%{x}: C %{y:.4f}<extra></extra>"},
        {"type": "heatmap", "name": "cut off, every validator", "x": x, "y": _labels(rows), "z": z,
         "xaxis": "x2", "yaxis": "y2", "colorscale": "Reds", "zmin": 0.0, "showscale": True,
         "colorbar": {"title": {"text": "cut"}, "thickness": 10, "len": 0.36, "y": 0, "yanchor": "bottom"},
         "hovertemplate": "%{y} → %{x}: cut off %{z:.4f}<extra></extra>"},
    ]
    shapes = []
    where = np.flatnonzero(rows == v)
    if len(where):
        shapes.append({"type": "rect", "xref": "x2 domain", "yref": "y2", "x0": 0, "x1": 1,
                       "y0": int(where[0]) - 0.5, "y1": int(where[0]) + 0.5, "line": {"color": OUTLINE, "width": 2}})
    notes = [] if W[v].any() else [message(f"uid {v} set no weights that count this epoch")]
    title = (f"2 · Clipping at consensus: validator uid {v} keeps {kept.sum():.3f} of its weight, "
             f"loses {cut.sum():.3f}")
    return Spec(_CLIP_BASE, traces, {"title": _title(title), "annotations": notes, "shapes": shapes})


def build_clipping(result, validator_uid: int, *, uids=None):
    """Step 2: validator ``validator_uid``'s weights W on each uid in ``uids`` (default all) as a
    stacked bar, the part kept after clipping at consensus (W̄ = min(W, C), blue) under the part cut
    off (W − W̄, red), with C marked on each column; below, a heatmap of the cut-off part for every
    validator (that validator's row boxed)."""
    return figure(_clipping_spec(result, validator_uid, uids))


def update_clipping(fig, result, validator_uid: int, *, uids=None) -> None:
    """Make ``fig`` (from `build_clipping`) show these arguments in place, as `build_clipping` would."""
    apply(fig, _clipping_spec(result, validator_uid, uids))


# ---------------------------------------------------------------------------------------------- 3 trust

_TRUST_BASE = _one_axis("explain-trust", "share of the validator's weight", barmode="stack")


def _trust_spec(result, highlight: int | None) -> Spec:
    rows = validators_of(result)
    x = _labels(rows)
    Tv = np.asarray(result.validator_trust[rows], dtype=float)
    cut = np.asarray(result.weights[rows].sum(axis=1), dtype=float) - Tv
    traces = [
        {"type": "bar", "name": "validator trust Tv = Σ W̄", "x": x, "y": Tv,
         "marker": {"color": uid_colors(rows, highlight), "line": {"color": OUTLINE, "width": outline_widths(rows, highlight)}},
         "hovertemplate": "%{x}: trust %{y:.4f}<extra></extra>"},
        {"type": "bar", "name": "cut off by clipping", "x": x, "y": cut,
         "marker": {"color": _CUT, "opacity": 0.55}, "hovertemplate": "%{x}: cut off %{y:.4f}<extra></extra>"},
    ]
    notes = [] if len(rows) else [message("no validator holds a permit")]
    title = "3 · Validator trust: how much of each validator's weight survives clipping"
    return Spec(_TRUST_BASE, traces, {"title": _title(title), "annotations": notes})


def build_trust(result, *, highlight: int | None = None):
    """Step 3: per validator with a permit, validator trust Tv_i = Σ_j W̄_ij (its colour) stacked
    under the weight clipping removed (red); a validator that agrees with consensus reaches 1.
    ``highlight`` outlines that validator."""
    return figure(_trust_spec(result, highlight))


def update_trust(fig, result, *, highlight: int | None = None) -> None:
    """Make ``fig`` (from `build_trust`) show ``result`` in place, as `build_trust` would."""
    apply(fig, _trust_spec(result, highlight))


# ---------------------------------------------------------------------------------------------- 4 incentive

_INCENTIVE_BASE = _one_axis("explain-incentive", "rank R (stake × clipped weight)", barmode="stack",
                            yaxis2={"overlaying": "y", "side": "right", "title": {"text": "incentive I"},
                                    "rangemode": "tozero", "showgrid": False})


def _incentive_spec(result, uids, highlight: int | None, max_validators: int) -> Spec:
    cols = _columns(result, uids)
    x = _labels(cols)
    rows = validators_of(result)
    A = np.asarray(result.active_stake, dtype=float)
    rows = rows[np.lexsort((rows, -A[rows]))]  # most stake first
    shown, rest = rows[:max_validators], rows[max_validators:]
    part = A[:, None] * np.asarray(result.clipped_weights, dtype=float)
    traces = [{"type": "bar", "name": f"from validator uid {int(i)}", "x": x, "y": part[i, cols],
               "marker": {"color": uid_colors([i], highlight)[0]},
               "hovertemplate": f"%{{x}}: %{{y:.4f}} from uid {int(i)}<extra></extra>"} for i in shown]
    if len(rest):
        traces.append({"type": "bar", "name": "from other validators", "x": x, "y": part[np.ix_(rest, cols)].sum(axis=0),
                       "marker": {"color": _OTHER_VALIDATORS}, "hovertemplate": "%{x}: %{y:.4f}<extra></extra>"})
    traces.append({"type": "scatter", "name": "incentive I = R / ΣR", "mode": "markers", "x": x,
                   "y": np.asarray(result.incentive[cols], dtype=float), "yaxis": "y2",
                   "marker": {"symbol": "diamond", "size": 9, "color": _LINE},
                   "hovertemplate": "%{x}: incentive %{y:.4f}<extra></extra>"})
    title = "4 · Ranks and incentive: each miner's rank is Σ over validators of stake × clipped weight"
    return Spec(_INCENTIVE_BASE, traces, {"title": _title(title)})


def build_incentive(result, *, uids=None, highlight: int | None = None, max_validators: int = 8):
    """Step 4: per uid in ``uids`` (default all), rank R_j = Σ_i A_i·W̄_ij as bars stacked by
    validator (the ``max_validators`` with most active stake, the rest as one grey segment), and
    incentive I_j = R_j / Σ R (diamonds, right axis). ``highlight`` brightens that validator."""
    return figure(_incentive_spec(result, uids, highlight, max_validators))


def update_incentive(fig, result, *, uids=None, highlight: int | None = None, max_validators: int = 8) -> None:
    """Make ``fig`` (from `build_incentive`) show ``result`` in place, as `build_incentive` would."""
    apply(fig, _incentive_spec(result, uids, highlight, max_validators))


# ---------------------------------------------------------------------------------------------- 5 bonds

_BONDS_BASE = _one_axis("explain-bonds", "bond / weight (u16 / 65535)", height=340, barmode="group",
                        yaxis2={"overlaying": "y", "side": "right", "title": {"text": "EMA alpha"},
                                "range": [0, 1.05], "showgrid": False})


def _bonds_spec(result, validator_uid: int, old_bonds, alpha: float, uids) -> Spec:
    v = int(validator_uid)
    cols = _columns(result, uids)
    x = _labels(cols)
    old = np.asarray(old_bonds, dtype=float).reshape(result.n, result.n)[v, cols] / 65535.0
    new = np.asarray(result.new_bonds[v, cols], dtype=float) / 65535.0
    liquid = result.liquid_alphas
    alphas = np.full(len(cols), float(alpha)) if liquid is None else np.asarray(liquid[v, cols], dtype=float)
    traces = [
        {"type": "bar", "name": "old bonds B", "x": x, "y": old, "marker": {"color": _OLD},
         "hovertemplate": "%{x}: old bond %{y:.4f}<extra></extra>"},
        {"type": "bar", "name": "weights for bonds", "x": x, "y": np.asarray(result.weights_for_bonds[v, cols], dtype=float),
         "marker": {"color": _WB}, "hovertemplate": "%{x}: weight for bonds %{y:.4f}<extra></extra>"},
        {"type": "bar", "name": "new bonds", "x": x, "y": new, "marker": {"color": _NEW},
         "hovertemplate": "%{x}: new bond %{y:.4f}<extra></extra>"},
        {"type": "scatter", "name": "EMA alpha per entry",
         "mode": "markers", "x": x, "y": alphas, "yaxis": "y2",
         "marker": {"symbol": "circle-open", "size": 9, "color": _ALPHA, "line": {"width": 2}},
         "hovertemplate": f"%{{x}}: {'liquid' if liquid is not None else 'fixed'} alpha %{{y:.4f}}<extra></extra>"},
    ]
    mode = "liquid alpha" if liquid is not None else f"alpha {alpha:.3f}"
    title = f"5 · Bonds of validator uid {v}: new = alpha·(weights for bonds) + (1 − alpha)·old ({mode})"
    return Spec(_BONDS_BASE, traces, {"title": _title(title)})


def build_bonds(result, validator_uid: int, old_bonds, alpha: float, *, uids=None):
    """Step 5: for ``validator_uid``, per uid in ``uids`` (default all), grouped bars of its old bonds
    (``old_bonds``: the (n, n) u16 bonds the epoch read, shown / 65535), its weights for bonds
    (``result.weights_for_bonds``: W moved towards W̄ by the bonds penalty) and the new bonds the chain
    stores (``result.new_bonds`` / 65535), plus the EMA alpha of each entry (right axis): the liquid
    alpha when it ran, else the fixed ``alpha`` (= 1 − bonds_moving_average / 1e6). Original Yuma
    stores bonds column-max-upscaled, so there old and new bonds are relative to each column's max.
    """
    return figure(_bonds_spec(result, validator_uid, old_bonds, alpha, uids))


def update_bonds(fig, result, validator_uid: int, old_bonds, alpha: float, *, uids=None) -> None:
    """Make ``fig`` (from `build_bonds`) show these arguments in place, as `build_bonds` would."""
    apply(fig, _bonds_spec(result, validator_uid, old_bonds, alpha, uids))


# ---------------------------------------------------------------------------------------------- 6 dividends

_DIVIDENDS_BASE = _one_axis("explain-dividends", "fraction", barmode="group")


def _dividends_spec(result, highlight: int | None) -> Spec:
    rows = validators_of(result)
    x = _labels(rows)
    traces = [
        {"type": "bar", "name": "dividends D", "x": x, "y": np.asarray(result.dividends[rows], dtype=float),
         "marker": {"color": uid_colors(rows, highlight), "line": {"color": OUTLINE, "width": outline_widths(rows, highlight)}},
         "hovertemplate": "%{x}: dividends %{y:.4f}<extra></extra>"},
        {"type": "bar", "name": "active stake share A", "x": x, "y": np.asarray(result.active_stake[rows], dtype=float),
         "marker": {"color": _OLD}, "hovertemplate": "%{x}: stake share %{y:.4f}<extra></extra>"},
    ]
    notes = [] if len(rows) else [message("no validator holds a permit")]
    title = "6 · Dividends: what each validator's bonds earn from incentive, beside its stake share"
    return Spec(_DIVIDENDS_BASE, traces, {"title": _title(title), "annotations": notes})


def build_dividends(result, *, highlight: int | None = None):
    """Step 6: per validator with a permit, dividends D_i (Σ_j bonds_ij·I_j, normalised; Yuma3 also
    times its active stake) beside its active-stake share A_i: above its share, its bonds sit on the
    miners consensus rewards. ``highlight`` outlines that validator."""
    return figure(_dividends_spec(result, highlight))


def update_dividends(fig, result, *, highlight: int | None = None) -> None:
    """Make ``fig`` (from `build_dividends`) show ``result`` in place, as `build_dividends` would."""
    apply(fig, _dividends_spec(result, highlight))


# ---------------------------------------------------------------------------------------------- 7 emission

_EMISSION_BASE = _one_axis("explain-emission", "emission (TAO)", barmode="stack")


def _emission_spec(result, uids, highlight: int | None) -> Spec:
    cols = _columns(result, uids)
    x = _labels(cols)
    server = np.asarray(result.server_emission[cols], dtype=float) / RAO_PER_TAO
    validator = np.asarray(result.validator_emission[cols], dtype=float) / RAO_PER_TAO
    line = {"color": OUTLINE, "width": outline_widths(cols, highlight)}
    traces = [
        {"type": "bar", "name": "server emission (incentive)", "x": x, "y": server,
         "marker": {"color": _KEPT, "line": line}, "hovertemplate": "%{x}: %{y:.6g} TAO as a miner<extra></extra>"},
        {"type": "bar", "name": "validator emission (dividends)", "x": x, "y": validator,
         "marker": {"color": _WB, "line": line}, "hovertemplate": "%{x}: %{y:.6g} TAO as a validator<extra></extra>"},
    ]
    total = (server.sum() + validator.sum())
    title = f"7 · Emission split: {server.sum():.4g} TAO to miners, {validator.sum():.4g} TAO to validators"
    notes = [] if total > 0 or not len(cols) else [message("no emission")]
    return Spec(_EMISSION_BASE, traces, {"title": _title(title), "annotations": notes})


def build_emission_split(result, *, uids=None, highlight: int | None = None):
    """Step 7: per uid in ``uids`` (default all), its server emission (from incentive I) stacked under
    its validator emission (from dividends D), in TAO; each is the uid's share of (I + D) summed over
    uids, times the epoch's emission. ``highlight`` outlines that uid."""
    return figure(_emission_spec(result, uids, highlight))


def update_emission_split(fig, result, *, uids=None, highlight: int | None = None) -> None:
    """Make ``fig`` (from `build_emission_split`) show ``result`` in place, as `build_emission_split` would."""
    apply(fig, _emission_spec(result, uids, highlight))
