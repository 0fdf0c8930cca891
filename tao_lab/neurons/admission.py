"""Who may call an axon, and how much: the caller allow-list, body memory and compute per caller.

Three pieces the `Axon` uses before a handler sees a request (see `tao_lab.neurons.axon`):

* `SubnetCallers`: an ``allow`` that lets in the hotkeys registered on a subnet (or only those
  holding a validator permit). It keeps the subnet's hotkeys in memory and re-reads them from the
  chain every ``refresh_s`` seconds in the background, never once per request; an unknown caller
  waits for one fresh read (at most one every ``miss_interval_s``, shared by every waiting caller)
  so a validator that registered a moment ago is let in on its first request.
* `ByteBudget`: the bytes of request bodies held at once, in all and per caller. A body is read
  only after its signature checked out and a share of the budget was granted, so forged or
  refused requests never cost memory.
* `CallerBuckets`: a token bucket per caller, in the handler's cost units (tokens for language
  models): a caller may spend ``amount`` per ``per_s`` seconds, in bursts up to ``amount``.

All three run on the axon's event loop and are not thread-safe; chain reads run in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable

from ..errors import InputError
from .protocol import TransportError

__all__ = ["ByteBudget", "CallerBuckets", "SubnetCallers"]

log = logging.getLogger(__name__)

ST = "SubtensorModule"


class SubnetCallers:
    """``allow`` for an `Axon`: callers registered on subnet ``netuid`` (``mode="registered"``) or
    registered with a validator permit (``mode="validators"``).

    ``subtensor``: a `tao_lab.Subtensor`; the reads go over a connection of their own to the same
    node (its ``url``), so they never interleave with the owner's requests on a shared socket.
    ``refresh_s``: seconds between background re-reads (a deregistered hotkey is let in until the
    next one). ``miss_interval_s``: the shortest time between two reads caused by unknown callers.

    Called with a hotkey it returns True at once for a known caller; otherwise an awaitable that
    re-reads the subnet if allowed and then returns True or raises `TransportError` 403 saying why
    and how to let such callers in.
    """

    def __init__(self, subtensor, netuid: int, mode: str = "registered", *, refresh_s: float = 12.0,
                 miss_interval_s: float = 1.0):
        if mode not in ("registered", "validators"):
            raise InputError("allow", f"expected 'registered', 'validators' or 'any', got {mode!r}")
        self.subtensor, self.netuid, self.mode = subtensor, int(netuid), mode
        self.refresh_s, self.miss_interval_s = float(refresh_s), float(miss_interval_s)
        self.hotkeys: frozenset[str] = frozenset()
        self.read_at = -math.inf  # time.monotonic() of the last completed read
        self.reads = 0
        self._started_at = -math.inf  # time.monotonic() of the last read started
        self._reading: asyncio.Future | None = None
        self._own = None  # our own Subtensor connection, opened on first use

    # -- reading the chain (worker thread) ------------------------------------------------------

    def read(self, subtensor=None) -> frozenset[str]:
        """Read the allowed hotkeys from the chain now (blocking); returns them and keeps them.

        ``subtensor``: the connection to read with (default: our own; pass the owner's only from
        the thread that owns it, e.g. in ``Miner.start``).
        """
        sub = subtensor if subtensor is not None else self._connection()
        keys = sub.query_map(ST, "Keys", [self.netuid])  # [(uid, hotkey)]
        if self.mode == "validators":
            permit = sub.query(ST, "ValidatorPermit", [self.netuid]) or []
            keys = [(uid, hk) for uid, hk in keys if uid < len(permit) and permit[uid]]
        self.hotkeys = frozenset(hk for _, hk in keys)
        self.read_at = time.monotonic()
        self.reads += 1
        return self.hotkeys

    def _connection(self):
        if self._own is None:
            url = getattr(self.subtensor, "url", None)
            if isinstance(url, str):
                from ..client.subtensor import Subtensor

                self._own = Subtensor(url)
            else:  # not a Subtensor of ours (a stand-in in a test): use it as it is
                self._own = self.subtensor
        return self._own

    def close(self) -> None:
        """Close the connection of our own (a later read opens another)."""
        own, self._own = self._own, None
        if own is not None and own is not self.subtensor:
            own.close()

    # -- on the axon's loop ------------------------------------------------------------------------

    def __call__(self, hotkey: str) -> bool | Awaitable[bool]:
        now = time.monotonic()
        if now - self._started_at > self.refresh_s and self._reading is None:
            self._refresh()  # in the background: this request is answered from what we know
        if hotkey in self.hotkeys:
            return True
        return self._after_a_fresh_read(hotkey)

    def _refresh(self) -> asyncio.Future:
        """Start a read in a worker thread unless one is running; the future of the running one."""
        if self._reading is None:
            self._started_at = time.monotonic()
            loop = asyncio.get_running_loop()
            self._reading = loop.run_in_executor(None, self.read)
            self._reading.add_done_callback(self._done)
        return self._reading

    def _done(self, fut: asyncio.Future) -> None:
        self._reading = None
        if not fut.cancelled() and fut.exception() is not None:
            log.warning("reading the callers of subnet %d failed: %s", self.netuid, fut.exception())

    async def _after_a_fresh_read(self, hotkey: str) -> bool:
        asked = time.monotonic()
        while self.read_at < asked:  # wait for a read that started after this caller arrived
            wait = self._started_at + self.miss_interval_s - time.monotonic()
            if self._reading is None and wait > 0:
                await asyncio.sleep(wait)
                continue
            fut = self._refresh()
            try:
                await asyncio.shield(fut)
            except Exception as e:  # the chain did not answer: refuse, and say so
                raise TransportError(503, f"cannot check whether {hotkey} is registered on subnet {self.netuid}: "
                                          f"{e}") from None
            if self._started_at < asked and self.read_at < asked:
                continue  # that read began before we asked: it may miss a registration we must see
        if hotkey in self.hotkeys:
            return True
        who = "registered on" if self.mode == "registered" else "a validator (registered, with a permit) on"
        raise TransportError(403, f"caller {hotkey} is not {who} subnet {self.netuid}; this miner answers "
                                  f"{self.mode} callers only. Register the hotkey, or start the miner with "
                                  f"allow='any' to answer every signed caller")


class ByteBudget:
    """At most ``total`` bytes of request bodies held at once, and at most ``per_caller`` by one caller.

    `acquire` waits up to ``wait_s`` seconds for room (first come, first served), then raises
    `TransportError` 503; `release` gives the bytes back.
    """

    def __init__(self, total: int, per_caller: int, wait_s: float = 1.0):
        self.total, self.per_caller, self.wait_s = int(total), int(per_caller), float(wait_s)
        self.used = 0
        self.peak = 0
        self.by_caller: dict[str, int] = {}
        self._changed = asyncio.Event()

    async def acquire(self, caller: str, n: int, wait_s: float | None = None) -> None:
        """Hold ``n`` bytes for ``caller``; raises `TransportError` 503 after ``wait_s`` (default `wait_s`) without room."""
        deadline = time.monotonic() + (self.wait_s if wait_s is None else max(0.0, min(wait_s, self.wait_s)))
        while not self._fits(caller, n):
            left = deadline - time.monotonic()
            if left <= 0:
                mine = self.by_caller.get(caller, 0)
                who = (f"this caller already has {mine} bytes in flight (at most {self.per_caller})"
                       if mine + n > self.per_caller else
                       f"{self.used} bytes of request bodies are in flight (at most {self.total})")
                raise TransportError(503, f"axon busy: {who}; retry shortly", retry_after=1)
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except asyncio.TimeoutError:
                pass
        self.used += n
        self.peak = max(self.peak, self.used)
        self.by_caller[caller] = self.by_caller.get(caller, 0) + n

    def _fits(self, caller: str, n: int) -> bool:
        return self.used + n <= self.total and self.by_caller.get(caller, 0) + n <= self.per_caller

    def release(self, caller: str, n: int) -> None:
        self.used -= n
        left = self.by_caller.get(caller, 0) - n
        if left > 0:
            self.by_caller[caller] = left
        else:
            self.by_caller.pop(caller, None)
        self._changed.set()


class CallerBuckets:
    """A token bucket per caller: ``amount`` cost units per ``per_s`` seconds, bursts up to ``amount``.

    `take` spends a request's cost or raises `TransportError` 429 with the seconds to wait;
    `level` is a caller's share of its bucket left (1.0 for a caller not seen lately), which the
    axon uses as queue priority so that a caller who spent less is served first.
    """

    def __init__(self, amount: float, per_s: float):
        if not (amount > 0 and per_s > 0):
            raise InputError("rate_limit", f"expected (amount > 0, seconds > 0), got ({amount!r}, {per_s!r})")
        self.amount, self.per_s = float(amount), float(per_s)
        self.rate = self.amount / self.per_s  # units per second
        self._buckets: dict[str, tuple[float, float]] = {}  # caller -> (level, at monotonic time)
        self._takes = 0

    def _now(self, caller: str, now: float) -> float:
        level, at = self._buckets.get(caller, (self.amount, now))
        return min(self.amount, level + (now - at) * self.rate)

    def level(self, caller: str) -> float:
        """The share of ``caller``'s bucket not spent, 0..1."""
        return self._now(caller, time.monotonic()) / self.amount

    def take(self, caller: str, cost: float) -> None:
        """Spend ``cost`` from ``caller``'s bucket; raises `TransportError` 413 or 429 when it cannot."""
        now = time.monotonic()
        if cost > self.amount:
            raise TransportError(413, f"request costs {cost:g}, more than a caller may spend in {self.per_s:g} s "
                                      f"({self.amount:g}); split it")
        level = self._now(caller, now)
        if level < cost:
            wait = (cost - level) / self.rate
            raise TransportError(429, f"caller {caller} spent its {self.amount:g} per {self.per_s:g} s; "
                                      f"this request (cost {cost:g}) fits in {wait:.2f} s", retry_after=wait)
        self._buckets[caller] = (level - cost, now)
        self._takes += 1
        if self._takes % 1024 == 0:  # forget callers whose bucket is full again: same as never seen
            full = [c for c, (lv, at) in self._buckets.items() if lv + (now - at) * self.rate >= self.amount]
            for c in full:
                del self._buckets[c]
