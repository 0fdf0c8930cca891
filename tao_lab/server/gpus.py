"""GPU status for the sidebar: name, memory and utilisation per GPU, [] where there are none.

``nvidia-smi`` when it is on PATH (it sees every process's use of the GPU, not only this one's);
else ``torch.cuda`` when torch is already imported in the server (importing it here would cost the
server seconds and memory). Never raises; results are cached for `CACHE_S` seconds, since the
sidebar polls and nvidia-smi takes tens of milliseconds.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time

__all__ = ["gpus", "CACHE_S"]

CACHE_S = 2.0
QUERY = "index,name,memory.used,memory.total,utilization.gpu"

_cache: tuple[float, list[dict]] | None = None
_lock = threading.Lock()


def _number(text: str):
    try:
        value = float(text)
    except ValueError:  # "[N/A]" on some GPUs
        return None
    return int(value) if value.is_integer() else value


def _from_nvidia_smi(exe: str) -> list[dict]:
    out = subprocess.run([exe, f"--query-gpu={QUERY}", "--format=csv,noheader,nounits"], capture_output=True,
                         text=True, timeout=5, check=True).stdout
    rows = []
    for line in out.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 5:
            continue
        index, name, used, total, util = parts
        rows.append({"index": _number(index), "name": name, "memory_used_mib": _number(used),
                     "memory_total_mib": _number(total), "utilization_pct": _number(util)})
    return rows


def _from_torch() -> list[dict]:
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return []
    rows = []
    for i in range(torch.cuda.device_count()):
        free, total = torch.cuda.mem_get_info(i)
        try:
            util = torch.cuda.utilization(i)
        except Exception:  # needs pynvml
            util = None
        rows.append({"index": i, "name": torch.cuda.get_device_name(i), "memory_used_mib": (total - free) >> 20,
                     "memory_total_mib": total >> 20, "utilization_pct": util})
    return rows


def gpus() -> list[dict]:
    """``[{"index", "name", "memory_used_mib", "memory_total_mib", "utilization_pct"}]``; [] without GPUs."""
    global _cache
    with _lock:
        if _cache is not None and time.monotonic() - _cache[0] < CACHE_S:
            return [dict(r) for r in _cache[1]]
        try:
            exe = shutil.which("nvidia-smi")
            rows = _from_nvidia_smi(exe) if exe else _from_torch()
        except Exception:  # a GPU that cannot be read is reported as none, never as an error
            rows = []
        _cache = (time.monotonic(), rows)
        return [dict(r) for r in rows]
