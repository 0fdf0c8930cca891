"""`Recorder`: a subnet's metagraph over time, as one tidy table for widgets and papermill reports.

Each snapshot is a `Metagraph` synced at one block; the history holds one row per (snapshot, uid).
With ``every="epoch"`` a snapshot is taken at each block in which the subnet's epoch ran (the state
right after it: new incentive, dividends, emission, bonds); with ``every="block"`` at every block.
Because the chain keeps past state, blocks that arrived while the recorder was not looking are read
back at their own block, so a slow notebook cell misses nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path

from ..errors import InputError
from .errors import ChainConnectionError
from .metagraph import Metagraph

__all__ = ["Recorder"]

ST = "SubtensorModule"

#: history columns and their pandas dtypes; the first five say which snapshot a row belongs to
COLUMNS = {
    "block": "int64", "epoch": "int64", "epoch_block": "int64", "netuid": "int64", "uid": "int64",
    "hotkey": "object", "coldkey": "object", "S": "float64", "stake_rao": "int64", "I": "float64",
    "D": "float64", "C": "float64", "VT": "float64", "E": "float64", "emission_rao": "int64", "active": "bool",
    "validator_permit": "bool", "last_update": "int64", "block_at_registration": "int64", "axon": "object",
}


class Recorder:
    """Sync a subnet's metagraph every block or every epoch and keep the history.

    >>> rec = Recorder(subtensor, netuid=1, every="epoch")          # doctest: +SKIP
    >>> rec.record(30, advance=True)      # devnet: make 30 blocks, record the epochs among them
    >>> rec.history.groupby("epoch").E.sum()

    Args:
        subtensor: a `tao_lab.client.subtensor.Subtensor` (None for a recorder `load`-ed from disk).
        netuid: the subnet.
        every: ``"epoch"`` (a snapshot per epoch) or ``"block"`` (a snapshot per block).

    ``history`` columns: ``block``, ``epoch`` (the chain's number of the subnet's latest epoch at
    that block: how many epochs the subnet had run, ``SubnetEpochIndex``, so the snapshot right after
    its 5th epoch says 5 however many snapshots came before; on a chain without that storage item,
    the epochs this recorder has seen, counted from 0), ``epoch_block`` (block in which that epoch
    ran), ``netuid``, ``uid``, then the per-uid fields of `Metagraph.to_pandas` (S and E in TAO,
    ``stake_rao`` and ``emission_rao`` in rao, I, D, C, VT in [0, 1]). ``metagraph`` is the latest
    snapshot, with W and B.
    """

    def __init__(self, subtensor, netuid: int, every: str = "epoch"):
        if every not in ("epoch", "block"):
            raise InputError("every", f"expected 'epoch' or 'block', got {every!r}")
        Metagraph(netuid)  # validates netuid
        self.subtensor = subtensor
        self.netuid = int(netuid)
        self.every = every
        self.metagraph: Metagraph | None = None
        self._frames: list = []
        self._history = None
        self._checked: int | None = None  # last block looked at
        self._epoch = -1  # used only where the chain does not count epochs (see `_epoch_at`)
        self._epoch_block: int | None = None
        self._chain_counts_epochs: bool | None = None  # does the chain have SubnetEpochIndex?
        self._callbacks: list[Callable[[Metagraph], None]] = []

    def __repr__(self) -> str:
        return f"Recorder(netuid={self.netuid}, every={self.every!r}, snapshots={len(self._frames)})"

    def on_record(self, callback: Callable[[Metagraph], None]) -> Callable[[Metagraph], None]:
        """Call ``callback(metagraph)`` after each snapshot (a live plot hooks here); returns it."""
        self._callbacks.append(callback)
        return callback

    # ------------------------------------------------------------------ recording

    def step(self) -> list[int]:
        """Record what is new at the head; returns the blocks recorded (maybe none).

        The first call records the head (``every="block"``) or the block of the latest epoch
        (``every="epoch"``, nothing if the subnet has run none); later calls record every block, or
        every epoch, since the previous call.
        """
        head = self._chain().block()
        if self._checked is None:
            self._checked = head
            if self.every == "block":
                return [self._snapshot(head)]
            last = self._epoch_block_at(head)
            return [self._snapshot(last)] if last > 0 else []
        return self._scan(head)

    def record(self, n_blocks: int, advance: bool = False, timeout: float | None = None,
               poll: float = 0.05) -> list[int]:
        """Follow the chain for ``n_blocks`` new blocks, recording each block or epoch among them
        (and among any blocks made since the previous `step` or `record`, so none is skipped).

        Without ``advance`` it waits for the node to make the blocks (polling the head every ``poll``
        seconds, recording as they arrive; `ChainConnectionError` after ``timeout`` seconds, by default
        15 s a block). With ``advance=True`` it makes them at once with the devnet's ``dev_newBlock``.
        Returns the blocks recorded.
        """
        if not isinstance(n_blocks, int) or n_blocks < 0:
            raise InputError("n_blocks", f"expected an integer >= 0, got {n_blocks!r}")
        chain = self._chain()
        head = chain.block()
        if self._checked is None or self._checked > head:
            self._checked = head
        target = head + n_blocks
        if advance and n_blocks:
            chain.advance(n_blocks)
        deadline = time.monotonic() + (timeout if timeout is not None else max(30.0, 15.0 * n_blocks))
        recorded: list[int] = []
        while self._checked < target:
            head = chain.block()
            recorded += self._scan(min(head, target))
            if self._checked < target:
                if time.monotonic() > deadline:
                    raise ChainConnectionError(f"block {target} did not arrive in time (head {head}); "
                                               "is the chain producing blocks? (advance=True makes them)")
                time.sleep(poll)
        return recorded

    def record_at(self, blocks: Iterable[int]) -> list[int]:
        """Record snapshots at the given (past) blocks, in the order given, whatever ``every`` says."""
        return [self._snapshot(int(b)) for b in blocks]

    def _scan(self, upto: int) -> list[int]:
        """Record the blocks (or the epoch blocks) in ``(self._checked, upto]``."""
        recorded = []
        for number in range(self._checked + 1, upto + 1):
            if self.every == "block" or self._epoch_block_at(number) == number:
                recorded.append(self._snapshot(number))
            self._checked = number
        return recorded

    def _epoch_block_at(self, block: int) -> int:
        return int(self._chain().query(ST, "LastMechansimStepBlock", [self.netuid], block=block) or 0)

    def _epoch_at(self, metagraph: Metagraph) -> int:
        """The number of the subnet's latest epoch at the snapshot's block (see the class docstring)."""
        if self._chain_counts_epochs is not False:
            try:
                count = self._chain().query(ST, "SubnetEpochIndex", [self.netuid], block=metagraph.block)
                self._chain_counts_epochs = True
                return int(count or 0)
            except (InputError, ChainConnectionError):
                raise
            except Exception:  # substrate-interface: no such storage function on this chain
                self._chain_counts_epochs = False
        if metagraph.last_epoch_block != self._epoch_block:
            self._epoch += 1
        return self._epoch

    def _snapshot(self, block: int) -> int:
        metagraph = Metagraph(self.netuid).sync(self._chain(), block=block)
        epoch = self._epoch_at(metagraph)
        self._epoch, self._epoch_block = epoch, metagraph.last_epoch_block
        df = metagraph.to_pandas()
        for position, (name, value) in enumerate((("block", metagraph.block), ("epoch", epoch),
                                                  ("epoch_block", metagraph.last_epoch_block),
                                                  ("netuid", self.netuid))):
            df.insert(position, name, value)
        self._frames.append(df.astype(COLUMNS))
        self._history = None
        self.metagraph = metagraph
        for callback in self._callbacks:
            callback(metagraph)
        return metagraph.block

    def _chain(self):
        if self.subtensor is None:
            raise InputError("subtensor", "this recorder was loaded from a file; give it a Subtensor to record more")
        return self.subtensor

    # ------------------------------------------------------------------ the table

    @property
    def history(self):
        """A pandas DataFrame, one row per (snapshot, uid), columns as in the class docstring."""
        import pandas as pd

        if self._history is None:
            frames = self._frames or [pd.DataFrame({c: pd.Series(dtype=t) for c, t in COLUMNS.items()})]
            self._history = pd.concat(frames, ignore_index=True).astype(COLUMNS)
        return self._history

    def save(self, path) -> Path:
        """Write ``history`` to ``path``: ``.csv``, or ``.parquet`` (needs pyarrow). Returns the path."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".csv":
            self.history.to_csv(path, index=False)
        elif suffix in (".parquet", ".pq"):
            _require_pyarrow()
            self.history.to_parquet(path, index=False, engine="pyarrow")
        else:
            raise InputError("path", f"expected a .csv or .parquet file name, got {path.name!r}")
        return path

    @classmethod
    def load(cls, path, subtensor=None, every: str = "epoch") -> Recorder:
        """A new `Recorder` whose ``history`` is the table saved at ``path`` (``.csv`` or ``.parquet``).

        Returns a recorder with ``netuid`` read from the file, ``history`` equal to what was saved
        (same columns and dtypes, see `COLUMNS`) and ``metagraph`` None (the file holds no W or B).
        With ``subtensor``, `step` and `record` go on from the last saved block; without it, they
        raise `InputError` (give it later: ``recorder.subtensor = sub``). Figures take the history
        as it is: ``figures.build_cumulative_emission(Recorder.load("run.csv").history)``.
        Raises `InputError` for another suffix, a file without the columns, or several subnets.
        """
        import pandas as pd

        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".csv":
            text = {c: "object" for c, t in COLUMNS.items() if t == "object"}
            # pandas 3 parses floats exactly by default; pandas 2 needs asking (and pandas 3 warns if asked)
            exact = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}
            df = pd.read_csv(path, dtype=text, keep_default_na=False, **exact)
        elif suffix in (".parquet", ".pq"):
            _require_pyarrow()
            df = pd.read_parquet(path, engine="pyarrow")
        else:
            raise InputError("path", f"expected a .csv or .parquet file name, got {path.name!r}")
        missing = [c for c in COLUMNS if c not in df.columns]
        if missing:
            raise InputError("path", f"{path.name} is not a Recorder history: it lacks the columns {missing}")
        df = df[list(COLUMNS)].astype(COLUMNS)
        netuids = df["netuid"].unique()
        if len(netuids) > 1:
            raise InputError("path", f"{path.name} holds several subnets ({sorted(netuids)}); expected one")
        recorder = cls(subtensor, int(netuids[0]) if len(netuids) else 0, every)
        if len(df):
            recorder._frames = [df]
            last = df.iloc[-1]
            recorder._checked = int(last["block"])
            recorder._epoch, recorder._epoch_block = int(last["epoch"]), int(last["epoch_block"])
        return recorder


def _require_pyarrow() -> None:
    import importlib.util

    if importlib.util.find_spec("pyarrow") is None:
        raise InputError("path", "Parquet needs pyarrow, which is not installed: pip install pyarrow, "
                                 "or save to a .csv path")
