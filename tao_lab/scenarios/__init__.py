"""Adversaries and failures as neurons: seeded behaviours that plug into a Lab like any miner or validator.

A behaviour is a name or a small JSON-able dict, so it works for thread- and process-mode neurons
alike (``python -m tao_lab.neurons.run`` builds it from the spec):

    lab.add_miners(2, behaviour="noise", group="noise")
    lab.add_miners(1, behaviour={"kind": "copier", "target": "miner0"}, group="copier")
    lab.add_miners(1, behaviour={"kind": "flaky", "online": 0.5, "period_s": 20}, group="flaky")
    lab.add_miners(4, coldkey="sybil", group="sybil")           # one coldkey, four hotkeys
    lab.add_validators(1, behaviour={"kind": "weight_copier", "source": "consensus"}, group="copycat")
    lab.add_validators(1, behaviour={"kind": "colluder", "friends": ["miner3"]}, group="friend")
    lab.add_validators(1, behaviour="lazy", group="lazy")
    lab.add_validators(1, behaviour="random", group="random")
    lab.add_validators(1, dedupe=True)                            # the copy guard (see Validator)

Inside a Lab, names of the lab's neurons (``"miner0"``) stand for their hotkeys.

Whole networks as data: `Scenario` (groups of miners and validators with their behaviours,
hyperparameters, epochs, seed), `library` of named ones (``library("copier", guard=True)``), and
`build_scenario` / `build_sweep`, the figures of their results (docs/scenarios.md).

Miners: ``noise``, ``lazy``, ``copier`` (``target``: hotkey or uid; ``timeout``), ``flaky``
(``online``, ``period_s``), ``specialist`` (``domain``: ``"prose"`` or ``"code"``: it trains on that
text only). Validators: ``weight_copier`` (``source``: "consensus", a hotkey or a
uid), ``colluder`` (``friends``, ``share``), ``lazy``, ``random``. The classes are in
`tao_lab.scenarios.miners` and `tao_lab.scenarios.validators`.
"""

from __future__ import annotations

from ..errors import InputError

__all__ = ["LIBRARY", "MINER_BEHAVIOURS", "VALIDATOR_BEHAVIOURS", "Scenario", "ScenarioResult", "behaviour_spec",
           "build_miner", "build_scenario", "build_sweep", "build_validator", "library"]

#: kind -> the parameters it takes (besides the neuron's usual ones)
MINER_BEHAVIOURS = {"noise": (), "lazy": (), "copier": ("target", "timeout"), "flaky": ("online", "period_s"),
                    "specialist": ("domain",)}
#: a specialist's training text: "prose" (Python's documentation) or "code" (stdlib source)
SPECIALIST_DOMAINS = ("prose", "code")
VALIDATOR_BEHAVIOURS = {"weight_copier": ("source",), "colluder": ("friends", "share"), "lazy": (), "random": ()}

#: the parameters that name other neurons (a Lab replaces its neurons' names by their hotkeys)
NEURON_REFERENCES = ("target", "source", "friends")


def behaviour_spec(behaviour, role: str) -> dict:
    """A behaviour as a checked dict ``{"kind": ..., **parameters}`` (a bare name is ``{"kind": name}``)."""
    known = MINER_BEHAVIOURS if role == "miner" else VALIDATOR_BEHAVIOURS
    spec = {"kind": behaviour} if isinstance(behaviour, str) else behaviour
    if not isinstance(spec, dict) or not isinstance(spec.get("kind"), str):
        raise InputError("behaviour", f"expected a {role} behaviour name or {{'kind': name, ...}}, got {behaviour!r}")
    kind = spec["kind"]
    if kind not in known:
        raise InputError("behaviour", f"unknown {role} behaviour {kind!r}; choose from {sorted(known)}")
    extra = sorted(set(spec) - {"kind"} - set(known[kind]))
    if extra:
        raise InputError("behaviour", f"a {kind!r} {role} takes {list(known[kind]) or 'no parameters'}, got {extra}")
    if kind == "copier" and "target" not in spec:
        raise InputError("behaviour", "a copier needs a 'target': the hotkey or uid of the miner it copies")
    if kind == "specialist" and spec.get("domain") not in SPECIALIST_DOMAINS:
        raise InputError("behaviour", f"a specialist needs a 'domain' from {SPECIALIST_DOMAINS}, got {spec.get('domain')!r}")
    return dict(spec)


def build_miner(behaviour, wallet, subtensor, netuid: int, **kwargs):
    """The `Miner` (subclass) that ``behaviour`` describes; ``kwargs`` go to `Miner` as usual."""
    from .miners import CopierMiner, FlakyMiner, lazy_model, noise_model

    spec = behaviour_spec(behaviour, "miner")
    kind, params = spec.pop("kind"), spec
    from ..neurons.miner import Miner

    if kind == "noise":
        return Miner(wallet, subtensor, netuid, **{**kwargs, "model": noise_model(seed=kwargs.get("seed", 0))})
    if kind == "lazy":
        return Miner(wallet, subtensor, netuid, **{**kwargs, "model": lazy_model()})
    if kind == "copier":
        kwargs.pop("model", None)
        return CopierMiner(wallet, subtensor, netuid, **params, **kwargs)
    if kind == "specialist":  # an ordinary miner that trains (pretrain and while serving) on one kind of text
        from ..tasks import NextTokenTask, pydoc_text, stdlib_source

        text = pydoc_text() if params["domain"] == "prose" else stdlib_source()
        return Miner(wallet, subtensor, netuid, **{**kwargs, "task": NextTokenTask(text=text, context=64)})
    return FlakyMiner(wallet, subtensor, netuid, **params, **kwargs)


def build_validator(behaviour, wallet, subtensor, netuid: int, **kwargs):
    """The `Validator` subclass that ``behaviour`` describes; ``kwargs`` go to `Validator` as usual."""
    from .validators import Colluder, LazyValidator, RandomValidator, WeightCopier

    spec = behaviour_spec(behaviour, "validator")
    kind = spec.pop("kind")
    cls = {"weight_copier": WeightCopier, "colluder": Colluder, "lazy": LazyValidator, "random": RandomValidator}[kind]
    return cls(wallet, subtensor, netuid, **spec, **kwargs)


from .figures import build_scenario, build_sweep  # noqa: E402
from .scenario import LIBRARY, Scenario, ScenarioResult, library  # noqa: E402
