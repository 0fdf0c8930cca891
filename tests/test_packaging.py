"""`pip install .` (not the editable install the other tests use) builds and installs both Jupyter
extensions: the wheel carries the built lab extension and the server extension's config, and a
prefix it is installed into shows both enabled in ``jupyter labextension list`` and ``jupyter
server extension list``.

The wheel is built once from this checkout with pip's isolated build (hatchling and the
jupyter-builder hook from PyPI; node from the machine, as on a user's), then installed with
``--no-deps --prefix`` so the test needs no second copy of torch and jupyterlab.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = "tao_lab-0.1.0.data/data/"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    if shutil.which("node") is None:
        if os.environ.get("TAO_LAB_REQUIRE_BROWSER") == "1":
            pytest.fail("node is not installed: pip install . cannot build the lab extension", pytrace=False)
        pytest.skip("node is not installed (the lab extension needs node >= 18 to build)")
    src = tmp_path_factory.mktemp("src")
    # a clean copy of what git tracks: what a fresh clone builds (no node_modules, no earlier build)
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in files.decode().split("\0"):
        if name and (REPO / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, src / name)
    out = tmp_path_factory.mktemp("wheel")
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(src)],
                          capture_output=True, text=True, timeout=900, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (found,) = out.glob("tao_lab-*.whl")
    return found


def test_the_wheel_carries_both_extensions(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    ext = DATA + "share/jupyter/labextensions/tao-lab/"
    assert {ext + "package.json", ext + "install.json"} <= names
    assert any(n.startswith(ext + "static/remoteEntry.") and n.endswith(".js") for n in names), sorted(names)[:40]
    assert DATA + "etc/jupyter/jupyter_server_config.d/tao_lab.json" in names
    assert "tao_lab/server/handlers.py" in names and "tao_lab/lab.py" in names
    assert not any("node_modules" in n for n in names)


def test_an_installed_wheel_shows_both_extensions_enabled(wheel, tmp_path):
    """A new environment (a venv that borrows this one's packages through a .pth file, so no second
    torch is installed) with the wheel installed lists both extensions enabled from its own prefix."""
    env_dir = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True, timeout=120)
    python = env_dir / "bin" / "python"
    purelib = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                  capture_output=True, text=True, check=True).stdout.strip())
    (purelib / "borrowed.pth").write_text(sysconfig.get_path("purelib") + "\n")  # jupyter & co. from here
    # --ignore-installed: without it pip uninstalls this venv's (editable) tao-lab first
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--ignore-installed", "--quiet",
                           "--prefix", str(env_dir), str(wheel)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "PYTHONPATH"))}

    def run(*args: str) -> str:
        done = subprocess.run([str(python), *args], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
        assert done.returncode == 0, done.stderr[-2000:]
        return re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)  # no colour codes

    assert run("-c", "import tao_lab; print(tao_lab.__file__)").startswith(str(purelib))  # the wheel's tao_lab
    # the apps themselves (`jupyter labextension` would look for a jupyter-labextension script in env/bin)
    labs = run("-c", "from jupyterlab.labextensions import LabExtensionApp as A; A.launch_instance()", "list")
    ours = labs.split(str(env_dir / "share/jupyter/labextensions"), 1)
    assert len(ours) == 2 and "tao-lab v0.1.0 enabled OK" in ours[1].split("\n\n")[0], labs
    servers = run("-m", "jupyter_server", "extension", "list")
    ours = servers.split(f"Config dir: {env_dir / 'etc/jupyter'}", 1)
    section = ours[1].split("Config dir:")[0] if len(ours) == 2 else ""
    assert "tao_lab enabled" in section and "tao_lab 0.1.0 OK" in section, servers
    # and this venv's own tao-lab is still installed
    assert subprocess.run([sys.executable, "-m", "pip", "show", "tao-lab"], capture_output=True).returncode == 0
