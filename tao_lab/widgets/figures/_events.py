"""Panels drawn from neuron events: routing (who queried whom, how fast) and validators' scores.

``events`` is what `tao_lab.neurons.events.EventLog.since` returns (a list of event dicts), an
`EventLog` itself, or `EventLog.to_pandas` (a DataFrame); only the fields used here are read:
block, validator_uid, miner_uid, kind, value and the ``latency_s`` extra of responses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from ._base import ALPHA_OFF, Spec, apply, base_layout, figure, house_title, message, rgba, subtitle, uid_color

__all__ = ["build_routing", "build_scores", "update_routing", "update_scores"]

_COLUMNS = ["block", "validator_uid", "miner_uid", "kind", "value", "latency_s"]
_QUERY_KINDS = ("route", "response", "timeout")
DEFAULT_LAST_STEPS = 20
DEFAULT_MAX_LINES = 48

# Answered links run green (fast) -> yellow -> orange (slowest in the window); red is kept for timeouts.
_LATENCY_RGB = np.array([(26, 152, 80), (220, 190, 50), (240, 110, 40)], dtype=float)
_TIMEOUT = "#d62728"
_UNKNOWN_LATENCY = "#9e9e9e"
_DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")


def event_frame(events: Iterable[Mapping] | pd.DataFrame) -> pd.DataFrame:
    """The events as a DataFrame with `_COLUMNS` (missing ones all NaN) and ``miner_uid`` as float (NaN: none)."""
    if isinstance(events, pd.DataFrame):
        df = events.reindex(columns=_COLUMNS)
    else:
        df = pd.DataFrame.from_records(list(events), columns=_COLUMNS)
    # nullable Int64 / object columns -> plain floats, so NaN means "absent" everywhere below
    for col in ("block", "validator_uid", "miner_uid", "value", "latency_s"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    return df


# ---------------------------------------------------------------------------------------------- routing

def _query_arrays(events):
    """(kind code, block, validator uid, miner uid, latency s) of the query events, as numpy arrays
    (kind code = index in `_QUERY_KINDS`); rows without a miner or a block are dropped."""
    if isinstance(events, pd.DataFrame):
        df = event_frame(events)
        kind = df["kind"].map({k: i for i, k in enumerate(_QUERY_KINDS)}).to_numpy(dtype=float, na_value=np.nan)
        arrays = [kind] + [df[c].to_numpy(dtype=float) for c in ("block", "validator_uid", "miner_uid", "latency_s")]
    else:  # a list of dicts: read the five fields straight, no DataFrame (this runs at every dashboard tick)
        code = {k: i for i, k in enumerate(_QUERY_KINDS)}
        rows = [(code[e["kind"]], e.get("block"), e.get("validator_uid"), e.get("miner_uid"), e.get("latency_s"))
                for e in events if e.get("kind") in code]
        nan = float("nan")
        arrays = [np.array([nan if x is None else float(x) for x in col], dtype=float) for col in zip(*rows)] \
            if rows else [np.empty(0)] * 5
    kind, block, vali, miner, latency = arrays
    keep = ~np.isnan(kind) & ~np.isnan(miner) & ~np.isnan(block) & ~np.isnan(vali)
    return kind[keep].astype(np.int64), block[keep], vali[keep], miner[keep], latency[keep]


def routing_table(events, last_steps: int = DEFAULT_LAST_STEPS) -> pd.DataFrame:
    """Per (validator_uid, miner_uid) over each validator's last ``last_steps`` routing blocks:
    ``queries``, ``timeouts``, ``answered`` (counts) and ``latency_ms`` (mean over responses, NaN if none).

    A query is a ``route`` event; where a log holds only outcomes, responses plus timeouts count instead.
    Rows are sorted by validator, then miner.
    """
    kind, block, vali, miner, latency = _query_arrays(events)
    cols = ["validator_uid", "miner_uid", "queries", "timeouts", "answered", "latency_ms"]
    if not len(kind):
        return pd.DataFrame({c: pd.Series(dtype="int64" if c != "latency_ms" else float) for c in cols})
    # a step is one block of one validator: keep each validator's newest `last_steps` blocks
    keep = np.zeros(len(kind), dtype=bool)
    for v in np.unique(vali):
        mine = vali == v
        blocks = np.unique(block[mine])
        keep |= mine & (block >= blocks[-last_steps:][0])
    kind, vali, miner, latency = kind[keep], vali[keep].astype(np.int64), miner[keep].astype(np.int64), latency[keep]
    pairs, link = np.unique(np.stack([vali, miner], axis=1), axis=0, return_inverse=True)
    link = link.reshape(-1)
    counts = np.zeros((len(pairs), len(_QUERY_KINDS)), dtype=np.int64)
    np.add.at(counts, (link, kind), 1)
    responded = (kind == 1) & ~np.isnan(latency)
    total = np.bincount(link[responded], weights=latency[responded], minlength=len(pairs))
    n = np.bincount(link[responded], minlength=len(pairs))
    answered_at_all = np.bincount(link[kind == 1], minlength=len(pairs)) > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        latency_ms = np.where(answered_at_all & (n > 0), total / n * 1e3, np.nan)
    queries = np.maximum(counts[:, 0], counts[:, 1] + counts[:, 2])
    return pd.DataFrame({"validator_uid": pairs[:, 0], "miner_uid": pairs[:, 1], "queries": queries,
                         "timeouts": counts[:, 2], "answered": queries - counts[:, 2], "latency_ms": latency_ms})


def _latency_colors(latency_ms: np.ndarray, alpha: np.ndarray) -> list[str]:
    """Colour per answered link: its mean latency placed between the fastest and slowest in the window."""
    finite = np.isfinite(latency_ms)
    lo, hi = (latency_ms[finite].min(), latency_ms[finite].max()) if finite.any() else (0.0, 0.0)
    span = hi - lo if hi > lo else 1.0
    t = np.where(finite, (latency_ms - lo) / span, 0.0) * (len(_LATENCY_RGB) - 1)
    k = np.minimum(t.astype(int), len(_LATENCY_RGB) - 2)
    rgb = _LATENCY_RGB[k] + (t - k)[:, None] * (_LATENCY_RGB[k + 1] - _LATENCY_RGB[k])
    return [f"#{round(r):02x}{round(g):02x}{round(b):02x}{round(a * 255):02x}" if ok else rgba(_UNKNOWN_LATENCY, a)
            for (r, g, b), a, ok in zip(rgb.tolist(), alpha.tolist(), finite.tolist())]


def _routing_spec(events, last_steps: int, highlight: int | None) -> Spec:
    table = routing_table(events, last_steps)
    base = base_layout("routing", height=380)
    title = "Routing: queries, validator → miner" + subtitle(
        f"last {last_steps} steps · green fastest → orange slowest · red: timeouts")
    validators = np.unique(table["validator_uid"].to_numpy())
    miners = np.unique(table["miner_uid"].to_numpy())
    labels = [f"V{v}" for v in validators] + [f"M{m}" for m in miners]
    node_uids = np.concatenate([validators, miners])
    src = np.searchsorted(validators, table["validator_uid"].to_numpy())
    dst = len(validators) + np.searchsorted(miners, table["miner_uid"].to_numpy())

    if highlight is None:
        link_alpha = np.full(len(table), 0.55)
    else:
        on = (table["validator_uid"].to_numpy() == highlight) | (table["miner_uid"].to_numpy() == highlight)
        link_alpha = np.where(on, 0.85, 0.18)
    answered, timeouts = table["answered"].to_numpy(), table["timeouts"].to_numpy()
    latency = table["latency_ms"].to_numpy(dtype=float)
    # hover numbers as one float array (queries, timeouts, mean latency ms; NaN: none recorded):
    # numpy travels to a FigureWidget as a binary buffer, a list of lists element by element
    info = np.column_stack([table["queries"].to_numpy(float), timeouts.astype(float), latency])
    # each pair is drawn as up to two bands: answered (by latency) and timed out (red)
    a, t = answered > 0, timeouts > 0
    source = np.concatenate([src[a], src[t]]).astype(np.int64)
    target = np.concatenate([dst[a], dst[t]]).astype(np.int64)
    value = np.concatenate([answered[a], timeouts[t]]).astype(np.int64)
    color = _latency_colors(latency[a], link_alpha[a]) + [rgba(_TIMEOUT, x) for x in link_alpha[t]]
    customdata = np.concatenate([info[a], info[t]])
    outcome = ["answered"] * int(a.sum()) + ["timed out"] * int(t.sum())

    node_alpha = [0.95 if highlight is None or u == highlight else ALPHA_OFF for u in node_uids]
    sankey = {
        "type": "sankey", "name": "routing", "arrangement": "snap", "valueformat": "d",
        "node": {"label": labels, "color": [rgba(uid_color(u), x) for u, x in zip(node_uids, node_alpha)],
                 "line": {"color": ["#111111" if u == highlight else "#ffffff" for u in node_uids],
                          "width": [2.0 if u == highlight else 0.5 for u in node_uids]},
                 "pad": 8, "thickness": 14,
                 "hovertemplate": "%{label}: %{value} queries<extra></extra>"},
        "link": {"source": source, "target": target, "value": value, "color": color,
                 "customdata": customdata, "label": outcome,
                 "hovertemplate": ("%{source.label} → %{target.label} (%{label}: %{value})<br>"
                                   "queries %{customdata[0]}, timeouts %{customdata[1]}<br>"
                                   "mean latency %{customdata[2]:.0f} ms<extra></extra>")},
    }
    if not len(table):
        # no Sankey at all until there are queries: plotly.js fails on a Sankey without nodes (in
        # Voila that error left the whole widget unable to take later updates)
        return Spec(base, [], {"title": house_title(title), "annotations": [message("no queries yet")]})
    return Spec(base, [sankey], {"title": house_title(title), "annotations": []})


def build_routing(events, *, last_steps: int = DEFAULT_LAST_STEPS, highlight: int | None = None):
    """Sankey of recent queries: validators (``V3``, left) to miners (``M5``, right).

    A link's width is the number of queries that validator sent that miner in its last
    ``last_steps`` steps (a step: one block in which the validator routed). Each pair is split into
    an answered band, coloured by mean response latency (green for the fastest pair in the window
    to orange for the slowest; grey when no latency was recorded), and a red band of timeouts.
    Hover shows queries, timeouts and mean latency in ms. ``highlight`` (a uid, as validator or
    miner) keeps its nodes and links bright and dims the rest. No query events: an empty Sankey
    with "no queries yet".
    """
    return figure(_routing_spec(events, last_steps, highlight))


def update_routing(fig, events, *, last_steps: int = DEFAULT_LAST_STEPS, highlight: int | None = None) -> None:
    """Make ``fig`` (from `build_routing`) show ``events`` in place, as `build_routing` would."""
    apply(fig, _routing_spec(events, last_steps, highlight))


# ---------------------------------------------------------------------------------------------- scores

def _scores_spec(events, highlight: int | None, max_lines: int) -> Spec:
    df = event_frame(events)
    df = df[(df["kind"] == "score") & df["miner_uid"].notna() & df["value"].notna() & df["block"].notna()]
    # the newest score of a (validator, miner, block) wins; lines run left to right in block order
    df = df.drop_duplicates(["validator_uid", "miner_uid", "block"], keep="last")
    df = df.sort_values(["validator_uid", "miner_uid", "block"], kind="stable")
    v_all, m_all = df["validator_uid"].to_numpy(np.int64), df["miner_uid"].to_numpy(np.int64)
    blocks, values = df["block"].to_numpy(np.int64), df["value"].to_numpy(float)
    # one slice of the sorted rows per (validator, miner) pair: numpy, not a pandas groupby (256 uids
    # and a few dozen validators make thousands of pairs per tick)
    starts = np.flatnonzero(np.r_[len(df) > 0, (v_all[1:] != v_all[:-1]) | (m_all[1:] != m_all[:-1])])
    ends = np.r_[starts[1:], len(df)]
    pairs = list(zip(v_all[starts].tolist(), m_all[starts].tolist()))
    order = range(len(pairs))
    if len(pairs) > max_lines:
        # keep the highlighted uid's lines, then the best-scored ones, so the legend stays readable
        latest = values[ends - 1]
        involved = np.array([highlight in p for p in pairs], dtype=bool)
        ranked = np.lexsort((-latest, ~involved))  # involved first, then by latest score, descending
        order = np.sort(ranked[:max_lines]).tolist()
    validators = sorted({v for v, _ in pairs})
    dash = {v: _DASHES[i % len(_DASHES)] for i, v in enumerate(validators)}
    traces = []
    for k in order:
        (v, m), rows = pairs[k], slice(starts[k], ends[k])
        on = highlight is not None and highlight in (v, m)
        width = 3.5 if on else (2.0 if highlight is None else 1.2)
        traces.append({
            "type": "scatter", "mode": "lines", "name": f"V{v}→M{m}",
            "legendgroup": f"V{v}", "legendgrouptitle": {"text": f"validator {v}"},
            "x": blocks[rows], "y": values[rows],
            "line": {"color": uid_color(m), "width": width, "dash": dash[v]},
            "opacity": 1.0 if on or highlight is None else ALPHA_OFF,
            "hovertemplate": f"V{v}→M{m}<br>block %{{x}}<br>score %{{y:.4f}}<extra></extra>",
        })
    shown = f" · top {len(traces)} of {len(pairs)} lines" if len(traces) < len(pairs) else ""
    title = "Validators' moving-average scores" + subtitle(f"colour: miner · dash: validator{shown}")
    base = base_layout("scores", height=340, xaxis={"title": {"text": "block"}},
                       yaxis={"title": {"text": "score (moving average)"}},
                       legend={"font": {"size": 11}, "groupclick": "toggleitem"})
    notes = [] if traces else [message("no scores yet")]
    return Spec(base, traces, {"title": house_title(title), "annotations": notes})


def build_scores(events, *, highlight: int | None = None, max_lines: int = DEFAULT_MAX_LINES):
    """Lines of each validator's moving-average score (``kind == "score"``, value) per miner, over blocks.

    One line per (validator, miner), named ``V3→M5`` and grouped by validator in the legend; colour
    is the miner's uid colour, dash style tells validators apart. With more than ``max_lines``
    pairs, the highlighted uid's lines and then those with the highest latest score are shown (the
    title says how many). ``highlight`` (as validator or miner) thickens its lines, dims the rest.
    """
    return figure(_scores_spec(events, highlight, max_lines))


def update_scores(fig, events, *, highlight: int | None = None, max_lines: int = DEFAULT_MAX_LINES) -> None:
    """Make ``fig`` (from `build_scores`) show ``events`` in place, as `build_scores` would."""
    apply(fig, _scores_spec(events, highlight, max_lines))
