"""Benchmark of the widgets: a dashboard tick (figure level and live), and an explainer slider move.

**Figures.** The six figures of `tao_lab.widgets.figures` updated in place, against rebuilding them
from scratch (the baseline). For each subnet size n, a synthetic subnet: n // 16 validators (at
least 4, at most 64) with permits, stake and weights on every uid; each validator routes 16 miners
a step (5% time out) and scores them; the event log holds 50 steps per validator, the history 20
epochs. A tick draws all six panels (routing over the last 20 steps, scores, weights, emission,
cumulative emission, stake with two balances) with uid 3 highlighted, from one of two data sets in
turn, so every update really changes the data. The script times, per tick:

* ``update FigureWidget``: ``update_<panel>`` on six ``go.FigureWidget`` made once (what the
  dashboard does at every tick);
* ``update Figure``: the same on plain ``go.Figure`` objects;
* ``rebuild Figure``: ``build_<panel>`` from scratch (the baseline);
* ``rebuild FigureWidget``: ``go.FigureWidget(build_<panel>(...))`` from scratch, what a widget
  that re-created its figures would pay (and its front end would re-render).

No front end is attached, so the times are the Python side only (data to figure, validation, and
the messages a FigureWidget queues).

**Explainer.** ``tao_lab.widgets.explainer.bench_rows()``: a slider move (``Explainer.update``)
at 16, 64 and 256 uids, against rebuilding its seven figures.

**Live.** One real Jupyter kernel (``tests/lifetimes/kernel_tools.Kernel``) runs
``Lab(block_time=0.25)``, ``subnet(tempo=20)``, 3 miners and 1 validator (thread mode on a CPU
machine, so they share the kernel's interpreter), and the subnet is filled with bare registered
hotkeys to 64, then 256 uids. At each size ``lab.dashboard(refresh=0.5)`` runs for a window while
this process times a trivial cell (``1+1``, a round trip through the kernel's shell channel); the
baselines are the same cell in the idle kernel before any lab, and at 256 uids with the dashboard
stopped. Rows: refreshes per second, the tick's median and p90, the cell's median, p90 and max,
and which panels each tick redrew. If the dashboard misses 2 refreshes/s at 256 uids (or with
``--profile``), five ticks are run under cProfile in the kernel.

Run from the repository root (about 3 minutes):
``python benchmarks/bench_widgets.py [--quick] [--repeats N] [--no-figures] [--no-explainer]
[--no-live] [--live-seconds S] [--profile]``.
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


def sources() -> str:
    """A short sha256 of the widget sources measured (``tao_lab/widgets/**/*.py``), and whether git
    sees them changed since the last commit."""
    import hashlib
    import subprocess

    digest = hashlib.sha256()
    for path in sorted((ROOT / "tao_lab" / "widgets").rglob("*.py")):
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "tao_lab/widgets"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
        git = f"git HEAD {head}" + (", with uncommitted changes in tao_lab/widgets" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        git = "not a git checkout"
    return f"widget sources sha256 {digest.hexdigest()[:12]} ({git})"


def table(header: list[str], rows: list[list[str]], left: int = 0) -> str:
    """Plain-text table: the first ``left`` columns left-aligned, the others right-aligned."""
    widths = [max(len(r[k]) for r in [header, *rows]) for k in range(len(header))]

    def line(cells):
        return "  ".join(c.ljust(w) if k < left else c.rjust(w) for k, (c, w) in enumerate(zip(cells, widths)))

    lines = [line(r).rstrip() for r in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def explainer_rows() -> list[tuple[str, float]] | None:
    """Rows from ``tao_lab.widgets.explainer.bench_rows()`` -> [(label, ms), ...]: the median time of a
    slider move (``Explainer.update(kappa=...)``) at 16, 64 and 256 uids, and its rebuild baseline.
    None when the module or the function is missing; any other import error is raised, not hidden."""
    try:
        from tao_lab.widgets import explainer
    except ModuleNotFoundError as exc:
        if exc.name != "tao_lab.widgets.explainer":
            raise
        return None
    bench_rows = getattr(explainer, "bench_rows", None)
    return None if bench_rows is None else [(str(label), float(ms)) for label, ms in bench_rows()]


# ---------------------------------------------------------------------- live: a real kernel, a real lab

LIVE_SECONDS = 15.0  # measuring window per condition
LIVE_UIDS = (64, 256)
LIVE_REFRESH = 0.5  # the dashboard's default: 2 Hz
# The loop waits `refresh` minus the tick's own time, so 2.00/s is the most refresh=0.5 can give;
# the timer's and the loop's overhead take ~1% of that. At or above this rate counts as 2 Hz.
RATE_2HZ = 1.95
CELL = "1+1"  # the trivial cell

# Run in the kernel once: helpers that fill the subnet with bare hotkeys (no axon, no stake) and
# count what each dashboard tick redraws. `_bench_mark(d)` starts a window: it returns the tick
# count and clears the per-panel counters; `_bench_window(d, ticks)` reads the window back.
KERNEL_HELPERS = r"""
import collections, time
from substrateinterface import Keypair
_bench_next = 0

