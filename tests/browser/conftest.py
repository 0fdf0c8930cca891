"""Browser-test harness: real JupyterLab and Voila servers on 127.0.0.1, driven by Debian's chromium.

Fixtures (see README.md in this folder):

- ``jupyter_lab``          session: a JupyterLab on a tmp copy of ``notebooks/`` -> `LabServer`
- ``jupyter_lab_factory``  session: ``start(root_dir=None, env=None) -> LabServer`` for other folders
- ``voila``                function: ``start(notebook, env=None, args=()) -> VoilaServer``
- ``browser``              session: a headless persistent chromium context (playwright, never downloaded)
- ``page``                 function: a fresh page in ``browser``; screenshotted into artifacts on failure
- ``artifacts``            session: `Artifacts`, where screenshots and server logs go

Every server binds to 127.0.0.1 with a random token and fresh Jupyter config, data and runtime
dirs, so nothing on the host (user settings, kernels, extensions in ``~/.local``) leaks in. Lab
extensions (ipywidgets, anywidget, plotly) and the ``python3`` kernel still come from the venv's
``sys.prefix/share/jupyter``, which Jupyter searches whatever ``JUPYTER_DATA_DIR`` says. Chromium
resolves no host name but localhost, so a test that passes here works offline.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
CHROMIUM = Path("/usr/bin/chromium")  # Debian's package; `make test` apt-installs it
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # offline by construction: any host but localhost fails to resolve (e.g. Voila's fontawesome CDN)
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]
VIEWPORT = {"width": 1400, "height": 1000}
START_TIMEOUT_S = 60.0


# ---------------------------------------------------------------------------------------------
# processes


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def jupyter_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a test server and of its kernels: fresh Jupyter/IPython dirs under ``home``.

    ``JUPYTER_DATA_DIR`` only replaces the *user* data dir; ``sys.prefix/share/jupyter`` (the venv's
    lab extensions and kernelspec) stays on Jupyter's search path.
    """
    dirs = {name: home / name.lower() for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    # no "Would you like to get notified about official Jupyter news?" toast over the screenshots
    settings = dirs["JUPYTER_CONFIG_DIR"] / "lab/user-settings/@jupyterlab/apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    env = dict(os.environ)
    env.update({k: str(v) for k, v in dirs.items()})
    env.update(
        {
            "JUPYTER_PREFER_ENV_PATH": "1",  # the venv's kernelspec and config win over the user's
            "HF_HUB_OFFLINE": "1",  # kernels never reach the Hugging Face hub
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",  # silence the debugger's frozen-modules warning
        }
    )
    env.update(extra or {})
    return env


def _get(url: str, timeout: float = 2.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


@dataclass
class _Server:
    """A server process in its own process group, with its log file."""

    url: str
    token: str
    process: subprocess.Popen
    log_path: Path
    _terminated: bool = field(default=False, init=False, repr=False)

    def log_tail(self, n: int = 40) -> str:
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-n:])

    def wait_until_up(self, probe_url: str, timeout: float = START_TIMEOUT_S) -> None:
        """Poll ``probe_url`` until it answers 200; raise with the server's log when it dies or times out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.process.args[:4]} exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if _get(probe_url) == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"no answer from {probe_url} after {timeout:.0f} s:\n{self.log_tail()}")

    def terminate(self) -> None:
        """SIGTERM the process group without waiting; `stop` later reaps it."""
        if self.process.poll() is None and not self._terminated:
            self._terminated = True
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the process group (the server shuts its kernels down), SIGKILL if it lingers."""
        if self.process.poll() is not None:
            return
        self.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout)
        except ProcessLookupError:
            pass


