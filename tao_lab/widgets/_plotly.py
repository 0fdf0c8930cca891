"""plotly FigureWidgets that load plotly.js once per page, not once per figure.

A stock ``go.FigureWidget`` ships plotly's whole widget bundle (~5 MB of JavaScript) as its
anywidget module, and anywidget evaluates each model's module on its own, from a blob URL: a
dashboard of six figures parses and runs plotly.js six times. anywidget 0.11 also gives a model
2 s to load its module and initialize, and drops every later message of a model that misses it;
on a loaded machine (a classroom laptop, a 2-core CI runner, Voila rendering while the kernel is
busy) the fifth or sixth evaluation missed it and its panel froze.

`LabFigureWidget` keeps plotly's behaviour and sends the same bundle, but as bytes in a trait of its
own, and its module is a few lines (`SHIM`): the first figure on a page imports the bundle, every
other figure awaits that one import, and `initialize` returns at once (the real plotly model is
set up when the import lands, before the first view renders). No view can miss the deadline
and the page evaluates plotly.js once.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

__all__ = ["LabFigureWidget", "figure_widget", "SHIM"]

# anywidget module of every LabFigureWidget: {key} is the bundle's hash, so two plotly versions on
# one page (two kernels) never share an import.
SHIM = """
const KEY = "__taoLabPlotly_{key}";

function plotlyFactory(model) {{
  // one import per page: the bundle is the same bytes in every figure's _tao_lab_plotly trait
  if (!globalThis[KEY]) {{
    const url = URL.createObjectURL(new Blob([model.get("_tao_lab_plotly")], {{ type: "text/javascript" }}));
    globalThis[KEY] = import(url).then((module) => {{ URL.revokeObjectURL(url); return module.default; }});
  }}
  return globalThis[KEY];
}}

export default () => {{
  let plotly = null;
  let ready = null;
  return {{
    initialize({{ model }}) {{
      // not awaited: anywidget drops a model whose initialize takes over 2 s
      ready = plotlyFactory(model).then((factory) => {{ plotly = factory(); plotly.initialize({{ model }}); }});
      ready.catch((error) => console.error("[tao_lab] plotly.js failed to load", error));
    }},
    async render({{ model, el, experimental }}) {{
      await ready;
      return plotly.render({{ model, el, experimental }});
    }},
  }};
}};
"""


@lru_cache(maxsize=1)
def _bundle() -> tuple[bytes, str]:
    """plotly's anywidget bundle (the file a stock FigureWidget sends) and its short hash."""
    import plotly

    data = (Path(plotly.__file__).parent / "package_data" / "widgetbundle.js").read_bytes()
    return data, hashlib.sha256(data).hexdigest()[:16]


@lru_cache(maxsize=1)
def _widget_class():
    import plotly.graph_objects as go
    import traitlets

    data, key = _bundle()

    class LabFigureWidget(go.FigureWidget):
        """A ``go.FigureWidget`` whose page loads plotly.js once (see `tao_lab.widgets._plotly`)."""

        _esm = SHIM.format(key=key)
        _tao_lab_plotly = traitlets.Bytes(data).tag(sync=True)

    LabFigureWidget.__module__ = __name__
    LabFigureWidget.__qualname__ = "LabFigureWidget"
    return LabFigureWidget


def figure_widget(fig=None, **kwargs):
    """A live `LabFigureWidget` of ``fig`` (a figure, a dict or a FigureWidget), like ``go.FigureWidget(fig)``."""
    return _widget_class()(fig, **kwargs)


def __getattr__(name: str):
    if name == "LabFigureWidget":
        return _widget_class()
    raise AttributeError(name)