def _bench_fill(n):
    # register //bench//i hotkeys (the lab's funder pays) until the subnet has n uids; (added, seconds)
    global _bench_next
    sub, netuid, added, t = lab.subtensor, lab.netuid, 0, time.perf_counter()
    with lab._lock, lab._instant_blocks():
        while sub.neuron_count(netuid) < n:
            hotkey = Keypair.create_from_uri(f"//bench//{_bench_next}").ss58_address
            _bench_next += 1
            sub.burned_register(lab.funder, netuid, hotkey=hotkey)
            added += 1
    return added, time.perf_counter() - t

_bench_panel_n, _bench_panel_s = collections.Counter(), collections.Counter()
_bench_done = []  # perf_counter() at the end of each tick

def _bench_watch(d):
    # time dashboard d's ticks and count its panel updates (its update and _update, wrapped on the instance)
    inner_update, inner_panel = d.update, d._update
    def timed_update(force=False):
        inner_update(force)
        _bench_done.append(time.perf_counter())
    def counted(panel, fn, data):
        t = time.perf_counter()
        inner_panel(panel, fn, data)
        _bench_panel_n[panel] += 1
        _bench_panel_s[panel] += time.perf_counter() - t
    d.update, d._update = timed_update, counted

def _bench_mark(d):
    _bench_panel_n.clear(); _bench_panel_s.clear(); _bench_done.clear()
    return d.ticks

def _bench_window(d, ticks):
    # refreshes per second from the first to the last tick end in the window
    n, done = d.ticks - ticks, list(_bench_done)
    rate = (len(done) - 1) / (done[-1] - done[0]) if len(done) >= 2 else 0.0
    return {"ticks": n, "rate": rate, "tick_s": list(d.tick_seconds[-n:]) if n else [],
            "panels": {p: (_bench_panel_n[p], _bench_panel_s[p]) for p in _bench_panel_n}, "error": d.error}
"""

# The dashboard thread is stopped; the neurons keep running (in thread mode they share the kernel's
# interpreter). Five ticks run in the cell's thread under cProfile, 0.5 s apart, so each sees a new
# block and new events as a live tick does.
PROFILE_CELL = r"""
import cProfile, io, pstats
_prof = cProfile.Profile()
for _ in range(5):
    time.sleep(0.5)
    _prof.enable(); d.update(); _prof.disable()
