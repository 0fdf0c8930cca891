"""Pre-trained miners, trained once per machine: the same model, task, seed and steps load from a cache.

Scenarios, sweeps and re-run notebook cells start many miners that pre-train the same tiny model on
the same data with the same seed, and so reach the same weights (up to floating-point rounding) every
time; on two CPU cores that training is most of a lab's start-up (about 7 s per miner for 60 steps).
`pretrain` trains a miner as ``miner.train(steps)`` would and keeps its checkpoint (weights, optimizer,
sampler state and loss history: `tao_lab.models.Trainer.save`); the next miner with the same key
loads it instead, in a fraction of a second, and goes on from there exactly as the trained one would.

What is cached: miners whose model is ``"tiny"`` and whose task is given by name (or is the default).
The key holds the model, seed, task, learning rate, steps, behaviour, device type, torch's version and
a fingerprint of the kit's model and task code, so a change to any of them never reads an old entry.
Where: ``$TAO_LAB_PRETRAIN_CACHE`` (default ``~/.cache/tao_lab/pretrained``); ``off`` always trains.
The newest `MAX_ENTRIES` entries are kept (about 6 MB each for the tiny model).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

__all__ = ["MAX_ENTRIES", "cache_dir", "cache_key", "pretrain"]

log = logging.getLogger("tao_lab.models.pretrained")

MAX_ENTRIES = 64
_CODE: str | None = None


def cache_dir() -> Path | None:
    """Where entries live, or None when ``$TAO_LAB_PRETRAIN_CACHE`` is ``off`` (or ``0``)."""
    value = os.environ.get("TAO_LAB_PRETRAIN_CACHE", "")
    if value.strip().lower() in ("off", "0", "false", "no"):
        return None
    return Path(value).expanduser() if value else Path.home() / ".cache" / "tao_lab" / "pretrained"


def _code_fingerprint() -> str:
    """A hash of the kit's model and task sources: what decides the weights a number of steps gives."""
    global _CODE
    if _CODE is None:
        root = Path(__file__).resolve().parent.parent
        h = hashlib.sha256()
        for folder in ("models", "tasks"):
            for path in sorted((root / folder).glob("*.py")):
                h.update(path.name.encode() + b"\0" + path.read_bytes())
        _CODE = h.hexdigest()[:16]
    return _CODE


def cache_key(spec: dict, steps: int) -> str | None:
    """The entry a miner spec (`tao_lab.neurons.run` keys) pre-trained ``steps`` steps maps to; None if
    it cannot be cached (a model or task given as an object or a folder, or nothing to train)."""
    task = spec.get("task")
    if spec.get("model", "tiny") != "tiny" or not (task is None or isinstance(task, str)) or steps <= 0:
        return None
    import torch

    device = str(spec.get("device") or "cpu").split(":")[0]
    what = {"model": "tiny", "seed": spec.get("seed", 0), "task": task or "next_token", "lr": spec.get("lr", 3e-3),
            "steps": int(steps), "behaviour": spec.get("behaviour"), "device": device, "torch": torch.__version__,
            "code": _code_fingerprint()}
    try:
        text = json.dumps(what, sort_keys=True)
    except TypeError:  # a behaviour given as an object
        return None
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def pretrain(miner, steps: int, spec: dict) -> str:
    """Pre-train ``miner`` ``steps`` steps, from the cache when an entry for ``spec`` exists.

    Returns ``"cached"``, ``"trained"`` (and stored) or ``"trained, not cached"``. A cache that cannot
    be read or written (a full disk, a broken entry) only costs the training: it is logged, never raised.
    """
    root = cache_dir()
    key = cache_key(spec, steps) if root is not None else None
    if key is None or getattr(miner.predictor, "model", None) is None:  # no weights (a noise or copier miner)
        miner.train(steps)
        return "trained, not cached"
    import torch

    entry = root / f"{key}.pt"
    if entry.exists():
        try:
            miner.load(torch.load(entry, map_location=next(miner.predictor.model.parameters()).device))
            os.utime(entry)  # the newest entries are the ones kept
            return "cached"
        except Exception as exc:  # noqa: BLE001 - a broken entry is retrained and replaced
            log.warning("pre-trained entry %s is unreadable (%s); training instead", entry, exc)
            entry.unlink(missing_ok=True)
    miner.train(steps)
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{key}-", dir=root)
        with os.fdopen(fd, "wb") as f:
            torch.save(miner.trainer.state_dict(), f)
        os.replace(tmp, entry)  # atomic: a reader sees a whole entry or none
        _prune(root)
    except OSError as exc:
        log.warning("could not store the pre-trained miner in %s: %s", root, exc)
        return "trained, not cached"
    return "trained"


def _prune(root: Path) -> None:
    """Keep the newest `MAX_ENTRIES` entries; drop half-written ones an hour old (a process killed mid-save)."""
    import time

    files = [p for p in root.iterdir() if p.is_file()]
    for tmp in (p for p in files if p.name.startswith(".")):
        if time.time() - tmp.stat().st_mtime > 3600:
            tmp.unlink(missing_ok=True)
    entries = sorted((p for p in files if p.suffix == ".pt" and not p.name.startswith(".")),
                     key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[MAX_ENTRIES:]:
        old.unlink(missing_ok=True)
