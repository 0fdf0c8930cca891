"""Soak: a miner's axon next to hostile clients, and what its honest validator sees (issue 11, 13-17).

A devnet (its own process), a miner with the default options (tiny Llama, ``allow="registered"``,
default limits) in a process of its own, and an honest registered validator that sends ``NextToken``
requests of 32 contexts x 128 bytes, one after another (``--pause`` seconds apart), for the whole run.

The baseline is the first half of the run (``--seconds``), honest traffic alone; in the second half
a hostile process joins, one thread per kind of attack, each as fast as it can:

* ``forged 8 MiB``: two threads sending 8 MiB bodies whose headers carry a hash the signature does
  not cover (401 before the body is read);
* ``bad signature``: small requests with 64 random bytes as the signature (401);
* ``unregistered``: correctly signed requests from a hotkey not on the subnet (403);
* ``oversize compute``: a registered hotkey asking for a 256 KiB ``TextLogProbs`` (one row of
  65,536 tokens: 413) and for full-size requests of 64 x 128 tokens back to back (200 until its
  rate limit is spent, then 429).

Printed: the honest client's latency (p50, p99, max, share answered 200) without and with the
hostiles side by side, the miner process's RSS (at start, peak, after the soak), and what each
hostile got back. Run: ``python benchmarks/bench_hostile_axon.py [--seconds 60]``.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import socket
import statistics
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _rss_kib(pid: int, field: str = "VmRSS") -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


# -- the miner, in its own process -------------------------------------------------------------------


def serve_miner(url: str, ready, stop) -> None:
    from tao_lab import Subtensor, Wallet
    from tao_lab.neurons.miner import Miner

    with Subtensor(url) as sub:
        miner = Miner(Wallet.dev("//Charlie", hotkey_uri="//Charlie//soak-miner"), sub, 1, threads=1).start()
        ready.put((miner.axon.port, miner.axon.hotkey, os.getpid()))
        stop.wait()
        miner.stop()


# -- hostile clients, in one process of their own, one thread per kind ------------------------------


def _post(port: int, path: str, headers: dict, body: bytes, declared: int | None = None) -> int:
    """POST on a fresh socket; the HTTP status, or 0 when the axon closed the connection first."""
    length = len(body) if declared is None else declared
    head = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", f"Content-Length: {length}"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
            try:
                sock.sendall(body)
            except OSError:
                pass  # refused and closed before the whole body was sent
            data = b""
            while b"\r\n" not in data:
                chunk = sock.recv(4096)
                if not chunk:
                    return 0
                data += chunk
            return int(data.split(b" ", 2)[1])
    except OSError:
        return 0


def hostiles(port: int, axon_hotkey: str, seconds: float, out, only: str = "") -> None:
    from substrateinterface import Keypair

    from tao_lab.neurons.protocol import NextToken, TextLogProbs, encode_request
    from tao_lab.neurons.signing import Signer, body_hash

    registered = Keypair.create_from_uri("//Ferdie//soak-greedy")
    stranger = Keypair.create_from_uri("//Mallory//soak")
    small = encode_request(NextToken(context_ids=np.zeros((32, 128), np.int32)))
    big = b"\0" * (8 << 20)
    huge_row = encode_request(TextLogProbs(token_ids=np.zeros((1, 65536), np.int32)))
    full = encode_request(NextToken(context_ids=np.zeros((64, 128), np.int32)))
    tally: dict[str, Counter] = {}
    end = time.monotonic() + seconds

    def signed(key, body):
        return Signer(key).headers(axon_hotkey, body_hash(body), 5.0)

    def forged_big():
        headers = {**signed(stranger, b"x"), "tao-body-hash": "11" * 32}
        return _post(port, "/NextToken", headers, big)

    def bad_signature():
        return _post(port, "/NextToken", {**signed(stranger, small), "tao-signature": os.urandom(64).hex()}, small)

    def unregistered():
        return _post(port, "/NextToken", signed(stranger, small), small)

    def oversize():
        a = _post(port, "/TextLogProbs", signed(registered, huge_row), huge_row)
        b = _post(port, "/NextToken", signed(registered, full), full)
        return (a, b)

    def loop(name, fn):
        counts = tally.setdefault(name, Counter())
        while time.monotonic() < end:
            got = fn()
            for status in (got if isinstance(got, tuple) else (got,)):
                counts[status] += 1

    kinds = [("forged 8 MiB", forged_big), ("forged 8 MiB", forged_big), ("bad signature", bad_signature),
             ("unregistered", unregistered), ("oversize compute", oversize)]
    kinds = [k for k in kinds if not only or k[0] in only.split(",")]
    threads = [threading.Thread(target=loop, args=kind, daemon=True) for kind in kinds]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 30)
    out.put({name: dict(c) for name, c in tally.items()})


# -- the honest validator and the run ----------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="whole run; hostiles join for the second half")
    parser.add_argument("--pause", type=float, default=0.05, help="seconds between the honest client's requests")
    parser.add_argument("--only", default="", help="comma-separated hostile kinds to run (default: all)")
    args = parser.parse_args()

    from tao_lab import Devnet, Subtensor, Wallet
    from tao_lab.neurons import Dendrite, NextToken

    ctx = mp.get_context("spawn")
    context = (np.arange(32 * 128) * 7919 % 251).astype(np.int32).reshape(32, 128)
    with Devnet(instant=True) as dev, Subtensor(dev) as sub:
        validator = Wallet.dev("//Dave", hotkey_uri="//Dave//soak-validator")
        sub.burned_register(validator, 1)
        sub.burned_register(Wallet.dev("//Ferdie", hotkey_uri="//Ferdie//soak-greedy"), 1)
        ready, stop = ctx.Queue(), ctx.Event()
        miner = ctx.Process(target=serve_miner, args=(dev.url, ready, stop), daemon=True)
        miner.start()
        port, hotkey, pid = ready.get(timeout=120)
        target = (f"http://127.0.0.1:{port}", hotkey)
        half = args.seconds / 2
        with Dendrite(validator) as d:
            for _ in range(5):  # warm-up
                d.query(target, NextToken(context_ids=context), timeout=5)
            rss_start = _rss_kib(pid)
            phases = {}
            tallies = None
            for phase in ("alone (baseline)", "with hostiles"):
                proc = out = None
                if phase == "with hostiles":
                    out = ctx.Queue()
                    proc = ctx.Process(target=hostiles, args=(port, hotkey, half, out, args.only), daemon=True)
                    proc.start()
                    time.sleep(1.0)  # let the hostile process import and start
                lat, codes = [], Counter()
                end = time.monotonic() + half
                while time.monotonic() < end:
                    t0 = time.perf_counter()
                    r = d.query(target, NextToken(context_ids=context), timeout=5)
                    lat.append(time.perf_counter() - t0)
                    codes[r.status] += 1
                    time.sleep(args.pause)
                phases[phase] = (lat, codes)
                if proc is not None:
                    tallies = out.get(timeout=60)
                    proc.join(30)
            rss_peak = _rss_kib(pid, "VmHWM")
            time.sleep(2.0)
            rss_end = _rss_kib(pid)
        stop.set()
        miner.join(30)

    print(f"# bench_hostile_axon: {platform.node()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"{args.seconds:g} s (half alone, half with hostiles)")
    print()
    print(f"{'honest validator, NextToken 32x128':<38}{'requests':>9}{'ok':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for phase, (lat, codes) in phases.items():
        ms = sorted(x * 1e3 for x in lat)
        p99 = ms[min(len(ms) - 1, int(0.99 * len(ms)))]
        print(f"{phase:<38}{len(ms):>9}{codes.get(200, 0) / len(ms):>8.1%}{statistics.median(ms):>9.1f}"
              f"{p99:>9.1f}{ms[-1]:>9.1f}")
    print()
    print(f"miner process RSS: {rss_start / 1024:.0f} MiB at start, {rss_peak / 1024:.0f} MiB peak, "
          f"{rss_end / 1024:.0f} MiB after the soak")
    print()
    print(f"{'hostile':<20}{'requests':>9}  statuses (0: connection closed by the axon)")
    for name, counts in sorted((tallies or {}).items()):
        print(f"{name:<20}{sum(counts.values()):>9}  " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))


if __name__ == "__main__":
    main()
