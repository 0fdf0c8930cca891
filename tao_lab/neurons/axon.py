"""`Axon`: the HTTP server a neuron answers synapses on, from a background thread.

A request goes through these checks, cheapest first; the first that fails is the status of the
reply, and nothing escapes as an exception. Everything up to 409 reads the headers only: no byte of
the body is read, or held in memory, for a request that is forged, refused or replayed.

    404  no handler attached for the synapse named in the path
    411  no Content-Length (chunked bodies are refused: their size is not known in advance)
    413  body larger than ``max_body`` (from Content-Length)
    401  unsigned (signature headers missing or malformed), addressed to another axon's hotkey,
         or the sr25519 signature does not verify over the nonce, hotkeys and declared body hash
    403  ``allow(caller_hotkey)`` is false (e.g. not registered on the subnet)
    409  nonce already seen from that caller, or outside the nonce window
    503  no room in the body budget (``body_budget`` bytes in flight, ``caller_body_budget`` per
         caller) within ``budget_wait`` seconds; Retry-After is sent
    401  the body read does not have the hash the signature covers
    422  body is not a well-formed message of that synapse, or the handler's ``cost`` refused it
    413  the handler's ``cost`` found the request too large for the model
    429  the caller spent its ``rate_limit`` (cost units per interval); Retry-After says when to retry
    408  not finished within the caller's timeout (waiting in the queue counts)
    500  the handler raised, or returned something that cannot be sent

All axons of a process share one event loop in one daemon thread (started with the first axon,
stopped with the last): many axons in a notebook cost one thread, not one each, and the loop never
competes with itself for the GIL. Each axon still has its own port, handler thread pool, nonce
window, budgets and queue. At most ``concurrency`` handlers run at once; the others wait in a queue
ordered by ``priority(caller_hotkey)`` (highest first, e.g. stake; by default the share of its rate
limit the caller has left, so a caller who asked less is served first), first come first served
among equals. Priority orders the queue only: a running handler is never pre-empted. Async handlers
run on the shared event loop, so they must not block (await, or use plain functions); plain
functions run in the axon's thread pool, so a slow one holds up no other request.

The axon looks up nothing on the network: it binds ``host`` (127.0.0.1 unless told otherwise) and
its `url` is built from that address; serving it on the chain is the `Subtensor` client's job.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import inspect
import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiohttp import web

from ..errors import InputError, TaoLabError
from .admission import ByteBudget, CallerBuckets
from .protocol import Synapse, TransportError, decode_request, encode_response, encode_status
from .signing import HEADERS, NonceWindow, keypair_of, verify_signature

__all__ = ["Axon", "AxonError", "allow_registered", "priority_by_stake"]

log = logging.getLogger(__name__)

Handler = Callable[[Synapse], Any]
Cost = Callable[[Synapse], float]

_HEX64 = re.compile(r"[0-9a-f]{64}")
#: seconds a connection whose body was left unread is drained before it is closed
LINGER_S = 0.0
#: the status counted (in ``Axon.counts``) for a request whose caller hung up before it was read
#: (nginx's 499, "client closed request"); no reply is sent
CALLER_GONE = 499


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
    ``max_body``: largest request body in bytes (413 beyond). ``allow``: ``caller_hotkey -> bool``
    (or an awaitable bool, or raise `TransportError` 403 with its own reason), e.g.
    `allow_registered` or `tao_lab.neurons.admission.SubnetCallers`; None lets every correctly
    signed caller in. ``priority``: ``caller_hotkey -> float``, e.g. `priority_by_stake`; orders the
    queue. ``concurrency``: handlers running at once. ``nonce_window``: seconds a nonce stays valid
    and remembered. ``body_budget``: bytes of request bodies held at once, all callers together;
    ``caller_body_budget``: the same for one caller (default a quarter of ``body_budget``, at least
    ``max_body``); ``budget_wait``: seconds a request waits for room before a 503. ``rate_limit``:
    ``(amount, seconds)``: each caller may spend ``amount`` of the handlers' ``cost`` units per
    ``seconds`` (a token bucket; 429 beyond); None: no limit.

    ``axon.attach(TextLogProbs, handler).start()`` serves ``POST {url}/TextLogProbs``. ``start`` is
    idempotent and returns once the port is bound; ``stop`` closes the port (and the shared thread
    when no other axon runs).
    `counts` tallies replies by status.
    """

    def __init__(self, wallet_or_keypair, port: int = 0, host: str = "127.0.0.1", *, max_body: int = 8 << 20,
                 allow: Callable[[str], Any] | None = None, priority: Callable[[str], float] | None = None,
                 concurrency: int = 8, nonce_window: float = 60.0, body_budget: int = 64 << 20,
                 caller_body_budget: int | None = None, budget_wait: float = 1.0,
                 rate_limit: tuple[float, float] | None = None):
        self.keypair = keypair_of(wallet_or_keypair)
        self.hotkey: str = self.keypair.ss58_address
        if not isinstance(port, int) or not 0 <= port <= 65535:
            raise InputError("port", f"expected an integer in [0, 65535], got {port!r}")
        if not isinstance(max_body, int) or max_body <= 0:
            raise InputError("max_body", f"expected a positive number of bytes, got {max_body!r}")
        if not isinstance(concurrency, int) or concurrency < 1:
            raise InputError("concurrency", f"expected a positive integer, got {concurrency!r}")
        if not isinstance(body_budget, int) or body_budget < max_body:
            raise InputError("body_budget", f"expected bytes >= max_body ({max_body}), got {body_budget!r}")
        if caller_body_budget is None:
            caller_body_budget = min(body_budget, max(max_body, body_budget // 4))
        if not isinstance(caller_body_budget, int) or not max_body <= caller_body_budget <= body_budget:
            raise InputError("caller_body_budget", f"expected bytes in [max_body, body_budget] = [{max_body}, "
                                                   f"{body_budget}], got {caller_body_budget!r}")
        if not isinstance(budget_wait, (int, float)) or not 0 <= budget_wait < 3600:
            raise InputError("budget_wait", f"expected seconds in [0, 3600), got {budget_wait!r}")
        if rate_limit is not None:
            try:
                amount, per_s = (float(x) for x in rate_limit)
                CallerBuckets(amount, per_s)
            except (TypeError, ValueError, InputError):
                raise InputError("rate_limit", f"expected (amount > 0, seconds > 0) or None, got {rate_limit!r}") \
                    from None
            rate_limit = (amount, per_s)
        self.body_budget, self.caller_body_budget, self.budget_wait = body_budget, caller_body_budget, budget_wait
        self.rate_limit = rate_limit
        self.host, self.port, self.max_body = host, port, max_body
        self.allow, self.priority, self.concurrency = allow, priority, concurrency
        self.nonce_window = nonce_window
        self.counts: dict[int, int] = {}
        self._handlers: dict[str, tuple[type[Synapse], Handler, bool, Cost | None]] = {}
        self._loop: BackgroundLoop | None = None
        self._runner: web.AppRunner | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    # -- configuration ------------------------------------------------------------------------

    def attach(self, synapse_type: type[Synapse], handler: Handler, cost: Cost | None = None) -> Axon:
        """Answer ``synapse_type`` requests with ``handler(synapse) -> synapse`` (sync or async); returns self.

        The handler receives a synapse with its request fields (and ``caller_hotkey``) set, and
        returns it, or another instance of the same type, with the response fields filled; returning
        None means the one it received, filled in place. Attaching a type again replaces its handler.

        ``cost(synapse) -> float``, run on the event loop before the request is queued (so it must be
        quick): validates the request against what the handler can do, raising `TransportError`
        (422 malformed, 413 too large), and returns what it costs in the units of ``rate_limit``
        (e.g. tokens). None: no validation, cost 1.
        """
        if not (isinstance(synapse_type, type) and issubclass(synapse_type, Synapse)) or synapse_type is Synapse:
            raise InputError("synapse_type", f"expected a Synapse subclass, got {synapse_type!r}")
        if not callable(handler):
            raise InputError("handler", f"expected a function of a {synapse_type.name}, got {handler!r}")
        if cost is not None and not callable(cost):
            raise InputError("cost", f"expected a function of a {synapse_type.name} or None, got {cost!r}")
        is_async = inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
            type(handler).__call__)  # an object with an async __call__
        self._handlers[synapse_type.name] = (synapse_type, handler, is_async, cost)
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
        self._budget = ByteBudget(self.body_budget, self.caller_body_budget, self.budget_wait)
        self._buckets = CallerBuckets(*self.rate_limit) if self.rate_limit is not None else None
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix=f"axon-{self.hotkey[:8]}-handler")
        app = web.Application(client_max_size=self.max_body)
        app.router.add_post("/{name}", self._handle)
        # lingering_time: a body left unread (a refused request) is drained and dropped for at most
        # LINGER_S, then the connection is closed; never buffered.
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5,
                               lingering_time=LINGER_S)
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
        caller, held, retry_after = "", 0, None
        try:
            if entry is None:
                raise TransportError(404, f"this axon serves {sorted(self._handlers)}, not {name!r}")
            synapse_type, handler, is_async, cost_of = entry
            caller, timeout, length, digest = await self._check_headers(request)
            deadline = t0 + timeout
            await self._budget.acquire(caller, length, deadline - time.perf_counter())
            held = length
            body = await self._read_body(request, length, digest, deadline, timeout)
            synapse = decode_request(synapse_type, body)
            del body  # the synapse's arrays are views of it
            synapse.caller_hotkey, synapse.axon_hotkey = caller, self.hotkey
            cost = float(cost_of(synapse)) if cost_of is not None else 1.0
            if self._buckets is not None:
                self._buckets.take(caller, cost)
            if self.priority is not None:
                priority = float(self.priority(caller))
            else:
                priority = self._buckets.level(caller) if self._buckets is not None else 0.0
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
            status, retry_after = e.status, e.retry_after
            body = encode_status(name, status, str(e), time.perf_counter() - t0)
        except ConnectionResetError:  # the caller hung up (its timeout passed) while its request was read
            log.debug("axon %s: a %s caller %s closed the connection before its request arrived", self.hotkey, name,
                      caller or "(unknown)")
            status = CALLER_GONE  # counted; the reply has nowhere to go
            body = encode_status(name, status, "the caller closed the connection", time.perf_counter() - t0)
        except Exception as e:  # allow, priority or cost raised: report it, never crash the server
            log.exception("axon %s: %s request failed", self.hotkey, name)
            status = 500
            body = encode_status(name, status, f"{type(e).__name__}: {e}", time.perf_counter() - t0)
        finally:
            if held:
                self._budget.release(caller, held)
        self.counts[status] = self.counts.get(status, 0) + 1
        headers = {"Retry-After": str(max(1, math.ceil(retry_after)))} if retry_after is not None else None
        return web.Response(body=body, status=status, headers=headers, content_type="application/octet-stream")

    async def _check_headers(self, request: web.Request) -> tuple[str, float, int, str]:
        """Size, signature, allow, nonce, from the headers alone; returns (caller, timeout s, length, body hash)."""
        length = request.content_length
        if length is None:
            raise TransportError(411, "a request needs a Content-Length (chunked bodies are not accepted)")
        if length > self.max_body:
            raise TransportError(413, f"body of {length} bytes is over the {self.max_body}-byte limit")
        h = request.headers
        try:
            caller, axon_hotkey = h[HEADERS["caller"]], h[HEADERS["axon"]]
            nonce, signature = int(h[HEADERS["nonce"]]), h[HEADERS["signature"]]
            digest = h[HEADERS["body_hash"]]
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
        if not _HEX64.fullmatch(digest):
            raise TransportError(401, f"malformed {HEADERS['body_hash']} header: expected 64 lowercase hex digits")
        verify_signature(signature, nonce, caller, axon_hotkey, digest)
        if self.allow is not None:
            allowed = self.allow(caller)
            if inspect.isawaitable(allowed):
                allowed = await allowed
            if not allowed:
                raise TransportError(403, f"caller {caller} is not allowed by this axon (not registered, or "
                                          f"blacklisted)")
        self._nonces.check(caller, nonce)
        return caller, timeout, length, digest

    async def _read_body(self, request: web.Request, length: int, digest: str, deadline: float,
                         timeout: float) -> bytearray:
        """Exactly ``length`` bytes into one buffer, hashed as they arrive; 401 when the hash is not ``digest``."""
        buf, hasher = bytearray(length), hashlib.blake2b(digest_size=32)
        view, got = memoryview(buf), 0

        async def fill() -> int:
            n = 0
            while n < length:
                chunk = await request.content.readany()
                if not chunk:
                    break
                chunk = chunk[:length - n]  # never more than declared (the HTTP parser already ensures it)
                view[n:n + len(chunk)] = chunk
                hasher.update(chunk)
                n += len(chunk)
            return n

        try:
            if request.content.is_eof():  # all of it arrived with the headers (small bodies): no timer needed
                got = await fill()
            else:
                got = await asyncio.wait_for(fill(), max(deadline - time.perf_counter(), 0.0))
        except asyncio.TimeoutError:
            raise TransportError(408, f"the body did not arrive within the caller's {timeout:.3g} s timeout") from None
        finally:
            view.release()
        if got != length:
            raise TransportError(422, f"body ended after {got} of its {length} bytes")
        if hasher.hexdigest() != digest:
            raise TransportError(401, "body does not have the hash its signature covers: the signature does not "
                                      "verify over this body")
        return buf

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
