"""A subnet written against bittensor 10 in the style of the public subnet template runs on the devnet (issue 12).

``subnet_template/`` holds the subnet: a synapse (`AddOne`), a miner (``bt.Axon`` with forward, blacklist and
priority, served on chain) and a validator (metagraph sync, ``bt.Dendrite`` queries, a moving average of scores,
``Subtensor.set_weights``), plain bittensor 10 code. Here the kit sets up a subnet on a devnet with 0.25 s blocks and
a 10-block tempo (2.5 s epochs), a validator with stake and two miners, one answering right and one wrong; then the
neurons run as processes of the bittensor 10 environment for a few tempos. What they did is read back from storage:
the validator's weights are on the right miner only, that miner earns incentive and emission, the wrong one earns
nothing, and the stored epoch outputs equal `tao_lab.consensus.epoch` computed here on the inputs read from the
block before the epoch. A hotkey not registered on the subnet is refused by the miner's blacklist (HTTP 403).

Offline, ``bt.Dendrite()`` cannot start: it looks up the machine's public IP (``networking.get_external_ip``, no
setting turns that off) and raises ``ExternalIPNotFound`` when every lookup fails. The neurons' ``PATH`` therefore
starts with a ``curl`` that answers ``curl -s ifconfig.me`` (one of those lookups) with 127.0.0.1; everything else
goes to the real curl. The bittensor code itself is unchanged.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import time
import warnings
from pathlib import Path

import pytest
from _support import chain_item as q
from _support import expected_epoch
from substrateinterface import Keypair

from tao_lab.client.subtensor import Subtensor
from tao_lab.client.wallet import Wallet

from .conftest import client_env, client_venv, ss58

pytestmark = pytest.mark.clients

TEMPLATE = Path(__file__).parent / "subnet_template"
ST = "SubtensorModule"
TAO = 10**9
TEMPO = 10  # blocks between epochs: 2.5 s at the devnet's 0.25 s blocks
EPOCHS_AFTER_WEIGHTS = 3  # epochs that must run once the validator's weights are on chain
DEADLINE_S = 90

# wallet name -> (coldkey URI, hotkey URI)
KEYS = {
    "owner": ("//Bob", "//Bob//owner"),
    "validator": ("//Charlie", "//Charlie//validator"),
    "honest": ("//Dave", "//Dave//miner"),
    "wrong": ("//Eve", "//Eve//miner"),
    "stranger": ("//Ferdie", "//Ferdie//stranger"),  # never registered on the subnet
}

CURL_SHIM = """#!/bin/sh
# bittensor's Dendrite asks for this machine's public IP; offline, answer `curl -s ifconfig.me` with loopback.
case "$*" in *ifconfig.me*) printf 127.0.0.1; exit 0 ;; esac
exec {curl} "$@"
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setup_subnet(st: Subtensor) -> int:
    """Bob's subnet with a short tempo, plain set_weights, the validator staked and both miners registered."""
    owner = Keypair.create_from_uri(KEYS["owner"][0])
    netuid = st.register_subnet(owner, hotkey=ss58(KEYS["owner"][1]))
    sudo = Keypair.create_from_uri("//Alice")
    for name, value in (("tempo", TEMPO), ("commit_reveal_weights_enabled", False), ("weights_set_rate_limit", 2),
                        ("min_allowed_weights", 1)):
        st.set_hyperparameter(sudo, netuid, name, value)
    for name in ("validator", "honest", "wrong"):
        cold, hot = KEYS[name]
        st.burned_register(Keypair.create_from_uri(cold), netuid, hotkey=ss58(hot))
    st.add_stake(Keypair.create_from_uri(KEYS["validator"][0]), netuid, 1000 * TAO, hotkey=ss58(KEYS["validator"][1]))
    return netuid


