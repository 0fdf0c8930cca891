"""How long each notebook takes headless, and the sweep's throughput with 1, 2 and 4 local workers.

Issue "Notebooks ... Speed": the quickstart under 60 s headless, every tutorial under 5 minutes,
with default parameters on the 2-core machine; the sweep's runs per minute with 1, 2 and 4 workers
(1 worker, one run after another, is the baseline).

    python benchmarks/bench_notebooks.py                  # every notebook, then the sweep (~15 min on 2 cores)
    python benchmarks/bench_notebooks.py --no-sweep
    python benchmarks/bench_notebooks.py --only 01_chain_and_wallets.ipynb --no-sweep
    python benchmarks/bench_notebooks.py --no-notebooks --runs 4 --workers 1 2 4

Each notebook runs once with papermill (a fresh kernel, its default parameters) in a temporary
folder; the time is papermill's whole call (kernel start included). The sweep runs
notebooks/sweep.ipynb over ``--runs`` seeds (epochs=3, guard on) with each worker count.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
LIMITS = {"00_quickstart.ipynb": 60.0}  # seconds; every other tutorial: 300
SKIP = {"dashboard.ipynb"}  # a live dashboard: it never "finishes" on its own (its cells do, the page lives on)


def table(rows: list[list], headers: list[str]) -> str:
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def machine() -> str:
    cpu = "?"
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (f"machine: {os.cpu_count()} CPUs, {cpu}; python {platform.python_version()}; "
            f"load average at start {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def bench_notebooks(only: list[str] | None) -> list[list]:
    import papermill

    rows = []
    names = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb") if p.name not in SKIP)
    for name in names:
        if only and name not in only:
            continue
        limit = LIMITS.get(name, 300.0)
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            error = ""
            try:
                papermill.execute_notebook(str(NOTEBOOKS / name), str(Path(tmp) / name), kernel_name="python3",
                                           cwd=tmp, progress_bar=False, store_widget_state=False)
            except Exception as exc:
                error = f"{type(exc).__name__}"
            seconds = time.perf_counter() - started
        result = "FAIL (" + error + ")" if error else ("PASS" if seconds < limit else "MISS")
        rows.append([name, f"{seconds:.1f}", f"< {limit:.0f}", result])
        print(f"  {name}: {seconds:.1f} s {result}", file=sys.stderr, flush=True)
    return rows


def bench_sweep(runs: int, workers: list[int]) -> list[list]:
    from tao_lab.sweep import grid, run_sweep

    points = grid(seed=list(range(runs)), epochs=[3], guard=[True])
    rows, baseline = [], None
    for n in workers:
        with tempfile.TemporaryDirectory() as tmp:
            result = run_sweep(NOTEBOOKS / "sweep.ipynb", points, Path(tmp) / "out", workers=n)
        ok = int(result.runs["ok"].sum())
        per_min = 60.0 * ok / result.seconds
        baseline = baseline or per_min
        rows.append([n, runs, ok, f"{result.seconds:.1f}", f"{per_min:.2f}", f"{per_min / baseline:.2f}x",
                     f"{result.runs['seconds'].median():.1f}"])
        print(f"  {n} worker(s): {ok}/{runs} runs in {result.seconds:.1f} s", file=sys.stderr, flush=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-notebooks", action="store_true")
    parser.add_argument("--no-sweep", action="store_true")
    parser.add_argument("--only", nargs="*", help="notebook file names to time")
    parser.add_argument("--runs", type=int, default=4, help="sweep runs per worker count (default 4)")
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2, 4])
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    print(machine())
    if not args.no_notebooks:
        rows = bench_notebooks(args.only)
        print("\nnotebooks, headless with papermill, default parameters (seconds; target in the third column)")
        print(table(rows, ["notebook", "seconds", "target", "result"]))
    if not args.no_sweep:
        rows = bench_sweep(args.runs, args.workers)
        print(f"\nsweep: notebooks/sweep.ipynb over {args.runs} seeds (epochs=3, guard on); 1 worker is the baseline")
        print(table(rows, ["workers", "runs", "ok", "wall s", "runs/min", "vs 1 worker", "median run s"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
