"""An executed notebook converted to HTML offline shows every widget: a notebook builds a lab and shows
``lab.dashboard()``, ``lab.explainer()`` and ``lab.table()``; papermill runs it without widget state
(with it, nbconvert would show widget views that need a library from unpkg: nothing, offline), nbconvert
exports it, and chromium, which resolves no host, opens the file. Here (not in tests/notebooks) because
it needs the browser harness's ``page``."""

import re

import nbformat
from test_harness import write_notebook

LAB = """\
from tao_lab import Lab

lab = Lab(block_time=0.1, reuse=False)
lab.subnet(tempo=8)
lab.add_miners(2, pretrain=[0, 20])
lab.add_validators(1, stake=200)
lab.wait(timeout=120)
lab.run(epochs=1, progress=False)
"""
DASHBOARD = """\
dashboard = lab.dashboard(start=False)
dashboard.update(force=True)
dashboard
"""
EXPLAINER = "lab.explainer()"
TABLE = "lab.table()"
CLOSE = "dashboard.close(); lab.close()"


def test_executed_notebook_as_offline_html_shows_every_widget(tmp_path, page, artifacts, monkeypatch):
    import papermill as pm
    from nbconvert import HTMLExporter

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the kernel inherits it: nothing reaches the hub
    src = write_notebook(tmp_path / "widgets.ipynb", LAB, DASHBOARD, EXPLAINER, TABLE, CLOSE)
    out = tmp_path / "widgets.out.ipynb"
    pm.execute_notebook(src, out, kernel_name="python3", progress_bar=False, cwd=tmp_path,
                        store_widget_state=False, execution_timeout=240)
    nb = nbformat.read(out, as_version=4)
    assert "widgets" not in nb.metadata  # no widget state: nbconvert falls back to each bundle's text/html

    html, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    path = tmp_path / "widgets.html"
    path.write_text(html)
    for static in ("tao-lab-dashboard-static", "tao-lab-explainer-static", "tao-lab-table"):
        assert static in html, static
    assert html.count("Plotly.newPlot") >= 6 + 7  # the dashboard's panels and the explainer's steps
    assert len(re.findall(r"\* plotly\.js v\d", html)) == 1  # inlined once, by the first copy
    assert not re.search(r"<script[^>]+src=['\"]https?://[^'\"]*plotly", html)  # nothing fetched

    page.goto(path.as_uri())
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 13", timeout=30_000)
    assert page.locator(".tao-lab-dashboard-static .js-plotly-plot").count() == 6
    assert page.locator(".tao-lab-explainer-static .js-plotly-plot").count() == 7
    table = page.locator("table.tao-lab-table")
    table.wait_for(state="visible")
    assert table.locator("tbody tr").count() >= 3  # 2 miners and a validator (and the owner's uid 0)
    artifacts.screenshot(page, "static-html-1")
    page.locator(".tao-lab-explainer-static").scroll_into_view_if_needed()
    artifacts.screenshot(page, "static-html-2")
    table.scroll_into_view_if_needed()
    artifacts.screenshot(page, "static-html-3")
