"""`Dashboard`: a live view of a lab's subnet: ticker, controls and six linked panels.

    lab.dashboard()          # in JupyterLab, Voila, or any front end with ipywidgets

The figures are `tao_lab.widgets.figures` builders wrapped in plotly ``FigureWidget``s; a
background thread reads the chain (block, metagraph, epoch history) and the validators' events
at ``refresh`` seconds and updates only what changed, in place, so the kernel stays responsive.
Selecting a uid (the dropdown, or a click on a bar) highlights it in every panel.
"""

from __future__ import annotations

import html
import logging
import threading
import time

import ipywidgets as w

from . import figures as F
from ._live import FrontEndWatch
from ._plotly import figure_widget
from ._static import figures_html, with_static_html

__all__ = ["Dashboard"]

log = logging.getLogger("tao_lab.widgets.dashboard")

BLOCK_TIMES = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0)
PANELS = ("routing", "scores", "weights", "emission", "cumulative", "stake")
NO_UID = -1  # the highlight dropdown's "none" (a None value shows as a blank dropdown)
#: events the routing panel reads per tick: enough for its last steps of every validator
ROUTING_WINDOW = 4_000
#: seconds between balance reads when the metagraph has not changed (balances move with fees too)
BALANCES_EVERY = 5.0
_TITLES = {"routing": "Routing", "scores": "Scores", "weights": "Weights and consensus",
           "emission": "Incentive, dividends, emission", "cumulative": "Cumulative emission",
           "stake": "Stake and balances"}


