"""The supervisor on a real devnet, on CPU: neurons as processes and threads, crashes, restarts, cleanup.

Two tiny miners and a validator run as subprocesses, register and serve on subnet 1, and the
validator steps against them; a miner pointed at a missing model folder crashes without touching
the supervisor; stopping, garbage collection, interpreter exit and a killed parent all leave no
process and no bound port behind.
"""

import gc
import os
import socket
import subprocess
import sys
import textwrap

import pytest
from _support import gone, wait_for

from tao_lab import Devnet, Metagraph, Subtensor, Wallet
from tao_lab.errors import InputError
from tao_lab.neurons.supervisor import NeuronCrashed, Supervisor, SupervisorError

TAO = 10**9
VALIDATOR = ("//Dave", "//Dave//supervised")




def port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT leftovers are not a listener
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture(scope="module")
def chain():
    with Devnet(instant=True) as dev, Subtensor(dev) as sub:
        sub.set_hyperparameter(Wallet.dev("//Alice"), 1, "tempo", 5)
        vw = Wallet.dev(*VALIDATOR)
        sub.burned_register(vw, 1)
        sub.add_stake(vw, 1, 1000 * TAO)
        sub.next_epoch(1)  # the validator's permit
        yield sub, vw


def test_processes_register_serve_step_crash_restart_and_stop(chain, tmp_path):
    sub, vw = chain
    sup = Supervisor(sub)
    for i in range(2):
        sup.miner(f"m{i}", Wallet.dev("//Charlie", hotkey_uri=f"//Charlie//sup{i}"), 1, seed=i, interval=0.2)
    sup.miner("bad", ("//Charlie", "//Charlie//bad"), 1, model=str(tmp_path / "no-such-model"))
    sup.validator("v", vw, 1, k=2, batch_size=2, interval=0.2)
    sup.miner("m0", Wallet.dev("//Charlie", hotkey_uri="//Charlie//sup0"), 1, seed=0, interval=0.2)  # a re-run cell
    assert sup.status()["state"].tolist() == ["declared"] * 4

    with pytest.warns(NeuronCrashed, match="ModelNotFound"):  # shown once, with its traceback
        rows = sup.start().wait(timeout=45).set_index("name")
    assert rows.loc[["m0", "m1", "v"], "state"].tolist() == ["running"] * 3
    assert rows.loc[["m0", "m1", "v"], "alive"].all()
    assert (rows["device"] == "cpu").all() and (rows["mode"] == "process").all()

    # Registered and serving on chain, at the ports the children report.
    mg = Metagraph(1).sync(sub)
    for i in range(2):
        uid, port = int(rows.loc[f"m{i}", "uid"]), int(rows.loc[f"m{i}", "port"])
        assert mg.hotkeys[uid] == Wallet.dev("//Charlie", hotkey_uri=f"//Charlie//sup{i}").hotkey_ss58
        assert mg.axons[uid].is_serving and mg.axons[uid].port == port
    assert int(rows.loc["v", "uid"]) == mg.hotkeys.index(vw.hotkey_ss58)

    # The validator steps and the miners answer it.
    assert wait_for(lambda: (sup.status().set_index("name").loc[["m0", "m1", "v"], "steps"] > 0).all(), 30), \
        sup.status()

    # The crash: shown with its traceback, the supervisor unharmed.
    bad = sup.status("bad")
    assert bad["state"] == "crashed" and bad["exitcode"] == 1 and not bad["alive"]
    assert bad["error"].startswith("ModelNotFound")
    assert "Traceback (most recent call last)" in sup.error("bad") and "no-such-model" in sup.logs("bad")
    assert sup.error("m0") is None

    # Restart: a new process that steps again.
    old_pid = sup.status("v")["pid"]
    sup.restart("v").wait("v", timeout=20)
    v = sup.status("v")
    assert v["pid"] != old_pid and v["restarts"] == 1 and gone(old_pid)
    assert wait_for(lambda: sup.status("v")["steps"] > 0, 20)
    assert sup.logs("v").count("start validator v") == 2

    # Stop: no process, no listening port.
    pids = [r["pid"] for r in (sup.status(n) for n in ("m0", "m1", "v"))]
    ports = [int(rows.loc[n, "port"]) for n in ("m0", "m1")]
    sup.stop()
    after = sup.status()
    assert not after["alive"].any()
    assert after.set_index("name").loc[["m0", "m1", "v"], "state"].tolist() == ["stopped"] * 3
    assert all(gone(pid) for pid in pids) and all(port_free(port) for port in ports)
    log_dir = sup.log_dir
    sup.close()
    assert not log_dir.exists()


