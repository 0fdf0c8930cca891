"""`Axon`: the HTTP server a neuron answers synapses on, from a background thread.

A request goes through these checks, cheapest first; the first that fails is the status of the
reply, and nothing escapes as an exception:

    404  no handler attached for the synapse named in the path
    413  body larger than ``max_body`` (refused from Content-Length, before it is read)
    401  unsigned (signature headers missing or malformed), addressed to another axon's hotkey,
         or the sr25519 signature does not verify
    403  ``allow(caller_hotkey)`` is false (e.g. not registered on the subnet)
    409  nonce already seen from that caller, or outside the nonce window
    422  body is not a well-formed message of that synapse
    408  not finished within the caller's timeout (waiting in the queue counts)
    500  the handler raised, or returned something that cannot be sent

All axons of a process share one event loop in one daemon thread (started with the first axon,
stopped with the last): many axons in a notebook cost one thread, not one each, and the loop never
competes with itself for the GIL. Each axon still has its own port, handler thread pool, nonce
window and queue. At most ``concurrency`` handlers run at once; the others wait in a queue ordered by
``priority(caller_hotkey)`` (highest first, e.g. stake), first come first served among equals.
Priority orders the queue only: a running handler is never pre-empted. Async handlers run on the
shared event loop, so they must not block (await, or use plain functions); plain functions run in
the axon's thread pool, so a slow one holds up no other request.

The axon looks up nothing on the network: it binds ``host`` (127.0.0.1 unless told otherwise) and
its `url` is built from that address; serving it on the chain is the `Subtensor` client's job.
"""

from __future__ import annotations

import asyncio
import heapq
import inspect
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiohttp import web

from ..errors import InputError, TaoLabError
from .protocol import Synapse, TransportError, decode_request, encode_response, encode_status
from .signing import HEADERS, NonceWindow, body_hash, keypair_of, verify_signature

__all__ = ["Axon", "AxonError", "allow_registered", "priority_by_stake"]

log = logging.getLogger(__name__)

Handler = Callable[[Synapse], Any]


class AxonError(TaoLabError):
    """The axon could not start (e.g. the port is taken); ``url`` is where it tried to listen."""

    def __init__(self, url: str, message: str):
        self.url = url
        super().__init__(f"{url}: {message}")


class BackgroundLoop:
    """An asyncio event loop running in a daemon thread; `run` executes a coroutine on it from any other thread."""

    def __init__(self, name: str):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._main, name=name, daemon=True)
        started = threading.Event()
        self.loop.call_soon(started.set)
        self.thread.start()
        started.wait()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coro, timeout: float | None = None):
        """Run ``coro`` on the loop and return its result (or raise its exception) in the calling thread."""
        if threading.current_thread() is self.thread:
            coro.close()
            raise RuntimeError(f"{self.thread.name}: cannot wait for this loop from its own thread")
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        """Stop the loop, join the thread and close the loop; tasks still pending are cancelled."""
        if self.loop.is_closed():
            return

        async def cancel_rest():
            rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in rest:
                t.cancel()
            await asyncio.gather(*rest, return_exceptions=True)

        if self.thread.is_alive():
            try:
                self.run(cancel_rest(), timeout=5)
            finally:
                self.loop.call_soon_threadsafe(self.loop.stop)
                self.thread.join(5)
        self.loop.close()


_shared_loop: BackgroundLoop | None = None
_shared_users = 0
_shared_pid = 0
_shared_lock = threading.Lock()


def _acquire_loop() -> BackgroundLoop:
    """The axons' shared loop, started if no axon is running (or if this is a forked child of its process)."""
    global _shared_loop, _shared_users, _shared_pid
    with _shared_lock:
        if _shared_loop is None or _shared_pid != os.getpid():  # a fork does not copy the loop's thread
            _shared_loop, _shared_users, _shared_pid = BackgroundLoop(name="tao-lab-axons"), 0, os.getpid()
        _shared_users += 1
        return _shared_loop


