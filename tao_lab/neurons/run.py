"""One supervised neuron in its own process: ``python -m tao_lab.neurons.run --spec spec.json``.

`tao_lab.neurons.supervisor.Supervisor` writes the spec and starts this module; it can also be run
by hand. The spec is a JSON object:

    {"role": "miner",                          # or "validator"
     "name": "m0", "netuid": 1, "url": "ws://127.0.0.1:9944",
     "wallet": {"uri": "//Charlie", "hotkey_uri": "//Charlie//m0"},
     "model": "tiny", "seed": 0, "train_steps": 0, "port": 0,
     "device": "cuda:0", "threads": 4, "interval": 1.0,
     "status_file": "/tmp/.../m0.status.json", "parent_pid": 1234}

``wallet`` is a dev URI pair (``uri``, optional ``hotkey_uri``) or a wallet on disk (``name``,
``hotkey``, ``path``). A coldkey password never appears in the spec or on the command line: it is
read from the environment variable named by ``password_env``, or from the first line of stdin when
``password_stdin`` is true. Miner keys: ``model`` ("tiny" or a local Hugging Face folder),
``seed``, ``train_steps``, ``pretrain`` (steps before serving), ``lr``, ``port``, ``register``,
``task``, ``behaviour``, ``allow``, ``max_tokens``, ``rate_limit`` (see `Miner`). Validator keys: ``k``, ``batch_size``, ``timeout``, ``weights_interval``,
``explore``, ``seed``, ``task``, ``behaviour``, ``dedupe``, ``duplicate_tol``, ``loo``, ``shapley``, ``alpha``. ``behaviour`` is an
adversary or failure from `tao_lab.scenarios` (a name or a JSON object). ``task`` names a built-in task ("next_token", "digits").

While it runs, the process rewrites ``status_file`` (JSON: state, uid, port, steps, last error and
its traceback) every ``interval`` seconds. A validator given ``events_fd`` (an open file descriptor,
the write end of a pipe the supervisor passed) writes its new events there as JSON lines after
each step, without ever blocking (`tao_lab.neurons.streams.EventPipeWriter`). SIGTERM stops it cleanly (exit code 0). An exception
while starting is printed with its traceback, recorded in the status file, and exits with code 1;
a validator step that fails (no validator permit yet, say) is printed and recorded as the last
error, and the validator steps on, backing off while steps keep failing. It also exits
when ``parent_pid`` is no longer its parent (the notebook kernel died), so no neuron outlives it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from ..errors import InputError

__all__ = [
    "MINER_KEYS",
    "TASKS",
    "VALIDATOR_KEYS",
    "build_model",
    "build_neuron",
    "main",
    "read_password",
    "wallet_from_spec",
]

COMMON_KEYS = {"role", "name", "netuid", "url", "wallet", "device", "threads", "interval", "status_file",
               "parent_pid", "events_fd"}
MINER_KEYS = {"model", "seed", "train_steps", "pretrain", "lr", "port", "register", "task", "behaviour", "allow",
              "max_tokens", "rate_limit"}
VALIDATOR_KEYS = {"k", "batch_size", "timeout", "weights_interval", "explore", "seed", "task", "behaviour", "dedupe",
                  "duplicate_tol", "loo", "shapley", "alpha"}
TASKS = ("next_token", "digits")
WALLET_KEYS = {"uri", "hotkey_uri", "name", "hotkey", "path", "password_env", "password_stdin"}

PARENT_POLL_S = 0.5  # how often a child checks that its parent is alive
STEP_BACKOFF_MAX_S = 30.0  # longest pause between a validator's failing steps
EXIT_GRACE_S = 5.0  # after its parent died, how long a child may take to stop before it is cut short


# ------------------------------------------------------------------ building the neuron


def check_spec(spec: dict) -> dict:
    """Raise `InputError` for a malformed spec; returns it."""
    role = spec.get("role")
    if role not in ("miner", "validator"):
        raise InputError("role", f"expected 'miner' or 'validator', got {role!r}")
    allowed = COMMON_KEYS | (MINER_KEYS if role == "miner" else VALIDATOR_KEYS)
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise InputError(unknown[0], f"a {role} spec takes {sorted(allowed - COMMON_KEYS)} besides "
                                     f"{sorted(COMMON_KEYS)}; got {unknown}")
    for key in ("netuid", "url", "wallet"):
        if key not in spec:
            raise InputError(key, f"a {role} spec needs {key!r}")
    wallet = spec["wallet"]
    if not isinstance(wallet, dict) or not ({"uri", "name"} & set(wallet)) or set(wallet) - WALLET_KEYS:
        raise InputError("wallet", "expected {'uri': '//Alice', 'hotkey_uri': ...} or {'name': ..., 'hotkey': ..., "
                                   f"'path': ...}} (plus 'password_env' or 'password_stdin'), got {wallet!r}")
    if "task" in spec and spec["task"] not in TASKS:
        raise InputError("task", f"a spec names a built-in task {TASKS}, got {spec['task']!r}; "
                                 "pass a Task object in thread mode")
    model = spec.get("model", "tiny")
    if not isinstance(model, str):
        raise InputError("model", f"a spec's model is 'tiny' or a local folder path, got {model!r}")
    return spec


def wallet_from_spec(spec: dict, password: str | None = None):
    """The `Wallet` a spec's ``wallet`` entry names, its coldkey unlocked when a password is given."""
    from ..client.wallet import Wallet

    if "uri" in spec:
        return Wallet.dev(spec["uri"], hotkey_uri=spec.get("hotkey_uri"))
    wallet = Wallet(spec["name"], hotkey=spec.get("hotkey", "default"), path=spec.get("path"))
    if password is not None:
        wallet.coldkey(password)  # cached on the wallet: registration signs with it later
    return wallet


