"""`Lab`: one object that sets up a whole network in a notebook, and lets you watch it.

    lab = Lab()                                   # the embedded devnet, dev wallets ready
    lab.subnet(tempo=20)                          # subnet 1 with lab-friendly hyperparameters
    lab.add_miners(4, pretrain=[0, 10, 40, 80])   # four tiny LMs, from untrained to trained
    lab.add_validators(1, stake=1_000)            # a validator with 1,000 TAO of stake
    lab.run(epochs=3)                             # blocks with a progress bar
    lab.dashboard()                               # live panels

The chain is the source of truth (registrations, stake, weights, emissions); the supervisor runs
the neurons (threads on a CPU-only machine, one process per GPU where there are GPUs); widgets only
read. Everything the lab starts stops with it: `close`, the end of a ``with`` block, garbage
collection, interpreter exit, and a killed kernel (the devnet and neuron processes watch their
parent).

Re-running a cell is safe: ``Lab()`` with the same arguments returns the lab already running in
this process, and ``add_miners(n)`` declares the miners ``miner0 .. miner{n-1}`` (a group), so a
second run changes nothing while ``add_miners(6)`` adds two.
"""

from __future__ import annotations

import os
import threading
import time
import weakref

from ._lab_neurons import NEURON_FUNDS_TAO, LabNeurons, _Member  # noqa: F401 (NEURON_FUNDS_TAO re-exported)
from ._lab_views import LabViews, _warm_up_widgets
from .errors import InputError, TaoLabError

__all__ = ["Lab", "LabError", "LAB_HYPERPARAMETERS"]

TAO = 10**9
ST = "SubtensorModule"

#: What `Lab.subnet` sets unless told otherwise: epochs every 20 blocks (5 s at 0.25 s blocks), and
#: weights that may change every other block, so a network shows its dynamics within a minute.
LAB_HYPERPARAMETERS = {"tempo": 20, "weights_set_rate_limit": 2}

_LABS: "weakref.WeakValueDictionary[tuple, Lab]" = weakref.WeakValueDictionary()
_LABS_LOCK = threading.Lock()


class LabError(TaoLabError):
    """A lab request that cannot be met (no subnet chosen yet, a chain without time control, ...)."""


def _shutdown(supervisor, devnet, connections, publishers) -> None:
    """Run by the lab's finalizer (close, collection, interpreter exit): stop neurons, then the chain."""
    try:
        for publisher in publishers:  # the registry entry goes first: the sidebar shows no dying lab
            publisher.close()
        supervisor.close()
    finally:
        for sub in connections:
            try:
                sub.close()
            except Exception:
                pass
        if devnet is not None:
            devnet.stop()


