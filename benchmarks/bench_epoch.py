"""Benchmark of `tao_lab.consensus.epoch` against a literal pure-Python port of subtensor's epoch.

For each subnet size n, 128 validators (uids 0..127, with stake and permits) set random weights
on half of the other uids and hold random bonds from a previous epoch. The script times:

* the literal port in ``baseline_epoch.py`` (sparse lists of tuples, Python ints as I32F32);
* ``epoch(exact=True)`` and ``epoch(exact=False)`` with weights and bonds as dense uint16 arrays;
* ``epoch(exact=True)`` with weights and bonds as sparse rows of ``(uid, u16)``, as the chain stores them;

checks that the exact engine gives the same incentive, dividends, consensus and emission as the
literal port, bit for bit, and compares the timings with the targets of the "Speed" issue.

Run from the repository root: ``python benchmarks/bench_epoch.py [--quick] [--repeats N]``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # benchmark the checkout's tao_lab, installed or not

from baseline_epoch import epoch_baseline  # noqa: E402  (this file's own folder is on sys.path)

from tao_lab.consensus import EpochParams, epoch, normalize_weights  # noqa: E402

VALIDATORS = 128
DENSITY = 0.5
SIZES = (256, 1024, 4096)
QUICK_SIZES = (256, 1024)
SEED = 2026
PARAMS = EpochParams(max_allowed_validators=VALIDATORS)  # kappa, bonds penalty, EMA: subtensor defaults
RAO_EMISSION = 1_000_000_000
BASELINE_BUDGET_S = 10.0  # stop repeating the baseline once its runs have taken this long

# (label, n, engine, limit in seconds) from the issue.
TARGETS = (
    ("n=4096 exact < 0.2 s", 4096, "exact", 0.2),
    ("n=4096 float < 0.05 s", 4096, "float", 0.05),
    ("n=256 exact < 5 ms", 256, "exact", 0.005),
)
COMPARED = ("incentive_u16", "dividends_u16", "consensus_u16", "emission")


class Subnet:
    """Inputs of one epoch, in the engine's dense form and in the chain's sparse-row form."""

    def __init__(self, n: int, validators: int, seed: int):
        rng = np.random.default_rng([seed, n])
        self.n = n
        self.validators = validators
        self.stake = np.zeros(n, dtype=np.uint64)
        self.stake[:validators] = rng.integers(1_000, 1_000_000, size=validators, dtype=np.uint64) * 10**9
        self.permits = np.zeros(n, dtype=bool)
        self.permits[:validators] = True
        self.weights = np.zeros((n, n), dtype=np.uint16)
        self.bonds = np.zeros((n, n), dtype=np.uint16)
        for i in range(validators):
            others = np.delete(np.arange(n), i)
            uids = others[rng.random(n - 1) < DENSITY]
            raw = rng.integers(1, 65536, size=len(uids))
            uids, stored = normalize_weights(uids, raw)  # what set_weights stores: max-upscaled
            self.weights[i, uids] = stored
            held = others[rng.random(n - 1) < DENSITY]
            self.bonds[i, held] = rng.integers(1, 65536, size=len(held))
        self.weight_rows = _rows(self.weights)
        self.bond_rows = _rows(self.bonds)

    def run_exact(self):
        return epoch(self.stake, self.weights, self.bonds, self.permits, PARAMS, rao_emission=RAO_EMISSION)

    def run_float(self):
        return epoch(
            self.stake, self.weights, self.bonds, self.permits, PARAMS, rao_emission=RAO_EMISSION, exact=False
        )

    def run_exact_rows(self):
        return epoch(self.stake, self.weight_rows, self.bond_rows, self.permits, PARAMS, rao_emission=RAO_EMISSION)

    def run_baseline(self):
        return epoch_baseline(
            [int(s) for s in self.stake],
            self.weight_rows,
            self.bond_rows,
            [bool(p) for p in self.permits],
            kappa=PARAMS.kappa,
            bonds_penalty=PARAMS.bonds_penalty,
            bonds_moving_average=PARAMS.bonds_moving_average,
            max_allowed_validators=PARAMS.max_allowed_validators,
            rao_emission=RAO_EMISSION,
        )


def _rows(matrix: np.ndarray) -> list[list[tuple[int, int]]]:
    """n sparse rows of (uid, value) for the non-zero entries of a dense u16 matrix."""
    return [[(int(j), int(matrix[i, j])) for j in np.flatnonzero(matrix[i])] for i in range(len(matrix))]


def timed(fn, repeats: int, warmup: int = 1):
    """Median wall time of ``repeats`` calls after ``warmup`` untimed ones, and the last result."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def timed_baseline(fn, repeats: int):
    """Like `timed` without a warm-up, and stopping early once the runs exceed the time budget."""
    times = []
    result = None
    while len(times) < repeats and sum(times) < BASELINE_BUDGET_S:
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), len(times), result


