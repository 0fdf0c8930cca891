"""`Supervisor`: miners and validators as subprocesses (one GPU each) or threads, run from a notebook.

    sup = Supervisor(sub)
    sup.miner("m0", Wallet.dev("//Charlie", hotkey_uri="//Charlie//m0"), 1, model="tiny")
    sup.validator("v", validator_wallet, 1, k=2)
    sup.start()                  # each neuron: `python -m tao_lab.neurons.run --spec ...`
    sup.status()                 # a DataFrame: pid, device, alive, uid, port, steps, last error line
    print(sup.logs("m0"))        # its stdout and stderr
    sup.stop()

Process mode gives each neuron its own interpreter: one GPU each (``CUDA_VISIBLE_DEVICES``
round-robin over the GPUs the parent sees, counted without creating a CUDA context), its share of
the CPU threads, and a crash that stays in its process. The child reports through a JSON status
file; a crash shows up in `status` with its traceback (and once as a `NeuronCrashed` warning),
never as an exception in the kernel. Children run in their own process groups, which are
terminated (SIGTERM, then SIGKILL) by `stop`, when the supervisor is garbage-collected, and when
the interpreter exits; a child whose parent dies (a killed kernel) stops by itself within a second.

Thread mode runs the `Miner` or `Validator` inside this process, for quick CPU demos.

`Supervisor.events` gathers every validator's events live (route, response, timeout, score,
weights; each with the ``neuron`` name): a process-mode validator writes them to a pipe after each
step, a thread-mode one is read in place (`tao_lab.neurons.streams`); `Supervisor.on_events`
calls a function with each new batch.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import traceback
import warnings
import weakref
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import InputError, TaoLabError
from . import _processes
from .events import EventLog
from .run import (
    MINER_KEYS,
    TASKS,
    VALIDATOR_KEYS,
    build_neuron,
    neuron_status,
    read_password,
    start_miner,
    wallet_from_spec,
)
from .streams import EventStream

__all__ = ["NeuronCrashed", "Supervisor", "SupervisorError"]

MODES = ("process", "thread")
STATUS_COLUMNS = ["name", "role", "mode", "state", "pid", "device", "alive", "exitcode", "uid", "port", "steps",
                  "started_at", "restarts", "error"]
_BUILD_LOCK = threading.Lock()
PROCESS_ONLY = {"model": "a string: 'tiny' or a local folder", "task": f"one of {TASKS}"}


class SupervisorError(TaoLabError):
    """A supervisor request that cannot be met (an unknown name, a neuron that never became ready)."""


class NeuronCrashed(UserWarning):
    """A supervised neuron exited with an error; the message carries the end of its traceback."""


@dataclass(eq=False)
class _Neuron:
    """What the supervisor knows of one neuron. Holds no reference to the supervisor (so it can be collected)."""

    name: str
    role: str
    mode: str
    spec: dict  # the JSON spec (process mode) or the same keys with Python objects (thread mode)
    device: str  # as the parent numbers devices: "cpu", "cuda:1", "mps"
    child_device: str  # as the child sees it ("cuda:0" under CUDA_VISIBLE_DEVICES)
    cuda_visible: str | None  # CUDA_VISIBLE_DEVICES for the child; None leaves it as is
    threads: int | None
    request: tuple = ()  # what the user declared: a re-run cell with the same declaration changes nothing
    wallet: Any = field(default=None, repr=False)  # thread mode: a Wallet object
    password: str | None = field(default=None, repr=False)
    log_path: Path | None = None
    status_path: Path | None = None
    proc: subprocess.Popen | None = None
    obj: Any = None  # thread mode: the Miner or Validator
    subtensor: Any = None  # thread mode: its own connection
    setup: threading.Thread | None = None
    started_at: datetime | None = None
    restarts: int = 0
    stopped: bool = False  # stopped on request: a non-zero exit then is not a crash
    error: str | None = None  # thread mode: the traceback of a failure
    warned: bool = False
    cancel: threading.Event = field(default_factory=threading.Event)  # thread mode: stop before it started


def _wallet_spec(wallet: Any, password: str | None) -> dict:
    """A wallet as the JSON the child reads: a dev URI pair or a name/hotkey/path; never a secret."""
    if isinstance(wallet, str):
        wallet = {"uri": wallet}
    elif isinstance(wallet, (tuple, list)) and len(wallet) == 2 and all(isinstance(x, str) for x in wallet):
        wallet = {"uri": wallet[0], "hotkey_uri": wallet[1]}
    elif not isinstance(wallet, dict):
        if getattr(wallet, "hotkey_name", None) is None:
            raise InputError("wallet", f"expected a Wallet, a dev URI pair ('//Alice', '//Alice//miner0') or a "
                                       f"dict, got {type(wallet).__name__}")
        if wallet.path is None:  # Wallet.dev: name and hotkey_name are the URIs
            wallet = {"uri": wallet.name, "hotkey_uri": wallet.hotkey_name}
        else:
            wallet = {"name": wallet.name, "hotkey": wallet.hotkey_name, "path": str(wallet.path)}
    wallet = dict(wallet)
    if password is not None:
        wallet.pop("password_env", None)
        wallet["password_stdin"] = True
    if "path" in wallet and wallet["path"] is not None:
        wallet["path"] = str(Path(wallet["path"]).expanduser().resolve())
    return wallet


def _stop_thread_neuron(r: _Neuron, timeout: float) -> None:
    if r.setup is not None:
        r.setup.join(timeout)  # still loading or registering: let it finish, then stop what it built
    if r.obj is not None:
        try:
            r.obj.stop()
        except Exception:
            _append_log(r, "stop failed:\n" + traceback.format_exc())
    if r.subtensor is not None:
        try:
            r.subtensor.close()
        except Exception:
            pass
        r.subtensor = None


def _cleanup(records: dict, timeout: float, tmpdirs: list, stream: EventStream) -> None:
    """Run by `weakref.finalize`: on `close`, when the supervisor is collected, or at interpreter exit."""
    values = list(records.values())
    _processes.kill_groups([r.proc for r in values], timeout)
    for r in values:
        if r.mode == "thread":
            r.cancel.set()
            _stop_thread_neuron(r, timeout)
    stream.close()
    for tmpdir in tmpdirs:
        shutil.rmtree(tmpdir, ignore_errors=True)


def _append_log(r: _Neuron, text: str) -> None:
    if r.log_path is not None:
        with open(r.log_path, "a") as f:
            f.write(text if text.endswith("\n") else text + "\n")


def _run_in_thread(r: _Neuron, url: str) -> None:
    """Build and start a thread-mode neuron; a failure is kept in ``r.error``, never raised."""
    from ..client.subtensor import Subtensor

    try:
        password = r.password if r.password is not None else read_password(r.spec["wallet"])
        wallet = r.wallet if r.wallet is not None else wallet_from_spec(r.spec["wallet"])
        if password is not None:
            wallet.coldkey(password)
        r.subtensor = Subtensor(url)
        spec = {**r.spec, "device": r.child_device}
        task = spec.pop("task", None)
        if isinstance(task, str):
            spec["task"], task = task, None
        with _BUILD_LOCK:  # transformers' lazy imports are not thread-safe: build one model at a time
            r.obj = build_neuron(spec, r.subtensor, wallet, task=task)
        if r.role == "miner" and spec.get("pretrain") and not r.cancel.is_set():
            from ..models.pretrained import pretrain

            how = pretrain(r.obj, int(spec["pretrain"]), {**spec, "task": task} if task is not None else spec)
            _append_log(r, f"[{datetime.now():%H:%M:%S}] pre-trained {spec['pretrain']} steps ({how})")
        if r.cancel.is_set():  # stopped while it was loading
            r.obj = None
            r.subtensor.close()
            return
        if r.role == "miner":
            start_miner(r.obj)
        else:
            r.obj.uid = r.subtensor.uid(spec["netuid"], wallet)
            r.obj.start(interval=float(spec.get("interval", 0.5)))
        _append_log(r, f"[{datetime.now():%H:%M:%S}] {r.role} {r.name} running in thread mode")
    except BaseException:
        r.error = traceback.format_exc()
        _append_log(r, r.error)
        if r.subtensor is not None:
            r.subtensor.close()


class Supervisor:
    """Start, watch and stop miners and validators, as subprocesses or threads.

    Args:
        subtensor_or_url: a `tao_lab.Subtensor`, a started `Devnet`, or a node URL; each neuron opens
            its own connection to it.
        log_dir: where logs, specs and status files go (default: a temporary folder, removed with the
            supervisor).
        threads: CPU threads per process-mode neuron (default: CPU count // number of process-mode
            neurons, at least 1).
        stop_timeout: seconds a stopping child gets after SIGTERM before SIGKILL.
    """

    def __init__(self, subtensor_or_url, log_dir: str | os.PathLike | None = None, threads: int | None = None,
                 stop_timeout: float = 5.0):
        url = getattr(subtensor_or_url, "url", subtensor_or_url)
        if not isinstance(url, str) or not url:
            raise InputError("subtensor_or_url", f"expected a Subtensor, a started Devnet or a URL, got "
                                                 f"{subtensor_or_url!r}")
        self.url = url
        self.threads = threads
        self.stop_timeout = float(stop_timeout)
        self._log_dir = Path(log_dir).expanduser() if log_dir is not None else None
        self._tmpdirs: list[str] = []  # the temporary log folder, once made: removed by the finalizer
        self._neurons: dict[str, _Neuron] = {}
        self._gpus: list[str] | None = None
        self._next_gpu = 0
        self._lock = threading.RLock()
        self._stream = EventStream()  # validators' events; its reader thread starts with the first validator
        # Not __del__: a finalizer runs at garbage collection and at interpreter exit, and holds only
        # the records (never self), so the supervisor can be collected while its children run.
        self._finalizer = weakref.finalize(self, _cleanup, self._neurons, self.stop_timeout, self._tmpdirs,
                                           self._stream)

    def __repr__(self) -> str:
        alive = sum(self._alive(r) for r in self._neurons.values())
        return f"Supervisor({self.url}, neurons={len(self._neurons)}, alive={alive})"

    # ------------------------------------------------------------------ declaring neurons

    def miner(self, name: str, wallet, netuid: int, *, device: str | int | None = None, mode: str = "process",
              threads: int | None = None, interval: float = 1.0, password: str | None = None,
              **miner_kwargs) -> Supervisor:
        """Declare a miner (started by `start`); returns self.

        ``miner_kwargs`` go to `Miner`: ``model`` ("tiny" or a local Hugging Face folder; in thread
        mode also a module or function), ``seed``, ``train_steps``, ``pretrain`` (steps before
        serving), ``lr``, ``port``, ``register``, ``task``, ``allow`` (who it answers: "registered",
        "validators" or "any"), ``max_tokens``, ``rate_limit``. ``device``: None picks the next GPU
        round-robin (CPU without one), or "cpu", "cuda:1", 1, "mps". ``password`` unlocks an
        encrypted coldkey (sent to the child on stdin, never on its command line). ``interval``:
        seconds between status updates.
        """
        return self._declare("miner", name, wallet, netuid, device, mode, threads, interval, password,
                             miner_kwargs, MINER_KEYS)

    def validator(self, name: str, wallet, netuid: int, *, device: str | int | None = None, mode: str = "process",
                  threads: int | None = None, interval: float = 0.5, password: str | None = None,
                  **validator_kwargs) -> Supervisor:
        """Declare a validator (started by `start`); returns self.

        ``validator_kwargs`` go to `Validator`: ``k``, ``batch_size``, ``timeout`` (seconds),
        ``weights_interval`` (blocks), ``explore``, ``seed``, ``task``. It steps every ``interval``
        seconds. It runs on the CPU unless ``device`` says otherwise (it holds no model).
        """
        return self._declare("validator", name, wallet, netuid, device, mode, threads, interval, password,
                             validator_kwargs, VALIDATOR_KEYS)

    def _declare(self, role, name, wallet, netuid, device, mode, threads, interval, password, kwargs, keys):
        if not isinstance(name, str) or not name or not all(c.isalnum() or c in "-_." for c in name):
            raise InputError("name", f"expected a short name of letters, digits, '-', '_' or '.', got {name!r}")
        if mode not in MODES:
            raise InputError("mode", f"expected one of {MODES}, got {mode!r}")
        unknown = sorted(set(kwargs) - keys)
        if unknown:
            raise InputError(unknown[0], f"a {role} takes {sorted(keys)}, got {unknown}")
        if mode == "process":
            for key, what in PROCESS_ONLY.items():
                value = kwargs.get(key)
                if value is not None and not (isinstance(value, str) and (key != "task" or value in TASKS)):
                    raise InputError(key, f"a process-mode {role} takes {key} as {what}, got {value!r}; "
                                          "use mode='thread' for Python objects")
            if isinstance(kwargs.get("model"), str) and Path(kwargs["model"]).expanduser().is_dir():
                kwargs["model"] = str(Path(kwargs["model"]).expanduser().resolve())  # the child's cwd may differ
        spec = {"role": role, "name": name, "netuid": int(netuid), "url": self.url, "interval": float(interval),
                "threads": threads, **kwargs}
        wallet_obj = wallet if mode == "thread" and hasattr(wallet, "hotkey_name") else None
        spec["wallet"] = _wallet_spec(wallet, password if mode == "process" else None)
        request = (role, mode, device, spec, password)  # wallets compare by their keys (in spec), not identity
        with self._lock:
            old = self._neurons.get(name)
            if old is not None:
                if old.request == request:
                    return self  # the same declaration again (a re-run cell)
                if self._alive(old):
                    raise SupervisorError(f"{name!r} is running with another spec; sup.stop({name!r}) first")
            shown, child, visible = self._place(role, mode, device)
            self._neurons[name] = _Neuron(name, role, mode, spec, shown, child, visible, threads, request,
                                          wallet=wallet_obj, password=password, restarts=old.restarts if old else 0)
        return self

    def _place(self, role: str, mode: str, device) -> tuple[str, str, str | None]:
        """(device as shown, device in the child, CUDA_VISIBLE_DEVICES for the child)."""
        if device is None:
            device = os.environ.get("TAO_DEVICE") or None
        if device is None:
            if role == "validator" or not self._gpu_list():
                return "cpu", "cpu", ""
            device = self._next_gpu % len(self._gpus)
            self._next_gpu += 1
        if isinstance(device, int) or (isinstance(device, str) and device.startswith("cuda")):
            index = device if isinstance(device, int) else int(device.partition(":")[2] or 0)
            gpus = self._gpu_list()
            if not 0 <= index < len(gpus):
                raise InputError("device", f"cuda:{index} is not among the {len(gpus)} visible CUDA device(s)")
            if mode == "thread":
                return f"cuda:{index}", f"cuda:{index}", None
            return f"cuda:{index}", "cuda:0", gpus[index]
        if device == "cpu":
            return "cpu", "cpu", ""
        if device == "mps":
            return "mps", "mps", None
        raise InputError("device", f"expected None, 'cpu', 'cuda', 'cuda:<i>', an int or 'mps', got {device!r}")

    def _gpu_list(self) -> list[str]:
        if self._gpus is None:
            self._gpus = _processes.visible_gpus()
        return self._gpus

    def _get(self, name: str) -> _Neuron:
        try:
            return self._neurons[name]
        except KeyError:
            raise SupervisorError(f"no neuron named {name!r}; declared: {sorted(self._neurons)}") from None

    def _names(self, name: str | None) -> list[str]:
        return list(self._neurons) if name is None else [self._get(name).name]

    # ------------------------------------------------------------------ running

    @property
    def log_dir(self) -> Path:
        """Where logs, specs and status files are written (created on first use)."""
        if self._log_dir is None:
            self._tmpdirs.append(tempfile.mkdtemp(prefix="tao_lab_neurons_"))
            self._log_dir = Path(self._tmpdirs[-1])
        self._log_dir.mkdir(parents=True, exist_ok=True)
        return self._log_dir

    def start(self, name: str | None = None) -> Supervisor:
        """Start one neuron, or all; those already running are left alone. Returns self."""
        with self._lock:
            for n in self._names(name):
                r = self._neurons[n]
                if not self._alive(r):
                    self._start(r)
        return self

    def _start(self, r: _Neuron) -> None:
        r.log_path = self.log_dir / f"{r.name}.log"
        r.status_path = self.log_dir / f"{r.name}.status.json"
        r.status_path.unlink(missing_ok=True)
        r.stopped, r.error, r.warned, r.obj = False, None, False, None
        r.cancel.clear()
        r.started_at = datetime.now().replace(microsecond=0)
        _append_log(r, f"===== {r.started_at:%Y-%m-%d %H:%M:%S} start {r.role} {r.name} ({r.mode}, {r.device})")
        if r.mode == "thread":
            if r.role == "validator":
                self._stream.add_log(r.name, lambda r=r: getattr(r.obj, "events", None))
            r.setup = threading.Thread(target=_run_in_thread, args=(r, self.url), name=f"neuron-{r.name}",
                                       daemon=True)
            r.setup.start()
            return
        n_process = sum(x.mode == "process" for x in self._neurons.values())
        threads = r.threads or self.threads or max(1, _processes.cpu_count() // max(1, n_process))
        spec = {**r.spec, "device": r.child_device, "threads": threads, "status_file": str(r.status_path),
                "parent_pid": os.getpid()}
        spec_path = self.log_dir / f"{r.name}.spec.json"
        # A validator's events come back live through a pipe: the child holds the write end only.
        read_fd, write_fd = os.pipe() if r.role == "validator" else (None, None)
        if write_fd is not None:
            spec["events_fd"] = write_fd  # pass_fds keeps the number in the child
        spec_path.write_text(json.dumps(spec, indent=1))
        try:
            r.proc = _processes.spawn(spec_path, r.log_path, threads, r.cuda_visible, r.password,
                                      pass_fds=(write_fd,) if write_fd is not None else ())
        except BaseException:
            for fd in (read_fd, write_fd):
                if fd is not None:
                    os.close(fd)
            raise
        if write_fd is not None:
            os.close(write_fd)  # so the read end sees EOF when the child exits
            self._stream.add_pipe(r.name, read_fd)

    def stop(self, name: str | None = None) -> None:
        """Stop one neuron, or all: SIGTERM to its process group, SIGKILL after ``stop_timeout`` s."""
        with self._lock:
            records = [self._neurons[n] for n in self._names(name)]
            for r in records:
                if r.proc is not None and r.proc.poll() is None:
                    r.stopped = True
            _processes.kill_groups([r.proc for r in records], self.stop_timeout)
            for r in records:
                if r.mode == "thread" and (r.obj is not None or r.setup is not None):
                    r.stopped = True
                    r.cancel.set()
                    _stop_thread_neuron(r, self.stop_timeout)
                    r.setup = None
                    _append_log(r, f"[{datetime.now():%H:%M:%S}] stopped")

    def restart(self, name: str) -> Supervisor:
        """Stop and start one neuron (its log goes on in the same file). Returns self."""
        with self._lock:
            r = self._get(name)
            self.stop(name)
            r.restarts += 1
            self._start(r)
        return self

    def close(self) -> None:
        """Stop every neuron and remove the temporary log folder, if the supervisor made one."""
        self._finalizer()

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ events

    @property
    def events(self) -> EventLog:
        """Every validator's events, live: process mode and thread mode, in order of arrival.

        The fields of `tao_lab.neurons.events` plus ``neuron`` (the validator's name). Events reach
        it within about `tao_lab.neurons.streams.POLL_S` s of the step that made them (a process
        sends them after each step). Read it like any `EventLog`: ``new, cursor =
        sup.events.since(cursor)``, ``sup.events.to_pandas()``. A restarted validator's events
        are appended after its earlier ones.
        """
        return self._stream.log

    def on_events(self, callback):
        """Call ``callback(events)`` with each batch of new events (a list of dicts, as in `events`).

        It runs in the supervisor's event reader thread, not the caller's: keep it short, and use
        thread-safe updates (an ipywidget's value, a plotly FigureWidget's ``batch_update``). An
        exception in it is logged and it stays registered. Registering the same callback again
        does nothing; `off_events` removes it. Returns ``callback``, so it works as a decorator.
        """
        return self._stream.on_events(callback)

    def off_events(self, callback) -> None:
        """Stop calling a callback given to `on_events`."""
        self._stream.off_events(callback)

    # ------------------------------------------------------------------ watching

    def _alive(self, r: _Neuron) -> bool:
        if r.mode == "process":
            return r.proc is not None and r.proc.poll() is None
        if r.setup is not None and r.setup.is_alive():
            return True
        return r.obj is not None and r.error is None and bool(r.obj.status["running"])

    def _row(self, r: _Neuron) -> dict:
        row = {"name": r.name, "role": r.role, "mode": r.mode, "state": "declared", "pid": None, "device": r.device,
               "alive": self._alive(r), "exitcode": None, "uid": None, "port": None, "steps": 0,
               "started_at": r.started_at, "restarts": r.restarts, "error": None, "traceback": None}
        if r.mode == "process":
            child = _processes.read_status(r.status_path)
            row.update({k: child[k] for k in ("uid", "port", "steps", "error", "traceback") if k in child})
            if r.proc is not None:
                row["pid"], row["exitcode"] = r.proc.pid, r.proc.poll()
                row["state"] = child.get("state", "starting") if row["alive"] else "stopped"
                if row["alive"] and row["state"] in ("crashed", "stopped"):
                    row["state"] = "exiting"
                if not row["alive"] and row["exitcode"] != 0 and not r.stopped:
                    row["state"] = "crashed"
                    if not row["traceback"]:  # died before it could say why (import error, SIGKILL, OOM)
                        code = row["exitcode"]
                        why = (f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit code {code}")
                        row["traceback"] = _processes.tail(r.log_path, 30)
                        row["error"] = _processes.last_line(row["traceback"]) if code > 0 else why
        elif r.started_at is not None:
            row["pid"] = os.getpid()
            if r.obj is not None:
                row.update({k: v for k, v in neuron_status(r.obj).items() if k in row})
            err = r.error or (self._validator_error(r.obj) if r.obj is not None else None)
            if err:
                row["traceback"], row["error"] = err, _processes.last_line(err)
            if row["alive"]:
                row["state"] = "running" if r.obj is not None and r.obj.status["running"] else "starting"
            else:
                row["state"] = "crashed" if err else "stopped"
        if row["state"] in ("stopped", "declared"):
            row["error"] = row["traceback"] = None  # a clean stop: an earlier step's error is history
        return row

    @staticmethod
    def _validator_error(obj) -> str | None:
        exc = getattr(obj, "error", None)
        return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)) if exc else None

    def _warn_crashes(self, rows: list[dict]) -> None:
        for row in rows:
            r = self._neurons[row["name"]]
            if row["state"] == "crashed" and not r.warned:
                r.warned = True
                tail = "\n".join((row["traceback"] or "").splitlines()[-8:])
                code = f" (exit code {row['exitcode']})" if row["exitcode"] is not None else ""
                warnings.warn(f"{r.role} {r.name!r} crashed{code}: {row['error']}\n{tail}\n"
                              f"(sup.logs({r.name!r}) for its whole log)", NeuronCrashed, stacklevel=3)

    def status(self, name: str | None = None):
        """The neurons' state: a DataFrame (one row per neuron), or one neuron's dict when ``name`` is given.

        Columns: name, role, mode, state (declared, starting, loading, registering, running, stopped,
        crashed), pid, device, alive, exitcode, uid, port, steps (requests answered by a miner, steps
        taken by a validator), started_at, restarts, error (the last line of a crash, or of a running
        validator's last failed step). The dict adds ``traceback``. A crash seen for the first time is also shown once as a `NeuronCrashed` warning.
        """
        with self._lock:
            rows = [self._row(self._neurons[n]) for n in self._names(name)]
        self._warn_crashes(rows)
        if name is not None:
            return rows[0]
        import pandas as pd

        frame = pd.DataFrame([{k: row[k] for k in STATUS_COLUMNS} for row in rows], columns=STATUS_COLUMNS)
        return frame.astype({"pid": "Int64", "exitcode": "Int64", "uid": "Int64", "port": "Int64", "steps": "Int64"})

    def error(self, name: str) -> str | None:
        """The traceback of ``name``'s last crash (None if it has not crashed)."""
        row = self.status(name)
        return row["traceback"] if row["state"] == "crashed" else None

    def logs(self, name: str, tail: int = 50) -> str:
        """The last ``tail`` lines of ``name``'s stdout and stderr (all its runs, oldest first)."""
        return _processes.tail(self._get(name).log_path, tail)

    def wait(self, name: str | None = None, timeout: float = 60.0, poll: float = 0.1):
        """Block until each named neuron (or all started ones) is running or has exited; returns `status`.

        Raises `SupervisorError` after ``timeout`` seconds. A crash is not an error here: it shows in
        the returned status.
        """
        names = self._names(name)
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                rows = [self._row(self._neurons[n]) for n in names]
            pending = [row["name"] for row in rows if row["state"] in ("starting", "loading", "training",
                                                                         "registering")]
            if not pending:
                return self.status(name)
            if time.monotonic() > deadline:
                raise SupervisorError(f"{pending} not running after {timeout:g} s; see sup.logs(name)")
            time.sleep(poll)
