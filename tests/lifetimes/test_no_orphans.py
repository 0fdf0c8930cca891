"""Nothing a notebook kernel or a script starts outlives it: devnet nodes, miners and validators.

Real kernels (ipykernel under jupyter_client) and real subprocesses start a `Devnet` and a
`Supervisor` with process-mode neurons, then end the way notebooks and scripts end: a kernel
restart (a shutdown request, then SIGKILL if slow), SIGKILL of the kernel, a script's Ctrl-C,
SIGTERM or plain end. Each time every pid must be gone and every port bindable within ~5 s. An
interrupt during a long blocking call reaches the cell and nothing else.
"""

import json
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from kernel_tools import Kernel, devnet_port, gone, wait_for, wait_gone, wait_port_free

from tao_lab import Devnet, Subtensor

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # jupyter_client / zmq on new Pythons

GONE_S = 5.0  # how long a process or a port may outlive what started it

# A devnet and a supervisor with one process-mode validator (unregistered: it steps, fails and
# backs off, which is all a lifetime test needs, and starts in a second), plus a tiny miner
# (registers and serves an axon port) when MINER is true.
SETUP = textwrap.dedent("""
    import urllib.parse
    from tao_lab import Devnet
    from tao_lab.neurons.supervisor import Supervisor
    dev = Devnet(instant=True).start()
    sup = Supervisor(dev)
    sup.validator("v", ("//Dave", "//Dave//lifetime"), 1, interval=0.2)
    if MINER:
        sup.miner("m", ("//Charlie", "//Charlie//lifetime"), 1, interval=0.2)
    rows = sup.start().wait(timeout=60)
    assert (rows["state"] == "running").all(), rows
    pids = [dev.pid] + [int(p) for p in rows["pid"]]
    ports = [urllib.parse.urlsplit(dev.url).port] + [int(p) for p in rows["port"].dropna()]
""")


def start_lab(kernel: Kernel, miner: bool) -> tuple[list[int], list[int]]:
    """Run SETUP in the kernel; the pids (devnet, neurons) and ports (devnet, miner) it started."""
    kernel.run(f"MINER = {miner}\n{SETUP}", timeout=90)
    pids, ports = kernel.value("pids"), kernel.value("ports")
    assert len(pids) == 2 + miner and len(ports) == 1 + miner
    assert not any(gone(pid) for pid in pids)
    return pids, ports


def assert_all_gone(pids, ports, what: str) -> None:
    t0 = time.monotonic()
    for pid in pids:
        assert wait_gone(pid, GONE_S - (time.monotonic() - t0)), f"pid {pid} outlived the {what}"
    for port in ports:
        assert wait_port_free(port, GONE_S - (time.monotonic() - t0)), f"port {port} still bound after the {what}"


def test_a_kernel_restart_stops_the_devnet_and_the_neurons(tmp_path):
    with Kernel(tmp_path) as kernel:
        pids, ports = start_lab(kernel, miner=False)  # the killed-kernel test below has the miner
        old = kernel.pid
        kernel.restart()  # shutdown request: interpreter exit runs the finalizers
        assert kernel.pid != old and kernel.value("1 + 1") == 2
        assert_all_gone(pids, ports, "kernel restart")


def test_a_killed_kernel_leaves_no_process_and_no_port(tmp_path):
    with Kernel(tmp_path) as kernel:
        pids, ports = start_lab(kernel, miner=True)
        kernel.kill()  # SIGKILL: no atexit, no finalizers; the children watch their parent
        assert_all_gone(pids, ports, "kernel's SIGKILL")


SCRIPT = SETUP + textwrap.dedent("""
    import faulthandler, json, signal, sys, time
    faulthandler.register(signal.SIGUSR1)  # the test asks for every thread's stack if an end hangs
    print(json.dumps({"pids": pids, "ports": ports}), flush=True)
    if sys.argv[1] != "ends":
        time.sleep(600)  # until the test signals us
""")


@pytest.mark.parametrize("end", ["SIGINT", "SIGTERM", "ends"])
def test_a_script_ended_by_ctrl_c_sigterm_or_its_end_leaves_nothing(end):
    # The script gets Ctrl-C's default action, as a terminal gives it: a test run started in the
    # background (`cmd &` in a script) hands SIGINT down ignored, and Python then never raises KeyboardInterrupt.
    script = subprocess.Popen([sys.executable, "-c", f"MINER = False\n{SCRIPT}", end], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        line = script.stdout.readline()
        assert line, script.stderr.read()
        started = json.loads(line)
        if end != "ends":
            script.send_signal(getattr(signal, end))
        try:
            script.wait(timeout=15)
        except subprocess.TimeoutExpired:
            script.send_signal(signal.SIGUSR1)  # where it hangs, for the report below
            time.sleep(1.0)
            raise
        assert_all_gone(started["pids"], started["ports"], f"script's {end}")
    except subprocess.TimeoutExpired:
        script.kill()
        pytest.fail(f"the script outlived its {end}; its stderr:\n{script.communicate()[1][-6000:]}")
    finally:
        if script.poll() is None:
            script.kill()
            script.wait()


def test_an_interrupt_stops_the_cell_and_leaves_the_kernel_and_devnet_running(tmp_path):
    with Kernel(tmp_path) as kernel:
        kernel.run("from tao_lab import Devnet, Subtensor\n"
                   "dev = Devnet(manual=True).start()\n"
                   "sub = Subtensor(dev)")
        url, kernel_pid = kernel.value("dev.url"), kernel.pid
        cell = kernel.start_cell("sub.wait_blocks(10**6)")  # manual mode: no block ever comes
        time.sleep(1.0)
        kernel.interrupt()
        reply = kernel.reply(cell, timeout=10)
        assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt"
        assert not gone(kernel_pid) and kernel.value("dev.running") is True
        assert kernel.value("sub.block()") == 0  # the kernel's own connection still works
        with Subtensor(url) as sub:  # and the node serves others
            assert sub.block() == 0
        kernel.run("dev.stop()")
        assert wait_port_free(devnet_port(url), GONE_S)


def test_a_collected_devnet_stops_its_node():
    dev = Devnet(instant=True).start()
    pid, port = dev.pid, devnet_port(dev.url)
    del dev  # no __del__: the finalizer holds the process, not the Devnet
    assert wait_for(lambda: gone(pid), GONE_S) and wait_port_free(port, GONE_S)


def test_the_node_stops_when_the_pid_it_watches_is_gone():
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    node = subprocess.Popen([sys.executable, "-m", "tao_lab.node", "--port", "0", "--quiet",
                             "--parent-pid", str(sleeper.pid)], stdout=subprocess.PIPE, text=True)
    try:
        port = devnet_port(node.stdout.readline().strip())  # watches a pid that is not its parent
        time.sleep(0.6)
        assert node.poll() is None
        sleeper.kill()
        sleeper.wait()
        node.wait(timeout=GONE_S)
        assert node.returncode == 0 and wait_port_free(port, GONE_S)
    finally:
        for proc in (sleeper, node):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