def test_thread_mode_serves_steps_and_keeps_a_crash(chain, tmp_path):
    sub, vw = chain
    with Supervisor(sub, log_dir=tmp_path) as sup:
        sup.miner("t0", Wallet.dev("//Charlie", hotkey_uri="//Charlie//thread0"), 1, mode="thread", seed=3)
        sup.miner("tbad", ("//Charlie", "//Charlie//thread-bad"), 1, mode="thread", model=str(tmp_path / "nothing"))
        sup.validator("tv", vw, 1, mode="thread", k=1, batch_size=2, interval=0.2)
        with pytest.warns(NeuronCrashed, match="ModelNotFound"):
            rows = sup.start().wait(timeout=30).set_index("name")
        assert rows.loc[["t0", "tv"], "state"].tolist() == ["running", "running"]
        assert (rows["pid"] == os.getpid()).all()
        assert wait_for(lambda: (sup.status().set_index("name").loc[["t0", "tv"], "steps"] > 0).all(), 20)
        assert sup.status("tbad")["state"] == "crashed" and "ModelNotFound" in sup.error("tbad")
        port = int(sup.status("t0")["port"])
        sup.stop()
        assert not sup.status()["alive"].any() and port_free(port)


def test_a_collected_supervisor_kills_its_children(chain):
    sub, _ = chain
    sup = Supervisor(sub.url)
    sup.validator("gc", VALIDATOR, 1, interval=0.5).start().wait(timeout=20)
    pid, log_dir = sup.status("gc")["pid"], sup.log_dir
    assert not gone(pid)
    del sup
    gc.collect()
    assert gone(pid) and not log_dir.exists()


PARENT = textwrap.dedent("""
    import os, sys
    from tao_lab.neurons.supervisor import Supervisor
    sup = Supervisor(sys.argv[1])
    sup.validator("orphan", ("//Dave", "//Dave//supervised"), 1, interval=0.5).start().wait(timeout=20)
    print(sup.status("orphan")["pid"], flush=True)
    if sys.argv[2] == "killed":
        os._exit(0)  # like a killed kernel: no atexit, no finalizers
""")


@pytest.mark.parametrize("end", ["exits", "killed"])
def test_no_child_outlives_its_parent(chain, end):
    sub, _ = chain
    parent = subprocess.run([sys.executable, "-c", PARENT, sub.url, end], capture_output=True, text=True, timeout=60,
                            check=False)
    assert parent.returncode == 0, parent.stderr
    pid = int(parent.stdout.split()[-1])
    assert wait_for(lambda: gone(pid), 10), f"neuron {pid} outlived its parent ({end})"


def test_declarations_are_checked(chain):
    sub, vw = chain
    with Supervisor(sub) as sup:
        with pytest.raises(InputError, match="model"):
            sup.miner("m", vw, 1, model=lambda tokens: tokens)  # a function needs thread mode
        with pytest.raises(InputError, match="cuda"):
            sup.miner("m", vw, 1, device="cuda:7")
        with pytest.raises(InputError, match="k"):
            sup.miner("m", vw, 1, k=3)  # a validator's argument
        with pytest.raises(SupervisorError, match="no neuron named"):
            sup.start("nobody")
