"""Scenarios as data: who mines, who validates, how they behave, the subnet's hyperparameters, how
long it runs and the seed, so one run can be repeated, swept over a grid, or run from the CLI.

    from tao_lab.scenarios import Scenario, library

    result = library("copier", guard=True).run()          # a fresh devnet lab, closed afterwards
    result.table                                           # one row per neuron: group, behaviour, I, E, ...
    result.share("copier")                                 # the group's share of the miners' emission

A `Scenario` is plain data (``to_dict`` / ``from_dict`` round-trip through JSON), so a papermill
parameter, a CLI argument or a Dask task carries it as it is.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import InputError

__all__ = ["Scenario", "ScenarioResult", "LIBRARY", "library"]

#: keys of a neuron group besides what add_miners / add_validators take
_GROUP_KEYS = {"n", "group"}


def _check_groups(groups, role: str) -> list[dict]:
    if not isinstance(groups, (list, tuple)):
        raise InputError(f"{role}s", f"expected a list of {role} groups (dicts with 'n', 'group', ...), got {groups!r}")
    out, names = [], set()
    for i, g in enumerate(groups):
        if not isinstance(g, dict):
            raise InputError(f"{role}s", f"group {i} must be a dict like {{'n': 2, 'group': 'honest'}}, got {g!r}")
        g = dict(g)
        g.setdefault("n", 1)
        g.setdefault("group", role if i == 0 else f"{role}{i}")
        if isinstance(g["n"], bool) or not isinstance(g["n"], int) or g["n"] < 0:
            raise InputError(f"{role}s", f"group {g['group']!r}: 'n' must be a count >= 0, got {g['n']!r}")
        if g["group"] in names:
            raise InputError(f"{role}s", f"two {role} groups are named {g['group']!r}")
        names.add(g["group"])
        out.append(g)
    return out


@dataclass
class Scenario:
    """A reproducible network: groups of miners and validators, hyperparameters, epochs and a seed.

    Args:
        miners, validators: lists of groups; each group is the keyword arguments of
            `Lab.add_miners` / `Lab.add_validators` plus ``n`` and ``group``, e.g.
            ``{"n": 2, "group": "honest", "pretrain": 60}`` or
            ``{"n": 1, "group": "copier", "behaviour": {"kind": "copier", "target": "honest0"}}``.
        hyperparameters: passed to ``lab.subnet(**hyperparameters)`` (``tempo`` defaults to 10).
        epochs: epochs to run after every neuron serves.
        seed: the seed of every neuron's model, data and routing (group i, neuron j: a seed derived
            from it), so a scenario rebuilds the same models and draws. Block timing still varies
            between runs (threads and processes share the CPU), so numbers repeat closely, not bit
            for bit.
        block_time: seconds per block of the lab's devnet (0.25: a tempo-10 epoch lasts 2.75 s,
            about five validator steps, so the validators' moving averages keep up).
        name: a label carried into results.
    """

    miners: list = field(default_factory=lambda: [{"n": 2, "group": "miner", "pretrain": 40}])
    validators: list = field(default_factory=lambda: [{"n": 1, "group": "validator", "stake": 1_000}])
    hyperparameters: dict = field(default_factory=dict)
    epochs: int = 10
    seed: int = 0
    block_time: float = 0.25
    name: str = "scenario"

    def __post_init__(self):
        self.miners = _check_groups(self.miners, "miner")
        self.validators = _check_groups(self.validators, "validator")
        if not isinstance(self.hyperparameters, dict):
            raise InputError("hyperparameters", f"expected a dict, got {self.hyperparameters!r}")
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, int) or self.epochs < 1:
            raise InputError("epochs", f"expected a number of epochs >= 1, got {self.epochs!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise InputError("seed", f"expected an integer seed, got {self.seed!r}")
        groups = [g["group"] for g in self.miners + self.validators]
        dupes = sorted({g for g in groups if groups.count(g) > 1})
        if dupes:
            raise InputError("group", f"group names must differ between miners and validators: {dupes}")

    # ------------------------------------------------------------------ data

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Scenario:
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise InputError("scenario", f"unknown scenario fields {unknown}; known: {sorted(cls.__dataclass_fields__)}")
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Scenario:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError("scenario", f"not JSON: {exc}") from None
        return cls.from_dict(data)

    def replace(self, **changes) -> Scenario:
        """A copy with some fields changed (``hyperparameters`` merged, not replaced)."""
        data = self.to_dict()
        if "hyperparameters" in changes:
            changes["hyperparameters"] = {**data["hyperparameters"], **changes["hyperparameters"]}
        data.update(changes)
        return Scenario.from_dict(data)

    # ------------------------------------------------------------------ running

    def _seeded(self, group: dict, index: int) -> dict:
        kwargs = {k: v for k, v in group.items() if k not in _GROUP_KEYS}
        if "seed" not in kwargs:
            kwargs["seed"] = [self.seed * 10_000 + index * 100 + j for j in range(group["n"])]
        return kwargs

    def build(self, lab, timeout: float = 300.0) -> None:
        """Declare this scenario's subnet and neurons on ``lab`` and start them: the miners first,
        and the validators once every miner serves (a validator that starts early scores a miner
        still pretraining as a timeout, and its moving average carries that for many steps)."""
        hyper = {"tempo": 10, **self.hyperparameters}
        lab.subnet(**hyper)
        for i, g in enumerate(self.miners):
            lab.add_miners(g["n"], group=g["group"], **self._seeded(g, i))
        lab.wait(timeout=timeout)
        for i, g in enumerate(self.validators):
            lab.add_validators(g["n"], group=g["group"], **self._seeded(g, 100 + i))
        lab.wait(timeout=timeout)

    def run(self, lab=None, *, progress: bool = False, timeout: float = 300.0, report=None) -> ScenarioResult:
        """Run the scenario and return its `ScenarioResult`.

        Without ``lab`` a fresh devnet lab is made and closed afterwards; with one, the scenario's
        subnet and neurons are declared on it (re-running is safe) and it keeps running.
        ``report``: a path for `Lab.report` (one offline HTML file), written before the lab closes.
        """
        from ..lab import Lab

        own = lab is None
        lab = lab if lab is not None else Lab(block_time=self.block_time, reuse=False)
        try:
            self.build(lab, timeout=timeout)
            start = lab.metagraph().last_epoch_block
            lab.run(epochs=self.epochs, progress=progress)
            result = ScenarioResult.from_lab(self, lab, after_block=start)
            if report:
                lab.report(report)
            return result
        finally:
            if own:
                lab.close()


def _behaviour_kind(group: dict) -> str:
    b = group.get("behaviour")
    if b is None:
        return "honest"
    return b if isinstance(b, str) else str(b.get("kind"))


@dataclass
class ScenarioResult:
    """What a scenario's run earned: ``table`` has one row per neuron (name, group, role, behaviour,
    uid, S, I, D, E of the last epoch, and ``emission``: TAO earned over the run's epochs)."""

    scenario: Scenario
    table: Any  # pandas.DataFrame
    block: int

    @classmethod
    def from_lab(cls, scenario: Scenario, lab, after_block: int = 0) -> ScenarioResult:
        import pandas as pd

        history = lab.history()
        run = history[history["epoch_block"] > after_block] if len(history) else history
        per_epoch = run.drop_duplicates(["epoch_block", "uid"]) if len(run) else run
        earned = per_epoch.groupby("uid")["E"].sum() if len(per_epoch) else pd.Series(dtype=float)
        mg = lab.metagraph()
        rows = []
        groups = [(g, "miner") for g in scenario.miners] + [(g, "validator") for g in scenario.validators]
        for group, role in groups:
            for j in range(group["n"]):
                name = f"{group['group']}{j}"
                uid = lab.uid(name)
                ok = uid is not None and uid < mg.n
                rows.append({
                    "scenario": scenario.name, "seed": scenario.seed, "name": name, "group": group["group"],
                    "role": role, "behaviour": _behaviour_kind(group), "uid": uid,
                    "S": float(mg.S[uid]) if ok else 0.0, "I": float(mg.I[uid]) if ok else 0.0,
                    "D": float(mg.D[uid]) if ok else 0.0, "E": float(mg.E[uid]) if ok else 0.0,
                    "emission": float(earned.get(uid, 0.0)) if ok else 0.0,
                })
        table = pd.DataFrame(rows)
        miners = table["role"] == "miner"
        total = table.loc[miners, "emission"].sum()
        table["miner_share"] = (table["emission"] / total).where(miners, 0.0) if total > 0 else 0.0
        return cls(scenario, table, mg.block)

    def share(self, group: str) -> float:
        """The group's share (0..1) of everything the scenario's miners earned over the run."""
        rows = self.table[self.table["group"] == group]
        if not len(rows):
            raise InputError("group", f"no group {group!r}; groups: {sorted(self.table['group'].unique())}")
        return float(rows["miner_share"].sum())

    def earned(self, name: str) -> float:
        """TAO the neuron ``name`` earned over the run."""
        rows = self.table[self.table["name"] == name]
        if not len(rows):
            raise InputError("name", f"no neuron {name!r}; neurons: {list(self.table['name'])}")
        return float(rows["emission"].iloc[0])

    def _repr_html_(self) -> str:
        return (f"<b>{self.scenario.name}</b>, seed {self.scenario.seed}, at block {self.block}"
                + self.table.to_html(index=False, float_format=lambda x: f"{x:.4f}"))