def _release_loop() -> None:
    """One axon fewer on the shared loop; the last one out stops it."""
    global _shared_loop, _shared_users
    with _shared_lock:
        _shared_users -= 1
        if _shared_users == 0 and _shared_loop is not None:
            _shared_loop.close()
            _shared_loop = None


class _PriorityGate:
    """At most ``limit`` holders at once; waiters are admitted highest priority first, FIFO among equals."""

    def __init__(self, limit: int):
        self.limit, self.running, self._heap, self._seq = limit, 0, [], 0

    async def acquire(self, priority: float, timeout: float) -> None:
        """Wait for a slot; raises `TransportError` 408 when ``timeout`` seconds pass first."""
        if self.running < self.limit and not self._heap:
            self.running += 1
            return
        fut = asyncio.get_running_loop().create_future()
        self._seq += 1
        heapq.heappush(self._heap, (-priority, self._seq, fut))
        try:
            await asyncio.wait_for(fut, timeout)
        except asyncio.TimeoutError:
            if fut.done() and not fut.cancelled():  # granted just as the time ran out: hand it on
                self.release()
            raise TransportError(408, f"waited {timeout:.3g} s in the axon's queue without being served") from None

    def release(self) -> None:
        while self._heap:
            _, _, fut = heapq.heappop(self._heap)
            if not fut.done():
                fut.set_result(None)  # the slot passes straight to the waiter
                return
        self.running -= 1


