"""Benchmark of a dashboard tick: the six figures of `tao_lab.widgets.figures` updated in place,
against rebuilding them from scratch (the baseline).

For each subnet size n, a synthetic subnet: n // 16 validators (at least 4, at most 64) with
permits, stake and weights on every uid; each validator routes 16 miners a step (5% time out) and
scores them; the event log holds 50 steps per validator, the history 20 epochs. A tick draws all
six panels (routing over the last 20 steps, scores, weights, emission, cumulative emission, stake
with two balances) with uid 3 highlighted, from one of two data sets in turn, so every update
really changes the data. The script times, per tick:

* ``update FigureWidget``: ``update_<panel>`` on six ``go.FigureWidget`` made once (what the
  dashboard does at every tick);
* ``update Figure``: the same on plain ``go.Figure`` objects;
* ``rebuild Figure``: ``build_<panel>`` from scratch (the baseline);
* ``rebuild FigureWidget``: ``go.FigureWidget(build_<panel>(...))`` from scratch, what a widget
  that re-created its figures would pay (and its front end would re-render).

No front end is attached, so the times are the Python side only (data to figure, validation, and
the messages a FigureWidget queues). Run from the repository root:
``python benchmarks/bench_widgets.py [--quick] [--repeats N]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # benchmark the checkout's tao_lab, installed or not

import plotly  # noqa: E402
import plotly.graph_objects as go  # noqa: E402

from tao_lab.widgets import figures as F  # noqa: E402

SIZES = (64, 256, 1024)
QUICK_SIZES = (64, 256)
SEED = 2026
ROUTED_PER_STEP = 16
STEPS = 50
EPOCHS = 20
TIMEOUT_RATE = 0.05
HIGHLIGHT = 3
BALANCES = {"alice": 1000.0, "bob": 250.0}
PANELS = ("routing", "scores", "weights", "emission", "cumulative_emission", "stake")


def validators_for(n: int) -> int:
    return min(64, max(4, n // 16))


class Subnet:
    """One data set for every panel: a metagraph-like object, events (a list of dicts) and a history."""

    def __init__(self, n: int, seed: int):
        rng = np.random.default_rng([seed, n])
        v = validators_for(n)
        permit = np.zeros(n, dtype=bool)
        permit[:v] = True
        W = np.zeros((n, n))
        W[:v] = rng.random((v, n))
        W[:v] /= W[:v].sum(axis=1, keepdims=True)
        self.mg = SimpleNamespace(
            uids=np.arange(n), hotkeys=[f"5Hot{i}" for i in range(n)], S=np.where(permit, 1e4, 10.0) * rng.random(n),
            W=W, C=W[:v].mean(axis=0), I=rng.random(n) / n, D=np.where(permit, 1 / v, 0.0), VT=rng.random(n),
            E=rng.random(n), validator_permit=permit, active=np.ones(n, dtype=bool), block=10_000 + seed)
        events = []
        miners = np.arange(v, n)
        for step in range(STEPS):
            block = 9_000 + step
            for val in range(v):
                for m in rng.choice(miners, size=min(ROUTED_PER_STEP, len(miners)), replace=False).tolist():
                    base = {"block": block, "time": 0.0, "validator_uid": val, "miner_uid": m}
                    events.append({**base, "kind": "route", "value": None})
                    if rng.random() < TIMEOUT_RATE:
                        events.append({**base, "kind": "timeout", "value": 2.0, "reason": "timeout"})
                    else:
                        events.append({**base, "kind": "response", "value": 2.0 + rng.random(),
                                       "latency_s": 0.01 + 0.2 * rng.random()})
                    events.append({**base, "kind": "score", "value": float(rng.random())})
        self.events = events
        self.history = pd.DataFrame({
            "block": np.repeat(np.arange(EPOCHS) * 100, n), "epoch": np.repeat(np.arange(EPOCHS), n),
            "uid": np.tile(np.arange(n), EPOCHS), "E": rng.random(EPOCHS * n)})

    def args(self, panel: str):
        """(positional data, keyword arguments) of ``build_<panel>`` / ``update_<panel>``."""
        if panel in ("routing", "scores"):
            return self.events, {}
        if panel == "cumulative_emission":
            return self.history, {}
        if panel == "stake":
            return self.mg, {"balances": BALANCES}
        return self.mg, {}


def build_all(net: Subnet, widget: bool) -> list:
    figs = []
    for panel in PANELS:
        data, kw = net.args(panel)
        fig = getattr(F, f"build_{panel}")(data, highlight=HIGHLIGHT, **kw)
        figs.append(go.FigureWidget(fig) if widget else fig)
    return figs


def update_all(figs: list, net: Subnet) -> None:
    for panel, fig in zip(PANELS, figs):
        data, kw = net.args(panel)
        getattr(F, f"update_{panel}")(fig, data, highlight=HIGHLIGHT, **kw)


def timed_ticks(tick, nets: list[Subnet], repeats: int) -> float:
    """Median wall time in ms of ``tick(net)``, alternating the data sets, after one untimed warm-up."""
    tick(nets[1])
    times = []
    for k in range(repeats):
        start = time.perf_counter()
        tick(nets[k % 2])
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def machine() -> list[str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return [
        f"machine: {usable} usable CPUs (nproc), {model}",
        f"python {platform.python_version()}, plotly {plotly.__version__}, pandas {pd.__version__}, "
        f"numpy {np.__version__}, {platform.system()} {platform.machine()}",
    ]


def table(header: list[str], rows: list[list[str]], left: int = 0) -> str:
    """Plain-text table: the first ``left`` columns left-aligned, the others right-aligned."""
    widths = [max(len(r[k]) for r in [header, *rows]) for k in range(len(header))]

    def line(cells):
        return "  ".join(c.ljust(w) if k < left else c.rjust(w) for k, (c, w) in enumerate(zip(cells, widths)))

    lines = [line(r).rstrip() for r in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def explainer_rows() -> list[tuple[str, float]] | None:
    """HOOK: rows from ``tao_lab.widgets.explainer.bench_rows()`` -> [(label, ms), ...], if that module
    exists and has it (it is written separately); None otherwise."""
    try:
        from tao_lab.widgets import explainer
    except ImportError:
        return None
    bench_rows = getattr(explainer, "bench_rows", None)
    return None if bench_rows is None else list(bench_rows())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"only n in {QUICK_SIZES}")
    parser.add_argument("--repeats", type=int, default=7, help="timed ticks per configuration (default 7)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    sizes = QUICK_SIZES if args.quick else SIZES

    print("\n".join(machine()))
    print(f"tick: all six panels ({', '.join(PANELS)}), highlight uid {HIGHLIGHT}; "
          f"{ROUTED_PER_STEP} miners routed per validator step, {STEPS} steps of events, {EPOCHS} epochs of history; "
          f"median of {args.repeats} ticks after 1 warm-up, ms")
    print()

    rows = []
    for n in sizes:
        nets = [Subnet(n, SEED), Subnet(n, SEED + 1)]
        widgets = build_all(nets[0], widget=True)
        figures = build_all(nets[0], widget=False)
        t_upd_w = timed_ticks(lambda net: update_all(widgets, net), nets, args.repeats)
        t_upd_f = timed_ticks(lambda net: update_all(figures, net), nets, args.repeats)
        t_build_f = timed_ticks(lambda net: build_all(net, widget=False), nets, args.repeats)
        t_build_w = timed_ticks(lambda net: build_all(net, widget=True), nets, args.repeats)
        traces = sum(len(f.data) for f in widgets)
        rows.append([str(n), str(validators_for(n)), str(len(nets[0].events)), str(traces),
                     f"{t_upd_w:.1f}", f"{t_upd_f:.1f}", f"{t_build_f:.1f}", f"{t_build_w:.1f}",
                     f"{t_build_w / t_upd_w:.1f}x", f"{1e3 / t_upd_w:.1f}"])
    header = ["n", "validators", "events", "traces", "update FigureWidget ms", "update Figure ms",
              "rebuild Figure ms (baseline)", "rebuild FigureWidget ms", "speed-up vs rebuild FigureWidget",
              "max ticks/s"]
    print(table(header, rows))

    extra = explainer_rows()  # HOOK: tao_lab.widgets.explainer.bench_rows(), when someone has written it
    print()
    if extra is None:
        print("explainer: tao_lab.widgets.explainer.bench_rows() not available; no explainer rows")
    else:
        print(table(["explainer", "ms"], [[str(label), f"{float(ms):.1f}"] for label, ms in extra], left=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
