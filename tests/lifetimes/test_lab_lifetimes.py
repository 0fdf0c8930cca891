"""A Lab in a real kernel: re-running its cells starts nothing new; restarting, killing or
interrupting the kernel leaves no devnet or neuron behind (or, for an interrupt, leaves the lab
running and usable)."""

import textwrap

import pytest
from kernel_tools import Kernel, gone, wait_gone, wait_port_free

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

GONE_S = 5.0

CELLS = textwrap.dedent("""
    import urllib.parse
    from tao_lab import Lab
    lab = Lab(block_time=0.1, mode=MODE)
    lab.subnet(tempo=10)
    lab.add_miners(1)
    lab.add_validators(1, stake=100)
    rows = lab.supervisor.wait(timeout=90)
    assert (rows["state"] == "running").all(), rows
    pids = sorted({lab.devnet.pid, *[int(p) for p in rows["pid"]]})
    ports = [urllib.parse.urlsplit(lab.url).port] + [int(p) for p in rows["port"].dropna()]
""")


def start(kernel: Kernel, mode: str):
    kernel.run(f"MODE = {mode!r}\n{CELLS}", timeout=150)
    return kernel.value("pids"), kernel.value("ports")


def assert_gone(pids, ports, what):
    for pid in pids:
        assert wait_gone(pid, GONE_S), f"pid {pid} outlived the {what}"
    for port in ports:
        assert wait_port_free(port, GONE_S), f"port {port} still bound after the {what}"


def test_rerun_cells_then_restart_the_kernel(tmp_path):
    with Kernel(tmp_path) as kernel:
        pids, ports = start(kernel, "process")
        assert len(pids) == 3  # the devnet and two neuron processes
        again_pids, again_ports = start(kernel, "process")  # the same cells again
        assert (again_pids, again_ports) == (pids, ports)
        assert kernel.value("len(lab.supervisor.status())") == 2
        kernel.restart()
        assert_gone(pids, ports, "kernel restart")


def test_kill_the_kernel(tmp_path):
    with Kernel(tmp_path) as kernel:
        pids, ports = start(kernel, "thread")
        assert len(pids) == 2  # the devnet, and the kernel itself running the neurons' threads
        pids = [p for p in pids if p != kernel.pid]
        kernel.kill()
        assert_gone(pids, ports, "kill -9 of the kernel")


def test_interrupt_run_keeps_the_lab(tmp_path):
    with Kernel(tmp_path) as kernel:
        pids, _ = start(kernel, "thread")
        # run() shows tqdm's notebook bar in a kernel: a widget, updated to 1/1 through its comm
        reply = kernel.run("mg = lab.run(epochs=1)", timeout=60)
        kinds = [kind for kind, _ in reply["iopub"]]
        assert any(kind == "display_data" and "application/vnd.jupyter.widget-view+json" in content["data"]
                   for kind, content in reply["iopub"]), kinds
        texts = [str(content["data"].get("state", {}).get("value", "")) for kind, content in reply["iopub"]
                 if kind == "comm_msg"]
        assert any("1/1" in t for t in texts), texts[-5:]
        msg = kernel.start_cell("lab.run(epochs=1000, progress=False)")
        import time

        time.sleep(2)
        kernel.interrupt()
        reply = kernel.reply(msg, timeout=20)
        assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt", reply
        block = kernel.value("lab.block")
        assert kernel.value("lab.subtensor.wait_blocks(3, timeout=10)") >= block + 3  # still running
        assert not any(gone(p) for p in pids)
