"""The TAO Lab sidebar in a real JupyterLab (this checkout's lab extension + the tao_lab server extension).

One walk through what a user does: open the sidebar, start the shared devnet from it and watch
the block height climb, run a notebook that puts a miner on that devnet, see the miner appear
with its uid, stop it from the sidebar, stop the devnet. Then a Voila page of the same server
loads the extension without "No provider" errors (its plugins need no ILabShell).
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PANEL = "#tao-lab-panel"
NOTEBOOK = "sidebar_miner.ipynb"
# what the notebook prints once its miner has a uid; the sidebar must show the same uid
UID_LINE = re.compile(r"miner0 uid=(\d+)")


def _notebook(cells: list[str]) -> dict:
    return {
        "cells": [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {}, "outputs": [],
                   "source": src} for i, src in enumerate(cells)],  # fmt: skip
        "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def _api(lab, method: str, path: str) -> tuple[int, object]:
    req = urllib.request.Request(f"{lab.url}/tao-lab/api/{path}", method=method, data=b"" if method != "GET" else None,
                                 headers={"Authorization": f"token {lab.token}"})  # fmt: skip
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


@pytest.fixture
def sidebar_lab(jupyter_lab):
    """The shared JupyterLab, checked to run the server extension; its shared devnet stopped afterwards."""
    status, body = _api(jupyter_lab, "GET", "status")
    assert status == 200, (
        f"GET /tao-lab/api/status answered {status}: the tao_lab server extension is not loaded "
        f"(pip install -e . installs etc/jupyter/jupyter_server_config.d/tao_lab.json): {body}"
    )
    yield jupyter_lab
    _api(jupyter_lab, "DELETE", "devnet")  # 404 when the test stopped it already


def _block(page) -> int:
    return int(page.locator(f"{PANEL} .tao-lab-Block").get_attribute("data-block") or -1)


def test_sidebar_devnet_neuron_stop(sidebar_lab, page, artifacts):
    lab = sidebar_lab
    (lab.root_dir / NOTEBOOK).write_text(json.dumps(_notebook([
        "from tao_lab import Lab\n\nlab = Lab(url=\"shared\", mode=\"thread\")  # the sidebar's devnet\nlab.subnet()",
        "lab.add_miners(1)\nprint(f\"miner0 uid={lab.uid('miner0')}\")",
    ])))  # fmt: skip
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    lab.open_notebook(page, NOTEBOOK)
    page.locator('.jp-SideBar [data-id="tao-lab-panel"]').click()
    panel = page.locator(PANEL)
    panel.locator('.tao-lab-Devnet[data-running="false"]').wait_for(timeout=20_000)
    assert "No chain in use" in panel.inner_text()

    # start the shared devnet from the sidebar; the block height climbs while we look
    panel.locator('button[data-action="start-devnet"]').click()
    panel.locator('.tao-lab-Devnet[data-running="true"] [data-block]').wait_for(timeout=30_000)
    page.wait_for_function("() => Number(document.querySelector('#tao-lab-panel [data-block]')?.dataset.block) >= 0")
    first = _block(page)
    page.wait_for_function(
        "b => Number(document.querySelector('#tao-lab-panel [data-block]')?.dataset.block) >= b + 3", arg=first,
        timeout=20_000,
    )  # fmt: skip
    assert _block(page) >= first + 3
    artifacts.screenshot(page, "sidebar-1-devnet")

    # a notebook puts a miner on it: the sidebar lists it under subnet 1 with the notebook's uid
    lab.run_all_cells(page)
    out = lab.wait_for_output(page, "pre", timeout_ms=120_000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-OutputArea-output pre')].some(e => /miner0 uid=\\d+/.test(e.textContent))",
        timeout=120_000,
    )  # fmt: skip
    outputs = " ".join(page.locator(".jp-OutputArea-output pre").all_inner_texts())
    match = UID_LINE.search(outputs)
    assert match, f"the notebook did not print the miner's uid: {outputs!r} ({out.inner_text()!r})"
    uid = match.group(1)
    row = panel.locator(f'tr.tao-lab-Neuron[data-name="miner0"][data-uid="{uid}"]')
    row.wait_for(timeout=30_000)
    panel.locator(f'tr.tao-lab-Neuron[data-uid="{uid}"][data-state="running"]').wait_for(timeout=60_000)
    assert panel.locator('.tao-lab-Subnet[data-netuid="1"]').count() == 1
    assert "miner0" in row.inner_text() and re.search(r"\b(cpu|gpu\d+)\b", row.inner_text()), row.inner_text()
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook").first.click(position={"x": 5, "y": 5})
    shot = artifacts.screenshot(page, "sidebar-2-neuron")
    # the README's picture (docs/img/sidebar.png is a copy): the sidebar beside the notebook's top
    page.screenshot(path=str(artifacts / "sidebar-readme.png"), clip={"x": 0, "y": 0, "width": 900, "height": 430})

    # stop it from the sidebar: its kernel applies the command, the row's state follows
    row.locator('button[data-action="stop-neuron"]').click()
    panel.locator(f'tr.tao-lab-Neuron[data-uid="{uid}"][data-state="stopped"]').wait_for(timeout=30_000)
    assert row.locator('button[data-action="stop-neuron"]').count() == 0  # nothing left to stop
    artifacts.screenshot(page, "sidebar-3-stopped")

    # stop the devnet
    panel.locator('button[data-action="stop-devnet"]').click()
    panel.locator('.tao-lab-Devnet[data-running="false"]').wait_for(timeout=30_000)
    assert _api(lab, "GET", "devnet")[1]["running"] is False
    artifacts.screenshot(page, "sidebar-4-devnet-stopped")

    # the notebook buttons: a new lab notebook from the template opens in Lab; the dashboard opens
    # in Voila in a new tab (answered by a stub here: the real dashboard would start a lab of its own)
    panel.locator('button[data-action="new-lab-notebook"]').click()
    page.locator(".lm-TabBar-tab .lm-TabBar-tabLabel", has_text="TAO Lab.ipynb").wait_for(timeout=30_000)
    assert (lab.root_dir / "TAO Lab.ipynb").is_file()
    page.context.route("**/voila/render/**", lambda route: route.fulfill(body="voila stub", content_type="text/html"))
    try:
        with page.context.expect_page(timeout=30_000) as popup:
            panel.locator('button[data-action="open-dashboard-voila"]').click()
        popup.value.wait_for_url("**/voila/render/**", timeout=30_000)  # opened blank, then pointed there
        assert popup.value.url.startswith(f"{lab.url}/voila/render/dashboard.ipynb"), popup.value.url
        popup.value.close()
    finally:
        page.context.unroute("**/voila/render/**")

    ours = [e for e in errors if "tao-lab" in e or "tao_lab" in e]
    assert not ours, ours
    assert shot.exists()


def test_voila_page_loads_the_extension_without_errors(sidebar_lab, browser):
    """Voila loads every installed lab extension; tao-lab's plugins must not ask it for ILabShell."""
    lab = sidebar_lab
    (lab.root_dir / "sidebar_voila.ipynb").write_text(json.dumps(_notebook(["print('voila ' + 'ok')"])))
    page = browser.new_page()
    messages: list[str] = []
    page.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
    try:
        page.goto(f"{lab.url}/voila/render/sidebar_voila.ipynb?token={lab.token}")
        page.get_by_text("voila ok").wait_for(timeout=60_000)
        config = json.loads(page.locator("#jupyter-config-data").text_content())
        assert any("tao-lab" in json.dumps(e) for e in config.get("federated_extensions", [])), config.keys()
        page.wait_for_timeout(500)  # late plugin activation errors
    finally:
        page.close()
    bad = [m for m in messages if "No provider" in m or ("tao-lab" in m and m.startswith("error"))]
    assert not bad, bad