_out = io.StringIO()
pstats.Stats(_prof, stream=_out).sort_stats("cumulative").print_stats(35)
print("\n".join(l for l in _out.getvalue().splitlines() if l.strip()))
"""


def _quantiles(xs: list[float]) -> tuple[float, float, float]:
    """(median, p90, max) of ``xs`` (nearest-rank p90), in the units given."""
    if not xs:
        return float("nan"), float("nan"), float("nan")
    ordered = sorted(xs)
    return statistics.median(ordered), ordered[int(round(0.9 * (len(ordered) - 1)))], ordered[-1]


def _time_cells(k, seconds: float, rng: np.random.Generator) -> list[float]:
    """Round-trip seconds of the trivial cell for ``seconds``, one every 0.2-0.8 s (random gaps, so
    the cells do not lock onto the dashboard's 0.5 s phase)."""
    times, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        start = time.perf_counter()
        k.run(CELL)
        times.append(time.perf_counter() - start)
        time.sleep(rng.uniform(0.2, 0.8))
    return times


def _measure(k, label: str, uids: int | None, dashboard: bool, seconds: float, rng) -> dict:
    """One condition: trivial cells timed for ``seconds``; with ``dashboard``, the ticks of ``d`` too."""
    row = {"label": label, "uids": uids}
    if dashboard:
        ticks0 = k.value("_bench_mark(d)")
    row["cells"] = _time_cells(k, seconds, rng)
    if dashboard:
        window = k.value(f"_bench_window(d, {ticks0})")
        row["rate"] = window["rate"]
        row["tick_s"], row["panels"], row["error"] = window["tick_s"], window["panels"], window["error"]
    return row


def live_rows(seconds: float = LIVE_SECONDS, profile: bool | None = None) -> tuple[list[dict], dict, str | None]:
    """The dashboard in a real Jupyter kernel, on a devnet lab with running neurons.

    Conditions, in this order in one kernel: no lab; the dashboard running at 64 uids; running at
    256 uids; stopped at 256 uids (the lab and its neurons still running). Returns (rows, set-up
    facts, cProfile text or None). ``profile``: profile five ticks at 256 uids (None: only when the
    dashboard missed 2 refreshes/s there).
    """
    import tempfile

    sys.path.insert(0, str(ROOT / "tests" / "lifetimes"))
    from kernel_tools import Kernel

    rng = np.random.default_rng(SEED)
    rows, facts, prof = [], {}, None
    env = {"PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    with tempfile.TemporaryDirectory(prefix="bench-widgets-") as runtime, Kernel(runtime, env=env) as k:
        k.run(CELL)  # the kernel is up and has run a cell
        rows.append(_measure(k, "no lab (an idle kernel)", None, False, seconds, rng))

        t = time.perf_counter()
        k.run("from tao_lab import Lab\n"
              "lab = Lab(block_time=0.25, reuse=False)\n"
              "lab.subnet(tempo=20)\n"
              "lab.add_miners(3)\n"
              "lab.add_validators(1, stake=1000)\n"
              "_ = lab.wait()", timeout=300)
        facts["lab_s"] = time.perf_counter() - t
        k.run(KERNEL_HELPERS)
        facts["mode"] = k.value("lab.mode")
        facts["neurons"] = k.value("(len(lab.miners), len(lab.validators))")
        try:
            for n in LIVE_UIDS:
                facts[f"fill_{n}"] = k.value(f"_bench_fill({n})", timeout=600)
                facts[f"uids_{n}"] = k.value("lab.subtensor.neuron_count(lab.netuid)")
                t = time.perf_counter()
                k.run(f"d = lab.dashboard(refresh={LIVE_REFRESH}); _bench_watch(d)")
                facts[f"build_{n}"] = time.perf_counter() - t
                time.sleep(3)  # warm-up: the first ticks read the epoch history and draw every panel
                rows.append(_measure(k, f"dashboard running (refresh={LIVE_REFRESH:g})", n, True, seconds, rng))
                if n == LIVE_UIDS[-1]:
                    k.run("d.stop()")
                    rows.append(_measure(k, "dashboard stopped (d.stop())", n, False, seconds, rng))
                    if profile or (profile is None and rows[-2]["rate"] < RATE_2HZ):
                        prof = k.run(PROFILE_CELL, timeout=120)["stdout"]
                k.run("d.close(); del d")
            facts["neuron_errors"] = k.value("[e for e in lab.neurons()['error'] if e]")
        finally:
            k.run("lab.close()", timeout=60, allow_error=True)
    facts["seconds"] = seconds
    return rows, facts, prof


def print_live(rows: list[dict], facts: dict) -> float | None:
    """Print the live tables; returns the refreshes per second at 256 uids (None if not measured)."""
    fills = ", ".join(f"{facts[f'uids_{n}']} uids ({facts[f'fill_{n}'][0]} registered in {facts[f'fill_{n}'][1]:.1f} s)"
                      for n in LIVE_UIDS)
    builds = ", ".join(f"{facts[f'build_{n}']:.2f} s at {n} uids" for n in LIVE_UIDS)
    print(f"live: one real ipykernel; Lab(block_time=0.25), subnet tempo 20, {facts['neurons'][0]} miners and "
          f"{facts['neurons'][1]} validator running in {facts['mode']} mode (set up in {facts['lab_s']:.1f} s); "
          f"filled with bare hotkeys to {fills}; dashboard built in {builds}; {facts['seconds']:g} s per condition "
          f"after 3 s of warm-up; cell `{CELL}` timed as a round trip from this process")
    if facts.get("neuron_errors"):
        print(f"neuron errors: {facts['neuron_errors']}")
    print()
    header = ["condition", "uids", "ticks", "refreshes/s", "tick median ms", "tick p90 ms", "cells",
              "cell median ms", "cell p90 ms", "cell max ms"]
    out, rate_256 = [], None
    for r in rows:
        c50, c90, cmax = (x * 1e3 for x in _quantiles(r["cells"]))
        tick = ["—", "—", "—", "—"]
        if "rate" in r:
            t50, t90, _ = (x * 1e3 for x in _quantiles(r["tick_s"]))
            tick = [str(len(r["tick_s"])), f"{r['rate']:.2f}", f"{t50:.1f}", f"{t90:.1f}"]
            if r["uids"] == 256:
                rate_256 = r["rate"]
        out.append([r["label"], "—" if r["uids"] is None else str(r["uids"]), *tick, str(len(r["cells"])),
                    f"{c50:.1f}", f"{c90:.1f}", f"{cmax:.1f}"])
    print(table(header, out, left=1))
    print()
    prow = []
    for r in rows:
        if "panels" not in r:
            continue
        if r.get("error"):
            print(f"dashboard error at {r['uids']} uids: {r['error']}")
        for panel in ("weights", "emission", "stake", "cumulative", "routing", "scores"):
            count, secs = r["panels"].get(panel, (0, 0.0))
            prow.append([str(r["uids"]), panel, f"{count} of {len(r['tick_s'])}",
                         f"{secs / count * 1e3:.1f}" if count else "—"])
    print("what the ticks redrew (each panel's update_<panel>, timed inside the live ticks):")
    print(table(["uids", "panel", "ticks that updated it", "ms per update"], prow, left=2))
    return rate_256


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"figures: only n in {QUICK_SIZES}")
    parser.add_argument("--repeats", type=int, default=7, help="figures: timed ticks per configuration (default 7)")
    parser.add_argument("--figures", action=argparse.BooleanOptionalAction, default=True,
                        help="the figure-level tick table (default: on)")
    parser.add_argument("--explainer", action=argparse.BooleanOptionalAction, default=True,
                        help="the explainer's slider-move rows (default: on)")
    parser.add_argument("--live", action=argparse.BooleanOptionalAction, default=True,
                        help="the dashboard in a real kernel on a real lab, ~2 min (default: on)")
    parser.add_argument("--live-seconds", type=float, default=LIVE_SECONDS,
                        help=f"live: seconds per condition (default {LIVE_SECONDS:g})")
    parser.add_argument("--profile", action=argparse.BooleanOptionalAction, default=None,
                        help="live: cProfile five ticks at 256 uids (default: only if it missed 2 refreshes/s)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    sizes = QUICK_SIZES if args.quick else SIZES

    print("\n".join(machine()))
    print(sources())
    try:
        print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    except OSError:
        pass
    targets = []  # (target, measured, met)

    if args.figures:
        print()
        print(f"tick: all six panels ({', '.join(PANELS)}), highlight uid {HIGHLIGHT}; "
              f"{ROUTED_PER_STEP} miners routed per validator step, {STEPS} steps of events, {EPOCHS} epochs of "
              f"history; median of {args.repeats} ticks after 1 warm-up, ms")
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

    if args.explainer:
        extra = explainer_rows()
        print()
        if extra is None:
            print("explainer: tao_lab.widgets.explainer.bench_rows() not available; no explainer rows")
        else:
            print("explainer: median ms of a slider move (Explainer.update(kappa=...): the epoch and the seven "
                  "figures updated in place), and the baseline of rebuilding them")
            print(table(["explainer", "ms"], [[label, f"{ms:.1f}"] for label, ms in extra], left=1))
            at64 = [ms for label, ms in extra if label.startswith("update(") and label.endswith(" 64 uids")]
            if at64:
                targets.append(("explainer slider move at 64 uids < 100 ms", f"{at64[0]:.1f} ms", at64[0] < 100))

    if args.live:
        print()
        rows, facts, prof = live_rows(args.live_seconds, args.profile)
        rate = print_live(rows, facts)
        running = [r for r in rows if r["uids"] == 256 and "rate" in r]
        if rate is not None:
            targets.append((f"dashboard at 256 uids >= 2 refreshes/s (>= {RATE_2HZ:g} measured at refresh=0.5)",
                            f"{rate:.2f} /s", rate >= RATE_2HZ))
        if running:
            c50, c90, cmax = (x * 1e3 for x in _quantiles(running[0]["cells"]))
            targets.append(("trivial cell while it updates (256 uids): p90 < 100 ms",
                            f"{c50:.1f} / {c90:.1f} / {cmax:.1f} ms (median / p90 / max)", c90 < 100))
        if prof:
            print()
            print("cProfile of five ticks (d.update()) at 256 uids with the neurons running, cumulative:")
            print(prof.rstrip())

    if targets:
        print()
        print(table(["target", "measured", "result"], [[t, m, "PASS" if ok else "MISS"] for t, m, ok in targets],
                    left=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