def _spawn(argv: list[str], env: dict[str, str], log_path: Path, cwd: Path) -> subprocess.Popen:
    log = log_path.open("w")
    try:
        return subprocess.Popen(
            argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    finally:
        log.close()  # the child holds its own descriptor


# ---------------------------------------------------------------------------------------------
# JupyterLab


@dataclass
class LabServer(_Server):
    """A running JupyterLab: ``url`` (no trailing slash), ``token``, ``root_dir``, plus UI helpers."""

    root_dir: Path = field(default=Path("."))

    def notebook_url(self, path: str | Path, reset: bool = True) -> str:
        """``/lab/tree/<path>?token=…`` for a notebook relative to ``root_dir``; ``reset`` drops the saved workspace."""
        rel = Path(path).relative_to(self.root_dir) if Path(path).is_absolute() else Path(path)
        return f"{self.url}/lab/tree/{quote(rel.as_posix())}?token={self.token}" + ("&reset" if reset else "")

    def api(self, path: str) -> object:
        """GET ``/api/<path>`` with the token, decoded from JSON (e.g. ``lab.api("kernels")``)."""
        with urllib.request.urlopen(f"{self.url}/api/{path}?token={self.token}", timeout=10) as r:
            return json.load(r)

    def shutdown_kernels(self, timeout: float = 30.0) -> None:
        """Shut down every kernel of this server and wait until they are gone.

        A kernel left running from one test (its lab: a devnet, neurons, a dashboard thread) would
        load a 2-core machine through the next test, so each test that uses the shared server ends here.
        """
        for kernel in self.api("kernels"):
            req = urllib.request.Request(f"{self.url}/api/kernels/{kernel['id']}?token={self.token}", method="DELETE")
            try:
                urllib.request.urlopen(req, timeout=timeout).close()
            except urllib.error.HTTPError as exc:
                if exc.code != 404:  # already gone
                    raise
        deadline = time.monotonic() + timeout
        while self.api("kernels") and time.monotonic() < deadline:
            time.sleep(0.2)

    def open_notebook(self, page, path: str | Path, timeout_ms: int = 60_000) -> None:
        """Open a notebook in Lab and wait until its kernel is idle (the splash screen gone first)."""
        page.goto(self.notebook_url(path))
        page.locator("#jupyterlab-splash").wait_for(state="detached", timeout=timeout_ms)
        page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook").first.wait_for(timeout=timeout_ms)
        wait_kernel_idle(page, timeout_ms)

    def run_all_cells(self, page, timeout_ms: int = 30_000) -> None:
        """Run > Run All Cells, through the menu bar as a user would, until a cell shows it ran.

        Right after load the notebook may not yet be Lab's current widget, when the menu item is
        disabled and a click does nothing; so the menu is reopened until the item is enabled.
        """
        item = page.locator(".lm-Menu-item[data-command='runmenu:run-all']")
        deadline = time.monotonic() + timeout_ms / 1000
        while True:
            page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook").first.click(position={"x": 5, "y": 5})
            page.locator("#jp-MainMenu").get_by_role("menuitem", name="Run", exact=True).click()
            item.wait_for()
            if "lm-mod-disabled" not in (item.get_attribute("class") or ""):
                item.click()
                break
            page.keyboard.press("Escape")
            if time.monotonic() > deadline:
                raise TimeoutError("Run > Run All Cells stayed disabled")
            time.sleep(0.25)
        # started: some code cell's prompt reads [*] or [n]
        page.wait_for_function(
            """() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')]
                     .some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent))""",
            timeout=timeout_ms,
        )

    def wait_for_output(self, page, selector: str, timeout_ms: int = 30_000):
        """The first element matching ``selector`` inside a cell's output area, once visible (a Locator)."""
        loc = page.locator(".jp-OutputArea-output").locator(selector).first
        loc.wait_for(state="visible", timeout=timeout_ms)
        return loc

    def run_notebook(self, page, path: str | Path, wait_for: str | None = None, timeout_ms: int = 60_000):
        """Open ``path``, run all cells, wait for ``wait_for`` in an output (returned as a Locator) and for idle."""
        self.open_notebook(page, path, timeout_ms)
        self.run_all_cells(page)
        out = self.wait_for_output(page, wait_for, timeout_ms) if wait_for else None
        wait_kernel_idle(page, timeout_ms)
        return out


def wait_kernel_idle(page, timeout_ms: int = 60_000) -> None:
    """Wait until the current notebook's kernel has started, connected and is idle.

    The status bar reads "Python 3 (ipykernel) | Idle" then; the toolbar's execution indicator is
    no use here, since it also says idle while the status bar still reads "No Kernel".
    """
    page.wait_for_function(
        """() => [...document.querySelectorAll('#jp-main-statusbar .jp-StatusBar-TextItem')]
                 .some(e => / \\| Idle$/.test(e.textContent) && !e.textContent.startsWith('No Kernel'))""",
        timeout=timeout_ms,
    )


def start_jupyter_lab(root_dir: Path, home: Path, log_dir: Path, env: dict[str, str] | None = None) -> LabServer:
    """Start ``jupyter lab`` from this venv serving ``root_dir`` and wait for ``/api/status``."""
    port, token = free_port(), secrets.token_hex(16)
    argv = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--port-retries=0",
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root_dir}",
            "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly"]  # fmt: skip
    if os.geteuid() == 0:
        argv.append("--allow-root")
    log_path = log_dir / f"jupyter-lab-{port}.log"
    proc = _spawn(argv, jupyter_env(home, env), log_path, cwd=root_dir)
    lab = LabServer(url=f"http://127.0.0.1:{port}", token=token, process=proc, log_path=log_path, root_dir=root_dir)
    try:
        lab.wait_until_up(f"{lab.url}/api/status?token={token}")
    except BaseException:
        lab.stop()
        raise
    return lab