class Dashboard(w.VBox):
    """Live panels for ``lab``'s subnet (see the module docstring).

    Args:
        lab: a `tao_lab.Lab` with a subnet.
        refresh: seconds between updates (default 0.5: 2 Hz).
        panels: which panels to show, from ``PANELS``.
        start: begin updating at once (default); `stop` ends it, `start` resumes.
    """

    def __init__(self, lab, *, refresh: float = 0.5, panels=PANELS, panel_width: int = 440, start: bool = True):
        from ..errors import InputError

        unknown = [p for p in panels if p not in PANELS]
        if unknown:
            raise InputError("panels", f"unknown panels {unknown}; choose from {PANELS}")
        if not (isinstance(refresh, (int, float)) and 0.05 <= refresh <= 60):
            raise InputError("refresh", f"expected seconds between 0.05 and 60, got {refresh!r}")
        self.lab, self.refresh, self.panels = lab, float(refresh), tuple(panels)
        self.highlight: int | None = None
        self.ticks = 0  # completed refreshes (tests and benchmarks read it)
        self.tick_seconds: list[float] = []  # how long each refresh took
        self.error: str | None = None
        self._netuid = lab._require_subnet()
        self._cursor = 0
        self._events: list[dict] = []
        self._seen: dict[str, object] = {}
        self._balances_at = time.monotonic()
        self._watch = FrontEndWatch()  # late or failed front ends (see tao_lab.widgets._live)
        self.swaps = self._watch.swaps  # panels replaced by a fresh FigureWidget, by name
        self._thread: threading.Thread | None = None
        self._halt = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()

        mg = self._metagraph()
        self._mg = mg
        self.figures = {
            "routing": F.build_routing([]),
            "scores": F.build_scores([]),
            "weights": F.build_weights(mg),
            "emission": F.build_emission(mg),
            "cumulative": F.build_cumulative_emission(lab.history()),
            "stake": F.build_stake(mg, balances=self._balances(mg)),
        }
        self.widgets = {name: figure_widget(self.figures[name]) for name in self.panels}
        for fig in self.widgets.values():  # a fixed width: a FigureWidget does not follow its grid cell
            fig.layout.width = int(panel_width)
        self._wire_clicks()

        self.ticker = w.HTML(self._ticker_html(mg.block, mg))
        self.pause_button = w.ToggleButton(value=lab.paused, description="Resume" if lab.paused else "Pause",
                                           icon="play" if lab.paused else "pause", tooltip="stop or restart the chain's clock")
        self.block_time = w.Dropdown(options=[(f"{t:g} s/block", t) for t in BLOCK_TIMES],
                                     value=min(BLOCK_TIMES, key=lambda t: abs(t - lab.block_time)),
                                     description="Block time", layout=w.Layout(width="210px"))
        self.epoch_button = w.Button(description="Next epoch", icon="forward", tooltip="run the subnet's epoch now")
        self.miner_button = w.Button(description="Add a miner", icon="plus", tooltip="register and start one more miner")
        self.uid_select = w.Dropdown(options=self._uid_options(mg), value=NO_UID, description="Highlight",
                                     layout=w.Layout(width="210px"))
        self.message = w.HTML("")
        self.message.add_class("tao-lab-message")  # refresh errors and control feedback
        devnet = lab.is_devnet
        for control in (self.pause_button, self.block_time, self.epoch_button, self.miner_button):
            control.disabled = not devnet
        self.pause_button.observe(self._on_pause, names="value")
        self.block_time.observe(self._on_block_time, names="value")
        self.epoch_button.on_click(self._on_next_epoch)
        self.miner_button.on_click(self._on_add_miner)
        self.uid_select.observe(self._on_highlight, names="value")

        controls = w.HBox([self.pause_button, self.block_time, self.epoch_button, self.miner_button,
                           self.uid_select], layout=w.Layout(flex_flow="row wrap", align_items="center"))
        self._cells = {p: w.VBox([self.widgets[p]]) for p in self.panels}
        cells = list(self._cells.values())
        columns = f"repeat(auto-fill, minmax({int(panel_width) + 10}px, 1fr))"
        grid = w.GridBox(cells, layout=w.Layout(grid_template_columns=columns,
                                                grid_gap="6px", width="100%"))
        super().__init__([self.ticker, controls, self.message, grid], layout=w.Layout(width="100%"))
        self.add_class("tao-lab-dashboard")
        if start:
            self.start()

    # ------------------------------------------------------------------ reading

    def _metagraph(self):
        return self.lab.metagraph()

    def _balances(self, mg) -> dict[str, float] | None:
        """The coldkeys' free balances for the stake panel (None, and no balance bars, if unreadable)."""
        if "stake" not in self.panels:
            return None
        try:
            return self.lab.balances(mg)
        except Exception as exc:  # a node without System.Account as the devnet lays it out
            log.info("balances not shown: %s", exc)
            return None

    def _update_stake(self, fig, mg, *, highlight=None) -> None:
        F.update_stake(fig, mg, balances=self._balances(mg), highlight=highlight)

    def _uid_options(self, mg) -> list:
        return [("none", NO_UID)] + [(f"uid {u}", int(u)) for u in mg.uids]

    def _ticker_html(self, block: int, mg) -> str:
        lab = self.lab
        tempo = max(1, int(mg.tempo))
        since = max(0, block - int(mg.last_epoch_block)) if mg.last_epoch_block else None
        # the pallet runs the epoch in the first block with block - LastEpochBlock >= tempo
        epoch = f"next epoch in ~{max(0, tempo - since)} blocks" if since is not None else "no epoch yet"
        state = "paused" if lab.paused else f"{lab.block_time:g} s/block"
        return (f"<div class='tao-lab-ticker' style='font-size:15px'><b>Block <span class='tao-lab-block'>{block}"
                f"</span></b> &middot; subnet {self._netuid} (tempo {tempo}) &middot; {epoch} &middot; "
                f"{len(lab.miners)} miners, {len(lab.validators)} validators &middot; {html.escape(state)} "
                f"&middot; emission so far <span class='tao-lab-emission'>{float(mg.E.sum()):.3f}</span> TAO/epoch"
                "</div>")

    # ------------------------------------------------------------------ updating

    def start(self) -> Dashboard:
        """Begin (or resume) live updates in a background thread."""
        if self._thread is not None and self._thread.is_alive():
            return self
        self._halt.clear()
        self._thread = threading.Thread(target=self._loop, name="tao-lab-dashboard", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop live updates (the panels keep their last state)."""
        self._halt.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self._thread = None

    def close(self) -> None:
        self.stop()
        super().close()

    def _loop(self) -> None:
        while not self._halt.is_set():
            started = time.perf_counter()
            try:
                if self.lab.closed:
                    return
                self.update()
                self.error = None
            except Exception as exc:  # a dashboard must never take the kernel down; say why it is stale
                self.error = f"{type(exc).__name__}: {exc}"
                log.warning("dashboard refresh failed: %s", self.error)
                self.message.value = f"<span style='color:#b00'>refresh failed: {html.escape(self.error)}</span>"
            self.tick_seconds.append(time.perf_counter() - started)
            del self.tick_seconds[:-200]
            self._wake.wait(max(0.0, self.refresh - (time.perf_counter() - started)))
            self._wake.clear()

    def update(self, force: bool = False) -> None:
        """One refresh: read what is new and update the panels whose data changed (all with ``force``)."""
        with self._lock:
            block = self.lab.block
            if force or self._seen.get("block") != block:
                mg = self._metagraph()
                self._mg = mg
                self._seen["block"] = mg.block
                self.ticker.value = self._ticker_html(mg.block, mg)
                if len(self.uid_select.options) != mg.n + 1:
                    value = self.uid_select.value
                    self.uid_select.options = self._uid_options(mg)
                    self.uid_select.value = value if value < mg.n else NO_UID
                state = (mg.n, mg.last_epoch_block, mg.weights_u16.tobytes(), mg.C.tobytes(), mg.E.tobytes(), mg.I.tobytes(),
                         mg.stake_rao.tobytes())
                if force or self._seen.get("metagraph") != state:
                    self._seen["metagraph"] = state
                    self._update("weights", F.update_weights, mg)
                    self._update("emission", F.update_emission, mg)
                    self._balances_at = time.monotonic()
                    self._update("stake", self._update_stake, mg)
                elif "stake" in self.widgets and time.monotonic() - self._balances_at > BALANCES_EVERY:
                    self._balances_at = time.monotonic()  # fees and transfers move balances between epochs
                    self._update("stake", self._update_stake, mg)
                if force or self._seen.get("epoch") != mg.last_epoch_block:
                    self._seen["epoch"] = mg.last_epoch_block
                    self._update("cumulative", F.update_cumulative_emission, self.lab.history())
            new, self._cursor = self.lab.events.since(self._cursor)
            if new or force:
                self._events.extend(new)
                del self._events[:-20_000]  # a bounded window: the panels show recent behaviour
                self._update("routing", F.update_routing, self._events[-ROUTING_WINDOW:])
                self._update("scores", F.update_scores, self._events)
            self.ticks += 1

    def _update(self, panel: str, fn, data) -> None:
        fig = self.widgets.get(panel)
        if fig is None:
            return
        fn(fig, data, highlight=self.highlight)
        if self._watch.after_update(panel, fig):
            self._swap(panel)

    def _swap(self, panel: str) -> None:
        old = self.widgets[panel]
        new = figure_widget(old)
        self.widgets[panel] = new
        self._cells[panel].children = (new,)
        self._watch.swapped(panel)
        if panel in ("emission", "stake"):
            self._wire_clicks()
        old.close()

    # ------------------------------------------------------------------ controls

    def _wire_clicks(self) -> None:
        """A click on a uid's bar selects it (bar traces whose x are uids)."""
        for name in ("emission", "stake"):
            fig = self.widgets.get(name)
            if fig is None:
                continue
            for trace in fig.data:
                if getattr(trace, "type", None) == "bar":
                    trace.on_click(self._on_bar_click)

    def _on_bar_click(self, trace, points, state) -> None:
        if points.point_inds:
            x = trace.x[points.point_inds[0]]
            uid = int(x) if not isinstance(x, str) else int(x.split()[-1])
            self.uid_select.value = uid

    def _act(self, what: str, fn) -> None:
        try:
            fn()
            self.message.value = f"<span style='color:#2a7'>{html.escape(what)}</span>"
        except Exception as exc:
            self.message.value = f"<span style='color:#b00'>{html.escape(what)} failed: {html.escape(str(exc))}</span>"
        self._wake.set()

    def _on_pause(self, change) -> None:
        paused = bool(change["new"])
        self.pause_button.description, self.pause_button.icon = ("Resume", "play") if paused else ("Pause", "pause")
        self._act("paused: no new blocks" if paused else "running",
                  self.lab.pause if paused else self.lab.resume)

    def _on_block_time(self, change) -> None:
        self._act(f"block time {change['new']:g} s", lambda: self.lab.set_block_time(change["new"]))

    def _on_next_epoch(self, _button) -> None:
        self._act("ran the next epoch", self.lab.next_epoch)

    def _on_add_miner(self, _button) -> None:
        def add():
            n = sum(1 for m in self.lab._members.values() if m.group == "added")
            self.lab.add_miners(n + 1, group="added")

        self._act("added a miner", add)

    def _on_highlight(self, change) -> None:
        self.highlight = None if change["new"] == NO_UID else change["new"]
        threading.Thread(target=self._safe_force, daemon=True).start()

    def _safe_force(self) -> None:
        try:
            self.update(force=True)
        except Exception as exc:
            self.message.value = f"<span style='color:#b00'>{html.escape(str(exc))}</span>"

    # ------------------------------------------------------------------ static output

    def _repr_mimebundle_(self, **kwargs):
        """The live widget, plus a static HTML copy of the panels for front ends without a kernel
        (an executed notebook converted to HTML, a report)."""
        return with_static_html(super()._repr_mimebundle_(**kwargs), lambda: self.static_html(include_plotlyjs=None))

    def static_html(self, include_plotlyjs: bool | None = False) -> str:
        """The ticker and panels as they are now, as plain HTML with static plotly figures.

        ``include_plotlyjs``: inline plotly.js (True), leave it to the page (False), or inline it
        only in the first static copy this kernel makes (None; what the notebook output uses).
        """
        figures = figures_html([self.widgets[name] for name in self.panels], include_plotlyjs)
        return "<div class='tao-lab-dashboard-static'>" + self.ticker.value + "".join(figures) + "</div>"

    def __repr__(self) -> str:
        return f"Dashboard(subnet {self._netuid}, block {self._seen.get('block')}, {self.ticks} updates)"
