"""The ``tao-lab`` command line.

``tao-lab devnet`` runs the embedded devnet node; ``tao-lab demo`` runs a small subnet through Yuma
consensus for a number of epochs and prints what each uid earns; ``tao-lab scenario`` runs a
scenario (a named one from `tao_lab.scenarios.LIBRARY`, or a JSON file) on a fresh devnet and prints
what each neuron earned; ``tao-lab sweep`` runs a parameterised notebook over a grid (`tao_lab.sweep`).
"""

from __future__ import annotations

import argparse
import math
import os
import socket
import sys

import numpy as np

from .consensus import EpochParams, simulate
from .errors import InputError, TaoLabError

TAO = 1_000_000_000  # rao

# ---------------------------------------------------------------------- argument types
# Each raises argparse.ArgumentTypeError, which `_Parser.error` prints as one line naming the flag.


def _int_at_least(low: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value

    parse.__name__ = f"integer >= {low}"
    return parse


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port lies in 0..65535 (0 = any free port), got {value}")
    return value


def _seconds(text: str) -> float:
    """A finite, positive number of seconds (0, negative, nan and inf are refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds above 0, got {text!r}")
    return value


class _Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one line on stderr (``tao-lab demo: error: ...``) and exit code 2."""

    def error(self, message: str):  # noqa: D102 - argparse's hook
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def demo_subnet(validators: int = 3, miners: int = 5, seed: int = 0):
    """Stake and a weights function for a toy subnet.

    Miners have a hidden quality; honest validators weight miners by noisy estimates of it. The last
    validator is lazy: it puts all its weight on a single miner, so consensus clips it.
    """
    rng = np.random.default_rng(seed)
    n = validators + miners
    quality = np.sort(rng.uniform(0.2, 1.0, miners))[::-1]
    stake = [int(s) * TAO for s in rng.integers(1_000, 10_000, validators)] + [0] * miners

    def weights(epoch_index, last):
        rows = []
        for v in range(validators):
            if v == validators - 1 and validators > 1:
                scores = np.zeros(miners)
                scores[-1] = 1.0  # the lazy validator backs the weakest miner
            else:
                scores = np.clip(quality + rng.normal(0, 0.05, miners), 0, None)
            top = scores.max() or 1.0
            rows.append([(validators + j, int(round(65535 * s / top))) for j, s in enumerate(scores)])
        return rows + [[] for _ in range(miners)]

    return n, stake, weights, quality


def _demo(args) -> int:
    if args.liquid_alpha and not args.yuma3:
        raise InputError("--liquid-alpha", "liquid alpha changes only Yuma3 bonds: add --yuma3, or drop --liquid-alpha")
    n, stake, weights, quality = demo_subnet(args.validators, args.miners, args.seed)
    params = EpochParams(yuma3=args.yuma3, liquid_alpha=args.liquid_alpha, tempo=args.tempo)

    def progress(e, r):
        print(
            f"epoch {e:>3}  miners {int(r.server_emission.sum()) / TAO:8.4f} TAO  "
            f"validators {int(r.validator_emission.sum()) / TAO:8.4f} TAO  "
            f"max consensus {r.consensus.max():.4f}",
            flush=True,
        )

    print(f"Yuma consensus demo: {args.validators} validators, {args.miners} miners, "
          f"{'Yuma3' if args.yuma3 else 'original Yuma'} bonds, {args.epochs} epochs of 1 TAO each\n")
    sim = simulate(stake, weights, args.epochs, params=params, rao_emission=TAO, on_epoch=progress)
    r = sim.results[-1]
    print("\nlast epoch (exact, as subtensor computes it):")
    print(f"{'uid':>4} {'role':<10} {'stake TAO':>10} {'quality':>8} {'C':>7} {'I':>7} {'D':>7} "
          f"{'Tv':>7} {'emission TAO':>13}")
    for uid in range(n):
        miner = uid >= args.validators
        role = "miner" if miner else ("validator" if r.new_validator_permits[uid] else "idle")
        q = f"{quality[uid - args.validators]:.3f}" if miner else ""
        print(f"{uid:>4} {role:<10} {int(r.stake[uid]) / TAO:>10.0f} {q:>8} {r.consensus[uid]:>7.4f} "
              f"{r.incentive[uid]:>7.4f} {r.dividends[uid]:>7.4f} {r.validator_trust[uid]:>7.4f} "
              f"{int(r.emission[uid]) / TAO:>13.6f}")
    return 0


def _devnet(args) -> int:
    import asyncio
    import logging

    from .node.runner import TOKEN_ENV, serve_forever

    logging.basicConfig(level=getattr(logging, args.log_level.upper()),
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    mode = "instant" if args.instant else ("manual" if args.manual else "interval")

    def ready(url: str) -> None:
        # The first line of output is the URL: `Devnet` reads it to know where the node listens.
        print(url, flush=True)
        if not args.quiet:
            print("connect with the URL above: its ?token= lets dev_* calls (advance, snapshot, reset) through; "
                  "without it, clients can read and transact only", file=sys.stderr, flush=True)
            print(f"tao_lab devnet ({mode} blocks{'' if mode != 'interval' else f' every {args.block_time:g} s'}, "
                  f"data: {args.data_dir or 'in memory'}) — Ctrl-C to stop", file=sys.stderr, flush=True)

    try:
        asyncio.run(serve_forever(ready=ready, host=args.host, port=args.port, mode=mode,
                                  block_time=args.block_time, data_dir=args.data_dir, parent_pid=args.parent_pid,
                                  token=os.environ.get(TOKEN_ENV) or None, allowed_origins=args.allow_origin or (),
                                  max_connections=args.max_connections, keep_blocks=args.keep_blocks))
    except OSError as exc:  # bind failed: unknown host, busy port, no permission
        reason = exc.strerror or str(exc)
        if isinstance(exc, socket.gaierror):
            raise InputError("--host", f"cannot resolve {args.host!r} ({reason}); use an address such as 127.0.0.1") from None
        raise InputError("--port", f"cannot listen on {args.host}:{args.port} ({reason}); "
                                   "is another devnet running there? Choose another --port (0 = any free port)") from None
    return 0


def _scenario(args) -> int:
    from pathlib import Path

    from .scenarios import Scenario, library
    from .sweep import _value

    options = {}
    for item in args.set or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip().isidentifier():
            raise InputError("--set", f"expected NAME=VALUE (e.g. guard=true, kappa=20000), got {item!r}")
        options[key.strip()] = _value(value)
    if args.epochs is not None:
        options["epochs"] = args.epochs
    if args.seed is not None:
        options["seed"] = args.seed
    if Path(args.scenario).suffix == ".json":
        path = Path(args.scenario)
        if not path.is_file():
            raise InputError("scenario", f"{path} does not exist")
        scenario = Scenario.from_json(path.read_text())
        if options:
            scenario = scenario.replace(**options)
    else:
        try:
            scenario = library(args.scenario, **options)
        except TypeError as exc:  # an option the scenario does not take
            raise InputError("--set", f"{args.scenario}: {exc}") from None
    if args.print_json:
        print(scenario.to_json())
        return 0
    print(f"running {scenario.name} (seed {scenario.seed}, {scenario.epochs} epochs) on a fresh devnet ...",
          file=sys.stderr, flush=True)
    result = scenario.run(progress=not args.quiet)
    columns = ["name", "role", "behaviour", "uid", "S", "I", "D", "emission", "miner_share"]
    print(result.table[columns].to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    if args.out:
        result.table.to_csv(args.out, index=False)
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


def _sweep(args) -> int:
    from .sweep import parse_grid, run_sweep

    points = parse_grid(args.grid or [])
    where = f"the Dask cluster at {args.scheduler}" if args.scheduler else f"{args.workers} local worker process(es)"
    print(f"sweep: {len(points)} runs of {args.notebook} on {where}, results in {args.out}", file=sys.stderr, flush=True)

    def line(status: dict) -> None:
        params = ", ".join(f"{k[6:]}={v}" for k, v in status.items() if k.startswith("param:"))
        state = "ok" if status["ok"] else "FAILED: " + status["error"].splitlines()[-1][:200]
        print(f"  run {status['run']:>3} ({params}) {status['seconds']:.0f} s {state}", file=sys.stderr, flush=True)

    result = run_sweep(args.notebook, points, args.out, workers=args.workers, scheduler=args.scheduler,
                       timeout=args.timeout, on_run=line)
    ok = int(result.runs["ok"].sum())
    print(f"{ok} of {len(points)} runs ok in {result.seconds:.0f} s ({60 * len(points) / max(result.seconds, 1e-9):.1f} "
          f"runs/min); {result.out / 'results.csv'}, {result.out / 'runs.csv'}, {result.out / 'sweep.html'}")
    if len(result.table):
        axes = [a for a in result.axes]
        miners = result.table[result.table["role"] == "miner"]
        summary = miners.groupby(axes + ["group"], dropna=False)["miner_share"].sum().unstack("group")
        runs = result.table.groupby(axes, dropna=False)["run"].nunique()
        print((summary.div(runs, axis=0)).round(3).to_string())  # mean share per run
    return 0 if ok == len(points) else 1


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(prog="tao-lab", description="tao_lab: a lab kit for Bittensor-style networks")
    parser.add_argument("--version", action="version", version=f"tao-lab {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND",
                                help="what to run (tao-lab COMMAND --help for its flags)")
    dev = sub.add_parser("devnet", help="run the embedded devnet node (Substrate JSON-RPC on 127.0.0.1)")
    dev.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    dev.add_argument("--port", type=_port, default=9944, help="port in 0..65535 (0 = any free port; default 9944)")
    dev.add_argument("--block-time", type=_seconds, default=0.25, metavar="SECONDS",
                     help="seconds between blocks, above 0 (default 0.25; with --instant or --manual, the block "
                          "time once dev_setBlockMode switches to interval blocks)")
    mode = dev.add_mutually_exclusive_group()
    mode.add_argument("--instant", action="store_true", help="a block as soon as a transaction arrives")
    mode.add_argument("--manual", action="store_true", help="blocks only through the dev_newBlock RPC")
    dev.add_argument("--data-dir", default=None, help="keep the chain in this folder (default: in memory)")
    dev.add_argument("--quiet", action="store_true", help="print only the URL")
    dev.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default="warning",
                     help="what the node logs on stderr: info adds every failed request (method and reason) "
                          "and every closed connection (default warning)")
    dev.add_argument("--parent-pid", type=_int_at_least(1), default=None, metavar="PID",
                     help="stop when process PID exits (what a notebook's Devnet passes; default: run until Ctrl-C)")
    dev.add_argument("--allow-origin", action="append", metavar="ORIGIN",
                     help="let browser pages from ORIGIN (e.g. https://hub.example.org; '*' = any) use the node; "
                          "pages on this machine always may (repeatable; docs/security.md)")
    dev.add_argument("--keep-blocks", type=_int_at_least(1), default=None, metavar="N",
                     help="blocks whose state stays in memory; older ones are pruned (default: "
                          "TAO_LAB_KEEP_BLOCKS or 4096)")
    dev.add_argument("--max-connections", type=_int_at_least(1), default=256, metavar="N",
                     help="open connections served at once, past it idle ones are closed or new ones get "
                          "HTTP 503 (default 256)")
    demo = sub.add_parser("demo", help="run a toy subnet through Yuma consensus and print a table")
    demo.add_argument("--validators", type=_int_at_least(1), default=3, help="validators, at least 1 (default 3)")
    demo.add_argument("--miners", type=_int_at_least(1), default=5, help="miners, at least 1 (default 5)")
    demo.add_argument("--epochs", type=_int_at_least(1), default=10, help="epochs to run, at least 1 (default 10)")
    demo.add_argument("--tempo", type=_int_at_least(1), default=360, help="blocks per epoch (default 360)")
    demo.add_argument("--seed", type=_int_at_least(0), default=0, help="random seed for stake and scores (default 0)")
    demo.add_argument("--yuma3", action="store_true", help="Yuma3 bonds instead of original Yuma")
    demo.add_argument("--liquid-alpha", action="store_true", help="liquid alpha: a bond EMA rate per entry (needs --yuma3)")
    scen = sub.add_parser("scenario", help="run a scenario (adversaries and all) on a fresh devnet; print what each earned")
    scen.add_argument("scenario", help="a name from tao_lab.scenarios.LIBRARY (noise, copier, sybil, ...) or a .json file")
    scen.add_argument("--set", action="append", metavar="NAME=VALUE",
                      help="a scenario option, e.g. --set guard=true --set kappa=20000 (repeatable)")
    scen.add_argument("--epochs", type=_int_at_least(1), default=None, help="epochs to run (default: the scenario's)")
    scen.add_argument("--seed", type=_int_at_least(0), default=None, help="random seed (default: the scenario's)")
    scen.add_argument("--out", default=None, help="also write the results table to this CSV file")
    scen.add_argument("--json", dest="print_json", action="store_true", help="print the scenario as JSON and exit")
    scen.add_argument("--quiet", action="store_true", help="no progress bar")
    sweep = sub.add_parser("sweep", help="run a parameterised notebook over a grid, in parallel, into one table")
    sweep.add_argument("notebook", help="a notebook with a papermill 'parameters' cell, e.g. notebooks/sweep.ipynb")
    sweep.add_argument("--grid", action="append", metavar="NAME=V1,V2,...", required=True,
                       help="one axis of the grid (repeatable): --grid kappa=0.3,0.5 --grid seed=0,1")
    sweep.add_argument("--out", required=True, help="folder for every run's notebook, CSV and report, and the results")
    sweep.add_argument("--workers", type=_int_at_least(1), default=2, help="local worker processes (default 2)")
    sweep.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                       help="send the runs to this Dask distributed scheduler instead")
    sweep.add_argument("--timeout", type=_seconds, default=900.0, metavar="SECONDS",
                       help="seconds a run may take (default 900)")
    return parser


#: flag -> the `Devnet` argument it stands for, for errors read by a Python user (see `main`)
PYTHON_NAMES = {"--data-dir": "data_dir=", "--block-time": "block_time=", "--port": "port="}


def main(argv: list[str] | None = None, *, python_names: bool = False) -> int:
    """Run the ``tao-lab`` command; returns the exit code.

    Mistakes end in one line on stderr and exit code 2: argparse's for malformed flags, ``tao-lab:
    error: ...`` for any `TaoLabError` (an `InputError` names the flag). Output cut short by a
    closed pipe (``tao-lab demo | head``) ends quietly with 141, as a shell's own tools do.

    ``python_names``: the node process a `Devnet` starts (``python -m tao_lab.node``) reports its
    errors to a Python user, so they name `Devnet`'s arguments (``data_dir=``) instead of the flags.
    """
    args = _parser().parse_args(argv)
    commands = {"devnet": _devnet, "demo": _demo, "scenario": _scenario, "sweep": _sweep}
    try:
        return commands[args.command](args)
    except TaoLabError as exc:
        message = " ".join(str(exc).split())
        for flag, argument in PYTHON_NAMES.items() if python_names else ():
            message = message.replace(flag, argument)
        print(f"tao-lab: error: {message}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (`| head`): stop writing, and keep Python's exit-time flush of
        # stdout from raising again (the recipe in the `signal` module's documentation).
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except OSError:
            pass
        return 141  # 128 + SIGPIPE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
