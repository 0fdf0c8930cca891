"""The views of a `tao_lab.Lab`: the dashboard, the explainer, the metagraph table, the report, and
how a lab shows itself in a notebook."""

from __future__ import annotations

import html
import threading


class LabViews:
    """`Lab`'s view methods (a mixin: the state lives in `Lab`)."""

    # ------------------------------------------------------------------ views

    def dashboard(self, **options):
        """The live dashboard of the lab's subnet (`tao_lab.widgets.Dashboard`)."""
        from .widgets.dashboard import Dashboard

        return Dashboard(self, **options)

    def explainer(self, block: int | None = None, **options):
        """The Yuma explainer on the subnet as it is at ``block`` (default: the head)."""
        from .widgets.explainer import Explainer

        with self._lock:
            return Explainer.from_chain(self.subtensor, self._require_subnet(), block=block, **options)

    def table(self, **options):
        """A sortable, filterable metagraph table (`tao_lab.widgets.MetagraphTable`)."""
        from .widgets.table import MetagraphTable

        return MetagraphTable(self, **options)

    def report(self, path) -> str:
        """Write one self-contained HTML file (figures with plotly.js inlined, tables; opens offline)."""
        from .report import write_report

        return write_report(self, path)

    def __repr__(self) -> str:
        if self.closed:
            return "Lab(closed)"
        where = "devnet" if self.devnet is not None else ("shared devnet" if self._shared else "node")
        subnet = f"subnet {self.netuid}" if self.netuid is not None else "no subnet yet"
        return (f"Lab({where} {self.url}, {subnet}, {len(self.miners)} miners, {len(self.validators)} validators, "
                f"{self.mode} mode{', paused' if self._paused else ''})")

    def _repr_html_(self) -> str:
        if self.closed:
            return "<b>Lab</b> (closed)"
        try:
            block = self.block
            table = self.neurons()
        except Exception as exc:  # a summary must never raise in a notebook
            return f"<b>Lab</b> at {html.escape(self.url)}: cannot read the chain ({html.escape(str(exc))})"
        head = (f"<b>tao_lab Lab</b> &middot; {'devnet' if self.devnet is not None else 'node'} "
                f"<code>{html.escape(self.url)}</code> &middot; block {block}"
                f"{' (paused)' if self._paused else ''} &middot; "
                + (f"subnet {self.netuid}" if self.netuid is not None else "no subnet yet")
                + f" &middot; {self.mode} mode")
        if not len(table):
            return head + "<br><i>no neurons yet: lab.add_miners(4), lab.add_validators(1)</i>"
        shown = table.drop(columns=["error"]).rename(columns={"S": "S (TAO)", "E": "E (TAO)"})
        return head + shown.to_html(index=False, float_format=lambda x: f"{x:.4f}", na_rep="")


def _warm_up_widgets() -> None:
    """Import plotly's FigureWidget in the background while the devnet starts.

    Its import pulls in jsonschema's format checkers (2-3 s of grammar building on one core); done
    later, with neuron threads competing for the interpreter, the first dashboard took 20 s.
    """
    def load():
        try:
            import ipywidgets  # noqa: F401

            from .widgets._plotly import _widget_class

            _widget_class()  # imports go.FigureWidget and reads plotly's widget bundle
        except Exception:  # widgets are optional for a lab used from a script
            pass

    threading.Thread(target=load, name="tao-lab-warm-up", daemon=True).start()
