"""Chain reads for the server extension: the chains the registry names, their subnets and neurons.

Every function here blocks (a WebSocket or HTTP request to a node) and is called from the
handlers' thread pool, never on the server's event loop. The server only connects to URLs that a
registry entry names, never to one taken from a request, so the API cannot be used to reach
arbitrary hosts.

A `Subtensor` costs about a second of metadata decoding to set up, so `ChainReader` keeps one per
URL and lets one request at a time use it (substrate-interface connections are not thread-safe);
one that fails is dropped and made again on the next request. A block height alone, which the
sidebar polls every second, is a plain JSON-RPC POST (``chain_getHeader``) with no metadata.
"""

from __future__ import annotations

import hashlib
import json
import threading
import urllib.request

from ..errors import TaoLabError

__all__ = ["ChainUnavailable", "UnknownSubnet", "ChainReader", "chain_id", "chains", "find_chain", "rpc_block"]

ST = "SubtensorModule"
TAO = 10**9
U16_MAX = 65535
RPC_TIMEOUT_S = 3.0  # a block-height poll waits no longer than this
CONNECT_TIMEOUT_S = 10.0


class ChainUnavailable(TaoLabError):
    """The node of a registered chain did not answer (the API answers 502)."""


class UnknownSubnet(TaoLabError):
    """The chain has no such subnet (the API answers 404)."""


def chain_id(url: str) -> str:
    """A short id for a chain URL: the first 10 hex digits of its SHA-256 (stable everywhere)."""
    return hashlib.sha256(url.encode()).hexdigest()[:10]


def chains(entries: list[dict]) -> list[dict]:
    """One row per distinct chain URL in the registry entries: id, url, managed, lab ids."""
    rows: dict[str, dict] = {}
    for e in entries:
        chain = e.get("chain") or {}
        url = chain.get("url")
        if not isinstance(url, str) or not url:
            continue
        row = rows.setdefault(url, {"id": chain_id(url), "url": url, "managed": False, "labs": []})
        row["managed"] = row["managed"] or bool(chain.get("managed"))
        if e.get("kind") == "lab":
            row["labs"].append(e["id"])
    return list(rows.values())


def find_chain(cid: str, entries: list[dict]) -> str | None:
    """The URL whose id is ``cid``, among the registry's chains; None when no entry names it."""
    return next((row["url"] for row in chains(entries) if row["id"] == cid), None)


def rpc_block(url: str, timeout: float = RPC_TIMEOUT_S) -> int | None:
    """The head block number by one JSON-RPC POST; None when the node does not answer."""
    http_url = "http" + url[2:] if url.startswith("ws") else url  # ws:// -> http://, wss:// -> https://
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "chain_getHeader", "params": []}).encode()
    req = urllib.request.Request(http_url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return int(json.load(r)["result"]["number"], 16)
    except Exception:
        return None


class ChainReader:
    """One cached `Subtensor` per chain URL, used by one request at a time."""

    def __init__(self):
        self._lock = threading.Lock()
        self._subs: dict[str, object] = {}
        self._locks: dict[str, threading.Lock] = {}

    def _use(self, url: str, read):
        with self._lock:
            lock = self._locks.setdefault(url, threading.Lock())
        with lock:
            sub = self._subs.get(url)
            try:
                if sub is None:
                    from ..client.subtensor import Subtensor

                    sub = self._subs[url] = Subtensor(url, timeout=CONNECT_TIMEOUT_S)
                return read(sub)
            except UnknownSubnet:
                raise
            except Exception as exc:
                self._drop(url)
                raise ChainUnavailable(f"the node at {url} did not answer: {exc}") from None

    def _drop(self, url: str) -> None:
        sub = self._subs.pop(url, None)
        if sub is not None:
            try:
                sub.close()
            except Exception:
                pass

    def forget_missing(self, urls) -> None:
        """Close the connections of chains no longer in the registry."""
        keep = set(urls)
        for url in [u for u in self._subs if u not in keep]:
            with self._locks[url]:
                self._drop(url)

    def close(self) -> None:
        for url in list(self._subs):
            self._drop(url)

    def detail(self, url: str) -> dict:
        """Block and subnets of a chain: netuid, tempo, n, last_epoch_block, next_epoch_in (blocks)."""
        def read(sub):
            block = sub.block()  # every read at this block: the head moves while they run
            subnets = []
            added = sub.query_map(ST, "NetworksAdded", block=block)
            for netuid in sorted(k for k, on in added if on and k != 0):
                tempo = int(sub.query(ST, "Tempo", [netuid], block=block) or 0)
                last = int(sub.query(ST, "LastEpochBlock", [netuid], block=block) or 0)
                n = int(sub.query(ST, "SubnetworkN", [netuid], block=block) or 0)
                subnets.append({"netuid": netuid, "tempo": tempo, "n": n, "last_epoch_block": last,
                                "next_epoch_in": max(last + tempo - block, 0) if tempo else None})
            return {"block": block, "subnets": subnets}

        return self._use(url, read)

    def neurons(self, url: str, netuid: int, known: dict[str, dict]) -> list[dict]:
        """Subnet ``netuid``'s uids from the metagraph, joined with ``known`` (hotkey -> registry info)."""
        from ..client.metagraph import Metagraph

        def read(sub):
            if netuid not in sub.subnets():
                raise UnknownSubnet(f"chain {url} has no subnet {netuid}")
            return Metagraph(netuid).sync(sub)

        mg = self._use(url, read)
        rows = []
        for uid in range(mg.n):
            hotkey = mg.hotkeys[uid]
            mine = known.get(hotkey) or {}
            axon = mg.axons[uid]
            role = mine.get("role") or ("validator" if bool(mg.validator_permit[uid]) else "miner")
            rows.append({
                "netuid": netuid, "uid": uid, "hotkey": hotkey, "coldkey": mg.coldkeys[uid], "role": role,
                "axon": str(axon) if axon.is_serving else None, "stake": float(mg.S[uid]),
                "incentive": float(mg.I[uid]), "emission": float(mg.E[uid]), "dividends": float(mg.D[uid]),
                "last_update": int(mg.last_update[uid]),
                **{k: mine.get(k) for k in ("name", "lab", "state", "pid", "device")},
            })
        return rows


def known_neurons(entries: list[dict], url: str, netuid: int) -> dict[str, dict]:
    """hotkey -> {name, lab, role, state, pid, device} for the neurons labs on ``url`` run in ``netuid``."""
    out = {}
    for e in entries:
        if (e.get("chain") or {}).get("url") != url:
            continue
        for n in e.get("neurons") or []:
            if n.get("hotkey") and n.get("netuid") == netuid:
                out[n["hotkey"]] = {"name": n.get("name"), "lab": e["id"], "role": n.get("role"),
                                    "state": n.get("state"), "pid": n.get("pid"), "device": n.get("device")}
    return out
