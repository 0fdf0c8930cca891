"""The registry: small JSON files in the Jupyter runtime directory that say what runs where.

Kernels (a `Lab`, a bare `Devnet`) and the server's shared devnet each write one entry,
``<id>.json``; the server extension reads them to answer the sidebar. Plain files keep the kernel
side free of Jupyter's server and let any process publish. See docs/server.md for the format.

Writes are atomic (a temporary file, then `os.replace`), so a reader never sees half an entry. An
entry whose publisher is gone (``kill -9`` of a kernel) is dropped, files and all, by the next
reader: liveness is the publisher's pid, checked together with its start time so that a reused
pid does not keep a dead entry alive.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import time
from pathlib import Path

from ..errors import InputError

__all__ = ["registry_dir", "entries", "entry", "events", "send_command", "shared_devnet", "Publisher",
           "publishing_enabled", "new_id", "COMMAND_OPS", "EVENTS_KEPT"]

logger = logging.getLogger("tao_lab.server.registry")

COMMAND_OPS = ("stop", "restart")
EVENTS_KEPT = 500  # events a publisher keeps in its events file


def registry_dir() -> Path:
    """``$TAO_LAB_REGISTRY_DIR``, else ``<jupyter runtime dir>/tao-lab`` (not created here)."""
    explicit = os.environ.get("TAO_LAB_REGISTRY_DIR")
    if explicit:
        return Path(explicit)
    from jupyter_core.paths import jupyter_runtime_dir

    return Path(jupyter_runtime_dir()) / "tao-lab"


def publishing_enabled() -> bool:
    """Whether this process publishes: in a Jupyter kernel, or with ``TAO_LAB_REGISTRY_DIR`` set.

    ``TAO_LAB_PUBLISH=0`` turns it off and ``TAO_LAB_PUBLISH=1`` on, whatever else is set.
    """
    forced = os.environ.get("TAO_LAB_PUBLISH", "").strip()
    if forced in ("0", "1"):
        return forced == "1"
    return bool(os.environ.get("JPY_PARENT_PID") or os.environ.get("TAO_LAB_REGISTRY_DIR"))


def new_id(kind: str) -> str:
    """``<kind>-<pid>-<6 hex>``: unique per publisher, and says whose it is at a glance."""
    return f"{kind}-{os.getpid()}-{secrets.token_hex(3)}"


# ------------------------------------------------------------------ files


def _ensure_dir(directory: Path) -> Path:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory


def write_json(path: Path, obj, text: str | None = None) -> None:
    """Write ``obj`` (or ``text``) to ``path`` atomically, readable by its owner only."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text if text is not None else json.dumps(obj, default=str))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def process_start(pid: int) -> int | None:
    """The start time of process ``pid`` in clock ticks since boot (Linux), None where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[19]) if len(fields) > 19 else None  # field 22 of proc(5), counted after the name


def pid_alive(pid, start: int | None = None) -> bool:
    """Whether ``pid`` runs (not a zombie) and, when ``start`` is given and knowable, is the same process."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process: it exists
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if state in ("Z", "X"):
            return False
    except OSError:
        pass
    if start is not None:
        now = process_start(pid)
        if now is not None and now != start:
            return False
    return True


def _alive(e: dict) -> bool:
    if not pid_alive(e.get("pid"), e.get("pid_start")):
        return False
    node = (e.get("chain") or {}).get("devnet_pid")
    if e.get("kind") == "devnet" and node is not None and not pid_alive(node):
        return False  # a published devnet whose node died has nothing left to show
    return True


def remove_files(directory: Path, entry_id: str) -> None:
    """Remove an entry, its events and its command folder (missing files are fine)."""
    for name in (f"{entry_id}.json", f"{entry_id}.events.jsonl"):
        (directory / name).unlink(missing_ok=True)
    shutil.rmtree(directory / f"{entry_id}.commands", ignore_errors=True)


# ------------------------------------------------------------------ reading


def entries(directory: Path | None = None) -> list[dict]:
    """The live entries, oldest first; files of dead publishers are removed on the way."""
    directory = registry_dir() if directory is None else Path(directory)
    if not directory.is_dir():
        return []
    found = []
    for path in directory.glob("*.json"):
        e = _read_json(path)
        if not isinstance(e, dict) or e.get("id") != path.stem:
            continue  # not ours, or being replaced right now
        if not _alive(e):
            remove_files(directory, path.stem)
            continue
        e.pop("pid_start", None)
        found.append(e)
    return sorted(found, key=lambda e: (e.get("started_at") or 0, e["id"]))


