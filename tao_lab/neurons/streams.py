"""Live neuron events: validators' `EventLog`s, from child processes and threads, merged into one log.

A process-mode validator writes its new events as JSON lines to a pipe the supervisor made for it
(`EventPipeWriter`, in the child); a thread-mode validator's own `EventLog` is read in place. One
reader thread in the parent (`EventStream`) gathers both every `POLL_S` seconds into one
`EventLog`, each event gaining ``neuron`` (the neuron's name), and calls the listeners with each
batch.

The child never blocks on the pipe: writes are non-blocking, what does not fit waits in a buffer
capped at `MAX_PENDING_BYTES` (older whole lines are dropped past it), and once the parent is gone
(a broken pipe) the writer stops writing. A child that dies only ends its pipe: the reader goes on
with the others.
"""

from __future__ import annotations

import json
import logging
import os
import selectors
import threading
from collections.abc import Callable, Iterable, Mapping

from ..errors import InputError
from .events import EventLog

__all__ = ["EventPipeWriter", "EventStream", "MAX_PENDING_BYTES", "POLL_S"]

POLL_S = 0.1  # the reader's longest wait: thread-mode logs are polled this often
MAX_PENDING_BYTES = 4 * 1024 * 1024  # what a child buffers while the parent does not read
READ_BYTES = 1 << 16

log = logging.getLogger("tao_lab.neurons.streams")

Listener = Callable[[list[dict]], None]


# ------------------------------------------------------------------ the child's end


