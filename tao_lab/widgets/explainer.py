"""`Explainer`: one Yuma epoch, step by step, recomputed with `tao_lab.consensus.epoch` as you drag.

    from tao_lab.widgets import Explainer
    ex = Explainer(stake=[700e9, 300e9, 0, 0, 0], weights=[[0, 0, .5, .3, .2], [0, 0, .1, .1, .8], [], [], []])
    ex                     # sliders for kappa, bonds penalty, bonds moving average; Yuma3, liquid alpha
    ex.update(kappa=0.8)   # what a slider does: recompute, update the figures in place, say what changed

It works offline on arrays (a hand-made subnet), on a `Metagraph` (`from_metagraph`) or on a chain
at a block (`from_chain`). Controls show hyperparameters as floats in [0, 1]; `params` keeps them in
the chain's units (u16, per million). The seven figures are `tao_lab.widgets.explain_figures`
builders in ``go.FigureWidget``\\s; a control change reassigns their traces' data inside
``batch_update`` and never re-creates a widget.
"""

from __future__ import annotations

import dataclasses
import html
import statistics
import time

import ipywidgets as w
import numpy as np

from ..consensus import EpochContext, EpochParams, EpochResult, epoch
from ..errors import InputError
from . import explain_figures as F
from ._live import FrontEndWatch
from ._plotly import figure_widget
from ._static import figures_html, with_static_html

__all__ = ["Explainer", "params_from_hyperparameters", "bench_rows"]

U16_MAX = 65535
PER_MILLION = 1_000_000
#: update() keywords that set a hyperparameter, as floats in [0, 1] (u16 or per-million on chain)
FRACTIONS = {"kappa": U16_MAX, "bonds_penalty": U16_MAX, "bonds_moving_average": PER_MILLION,
             "alpha_low": U16_MAX, "alpha_high": U16_MAX}
FLAGS = ("yuma3", "liquid_alpha")
FOCUS = ("miner", "validator", "focus")
_LABELS = {"kappa": "kappa", "bonds_penalty": "bonds penalty", "bonds_moving_average": "bonds moving average",
           "alpha_low": "alpha low", "alpha_high": "alpha high", "yuma3": "Yuma3", "liquid_alpha": "liquid alpha"}
_COLUMNS = f"repeat(auto-fill, {F.WIDTH}px)"  # as many figures side by side as fit
#: each slider's step, as a fraction
_STEPS = {"kappa": 0.01, "bonds_penalty": 0.01, "bonds_moving_average": 0.005, "alpha_low": 0.01, "alpha_high": 0.01}
STEPS = {
    "median": "<b>1 · Consensus.</b> Each miner's consensus C is a stake-weighted median of the weights "
              "validators give it: the largest weight that validators holding at least kappa of the stake give.",
    "clipping": "<b>2 · Clipping.</b> Every weight above its miner's consensus is cut down to C.",
    "trust": "<b>3 · Validator trust.</b> What is left of each validator's weights after clipping.",
    "incentive": "<b>4 · Ranks and incentive.</b> A miner's rank adds up stake × clipped weight over "
                 "validators; incentive is its share of all ranks.",
    "bonds": "<b>5 · Bonds.</b> Each validator's bonds follow its (penalised) weights by an exponential "
             "moving average.",
    "dividends": "<b>6 · Dividends.</b> Bonds on miners with incentive earn the validator dividends.",
    "emission": "<b>7 · Emission.</b> The epoch's emission is split by incentive (miners) and dividends (validators).",
}