def test_sidebar_renders_gpus_and_every_neuron_state(sidebar_lab, page, artifacts):
    """GPUs and the rarer states (crashed, registering, a chain-only uid), from canned API answers.

    The CI machine has no GPU and its neurons rarely crash, so the server's answers are replaced
    here (in the browser only) by ones in the documented shapes (docs/server.md).
    """
    url = "ws://127.0.0.1:9944"
    neuron = {"hotkey": None, "coldkey": None, "axon": None, "pid": 7, "mode": "process", "error": None}
    labs = [{"id": "lab-7-abcdef", "kind": "lab", "owner": "kernel", "pid": 7, "notebook": "/srv/class/gpu lab.ipynb",
             "chain": {"url": url, "devnet_pid": 8, "managed": False}, "netuids": [1], "neurons": [
                 {**neuron, "name": "miner0", "role": "miner", "netuid": 1, "uid": 1, "device": "cuda:0", "state": "running"},
                 {**neuron, "name": "miner1", "role": "miner", "netuid": 1, "uid": 2, "device": "cuda:1", "state": "crashed",
                  "error": "torch.OutOfMemoryError: CUDA out of memory"},
                 {**neuron, "name": "validator0", "role": "validator", "netuid": 1, "uid": 3, "device": "cpu", "state": "running"},
                 {**neuron, "name": "miner2", "role": "miner", "netuid": 1, "uid": None, "device": "cuda:0", "state": "registering"},
             ]}]  # fmt: skip
    status = {"version": "0.1.0", "devnet": {"running": False, "url": None, "pid": None, "block_time": None, "block": None},
              "chains": [{"id": "0123456789", "url": url, "managed": False, "labs": ["lab-7-abcdef"]}], "labs": labs,
              "gpus": [{"index": 0, "name": "NVIDIA H200", "memory_used_mib": 61440, "memory_total_mib": 143771, "utilization_pct": 87},
                       {"index": 1, "name": "NVIDIA H200", "memory_used_mib": 1024, "memory_total_mib": 143771, "utilization_pct": 0}]}  # fmt: skip
    chain = {"id": "0123456789", "url": url, "block": 4321,
             "subnets": [{"netuid": 1, "tempo": 100, "n": 4, "last_epoch_block": 4300, "next_epoch_in": 79}]}  # fmt: skip
    row = {"netuid": 1, "coldkey": "5C...", "axon": None, "stake": 0.0, "emission": 0.0, "dividends": 0.0, "last_update": 4300,
           "lab": "lab-7-abcdef", "pid": 7}  # fmt: skip
    rows = [
        {**row, "uid": 0, "hotkey": "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", "role": "validator", "incentive": 0.0,
         "name": None, "lab": None, "state": None, "pid": None, "device": None},
        {**row, "uid": 1, "hotkey": "5F1", "role": "miner", "incentive": 0.7124, "name": "miner0", "state": "running", "device": "cuda:0"},
        {**row, "uid": 2, "hotkey": "5F2", "role": "miner", "incentive": 0.2876, "name": "miner1", "state": "crashed", "device": "cuda:1"},
        {**row, "uid": 3, "hotkey": "5F3", "role": "validator", "incentive": 0.0, "name": "validator0", "state": "running", "device": "cpu"},
    ]  # fmt: skip
    answers = {"status": status, "chains/0123456789": chain, "chains/0123456789/neurons": rows}

    def answer(route):
        path = route.request.url.split("/tao-lab/api/", 1)[1].split("?", 1)[0]
        route.fulfill(status=200, content_type="application/json", body=json.dumps(answers[path]))

    page.route("**/tao-lab/api/**", answer)
    page.goto(f"{sidebar_lab.url}/lab?token={sidebar_lab.token}&reset")
    page.locator("#jupyterlab-splash").wait_for(state="detached", timeout=60_000)
    page.locator('.jp-SideBar [data-id="tao-lab-panel"]').click()
    panel = page.locator(PANEL)
    panel.locator('tr.tao-lab-Neuron[data-name="miner2"]').wait_for(timeout=20_000)

    assert panel.locator(".tao-lab-Gpu").count() == 2
    assert "NVIDIA H200" in panel.locator(".tao-lab-Gpu").first.inner_text()
    assert "gpu lab.ipynb" in panel.locator(".tao-lab-ChainLabs").inner_text()
    states = {r.get_attribute("data-name") or r.get_attribute("data-uid"): r.get_attribute("data-state")
              for r in panel.locator("tr.tao-lab-Neuron").all()}  # fmt: skip
    assert states == {"0": "", "miner0": "running", "miner1": "crashed", "validator0": "running", "miner2": "registering"}
    stoppable = [r.get_attribute("data-name") for r in panel.locator("tr.tao-lab-Neuron").all()
                 if r.locator('button[data-action="stop-neuron"]').count()]  # fmt: skip
    assert stoppable == ["miner0", "validator0", "miner2"]  # not the crashed one, nor uid 0 (no notebook runs it)
    assert "out of memory" in panel.locator('tr.tao-lab-Neuron[data-name="miner1"]').get_attribute("title")
    page.screenshot(path=str(artifacts / "sidebar-gpus-states.png"), clip={"x": 0, "y": 0, "width": 300, "height": 620})