def write_wallets(path: Path) -> None:
    """bittensor-wallet files (unencrypted dev keys) for every name in KEYS."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "stored unencrypted": these are public dev keys
        for name, (cold, hot) in KEYS.items():
            wallet = Wallet(name, path=path).regenerate_coldkey(uri=cold, overwrite=True)
            wallet.regenerate_hotkey(uri=hot, overwrite=True)


class Neurons:
    """The neuron processes of one test: started with logs to files, stopped (SIGTERM, then SIGKILL) in `stop`."""

    def __init__(self, tmp: Path, url: str, netuid: int):
        self.tmp, self.python = tmp, client_venv("bittensor10") / "bin" / "python"
        self.common = ["--subtensor.network", url, "--netuid", str(netuid), "--wallet.path", str(tmp / "wallets")]
        shim = tmp / "bin"
        shim.mkdir()
        (shim / "curl").write_text(CURL_SHIM.format(curl=shutil.which("curl") or "false"))
        (shim / "curl").chmod(0o755)
        self.env = client_env(tmp)
        self.env.update(PATH=f"{shim}:{self.env.get('PATH', '/usr/bin:/bin')}", PYTHONDONTWRITEBYTECODE="1")
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, script: str, *args: str) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "w")
        self.procs[name] = subprocess.Popen([str(self.python), str(TEMPLATE / script), *self.common, *args],
                                            stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=self.tmp,
                                            start_new_session=True)
        log.close()
        return self.procs[name]

    def check_alive(self, *names: str) -> None:
        for name in names:
            if self.procs[name].poll() is not None:
                raise AssertionError(f"{name} exited with {self.procs[name].returncode}")

    def stop(self) -> dict[str, int]:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes = {}
        for name, proc in self.procs.items():
            try:
                codes[name] = proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                codes[name] = proc.wait()
        return codes

    def logs(self, chars: int = 3000) -> str:
        out = []
        for name in self.procs:
            log = self.tmp / f"{name}.log"
            text = log.read_text(errors="replace") if log.exists() else "(no log)"
            out.append(f"----- {name}.log (last {chars} chars) -----\n{text[-chars:]}")
        return "\n".join(out)


def wait_for(condition, neurons: Neurons, started: float, what: str) -> None:
    while not condition():
        neurons.check_alive("honest", "wrong", "validator")
        if time.monotonic() - started > DEADLINE_S:
            raise AssertionError(f"timed out after {DEADLINE_S} s waiting until {what}")
        time.sleep(0.25)


def test_template_subnet_miner_earns_incentive_on_the_devnet(devnet, substrate, tmp_path):
    si = substrate
    t0 = time.monotonic()
    with Subtensor(devnet.url) as st:
        netuid = setup_subnet(st)
    write_wallets(tmp_path / "wallets")
    uid = {name: q(si, "Uids", netuid, ss58(hot)) for name, (_, hot) in KEYS.items()}
    neurons = Neurons(tmp_path, devnet.public_url, netuid)
    started = time.monotonic()
    try:
        neurons.start("honest", "miner.py", "--wallet.name", "honest", "--axon.port", str(free_port()),
                      "--axon.external_ip", "127.0.0.1", "--logging.info")
        neurons.start("wrong", "miner.py", "--wallet.name", "wrong", "--axon.port", str(free_port()),
                      "--axon.external_ip", "127.0.0.1", "--miner.off_by", "7", "--logging.info")
        neurons.start("validator", "validator.py", "--wallet.name", "validator", "--neuron.step_seconds", "0.5",
                      "--logging.info")

        # Wait for the miners' axons on chain, then knock on the honest one's door with an unregistered hotkey.
        def serving(name):
            return q(si, "Axons", netuid, ss58(KEYS[name][1])) is not None

        wait_for(lambda: serving("honest") and serving("wrong"), neurons, started, "both miners serve their axon")
        stranger = neurons.start("stranger", "query.py", "--wallet.name", "stranger", "--uid", str(uid["honest"]))

        # Run until the validator's weights are on chain and EPOCHS_AFTER_WEIGHTS epochs ran on them.
        first = {}

        def enough_epochs():
            row = q(si, "Weights", netuid, uid["validator"])
            if row and "block" not in first:
                first["block"] = si.get_block_number(None)
            last = q(si, "LastMechansimStepBlock", netuid)
            return "block" in first and (last - first["block"]) >= EPOCHS_AFTER_WEIGHTS * TEMPO

        wait_for(enough_epochs, neurons, started, f"{EPOCHS_AFTER_WEIGHTS} epochs on the validator's weights")
        epoch_block = q(si, "LastMechansimStepBlock", netuid)
        stranger.wait(timeout=30)
        ran_s = time.monotonic() - started
        codes = neurons.stop()

        after = si.get_block_hash(epoch_block)
        weights = q(si, "Weights", netuid, uid["validator"], at=after)
        incentive = q(si, "Incentive", netuid, at=after)
        emission = q(si, "Emission", netuid, at=after)
        expected = expected_epoch(si, netuid, epoch_block)
        reply = json.loads((tmp_path / "stranger.log").read_text().strip().splitlines()[-1])

        # The validator scored the right miner 1 and the wrong one 0, and set weights on the right one only.
        assert weights == [(uid["honest"], 65535)]
        # The right miner earns incentive and emission; the wrong one earns nothing.
        assert incentive[uid["honest"]] > 0 and emission[uid["honest"]] > 0
        assert incentive[uid["wrong"]] == 0 and emission[uid["wrong"]] == 0
        assert q(si, "TotalHotkeyAlpha", ss58(KEYS["honest"][1]), netuid, at=after) > 0  # paid to its stake
        # What the devnet stored is Yuma consensus computed here on the inputs of that epoch.
        assert incentive == expected.incentive_u16.tolist()
        assert emission == expected.emission.tolist()
        assert q(si, "Dividends", netuid, at=after) == expected.dividends_u16.tolist()
        assert q(si, "Consensus", netuid, at=after) == expected.consensus_u16.tolist()
        # The miner's blacklist refused a hotkey that is not on the subnet, before its forward ran.
        assert reply["status_code"] == 403 and reply["answer"] is None
        assert "Unrecognized hotkey" in reply["status_message"], reply
        # SIGTERM stops every neuron cleanly.
        assert codes == {"honest": 0, "wrong": 0, "validator": 0, "stranger": 0}, codes
        print(f"set-up {started - t0:.1f} s, neurons ran {ran_s:.1f} s; epoch at block {epoch_block}: "
              f"incentive {incentive}, emission {emission}")
    except Exception as exc:
        neurons.stop()
        raise AssertionError(f"{type(exc).__name__}: {exc}\n\n{neurons.logs()}") from exc
    finally:
        neurons.stop()

