"""Small helpers shared by the tests (importable from any test module: pytest puts tests/ on the path
because tests/conftest.py lives there)."""

from __future__ import annotations

import os
import time
from pathlib import Path


def wait_for(predicate, timeout: float = 30.0, poll: float = 0.05) -> bool:
    """Poll ``predicate()`` until it is true (returns True) or ``timeout`` seconds pass (returns False)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(poll)
    return True


def gone(pid: int) -> bool:
    """True when ``pid`` no longer runs (a zombie awaiting a reaper counts as gone: it holds no socket)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state in ("Z", "X")
    except FileNotFoundError:
        return True
    except OSError:  # no /proc (macOS)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False


def run_notebook(src: Path, out: Path, timeout: int = 300, **parameters):
    """Execute the notebook ``src`` headless with papermill (a real "python3" kernel, offline, in
    ``src``'s folder) with ``parameters``, write it to ``out`` and return it read back with nbformat
    (multi-line outputs joined into strings)."""
    import nbformat
    import papermill

    old = dict(os.environ)
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        papermill.execute_notebook(str(src), str(out), parameters=parameters, kernel_name="python3",
                                   cwd=str(Path(src).parent), progress_bar=False, store_widget_state=False,
                                   execution_timeout=timeout)
    finally:
        os.environ.clear()
        os.environ.update(old)
    return nbformat.read(out, as_version=4)
