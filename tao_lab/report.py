"""`write_report`: one self-contained HTML file of a lab's subnet, for papermill runs and sharing.

Figures are the dashboard's (`tao_lab.widgets.figures`), tables are the metagraph and the neurons;
plotly.js is inlined once, so the file opens offline, with no CDN, anywhere.
"""

from __future__ import annotations

import html
import time
from pathlib import Path

__all__ = ["render_report", "write_report"]

_STYLE = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px auto;max-width:1280px;color:#222}
h1{font-size:24px;margin-bottom:4px} h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ddd}
.meta{color:#555} .grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(600px,1fr));gap:8px}
table.dataframe{border-collapse:collapse;font-size:13px} table.dataframe td,table.dataframe th{padding:2px 8px;
border-bottom:1px solid #eee;text-align:right}
"""


def render_report(*, title: str, summary: dict, figures: list, tables: dict) -> str:
    """The report's HTML from its parts: ``summary`` (label -> value), plotly figures, tables (title -> DataFrame or HTML)."""
    import plotly.io as pio

    plots = []
    for i, fig in enumerate(figures):
        plots.append(pio.to_html(fig, full_html=False, include_plotlyjs=(i == 0), config={"displaylogo": False}))
    facts = "".join(f"<tr><th style='text-align:left'>{html.escape(str(k))}</th><td style='text-align:left'>"
                    f"{html.escape(str(v))}</td></tr>" for k, v in summary.items())
    sections = []
    for name, table in tables.items():
        body = table if isinstance(table, str) else table.to_html(index=False, float_format=lambda x: f"{x:.4f}",
                                                                  na_rep="", classes="dataframe")
        sections.append(f"<h2>{html.escape(name)}</h2>{body}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
            f"<div class='meta'>written {time.strftime('%Y-%m-%d %H:%M:%S')} by tao_lab</div>"
            f"<table class='dataframe'>{facts}</table><h2>Figures</h2><div class='grid'>{''.join(plots)}</div>"
            f"{''.join(sections)}</body></html>")


def write_report(lab, path) -> str:
    """Write ``lab``'s subnet as it is now (metagraph, history, events) to ``path``; returns the path."""
    from .widgets import figures as F
    from .widgets.table import metagraph_frame, render_table

    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        path = path.with_suffix(".html")
    mg = lab.metagraph()
    history = lab.history()
    events, _ = lab.events.since(0)
    hyper = lab.hyperparameters
    summary = {
        "chain": lab.url, "block": mg.block, "subnet": mg.netuid, "tempo": mg.tempo,
        "epochs recorded": int(history["epoch"].nunique()) if len(history) else 0,
        "neurons": mg.n, "miners": len(lab.miners), "validators": len(lab.validators),
        "kappa": f"{hyper['kappa'] / 65535:.3f}", "Yuma3": bool(hyper["yuma3_enabled"]),
        "events": len(events), "total emission last epoch (TAO)": f"{float(mg.E.sum()):.6f}",
    }
    figures = [F.build_emission(mg), F.build_cumulative_emission(history), F.build_weights(mg),
               F.build_stake(mg, balances=lab.balances(mg)), F.build_routing(events), F.build_scores(events)]
    tables = {"Metagraph": render_table(metagraph_frame(mg), sort_by="I", descending=True),
              "Neurons": lab.neurons()}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(title=f"tao_lab report: subnet {mg.netuid} at block {mg.block}",
                                  summary=summary, figures=figures, tables=tables), encoding="utf-8")
    return str(path)
