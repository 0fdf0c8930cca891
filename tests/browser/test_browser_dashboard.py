"""The product in a real browser: the quickstart notebook in JupyterLab and the dashboard notebook in
Voila each start a lab and show a live dashboard: the block number moves and the emission chart
holds bars between two screenshots taken seconds apart."""

import re
import time
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def block_number(page) -> int:
    return int(page.locator(".tao-lab-block").first.inner_text())


def emission_bars(page) -> int:
    """Bars with a height in the dashboard's plots (plotly draws a path per bar point)."""
    return page.evaluate("""() => [...document.querySelectorAll('.tao-lab-dashboard .js-plotly-plot .bars path')]
        .filter(p => { const d = p.getAttribute('d') || ''; return d.length > 0 && d !== 'M0,0Z'; }).length""")


def panel_state(page) -> dict:
    """What the browser draws: the emission panel's epoch block, routing bands and score lines."""
    return page.evaluate("""() => {
        const plots = [...document.querySelectorAll('.tao-lab-dashboard .js-plotly-plot')];
        const titles = plots.map(p => (p.querySelector('.gtitle') || {}).textContent || '');
        const emission = titles.find(t => t.startsWith('Incentive, dividends')) || '';
        const m = emission.match(/at block (\\d+)/);
        return {epoch_block: m ? parseInt(m[1]) : -1,
                bands: document.querySelectorAll('.tao-lab-dashboard .sankey .sankey-link').length,
                lines: document.querySelectorAll('.tao-lab-dashboard .scatterlayer .trace.scatter').length};
    }""")


def assert_live(page, artifacts, name: str) -> None:
    page.locator(".tao-lab-ticker").first.wait_for(state="visible", timeout=120_000)
    page.wait_for_function("document.querySelectorAll('.tao-lab-dashboard .js-plotly-plot').length >= 6",
                           timeout=60_000)
    # wait for the first epoch with emission, so the emission chart has something to show
    page.wait_for_function("parseFloat(document.querySelector('.tao-lab-emission').innerText) > 0", timeout=90_000)
    first_block, first_bars, first = block_number(page), emission_bars(page), panel_state(page)
    artifacts.screenshot(page, f"{name}-1")
    time.sleep(3)
    # a loaded 2-core machine (kernel, neurons, chromium) can stall a refresh for a few seconds
    try:
        page.wait_for_function(f"parseInt(document.querySelector('.tao-lab-block').innerText) > {first_block}",
                               timeout=30_000)
    except Exception as exc:
        artifacts.screenshot(page, f"{name}-stalled")
        message = page.locator(".tao-lab-message").first.inner_text()
        raise AssertionError(f"the block stayed at {first_block} for 30 s; dashboard message: {message!r}") from exc
    second_block, second_bars, second = block_number(page), emission_bars(page), panel_state(page)
    artifacts.screenshot(page, f"{name}-2")
    assert second_block > first_block, (first_block, second_block)
    assert first_bars > 0 and second_bars > 0, (first_bars, second_bars)
    assert second["bands"] > 0 and second["lines"] > 0, second
    # the figures themselves follow the chain, not only the ticker: the next epoch reaches the
    # emission panel (an epoch every tempo blocks, ~5 s at 0.25 s blocks)
    page.wait_for_function(f"""() => [...document.querySelectorAll('.tao-lab-dashboard .gtitle')]
        .some(t => {{ const m = t.textContent.match(/^Incentive, dividends.*at block (\\d+)/);
                     return m && parseInt(m[1]) > {first["epoch_block"]}; }})""", timeout=30_000)
    assert first["epoch_block"] > 0, first
    text = page.locator(".tao-lab-ticker").first.inner_text()
    assert re.search(r"subnet 1 \(tempo \d+\)", text), text
    artifacts.screenshot(page, f"{name}-full", full_page=True)  # docs/img/dashboard.png is one of these


def test_quickstart_in_jupyterlab_shows_a_live_dashboard(jupyter_lab, page, artifacts):
    jupyter_lab.run_notebook(page, "00_quickstart.ipynb")
    # the notebook ran to its end; scroll back up to the dashboard cell, as a reader would
    dashboard = page.locator(".tao-lab-dashboard").first
    dashboard.wait_for(state="attached", timeout=60_000)
    dashboard.scroll_into_view_if_needed()
    assert_live(page, artifacts, "quickstart-lab")
    check_metagraph_table(page, artifacts)


def table_rows(table) -> list[dict]:
    headers = [h.strip(" ▲▼") for h in table.locator("thead th").all_inner_texts()]
    return [dict(zip(headers, cells)) for cells in
            (row.locator("td").all_inner_texts() for row in table.locator("tbody tr").all())]


def check_metagraph_table(page, artifacts) -> None:
    """The quickstart's ``lab.table(sort_by="I", descending=True)``: the field's columns, sorted as
    asked, and its filter box narrows the rows in the browser (the kernel redraws the table)."""
    widget = page.locator(".widget-vbox:has(> .widget-html table.tao-lab-table)").last
    table = widget.locator("table.tao-lab-table")
    table.scroll_into_view_if_needed()
    headers = [h.strip(" ▲▼") for h in table.locator("thead th").all_inner_texts()]
    assert headers == ["uid", "hotkey", "S", "I", "D", "C", "E", "VT", "active", "permit", "axon"], headers
    rows = table_rows(table)
    incentive = [float(r["I"]) for r in rows]
    assert len(rows) >= 5 and incentive == sorted(incentive, reverse=True) and incentive[0] > 0, rows
    artifacts.screenshot(page, "quickstart-table")
    box = widget.locator(".widget-text input")
    box.fill("I > 0.1")  # the miners Yuma pays most
    box.press("Enter")
    page.wait_for_function("""() => { const t = [...document.querySelectorAll('table.tao-lab-table')].pop();
        const rows = [...t.querySelectorAll('tbody tr')];
        return rows.length > 0 && rows.length < 6 &&
               rows.every(r => r.children[3] && parseFloat(r.children[3].textContent) >= 0.0999); }""",
                           timeout=30_000)
    earning = table_rows(widget.locator("table.tao-lab-table"))
    # the table shows I to 4 places: a uid with I = 0.10003 passes the filter and reads 0.1000
    assert 0 < len(earning) < len(rows) and all(float(r["I"]) >= 0.0999 for r in earning), earning
    artifacts.screenshot(page, "quickstart-table-filtered")


def test_dashboard_notebook_in_voila_shows_live_data(voila, page, artifacts):
    server = voila(NOTEBOOKS / "dashboard.ipynb")
    page.goto(server.url, wait_until="commit", timeout=180_000)  # Voila sends the page as its cells run
    assert_live(page, artifacts, "dashboard-voila")
