"""The harness itself: widgets and a plotly FigureWidget render in JupyterLab, in Voila (with live
kernel-driven updates) and, through their static fallbacks, in nbconvert's offline HTML."""

import re
import sys
import time
from pathlib import Path

import nbformat
import pytest

SETUP = """\
import os, sys, threading, time
import ipywidgets as w
import plotly.graph_objects as go

slider = w.IntSlider(value=5, min=1, max=10, description="bars")
status = w.HTML(value=f"<span class='status'>tick 0</span> HF_HUB_OFFLINE={os.environ.get('HF_HUB_OFFLINE')}")
fig = go.FigureWidget(data=[go.Bar(y=list(range(1, 6)))], layout=dict(title="tick 0", width=600, height=360))
slider.observe(lambda change: setattr(fig.data[0], "y", list(range(1, change["new"] + 1))), "value")
w.VBox([slider, status, fig])
"""

# the kernel keeps talking after the cell ends: what Voila must show live
TICKER = """\
def tick(n=240):
    for i in range(1, n + 1):
        time.sleep(0.5)
        status.value = f"<span class='status'>tick {i}</span> HF_HUB_OFFLINE={os.environ.get('HF_HUB_OFFLINE')}"
        fig.layout.title.text = f"tick {i}"

threading.Thread(target=tick, daemon=True).start()
print("kernel python:", sys.executable)
"""


def write_notebook(path: Path, *sources: str, parameters: str | None = None) -> Path:
    nb = nbformat.v4.new_notebook()
    if parameters is not None:
        nb.cells.append(nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]}))
    nb.cells.extend(nbformat.v4.new_code_cell(src) for src in sources)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(nb, path)
    return path


def ticks(page) -> int:
    return int(re.search(r"tick (\d+)", page.locator(".status").first.inner_text()).group(1))


def test_widgets_and_figurewidget_render_in_jupyterlab(jupyter_lab, page, artifacts):
    write_notebook(jupyter_lab.root_dir / "harness_widgets.ipynb", SETUP, TICKER)

    plot = jupyter_lab.run_notebook(page, "harness_widgets.ipynb", wait_for=".js-plotly-plot")

    assert plot.locator(".point").count() == 5  # one path per bar
    page.get_by_text("HF_HUB_OFFLINE=1").first.wait_for()  # the HTML widget, from a kernel with the offline env
    # the kernel is the venv's python, not a global one
    page.locator(".jp-OutputArea-output").get_by_text(f"kernel python: {sys.executable}").wait_for()

    # kernel <-> widget comms both ways: the slider moves, the kernel redraws the figure
    page.locator(".widget-slider .noUi-handle").first.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot .point').length === 6", timeout=10_000)
    artifacts.screenshot(page, "harness-lab")


def test_voila_renders_the_notebook_and_shows_live_kernel_updates(voila, tmp_path, page, artifacts):
    server = voila(write_notebook(tmp_path / "harness_voila.ipynb", SETUP, TICKER))

    page.goto(server.url)
    plot = page.locator(".js-plotly-plot").first
    plot.wait_for(state="visible", timeout=60_000)
    assert plot.locator(".point").count() == 5
    page.get_by_text("HF_HUB_OFFLINE=1").first.wait_for()

    first = ticks(page)
    artifacts.screenshot(page, "harness-voila-1")
    time.sleep(2)
    second = ticks(page)
    artifacts.screenshot(page, "harness-voila-2")
    assert second >= first + 2, (first, second)  # a tick every 0.5 s
    assert page.locator(".js-plotly-plot .gtitle").first.text_content() != f"tick {first}"  # the figure moved too


# What survives `papermill` + `nbconvert --to html` offline (see README.md here):
# - a FigureWidget output is a widget view (+ text/plain). With the widget state papermill saves by
#   default, nbconvert renders the view through @jupyter-widgets/html-manager from unpkg: blank offline.
# - without saved state (store_widget_state=False) nbconvert falls back to the bundle's next mimetype:
#   text/html when the object provides one, else the text/plain repr.
# - so a widget's static fallback is a text/html entry in its mimebundle; for plotly,
#   go.Figure(widget).to_html(full_html=False, include_plotlyjs=True) renders with no network.
FALLBACK = """\
import sys
import plotly.graph_objects as go

class FigureWithFallback:
    \"\"\"A FigureWidget in Lab and Voila; its static HTML in nbconvert's export.\"\"\"
    def __init__(self, widget):
        self.widget = widget
    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = dict(self.widget._repr_mimebundle_(include, exclude) or {})
        bundle["text/html"] = go.Figure(self.widget).to_html(full_html=False, include_plotlyjs=True)
        return bundle

print("kernel python:", sys.executable)
FigureWithFallback(go.FigureWidget(go.Bar(y=list(range(1, n + 1))), layout=dict(title="static fallback")))
"""


def test_nbconvert_offline_html_shows_the_static_fallback(tmp_path, page, artifacts):
    import papermill as pm
    from nbconvert import HTMLExporter

    src = write_notebook(tmp_path / "fallback.ipynb", FALLBACK, parameters="n = 2")
    out = tmp_path / "fallback.out.ipynb"
    pm.execute_notebook(src, out, parameters={"n": 4}, kernel_name="python3", progress_bar=False, cwd=tmp_path)
    nb = nbformat.read(out, as_version=4)
    assert any(f"kernel python: {sys.executable}" in o.get("text", "") for c in nb.cells for o in c.get("outputs", []))

    # papermill's default keeps the widget state (+5 MB: the FigureWidget's bundled plotly.js), so the
    # widget view wins, rendered by html-manager from unpkg: offline, no figure at all
    with_state, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    assert "html-manager" in with_state and "plotly-graph-div" not in with_state

    # without it (store_widget_state=False, or dropped as here) the text/html fallback is exported
    del nb.metadata["widgets"]
    html, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    (tmp_path / "fallback.html").write_text(html)
    page.goto((tmp_path / "fallback.html").as_uri())  # chromium resolves no host: CDNs fail as offline
    plot = page.locator(".js-plotly-plot").first
    plot.wait_for(state="visible", timeout=15_000)
    assert plot.locator(".point").count() == 4
    artifacts.screenshot(page, "harness-nbconvert")