def read_password(spec: dict) -> str | None:
    if spec.get("password_env"):
        value = os.environ.get(spec["password_env"])
        if value is None:
            raise InputError("password_env", f"the environment variable {spec['password_env']!r} is not set")
        return value
    if spec.get("password_stdin"):
        return sys.stdin.readline().rstrip("\n")
    return None


def build_task(name: str | None):
    from ..tasks import DigitsTask, NextTokenTask

    return None if name is None else {"next_token": NextTokenTask, "digits": DigitsTask}[name]()


def build_model(model: Any, seed: int = 0, device: str | None = None) -> Any:
    """What a miner serves, on ``device``: "tiny" (a fresh tiny LM), a local HF folder, or ``model`` as is.

    Modules are moved to ``device``; a ``Predictor`` or a function is returned untouched.
    """
    if isinstance(model, str):
        if model == "tiny":
            from ..models import as_predictor, tiny_lm

            lm = tiny_lm(seed=seed)
            return as_predictor(lm.to(device) if device else lm)
        from ..models import load_hf_folder

        return load_hf_folder(model, device=device)
    if device and hasattr(model, "to") and hasattr(model, "parameters"):
        model.to(device)
    return model


def build_neuron(spec: dict, subtensor, wallet, task=None):
    """The `Miner` or `Validator` a spec describes (not started). ``task`` overrides ``spec["task"]``."""
    from ..scenarios import behaviour_spec, build_miner, build_validator
    from .miner import Miner
    from .validator import Validator

    task = task if task is not None else build_task(spec.get("task"))
    behaviour = spec.get("behaviour")
    if spec["role"] == "miner":
        kwargs = {k: spec[k] for k in ("train_steps", "lr", "port", "register", "seed", "allow", "max_tokens",
                                       "rate_limit") if k in spec}
        if behaviour is not None and behaviour_spec(behaviour, "miner")["kind"] in ("noise", "lazy", "copier"):
            model = None  # the behaviour brings its own answers: no model to build
        else:
            model = build_model(spec.get("model", "tiny"), spec.get("seed", 0), spec.get("device"))
        if behaviour is not None:
            return build_miner(behaviour, wallet, subtensor, spec["netuid"], task=task,
                               **({"model": model} if model is not None else {}), **kwargs)
        return Miner(wallet, subtensor, spec["netuid"], model=model, task=task, **kwargs)
    kwargs = {k: spec[k] for k in ("k", "batch_size", "timeout", "weights_interval", "explore", "seed", "dedupe",
                                   "duplicate_tol", "loo", "shapley", "alpha") if k in spec}
    if behaviour is not None:
        return build_validator(behaviour, wallet, subtensor, spec["netuid"], task=task, **kwargs)
    return Validator(wallet, subtensor, spec["netuid"], task=task, **kwargs)


def start_miner(miner, attempts: int = 3) -> None:
    """`Miner.start`, retried when the node refuses the registration (two neurons of one coldkey racing a nonce)."""
    from ..client.errors import TransactionRejected

    for attempt in range(attempts):
        try:
            miner.start()
            return
        except TransactionRejected:
            if attempt == attempts - 1:
                raise
            time.sleep(0.3 * (attempt + 1) + 0.1 * (os.getpid() % 7))


def neuron_status(neuron) -> dict:
    """uid, port and progress of a `Miner` or `Validator`, for the status file and the supervisor."""
    s = neuron.status
    if "answered" in s:  # a miner: its progress is the requests it answered
        return {"uid": s["uid"], "port": neuron.axon.port if s["running"] else None, "steps": s["answered"],
                "trained": s["trained"], "last_loss": s["last_loss"]}
    return {"uid": s["uid"], "port": None, "steps": s["steps"], "weights_set": s["weights_set"]}


# ------------------------------------------------------------------ the process