def test_palette_launcher_and_settings(sidebar_lab, page, artifacts):
    """The commands are in the palette under "TAO Lab", the launcher has the TAO Lab cards, and the
    settings registry serves the plugin's schema and keeps a changed value."""
    lab = sidebar_lab
    (lab.root_dir / "palette.ipynb").write_text(json.dumps(_notebook(["1 + 1"])))
    lab.open_notebook(page, "palette.ipynb")
    page.keyboard.press("Control+Shift+C")  # the command palette
    palette = page.locator(".jp-ModalCommandPalette")  # Lab 4's palette is a modal
    search = palette.locator(".lm-CommandPalette-input")
    search.wait_for(timeout=10_000)
    search.fill("TAO")
    palette.locator(".lm-CommandPalette-itemLabel", has_text="Start the Shared TAO Devnet").wait_for(timeout=10_000)
    labels = palette.locator(".lm-CommandPalette-item .lm-CommandPalette-itemLabel").all_inner_texts()
    for label in ("Start the Shared TAO Devnet", "Stop the Shared TAO Devnet", "New TAO Lab Notebook",
                  "Open the TAO Lab Dashboard in Voila", "Show the TAO Lab Sidebar"):
        assert label in labels, labels
    artifacts.screenshot(page, "sidebar-palette")
    page.keyboard.press("Escape")

    page.keyboard.press("Control+Shift+L")  # a new launcher
    section = page.locator(".jp-Launcher-section", has=page.locator(".jp-Launcher-sectionTitle", has_text="TAO Lab"))
    section.wait_for(timeout=20_000)
    cards = section.locator(".jp-LauncherCard-label").all_inner_texts()
    assert sorted(cards) == ["Dashboard", "Lab Notebook"], cards  # short labels under the TAO Lab heading
    artifacts.screenshot(page, "sidebar-launcher")

    url = f"{lab.url}/lab/api/settings/tao-lab:plugin"
    headers = {"Authorization": f"token {lab.token}", "Content-Type": "application/json"}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as r:
        setting = json.loads(r.read())
    props = setting["schema"]["properties"]
    assert props["blockTime"]["default"] == 0.25 and props["port"]["default"] == 0 and "walletFolder" in props
    body = json.dumps({"raw": json.dumps({"blockTime": 0.5})}).encode()
    urllib.request.urlopen(urllib.request.Request(url, data=body, method="PUT", headers=headers), timeout=30).close()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as r:
            assert json.loads(r.read())["settings"]["blockTime"] == 0.5
    finally:
        body = json.dumps({"raw": "{}"}).encode()
        urllib.request.urlopen(urllib.request.Request(url, data=body, method="PUT", headers=headers), timeout=30).close()