def entry(entry_id: str, directory: Path | None = None) -> dict | None:
    """The live entry ``entry_id``, or None."""
    if not _valid_id(entry_id):
        return None
    return next((e for e in entries(directory) if e["id"] == entry_id), None)


def _valid_id(entry_id) -> bool:
    return isinstance(entry_id, str) and 0 < len(entry_id) <= 80 and entry_id.replace("-", "").isalnum()


def events(entry_id: str, limit: int = 100, directory: Path | None = None) -> list[dict]:
    """The last ``limit`` events an entry published, newest last ([] when it published none)."""
    directory = registry_dir() if directory is None else Path(directory)
    if not _valid_id(entry_id):
        raise InputError("lab", f"not a registry id: {entry_id!r}")
    try:
        lines = (directory / f"{entry_id}.events.jsonl").read_text().splitlines()
    except OSError:
        return []
    out = []
    for line in lines[-limit:] if limit > 0 else []:
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def send_command(entry_id: str, op: str, neuron: str, directory: Path | None = None) -> dict:
    """Drop a command for the publisher of ``entry_id``; it applies it within about a second."""
    directory = registry_dir() if directory is None else Path(directory)
    if op not in COMMAND_OPS:
        raise InputError("op", f"expected one of {COMMAND_OPS}, got {op!r}")
    if not _valid_id(entry_id):
        raise InputError("lab", f"not a registry id: {entry_id!r}")
    folder = _ensure_dir(directory / f"{entry_id}.commands")
    command = {"op": op, "neuron": neuron}
    path = folder / f"{time.time_ns()}-{secrets.token_hex(3)}.json"
    write_json(path, command)
    return {**command, "lab": entry_id, "file": path.name}


def shared_devnet(directory: Path | None = None) -> dict | None:
    """The live entry of the server's shared devnet, or None."""
    for e in entries(directory):
        if e.get("kind") == "devnet" and (e.get("chain") or {}).get("managed"):
            return e
    return None


# ------------------------------------------------------------------ writing


class Publisher:
    """Writes one entry (and its events) and takes its commands; the kernel side of the registry.

    Args:
        kind: ``"lab"`` or ``"devnet"``.
        owner: ``"kernel"`` (any Python process) or ``"server"``.
        directory: the registry folder (default `registry_dir`).
    """

    def __init__(self, kind: str, owner: str = "kernel", directory: Path | None = None):
        self.directory = registry_dir() if directory is None else Path(directory)
        self.id = new_id(kind)
        self.fixed = {"id": self.id, "kind": kind, "owner": owner, "pid": os.getpid(),
                      "pid_start": process_start(os.getpid()), "started_at": time.time(),
                      "notebook": os.environ.get("JPY_SESSION_NAME") or None}
        self._events: list[dict] = []

    @property
    def path(self) -> Path:
        return self.directory / f"{self.id}.json"

    def publish(self, chain: dict, netuids=(), neurons=()) -> None:
        """Write the entry now (raises OSError; callers that must not raise catch it)."""
        _ensure_dir(self.directory)
        body = {**self.fixed, "updated_at": time.time(), "chain": chain, "netuids": list(netuids),
                "neurons": list(neurons)}
        write_json(self.path, body)

    def add_events(self, new: list[dict]) -> None:
        """Append events, keeping the last `EVENTS_KEPT` in the events file."""
        if not new:
            return
        self._events = (self._events + new)[-EVENTS_KEPT:]
        text = "".join(json.dumps(e, default=str) + "\n" for e in self._events)
        _ensure_dir(self.directory)
        write_json(self.directory / f"{self.id}.events.jsonl", None, text=text)

    def take_commands(self) -> list[dict]:
        """The commands waiting for this publisher, oldest first; each is deleted as it is taken."""
        folder = self.directory / f"{self.id}.commands"
        try:
            paths = sorted(p for p in folder.iterdir() if p.suffix == ".json" and not p.name.startswith("."))
        except OSError:
            return []
        out = []
        for p in paths:
            command = _read_json(p)
            p.unlink(missing_ok=True)
            if isinstance(command, dict) and command.get("op") in COMMAND_OPS and isinstance(command.get("neuron"), str):
                out.append(command)
            else:
                logger.warning("ignored a malformed registry command %s: %r", p.name, command)
        return out

    def remove(self) -> None:
        """Remove the entry and its files (idempotent, never raises)."""
        try:
            remove_files(self.directory, self.id)
        except OSError as exc:
            logger.warning("could not remove registry entry %s: %s", self.id, exc)
