"""The supervisor's process plumbing: spawn a neuron process, kill process groups, read status files and logs.

Private to `tao_lab.neurons.supervisor`; nothing here knows about neurons' roles or the supervisor.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def cpu_count() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def visible_gpus() -> list[str]:
    """The GPUs this process may use, as CUDA_VISIBLE_DEVICES entries for a child ("0", "1", or UUIDs)."""
    import torch

    n = torch.cuda.device_count()  # counts without creating a CUDA context
    given = os.environ.get("CUDA_VISIBLE_DEVICES")
    if given is not None and given.strip():
        return [d.strip() for d in given.split(",") if d.strip()][:n]
    return [str(i) for i in range(n)]


def spawn(spec_path: Path, log_path: Path, threads: int, cuda_visible: str | None, password: str | None,
          pass_fds: tuple[int, ...] = ()) -> subprocess.Popen:
    """Start ``python -m tao_lab.neurons.run --spec spec_path`` in its own session, output appended to ``log_path``.

    The child gets offline Hugging Face settings, ``threads`` CPU threads, ``CUDA_VISIBLE_DEVICES``
    (None leaves it as is) and the file descriptors ``pass_fds``. ``password`` goes to its stdin,
    never onto its command line.
    """
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[2])
    env.update(HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", TRANSFORMERS_VERBOSITY="error",
               OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), PYTHONUNBUFFERED="1",
               PYTHONPATH=os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p))
    if cuda_visible is not None:
        env["CUDA_VISIBLE_DEVICES"] = cuda_visible
    with open(log_path, "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "tao_lab.neurons.run", "--spec", str(spec_path)],
                                stdin=subprocess.PIPE if password is not None else subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
                                pass_fds=pass_fds)
    if password is not None:
        try:
            proc.stdin.write((password + "\n").encode())
            proc.stdin.close()
        except OSError:  # the child is already gone: its log says why
            pass
    return proc


def kill_groups(procs, timeout: float) -> None:
    """SIGTERM every live process's group, wait up to ``timeout`` s, SIGKILL what is left, reap."""
    live = [p for p in procs if p is not None and p.poll() is None]
    for proc in live:
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # start_new_session: the group id is the child's pid
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + timeout
    for proc in live:
        try:
            proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait()


def tail(path: Path | None, lines: int) -> str:
    """The last ``lines`` lines of a log file ("" when it does not exist yet)."""
    if path is None or not path.exists():
        return ""
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        f.seek(max(0, f.tell() - 256 * 1024))  # the last 256 KiB hold any tail worth reading
        text = f.read().decode("utf-8", "replace")
    return "\n".join(text.splitlines()[-lines:]) if lines > 0 else ""


def read_status(path: Path | None) -> dict:
    """A child's status file (see `tao_lab.neurons.run.StatusFile`), {} before it is first written."""
    try:
        return json.loads(path.read_text()) if path is not None else {}
    except (OSError, ValueError):  # not written yet
        return {}


def last_line(text: str) -> str | None:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else None
