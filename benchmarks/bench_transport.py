"""Transport latency: tao_lab's Axon/Dendrite against bittensor 10's, one protocol for both sides.

The protocol, the same for both:

* **one server process**: one axon, started by the client's process as a child process of the
  same interpreter, on loopback;
* **the full synapse**: for bittensor, a ``bt.Synapse`` subclass with ``bt.Tensor`` fields and
  ``required_hash_fields = ("x",)``, so the dendrite puts the SHA3-256 body hash of the input in
  the signed headers and the axon's ``verify_body_integrity`` re-hashes the body; the axon has a
  ``blacklist_fn`` (the caller must be in a table of stakes) and a ``priority_fn`` (the caller's
  stake) attached. For tao_lab, a `tao_lab.neurons.Synapse` subclass with array fields (its
  signature always covers the blake2b-256 of the body), and the axon's ``allow`` and ``priority``
  hooks with the same table;
* **the handler**: ``async def``, answers ``y = x + 1`` (both axons run async handlers on their event
  loop; bittensor's subnet template does the same);
* **the input**: a fresh random (16, 128) float32 array for every call (drawn outside the timer);
* **the timed region**, per call: encode the input (``bt.Tensor.serialize`` for bittensor; tao_lab
  encodes inside ``forward``), ``dendrite.forward`` to the axon listed N times (N concurrent
  requests: fan-outs of 1, 16 and 64), and decode every reply's array (``Tensor.deserialize`` for
  bittensor; tao_lab decodes inside ``forward``);
* **every reply checked** after the timer stops: status 200 and ``y == x + 1`` exactly; a failed
  reply stops the run;
* **statistics**: p50, p90 and p99 by nearest rank (the ceil(p/100 * n)-th smallest time; no
  interpolation) over ``--n`` calls for a fan-out of 1 and ``--n-fanout`` calls for 16 and 64,
  each after ``--warmup`` untimed calls. One call of a fan-out of 64 is one sample: the time until
  all 64 replies are decoded.

bittensor's client and its axon run in its own virtual environment, ``bittensor-10.5.0-torch``
(`_sdk.py`: bittensor 10.5.0 with torch 2.13.0, the CPU wheel; created on first use). ``bt.Tensor``
needs torch even for numpy arrays (its dtype table imports torch on first use), and torch is
bittensor's own tensor type. ``USE_TORCH`` is unset, so ``bt.Tensor`` serializes numpy arrays and
deserializes to numpy (msgpack-numpy, then base64 in the JSON body), as subnets without torch
models would. Offline adjustment, outside the timed code: bittensor's
``networking.get_external_ip`` (which asks web services for this machine's address when a
``Dendrite`` is made) returns a documentation address; the axon is given ``external_ip``.

Run from the repository root: ``python benchmarks/bench_transport.py [--n 300] [--n-fanout 50]``
(about 3 minutes on 2 cores, most of it bittensor's fan-out of 64). ``--no-bittensor``: the kit only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

B, T = 16, 128
FANOUTS = (1, 16, 64)
#: the caller (in the hooks' table of stakes) and the axon: sr25519 keys from the same URIs on both sides
VALIDATOR_URI = "//bench//validator"
MINER_URI = "//bench//miner"
TARGET_P50_MS = {1: 2.0, 16: 15.0}


def nearest_rank(values: list[float], p: int) -> float:
    """The p-th percentile (p an integer in 1..100) by nearest rank: the ceil(p * n / 100)-th smallest value."""
    ordered = sorted(values)
    return ordered[-(-p * len(ordered) // 100) - 1]  # integer ceil: no float rounding at exact ranks


def summary(seconds: list[float]) -> dict:
    ms = [s * 1e3 for s in seconds]
    return {"n": len(ms), "p50": nearest_rank(ms, 50), "p90": nearest_rank(ms, 90), "p99": nearest_rank(ms, 99)}


def stakes(validator_ss58: str) -> dict[str, float]:
    """The table both sides' blacklist/allow and priority hooks read: the validator plus 255 others."""
    table = {f"5bench-other-{i:03d}": float(i) for i in range(255)}
    table[validator_ss58] = 1000.0
    return table