class StatusFile:
    """A JSON status line, rewritten atomically, so a reader never sees half of it."""

    def __init__(self, path: str | None, **fixed):
        self.path = Path(path) if path else None
        self.fields: dict = {"pid": os.getpid(), **fixed}

    def write(self, **fields) -> None:
        self.fields.update(fields, updated_at=time.time())
        if self.path is None:
            return
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(self.fields, default=str))
        os.replace(tmp, self.path)


def _error_line(exc: BaseException) -> str:
    return (f"{type(exc).__name__}: {exc}".splitlines() or [type(exc).__name__])[0]


def watch_parent(parent_pid: int, stop: threading.Event) -> threading.Thread:
    """Set ``stop`` when ``parent_pid`` stops being our parent; exit outright if stopping hangs."""

    def loop():
        while os.getppid() == parent_pid:
            time.sleep(PARENT_POLL_S)
        stop.set()
        time.sleep(EXIT_GRACE_S)
        os._exit(0)

    thread = threading.Thread(target=loop, name="watch-parent", daemon=True)
    thread.start()
    return thread


def run(spec: dict, stop: threading.Event, status: StatusFile) -> None:
    """Build, start and run the neuron until ``stop`` is set; exceptions propagate."""
    from ..client.subtensor import Subtensor

    check_spec(spec)
    if spec.get("threads"):
        os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(spec["threads"])
    password = read_password(spec["wallet"])
    wallet = wallet_from_spec(spec["wallet"], password)
    del password
    interval = float(spec.get("interval", 1.0))
    status.write(state="loading")
    if spec["role"] == "miner":
        import torch

        if spec.get("threads"):
            torch.set_num_threads(int(spec["threads"]))
    with Subtensor(spec["url"]) as subtensor:
        neuron = build_neuron(spec, subtensor, wallet)
        try:
            if spec["role"] == "miner":
                if spec.get("pretrain") and not stop.is_set():
                    from ..models.pretrained import pretrain

                    status.write(state="training")
                    how = pretrain(neuron, int(spec["pretrain"]), spec)
                    print(f"[{time.strftime('%H:%M:%S')}] pre-trained {spec['pretrain']} steps ({how})", flush=True)
                if stop.is_set():
                    return
                status.write(state="registering")
                start_miner(neuron)
                status.write(state="running", **neuron_status(neuron))
                while not stop.wait(interval):
                    status.write(state="running", **neuron_status(neuron))
            else:
                run_validator(neuron, subtensor, wallet, spec, stop, status, interval)
        finally:
            neuron.stop()
            status.write(**neuron_status(neuron))


def run_validator(neuron, subtensor, wallet, spec: dict, stop: threading.Event, status: StatusFile,
                  interval: float) -> None:
    """Step the validator every ``interval`` s until ``stop``; its new events go to ``spec["events_fd"]``."""
    from .streams import EventPipeWriter

    events = None
    if spec.get("events_fd") is not None:
        try:
            events = EventPipeWriter(int(spec["events_fd"]))
        except OSError as exc:  # a spec re-run by hand: the supervisor's pipe is not open here
            print(f"events_fd {spec['events_fd']} is not open ({exc}); events stay in this process",
                  file=sys.stderr, flush=True)
    cursor = 0
    neuron.uid = subtensor.uid(spec["netuid"], wallet)
    status.write(state="running", **neuron_status(neuron))
    failures = 0
    try:
        while not stop.is_set():
            try:
                neuron.step()
                failures = 0
                status.write(state="running", **neuron_status(neuron))
            except Exception as exc:  # a failed step (no permit yet, node busy) is recorded, not fatal
                failures += 1
                text = traceback.format_exc()
                print(text, file=sys.stderr, flush=True)
                status.write(state="running", error=_error_line(exc), traceback=text, **neuron_status(neuron))
            if events is not None:  # a failed step may still have recorded some events
                new, cursor = neuron.events.since(cursor)
                events.send(new)
            # while steps fail, back off (doubling, up to STEP_BACKOFF_MAX_S) instead of flooding the log
            pause = min(interval * 2 ** failures, STEP_BACKOFF_MAX_S) if failures else interval
            stop.wait(max(pause, interval))
    finally:
        if events is not None:
            events.send(neuron.events.since(cursor)[0])
            events.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tao_lab.neurons.run", description=__doc__.splitlines()[0])
    parser.add_argument("--spec", required=True, help="JSON file describing the neuron")
    args = parser.parse_args(argv)
    spec = json.loads(Path(args.spec).read_text())
    status = StatusFile(spec.get("status_file"), name=spec.get("name"), role=spec.get("role"))
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    watch_parent(int(spec.get("parent_pid") or os.getppid()), stop)
    status.write(state="starting", error=None, traceback=None)
    try:
        run(spec, stop, status)
    except BaseException as exc:
        text = traceback.format_exc()
        print(text, file=sys.stderr, flush=True)
        status.write(state="crashed", error=_error_line(exc), traceback=text)
        return 1
    status.write(state="stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