@pytest.fixture(scope="session")
def jupyter_lab_factory(tmp_path_factory, artifacts):
    """``start(root_dir=None, env=None) -> LabServer``; ``root_dir=None`` serves a tmp copy of notebooks/.

    Every server started is stopped at the end of the session.
    """
    servers: list[LabServer] = []

    def start(root_dir: str | Path | None = None, env: dict[str, str] | None = None) -> LabServer:
        if root_dir is None:
            root_dir = tmp_path_factory.mktemp("notebooks")
            if NOTEBOOKS.is_dir():
                shutil.copytree(NOTEBOOKS, root_dir, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns(".ipynb_checkpoints"))  # fmt: skip
        lab = start_jupyter_lab(Path(root_dir).resolve(), tmp_path_factory.mktemp("lab-home"), artifacts.dir, env)
        servers.append(lab)
        return lab

    yield start
    for lab in servers:
        lab.stop()


@pytest.fixture(scope="session")
def _shared_jupyter_lab(jupyter_lab_factory) -> LabServer:
    return jupyter_lab_factory()


@pytest.fixture
def jupyter_lab(_shared_jupyter_lab) -> LabServer:
    """One JupyterLab for the session, on a tmp copy of notebooks/ (write test notebooks into ``root_dir``).

    The server is shared; the kernels a test started are shut down when it ends.
    """
    yield _shared_jupyter_lab
    _shared_jupyter_lab.shutdown_kernels()


# ---------------------------------------------------------------------------------------------
# Voila


@dataclass
class VoilaServer(_Server):
    """A running ``voila <notebook>``; ``url`` is the dashboard page, token included."""

    notebook: Path = field(default=Path("."))


@pytest.fixture
def voila(tmp_path_factory, artifacts):
    """``start(notebook, env=None, args=()) -> VoilaServer``: Voila on one notebook, stopped after the test.

    Its kernel inherits the server's environment (fresh Jupyter dirs, ``HF_HUB_OFFLINE=1``, plus ``env``).
    Readiness is probed on a static file, because every GET of the page itself starts a kernel.
    """
    servers: list[VoilaServer] = []

    def start(notebook: str | Path, env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> VoilaServer:
        notebook = Path(notebook).resolve()
        port, token = free_port(), secrets.token_hex(16)
        argv = [sys.executable, "-m", "voila", str(notebook), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
                f"--Voila.token={token}", "--show_tracebacks=True", *args]  # fmt: skip
        log_path = artifacts.dir / f"voila-{port}.log"
        proc = _spawn(argv, jupyter_env(tmp_path_factory.mktemp("voila-home"), env), log_path, cwd=notebook.parent)
        server = VoilaServer(url=f"http://127.0.0.1:{port}/?token={token}", token=token, process=proc,
                             log_path=log_path, notebook=notebook)  # fmt: skip
        servers.append(server)
        server.wait_until_up(f"http://127.0.0.1:{port}/voila/static/voila.js")
        return server

    yield start
    for server in servers:  # SIGTERM now, reaped at the end of the session: shutdown takes seconds
        _stopping.append(server)
        server.terminate()


_stopping: list[_Server] = []


@pytest.fixture(scope="session", autouse=True)
def _reap_servers():
    yield
    for server in _stopping:
        server.stop()


# ---------------------------------------------------------------------------------------------
# browser and artifacts


@dataclass
class Artifacts:
    """Where screenshots and server logs go: ``$TAO_LAB_ARTIFACTS`` or tests/artifacts/ (git-ignored)."""

    dir: Path

    def __truediv__(self, name: str) -> Path:
        return self.dir / name

    def screenshot(self, page, name: str, full_page: bool = False) -> Path:
        """Save ``page`` as ``<dir>/<name>.png`` and return the path."""
        path = self.dir / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path


@pytest.fixture(scope="session")
def artifacts() -> Artifacts:
    d = Path(os.environ.get("TAO_LAB_ARTIFACTS") or REPO / "tests" / "artifacts")
    d.mkdir(parents=True, exist_ok=True)
    return Artifacts(d)


def _missing(reason: str):
    """Skip, or fail when TAO_LAB_REQUIRE_BROWSER=1 (CI sets it, so a lost browser cannot pass quietly)."""
    if os.environ.get("TAO_LAB_REQUIRE_BROWSER") == "1":
        pytest.fail(reason + " (TAO_LAB_REQUIRE_BROWSER=1)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """A headless chromium persistent context (tmp profile, 1400x1000); skips without the browser."""
    if not CHROMIUM.exists():
        _missing(f"Debian's chromium is not installed at {CHROMIUM}: run `make test` as root or with sudo, "
                 "or `apt-get install chromium`")  # fmt: skip
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the Python package playwright is not installed: pip install -e '.[test]'")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=VIEWPORT,
        )
        try:
            yield context
        finally:
            context.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)  # lets `page` see whether the test failed
    return report


@pytest.fixture
def page(browser, artifacts, request):
    """A fresh page; on failure its screenshot is saved as ``<test name>-failed.png`` in artifacts."""
    pg = browser.new_page()
    yield pg
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        try:
            artifacts.screenshot(pg, f"{request.node.name}-failed")
        except Exception:  # the page may be gone; the failure itself is what matters
            pass
    pg.close()