class EventPipeWriter:
    """Write event dicts as JSON lines to file descriptor ``fd``, never blocking (the child's side).

    Args:
        fd: the write end of the supervisor's pipe (the spec's ``events_fd``); owned from now on.
    """

    def __init__(self, fd: int):
        self.fd: int | None = fd
        os.set_blocking(fd, False)
        self._pending = bytearray()
        self.dropped = 0  # events dropped because the parent did not read (or was gone)

    def send(self, events: Iterable[Mapping]) -> None:
        """Queue ``events`` and write as much as the pipe takes now."""
        lines = [json.dumps(dict(ev), default=str).encode() + b"\n" for ev in events]
        if self.fd is None:
            self.dropped += len(lines)
            return
        for line in lines:
            self._pending += line
        self.flush()
        if len(self._pending) > MAX_PENDING_BYTES:
            self._drop_to(MAX_PENDING_BYTES // 2)

    def flush(self) -> None:
        """Write pending bytes until the pipe is full; a parent gone for good closes the writer."""
        while self._pending and self.fd is not None:
            try:
                n = os.write(self.fd, self._pending)
            except BlockingIOError:
                return
            except OSError:  # BrokenPipeError: nobody will read again
                self.dropped += self._pending.count(b"\n")
                self._pending.clear()
                self.close()
                return
            del self._pending[:n]

    def _drop_to(self, size: int) -> None:
        # Keep the end of a line already half written (the reader must see it whole), then drop
        # whole lines from the oldest until ``size`` bytes are left.
        head_end = self._pending.find(b"\n") + 1
        head, rest = self._pending[:head_end], self._pending[head_end:]
        while len(rest) > size and b"\n" in rest:
            cut = rest.find(b"\n") + 1
            del rest[:cut]
            self.dropped += 1
        self._pending = head + rest

    def close(self) -> None:
        if self.fd is not None:
            try:
                os.close(self.fd)
            except OSError:
                pass
            self.fd = None


# ------------------------------------------------------------------ the parent's end


class EventStream:
    """One `EventLog` fed by pipes (process-mode validators) and by other `EventLog`s (thread mode).

    The reader thread starts with the first source and ends with `close`. It holds no reference
    to the supervisor, so a supervisor can be collected (its finalizer calls `close`).
    """

    def __init__(self):
        self.log = EventLog()
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self._new_pipes: list[tuple[str, int]] = []  # registered by the reader thread itself
        self._logs: dict[str, Callable[[], EventLog | None]] = {}
        self._cursors: dict[str, tuple[EventLog, int]] = {}  # name -> (the log read, cursor); the reader's own
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ sources and listeners

    def add_pipe(self, name: str, fd: int) -> None:
        """Read JSON-line events for neuron ``name`` from ``fd`` (a pipe's read end, owned from now on) until EOF."""
        os.set_blocking(fd, False)
        with self._lock:
            self._new_pipes.append((name, fd))
        self._ensure_thread()

    def add_log(self, name: str, source: Callable[[], EventLog | None]) -> None:
        """Forward neuron ``name``'s events from the `EventLog` ``source()`` returns (None: not built yet).

        A new log from ``source`` (the neuron was restarted) is read from its start.
        """
        with self._lock:
            self._logs[name] = source
        self._ensure_thread()

    def on_events(self, listener: Listener) -> Listener:
        """Call ``listener(events)`` with each new batch, from the reader thread; returns ``listener``.

        Adding the same listener twice (a re-run cell) adds it once. A listener that raises is
        logged and kept.
        """
        if not callable(listener):
            raise InputError("callback", f"expected a function of a list of event dicts, got {listener!r}")
        with self._lock:
            if listener not in self._listeners:
                self._listeners.append(listener)
        return listener

    def off_events(self, listener: Listener) -> None:
        """Stop calling ``listener`` (nothing happens if it was not added)."""
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def close(self) -> None:
        """Stop the reader thread (idempotent); events already gathered stay in `log`."""
        self._closed.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2.0)

    # ------------------------------------------------------------------ the reader thread

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None and not self._closed.is_set():
                self._thread = threading.Thread(target=self._run, name="neuron-events", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        selector = selectors.DefaultSelector()
        partial: dict[int, bytes] = {}
        try:
            while not self._closed.is_set():
                with self._lock:
                    new, self._new_pipes = self._new_pipes, []
                for name, fd in new:
                    selector.register(fd, selectors.EVENT_READ, name)
                    partial[fd] = b""
                batch: list[dict] = []
                if selector.get_map():
                    ready = selector.select(POLL_S)
                else:
                    self._closed.wait(POLL_S)
                    ready = []
                for key, _ in ready:
                    batch += self._read_pipe(selector, key, partial)
                batch += self._read_logs()
                if batch:
                    self._publish(batch)
        finally:
            for key in list(selector.get_map().values()):
                selector.unregister(key.fd)
                os.close(key.fd)
            selector.close()

    def _read_pipe(self, selector, key, partial: dict[int, bytes]) -> list[dict]:
        fd, name = key.fd, key.data
        try:
            chunk = os.read(fd, READ_BYTES)
        except BlockingIOError:
            return []
        except OSError:
            chunk = b""
        if not chunk:  # EOF: the child exited (or was killed); a half line left behind is dropped
            selector.unregister(fd)
            os.close(fd)
            partial.pop(fd, None)
            return []
        *lines, partial[fd] = (partial[fd] + chunk).split(b"\n")
        events = []
        for line in lines:
            try:
                ev = json.loads(line)
            except ValueError:
                log.warning("dropped a malformed event line from %s: %r", name, line[:200])
                continue
            if isinstance(ev, dict):
                events.append({**ev, "neuron": name})
        return events

    def _read_logs(self) -> list[dict]:
        with self._lock:
            sources = list(self._logs.items())
        events = []
        for name, source in sources:
            try:
                log_ = source()
            except Exception:  # a neuron being rebuilt: try again next time
                continue
            if log_ is None:
                continue
            seen, cursor = self._cursors.get(name, (None, 0))
            if seen is not log_:
                cursor = 0
            new, cursor = log_.since(cursor)
            self._cursors[name] = (log_, cursor)
            events += [{**ev, "neuron": name} for ev in new]
        return events

    def _publish(self, batch: list[dict]) -> None:
        try:
            self.log.extend(batch)
        except InputError:  # one bad event must not cost the others
            good = []
            for ev in batch:
                try:
                    self.log.extend([ev])
                    good.append(ev)
                except InputError as exc:
                    log.warning("dropped an event from %s: %s", ev.get("neuron"), exc)
            batch = good
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener([dict(ev) for ev in batch])
            except Exception:
                log.exception("an on_events listener raised; it stays registered")
