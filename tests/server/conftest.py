"""A real Jupyter server with the tao_lab extension, on 127.0.0.1 with a token and fresh Jupyter dirs.

It is started the way the browser tests start JupyterLab (their ``jupyter_env``, ``free_port``,
``_spawn`` and ``_Server``, loaded from tests/browser/conftest.py), but as a bare ``jupyter
server`` with only this extension enabled: it starts in a few seconds and nothing else answers.

Fixtures:

- ``jupyter_server``   session: `ApiServer` (``.get/.post/.delete`` JSON helpers, ``runtime_dir``,
  ``registry_dir``, ``root_dir``)
- ``server_factory``   session: ``start() -> ApiServer`` for tests that stop or kill their own server
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "lifetimes"))  # kernel_tools: real kernels

_spec = importlib.util.spec_from_file_location("tao_lab_browser_harness", HERE.parent / "browser" / "conftest.py")
harness = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = harness  # dataclasses look their module up there
_spec.loader.exec_module(harness)

EXTENSIONS = {"tao_lab": True, "jupyterlab": False, "voila.server_extension": False, "jupyter_lsp": False,
              "notebook_shim": False, "jupyter_server_terminals": False}


@dataclass
class ApiServer(harness._Server):
    """A running ``jupyter server`` with the tao_lab extension."""

    root_dir: Path = field(default=Path("."))
    runtime_dir: Path = field(default=Path("."))

    @property
    def registry_dir(self) -> Path:
        return self.runtime_dir / "tao-lab"

    def request(self, method: str, path: str, body=None, token: str | None = "", raw: bytes | None = None,
                timeout: float = 30.0) -> tuple[int, object]:
        """``(status, decoded JSON)`` of ``method /tao-lab/api/<path>``; ``token=None`` sends none."""
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"token {token or self.token}"
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        if data is None and method in ("POST", "PUT"):
            data = b""
        req = urllib.request.Request(f"{self.url}/tao-lab/api/{path}", data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                status, text = r.status, r.read()
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read()
        try:
            return status, json.loads(text) if text else None
        except ValueError:
            return status, text.decode(errors="replace")

    def get(self, path: str, expect: int = 200):
        status, body = self.request("GET", path)
        assert status == expect, (path, status, body)
        return body

    def post(self, path: str, body=None, expect: int = 200):
        status, out = self.request("POST", path, body if body is not None else {})
        assert status == expect, (path, status, out)
        return out

    def delete(self, path: str, expect: int = 200):
        status, out = self.request("DELETE", path)
        assert status == expect, (path, status, out)
        return out


def start_server(home: Path, log_dir: Path, env: dict[str, str] | None = None) -> ApiServer:
    root = home / "root"
    root.mkdir(parents=True, exist_ok=True)
    port, token = harness.free_port(), secrets.token_hex(16)
    argv = [sys.executable, "-m", "jupyter_server", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
            "--port-retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
            f"--ServerApp.jpserver_extensions={EXTENSIONS!r}"]
    if os.geteuid() == 0:
        argv.append("--allow-root")
    full_env = harness.jupyter_env(home, env)
    full_env.pop("TAO_LAB_REGISTRY_DIR", None)  # the server finds its registry in its runtime dir
    log_path = log_dir / f"jupyter-server-{port}.log"
    proc = harness._spawn(argv, full_env, log_path, cwd=root)
    server = ApiServer(url=f"http://127.0.0.1:{port}", token=token, process=proc, log_path=log_path, root_dir=root,
                       runtime_dir=Path(full_env["JUPYTER_RUNTIME_DIR"]))
    try:
        server.wait_until_up(f"{server.url}/tao-lab/api/gpus?token={token}")
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture(scope="session")
def server_factory(tmp_path_factory):
    servers: list[ApiServer] = []
    log_dir = tmp_path_factory.mktemp("server-logs")

    def start(env: dict[str, str] | None = None) -> ApiServer:
        server = start_server(tmp_path_factory.mktemp("server-home"), log_dir, env)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def jupyter_server(server_factory) -> ApiServer:
    return server_factory()
