"""Parameter sweeps: one parameterised notebook run over a grid, in parallel, results in one table.

    tao-lab sweep notebooks/sweep.ipynb --grid kappa=0.3,0.5,0.7 --grid copiers=0,1 --grid seed=0,1 \\
        --workers 2 --out sweeps/kappa-copiers

    from tao_lab.sweep import grid, run_sweep
    result = run_sweep("notebooks/sweep.ipynb", grid(kappa=[0.3, 0.7], seed=[0, 1]), "sweeps/k", workers=2)
    result.table                     # one row per run and uid, with the run's parameters as columns

Every grid point is one papermill run of the notebook with that point's parameters, plus
``results_path`` (where the notebook must write its CSV: one row per uid) and ``report_path``.
Runs go to ``workers`` local processes, or, with ``scheduler="tcp://host:8786"``, to a Dask
distributed cluster whose workers can read the notebook and write to ``out`` (a shared folder).
Each run's executed notebook (``run-NNN.ipynb``), CSV and report are kept in ``out``; a run that
fails is listed in ``runs.csv`` with its error and the others go on. ``results.csv`` holds the
whole table and ``sweep.html`` its figure.
"""

from __future__ import annotations

import itertools
import json
import os
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InputError

__all__ = ["grid", "parse_grid", "run_one", "run_sweep", "SweepResult"]


def grid(**axes) -> list[dict]:
    """The cartesian product of ``axes`` (name -> list of values), in a stable order."""
    for name, values in axes.items():
        if not isinstance(values, (list, tuple)) or not values:
            raise InputError(name, f"a grid axis needs a non-empty list of values, got {values!r}")
    names = list(axes)
    return [dict(zip(names, combo)) for combo in itertools.product(*(axes[n] for n in names))]


def _value(text: str):
    text = text.strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        lowered = text.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        return text


def parse_grid(specs: list[str]) -> list[dict]:
    """``["kappa=0.3,0.5", "seed=0,1"]`` -> `grid` of those axes (values parsed as JSON where they are)."""
    axes: dict[str, list] = {}
    for spec in specs:
        name, sep, values = spec.partition("=")
        if not sep or not name.strip().isidentifier() or not values.strip():
            raise InputError("grid", f"expected NAME=V1,V2,... (e.g. kappa=0.3,0.5), got {spec!r}")
        if name.strip() in axes:
            raise InputError("grid", f"axis {name.strip()!r} is given twice")
        axes[name.strip()] = [_value(v) for v in values.split(",")]
    return grid(**axes)


def run_one(notebook: str, out_dir: str, index: int, parameters: dict, timeout: float = 900.0) -> dict:
    """Execute ``notebook`` with ``parameters`` as run ``index``; returns a status dict (never raises).

    Runs in a worker process (local or Dask): imports papermill itself, sets HF_HUB_OFFLINE.
    """
    import papermill

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    out = Path(out_dir)
    stem = f"run-{index:03d}"
    params = {**parameters, "results_path": str(out / f"{stem}.csv"), "report_path": str(out / f"{stem}.html")}
    started = time.monotonic()
    status = {"run": index, **{f"param:{k}": v for k, v in parameters.items()}, "notebook": str(out / f"{stem}.ipynb"),
              "results": params["results_path"], "report": params["report_path"], "ok": False, "error": "",
              "seconds": 0.0, "host": os.uname().nodename, "pid": os.getpid()}
    try:
        papermill.execute_notebook(notebook, status["notebook"], parameters=params, kernel_name="python3",
                                   cwd=str(out), progress_bar=False, execution_timeout=int(timeout),
                                   store_widget_state=False)
        if not Path(params["results_path"]).exists():
            raise RuntimeError(f"the notebook wrote no results to results_path ({params['results_path']})")
        status["ok"] = True
    except Exception as exc:  # a failed run is reported; the sweep goes on
        lines = traceback.format_exception_only(type(exc), exc)
        status["error"] = "".join(lines).strip()[-2000:]
    status["seconds"] = round(time.monotonic() - started, 2)
    return status


