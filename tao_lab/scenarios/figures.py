"""Figures of scenario and sweep results: pure functions, a results table in, a plotly figure out."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..errors import InputError

__all__ = ["build_scenario", "build_sweep"]

_FONT = {"family": "Inter, Helvetica, Arial, sans-serif", "size": 12}
#: a fixed colour per behaviour, so honest is always green and every cheater has its own colour
BEHAVIOUR_COLORS = {"honest": "#2ca02c", "noise": "#7f7f7f", "lazy": "#bcbd22", "copier": "#d62728",
                    "flaky": "#ff7f0e", "weight_copier": "#9467bd", "colluder": "#8c564b", "random": "#e377c2"}
_OTHER = ["#1f77b4", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#c5b0d5"]


def _color(name: str, i: int) -> str:
    return BEHAVIOUR_COLORS.get(name, _OTHER[i % len(_OTHER)])


def build_scenario(table, *, value: str = "emission", title: str | None = None) -> go.Figure:
    """Bars of what each neuron earned in one scenario run (``ScenarioResult.table``), coloured by
    behaviour; miners left, validators right. ``value``: a numeric column (TAO ``emission`` by default)."""
    if value not in table.columns:
        raise InputError("value", f"no column {value!r}; columns: {list(table.columns)}")
    fig = go.Figure()
    kinds = list(dict.fromkeys(table["behaviour"]))
    for i, kind in enumerate(kinds):
        rows = table[table["behaviour"] == kind]
        fig.add_bar(x=[f"{n} ({r[0]})" for n, r in zip(rows["name"], rows["role"])], y=rows[value].astype(float),
                    name=kind, marker_color=_color(kind, i),
                    hovertemplate="%{x}: %{y:.4g}<extra>" + kind + "</extra>")
    fig.update_layout(title={"text": title or f"What each neuron earned ({value})", "x": 0.01},
                      font=_FONT, template="plotly_white", height=360, margin={"l": 60, "r": 20, "t": 50, "b": 80},
                      yaxis_title="TAO" if value in ("emission", "E") else value, legend_title="behaviour",
                      xaxis={"categoryorder": "array", "categoryarray": [
                          f"{n} ({r[0]})" for n, r in zip(table["name"], table["role"])]})
    return fig


def build_sweep(table, *, x: str | None, y: str = "miner_share", color: str = "group", role: str = "miner") -> go.Figure:
    """Mean ``y`` (over seeds and neurons of a group) per ``color`` against the sweep parameter ``x``,
    with the min-max range over seeds as error bars; ``role`` keeps miners (or validators) only."""
    if table is None or not len(table):
        fig = go.Figure()
        fig.update_layout(title="no successful runs", template="plotly_white", font=_FONT, height=360)
        return fig
    for column in (x, y, color):
        if column is not None and column not in table.columns:
            raise InputError("column", f"no column {column!r} in the sweep table; columns: {list(table.columns)}")
    rows = table[table["role"] == role] if "role" in table.columns else table
    others = [c for c in ("seed",) if c in rows.columns and c != x]
    per_run = rows.groupby(["run", color] + ([x] if x else []) + others, dropna=False)[y].sum().reset_index()
    fig = go.Figure()
    for i, (name, part) in enumerate(per_run.groupby(color, sort=False)):
        stats = part.groupby(x)[y].agg(["mean", "min", "max"]).reset_index() if x else part[y].agg(
            ["mean", "min", "max"]).to_frame().T.assign(**{"_": [0]})
        xs = stats[x] if x else [name]
        fig.add_scatter(x=list(xs), y=stats["mean"], name=str(name), mode="lines+markers",
                        marker={"size": 9, "color": _color(str(name), i)}, line={"color": _color(str(name), i)},
                        error_y={"type": "data", "symmetric": False, "array": np.asarray(stats["max"] - stats["mean"]),
                                 "arrayminus": np.asarray(stats["mean"] - stats["min"])},
                        hovertemplate=f"{name}: %{{y:.3f}} at {x} = %{{x}}<extra></extra>")
    fig.update_layout(title={"text": f"{y} per {color} against {x}" + (" (mean; bars: min-max over seeds)"
                                                                        if "seed" in rows.columns else ""), "x": 0.01},
                      font=_FONT, template="plotly_white", height=380, xaxis_title=x, yaxis_title=y,
                      margin={"l": 60, "r": 20, "t": 50, "b": 50}, legend_title=color)
    return fig
