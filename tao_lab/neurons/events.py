"""Neuron events: what a validator routed, heard back, scored and set, as a tidy, append-only log.

Every event is one flat dict with the fields of `FIELDS` plus any extra scalar values:

=============== ================================================================================
block           chain block the validator was at (int)
time            wall-clock seconds since the Unix epoch (float)
validator_uid   uid of the validator recording it (int)
miner_uid       uid of the miner it is about (int), or None for a validator-wide event
kind            one of `KINDS`:
                ``route`` (a miner was chosen for a batch), ``response`` (its answer: value = loss in
                nats/token; extras such as ``share``, ``loo``, ``latency_s``), ``timeout`` (no usable
                answer: value = seconds waited; ``reason``), ``score`` (value = moving-average score),
                ``weights`` (value = float weight set or committed for the miner; ``action``)
value           the event's main number (float) or None
=============== ================================================================================

Widgets poll `EventLog.since` with a cursor while the run goes on; reports read `EventLog.to_pandas`
or a file written by `EventLog.save` after it.
"""

from __future__ import annotations

import json
import math
import threading
import time as _time
from collections.abc import Iterable, Mapping
from pathlib import Path

from ..errors import InputError

__all__ = ["FIELDS", "KINDS", "EventLog"]

KINDS = ("route", "response", "timeout", "score", "weights")
FIELDS = ("block", "time", "validator_uid", "miner_uid", "kind", "value")
_INT_FIELDS = ("block", "validator_uid", "miner_uid")


def _scalar(name: str, value):
    """A JSON/CSV-friendly Python scalar (numpy scalars unwrapped); anything else is refused."""
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise InputError(name, f"event values must be scalars (number, string, bool or None), got {type(value).__name__}")


def _event(raw: Mapping) -> dict:
    """Check one event dict and return a clean copy with `FIELDS` first."""
    missing = [f for f in ("block", "validator_uid", "kind") if raw.get(f) is None]
    if missing:
        raise InputError("event", f"missing {', '.join(missing)}; every event needs block, validator_uid and kind")
    if raw["kind"] not in KINDS:
        raise InputError("kind", f"unknown event kind {raw['kind']!r}; choose from {KINDS}")
    ev = {f: _scalar(f, raw.get(f)) for f in FIELDS}
    for f in _INT_FIELDS:
        if ev[f] is not None:
            if isinstance(ev[f], float) and ev[f].is_integer():
                ev[f] = int(ev[f])
            if not isinstance(ev[f], int) or isinstance(ev[f], bool):
                raise InputError(f, f"expected an int, got {ev[f]!r}")
    ev["time"] = float(ev["time"]) if ev["time"] is not None else _time.time()
    if ev["value"] is not None:
        if isinstance(ev["value"], (str, bool)):
            raise InputError("value", f"an event's value is a number or None, got {ev['value']!r}; "
                                      "pass other values as extra keywords")
        ev["value"] = float(ev["value"])
    for key, value in raw.items():
        if key not in ev:
            ev[str(key)] = _scalar(str(key), value)
    return ev


class EventLog:
    """A thread-safe, append-only list of event dicts (see the module docstring for the fields).

    Args:
        events: events to start with (e.g. from `load`).
    """

    def __init__(self, events: Iterable[Mapping] = ()):
        self._lock = threading.Lock()
        self._events: list[dict] = [_event(e) for e in events]

    def __len__(self) -> int:
        with self._lock:
            return len(self._events)

    def __iter__(self):
        return iter(self.since(0)[0])

    def __repr__(self) -> str:
        return f"EventLog({len(self)} events)"

    def append(self, kind: str, *, block: int, validator_uid: int, miner_uid: int | None = None,
               value: float | None = None, time: float | None = None, **values) -> int:
        """Record one event; returns its index. Extra keyword values must be scalars."""
        ev = _event({"block": block, "time": time, "validator_uid": validator_uid, "miner_uid": miner_uid,
                     "kind": kind, "value": value, **values})
        with self._lock:
            self._events.append(ev)
            return len(self._events) - 1

    def extend(self, events: Iterable[Mapping]) -> int:
        """Record many event dicts at once (e.g. forwarded from a validator process); returns the new length."""
        checked = [_event(e) for e in events]
        with self._lock:
            self._events.extend(checked)
            return len(self._events)

    def since(self, index: int = 0) -> tuple[list[dict], int]:
        """Events from ``index`` on, and the cursor to pass next time (``len`` at the moment of reading).

        A live widget keeps the cursor: ``new, cursor = log.since(cursor)``. The dicts are copies.
        """
        if index < 0:
            raise InputError("index", f"expected a cursor >= 0, got {index}")
        with self._lock:
            return [dict(e) for e in self._events[index:]], len(self._events)

    def record_step(self, step, *, block: int, validator_uid: int,
                    latency_s: Mapping[int, float] | None = None) -> None:
        """Record a router step (`tao_lab.neurons.scoring.StepScores`): route, then response or timeout, per uid."""
        latency_s = latency_s or {}
        now = _time.time()
        events = []
        base = {"block": block, "validator_uid": validator_uid, "time": now}
        for uid in step.uids:
            events.append({**base, "miner_uid": uid, "kind": "route"})
            lat = latency_s.get(uid)
            if uid in step.failed:
                events.append({**base, "miner_uid": uid, "kind": "timeout", "value": lat, "reason": step.failed[uid]})
            else:
                extra = {name: getattr(step, name)[uid] for name in ("share", "loo", "shapley")
                         if uid in getattr(step, name)}
                events.append({**base, "miner_uid": uid, "kind": "response", "value": step.loss.get(uid),
                               "latency_s": lat, **extra})
        self.extend(events)

    # ------------------------------------------------------------------ tables and files

    def to_pandas(self):
        """A DataFrame, one row per event: `FIELDS` first, then extra values in order of first appearance.

        Integer fields use pandas' nullable ``Int64`` (validator-wide events have no ``miner_uid``).
        """
        import pandas as pd

        events, _ = self.since(0)
        columns = list(FIELDS)
        for ev in events:
            columns.extend(k for k in ev if k not in columns)
        frame = pd.DataFrame.from_records(events, columns=columns)
        for f in _INT_FIELDS:
            frame[f] = frame[f].astype("Int64")
        frame["time"] = frame["time"].astype(float)
        frame["value"] = frame["value"].astype(float)
        return frame

    def save(self, path) -> Path:
        """Write all events to ``path``: ``.jsonl`` (one JSON object per line, exact) or ``.csv`` (a table)."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".jsonl":
            events, _ = self.since(0)
            with path.open("w", encoding="utf-8") as fh:
                for ev in events:
                    fh.write(json.dumps(ev) + "\n")
        elif suffix == ".csv":
            self.to_pandas().to_csv(path, index=False)
        else:
            raise InputError("path", f"unknown event file type {path.suffix!r}; use .jsonl or .csv")
        return path

    @classmethod
    def load(cls, path) -> EventLog:
        """Read events written by `save` (``.jsonl`` or ``.csv``); empty CSV cells become absent values."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".jsonl":
            with path.open(encoding="utf-8") as fh:
                return cls(json.loads(line) for line in fh if line.strip())
        if suffix == ".csv":
            import pandas as pd

            frame = pd.read_csv(path)
            events = []
            for row in frame.to_dict("records"):
                ev = {}
                for key, value in row.items():
                    if isinstance(value, float) and math.isnan(value):
                        value = None
                    if value is not None or key in FIELDS:
                        ev[key] = value
                events.append(ev)
            return cls(events)
        raise InputError("path", f"unknown event file type {path.suffix!r}; use .jsonl or .csv")
