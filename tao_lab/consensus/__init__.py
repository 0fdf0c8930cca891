"""Yuma consensus as subtensor computes it: the epoch, weight rules, emission split, simulation.

`epoch` is bit-exact with subtensor's fixed-point epoch by default; `simulate` runs many epochs
offline; `weights` and `emission` hold what the chain does around the epoch. The fixed-point
arithmetic (`fixed`) and the math.rs primitives (`primitives`) are importable for study.

>>> from tao_lab.consensus import epoch
>>> r = epoch([100, 100, 0], [[], [], []], None, [True, True, False])
>>> r.emission.tolist()  # no weights yet: emission follows stake
[500000000, 500000000, 0]
"""

from .emission import BlockSplit, EpochPayout, distribute_epoch, share_by_stake, split_block_emission
from .simulate import SERIES_COLUMNS, Simulation, simulate
from .weights import WeightsRejected, max_weight_limited, normalize_weights, prepare_weights
from .yuma import EpochContext, EpochParams, EpochResult, epoch

__all__ = [
    "epoch",
    "EpochParams",
    "EpochContext",
    "EpochResult",
    "simulate",
    "Simulation",
    "SERIES_COLUMNS",
    "normalize_weights",
    "max_weight_limited",
    "prepare_weights",
    "WeightsRejected",
    "split_block_emission",
    "BlockSplit",
    "distribute_epoch",
    "EpochPayout",
    "share_by_stake",
]