def run_protocol(forward_once, n: int, n_fanout: int, warmup: int, seed: int = 0) -> dict:
    """Time ``forward_once(x, fanout) -> list of decoded y`` for each fan-out; check every reply.

    Returns ``{fanout: summary}``. Raises AssertionError on the first reply that is not ``x + 1``.
    """
    rng = np.random.default_rng(seed)
    out = {}
    for fanout in FANOUTS:
        times = []
        for i in range(warmup + (n if fanout == 1 else n_fanout)):
            x = rng.standard_normal((B, T), dtype=np.float32)
            t0 = time.perf_counter()
            ys = forward_once(x, fanout)
            elapsed = time.perf_counter() - t0
            want = x + 1
            assert len(ys) == fanout, f"fan-out {fanout}: {len(ys)} replies"
            for k, y in enumerate(ys):
                assert isinstance(y, np.ndarray) and y.dtype == np.float32 and np.array_equal(y, want), \
                    f"fan-out {fanout}, call {i}, reply {k}: {y if not isinstance(y, np.ndarray) else 'wrong values'}"
            if i >= warmup:
                times.append(elapsed)
        out[str(fanout)] = summary(times)
    return out


class ServerProcess:
    """The axon in a child process (``--serve SIDE``) of ``python``; yields what it printed, stops it on exit."""

    def __init__(self, python: str, side: str):
        self.args = [python, os.path.abspath(__file__), "--serve", side]

    def __enter__(self) -> dict:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        self.proc = subprocess.Popen(self.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        line = self.proc.stdout.readline()
        if not line.startswith("{"):
            self.proc.kill()
            raise RuntimeError(f"{' '.join(self.args)} did not start its axon")
        return json.loads(line)

    def __exit__(self, *exc) -> None:
        self.proc.stdin.close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def serve(start) -> None:
    """Server process: start the axon, print its address as one JSON line, serve until stdin closes."""
    info, stop = start()
    print(json.dumps(info), flush=True)
    sys.stdin.read()
    stop()


# ---------------------------------------------------------------------------------------------
# tao_lab (this checkout, in the dev environment)


def _kit_synapse():
    from tao_lab.neurons.protocol import Synapse, request_field, response_field

    class AddOne(Synapse):
        x: np.ndarray = request_field(dtype="float32", ndim=2)  # (B, T)
        y: np.ndarray | None = response_field(dtype="float32", ndim=2)  # (B, T)

    return AddOne


def kit_axon():
    from substrateinterface import Keypair

    from tao_lab.neurons import Axon

    AddOne = _kit_synapse()
    table = stakes(Keypair.create_from_uri(VALIDATOR_URI).ss58_address)

    async def forward(syn):
        syn.y = syn.x + 1
        return syn

    axon = Axon(Keypair.create_from_uri(MINER_URI), allow=lambda hotkey: hotkey in table,
                priority=lambda hotkey: table.get(hotkey, 0.0)).attach(AddOne, forward).start()
    return {"url": axon.url, "hotkey": axon.hotkey}, axon.stop


def bench_kit(n: int, n_fanout: int, warmup: int) -> dict:
    import asyncio

    from substrateinterface import Keypair

    from tao_lab.neurons import Dendrite

    AddOne = _kit_synapse()
    with ServerProcess(sys.executable, "tao_lab") as info:
        target = (info["url"], info["hotkey"])
        dendrite = Dendrite(Keypair.create_from_uri(VALIDATOR_URI))
        loop = asyncio.new_event_loop()

        async def call(x, fanout):
            replies = await dendrite.forward([target] * fanout, AddOne(x=x), timeout=30.0)
            bad = [r for r in replies if r.status != 200]
            return [r.y for r in replies] if not bad else [f"{bad[0].status} {bad[0].message}"]

        try:
            return run_protocol(lambda x, fanout: loop.run_until_complete(call(x, fanout)), n, n_fanout, warmup)
        finally:
            loop.run_until_complete(dendrite.aclose())
            loop.close()


# ---------------------------------------------------------------------------------------------
# bittensor 10 (in its own environment: ``python bench_transport.py --bittensor-client``)


def _bittensor():
    """bittensor, the offline patch and the synapse (bittensor's interpreter only)."""
    import bittensor as bt
    from bittensor.utils import networking

    networking.get_external_ip = lambda: "192.0.2.1"  # offline: no web lookup (TEST-NET-1 address)

    class AddOne(bt.Synapse):
        # Optional: the axon rebuilds a synapse from the headers first, with an empty instance of each
        # required field's type, and an empty bt.Tensor does not validate
        x: bt.Tensor | None = None
        y: bt.Tensor | None = None
        required_hash_fields = ("x",)  # the body hash the dendrite signs and the axon re-computes

    return bt, AddOne


def _bt_wallet(name: str, uri: str):
    import tempfile

    from bittensor_wallet import Keypair, Wallet

    w = Wallet(name=name, hotkey="default", path=tempfile.mkdtemp(prefix="bt-bench-"))
    key = Keypair.create_from_uri(uri)
    w.set_coldkey(key, encrypt=False, overwrite=True)
    w.set_coldkeypub(key, overwrite=True)
    w.set_hotkey(key, encrypt=False, overwrite=True)
    return w


def bittensor_axon():
    import socket
    from typing import Tuple  # bittensor compares the hooks' signatures with typing.Tuple[bool, str]

    bt, AddOne = _bittensor()
    wallet = _bt_wallet("miner", MINER_URI)
    table = stakes(_bt_wallet("validator", VALIDATOR_URI).hotkey.ss58_address)

    async def forward(synapse):
        synapse.y = bt.Tensor.serialize(synapse.x.deserialize() + 1)
        return synapse

    def blacklist(synapse):
        caller = synapse.dendrite.hotkey
        return (caller not in table, "not registered" if caller not in table else "registered")

    def priority(synapse):
        return table.get(synapse.dendrite.hotkey, 0.0)

    # `attach` checks real classes against the annotations (this module has postponed annotations)
    forward.__annotations__ = {"synapse": AddOne, "return": AddOne}
    blacklist.__annotations__ = {"synapse": AddOne, "return": Tuple[bool, str]}
    priority.__annotations__ = {"synapse": AddOne, "return": float}

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    axon = bt.Axon(wallet=wallet, port=port, ip="127.0.0.1", external_ip="127.0.0.1")
    axon.attach(forward_fn=forward, blacklist_fn=blacklist, priority_fn=priority)
    axon.start()
    for _ in range(100):  # uvicorn starts in a thread
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    info = {"ip": "127.0.0.1", "port": port, "hotkey": wallet.hotkey.ss58_address,
            "coldkey": wallet.coldkeypub.ss58_address}
    return info, axon.stop


def bench_bittensor(n: int, n_fanout: int, warmup: int) -> dict:
    import asyncio

    from bittensor.core.settings import version_as_int

    bt, AddOne = _bittensor()
    with ServerProcess(sys.executable, "bittensor") as t:
        info = bt.AxonInfo(version=version_as_int, ip=t["ip"], port=t["port"], ip_type=4, hotkey=t["hotkey"],
                           coldkey=t["coldkey"])
        dendrite = bt.Dendrite(wallet=_bt_wallet("validator", VALIDATOR_URI))
        loop = asyncio.new_event_loop()

        async def call(x, fanout):
            synapse = AddOne(x=bt.Tensor.serialize(x))
            replies = await dendrite.forward([info] * fanout, synapse, timeout=30.0, deserialize=False)
            bad = [r for r in replies if r.dendrite.status_code != 200 or r.y is None]
            if bad:
                return [f"{bad[0].dendrite.status_code} {bad[0].dendrite.status_message}"]
            return [r.y.deserialize() for r in replies]

        try:
            out = run_protocol(lambda x, fanout: loop.run_until_complete(call(x, fanout)), n, n_fanout, warmup)
        finally:
            loop.run_until_complete(dendrite.aclose_session())
            loop.close()
    import torch

    return {"version": bt.__version__, "torch": torch.__version__, "fanouts": out}


# ---------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300, help="timed calls with a fan-out of 1")
    ap.add_argument("--n-fanout", type=int, default=50, help="timed calls with a fan-out of 16, and of 64")
    ap.add_argument("--warmup", type=int, default=10, help="untimed calls before each fan-out")
    ap.add_argument("--no-bittensor", action="store_true", help="measure the kit only")
    ap.add_argument("--bittensor-client", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--serve", choices=("tao_lab", "bittensor"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve == "tao_lab":
        return serve(kit_axon)
    if args.serve == "bittensor":
        return serve(bittensor_axon)
    if args.bittensor_client:
        print(json.dumps(bench_bittensor(args.n, args.n_fanout, args.warmup)))
        return

    import aiohttp

    import _sdk  # benchmarks/_sdk.py: this script's folder is on sys.path

    print(f"nproc {os.cpu_count()}, {platform.processor() or platform.machine()}, CPython {platform.python_version()},"
          f" numpy {np.__version__}, aiohttp {aiohttp.__version__} (tao_lab's axon)")
    print(f"protocol: one axon in its own process, fan-outs {', '.join(map(str, FANOUTS))}; a fresh random ({B}, {T}) "
          "float32 x per call answered with x + 1; encode, forward and decode timed; every reply checked")
    load = {"tao_lab": os.getloadavg()[0]}
    ours = bench_kit(args.n, args.n_fanout, args.warmup)
    theirs, note = None, "bittensor not measured (--no-bittensor)"
    if not args.no_bittensor:
        python = _sdk.venv_python(_sdk.TORCH_CLIENT)
        load["bittensor"] = os.getloadavg()[0]
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "USE_TORCH")}
        proc = subprocess.run([str(python), os.path.abspath(__file__), "--bittensor-client", "--n", str(args.n),
                               "--n-fanout", str(args.n_fanout), "--warmup", str(args.warmup)],
                              capture_output=True, text=True, env=env, timeout=1200, check=False)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        if proc.returncode != 0 or not lines:
            raise SystemExit(f"bittensor's run failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
        theirs = json.loads(lines[-1])
        note = f"bittensor {theirs['version']} (torch {theirs['torch']}, bt.Tensor over numpy)"
    load["end"] = os.getloadavg()[0]
    print(f"{note}; load average at the start of tao_lab's run {load['tao_lab']:.2f}"
          + (f", of bittensor's {load['bittensor']:.2f}" if "bittensor" in load else "")
          + f", at the end {load['end']:.2f}")
    print()
    head = f"{'fan-out':>7}  {'calls':>5}  {'tao_lab p50 / p90 / p99 ms':>28}  {'bittensor p50 / p90 / p99 ms':>30}  " \
           f"{'p50 ratio':>9}"
    print(head)
    print("-" * len(head))
    for fanout in FANOUTS:
        a = ours[str(fanout)]
        b = theirs["fanouts"][str(fanout)] if theirs else None
        fmt = lambda s: f"{s['p50']:.2f} / {s['p90']:.2f} / {s['p99']:.2f}"  # noqa: E731
        ratio = f"{b['p50'] / a['p50']:.1f}x" if b else ""
        print(f"{fanout:>7}  {a['n']:>5}  {fmt(a):>28}  {fmt(b) if b else '—':>30}  {ratio:>9}")
    print()
    print("nearest-rank percentiles of the time per call (all replies of a fan-out decoded); every reply was "
          "status 200 with y == x + 1")
    print()
    print(f"{'target (tao_lab)':<30}  {'measured ms':>11}  result")
    print(f"{'-' * 30}  {'-' * 11}  ------")
    for fanout, target in TARGET_P50_MS.items():
        value = ours[str(fanout)]["p50"]
        label = f"p50, fan-out {fanout} < {target:g} ms"
        print(f"{label:<30}  {value:>11.2f}  {'PASS' if value < target else 'MISS'}")


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # this checkout's tao_lab
    main()