@dataclass
class SweepResult:
    """``table``: every successful run's rows (one per uid) with ``run`` and the parameters as columns;
    ``runs``: one row per run (parameters, ok, error, seconds, files); ``out``: the folder."""

    table: Any
    runs: Any
    out: Path
    seconds: float

    @property
    def failed(self):
        return self.runs[~self.runs["ok"]]

    def figure(self, x: str | None = None, y: str = "miner_share", color: str = "group"):
        """Mean ``y`` per ``color`` group against the parameter ``x`` (default: the first axis), over seeds."""
        from .scenarios.figures import build_sweep

        axes = [a for a in self.axes if a != "seed"] or self.axes  # seeds are what the error bars span
        return build_sweep(self.table, x=x or (axes[0] if axes else None), y=y, color=color)

    @property
    def axes(self) -> list[str]:
        return [c[len("param:"):] for c in self.runs.columns if c.startswith("param:")]


def run_sweep(notebook, points: list[dict], out, *, workers: int = 2, scheduler: str | None = None,
              timeout: float = 900.0, on_run=None) -> SweepResult:
    """Run ``notebook`` once per grid point (see the module docstring); returns a `SweepResult`.

    ``on_run(status)`` is called as each run ends (the CLI prints a line; a notebook can update a bar).
    """
    import pandas as pd

    notebook = Path(notebook).resolve()
    if not notebook.is_file():
        raise InputError("notebook", f"{notebook} does not exist")
    if not points:
        raise InputError("grid", "the grid is empty: give at least one axis with values")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InputError("workers", f"expected a number of worker processes >= 1, got {workers!r}")
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    statuses: list[dict] = []

    def done(status: dict) -> None:
        statuses.append(status)
        if on_run is not None:
            on_run(status)

    jobs = [(str(notebook), str(out), i, dict(p), timeout) for i, p in enumerate(points)]
    if scheduler:
        try:
            from distributed import Client, as_completed as dask_completed
        except ImportError:
            raise InputError("scheduler", "a Dask scheduler needs the 'distributed' package: pip install distributed") from None
        with Client(scheduler, timeout="30s") as client:
            futures = [client.submit(run_one, *job, pure=False, key=f"tao-lab-run-{job[2]}-{time.time_ns()}")
                       for job in jobs]
            for future in dask_completed(futures):
                try:
                    done(future.result())
                except Exception as exc:  # the worker itself died
                    i = futures.index(future)
                    done({"run": i, **{f"param:{k}": v for k, v in points[i].items()}, "ok": False,
                          "error": f"{type(exc).__name__}: {exc}", "seconds": 0.0})
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(run_one, *job): job for job in jobs}
            for future in as_completed(futures):
                try:
                    done(future.result())
                except Exception as exc:  # the worker process died (killed, out of memory)
                    job = futures[future]
                    done({"run": job[2], **{f"param:{k}": v for k, v in job[3].items()}, "ok": False,
                          "error": f"{type(exc).__name__}: {exc}", "seconds": 0.0})
    runs = pd.DataFrame(sorted(statuses, key=lambda s: s["run"]))
    frames = []
    for status in statuses:
        if status["ok"]:
            frame = pd.read_csv(status["results"])
            frame.insert(0, "run", status["run"])
            for key, value in status.items():
                if key.startswith("param:"):
                    frame[key[len("param:"):]] = value
            frames.append(frame)
    table = pd.concat(frames, ignore_index=True).sort_values(["run", "uid"], kind="stable") if frames else pd.DataFrame()
    table.to_csv(out / "results.csv", index=False)
    runs.to_csv(out / "runs.csv", index=False)
    result = SweepResult(table.reset_index(drop=True), runs, out, round(time.monotonic() - started, 2))
    if len(table):
        result.figure().write_html(str(out / "sweep.html"), include_plotlyjs=True)
    return result