def params_from_hyperparameters(hp: dict, **overrides) -> EpochParams:
    """`EpochParams` from ``Subtensor.hyperparameters(netuid)`` (see ``client.subtensor.HYPERPARAMETERS``).

    The activity cutoff is derived as the chain does, ``max(1, activity_cutoff_factor_milli · tempo
    // 1000)`` blocks. ``overrides`` (EpochParams fields) win, e.g. ``owner_uid``, which is not a
    hyperparameter.
    """
    low, high = hp.get("alpha_values", (45875, 58982))
    tempo = int(hp.get("tempo", 360))
    fields = {
        "kappa": hp.get("kappa", 32767), "bonds_penalty": hp.get("bonds_penalty", 65535),
        "bonds_moving_average": hp.get("bonds_moving_avg", 900_000), "yuma3": bool(hp.get("yuma3_enabled", False)),
        "liquid_alpha": bool(hp.get("liquid_alpha_enabled", False)), "alpha_low": int(low), "alpha_high": int(high),
        "alpha_sigmoid_steepness": hp.get("alpha_sigmoid_steepness", 1000),
        "max_allowed_validators": hp.get("max_allowed_validators", 64), "tempo": tempo,
        "activity_cutoff": max(1, int(hp.get("activity_cutoff_factor_milli", 13889)) * tempo // 1000),
        "commit_reveal": bool(hp.get("commit_reveal_weights_enabled", False)),
    }
    fields.update(overrides)
    return EpochParams(**{k: (int(v) if not isinstance(v, bool) and k not in ("owner_uid",) else v)
                          for k, v in fields.items()})


def _weights_u16(weights, n: int):
    """Weights as `epoch` takes them: sparse rows pass through; a dense float matrix is max-upscaled per
    row to u16 as ``set_weights`` stores it (round half away from zero; 0 = absent); integers are u16."""
    if isinstance(weights, (list, tuple)) and all(
            isinstance(r, (list, tuple)) and (not r or isinstance(r[0], (list, tuple))) for r in weights):
        return [list(r) for r in weights]  # n sparse rows of (uid, u16), or empty rows
    arr = np.asarray(weights)
    if arr.shape != (n, n):
        raise InputError("weights", f"expected an ({n}, {n}) matrix or {n} sparse rows, got shape {arr.shape}")
    if np.issubdtype(arr.dtype, np.integer):
        return arr.astype(np.int64)
    arr = arr.astype(float)
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise InputError("weights", "weights must be finite and non-negative")
    top = arr.max(axis=1, keepdims=True)
    return np.floor(np.divide(arr, top, out=np.zeros_like(arr), where=top > 0) * U16_MAX + 0.5).astype(np.int64)


def _dense_u16(matrix, n: int) -> np.ndarray:
    """(n, n) u16 from a dense matrix or sparse rows (None: zeros), for drawing old bonds."""
    out = np.zeros((n, n), dtype=np.int64)
    if matrix is None:
        return out
    if isinstance(matrix, (list, tuple)) and all(
            isinstance(r, (list, tuple)) and (not r or isinstance(r[0], (list, tuple))) for r in matrix):
        for i, row in enumerate(matrix):
            for j, v in row:
                out[i, int(j)] = int(v)
        return out
    return np.asarray(matrix, dtype=np.int64).reshape(n, n)


class Explainer(w.VBox):
    """One Yuma epoch as seven linked figures and the controls that change it (module docstring).

    Args:
        stake: (n,) stake per uid in rao.
        weights: a dense (n, n) float matrix (rows as a validator would set them; max-upscaled to u16
            like ``set_weights``), a dense integer matrix of stored u16 weights, or n sparse rows of
            ``(uid, u16)`` as `tao_lab.consensus.epoch` accepts.
        bonds: stored u16 bonds, dense (n, n) or sparse rows; None = no bonds yet.
        permits: (n,) bool validator permits from the previous epoch; None = every uid that set weights.
        params: `EpochParams` (chain units); None = subtensor's defaults.
        context: `EpochContext` block numbers; None = everyone active, nothing outdated.
        uids: which uids the per-uid figures show (default all).
        focus: a uid to explain first: a validator focuses steps 2, 3, 5; any other uid step 1.
        emission_rao: the epoch's emission to split, in rao.
    """

    def __init__(self, stake, weights, bonds=None, permits=None, params: EpochParams | None = None,
                 context: EpochContext | None = None, *, uids=None, focus: int | None = None,
                 emission_rao: int = 1_000_000_000):
        self.stake = [int(s) for s in np.asarray(stake).ravel()]
        n = len(self.stake)
        self.n = n
        self.weights = _weights_u16(weights, n)
        self.bonds = bonds
        self.old_bonds = _dense_u16(bonds, n)
        if permits is None:
            permits = _dense_u16(self.weights, n).sum(axis=1) > 0
        self.permits = np.asarray(permits, dtype=bool)
        self.params = EpochParams() if params is None else params
        self.context = context
        self.emission_rao = int(emission_rao)
        self.uids = None if uids is None else [int(u) for u in uids]
        self.result: EpochResult = self._compute(self.params)
        validators = self._validators()
        A = self.result.active_stake
        self.validator = int(max(validators, key=lambda u: (A[u], -u))) if validators else 0
        others = [u for u in range(n) if u not in validators] or list(range(n))
        self.miner = int(max(others, key=lambda u: (self.result.incentive[u], -u))) if others else 0
        if focus is not None:
            self._set_focus(int(focus))
        self.figures = self._build_figures()
        self._watch = FrontEndWatch()
        self.text = w.HTML(self._describe_now(), layout=w.Layout(min_height="2.5em"))
        self._syncing = False
        self._make_controls()
        # a cell per step, as wide as its figure (F.WIDTH px; a FigureWidget does not follow its cell)
        self._cells = {name: w.VBox([w.HTML(STEPS[name]), fig], layout=w.Layout(width=f"{F.WIDTH}px"))
                       for name, fig in self.figures.items()}
        steps = list(self._cells.values())
        grid = w.GridBox(steps, layout=w.Layout(grid_template_columns=_COLUMNS, grid_gap="6px 16px", width="100%"))
        super().__init__([self.controls, self.text, grid], layout=w.Layout(width="100%"))
        self.add_class("tao-lab-explainer")

    # ------------------------------------------------------------------ sources

    @classmethod
    def from_metagraph(cls, mg, params: EpochParams | None = None, *, context: EpochContext | None = None,
                       uids=None, focus: int | None = None, emission_rao: int | None = None) -> Explainer:
        """An explainer of the epoch a `Metagraph`'s state would run: its stake (rao), stored weights
        and bonds (u16), validator permits and block numbers. ``params`` None = subtensor's defaults
        with the metagraph's tempo; ``emission_rao`` None = the metagraph's last epoch emission (1 TAO
        if it had none)."""
        if params is None:
            params = EpochParams(tempo=int(getattr(mg, "tempo", 0) or 360))
        if context is None:
            context = EpochContext(current_block=int(mg.block or 0), last_update=np.asarray(mg.last_update),
                                   block_at_registration=np.asarray(mg.block_at_registration),
                                   last_mechanism_step_block=int(getattr(mg, "last_epoch_block", 0) or 0))
        if emission_rao is None:
            emission_rao = int(np.asarray(mg.emission_rao, dtype=np.int64).sum()) or 1_000_000_000
        return cls(np.asarray(mg.stake_rao), np.asarray(mg.weights_u16, dtype=np.int64),
                   np.asarray(mg.bonds_u16, dtype=np.int64), np.asarray(mg.validator_permit, dtype=bool),
                   params, context, uids=uids, focus=focus, emission_rao=emission_rao)

    @classmethod
    def from_chain(cls, subtensor, netuid: int, block: int | None = None, **kwargs) -> Explainer:
        """An explainer of subnet ``netuid`` at ``block`` (None: the head): its metagraph and its
        hyperparameters (`params_from_hyperparameters`). ``kwargs`` go to `from_metagraph`."""
        from ..client.metagraph import Metagraph

        mg = Metagraph(netuid).sync(subtensor, block=block)
        kwargs.setdefault("params", params_from_hyperparameters(subtensor.hyperparameters(netuid, block)))
        return cls.from_metagraph(mg, **kwargs)

    # ------------------------------------------------------------------ state

    def _compute(self, params: EpochParams) -> EpochResult:
        return epoch(self.stake, self.weights, self.bonds, self.permits, params, self.context,
                     rao_emission=self.emission_rao)

    def _validators(self) -> list[int]:
        return [int(u) for u in np.flatnonzero(self.result.validator_permits)]

    def _set_focus(self, uid: int) -> None:
        if not 0 <= uid < self.n:
            raise InputError("focus", f"uid {uid} is not in [0, {self.n})")
        if uid in self._validators():
            self.validator = uid
        else:
            self.miner = uid

    def fraction(self, name: str) -> float:
        """The hyperparameter ``name`` (a key of ``FRACTIONS``) as a float in [0, 1]."""
        return getattr(self.params, name) / FRACTIONS[name]

    @property
    def fixed_alpha(self) -> float:
        """The EMA alpha without liquid alpha: 1 − bonds_moving_average / 1e6."""
        return max(0.0, 1.0 - self.params.bonds_moving_average / PER_MILLION)

    def update(self, **changes) -> EpochResult:
        """Change hyperparameters and/or the focus, recompute the epoch, update every figure in place,
        set the controls to match, describe what changed in ``text``, and return the new `EpochResult`.

        Keywords: ``kappa``, ``bonds_penalty``, ``bonds_moving_average``, ``alpha_low``, ``alpha_high``
        (floats in [0, 1], stored as u16 / per million), ``yuma3``, ``liquid_alpha`` (bools), ``miner``,
        ``validator`` or ``focus`` (uids). Raises `InputError` for anything else, or a value out of range.
        """
        fields, focus = {}, {}
        for name, value in changes.items():
            if name in FRACTIONS:
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
                    raise InputError(name, f"expected a fraction in [0, 1], got {value!r}")
                fields[name] = int(round(float(value) * FRACTIONS[name]))
            elif name in FLAGS:
                fields[name] = bool(value)
            elif name in FOCUS:
                if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < self.n:
                    raise InputError(name, f"expected a uid in [0, {self.n}), got {value!r}")
                focus[name] = int(value)
            else:
                raise InputError(name, f"unknown control; use one of {[*FRACTIONS, *FLAGS, *FOCUS]}")
        old_params, old_result = self.params, self.result
        params = dataclasses.replace(self.params, **fields) if fields else self.params
        result = self._compute(params) if params != old_params else old_result
        self.params, self.result = params, result
        before = (self.miner, self.validator)
        self.miner = focus.get("miner", self.miner)
        self.validator = focus.get("validator", self.validator)
        if "focus" in focus:
            self._set_focus(focus["focus"])
        self._update_figures()
        self._sync_controls()
        self.text.value = self._describe(old_params, old_result, before)
        return result

    # ------------------------------------------------------------------ figures

    def _figure_args(self) -> dict:
        r = self.result
        return {
            "median": (r, self.stake, self.miner, self.fraction("kappa")),
            "clipping": (r, self.validator),
            "trust": (r,),
            "incentive": (r,),
            "bonds": (r, self.validator, self.old_bonds, self.fixed_alpha),
            "dividends": (r,),
            "emission": (r,),
        }

    def _figure_kwargs(self) -> dict:
        cols = {"uids": self.uids}
        return {"median": {}, "clipping": cols, "trust": {"highlight": self.validator},
                "incentive": {**cols, "highlight": self.validator}, "bonds": cols,
                "dividends": {"highlight": self.validator}, "emission": {**cols, "highlight": self.miner}}

    _BUILDERS = {"median": "median", "clipping": "clipping", "trust": "trust", "incentive": "incentive",
                 "bonds": "bonds", "dividends": "dividends", "emission": "emission_split"}

    def build_figures(self) -> dict:
        """Fresh ``go.Figure``\\s of the current state (what the widgets show; the benchmark's baseline)."""
        args, kwargs = self._figure_args(), self._figure_kwargs()
        return {name: getattr(F, f"build_{fn}")(*args[name], **kwargs[name]) for name, fn in self._BUILDERS.items()}

    def _build_figures(self) -> dict:
        return {name: figure_widget(fig) for name, fig in self.build_figures().items()}

    def _update_figures(self) -> None:
        args, kwargs = self._figure_args(), self._figure_kwargs()
        for name, fn in self._BUILDERS.items():
            fig = self.figures[name]
            getattr(F, f"update_{fn}")(fig, *args[name], **kwargs[name])
            if self._watch.after_update(name, fig):  # no view confirmed it: a fresh widget (tao_lab.widgets._live)
                self.figures[name] = figure_widget(fig)
                self._cells[name].children = (self._cells[name].children[0], self.figures[name])
                self._watch.swapped(name)
                fig.close()

    # ------------------------------------------------------------------ controls

    def _make_controls(self) -> None:
        style = {"description_width": "150px"}

        def wide():  # a Layout each: the alpha range hides by its layout, which must not hide the others
            return w.Layout(width="360px")

        def slider(name, step, fmt):
            return w.FloatSlider(value=self.fraction(name), min=0.0, max=1.0, step=step, readout_format=fmt,
                                 description=_LABELS[name], continuous_update=True, style=style, layout=wide())

        self.sliders = {name: slider(name, _STEPS[name], ".3f" if name == "bonds_moving_average" else ".2f")
                        for name in ("kappa", "bonds_penalty", "bonds_moving_average")}
        self.yuma3_box = w.Checkbox(value=self.params.yuma3, description="Yuma3 bonds", indent=False)
        self.liquid_box = w.Checkbox(value=self.params.liquid_alpha, description="liquid alpha", indent=False)
        self.alpha_range = w.FloatRangeSlider(value=(self.fraction("alpha_low"), self.fraction("alpha_high")),
                                              min=0.0, max=1.0, step=_STEPS["alpha_low"], readout_format=".2f",
                                              description="alpha low / high", style=style, layout=wide())
        options = [(f"uid {u}", u) for u in range(self.n)]
        self.miner_select = w.Dropdown(options=options, value=self.miner, description="miner (step 1)", style=style)
        self.validator_select = w.Dropdown(options=[(f"uid {u}", u) for u in (self._validators() or range(self.n))],
                                           value=self.validator, description="validator (2, 3, 5)", style=style)
        for name, s in self.sliders.items():
            s.observe(self._handler(lambda v, name=name: {name: v}), names="value")
        self.yuma3_box.observe(self._handler(lambda v: {"yuma3": v}), names="value")
        self.liquid_box.observe(self._handler(lambda v: {"liquid_alpha": v}), names="value")
        self.alpha_range.observe(self._handler(lambda v: {"alpha_low": v[0], "alpha_high": v[1]}), names="value")
        self.miner_select.observe(self._handler(lambda v: {"miner": v}), names="value")
        self.validator_select.observe(self._handler(lambda v: {"validator": v}), names="value")
        row = w.Layout(flex_flow="row wrap", align_items="center")
        self.controls = w.VBox([
            w.HBox(list(self.sliders.values()), layout=row),
            w.HBox([self.yuma3_box, self.liquid_box, self.alpha_range], layout=row),
            w.HBox([self.miner_select, self.validator_select], layout=row),
        ])
        self._sync_controls()

    def _handler(self, changes_of):
        def on_change(change):
            if self._syncing:
                return
            changes = {k: v for k, v in changes_of(change["new"]).items() if not self._snapped(k, v)}
            if not changes:
                return
            try:
                self.update(**changes)
            except InputError as exc:
                self.text.value = f"<span style='color:#c0392b'>{html.escape(str(exc))}</span>"
        return on_change

    def _snapped(self, name: str, value) -> bool:
        """Whether a slider's ``value`` is only hyperparameter ``name`` rounded to the slider's step.

        A browser draws a slider at a multiple of its step and sends that value back (kappa 32767 is
        0.499992, drawn as 0.50); taking it as a move would change the epoch by merely showing it.
        """
        step = _STEPS.get(name)
        return step is not None and abs(float(value) - self.fraction(name)) <= step / 2 + 1e-9

    def _sync_controls(self) -> None:
        """Set every control to the current state, without triggering a recompute."""
        self._syncing = True
        try:
            for name, s in self.sliders.items():
                if round(s.value * FRACTIONS[name]) != getattr(self.params, name):
                    s.value = self.fraction(name)
            self.yuma3_box.value = self.params.yuma3
            self.liquid_box.value = self.params.liquid_alpha
            self.liquid_box.disabled = not self.params.yuma3  # liquid alpha only acts on Yuma3 bonds
            low, high = self.alpha_range.value
            if (round(low * U16_MAX), round(high * U16_MAX)) != (self.params.alpha_low, self.params.alpha_high):
                self.alpha_range.value = (self.fraction("alpha_low"), self.fraction("alpha_high"))
            self.alpha_range.layout.display = "" if self.params.liquid_alpha and self.params.yuma3 else "none"
            self.miner_select.value = self.miner
            if self.validator in [v for _, v in self.validator_select.options]:
                self.validator_select.value = self.validator
        finally:
            self._syncing = False

    # ------------------------------------------------------------------ static output

    def _repr_mimebundle_(self, **kwargs):
        """The live widget, plus a static HTML copy (`static_html`) for front ends without a kernel
        (an executed notebook converted to HTML)."""
        return with_static_html(super()._repr_mimebundle_(**kwargs), lambda: self.static_html(include_plotlyjs=None))

    def static_html(self, include_plotlyjs: bool | None = False) -> str:
        """The controls' values, the sentence and the seven steps as they are now: plain HTML with
        static plotly figures.

        ``include_plotlyjs``: inline plotly.js (True), leave it to the page (False), or inline it
        only in the first static copy this kernel makes (None; what the notebook output uses).
        """
        p = self.params
        settings = [f"kappa {self.fraction('kappa'):.2f}", f"bonds penalty {self.fraction('bonds_penalty'):.2f}",
                    f"bonds moving average {self.fraction('bonds_moving_average'):.3f}",
                    f"Yuma3 {'on' if p.yuma3 else 'off'}", f"liquid alpha {'on' if p.liquid_alpha else 'off'}"]
        if p.yuma3 and p.liquid_alpha:
            settings.append(f"alpha low / high {self.fraction('alpha_low'):.2f} / {self.fraction('alpha_high'):.2f}")
        settings += [f"miner uid {self.miner}", f"validator uid {self.validator}"]
        figures = figures_html(self.figures.values(), include_plotlyjs)
        steps = "".join(f"<div style='width:{F.WIDTH}px'><div style='margin-bottom:6px'>{STEPS[name]}</div>{fig}</div>"
                        for name, fig in zip(self.figures, figures))
        return ("<div class='tao-lab-explainer-static'>"
                f"<div class='tao-lab-explainer-settings'>{html.escape(' · '.join(settings))}</div>"
                f"<div class='tao-lab-explainer-text'>{self.text.value}</div>"
                f"<div style='display:grid;grid-template-columns:{_COLUMNS};gap:6px 16px'>"
                f"{steps}</div></div>")

    # ------------------------------------------------------------------ words

    def _describe_now(self) -> str:
        r, m, v = self.result, self.miner, self.validator
        return (f"Miner uid {m}: consensus {r.consensus[m]:.3f}, incentive {r.incentive[m]:.3f}. "
                f"Validator uid {v}: trust {r.validator_trust[v]:.3f}, dividends {r.dividends[v]:.3f}.")

    def _describe(self, old_params: EpochParams, old: EpochResult, focus_before: tuple[int, int]) -> str:
        """One plain sentence: which controls changed, then what that did to the focused uids."""
        said = []
        for name in (*FRACTIONS, *FLAGS):
            a, b = getattr(old_params, name), getattr(self.params, name)
            if a != b:
                if name in FLAGS:
                    said.append(f"{_LABELS[name]} {'on' if b else 'off'}")
                else:
                    fmt = ".3f" if name == "bonds_moving_average" else ".2f"
                    said.append(f"{_LABELS[name]} {a / FRACTIONS[name]:{fmt}} → {b / FRACTIONS[name]:{fmt}}")
        if not said:
            if (self.miner, self.validator) != focus_before:
                return html.escape(self._describe_now(), quote=False)
            return html.escape("nothing changed. " + self._describe_now(), quote=False)
        r, m, v = self.result, self.miner, self.validator
        effects = [_moved(f"consensus on uid {m}", old.consensus[m], r.consensus[m])]
        t0, t1 = float(old.validator_trust[v]), float(r.validator_trust[v])
        if t0 > 0 and abs(t1 - t0) > 1e-9:
            effects.append(f"validator {v} {'gains' if t1 > t0 else 'loses'} {abs(t1 - t0) / t0:.0%} trust")
        else:
            effects.append(f"validator {v}'s trust {'stays at' if abs(t1 - t0) <= 1e-9 else 'becomes'} {t1:.2f}")
        effects.append(_moved(f"dividends of validator {v}", old.dividends[v], r.dividends[v], plural=True))
        delta = (r.emission.astype(np.int64) - old.emission.astype(np.int64)) / 1e9
        k = int(np.argmax(np.abs(delta))) if len(delta) else 0
        if len(delta) and delta[k] != 0:
            effects.append(f"uid {k}'s emission moves most ({delta[k]:+.4f} TAO)")
        return html.escape(", ".join(said) + ": " + "; ".join(effects), quote=False)


def _moved(what: str, a: float, b: float, plural: bool = False) -> str:
    """``"<what> rises from a to b"`` (or drops, or stays), to two decimals."""
    a, b = float(a), float(b)
    s = "" if plural else "s"
    if abs(b - a) < 5e-4:
        return f"{what} stay{s} at {b:.2f}"
    return f"{what} {'rise' if b > a else 'drop'}{s} from {a:.2f} to {b:.2f}"


# ---------------------------------------------------------------------------------------------- benchmark

def _bench_subnet(n: int, seed: int = 2026) -> Explainer:
    """A synthetic subnet of ``n`` uids: n // 8 validators (at least 2) with random weights on the miners
    and one epoch of bonds, explained with Yuma3 and liquid alpha on (the most work per update)."""
    rng = np.random.default_rng([seed, n])
    v = max(2, n // 8)
    stake = np.where(np.arange(n) < v, rng.integers(10**12, 10**13, n), rng.integers(0, 10**9, n))
    W = np.zeros((n, n))
    W[:v, v:] = rng.random((v, n - v)) ** 3
    permits = np.arange(n) < v
    params = EpochParams(yuma3=True, liquid_alpha=True)
    bonds = epoch(stake, _weights_u16(W, n), None, permits, params).new_bonds  # one epoch earlier
    return Explainer(stake, W, bonds, permits, params)


def bench_rows(sizes=(16, 64, 256), repeats: int = 15) -> list[tuple[str, float]]:
    """``[(label, ms), ...]``: the median time of ``explainer.update(kappa=...)`` (epoch plus in-place
    update of the seven FigureWidgets) at each size, then the baseline: rebuilding the seven figures
    from scratch as new FigureWidgets (epoch included) at the same sizes."""
    import plotly.graph_objects as go

    rows, rebuild = [], []
    for n in sizes:
        ex = _bench_subnet(n)
        kappas = [0.3 + 0.4 * (k % 2) + 0.01 * k for k in range(repeats + 1)]
        ex.update(kappa=kappas[-1])  # warm up
        times = []
        for k in kappas[:repeats]:
            t = time.perf_counter()
            ex.update(kappa=k)
            times.append(time.perf_counter() - t)
        rows.append((f"update(kappa) in place, {n} uids", statistics.median(times) * 1e3))
        times = []
        for k in kappas[: max(3, repeats // 3)]:
            t = time.perf_counter()
            ex.params = dataclasses.replace(ex.params, kappa=round(k * U16_MAX))
            ex.result = ex._compute(ex.params)
            [go.FigureWidget(f) for f in ex.build_figures().values()]
            times.append(time.perf_counter() - t)
        rebuild.append((f"rebuild 7 FigureWidgets (baseline), {n} uids", statistics.median(times) * 1e3))
    return rows + rebuild
