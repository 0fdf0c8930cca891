"""Pure figure functions for the live dashboard: data in, plotly figure out, no kernel needed.

Every panel comes as a pair:

* ``build_<panel>(data, ..., highlight=None) -> go.Figure`` draws it from scratch;
* ``update_<panel>(fig, data, ..., highlight=None) -> None`` makes a figure built by it (a
  ``go.Figure``, or the ``go.FigureWidget`` a widget wraps it in) show new data in place, in one
  ``batch_update``, reassigning trace data and adding or removing traces only when the set of
  uids (or validators, or lines) changes. Afterwards the figure equals ``build_<panel>(data)``.

=========================  ===========  =====================================================
panel                      data         shows
=========================  ===========  =====================================================
routing                    events       Sankey validator → miner: queries, latency, timeouts
scores                     events       each validator's moving-average score per miner
weights                    metagraph    W heatmap, consensus C, weight clipped by kappa
emission                   metagraph    incentive, dividends (fraction) and emission E (TAO)
cumulative_emission        history      stacked cumulative E per uid (TAO) over epochs
stake                      metagraph    stake S per uid (TAO), validators marked; balances
=========================  ===========  =====================================================

``highlight`` (a uid) makes that uid stand out in every panel; `uid_color` gives each uid the same
colour everywhere. `empty_figure` is a themed placeholder with a message.
"""

from ._base import empty_figure, uid_color
from ._chain import (
    build_cumulative_emission,
    build_emission,
    build_stake,
    build_weights,
    cumulative_emission,
    update_cumulative_emission,
    update_emission,
    update_stake,
    update_weights,
)
from ._events import build_routing, build_scores, routing_table, update_routing, update_scores

__all__ = [
    "build_cumulative_emission", "build_emission", "build_routing", "build_scores", "build_stake",
    "build_weights", "cumulative_emission", "empty_figure", "routing_table", "uid_color",
    "update_cumulative_emission", "update_emission", "update_routing", "update_scores", "update_stake",
    "update_weights",
]
