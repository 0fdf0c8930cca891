"""The kernel side of the registry: a `Lab` or a bare `Devnet` says what it runs.

`LabPublisher` runs one daemon thread per lab that, every `INTERVAL_S` seconds (and at once when
poked after ``add_miners``/``add_validators``/``remove``), applies the commands the server dropped
(stop or restart a neuron), writes the lab's entry and appends its new validator events. It holds
the lab by a weak reference, so it never keeps a lab alive, and it never raises into user code: a
failed tick is logged and the next one tries again.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref

from .registry import EVENTS_KEPT, Publisher, publishing_enabled, shared_devnet

__all__ = ["LabPublisher", "start_lab_publisher", "publish_devnet", "resolve_shared", "INTERVAL_S"]

logger = logging.getLogger("tao_lab.server.registry")

INTERVAL_S = 1.0  # seconds between republishing ticks


def start_lab_publisher(lab) -> LabPublisher | None:
    """A running `LabPublisher` for ``lab`` where publishing is on (see `publishing_enabled`), else None."""
    try:
        if not publishing_enabled():
            return None
        return LabPublisher(lab).start()
    except Exception:  # publishing must never stop a lab from starting
        logger.exception("tao_lab: could not start publishing the lab to the Jupyter registry")
        return None


def resolve_shared() -> dict:
    """The shared devnet's registry entry; raises `LabError` when this Jupyter server runs none."""
    from ..lab import LabError

    e = shared_devnet()
    if e is None or not (e.get("chain") or {}).get("url"):
        raise LabError("no shared devnet is running on this Jupyter server: start one from the TAO Lab sidebar "
                       "or POST /tao-lab/api/devnet (docs/server.md)")
    return e


class LabPublisher:
    """Publishes one lab: its chain, subnets and neurons every second, its events, its commands."""

    def __init__(self, lab, interval: float = INTERVAL_S):
        self._lab = weakref.ref(lab)
        self.interval = interval
        self.publisher = Publisher("lab")
        self.id = self.publisher.id
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._cursor: int | None = None
        self._thread = threading.Thread(target=self._run, name=f"tao-lab-publish-{self.id}", daemon=True)

    def start(self) -> LabPublisher:
        self._thread.start()
        return self

    def poke(self) -> None:
        """Republish now rather than at the next tick."""
        self._wake.set()

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread and remove the entry (idempotent, never raises)."""
        self._closed.set()
        self._wake.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self.publisher.remove()

    # ------------------------------------------------------------------ the thread

    def _run(self) -> None:
        while not self._closed.is_set():
            lab = self._lab()
            if lab is None or lab.closed:
                break
            try:
                self.tick(lab)
            except Exception:
                logger.warning("tao_lab: publishing lab %s failed; retrying", self.id, exc_info=True)
            del lab  # no strong reference while waiting
            self._wake.wait(self.interval)
            self._wake.clear()
        self.publisher.remove()

    def tick(self, lab) -> None:
        """One round: commands first (so their effect is in the entry written next), entry, events."""
        for command in self.publisher.take_commands():
            self._apply(lab, command)
        if self._closed.is_set() or lab.closed:
            return
        self.publisher.publish(**lab_snapshot(lab))
        self._publish_events(lab)

    def _apply(self, lab, command: dict) -> None:
        name, op = command["neuron"], command["op"]
        try:
            if name not in lab.supervisor._neurons:
                logger.warning("tao_lab: registry command %s for unknown neuron %r ignored", op, name)
            elif op == "stop":
                lab.remove(name)
            else:
                lab.supervisor.restart(name)
        except Exception:
            logger.warning("tao_lab: registry command %s %s failed", op, name, exc_info=True)

    def _publish_events(self, lab) -> None:
        log = lab.supervisor.events
        if self._cursor is None:
            self._cursor = max(0, len(log) - EVENTS_KEPT)
        new, self._cursor = log.since(self._cursor)
        self.publisher.add_events(new[-EVENTS_KEPT:])


def lab_snapshot(lab) -> dict:
    """The chain, netuids and neurons of a lab, as `Publisher.publish` takes them."""
    sup = lab.supervisor
    members = dict(lab._members)
    # The supervisor's rows, read the way `status` does but without its crash warnings: a warning
    # raised from this thread would land in some other cell's output and be lost to the user's own
    # `lab.neurons()` call.
    with sup._lock:
        rows = [sup._row(r) for r in list(sup._neurons.values())]
    neurons = []
    for row in rows:
        m = members.get(row["name"])
        uid = m.uid if m is not None and m.uid is not None else row["uid"]
        neurons.append({
            "name": row["name"], "role": row["role"], "netuid": m.netuid if m is not None else lab.netuid,
            "uid": None if uid is None else int(uid),
            "hotkey": _key(m, "hotkey_ss58"), "coldkey": _key(m, "coldkey_ss58"),
            "axon": f"127.0.0.1:{int(row['port'])}" if row["port"] else None,
            "pid": row["pid"], "mode": row["mode"], "device": row["device"], "state": row["state"],
            "error": row["error"],
        })
    netuids = sorted({m.netuid for m in members.values()} | ({lab.netuid} if lab.netuid is not None else set()))
    devnet_pid = lab.devnet.pid if lab.devnet is not None else getattr(lab, "_shared_devnet_pid", None)
    chain = {"url": lab.url, "devnet_pid": devnet_pid, "managed": bool(getattr(lab, "_shared", False))}
    return {"chain": chain, "netuids": netuids, "neurons": neurons}


def _key(member, attribute: str) -> str | None:
    try:
        return getattr(member.wallet, attribute) if member is not None else None
    except Exception:  # a wallet whose key file cannot be read: the entry goes on without it
        return None


def publish_devnet(devnet, force: bool = False) -> Publisher | None:
    """Write a ``devnet`` entry for a bare running `Devnet` where publishing is on (or ``force``); else None.

    The entry is written once (nothing in it changes while the node runs); the caller removes it
    with `Publisher.remove` when the node stops.
    """
    try:
        if not (force or publishing_enabled()):
            return None
        pub = Publisher("devnet")
        pub.publish({"url": devnet.url, "devnet_pid": devnet.pid, "managed": False})
        return pub
    except Exception:
        logger.warning("tao_lab: could not publish the devnet to the Jupyter registry", exc_info=True)
        return None


def _unpublish(pub: Publisher | None) -> None:
    if pub is not None and pub.fixed["pid"] == os.getpid():  # never a forked child's copy
        pub.remove()