class Axon:
    """Serve synapses over HTTP with signed, replay-protected requests; a context manager.

    ``wallet_or_keypair``: a `tao_lab.Wallet` (its hotkey is used) or an sr25519 `Keypair`.
    ``port``: 0 picks a free port (read it back from `port` or `url`). ``host``: the address to bind.
    ``max_body``: largest request body in bytes (413 beyond). ``allow``: ``caller_hotkey -> bool``,
    e.g. `allow_registered`; None lets every correctly signed caller in. ``priority``:
    ``caller_hotkey -> float``, e.g. `priority_by_stake`; orders the queue. ``concurrency``: handlers
    running at once. ``nonce_window``: seconds a nonce stays valid and remembered.

    ``axon.attach(TextLogProbs, handler).start()`` serves ``POST {url}/TextLogProbs``. ``start`` is
    idempotent and returns once the port is bound; ``stop`` closes the port (and the shared thread
    when no other axon runs).
    `counts` tallies replies by status.
    """

    def __init__(self, wallet_or_keypair, port: int = 0, host: str = "127.0.0.1", *, max_body: int = 8 << 20,
                 allow: Callable[[str], bool] | None = None, priority: Callable[[str], float] | None = None,
                 concurrency: int = 8, nonce_window: float = 60.0):
        self.keypair = keypair_of(wallet_or_keypair)
        self.hotkey: str = self.keypair.ss58_address
        if not isinstance(port, int) or not 0 <= port <= 65535:
            raise InputError("port", f"expected an integer in [0, 65535], got {port!r}")
        if not isinstance(max_body, int) or max_body <= 0:
            raise InputError("max_body", f"expected a positive number of bytes, got {max_body!r}")
        if not isinstance(concurrency, int) or concurrency < 1:
            raise InputError("concurrency", f"expected a positive integer, got {concurrency!r}")
        self.host, self.port, self.max_body = host, port, max_body
        self.allow, self.priority, self.concurrency = allow, priority, concurrency
        self.nonce_window = nonce_window
        self.counts: dict[int, int] = {}
        self._handlers: dict[str, tuple[type[Synapse], Handler, bool]] = {}
        self._loop: BackgroundLoop | None = None
        self._runner: web.AppRunner | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    # -- configuration ------------------------------------------------------------------------

    def attach(self, synapse_type: type[Synapse], handler: Handler) -> Axon:
        """Answer ``synapse_type`` requests with ``handler(synapse) -> synapse`` (sync or async); returns self.

        The handler receives a synapse with its request fields (and ``caller_hotkey``) set, and
        returns it, or another instance of the same type, with the response fields filled; returning
        None means the one it received, filled in place. Attaching a type again replaces its handler.
        """
        if not (isinstance(synapse_type, type) and issubclass(synapse_type, Synapse)) or synapse_type is Synapse:
            raise InputError("synapse_type", f"expected a Synapse subclass, got {synapse_type!r}")
        if not callable(handler):
            raise InputError("handler", f"expected a function of a {synapse_type.name}, got {handler!r}")
        is_async = inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
            type(handler).__call__)  # an object with an async __call__
        self._handlers[synapse_type.name] = (synapse_type, handler, is_async)
        return self

    @property
    def url(self) -> str:
        """``http://host:port`` (port as bound once started)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def is_running(self) -> bool:
        return self._runner is not None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> Axon:
        """Bind the port and serve in a background thread; does nothing if already serving. Returns self."""
        with self._lock:
            if self._runner is not None:
                return self
            loop = _acquire_loop()
            try:
                loop.run(self._serve(), timeout=30)
            except OSError as e:
                _release_loop()
                raise AxonError(self.url, f"cannot listen: {e.strerror or e}; pick another port or port=0") from e
            except BaseException:
                _release_loop()
                raise
            self._loop = loop
            return self

    async def _serve(self) -> None:
        self._nonces = NonceWindow(self.nonce_window)
        self._gate = _PriorityGate(self.concurrency)
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix=f"axon-{self.hotkey[:8]}-handler")
        app = web.Application(client_max_size=self.max_body)
        app.router.add_post("/{name}", self._handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port, backlog=1024)
            await site.start()
        except BaseException:
            await runner.cleanup()
            self._pool.shutdown(wait=False)
            raise
        self.port = runner.addresses[0][1]
        self._runner = runner

    def stop(self) -> None:
        """Close the port (in-flight requests get half a second to finish); safe to call twice."""
        with self._lock:
            loop, runner, self._loop, self._runner = self._loop, self._runner, None, None
            if loop is None:
                return
            try:
                if runner is not None:
                    loop.run(runner.cleanup(), timeout=10)
            finally:
                _release_loop()
                if self._pool is not None:
                    self._pool.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> Axon:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "serving" if self.is_running else "stopped"
        return f"<Axon {self.hotkey} {self.url} {state} synapses={sorted(self._handlers)}>"

    # -- one request ----------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        t0 = time.perf_counter()
        name = request.match_info["name"]
        entry = self._handlers.get(name)
        try:
            if entry is None:
                raise TransportError(404, f"this axon serves {sorted(self._handlers)}, not {name!r}")
            synapse_type, handler, is_async = entry
            synapse, timeout = await self._admit(request, synapse_type)
            priority = float(self.priority(synapse.caller_hotkey)) if self.priority is not None else 0.0
            deadline = t0 + timeout
            await self._gate.acquire(priority, deadline - time.perf_counter())
            result = await self._call(handler, is_async, synapse, deadline, timeout)
            if not isinstance(result, synapse_type):
                raise TransportError(500, f"handler returned {type(result).__name__}, not {synapse_type.name}")
            try:
                body = encode_response(result, 200, "", time.perf_counter() - t0)
            except InputError as e:
                raise TransportError(500, f"handler's response cannot be sent: {e}") from None
            status = 200
        except TransportError as e:
            status = e.status
            body = encode_status(name, status, str(e), time.perf_counter() - t0)
        except Exception as e:  # allow or priority raised: report it, never crash the server
            log.exception("axon %s: %s request failed", self.hotkey, name)
            status = 500
            body = encode_status(name, status, f"{type(e).__name__}: {e}", time.perf_counter() - t0)
        self.counts[status] = self.counts.get(status, 0) + 1
        return web.Response(body=body, status=status, content_type="application/octet-stream")

    async def _admit(self, request: web.Request, synapse_type: type[Synapse]) -> tuple[Synapse, float]:
        """Size, headers, signature, allow, nonce, body: the checks before a handler sees the request."""
        if request.content_length is not None and request.content_length > self.max_body:
            raise TransportError(413, f"body of {request.content_length} bytes is over the {self.max_body}-byte limit")
        h = request.headers
        try:
            caller, axon_hotkey = h[HEADERS["caller"]], h[HEADERS["axon"]]
            nonce, signature = int(h[HEADERS["nonce"]]), h[HEADERS["signature"]]
        except (KeyError, ValueError) as e:
            raise TransportError(401, f"unsigned request: missing or malformed signature header {e}") from None
        try:
            timeout = float(h.get(HEADERS["timeout"], "12"))
            if not 0 < timeout < 86400:
                raise ValueError(f"{timeout} s is not in (0, 86400)")
        except ValueError as e:
            raise TransportError(422, f"bad {HEADERS['timeout']} header: {e}") from None
        if axon_hotkey != self.hotkey:
            raise TransportError(401, f"request is addressed to {axon_hotkey}, this axon is {self.hotkey}")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise TransportError(413, f"body is over the {self.max_body}-byte limit") from None
        verify_signature(signature, nonce, caller, axon_hotkey, body_hash(body))
        if self.allow is not None and not self.allow(caller):
            raise TransportError(403, f"caller {caller} is not allowed by this axon (not registered, or blacklisted)")
        self._nonces.check(caller, nonce)
        synapse = decode_request(synapse_type, body)
        synapse.caller_hotkey, synapse.axon_hotkey = caller, self.hotkey
        return synapse, timeout

    async def _call(self, handler: Handler, is_async: bool, synapse: Synapse, deadline: float, timeout: float):
        """Run the handler holding a gate slot; the slot is freed when the work really ends."""
        if is_async:
            work = asyncio.ensure_future(handler(synapse))
        else:
            work = asyncio.get_running_loop().run_in_executor(self._pool, handler, synapse)
        work.add_done_callback(lambda _: self._gate.release())
        try:
            if not work.done():
                await asyncio.wait((work,), timeout=max(deadline - time.perf_counter(), 0.0))
            if not work.done():
                if is_async:
                    work.cancel()
                raise TransportError(408, f"handler did not finish within the caller's {timeout:.3g} s timeout")
            result = work.result()
            if inspect.isawaitable(result):  # a plain function that returned a coroutine
                result = await asyncio.wait_for(result, max(deadline - time.perf_counter(), 0.0))
        except asyncio.TimeoutError:
            raise TransportError(408, f"handler did not finish within the caller's {timeout:.3g} s timeout") from None
        except TransportError:
            raise
        except Exception as e:
            log.warning("axon %s: %s handler raised", self.hotkey, synapse.name, exc_info=True)
            raise TransportError(500, f"handler raised {type(e).__name__}: {e}") from None
        return synapse if result is None else result


# -- allow and priority from a metagraph ---------------------------------------------------------


def allow_registered(metagraph, min_stake: float = 0.0) -> Callable[[str], bool]:
    """``allow`` for an `Axon`: True for hotkeys registered in ``metagraph`` with stake >= ``min_stake`` TAO.

    Reads the metagraph's current ``hotkeys`` and ``S`` on each call (cached per block), so
    re-syncing the metagraph updates who is let in.
    """
    return lambda hotkey: _stakes(metagraph).get(hotkey, -1.0) >= min_stake


def priority_by_stake(metagraph) -> Callable[[str], float]:
    """``priority`` for an `Axon`: the caller's stake in TAO from ``metagraph`` (0 when unregistered)."""
    return lambda hotkey: max(_stakes(metagraph).get(hotkey, 0.0), 0.0)


def _stakes(metagraph) -> dict[str, float]:
    key = (getattr(metagraph, "block", None), len(metagraph.hotkeys))
    cache = getattr(metagraph, "_axon_stakes", None)
    if cache is None or cache[0] != key:
        stakes = dict(zip(metagraph.hotkeys, (float(s) for s in metagraph.S)))
        cache = (key, stakes)
        try:
            metagraph._axon_stakes = cache
        except AttributeError:
            pass
    return cache[1]
