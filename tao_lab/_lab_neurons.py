"""The neurons of a `tao_lab.Lab`: declaring groups of miners and validators (idempotently, so a
re-run cell changes nothing), funding and registering their wallets, and reading them back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import InputError

TAO = 10**9
ST = "SubtensorModule"
#: TAO a neuron's coldkey is given from the lab's funder before it registers (plus its stake)
NEURON_FUNDS_TAO = 1_000


@dataclass
class _Member:
    """A neuron the lab declared: its role, wallet and uid on the subnet."""

    name: str
    role: str
    group: str
    wallet: Any
    netuid: int
    uid: int | None = None
    stake_tao: float = 0.0


def _per_neuron(n: int, name: str, value):
    """``value`` for each of ``n`` neurons: a list or tuple gives one each, anything else is shared."""
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise InputError(name, f"a list gives one value per neuron: expected {n} values, got {len(value)}")
        return list(value)
    return [value] * n


class LabNeurons:
    """`Lab`'s neuron methods (a mixin: the state lives in `Lab`)."""

    # ------------------------------------------------------------------ neurons

    def add_miners(self, n: int = 1, *, model="tiny", pretrain=0, train=0, device=None, group: str = "miner",
                   mode: str | None = None, start: bool = True, **miner_kwargs) -> list[int]:
        """Make sure the miners ``{group}0 .. {group}{n-1}`` exist, registered and serving; returns their uids.

        Args:
            n: how many miners the group has (re-running with the same ``n`` adds none).
            model: ``"tiny"`` (a fresh tiny byte-level Llama), a local Hugging Face folder, or in
                thread mode an ``nn.Module`` or a function; a list gives one per miner.
            pretrain: training steps before serving (a list gives one per miner: a mix of trained
                and untrained miners shows Yuma paying for quality).
            train: training steps after each answered request (training while serving).
            device: None (the next GPU round-robin, CPU without one), ``"cpu"``, ``"cuda:1"``, ...
            mode: ``"thread"`` or ``"process"`` (default: the lab's mode).
            miner_kwargs: passed on to `tao_lab.neurons.miner.Miner` (``seed``, ``lr``, ``task``);
                any of them may be a list with one value per miner.
        """
        per = {"model": model, "pretrain": pretrain, "train_steps": train, "device": device, **miner_kwargs}
        return self._add("miner", n, group, mode, start, per)

    def add_validators(self, n: int = 1, *, stake: float = 1_000, group: str = "validator", mode: str | None = None,
                       start: bool = True, interval: float = 0.5, **validator_kwargs) -> list[int]:
        """Make sure the validators ``{group}0 .. {group}{n-1}`` exist, staked and stepping; returns their uids.

        ``stake`` is in TAO (a list gives one per validator). On the devnet the lab then runs the
        subnet's next epoch at once, so the validators hold permits when they first set weights.
        ``validator_kwargs`` go to `tao_lab.neurons.validator.Validator` (``k``, ``batch_size``,
        ``timeout``, ``weights_interval``, ``explore``, ``seed``, ``task``).
        """
        per = {"stake": stake, "interval": interval, **validator_kwargs}
        return self._add("validator", n, group, mode, start, per)

    def _add(self, role: str, n: int, group: str, mode: str | None, start: bool, per: dict) -> list[int]:
        from .client.wallet import Wallet
        from .neurons.supervisor import SupervisorError

        self._check_open()
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= 256:
            raise InputError("n", f"expected a number of {role}s between 0 and 256, got {n!r}")
        if not group.replace("_", "").replace("-", "").isalnum():
            raise InputError("group", f"a group name is letters, digits, '-' or '_', got {group!r}")
        mode = mode or self.mode
        if mode not in ("thread", "process"):
            raise InputError("mode", f"expected 'thread' or 'process', got {mode!r}")
        netuid = self._require_subnet()
        coldkeys = _per_neuron(n, "coldkey", per.pop("coldkey", None))
        values = {key: _per_neuron(n, key, value) for key, value in per.items()}
        names = [f"{group}{i}" for i in range(n)]
        if "behaviour" in values:
            values["behaviour"] = [self._resolve_behaviour(b, role) for b in values["behaviour"]]
        new_stake = False
        with self._lock, self._instant_blocks():
            for i, name in enumerate(names):
                other = self._members.get(name)
                if other is not None and other.role != role:
                    raise InputError("group", f"{name!r} is already a {other.role}; choose another group name")
                cold = coldkeys[i] or name  # a shared coldkey: a sybil group, many hotkeys of one owner
                wallet = Wallet.dev(f"//tao-lab//{cold}", hotkey_uri=f"//tao-lab//{cold}//{name}//hotkey"
                                    if coldkeys[i] else f"//tao-lab//{name}//hotkey")
                member = other or _Member(name, role, group, wallet, netuid)
                stake_tao = float(values["stake"][i]) if role == "validator" else 0.0
                member.uid = self._register(wallet, netuid, stake_tao)
                if role == "validator" and stake_tao > member.stake_tao:
                    new_stake = True
                member.stake_tao = max(member.stake_tao, stake_tao)
                self._members[name] = member
                kwargs = {k: v[i] for k, v in values.items() if k != "stake" and v[i] is not None}
                if role == "miner":
                    kwargs.setdefault("seed", i)
                    kwargs["register"] = False  # the lab registered it
                    if not kwargs.get("pretrain"):
                        kwargs.pop("pretrain", None)
                    if not kwargs.get("train_steps"):
                        kwargs.pop("train_steps", None)
                else:
                    kwargs.setdefault("seed", i)
                declare = self.supervisor.miner if role == "miner" else self.supervisor.validator
                try:
                    declare(name, wallet, netuid, mode=mode, **kwargs)
                except SupervisorError:  # running with another spec: the cell was edited, replace it
                    self.supervisor.stop(name)
                    declare(name, wallet, netuid, mode=mode, **kwargs)
            if new_stake and self.is_devnet:
                self.subtensor.next_epoch(netuid)  # permits now, not a tempo from now
        if start:
            for name in names:
                self.supervisor.start(name)
        self._publish_soon()
        return [self._members[name].uid for name in names]

    def _resolve_behaviour(self, behaviour, role: str):
        """A `tao_lab.scenarios` behaviour with the lab's neuron names replaced by their hotkeys."""
        if behaviour is None:
            return None
        from .scenarios import NEURON_REFERENCES, behaviour_spec

        spec = behaviour_spec(behaviour, role)

        def hotkey(ref):
            member = self._members.get(ref) if isinstance(ref, str) else None
            return member.wallet.hotkey_ss58 if member is not None else ref

        for key in NEURON_REFERENCES:
            if key in spec:
                spec[key] = [hotkey(r) for r in spec[key]] if isinstance(spec[key], list) else hotkey(spec[key])
        return spec

    def _register(self, wallet, netuid: int, stake_tao: float) -> int:
        """Fund the wallet's coldkey if needed, register its hotkey, top its stake up to ``stake_tao``."""
        sub = self.subtensor
        uid = sub.uid(netuid, wallet)
        stake_rao = sub.stake(wallet, netuid) if uid is not None else 0
        missing = max(0, int(stake_tao * TAO) - stake_rao)
        need = (0 if uid is not None else sub.query(ST, "Burn", [netuid])) + missing + TAO
        if sub.balance(wallet) < need:
            sub.transfer(self.funder, wallet.coldkey_ss58, need + NEURON_FUNDS_TAO * TAO)
        if uid is None:
            uid = sub.burned_register(wallet, netuid)
        if missing:
            sub.add_stake(wallet, netuid, missing)
        return uid

    def _instant_blocks(self):
        """A context in which the devnet makes a block per transaction (set-up in milliseconds, not blocks).

        Afterwards the clock is as it was: ticking every ``block_time``, or stopped when paused.
        """
        lab = self

        class _Instant:
            def __enter__(self):
                self.on = lab.devnet is not None
                if self.on:
                    lab._rpc("dev_setBlockMode", ["instant"])

            def __exit__(self, *exc):
                if self.on and not lab.closed:
                    lab._rpc("dev_setBlockMode", ["manual"] if lab._paused else ["interval", lab.block_time])

        return _Instant()

    def remove(self, name: str) -> None:
        """Stop a neuron (it stays registered on chain, as a miner that went offline does)."""
        self.supervisor.stop(name)
        self._publish_soon()

    @property
    def miners(self) -> list[str]:
        return [m.name for m in self._members.values() if m.role == "miner"]

    @property
    def validators(self) -> list[str]:
        return [m.name for m in self._members.values() if m.role == "validator"]

    def uid(self, name: str) -> int | None:
        """The uid of the lab's neuron ``name``."""
        try:
            return self._members[name].uid
        except KeyError:
            raise InputError("name", f"no neuron named {name!r}; the lab has {sorted(self._members)}") from None

    def neurons(self):
        """One row per neuron the lab runs: name, role, uid, state, device, stake, incentive, emission."""
        import pandas as pd

        status = self.supervisor.status()
        if not len(status):
            return pd.DataFrame(columns=["name", "role", "uid", "state", "device", "S", "I", "D", "E", "error"])
        mg = self.metagraph()
        uids = [self._members[n].uid if n in self._members else None for n in status["name"]]
        status["uid"] = pd.array(uids, dtype="Int64")

        def pick(array):
            return [float(array[u]) if u is not None and u < mg.n else None for u in uids]

        status["S"], status["I"], status["D"], status["E"] = pick(mg.S), pick(mg.I), pick(mg.D), pick(mg.E)
        return status[["name", "role", "uid", "state", "device", "S", "I", "D", "E", "steps", "error"]]

    def balances(self, mg=None, limit: int = 12) -> dict[str, float]:
        """Free balances (TAO) of the coldkeys that own the subnet's uids, largest first, at most ``limit``.

        Keys are readable labels: a coldkey of the lab's own neurons is named after them (``"miner0"``,
        or the group when several share it), any other by its short SS58 address. ``mg``: a metagraph
        already read (default: the head's).
        """
        mg = mg if mg is not None else self.metagraph()
        with self._lock:
            free = mg.coldkey_balances(self.subtensor)
        names: dict[str, list[str]] = {}
        for member in self._members.values():
            names.setdefault(member.wallet.coldkey_ss58, []).append(member.name)

        def label(coldkey: str) -> str:
            own = names.get(coldkey)
            if not own:
                return f"{coldkey[:6]}…{coldkey[-4:]}"
            groups = sorted({self._members[n].group for n in own})
            return own[0] if len(own) == 1 else ("+".join(groups) + f" ({len(own)})")

        largest = sorted(free.items(), key=lambda kv: -kv[1])[:max(0, int(limit))]
        return {label(ck): tao for ck, tao in largest}

    @property
    def events(self):
        """Every validator's events (route, response, timeout, score, weights): a live `EventLog`."""
        return self.supervisor.events

    def logs(self, name: str, tail: int = 50) -> str:
        """The last ``tail`` lines of a neuron's log."""
        return self.supervisor.logs(name, tail)

    def wait(self, timeout: float = 120.0):
        """Block until every neuron is running (or has crashed); returns the neurons table."""
        self.supervisor.wait(timeout=timeout)
        return self.neurons()
