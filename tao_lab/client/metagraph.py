"""`Metagraph`: a subnet's neurons as numpy arrays, read at any block in a few batched RPCs.

A sync makes four JSON-RPC round trips whatever the subnet's size: the block hash, then three
``state_queryStorageAt`` batches pinned to that hash (the per-subnet vectors; the per-uid rows; the
per-hotkey values); two more when substrate-interface must check the runtime version at that
block. The storage reader (`tao_lab.client._storage`) builds the keys from the metadata's hashers
and decodes the known fixed layouts straight into numpy, checked against the metadata
(`StorageLayoutError` when bytes do not fit). Weights and bonds rows are read by their computed keys
``(netuid, uid)`` for ``uid < n`` rather than listed with ``state_getKeysPaged``: uids are dense,
so this saves a round trip and never picks up a row of a uid that no longer exists.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..errors import InputError
from ._storage import BATCH_KEYS, U16_MAX, StorageLayoutError, _Reader  # noqa: F401 (re-exported)

__all__ = ["AxonInfo", "Metagraph", "StorageLayoutError"]

ST = "SubtensorModule"
TAO = 10**9


@dataclass(frozen=True)
class AxonInfo:
    """Where a neuron serves, from ``SubtensorModule.Axons``; ``ip`` is ``"0.0.0.0"`` when it does not."""

    ip: str  #: dotted IPv4 or IPv6 text
    port: int
    ip_type: int  #: 4 or 6 (0 when not serving)
    protocol: int
    version: int
    block: int  #: block at which the axon was served
    hotkey: str
    coldkey: str
    placeholder1: int = 0
    placeholder2: int = 0

    @property
    def is_serving(self) -> bool:
        return self.ip_type != 0 and self.port != 0

    def __str__(self) -> str:
        return f"[{self.ip}]:{self.port}" if self.ip_type == 6 else f"{self.ip}:{self.port}"


class Metagraph:
    """A subnet's neurons at one block, as numpy arrays named as in the field.

    ``Metagraph(netuid).sync(subtensor, block=None)`` fills it from the chain (``block`` None: the
    head; a past block works on any node that keeps its state, as the devnet does). Arrays have one
    entry per uid ``0..n-1``; matrices are ``(n, n)``, row = the validator, column = the target uid.

    ========================  ==========  ==================================================================
    attribute                 dtype       meaning and units
    ========================  ==========  ==================================================================
    ``uids``                  int64       0..n-1
    ``hotkeys``, ``coldkeys`` list[str]   SS58 addresses (``Keys``, ``Owner``)
    ``S``                     float64     stake in TAO: ``TotalHotkeyAlpha`` / 1e9 (alpha; 1:1 with TAO on
                                          the devnet's stable mechanism)
    ``stake_rao``             int64       the same stake in rao, exact
    ``W``                     float64     weights, each row normalised to sum 1 (rows without weights stay
                                          0), as bittensor's metagraph shows them
    ``weights_u16``           uint16      weights as stored (rows max-upscaled to 65535)
    ``B``                     float64     bonds as u16 / 65535 (not row-normalised)
    ``bonds_u16``             uint16      bonds as stored
    ``I``, ``D``, ``C``       float64     incentive, dividends, consensus: u16 / 65535, in [0, 1]
    ``VT``                    float64     validator trust: u16 / 65535
    ``E``                     float64     emission of the last epoch in TAO (alpha): rao / 1e9
    ``emission_rao``          int64       the same emission in rao, exact
    ``active``                bool        active in the last epoch
    ``validator_permit``      bool        holds a validator permit
    ``last_update``           int64       block of the uid's last weights
    ``block_at_registration`` int64       block the uid was registered at
    ``axons``                 list        `AxonInfo` per uid
    ``block``, ``block_hash`` int, str    the block read
    ``tempo``                 int         blocks between epochs
    ``last_epoch_block``      int         block in which the subnet's last epoch ran
                                          (``LastMechansimStepBlock``, sic)
    ========================  ==========  ==================================================================

    The u16 values of I, D, C and VT are exactly ``round(x * 65535)``. Per-subnet vectors shorter than
    n are read as zero for the missing uids, as subtensor's own neuron queries do; weights or bonds on
    a uid >= n are dropped. Long names (``stake``, ``weights``, ``bonds``, ``incentive``, ``dividends``,
    ``consensus``, ``validator_trust``, ``emission``) are aliases of the short ones.
    """

    def __init__(self, netuid: int):
        if isinstance(netuid, bool) or not isinstance(netuid, (int, np.integer)) or not 0 <= netuid <= U16_MAX:
            raise InputError("netuid", f"expected an integer in [0, 65535], got {netuid!r}")
        self.netuid = int(netuid)
        self.block: int | None = None
        self.block_hash: str | None = None
        self.tempo = 0
        self.last_epoch_block = 0
        self._fill(0)

    def _fill(self, n: int) -> None:
        f, i, b = np.zeros(n), np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)
        self.uids = np.arange(n, dtype=np.int64)
        self.hotkeys: list[str] = []
        self.coldkeys: list[str] = []
        self.axons: list[AxonInfo] = []
        self.stake_rao, self.S = i, f
        self.weights_u16 = np.zeros((n, n), dtype=np.uint16)
        self.bonds_u16 = np.zeros((n, n), dtype=np.uint16)
        self.W, self.B = np.zeros((n, n)), np.zeros((n, n))
        self.I, self.D, self.C, self.VT = f.copy(), f.copy(), f.copy(), f.copy()
        self.emission_rao, self.E = i.copy(), f.copy()
        self.active, self.validator_permit = b, b.copy()
        self.last_update, self.block_at_registration = i.copy(), i.copy()

    # ------------------------------------------------------------------ reading

    def sync(self, subtensor, block: int | None = None) -> Metagraph:
        """Read the subnet at ``block`` (None: the head) and return ``self``.

        ``subtensor`` is a `tao_lab.client.subtensor.Subtensor` (or a substrate-interface
        ``SubstrateInterface``). Raises `InputError` when the subnet does not exist at that block or
        the block does not exist yet, `ChainConnectionError` when the node does not answer.
        """
        substrate = getattr(subtensor, "substrate", subtensor)
        reader = _Reader.of(substrate)
        at = reader.block_hash(block)
        layout = reader.layout(at)
        net = [self.netuid]
        subnet = reader.read(layout, at, [
            ("System", "Number", []), (ST, "NetworksAdded", net), (ST, "SubnetworkN", net), (ST, "Tempo", net),
            (ST, "LastMechansimStepBlock", net),
            *((ST, item, net) for item in ("Incentive", "Dividends", "Consensus", "ValidatorTrust", "Emission",
                                           "Active", "ValidatorPermit", "LastUpdate")),
        ])
        number = int(subnet[0])
        if block is not None and number != block:
            raise StorageLayoutError("System.Number", "u32", f"block {block} reads as number {number}")
        if not subnet[1]:
            raise InputError("netuid", f"subnet {self.netuid} does not exist at block {number}")
        n = int(subnet[2])

        per_uid = reader.read(layout, at, [(ST, item, [self.netuid, uid])
                                           for item in ("Keys", "Weights", "Bonds", "BlockAtRegistration")
                                           for uid in range(n)])
        hot_ids = per_uid[:n]
        per_hotkey = reader.read(layout, at, [
            *((ST, "TotalHotkeyAlpha", [hk, self.netuid]) for hk in hot_ids),
            *((ST, "Owner", [hk]) for hk in hot_ids),
            *((ST, "Axons", [self.netuid, hk]) for hk in hot_ids),
        ])

        self._fill(n)
        self.block, self.block_hash = number, at
        self.tempo, self.last_epoch_block = int(subnet[3]), int(subnet[4])
        fmt = reader.ss58_format
        self.hotkeys = [_ss58(pk, fmt) for pk in hot_ids]
        self.coldkeys = [_ss58(pk, fmt) for pk in per_hotkey[n:2 * n]]
        self.stake_rao = np.array(per_hotkey[:n], dtype=np.int64)
        self.S = self.stake_rao / TAO
        self.I, self.D, self.C, self.VT = (_vector(v, n, np.float64) / U16_MAX for v in subnet[5:9])
        self.emission_rao = _vector(subnet[9], n, np.int64)
        self.E = self.emission_rao / TAO
        self.active, self.validator_permit = _vector(subnet[10], n, bool), _vector(subnet[11], n, bool)
        self.last_update = _vector(subnet[12], n, np.int64)
        self.weights_u16 = _dense(per_uid[n:2 * n], n)
        self.bonds_u16 = _dense(per_uid[2 * n:3 * n], n)
        self.block_at_registration = np.array(per_uid[3 * n:], dtype=np.int64)
        totals = self.weights_u16.sum(axis=1, dtype=np.float64)[:, None]
        self.W = np.divide(self.weights_u16, totals, out=np.zeros((n, n)), where=totals > 0)
        self.B = self.bonds_u16 / U16_MAX
        self.axons = [_axon(a, hk, ck) for a, hk, ck in zip(per_hotkey[2 * n:], self.hotkeys, self.coldkeys)]
        return self

    def coldkey_balances(self, subtensor) -> dict[str, float]:
        """Free balance (TAO) of each coldkey that owns a uid, read at this metagraph's block.

        One batched storage read (``System.Account`` of every distinct coldkey); ``{}`` before the
        first `sync` or for an empty subnet.
        """
        if not self.block_hash or not self.coldkeys:
            return {}
        from scalecodec.utils.ss58 import ss58_decode

        reader = _Reader.of(getattr(subtensor, "substrate", subtensor))
        owners = list(dict.fromkeys(self.coldkeys))
        free = reader.read(reader.layout(self.block_hash), self.block_hash,
                           [("System", "Account", [bytes.fromhex(ss58_decode(ck))]) for ck in owners])
        return {ck: (0 if rao is None else int(rao)) / TAO for ck, rao in zip(owners, free)}

    # ------------------------------------------------------------------ views

    @property
    def n(self) -> int:
        return len(self.uids)

    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        return f"Metagraph(netuid={self.netuid}, n={self.n}, block={self.block})"

    stake = property(lambda self: self.S, doc="alias of S (TAO)")
    weights = property(lambda self: self.W, doc="alias of W")
    bonds = property(lambda self: self.B, doc="alias of B")
    incentive = property(lambda self: self.I, doc="alias of I")
    dividends = property(lambda self: self.D, doc="alias of D")
    consensus = property(lambda self: self.C, doc="alias of C")
    validator_trust = property(lambda self: self.VT, doc="alias of VT")
    emission = property(lambda self: self.E, doc="alias of E (TAO)")

    def to_pandas(self):
        """One row per uid: the per-uid fields (not W or B) and ``axon`` as ``"ip:port"`` ("" when not serving).

        ``df.attrs`` holds ``netuid`` and ``block``.
        """
        import pandas as pd

        df = pd.DataFrame({
            "uid": self.uids, "hotkey": pd.Series(self.hotkeys, dtype=object),
            "coldkey": pd.Series(self.coldkeys, dtype=object),
            "S": self.S, "stake_rao": self.stake_rao, "I": self.I, "D": self.D, "C": self.C, "VT": self.VT,
            "E": self.E, "emission_rao": self.emission_rao, "active": self.active,
            "validator_permit": self.validator_permit, "last_update": self.last_update,
            "block_at_registration": self.block_at_registration,
            "axon": pd.Series([str(a) if a.is_serving else "" for a in self.axons], dtype=object),
        })
        df.attrs.update(netuid=self.netuid, block=self.block)
        return df


# ---------------------------------------------------------------------- array helpers

def _vector(values, n: int, dtype) -> np.ndarray:
    """A per-subnet vector as ``n`` entries: missing uids read as 0, extra entries dropped."""
    out = np.zeros(n, dtype=dtype)
    k = min(n, len(values))
    out[:k] = values[:k]
    return out


def _dense(rows: list[np.ndarray], n: int) -> np.ndarray:
    """``(n, n)`` uint16 from sparse rows of ``(uid, u16)`` pairs; pairs on uids >= n are dropped."""
    out = np.zeros((n, n), dtype=np.uint16)
    lengths = [len(r) for r in rows]
    if sum(lengths):
        pairs = np.concatenate(rows)
        row = np.repeat(np.arange(n), lengths)
        keep = pairs[:, 0] < n
        out[row[keep], pairs[keep, 0]] = pairs[keep, 1]
    return out


def _axon(info: dict | None, hotkey: str, coldkey: str) -> AxonInfo:
    if info is None:
        return AxonInfo("0.0.0.0", 0, 0, 0, 0, 0, hotkey, coldkey)
    ip, ip_type = int(info["ip"]), int(info["ip_type"])
    if ip_type == 4 or (ip_type != 6 and ip < 2**32):
        text = str(ipaddress.IPv4Address(ip)) if ip < 2**32 else str(ip)
    else:
        text = str(ipaddress.IPv6Address(ip))
    return AxonInfo(text, int(info["port"]), ip_type, int(info["protocol"]), int(info["version"]),
                    int(info["block"]), hotkey, coldkey, int(info["placeholder1"]), int(info["placeholder2"]))


@lru_cache(maxsize=1 << 16)
def _ss58(public_key: bytes, ss58_format: int) -> str:
    from scalecodec.utils.ss58 import ss58_encode

    return ss58_encode(public_key, ss58_format)
