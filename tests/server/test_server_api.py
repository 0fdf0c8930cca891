"""The REST API of tao_lab.server against a real Jupyter server, real devnets and a real kernel."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
import urllib.error
import urllib.request

import nbformat
import pytest
from kernel_tools import Kernel, devnet_port, wait_gone, wait_port_free

from tao_lab.neurons.events import KINDS
from tao_lab.notebooks import DASHBOARD
from tao_lab.server.chains import chain_id

ROUTES = [
    ("GET", "status"), ("GET", "labs"), ("GET", "devnet"), ("POST", "devnet"), ("DELETE", "devnet"),
    ("GET", "chains"), ("GET", "chains/0123456789"), ("GET", "chains/0123456789/neurons?netuid=1"),
    ("GET", "events?lab=lab-1-abcdef"), ("GET", "gpus"), ("POST", "labs/lab-1-abcdef/neurons/miner0/stop"),
    ("POST", "labs/lab-1-abcdef/neurons/miner0/restart"), ("POST", "notebooks"),
]


def poll(predicate, timeout: float, what: str):
    """``predicate()``'s first truthy value within ``timeout`` s, else fail saying ``what`` did not happen."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} within {timeout:g} s"
        time.sleep(0.1)


@pytest.mark.parametrize("method,path", ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_every_route_needs_the_token(jupyter_server, method, path):
    for token in (None, "wrong-token"):
        status, body = jupyter_server.request(method, path, {"template": "lab"} if method == "POST" else None,
                                              token=token)
        assert status in (401, 403), (token, status, body)
        assert "token" in body["error"]
    assert jupyter_server.get("devnet")["running"] is False  # the refused POST started nothing


def test_a_browser_session_needs_the_xsrf_token_to_change_anything(jupyter_server):
    """A logged-in browser (the login cookie, no token header), as a page on another site could make
    it send requests: reading works, but a POST whose X-XSRFToken does not match its _xsrf cookie is
    refused (403) and changes nothing; with a matching pair, as JupyterLab sends, it goes through."""
    import http.cookiejar

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(f"{jupyter_server.url}/api/status?token={jupyter_server.token}", timeout=60) as r:  # logs in
        assert r.status == 200
    login = "; ".join(f"{c.name}={c.value}" for c in jar if c.name.startswith("username-"))
    assert login, [c.name for c in jar]

    def call(method, path, xsrf_header=None, xsrf_cookie=None, body=b"{}"):
        headers = {"Content-Type": "application/json",
                   "Cookie": login + (f"; _xsrf={xsrf_cookie}" if xsrf_cookie else "")}
        if xsrf_header:
            headers["X-XSRFToken"] = xsrf_header
        req = urllib.request.Request(f"{jupyter_server.url}/tao-lab/api/{path}", method=method, headers=headers,
                                     data=body if method == "POST" else None)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status
        except urllib.error.HTTPError as exc:
            return exc.code

    assert call("GET", "status") == 200  # the session reads
    body = json.dumps({"template": "lab", "path": "xsrf-check.ipynb"}).encode()
    assert call("POST", "notebooks", body=body) == 403  # neither
    assert call("POST", "notebooks", xsrf_header="forged", body=body) == 403  # no cookie to match
    assert call("POST", "notebooks", xsrf_header="forged", xsrf_cookie="0123abcd", body=body) == 403  # mismatch
    assert call("POST", "devnet", xsrf_cookie="0123abcd") == 403
    assert not (jupyter_server.root_dir / "xsrf-check.ipynb").exists()
    assert jupyter_server.get("devnet")["running"] is False
    assert call("POST", "notebooks", xsrf_header="0123abcd", xsrf_cookie="0123abcd", body=body) == 201
    assert (jupyter_server.root_dir / "xsrf-check.ipynb").exists()


def test_bad_requests_get_4xx_with_a_reason(jupyter_server):
    s = jupyter_server
    for raw in (b"{not json", b"[1]", b'"x"'):
        status, body = s.request("POST", "devnet", raw=raw)
        assert status == 400 and ("JSON object" in body["error"] or "not JSON" in body["error"]), (raw, body)
    for bad in ({"block_time": 0}, {"block_time": -1}, {"block_time": 1e9}, {"block_time": "fast"},
                {"block_time": True}, {"port": 70000}, {"port": -1}, {"port": 1.5}, {"speed": 1}):
        status, body = s.request("POST", "devnet", bad)
        assert status == 400 and body["error"], (bad, status, body)
    for text in (b'{"block_time": NaN}', b'{"block_time": Infinity}'):
        assert s.request("POST", "devnet", raw=text)[0] == 400
    status, body = s.request("DELETE", "devnet")
    assert status == 404 and "POST /tao-lab/api/devnet" in body["error"]
    assert s.request("GET", "chains/0123456789")[0] == 404
    assert s.request("GET", "chains/0123456789/neurons?netuid=1")[0] == 404
    for query in ("", "?netuid=x", "?netuid=-1", "?netuid=70000"):
        status, body = s.request("GET", f"chains/0123456789/neurons{query}")
        assert status == 400 and "netuid" in body["error"], (query, body)
    assert s.request("GET", "events")[0] == 400
    assert s.request("GET", "events?lab=lab-1-abcdef")[0] == 404
    assert s.request("GET", "events?lab=lab-1-abcdef&limit=0")[0] == 400
    assert s.request("GET", "events?lab=lab-1-abcdef&limit=lots")[0] == 400
    status, body = s.request("POST", "labs/lab-1-abcdef/neurons/miner0/stop")
    assert status == 404 and "GET /tao-lab/api/labs" in body["error"]
    assert s.request("POST", "labs/lab-1-abcdef/neurons/miner0/explode")[0] == 404  # no such route


def test_gpus_lists_this_machines_gpus(jupyter_server):
    """[] on a machine without nvidia-smi (CI); on a GPU host, one row per GPU (tests/server/test_gpus.py
    checks the parsing against a stand-in nvidia-smi)."""
    gpus = jupyter_server.get("gpus")
    if shutil.which("nvidia-smi") is None:
        assert gpus == []
    else:
        assert gpus and all({"index", "name", "memory_used_mib", "memory_total_mib", "utilization_pct"} <= set(g)
                            for g in gpus), gpus
    status = jupyter_server.get("status")
    assert len(status["gpus"]) == len(gpus) and status["version"] == "0.1.0" and status["devnet"]["running"] is False


def test_notebooks_from_templates_stay_inside_the_root(jupyter_server):
    s, root = jupyter_server, jupyter_server.root_dir
    assert s.post("notebooks", {"template": "lab"}, expect=201) == {"path": "TAO Lab.ipynb"}
    assert s.post("notebooks", {"template": "lab"}, expect=201) == {"path": "TAO Lab 1.ipynb"}
    lab_nb = nbformat.read(root / "TAO Lab.ipynb", as_version=4)
    assert 'Lab(url="shared")' in lab_nb.cells[1].source
    (root / "mine").mkdir()
    assert s.post("notebooks", {"template": "dashboard", "path": "mine/dash.ipynb"}, expect=201) == {
        "path": "mine/dash.ipynb"}
    dash = nbformat.read(root / "mine" / "dash.ipynb", as_version=4)
    assert [c.source for c in dash.cells] == [c[1] for c in DASHBOARD]
    status, body = s.request("POST", "notebooks", {"template": "dashboard", "path": "mine/dash.ipynb"})
    assert status == 409 and "exists" in body["error"]
    for bad in ("/tmp/x.ipynb", "../x.ipynb", "mine/../../x.ipynb", "mine/./x.ipynb", "a\\b.ipynb", "x.txt",
                "nowhere/x.ipynb", ".hidden.ipynb", "", 7):
        status, body = s.request("POST", "notebooks", {"template": "lab", "path": bad})
        assert status == 400 and body["error"], (bad, status, body)
    for bad in ({"template": "nope"}, {}, {"template": "lab", "extra": 1}):
        assert s.request("POST", "notebooks", bad)[0] == 400
    assert not (root.parent / "x.ipynb").exists()


def test_a_bare_devnet_in_a_process_shows_up_with_its_chain(jupyter_server, monkeypatch):
    from tao_lab import Devnet

    monkeypatch.setenv("TAO_LAB_REGISTRY_DIR", str(jupyter_server.registry_dir))
    with Devnet(block_time=0.1) as dev:
        (e,) = [e for e in jupyter_server.get("labs") if e["kind"] == "devnet"]
        assert e["owner"] == "kernel" and e["pid"] == os.getpid() and e["chain"]["url"] == dev.url
        (chain,) = jupyter_server.get("chains")
        assert chain == {"id": chain_id(dev.url), "url": dev.url, "managed": False, "labs": []}
        detail = jupyter_server.get(f"chains/{chain['id']}")
        assert detail["url"] == dev.url and detail["block"] >= 0
        assert [sn["netuid"] for sn in detail["subnets"]] == [1]
    assert jupyter_server.get("labs") == [] and jupyter_server.get("chains") == []


def test_a_chain_whose_node_does_not_answer_is_a_502(jupyter_server, monkeypatch):
    from kernel_tools import port_free

    from tao_lab.server.registry import Publisher

    monkeypatch.setenv("TAO_LAB_REGISTRY_DIR", str(jupyter_server.registry_dir))
    port = next(p for p in range(47000, 47100) if port_free(p))
    url = f"ws://127.0.0.1:{port}"
    pub = Publisher("lab")
    pub.publish({"url": url, "devnet_pid": None, "managed": False})
    try:
        for path in (f"chains/{chain_id(url)}", f"chains/{chain_id(url)}/neurons?netuid=1"):
            status, body = jupyter_server.request("GET", path)
            assert status == 502 and url in body["error"], (path, status, body)
    finally:
        pub.remove()


# ------------------------------------------------------------------ a shared devnet and a kernel's lab


KERNEL_LAB = """
from tao_lab import Lab
lab = Lab(url="shared", mode="thread")
lab.subnet(tempo=10)
uids = lab.add_miners(1) + lab.add_validators(1, stake=100)
lab.wait()
"""


@pytest.fixture(scope="module")
def shared(jupyter_server):
    """The server's shared devnet, started through the API (0.1 s blocks)."""
    state = jupyter_server.post("devnet", {"block_time": 0.1}, expect=201)
    yield state
    if jupyter_server.get("devnet")["running"]:
        jupyter_server.delete("devnet")


@pytest.fixture(scope="module")
def kernel(jupyter_server, shared):
    """A real kernel of the server's runtime dir, running a lab with a miner and a validator on the shared devnet."""
    k = Kernel(jupyter_server.runtime_dir, env={"JPY_SESSION_NAME": "classroom.ipynb"})
    try:
        k.run(KERNEL_LAB, timeout=120)
        yield k
    finally:
        k.shutdown()


def _lab_entry(server):
    labs = [e for e in server.get("labs") if e["kind"] == "lab"]
    return labs[0] if labs else None


def _neuron(server, name):
    e = _lab_entry(server)
    return next((n for n in e["neurons"] if n["name"] == name), None) if e else None


def test_shared_devnet_starts_once_and_makes_blocks(jupyter_server, shared):
    s = jupyter_server
    assert shared["running"] and shared["url"].startswith("ws://127.0.0.1:") and shared["block_time"] == 0.1
    status, body = s.request("POST", "devnet", {})
    assert status == 409 and "already runs" in body["error"]
    first = s.get("devnet")["block"]
    poll(lambda: s.get("devnet")["block"] > first + 2, 10, "the shared devnet made no blocks")
    (e,) = [e for e in s.get("labs") if e["kind"] == "devnet"]
    assert e["owner"] == "server" and e["chain"] == {"url": shared["url"], "devnet_pid": shared["pid"],
                                                      "managed": True}
    assert s.get("status")["devnet"]["url"] == shared["url"]


def test_a_kernels_lab_is_listed_with_its_neurons(jupyter_server, shared, kernel):
    s = jupyter_server
    e = poll(lambda: all((_neuron(s, n) or {}).get("state") == "running" for n in ("miner0", "validator0"))
             and _lab_entry(s), 15, "the kernel's lab did not list its running neurons")
    uids = kernel.value("uids")
    assert e["pid"] == kernel.pid and e["notebook"] == "classroom.ipynb" and e["owner"] == "kernel"
    assert e["chain"] == {"url": shared["url"], "devnet_pid": shared["pid"], "managed": True}
    assert e["netuids"] == [1]
    miner = _neuron(s, "miner0")
    assert miner["uid"] == uids[0] and miner["role"] == "miner" and miner["mode"] == "thread"
    assert miner["device"] == kernel.value("lab.supervisor.status('miner0')['device']") and miner["pid"] == kernel.pid, miner
    assert (miner["axon"] or "").startswith("127.0.0.1:"), miner
    assert miner["hotkey"] == kernel.value("lab._members['miner0'].wallet.hotkey_ss58")
    (chain,) = s.get("chains")
    assert chain == {"id": chain_id(shared["url"]), "url": shared["url"], "managed": True, "labs": [e["id"]]}
    detail = s.get(f"chains/{chain['id']}")
    (subnet,) = detail["subnets"]
    assert subnet["netuid"] == 1 and subnet["tempo"] == 10 and subnet["n"] >= 2
    assert 0 <= subnet["next_epoch_in"] <= 10 and subnet["last_epoch_block"] <= detail["block"]
    rows = s.get(f"chains/{chain['id']}/neurons?netuid=1")
    assert [r["uid"] for r in rows] == list(range(subnet["n"]))
    mine = {r["name"]: r for r in rows if r["name"]}
    assert set(mine) == {"miner0", "validator0"}
    assert mine["miner0"]["uid"] == uids[0] and mine["miner0"]["lab"] == e["id"]
    assert mine["miner0"]["axon"] == miner["axon"] and mine["miner0"]["pid"] == kernel.pid
    assert mine["validator0"]["role"] == "validator" and mine["validator0"]["stake"] >= 100
    assert all(r["lab"] is None and r["state"] is None for r in rows if not r["name"])
    assert s.request("GET", f"chains/{chain['id']}/neurons?netuid=9")[0] == 404


def test_events_of_the_kernels_validator(jupyter_server, kernel):
    s = jupyter_server
    lab_id = _lab_entry(s)["id"]
    events = poll(lambda: s.get(f"events?lab={lab_id}&limit=500"), 20, "no validator events reached the registry")
    assert {ev["kind"] for ev in events} <= set(KINDS) and {ev["neuron"] for ev in events} == {"validator0"}
    assert len(s.get(f"events?lab={lab_id}&limit=2")) == min(2, len(events))


def test_stop_and_restart_a_neuron_through_the_api(jupyter_server, kernel):
    s = jupyter_server
    lab_id = _lab_entry(s)["id"]
    queued = s.post(f"labs/{lab_id}/neurons/miner0/stop", expect=202)["queued"]
    assert queued["op"] == "stop" and queued["neuron"] == "miner0" and queued["lab"] == lab_id
    poll(lambda: _neuron(s, "miner0")["state"] == "stopped", 10, "miner0 did not stop")
    assert kernel.value("lab.supervisor.status('miner0')['state']") == "stopped"
    assert _neuron(s, "miner0")["axon"] is None
    s.post(f"labs/{lab_id}/neurons/miner0/restart", expect=202)
    poll(lambda: _neuron(s, "miner0")["state"] == "running", 20, "miner0 did not run again")
    assert kernel.value("lab.supervisor.status('miner0')['restarts']") == 1
    status, body = s.request("POST", f"labs/{lab_id}/neurons/miner9/stop")
    assert status == 404 and "miner0" in body["error"]


def test_kill_9_of_the_kernel_removes_its_lab_then_the_devnet_stops(jupyter_server, shared, kernel):
    s = jupyter_server
    lab_id = _lab_entry(s)["id"]
    kernel.kill()
    poll(lambda: _lab_entry(s) is None, 5, "the killed kernel's lab stayed listed")
    assert not any(p.name.startswith(lab_id) for p in s.registry_dir.iterdir())
    assert s.get("chains")[0]["labs"] == []
    assert s.delete("devnet") == {"running": False, "url": None, "pid": None, "block_time": None, "block": None}
    assert wait_gone(shared["pid"]) and wait_port_free(devnet_port(shared["url"]))
    assert s.get("labs") == [] and s.get("chains") == []
    assert s.request("DELETE", "devnet")[0] == 404


def test_the_shared_devnet_stops_with_its_server(server_factory):
    """A server stopped (SIGTERM) or killed (SIGKILL) leaves no devnet node and no port behind."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        server = server_factory()
        state = server.post("devnet", {}, expect=201)
        os.killpg(server.process.pid, sig) if sig == signal.SIGTERM else server.process.send_signal(sig)
        server.process.wait(15)
        assert wait_gone(state["pid"], 10), f"the devnet outlived its server after {sig.name}"
        assert wait_port_free(devnet_port(state["url"]))
        left = [json.loads(p.read_text()) for p in server.registry_dir.glob("*.json")]
        assert sig == signal.SIGKILL or left == []  # a SIGTERMed server removes its entry itself
