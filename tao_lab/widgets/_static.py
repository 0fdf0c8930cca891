"""Static copies of widgets: what an executed notebook shows once converted to HTML with no kernel.

A widget's ``_repr_mimebundle_`` adds ``text/html`` (see `with_static_html`); nbconvert shows it
when the notebook holds no widget state (``papermill.execute_notebook(..., store_widget_state=False)``),
and it needs no network: the first static figure a kernel writes carries plotly.js (~4.8 MB), the
later ones in the same notebook find it in the page (`plotlyjs_once`).
"""

from __future__ import annotations

__all__ = ["figures_html", "plotlyjs_once", "with_static_html"]

_inlined = False  # whether this kernel has already written a static copy carrying plotly.js


def plotlyjs_once(include_plotlyjs: bool | None) -> bool:
    """Whether the next static copy should inline plotly.js: ``include_plotlyjs`` itself when given;
    for None, True the first time in this kernel and False after (the notebook's page has it then)."""
    global _inlined
    if include_plotlyjs is None:
        include_plotlyjs, _inlined = not _inlined, True
    return bool(include_plotlyjs)


def figures_html(figures, include_plotlyjs: bool | None = False) -> list[str]:
    """Each figure (``go.Figure`` or ``go.FigureWidget``) as a static HTML ``<div>`` with its
    ``Plotly.newPlot`` script; plotly.js goes, if at all (`plotlyjs_once`), into the first one only."""
    import plotly.io as pio

    figures = list(figures)
    if not figures:
        return []  # nothing to carry plotly.js: leave it to the next copy
    inline = plotlyjs_once(include_plotlyjs)
    return [pio.to_html(fig.to_dict(), full_html=False, include_plotlyjs=inline and i == 0)
            for i, fig in enumerate(figures)]


def with_static_html(bundle, static_html) -> dict:
    """A widget's mimebundle with ``text/html`` set to ``static_html()`` (called only when the bundle
    is a dict: IPython may ask for the repr in other forms)."""
    if isinstance(bundle, dict):
        bundle = {**bundle, "text/html": static_html()}
    return bundle
