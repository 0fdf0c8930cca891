"""The JupyterLab extension's sources (labextension/): no type errors, lint-clean, one version everywhere.

``tsc --noEmit`` and ``jlpm run lint:check`` (prettier + eslint, configured in package.json) run on
the checkout. They need node and labextension/node_modules, which ``pip install -e .`` creates (its
build hook runs ``jlpm install``); without node the tests skip, unless TAO_LAB_REQUIRE_BROWSER=1
(CI), where a missing toolchain fails them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import tao_lab

REPO = Path(__file__).resolve().parents[1]
EXT = REPO / "labextension"


def _toolchain() -> None:
    """Skip (or fail in CI) without node; install node_modules from the committed lock if missing."""
    missing = None
    if shutil.which("node") is None:
        missing = "node is not installed (the JupyterLab extension needs node >= 18 to build)"
    elif shutil.which("jlpm") is None and not (Path(sys.prefix) / "bin" / "jlpm").exists():
        missing = "jlpm is not installed (it comes with jupyter-builder, a jupyterlab dependency)"
    if missing:
        if os.environ.get("TAO_LAB_REQUIRE_BROWSER") == "1":
            pytest.fail(missing + " (TAO_LAB_REQUIRE_BROWSER=1)", pytrace=False)
        pytest.skip(missing)
    if not (EXT / "node_modules" / "typescript").is_dir():
        _run(["jlpm", "install", "--immutable"], timeout=600)


def _run(argv: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
    jlpm = shutil.which("jlpm") or str(Path(sys.prefix) / "bin" / "jlpm")
    argv = [jlpm, *argv[1:]] if argv[0] == "jlpm" else argv
    # package.json scripts call jlpm again ("jlpm prettier:check && ..."): CI runs the venv's python
    # without the venv on PATH, so put jlpm's folder (and the interpreter's) first for the children.
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(jlpm).parent), str(Path(sys.executable).parent), env.get("PATH", "")])
    proc = subprocess.run(argv, cwd=EXT, capture_output=True, text=True, timeout=timeout, env=env)
    assert proc.returncode == 0, f"{' '.join(argv[:4])} failed in labextension/:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"
    return proc


def test_typescript_has_no_type_errors():
    _toolchain()
    _run(["jlpm", "run", "typecheck"])  # tsc --noEmit


def test_sources_pass_prettier_and_eslint():
    _toolchain()
    _run(["jlpm", "run", "lint:check"])


def test_one_version_in_package_json_pyproject_and_tao_lab():
    package = json.loads((EXT / "package.json").read_text())
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert package["version"] == project["version"] == tao_lab.__version__


def test_lockfile_is_committed_and_scripts_disabled():
    """A fresh clone builds from the lock with no package install scripts (see labextension/.yarnrc.yml)."""
    assert (EXT / "yarn.lock").stat().st_size > 0
    rc = (EXT / ".yarnrc.yml").read_text()
    assert "enableScripts: false" in rc and "nodeLinker: node-modules" in rc
    tracked = subprocess.run(["git", "ls-files", "labextension/yarn.lock"], cwd=REPO, capture_output=True, text=True)
    if tracked.returncode == 0:  # a git checkout (an sdist has no .git)
        assert tracked.stdout.strip() == "labextension/yarn.lock"
