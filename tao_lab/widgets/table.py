"""`MetagraphTable`: a subnet's neurons as a sortable, filterable table, in the field's column names.

    lab.table()                                  # or MetagraphTable(metagraph), MetagraphTable(df)
    MetagraphTable(mg, sort_by="E", query="permit")

``metagraph_frame`` and ``render_table`` are pure (data in, DataFrame or HTML out) and need no kernel;
the widget adds a sort dropdown, a direction toggle and a filter box, and `refresh` re-reads a lab.
"""

from __future__ import annotations

import html
import re

import ipywidgets as w

from ..errors import InputError

__all__ = ["COLUMNS", "MetagraphTable", "filter_frame", "metagraph_frame", "render_table"]

#: the table's columns, as the field names them (S and E in TAO; I, D, C, VT in [0, 1])
COLUMNS = ["uid", "hotkey", "S", "I", "D", "C", "E", "VT", "active", "permit", "axon"]
_FLOATS = {"S": "{:.3f}", "I": "{:.4f}", "D": "{:.4f}", "C": "{:.4f}", "E": "{:.6f}", "VT": "{:.4f}"}
_COMPARISON = re.compile(r"^\s*(uid|S|I|D|C|E|VT)\s*(<=|>=|==|!=|<|>)\s*(-?[0-9.eE+-]+)\s*$")


def metagraph_frame(mg):
    """The table's rows from a `Metagraph` (or any object with its arrays), one per uid."""
    import pandas as pd

    n = len(mg.uids)
    axons = getattr(mg, "axons", None) or []
    return pd.DataFrame({
        "uid": [int(u) for u in mg.uids],
        "hotkey": list(mg.hotkeys) if len(getattr(mg, "hotkeys", [])) == n else [""] * n,
        "S": mg.S, "I": mg.I, "D": mg.D, "C": mg.C, "E": mg.E, "VT": mg.VT,
        "active": [bool(x) for x in mg.active], "permit": [bool(x) for x in mg.validator_permit],
        "axon": [str(a) if a.is_serving else "" for a in axons] if len(axons) == n else [""] * n,
    }, columns=COLUMNS)


def filter_frame(df, query: str = ""):
    """Rows matching ``query``: a comparison (``"I > 0.1"``, ``"uid == 3"``), a flag (``"permit"``,
    ``"active"``, ``"serving"``, or ``"not permit"``), or text found in the hotkey or axon."""
    query = (query or "").strip()
    if not query:
        return df
    match = _COMPARISON.match(query)
    if match:
        column, op, number = match.groups()
        try:
            value = float(number)
        except ValueError:
            raise InputError("query", f"{number!r} is not a number") from None
        ops = {"<": df[column] < value, ">": df[column] > value, "<=": df[column] <= value,
               ">=": df[column] >= value, "==": df[column] == value, "!=": df[column] != value}
        return df[ops[op]]
    negate = query.startswith("not ")
    flag = query[4:].strip() if negate else query
    if flag in ("permit", "active", "serving"):
        mask = df["axon"] != "" if flag == "serving" else df[flag].astype(bool)
        return df[~mask] if negate else df[mask]
    text = query.lower()
    return df[df["hotkey"].str.lower().str.contains(text, regex=False) | df["axon"].str.contains(text, regex=False)]