# ---------------------------------------------------------------------------------------------- library

def _honest(n: int = 2, pretrain=60) -> dict:
    return {"n": n, "group": "honest", "pretrain": pretrain}


def _validators(guard: bool = False, n: int = 1, stake=1_000) -> dict:
    return {"n": n, "group": "validator", "stake": stake, "k": 8, "explore": 0.0, **({"dedupe": True} if guard else {})}


def library(name: str, **options) -> Scenario:
    """A named scenario from `LIBRARY` (options: see each entry's docstring), e.g. ``library("copier", guard=True)``."""
    if name not in LIBRARY:
        raise InputError("scenario", f"unknown scenario {name!r}; choose from {sorted(LIBRARY)}")
    return LIBRARY[name](**options)


def _noise(seed: int = 0, epochs: int = 8, **hyper) -> Scenario:
    """Two trained honest miners and one noise miner (random answers)."""
    return Scenario(miners=[_honest(), {"n": 1, "group": "noise", "behaviour": "noise"}], validators=[_validators()],
                    hyperparameters=hyper, epochs=epochs, seed=seed, name="noise")


def _lazy_miner(seed: int = 0, epochs: int = 8, **hyper) -> Scenario:
    """Two trained honest miners and one lazy miner (the same uniform answer to everything)."""
    return Scenario(miners=[_honest(), {"n": 1, "group": "lazy", "behaviour": "lazy"}], validators=[_validators()],
                    hyperparameters=hyper, epochs=epochs, seed=seed, name="lazy_miner")