def differences_from_baseline(result, baseline) -> list[str]:
    """Names of the compared outputs where the engine and the literal port differ."""
    return [name for name in COMPARED if getattr(result, name).tolist() != list(getattr(baseline, name))]


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
        f"python {platform.python_version()} ({platform.python_implementation()}), numpy {np.__version__}, "
        f"{platform.system()} {platform.machine()}",
    ]


def engine_fingerprint() -> str:
    """A short hash of the tao_lab/consensus sources, to tell which engine a table measured."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "tao_lab" / "consensus").glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return f"engine: tao_lab/consensus/*.py sha256 {digest.hexdigest()[:12]}"


def fmt_s(t: float | None) -> str:
    return "-" if t is None else f"{t:.3g}"


def table(header: list[str], rows: list[list[str]], left: int = 0) -> str:
    """Plain-text table: the first ``left`` columns left-aligned, the others right-aligned."""
    widths = [max(len(r[k]) for r in [header, *rows]) for k in range(len(header))]

    def line(cells):
        return "  ".join(c.ljust(w) if k < left else c.rjust(w) for k, (c, w) in enumerate(zip(cells, widths)))

    lines = [line(r).rstrip() for r in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"only n in {QUICK_SIZES}")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per engine configuration (default 5)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    sizes = QUICK_SIZES if args.quick else SIZES

    print("\n".join([*machine(), engine_fingerprint()]))
    print(
        f"subnet: {VALIDATORS} validators with stake and permits, weights and bonds on {DENSITY:.0%} of the "
        f"other uids, seed {SEED}; median of {args.repeats} runs after 1 warm-up"
    )
    print()

    rows = []
    measured: dict[tuple[int, str], float] = {}
    notes = []
    for n in sizes:
        net = Subnet(n, VALIDATORS, SEED)
        t_base, base_runs, base = timed_baseline(net.run_baseline, args.repeats)
        t_exact, exact = timed(net.run_exact, args.repeats)
        t_float, flt = timed(net.run_float, args.repeats)
        t_rows, exact_rows = timed(net.run_exact_rows, args.repeats)

        differ = differences_from_baseline(exact, base)
        assert not differ, f"n={n}: exact engine differs from the literal port in {differ}"
        differ = differences_from_baseline(exact_rows, base)
        assert not differ, f"n={n}: exact engine (sparse rows input) differs from the literal port in {differ}"
        assert exact.new_bonds_rows == base.bonds, f"n={n}: stored bonds differ from the literal port"

        measured[(n, "exact")] = t_exact
        measured[(n, "float")] = t_float
        off = np.abs(flt.emission.astype(np.int64) - exact.emission.astype(np.int64)).max()
        notes.append(
            f"n={n}: baseline timed over {base_runs} run(s); float emission differs from exact by at most {off} rao"
        )
        rows.append(
            [
                str(n),
                str(VALIDATORS),
                fmt_s(t_base),
                fmt_s(t_exact),
                fmt_s(t_float),
                fmt_s(t_rows),
                f"{t_base / t_exact:.0f}x",
                "identical",
            ]
        )

    header = [
        "n",
        "validators",
        "baseline s",
        "exact s",
        "float s",
        "exact (sparse rows input) s",
        "speed-up vs baseline",
        "exact vs baseline",
    ]
    print(table(header, rows))
    print()
    for note in notes:
        print(note)
    print()

    target_rows = []
    for label, n, engine, limit in TARGETS:
        t = measured.get((n, engine))
        verdict = "not run" if t is None else ("PASS" if t < limit else "MISS")
        target_rows.append([label, fmt_s(t), verdict])
    print(table(["target (issue 'Speed')", "measured s", "result"], target_rows, left=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