def render_table(df, sort_by: str = "uid", descending: bool = False, query: str = "", highlight: int | None = None,
                 limit: int = 256) -> str:
    """HTML for the (filtered, sorted) table; the highlighted uid's row stands out. Hotkeys are shortened."""
    if sort_by not in COLUMNS:
        raise InputError("sort_by", f"expected one of {COLUMNS}, got {sort_by!r}")
    rows = filter_frame(df, query).sort_values(sort_by, ascending=not descending, kind="stable")
    shown = rows.head(limit)
    head = "".join(f"<th>{c}{(' ▼' if descending else ' ▲') if c == sort_by else ''}</th>" for c in COLUMNS)
    body = []
    for row in shown.itertuples(index=False):
        cells = []
        for c, value in zip(COLUMNS, row):
            if c in _FLOATS:
                text = _FLOATS[c].format(value)
            elif c == "hotkey":
                text = f"<span title='{html.escape(value)}'>{html.escape(value[:6] + '…' + value[-4:] if len(value) > 12 else value)}</span>"
            elif c in ("active", "permit"):
                text = "✓" if value else ""
            else:
                text = html.escape(str(value))
            cells.append(f"<td>{text}</td>")
        style = " style='background:#fff3c4;font-weight:600'" if highlight is not None and row.uid == highlight else ""
        body.append(f"<tr{style}>{''.join(cells)}</tr>")
    more = f"<div style='color:#666'>showing {len(shown)} of {len(rows)} rows</div>" if len(rows) > limit else ""
    empty = "" if body else f"<tr><td colspan='{len(COLUMNS)}' style='color:#666'>no neuron matches</td></tr>"
    return ("<table class='tao-lab-table' style='border-collapse:collapse;font-size:13px;font-family:monospace'>"
            f"<thead style='border-bottom:1px solid #999;text-align:right'><tr>{head}</tr></thead>"
            f"<tbody style='text-align:right'>{''.join(body)}{empty}</tbody></table>{more}"
            f"<div style='color:#666;font-size:12px'>{len(rows)} of {len(df)} uids · S, E in TAO; I, D, C, VT in [0, 1]</div>")


class MetagraphTable(w.VBox):
    """A sortable, filterable metagraph table widget.

    Args:
        source: a `tao_lab.Lab` (re-read by `refresh`), a `Metagraph`, or a DataFrame with `COLUMNS`.
        sort_by, descending: the initial order.
        query: the initial filter (see `filter_frame`).
        highlight: a uid whose row stands out.
    """

    def __init__(self, source, *, sort_by: str = "uid", descending: bool = False, query: str = "",
                 highlight: int | None = None):
        self.source = source
        self.highlight = highlight
        self.frame = self._read()
        self.sort_by = w.Dropdown(options=COLUMNS, value=sort_by, description="Sort by", layout=w.Layout(width="180px"))
        self.descending = w.ToggleButton(value=descending, description="descending" if descending else "ascending",
                                         layout=w.Layout(width="110px"))
        self.query = w.Text(value=query, placeholder="filter: I > 0.1, permit, or hotkey text",
                            description="Filter", layout=w.Layout(width="340px"), continuous_update=True)
        self.refresh_button = w.Button(description="Refresh", icon="refresh", disabled=not hasattr(source, "metagraph"))
        self.output = w.HTML()
        for control in (self.sort_by, self.descending, self.query):
            control.observe(self._redraw, names="value")
        self.refresh_button.on_click(lambda _b: self.refresh())
        super().__init__([w.HBox([self.sort_by, self.descending, self.query, self.refresh_button]), self.output])
        self._redraw()

    def _read(self):
        import pandas as pd

        if isinstance(self.source, pd.DataFrame):
            return self.source
        mg = self.source.metagraph() if hasattr(self.source, "metagraph") and callable(self.source.metagraph) else self.source
        return metagraph_frame(mg)

    def refresh(self) -> None:
        """Re-read the source (a lab's chain) and redraw."""
        self.frame = self._read()
        self._redraw()

    def _redraw(self, *_change) -> None:
        self.descending.description = "descending" if self.descending.value else "ascending"
        try:
            self.output.value = render_table(self.frame, self.sort_by.value, self.descending.value, self.query.value,
                                             self.highlight)
        except InputError as exc:
            self.output.value = f"<span style='color:#b00'>{html.escape(str(exc))}</span>"

    @property
    def rows(self):
        """The rows as shown now (filtered and sorted), a DataFrame."""
        return filter_frame(self.frame, self.query.value).sort_values(
            self.sort_by.value, ascending=not self.descending.value, kind="stable")

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        if isinstance(bundle, dict):  # a static copy for front ends without a kernel
            bundle = {**bundle, "text/html": self.output.value}
        return bundle