def _copier(seed: int = 0, epochs: int = 8, guard: bool = False, copiers: int = 1, **hyper) -> Scenario:
    """Two trained honest miners; ``copiers`` miners relay honest0's answers. ``guard``: the
    validators run the copy guard (``dedupe=True``)."""
    copier = {"n": copiers, "group": "copier", "behaviour": {"kind": "copier", "target": "honest0"}}
    return Scenario(miners=[_honest(), copier] if copiers else [_honest()], validators=[_validators(guard)],
                    hyperparameters=hyper, epochs=epochs, seed=seed, name="copier" + ("_guarded" if guard else ""))


def _sybil(seed: int = 0, epochs: int = 8, sybils: int = 3, **hyper) -> Scenario:
    """One honest trained miner against a sybil group: ``sybils`` untrained hotkeys of one coldkey."""
    return Scenario(miners=[_honest(1), {"n": sybils, "group": "sybil", "coldkey": "sybil", "pretrain": 0}],
                    validators=[_validators()], hyperparameters=hyper, epochs=epochs, seed=seed, name="sybil")


def _flaky(seed: int = 0, epochs: int = 8, online: float = 0.5, **hyper) -> Scenario:
    """Two trained miners, one of which is offline half the time."""
    flaky = {"n": 1, "group": "flaky", "pretrain": 60, "behaviour": {"kind": "flaky", "online": online, "period_s": 4}}
    return Scenario(miners=[_honest(1), flaky], validators=[_validators()], hyperparameters=hyper, epochs=epochs,
                    seed=seed, name="flaky")


def _weight_copier(seed: int = 0, epochs: int = 8, commit_reveal: bool = False, **hyper) -> Scenario:
    """Two honest validators and a weight copier that copies the consensus (with or without commit-reveal)."""
    if commit_reveal:
        hyper = {"commit_reveal_weights_enabled": True, **hyper}
    return Scenario(miners=[_honest(3, pretrain=[0, 20, 60])],
                    validators=[_validators(n=2, stake=[1_000, 1_000]),
                                {"n": 1, "group": "copycat", "stake": 1_000, "behaviour": "weight_copier"}],
                    hyperparameters=hyper, epochs=epochs, seed=seed,
                    name="weight_copier" + ("_commit_reveal" if commit_reveal else ""))


def _collusion(seed: int = 0, epochs: int = 8, colluders: int = 1, **hyper) -> Scenario:
    """Honest validators against ``colluders`` validators who put all their weight on a friend (an untrained miner)."""
    return Scenario(miners=[_honest(2), {"n": 1, "group": "friend", "pretrain": 0}],
                    validators=[_validators(n=2, stake=[1_000, 1_000]),
                                {"n": colluders, "group": "colluder", "stake": 1_000,
                                 "behaviour": {"kind": "colluder", "friends": ["friend0"]}}],
                    hyperparameters=hyper, epochs=epochs, seed=seed, name="collusion")


def _specialists(seed: int = 0, epochs: int = 8, **hyper) -> Scenario:
    """A prose specialist and a code specialist (60 steps each on their own text), asked about prose."""
    return Scenario(miners=[{"n": 1, "group": "prose", "pretrain": 60, "behaviour": {"kind": "specialist", "domain": "prose"}},
                            {"n": 1, "group": "code", "pretrain": 60, "behaviour": {"kind": "specialist", "domain": "code"}}],
                    validators=[_validators()], hyperparameters=hyper, epochs=epochs, seed=seed, name="specialists")


LIBRARY = {"specialists": _specialists, "noise": _noise, "lazy_miner": _lazy_miner, "copier": _copier, "sybil": _sybil, "flaky": _flaky,
           "weight_copier": _weight_copier, "collusion": _collusion}
