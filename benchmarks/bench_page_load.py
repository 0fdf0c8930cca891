"""How long a page of live plotly figures takes to come alive in Voila, and how many never do.

Baseline: stock ``plotly.graph_objects.FigureWidget`` (each figure ships and evaluates plotly's 5 MB
widget bundle). Candidate: `tao_lab.widgets._plotly.LabFigureWidget` (one evaluation per page).
For each, a notebook displays ``--figures`` bar charts; chromium opens it in Voila and we time, from
navigation, until every figure has drawn its bars, and count the figures anywidget gave up on
("Failed to initialize model" in the console). ``--hogs N`` runs N busy processes meanwhile (a
loaded machine: a classroom laptop, CI's 2 cores).

    python benchmarks/bench_page_load.py                  # 8 figures, 3 runs each
    python benchmarks/bench_page_load.py --figures 12 --hogs 2

Needs Debian's chromium (/usr/bin/chromium) and Python playwright (never ``playwright install``).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat as nbf

CHROMIUM = os.environ.get("TAO_LAB_CHROMIUM", "/usr/bin/chromium")
VARIANTS = {
    "stock go.FigureWidget (baseline)": "import plotly.graph_objects as go\nmake = go.FigureWidget",
    "tao_lab LabFigureWidget": "import plotly.graph_objects as go\nfrom tao_lab.widgets._plotly import figure_widget as make",
}


def notebook(setup: str, figures: int) -> nbf.NotebookNode:
    code = f"""{setup}
import ipywidgets as w
figs = [make(go.Figure(go.Bar(y=[(i * 7 + j) % 10 + 1 for j in range(12)]), layout=dict(width=300, height=220)))
        for i in range({figures})]
w.GridBox(figs, layout=w.Layout(grid_template_columns="repeat(4, 310px)"))"""
    return nbf.v4.new_notebook(cells=[nbf.v4.new_code_cell(code)])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hog(stop) -> None:
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def one_run(browser, path: Path, figures: int, timeout_s: float) -> tuple[float | None, int]:
    port, token = free_port(), secrets.token_hex(8)
    env = dict(os.environ, HF_HUB_OFFLINE="1", JUPYTER_RUNTIME_DIR=str(path.parent / f"rt-{port}"))
    proc = subprocess.Popen([sys.executable, "-m", "voila", str(path), "--no-browser", f"--port={port}",
                             "--Voila.ip=127.0.0.1", f"--Voila.token={token}"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/voila/static/voila.js", timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("voila did not start")
                time.sleep(0.2)
        page = browser.new_page()
        failed = []
        page.on("console", lambda m: failed.append(m.text) if "Failed to initialize model" in m.text else None)
        start = time.perf_counter()
        page.goto(f"http://127.0.0.1:{port}/?token={token}", wait_until="commit")
        try:
            page.wait_for_function(f"""() => [...document.querySelectorAll('.js-plotly-plot')]
                .filter(p => p.querySelectorAll('.bars path').length > 0).length >= {figures}""",
                                   timeout=timeout_s * 1000)
            took = time.perf_counter() - start
        except Exception:
            took = None
        page.close()
        return took, len(failed)
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--figures", type=int, default=8)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--hogs", type=int, default=0, help="busy processes running meanwhile")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds before a page counts as never alive")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    stop = multiprocessing.Event()
    hogs = [multiprocessing.Process(target=hog, args=(stop,), daemon=True) for _ in range(args.hogs)]
    for h in hogs:
        h.start()
    rows = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        for name, setup in VARIANTS.items():
            path = Path(tmp) / f"figures-{len(rows)}.ipynb"
            nbf.write(notebook(setup, args.figures), path)
            times, dead = [], []
            for _ in range(args.runs):
                took, failed = one_run(browser, path, args.figures, args.timeout)
                times.append(took)
                dead.append(failed)
            rows.append((name, times, dead))
        browser.close()
    stop.set()
    print(f"\n{args.figures} figures in Voila, {args.runs} runs, {args.hogs} busy processes, "
          f"{os.cpu_count()} cores\n")
    print(f"| {'figure class':34} | {'page alive (s), median':>22} | {'runs never alive':>16} | {'figures dropped':>15} |")
    print(f"|{'-' * 36}|{'-' * 24}|{'-' * 18}|{'-' * 17}|")
    for name, times, dead in rows:
        ok = [t for t in times if t is not None]
        median = f"{statistics.median(ok):.2f}" if ok else "-"
        print(f"| {name:34} | {median:>22} | {len(times) - len(ok):>16} | {sum(dead):>15} |")


if __name__ == "__main__":
    main()