class Lab(LabNeurons, LabViews):
    """A network in a notebook: a chain, a subnet, miners, validators, and views of them.

    Args:
        url: a subtensor node to use (``ws://...``); None (default) starts the embedded devnet;
            ``"shared"`` uses the devnet this Jupyter server runs for all its notebooks (started
            from the TAO Lab sidebar; docs/server.md).
        data_dir: keep the devnet's chain in this folder, so it survives kernel restarts.
        block_time: seconds between devnet blocks (default 0.25).
        mode: how neurons run: ``"thread"`` (inside this process; the default without a GPU),
            ``"process"`` (one supervised process each, one GPU each round-robin; the default where
            CUDA GPUs exist) or ``"auto"``.
        funder: the wallet that funds the lab's neuron coldkeys and, on the devnet, owns subnets
            (default ``Wallet.dev("//Alice")``, funded and sudo on the devnet).
        log_dir: where neuron logs go (default: a temporary folder removed with the lab).
        reuse: return the lab already running in this process with the same arguments (default),
            so re-running the cell that made it starts nothing new.
    """

    def __new__(cls, url: str | None = None, *, data_dir=None, block_time: float = 0.25, mode: str = "auto",
                funder=None, log_dir=None, reuse: bool = True):
        shared = None
        if url == "shared":
            from .server.publish import resolve_shared

            shared = resolve_shared()
            url = shared["chain"]["url"]  # the key: a shared devnet started again is another chain
        key = (url, os.fspath(data_dir) if data_dir is not None else None, float(block_time), mode)
        if reuse:
            with _LABS_LOCK:
                lab = _LABS.get(key)
                if lab is not None and not lab.closed:
                    return lab
        lab = super().__new__(cls)
        lab._key = key
        lab._shared_entry = shared
        lab._initialised = False
        return lab

    def __init__(self, url: str | None = None, *, data_dir=None, block_time: float = 0.25, mode: str = "auto",
                 funder=None, log_dir=None, reuse: bool = True):
        if self._initialised:
            return
        from .client.subtensor import Subtensor
        from .client.wallet import Wallet
        from .neurons.supervisor import Supervisor

        if mode not in ("auto", "thread", "process"):
            raise InputError("mode", f"expected 'auto', 'thread' or 'process', got {mode!r}")
        _warm_up_widgets()
        if not (isinstance(block_time, (int, float)) and 0.01 <= block_time <= 3600):
            raise InputError("block_time", f"expected seconds between 0.01 and 3600, got {block_time!r}")
        self.block_time = float(block_time)
        self.mode = _auto_mode() if mode == "auto" else mode
        self.devnet = None
        self._shared = self._shared_entry is not None
        self._shared_devnet_pid = self._shared_entry["chain"].get("devnet_pid") if self._shared else None
        if self._shared:
            if data_dir is not None:
                raise InputError("data_dir", "the shared devnet keeps its own chain; data_dir is for Lab()'s own devnet")
            url = self._shared_entry["chain"]["url"]
        if url is None:
            from .node.devnet import Devnet

            # publish=False: the lab's registry entry names its devnet, a second entry would repeat it
            self.devnet = Devnet(block_time=self.block_time, data_dir=data_dir, publish=False).start()
            url = self.devnet.url
        elif data_dir is not None:
            raise InputError("data_dir", "data_dir keeps the embedded devnet's chain; a lab on a url uses that node's")
        self.url = url
        self.subtensor = Subtensor(url)
        self.funder = funder if funder is not None else Wallet.dev("//Alice")
        self.supervisor = Supervisor(url, log_dir=log_dir)
        self.netuid: int | None = None
        self._members: dict[str, _Member] = {}
        # One request at a time on self.subtensor: the kernel's cells, the dashboard's thread and the
        # history share it (a new connection costs seconds of metadata decoding; a request, 1 ms).
        self._lock = threading.RLock()
        self._connections: list = [self.subtensor]
        self._recorder = None
        self._recorded_epoch = 0
        self._paused = False
        self._publishers: list = []
        self._finalizer = weakref.finalize(self, _shutdown, self.supervisor, self.devnet, self._connections,
                                           self._publishers)
        self._initialised = True
        if reuse:
            with _LABS_LOCK:
                _LABS[self._key] = self
        from .server.publish import start_lab_publisher

        publisher = start_lab_publisher(self)  # in a Jupyter kernel: the TAO Lab sidebar lists this lab
        if publisher is not None:
            self._publishers.append(publisher)

    def _publish_soon(self) -> None:
        for publisher in self._publishers:
            publisher.poke()

    # ------------------------------------------------------------------ lifecycle

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def close(self) -> None:
        """Stop every neuron and, if the lab started it, the devnet (idempotent)."""
        self._finalizer()

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _check_open(self) -> None:
        if self.closed:
            raise LabError("this lab is closed; make a new one with Lab()")

    @property
    def is_devnet(self) -> bool:
        """Whether the chain has the devnet's time controls (the embedded devnet, or a devnet by URL)."""
        return self.subtensor._has_dev_methods()

    def connect(self):
        """A new `Subtensor` connection to the lab's chain, closed with the lab (one per thread)."""
        from .client.subtensor import Subtensor

        self._check_open()
        sub = Subtensor(self.url)
        self._connections.append(sub)
        return sub

    # ------------------------------------------------------------------ the subnet

    def subnet(self, netuid: int | None = None, *, owner=None, **hyperparameters) -> int:
        """Choose the subnet the lab works on, creating one if needed, and set its hyperparameters.

        With no ``netuid``: subnet 1 on the devnet (owned by //Alice), or a new subnet owned by
        ``owner`` (default: the funder) on another chain. ``hyperparameters`` are AdminUtils setter
        names (``tempo``, ``kappa``, ``weights_set_rate_limit``, ``bonds_moving_average``,
        ``yuma3_enabled``, ``commit_reveal_weights_enabled``, ...; see docs/devnet.md), in the
        chain's units; `LAB_HYPERPARAMETERS` fill in what is not given. Returns the netuid; calling
        it again with the same arguments changes nothing.
        """
        self._check_open()
        owner = owner if owner is not None else self.funder
        with self._lock:
            existing = self.subtensor.subnets()
            if netuid is None:
                netuid = 1 if (self.is_devnet and 1 in existing) else None
            if netuid is None:
                netuid = self.subtensor.register_subnet(owner)
            elif netuid not in existing:
                raise InputError("netuid", f"subnet {netuid} does not exist; subnets: {existing}. "
                                           "Call lab.subnet() to create one")
            self.netuid = int(netuid)
            wanted = {**LAB_HYPERPARAMETERS, **hyperparameters}
            current = self._hyperparameter_values(wanted)
            with self._instant_blocks():
                for name, value in wanted.items():
                    if current.get(name, object()) != value:
                        self.subtensor.set_hyperparameter(owner, self.netuid, name, value)
        return self.netuid

    def _hyperparameter_values(self, names) -> dict:
        """The current values of setter-named hyperparameters the chain stores under a known item."""
        from .client.subtensor import HYPERPARAMETERS

        items = {**HYPERPARAMETERS, "weights_set_rate_limit": "WeightsSetRateLimit",
                 "bonds_moving_average": "BondsMovingAverage", "yuma3_enabled": "Yuma3On",
                 "liquid_alpha_enabled": "LiquidAlphaOn", "activity_cutoff": "ActivityCutoff"}
        return {n: self.subtensor.query(ST, items[n], [self.netuid]) for n in names if n in items}

    def _require_subnet(self) -> int:
        if self.netuid is None:
            self.subnet()
        return self.netuid

    @property
    def hyperparameters(self) -> dict:
        """The subnet's hyperparameters by their usual names."""
        with self._lock:
            return self.subtensor.hyperparameters(self._require_subnet())

    def set(self, **hyperparameters) -> None:
        """Change hyperparameters of the lab's subnet (AdminUtils setter names, chain units)."""
        netuid = self._require_subnet()
        with self._lock, self._instant_blocks():
            for name, value in hyperparameters.items():
                self.subtensor.set_hyperparameter(self.funder, netuid, name, value)

    # ------------------------------------------------------------------ time

    def _rpc(self, method: str, params: list):
        with self._lock:
            return self.subtensor._guard(self.subtensor.substrate.rpc_request, method, params)["result"]

    def _require_devnet(self, what: str) -> None:
        if not self.is_devnet:
            raise LabError(f"{what} needs the devnet's time control; a real node makes blocks at its own pace")

    @property
    def block(self) -> int:
        """The head block number."""
        with self._lock:
            return self.subtensor.block()

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        """Stop the devnet's clock: no blocks, so no weights land and no epoch runs (neurons keep serving)."""
        self._require_devnet("pause")
        self._rpc("dev_setBlockMode", ["manual"])
        self._paused = True

    def resume(self) -> None:
        """Start the devnet's clock again at ``block_time``."""
        self._require_devnet("resume")
        self._rpc("dev_setBlockMode", ["interval", self.block_time])
        self._paused = False

    def set_block_time(self, seconds: float) -> None:
        """Seconds between devnet blocks from now on."""
        if not (isinstance(seconds, (int, float)) and 0.01 <= seconds <= 3600):
            raise InputError("seconds", f"expected seconds between 0.01 and 3600, got {seconds!r}")
        self._require_devnet("set_block_time")
        self.block_time = float(seconds)
        if not self._paused:
            self._rpc("dev_setBlockMode", ["interval", self.block_time])

    def advance(self, blocks: int = 1) -> int:
        """Make ``blocks`` blocks now (devnet); returns the head."""
        with self._lock:
            return self.subtensor.advance(blocks)

    def next_epoch(self) -> int:
        """Run the subnet's next epoch now (devnet), or wait for it (another chain); returns the head."""
        netuid = self._require_subnet()
        with self._lock:
            if self.is_devnet:
                return self.subtensor.next_epoch(netuid)
            return self.subtensor.wait_epoch(netuid)

    def start(self) -> Lab:
        """Run in the background: start every declared neuron and the devnet's clock. Returns self."""
        self._check_open()
        self.supervisor.start()
        if self._paused:
            self.resume()
        return self

    def stop(self) -> None:
        """Stop every neuron and the devnet's clock; the chain and its state stay (`start` goes on)."""
        self.supervisor.stop()
        if self.devnet is not None and not self.closed:
            self.pause()

    def run(self, epochs: int = 1, *, timeout: float | None = None, progress: bool = True):
        """Start the network and block until the subnet has run ``epochs`` more epochs.

        Shows a progress bar (tqdm's notebook bar in Jupyter, a text bar in a terminal). An
        interrupt (Ctrl-C, or Jupyter's stop button) ends the wait; the network keeps running.
        Returns the metagraph table after the last epoch.
        """
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise InputError("epochs", f"expected a number of epochs >= 1, got {epochs!r}")
        netuid = self._require_subnet()
        self.start()
        tempo = self.hyperparameters["tempo"]
        if timeout is None:
            timeout = 60.0 + 4 * epochs * (tempo + 1) * self.block_time
        bar = _progress_bar(epochs, f"subnet {netuid}", progress)

        def epoch_block():
            with self._lock:
                return self.subtensor.query(ST, "LastMechansimStepBlock", [netuid])

        try:
            last = epoch_block()
            done, deadline = 0, time.monotonic() + timeout
            while done < epochs:
                if time.monotonic() > deadline:
                    raise LabError(f"{epochs - done} of {epochs} epochs did not run within {timeout:g} s; "
                                   "is the chain making blocks? (lab.paused, lab.block_time)")
                time.sleep(min(0.1, self.block_time / 2))
                now = epoch_block()
                if now != last:
                    done, last = done + 1, now
                    bar.update(1)
                bar.set_postfix_str(f"block {self.block}", refresh=False)
        finally:
            bar.close()
        return self.metagraph().to_pandas()

    def snapshot(self) -> int:
        """Remember the chain as it is now (devnet); returns an id for `restore`."""
        self._require_devnet("snapshot")
        return self._rpc("dev_snapshot", [])

    def restore(self, snapshot_id: int) -> None:
        """Rewind the chain to a snapshot (devnet). Neurons stop while it rewinds; those registered
        after the snapshot are registered again, then all of them start again."""
        self._require_devnet("restore")
        running = [n for n in self._members if self.supervisor.status(n)["alive"]]
        self.supervisor.stop()
        self._rpc("dev_restore", [snapshot_id])
        with self._lock, self._instant_blocks():
            for m in self._members.values():
                m.uid = self._register(m.wallet, m.netuid, m.stake_tao)
        for name in running:
            self.supervisor.start(name)

    # ------------------------------------------------------------------ reading

    def metagraph(self, block: int | None = None):
        """The subnet's `Metagraph` at ``block`` (default: the head)."""
        from .client.metagraph import Metagraph

        netuid = self._require_subnet()
        with self._lock:
            return Metagraph(netuid).sync(self.subtensor, block=block)

    def history(self, epochs: int = 100):
        """The metagraph right after each of the subnet's last ``epochs`` epochs, as one tidy table
        (a `tao_lab.Recorder` history: one row per epoch and uid). Read back from the chain, so
        epochs that ran while nobody looked are there too; each call adds only what is new."""
        from .client.recorder import Recorder

        netuid = self._require_subnet()
        with self._lock:
            if self._recorder is None or self._recorder.netuid != netuid:
                self._recorder = Recorder(self.subtensor, netuid, every="epoch")
                self._recorded_epoch = 0
            sub = self._recorder.subtensor
            latest = sub.query(ST, "LastMechansimStepBlock", [netuid]) or 0
            if latest > self._recorded_epoch:
                new = self._epoch_blocks(sub, latest, after=self._recorded_epoch, limit=epochs)
                self._recorder.record_at(new)
                self._recorded_epoch = latest
            return self._recorder.history

    def _epoch_blocks(self, sub, latest: int, after: int, limit: int) -> list[int]:
        """Blocks in ``(after, latest]`` at which the subnet's epoch ran, the last ``limit`` of them.

        Walks back from ``latest``: the state just before an epoch's block says where the previous
        epoch ran, so each epoch costs one storage read, however many blocks lie between.
        """
        blocks = [latest]
        while len(blocks) < limit and blocks[-1] > 1:
            previous = sub.query(ST, "LastMechansimStepBlock", [self.netuid], block=blocks[-1] - 1) or 0
            if previous <= after or previous >= blocks[-1]:
                break
            blocks.append(previous)
        return sorted(blocks)

def _auto_mode() -> str:
    """``"process"`` where CUDA GPUs exist (one neuron per GPU), ``"thread"`` otherwise (fast to start)."""
    try:
        import torch

        return "process" if torch.cuda.device_count() > 0 else "thread"
    except Exception:
        return "thread"


def _progress_bar(total: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="epoch", disable=not enabled, leave=True)
