"""The Yuma explainer in a real browser, on a hand-made 5-uid subnet (no chain): in Voila its kappa
slider, moved with the keyboard, recomputes the epoch in the kernel and the sentence and the figures
follow; in JupyterLab it renders with its seven figures. Either way the figures fit their grid cells."""

import re

import pytest
from test_harness import write_notebook

EXPLAINER = """\
from tao_lab.widgets import Explainer

TAO = 10**9
ex = Explainer(
    stake=[700 * TAO, 300 * TAO, 0, 0, 0],
    weights=[[0, 0, 0.5, 0.3, 0.2], [0, 0, 0.1, 0.1, 0.8], [0] * 5, [0] * 5, [0] * 5],
    focus=2,
)
ex
"""

# the consensus C plotted in step 1 (the median figure, the first plot): its marker sits at [1]
CONSENSUS = """() => { const plot = document.querySelector('.tao-lab-explainer .js-plotly-plot');
    const c = (plot && plot.data || []).find(t => t.name === 'consensus C'); return c ? c.y[1] : null; }"""


ANYWIDGET_TIMEOUT = "[anywidget] Failed to initialize model."


def watch_errors(page) -> list[str]:
    """The page's uncaught errors, as they come."""
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def assert_figures_follow(page, errors: list[str], timeout_ms: int = 10_000) -> None:
    """The median figure shows kappa 0.75's consensus on miner 2, 0.1 (u16 on chain: 6554 / 65535).

    anywidget 0.11 gives a model 2 s to load its ESM (plotly.js, ~4.8 MB for each FigureWidget) and
    drops every later message to a model that missed it: then the figure never follows. That is a
    real defect, seen on a loaded machine; it is reported as an expected failure, not hidden.
    """
    try:
        page.wait_for_function(f"Math.abs(({CONSENSUS})() - 0.1) < 1e-3", timeout=timeout_ms)
    except Exception:
        assert_no_missed_init(errors)
        raise


def wait_rendered(page, timeout_ms: int = 60_000):
    """The explainer's element once its seven figures have drawn."""
    explainer = page.locator(".tao-lab-explainer").first
    explainer.wait_for(state="visible", timeout=timeout_ms)
    page.wait_for_function("document.querySelectorAll('.tao-lab-explainer .js-plotly-plot .main-svg').length >= 7",
                           timeout=timeout_ms)
    return explainer


def assert_no_missed_init(errors: list[str]) -> None:
    """A figure anywidget gave up on is a failure: LabFigureWidget loads plotly.js once per page and
    returns from initialize at once, so none should miss the 2 s deadline (tao_lab.widgets._plotly)."""
    missed = sum(ANYWIDGET_TIMEOUT in e for e in errors)
    assert not missed, f"{missed} of 7 figures missed anywidget's 2 s init deadline and ignore updates"


def assert_figures_fit(page, errors: list[str]) -> None:
    """Every figure's drawing lies inside its step's cell (a FigureWidget keeps its own width, whatever
    its grid cell, and a wider one is clipped), the cells inside the explainer, and no two overlap."""
    # a FigureWidget draws at plotly's default 700 px until its state arrives; one that missed
    # anywidget's deadline stays so, empty (see assert_figures_follow)
    try:
        page.wait_for_function("""() => [...document.querySelectorAll('.tao-lab-explainer .js-plotly-plot')].every(p =>
            p.querySelector('.main-svg').getBoundingClientRect().right <= p.parentElement.closest('.widget-box')
            .getBoundingClientRect().right + 1)""", timeout=10_000)
    except Exception:
        assert_no_missed_init(errors)
        raise
    boxes = page.evaluate("""() => {
        const box = e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
        const root = document.querySelector('.tao-lab-explainer');
        const plots = [...root.querySelectorAll('.js-plotly-plot')];
        return {root: box(root), svgs: plots.map(p => box(p.querySelector('.main-svg'))),
                cells: plots.map(p => box(p.parentElement.closest('.widget-box')))}; }""")
    left, _, right, _ = boxes["root"]
    svgs, cells = boxes["svgs"], boxes["cells"]
    assert len(svgs) == 7
    for svg, cell in zip(svgs, cells):
        assert cell[0] - 1 <= svg[0] and svg[2] <= cell[2] + 1, (svg, cell)
        assert left - 1 <= cell[0] and cell[2] <= right + 1, (cell, boxes["root"])
    for i, a in enumerate(svgs):
        for b in svgs[i + 1:]:
            overlap_x = min(a[2], b[2]) - max(a[0], b[0])
            overlap_y = min(a[3], b[3]) - max(a[1], b[1])
            assert overlap_x <= 1 or overlap_y <= 1, (a, b)


def move_kappa_to_075(page, explainer) -> None:
    """kappa 0.50 -> 0.75 from the keyboard: focus the first slider's handle, ArrowRight 25 times."""
    explainer.locator(".widget-slider .noUi-handle").first.focus()
    for _ in range(25):
        page.keyboard.press("ArrowRight")
    page.wait_for_function("document.querySelector('.tao-lab-explainer .widget-html-content').innerText"
                           ".includes('→ 0.75')", timeout=15_000)


def test_explainer_in_voila_answers_the_kappa_slider(voila, tmp_path, page, artifacts):
    errors = watch_errors(page)
    server = voila(write_notebook(tmp_path / "explainer.ipynb", EXPLAINER))
    page.goto(server.url, wait_until="commit", timeout=60_000)
    explainer = wait_rendered(page)
    text = explainer.locator(".widget-html-content").first  # the sentence under the controls
    assert "Miner uid 2: consensus 0.500" in text.inner_text()
    assert page.evaluate(CONSENSUS) == pytest.approx(0.5, abs=1e-3)
    assert_figures_fit(page, errors)
    artifacts.screenshot(page, "explainer-voila-1", full_page=True)

    # kappa 0.50 -> 0.75: nobody holds 75% of the stake, so on miner 2 the outlier's 0.1 is consensus
    move_kappa_to_075(page, explainer)
    said = text.inner_text()
    # key presses may reach the kernel coalesced: the sentence tells the last step it saw
    assert re.match(r"kappa 0\.\d\d → 0\.75: consensus on uid 2 (stays at|drops from 0\.50 to) 0\.10", said), said
    artifacts.screenshot(page, "explainer-voila-2", full_page=True)
    assert_figures_follow(page, errors)


def test_explainer_renders_in_jupyterlab(jupyter_lab, page, artifacts):
    errors = watch_errors(page)
    write_notebook(jupyter_lab.root_dir / "explainer.ipynb", EXPLAINER)
    jupyter_lab.run_notebook(page, "explainer.ipynb", wait_for=".tao-lab-explainer")
    explainer = wait_rendered(page)
    assert "Miner uid 2: consensus 0.500" in explainer.inner_text()
    # kappa, bonds penalty, bonds moving average (the alpha range shows with liquid alpha only)
    assert explainer.locator(".widget-slider:visible").count() == 3
    assert_figures_fit(page, errors)
    explainer.scroll_into_view_if_needed()
    artifacts.screenshot(page, "explainer-lab")
    move_kappa_to_075(page, explainer)
    assert_figures_follow(page, errors)
    artifacts.screenshot(page, "explainer-lab-2")
