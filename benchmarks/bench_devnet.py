"""Benchmark of the embedded devnet, with unmodified substrate-interface as the client.

Measures, on this machine:

* cold start: ``Devnet().start()`` (a new Python process: imports, metadata, genesis) until it listens,
  and until its first block;
* ``SubstrateInterface(url)`` + ``init_runtime()``;
* signed submit -> ``inBlock`` latency in instant mode (compose, sign, submit with
  ``wait_for_inclusion=True``), p50 / p99 over many transfers, next to the floor of a bare JSON-RPC
  round trip (``system_health``) on the same connection;
* sustained signed transactions per second from 4 client processes (each pre-signs its transfers,
  then submits them back to back with ``author_submitExtrinsic``), in instant and interval mode;
* the time of the block that runs a Yuma epoch for a full 256-uid subnet (64 validators weighting
  every miner), next to an ordinary block;
* resident memory of the node process.

Run from the repository root: ``python benchmarks/bench_devnet.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tao_lab.node.devnet import Devnet  # noqa: E402

TARGETS = {
    "cold start to listening": ("< 1 s", 1.0),
    "cold start to first block": ("< 1 s", 1.0),
    "submit -> inBlock p50 (instant)": ("< 10 ms", 0.010),
    "sustained tx/s, 4 clients": (">= 300 tx/s", 300.0),
    "epoch, 256-uid subnet": ("< 50 ms", 0.050),
    "node resident memory": ("< 200 MiB", 200.0),
}


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def wait_first_block(url: str, started: float) -> float:
    """Seconds from ``started`` until the node reports block 1 (interval mode, 0.25 s blocks)."""
    import websocket

    ws = websocket.create_connection(url, timeout=10)
    try:
        while True:
            ws.send('{"jsonrpc":"2.0","id":1,"method":"chain_getHeader","params":[]}')
            number = int(json.loads(ws.recv())["result"]["number"], 16)
            if number >= 1:
                return time.perf_counter() - started
            time.sleep(0.005)
    finally:
        ws.close()


def measure_latency(url: str, n: int) -> tuple[list[float], list[float]]:
    from substrateinterface import Keypair, SubstrateInterface

    si = SubstrateInterface(url=url)
    alice = Keypair.create_from_uri("//Alice")
    bob = Keypair.create_from_uri("//Bob").ss58_address
    rtt, lat = [], []
    for _ in range(3):  # warm-up: the client loads and caches the metadata on its first compose
        call = si.compose_call("Balances", "transfer_keep_alive", {"dest": bob, "value": 10**6})
        si.submit_extrinsic(si.create_signed_extrinsic(call=call, keypair=alice), wait_for_inclusion=True)
    for _ in range(n):
        t = time.perf_counter()
        si.rpc_request("system_health", [])
        rtt.append(time.perf_counter() - t)
    for _ in range(n):
        t = time.perf_counter()
        call = si.compose_call("Balances", "transfer_keep_alive", {"dest": bob, "value": 10**6})
        ext = si.create_signed_extrinsic(call=call, keypair=alice)
        receipt = si.submit_extrinsic(ext, wait_for_inclusion=True)
        lat.append(time.perf_counter() - t)
        assert receipt.is_success
    si.close()
    return rtt, lat


def _client(url: str, uri: str, n: int, start_barrier, out_queue) -> None:
    """One client process: pre-sign n transfers, then submit them back to back."""
    from substrateinterface import Keypair, SubstrateInterface

    si = SubstrateInterface(url=url)
    key = Keypair.create_from_uri(uri)
    dest = Keypair.create_from_uri("//Ferdie").ss58_address
    nonce = si.get_account_nonce(key.ss58_address)
    call = si.compose_call("Balances", "transfer_keep_alive", {"dest": dest, "value": 10**6})
    signed = [si.create_signed_extrinsic(call=call, keypair=key, nonce=nonce + i) for i in range(n)]
    start_barrier.wait()
    t = time.perf_counter()
    for ext in signed:
        si.rpc_request("author_submitExtrinsic", [str(ext.data)])
    # Wait until every transfer is in a block: the account nonce has moved past the last one.
    while si.get_account_nonce(key.ss58_address) < nonce + n:
        time.sleep(0.005)
    out_queue.put((t, time.perf_counter(), n))
    si.close()


def measure_throughput(url: str, per_client: int) -> float:
    ctx = mp.get_context("spawn")
    barrier, queue = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=_client, args=(url, uri, per_client, barrier, queue))
             for uri in ("//Alice", "//Bob", "//Charlie", "//Dave")]
    for p in procs:
        p.start()
    results = [queue.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    start = min(r[0] for r in results)
    end = max(r[1] for r in results)
    return sum(r[2] for r in results) / (end - start)


def measure_epoch(n_uids: int = 256, validators: int = 64) -> tuple[float, float]:
    """A full subnet inside the chain: the block that runs its epoch vs an ordinary block (seconds).

    ``n_uids`` neurons on subnet 1 (the owner's hotkey is uid 0), ``validators`` of them staked and
    setting random weights on every miner; the epoch runs inside block production as on the node.
    """
    import hashlib
    import random

    from tao_lab.chain.chain import Chain, dev_accounts

    def key(name: str) -> bytes:
        return hashlib.blake2b(name.encode(), digest_size=32).digest()

    st = "SubtensorModule"
    chain = Chain.dev()
    bob = dev_accounts()["bob"].public
    chain.dispatch("root", "AdminUtils", "sudo_set_max_allowed_uids", netuid=1, max_allowed_uids=n_uids)
    for i in range(n_uids - 1):
        chain.dispatch(bob, st, "burned_register", netuid=1, hotkey=key(f"hotkey{i}"))
    rng = random.Random(0)
    miners = list(range(validators, n_uids))
    for i in range(validators - 1):
        chain.dispatch(bob, st, "add_stake", hotkey=key(f"hotkey{i}"), netuid=1, amount_staked=1000 * 10**9)
    tempo = chain.query(st, "Tempo", 1)
    chain.advance(tempo + 1)  # an epoch hands out the validator permits
    for i in range(validators - 1):
        chain.dispatch(key(f"hotkey{i}"), st, "set_weights", netuid=1, dests=miners,
                       weights=[rng.randint(1, 65535) for _ in miners], version_key=0)
    times = []
    for _ in range(3 * (tempo + 1)):
        t = time.perf_counter()
        chain.advance(1)
        times.append(time.perf_counter() - t)
    times.sort()
    return statistics.median(times[-3:]), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer transactions")
    args = parser.parse_args()
    n_lat = 50 if args.quick else 200
    per_client = 100 if args.quick else 400

    print(f"machine: {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, "
          f"python {platform.python_version()}")
    rows = []

    t = time.perf_counter()
    dev = Devnet(instant=True).start()
    cold = time.perf_counter() - t
    from substrateinterface import SubstrateInterface

    t = time.perf_counter()
    si = SubstrateInterface(url=dev.url)
    si.init_runtime()
    connect = time.perf_counter() - t
    si.close()
    rtt, lat = measure_latency(dev.url, n_lat)
    tps_instant = measure_throughput(dev.url, per_client)
    mem = rss_mib(dev._proc.pid)
    dev.stop()

    t = time.perf_counter()
    dev = Devnet(block_time=0.25).start()
    first_block = wait_first_block(dev.url, t)
    tps_interval = measure_throughput(dev.url, per_client)
    mem = max(mem, rss_mib(dev._proc.pid))
    dev.stop()
    epoch_s, plain_block_s = measure_epoch()

    rows += [
        ("cold start to listening", f"{cold:.3f} s", "", cold),
        ("cold start to first block", f"{first_block:.3f} s", "interval mode, 0.25 s blocks", first_block),
        ("connect + init_runtime", f"{connect:.3f} s", "", None),
        ("submit -> inBlock p50 (instant)", f"{statistics.median(lat) * 1000:.2f} ms",
         f"RPC round trip p50 {statistics.median(rtt) * 1000:.2f} ms", statistics.median(lat)),
        ("submit -> inBlock p99 (instant)", f"{percentile(lat, 0.99) * 1000:.2f} ms",
         f"RPC round trip p99 {percentile(rtt, 0.99) * 1000:.2f} ms", None),
        ("sustained tx/s, 4 clients", f"{tps_instant:.0f} tx/s instant", f"{tps_interval:.0f} tx/s interval 250 ms",
         max(tps_instant, tps_interval)),
        ("epoch, 256-uid subnet", f"{epoch_s * 1000:.1f} ms", f"a block without epoch: {plain_block_s * 1000:.2f} ms", epoch_s),
        ("node resident memory", f"{mem:.0f} MiB", "subtensor localnet: 3 nodes x ~286 MiB", mem),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"\n{'measure':<{width}}  {'tao_lab devnet':>22}  {'baseline / context':<40}  {'target':<12} result")
    print(f"{'-' * width}  {'-' * 22}  {'-' * 40}  {'-' * 12} ------")
    for name, value, baseline, raw in rows:
        target, limit = TARGETS.get(name, ("", None))
        result = ""
        if limit is not None and raw is not None:
            ok = raw >= limit if name.startswith("sustained") else raw <= limit
            result = "PASS" if ok else "MISS"
        print(f"{name:<{width}}  {value:>22}  {baseline:<40}  {target:<12} {result}")


if __name__ == "__main__":
    main()
