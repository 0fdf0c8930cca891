"""The registry on its own: files, liveness, events, commands, and who publishes (no Jupyter server)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time

import pytest

from tao_lab.errors import InputError
from tao_lab.server import registry
from tao_lab.server.registry import Publisher


@pytest.fixture
def reg(tmp_path, monkeypatch):
    d = tmp_path / "registry"
    monkeypatch.setenv("TAO_LAB_REGISTRY_DIR", str(d))
    monkeypatch.delenv("TAO_LAB_PUBLISH", raising=False)
    return d


def test_import_starts_nothing_and_names_the_extensions():
    code = ("import sys, tao_lab, tao_lab.server, tao_lab.server.registry, tao_lab.server.publish;"
            "print(sorted(m for m in ('tornado', 'jupyter_server', 'nbformat', 'substrateinterface', 'torch') "
            "if m in sys.modules));"
            "print(tao_lab._jupyter_server_extension_points(), tao_lab._jupyter_labextension_paths())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0] == "[]"
    assert out[1] == "[{'module': 'tao_lab.server'}] [{'src': 'labextension', 'dest': 'tao-lab'}]"


def test_publish_writes_private_atomic_files_and_remove_clears_them(reg):
    pub = Publisher("lab")
    assert pub.id.startswith(f"lab-{os.getpid()}-") and len(pub.id.rsplit("-", 1)[1]) == 6
    pub.publish({"url": "ws://127.0.0.1:1", "devnet_pid": None, "managed": False}, [1], [{"name": "miner0"}])
    assert stat.S_IMODE(reg.stat().st_mode) == 0o700
    assert stat.S_IMODE(pub.path.stat().st_mode) == 0o600
    assert [p.name for p in reg.iterdir()] == [pub.path.name]  # no temporary file left
    (e,) = registry.entries()
    assert e["id"] == pub.id and e["kind"] == "lab" and e["owner"] == "kernel" and e["pid"] == os.getpid()
    assert e["netuids"] == [1] and e["neurons"] == [{"name": "miner0"}] and "pid_start" not in e
    assert e["started_at"] <= e["updated_at"]
    pub.remove()
    assert registry.entries() == [] and list(reg.iterdir()) == []


def test_entries_of_dead_or_reused_pids_disappear_with_their_files(reg):
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        pub = Publisher("lab")
        pub.fixed.update(pid=proc.pid, pid_start=registry.process_start(proc.pid))
        pub.publish({"url": "ws://127.0.0.1:1"})
        pub.add_events([{"kind": "score"}])
        registry.send_command(pub.id, "stop", "miner0")
        assert [e["id"] for e in registry.entries()] == [pub.id]
        proc.kill()
        proc.wait()
        assert registry.entries() == []
        assert list(reg.iterdir()) == []  # entry, events and command folder all gone
    finally:
        proc.kill()
    reused = Publisher("lab")  # this process's pid, but another process's start time
    reused.fixed["pid_start"] = (registry.process_start(os.getpid()) or 0) + 1
    reused.publish({"url": "ws://127.0.0.1:1"})
    if registry.process_start(os.getpid()) is not None:  # Linux: the start time tells them apart
        assert registry.entries() == []


def test_a_devnet_entry_goes_with_its_node(reg):
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    pub = Publisher("devnet")
    pub.publish({"url": "ws://127.0.0.1:1", "devnet_pid": proc.pid, "managed": True})
    assert registry.shared_devnet()["id"] == pub.id
    proc.kill()
    proc.wait()
    assert registry.shared_devnet() is None and registry.entries() == []


def test_events_are_bounded_and_commands_taken_once(reg):
    pub = Publisher("lab")
    pub.publish({"url": "ws://x"})
    for start in range(0, 700, 100):
        pub.add_events([{"kind": "route", "block": b} for b in range(start, start + 100)])
    got = registry.events(pub.id, limit=500)
    assert len(got) == registry.EVENTS_KEPT and got[0]["block"] == 200 and got[-1]["block"] == 699
    assert [e["block"] for e in registry.events(pub.id, limit=3)] == [697, 698, 699]
    assert registry.events("lab-1-abcdef") == []
    first = registry.send_command(pub.id, "stop", "miner0")
    registry.send_command(pub.id, "restart", "miner0")
    (reg / f"{pub.id}.commands" / "0-bad.json").write_text("{not json")
    assert first["lab"] == pub.id and first["op"] == "stop"
    assert pub.take_commands() == [{"op": "stop", "neuron": "miner0"}, {"op": "restart", "neuron": "miner0"}]
    assert pub.take_commands() == []
    with pytest.raises(InputError):
        registry.send_command(pub.id, "explode", "miner0")
    with pytest.raises(InputError):
        registry.send_command("../etc", "stop", "miner0")


def test_malformed_files_are_ignored(reg):
    reg.mkdir(mode=0o700)
    (reg / "junk.json").write_text("[1, 2]")
    (reg / "half.json").write_text('{"id": "half", "pid"')
    (reg / "other.json").write_text(json.dumps({"id": "not-its-name", "pid": os.getpid()}))
    assert registry.entries() == []


def test_publishing_follows_the_environment(monkeypatch, tmp_path):
    for var in ("TAO_LAB_REGISTRY_DIR", "JPY_PARENT_PID", "TAO_LAB_PUBLISH"):
        monkeypatch.delenv(var, raising=False)
    assert not registry.publishing_enabled()
    monkeypatch.setenv("JPY_PARENT_PID", "1")
    assert registry.publishing_enabled()
    monkeypatch.setenv("TAO_LAB_PUBLISH", "0")
    assert not registry.publishing_enabled()
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "rt"))
    assert registry.registry_dir() == tmp_path / "rt" / "tao-lab"


def test_a_bare_devnet_publishes_itself_and_a_labs_devnet_does_not(reg):
    from tao_lab import Devnet

    with Devnet(block_time=0.1) as dev:
        (e,) = registry.entries()
        assert e["kind"] == "devnet" and e["owner"] == "kernel"
        assert e["chain"] == {"url": dev.url, "devnet_pid": dev.pid, "managed": False}
    assert registry.entries() == []
    with Devnet(block_time=0.1, publish=False):
        assert registry.entries() == []


def test_shared_lab_without_a_shared_devnet_says_how_to_start_one(reg):
    from tao_lab import Lab, LabError

    with pytest.raises(LabError, match="start one from the TAO Lab sidebar or POST /tao-lab/api/devnet"):
        Lab(url="shared")


def test_a_lab_publishes_until_closed(reg):
    from tao_lab import Lab

    t0 = time.monotonic()
    with Lab(block_time=0.1, mode="thread", reuse=False) as lab:
        lab.subnet(tempo=10)
        (uid,) = lab.add_miners(1, start=False)
        deadline = time.monotonic() + 10
        while True:
            labs = [e for e in registry.entries() if e["kind"] == "lab"]
            if labs and labs[0]["neurons"]:
                break
            assert time.monotonic() < deadline, "the lab's entry did not list its miner"
            time.sleep(0.1)
        (e,) = labs
        assert [x["kind"] for x in registry.entries()] == ["lab"]  # its devnet is in its own entry
        assert e["chain"] == {"url": lab.url, "devnet_pid": lab.devnet.pid, "managed": False}
        (n,) = e["neurons"]
        assert n["name"] == "miner0" and n["uid"] == uid and n["state"] == "declared" and n["netuid"] == 1
        assert n["hotkey"] == lab._members["miner0"].wallet.hotkey_ss58
    assert registry.entries() == []
    assert time.monotonic() - t0 < 60
