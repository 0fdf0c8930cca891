"""Benchmark of the devnet's memory over a long run: resident memory (RSS) with a full subnet.

A chain with a full 256-uid subnet (64 staked validators weighting every miner, an epoch every
tempo) imports ``--blocks`` blocks (default 100,000) through the `Chain` object directly, as fast as
it can: the node's block production without the RPC around it. It runs twice, each in a fresh
process, side by side:

* baseline, ``keep_blocks=None``: every block's state and body kept forever (the node before
  pruning);
* pruned, ``keep_blocks=4096`` (the default): older state and bodies discarded.

The table gives the RSS after the subnet is set up and at checkpoints, then after a ``dev_reset``
(``Chain.truncate(0)``) and ``gc.collect()``.

Run from the repository root: ``python benchmarks/bench_node_memory.py [--blocks N]``.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import platform
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

N_UIDS, VALIDATORS = 256, 64
CONFIGS = {"baseline (keep all)": "none", "pruned (keep 4096)": "4096"}


def rss_mib() -> float:
    """This process's resident set size in MiB (Linux ``/proc``)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def full_subnet(keep_blocks: int | None):
    """A dev chain whose subnet 1 has 256 uids, 63 staked validators setting weights on every miner."""
    from tao_lab.chain.chain import Chain, dev_accounts, dev_genesis

    def key(name: str) -> bytes:
        return hashlib.blake2b(name.encode(), digest_size=32).digest()

    st = "SubtensorModule"
    chain = Chain(genesis=dev_genesis(), keep_blocks=keep_blocks)
    bob = dev_accounts()["bob"].public
    chain.dispatch("root", "AdminUtils", "sudo_set_max_allowed_uids", netuid=1, max_allowed_uids=N_UIDS)
    for i in range(N_UIDS - 1):
        chain.dispatch(bob, st, "burned_register", netuid=1, hotkey=key(f"hotkey{i}"))
    for i in range(VALIDATORS - 1):
        chain.dispatch(bob, st, "add_stake", hotkey=key(f"hotkey{i}"), netuid=1, amount_staked=1000 * 10**9)
    chain.advance(chain.query(st, "Tempo", 1) + 1)  # an epoch hands out the validator permits
    rng, miners = random.Random(0), list(range(VALIDATORS, N_UIDS))
    for i in range(VALIDATORS - 1):
        chain.dispatch(key(f"hotkey{i}"), st, "set_weights", netuid=1, dests=miners,
                       weights=[rng.randint(1, 65535) for _ in miners], version_key=0)
    return chain


def worker(keep: str, blocks: int, checkpoints: list[int]) -> dict:
    """One configuration in this process: RSS at each checkpoint (MiB), then after a reset."""
    chain = full_subnet(None if keep == "none" else int(keep))
    gc.collect()
    rows = {"setup": rss_mib()}
    started, done = time.perf_counter(), 0
    for target in checkpoints:
        chain.advance(target - done, block_time_ms=250)
        done = target
        rows[f"{target:,} blocks"] = rss_mib()
    seconds = time.perf_counter() - started
    chain.truncate(0)  # what dev_reset does
    gc.collect()
    rows["after dev_reset"] = rss_mib()
    return {"rss": rows, "ms_per_block": seconds / blocks * 1000, "floor": chain.floor}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--blocks", type=int, default=100_000, help="blocks to import (default 100000)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    checkpoints = sorted({min(args.blocks, n) for n in (1_000, 5_000, 10_000, 25_000, 50_000, 100_000)} | {args.blocks})
    if args.worker:
        print(json.dumps(worker(args.worker, args.blocks, checkpoints)))
        return

    print(f"machine: {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, "
          f"python {platform.python_version()}")
    print(f"{args.blocks:,} blocks through Chain, full subnet ({N_UIDS} uids, {VALIDATORS} validators), "
          "each configuration in a fresh process\n")
    results = {}
    for name, keep in CONFIGS.items():
        out = subprocess.run([sys.executable, __file__, "--blocks", str(args.blocks), "--worker", keep],
                             capture_output=True, text=True, check=True)
        results[name] = json.loads(out.stdout.strip().splitlines()[-1])

    base, pruned = (results[n] for n in CONFIGS)
    names = list(CONFIGS)
    print(f"{'RSS, MiB':<20} {names[0]:>20} {names[1]:>20} {'pruned / baseline':>18}")
    print(f"{'-' * 20} {'-' * 20} {'-' * 20} {'-' * 18}")
    for row in base["rss"]:
        b, p = base["rss"][row], pruned["rss"][row]
        print(f"{row:<20} {b:>20.1f} {p:>20.1f} {p / b:>17.2f}x")
    print(f"{'ms per block':<20} {base['ms_per_block']:>20.2f} {pruned['ms_per_block']:>20.2f} "
          f"{pruned['ms_per_block'] / base['ms_per_block']:>17.2f}x")
    growth = {n: (r["rss"][f"{args.blocks:,} blocks"] - r["rss"]["setup"]) * 1024 * 1024 / args.blocks
              for n, r in results.items()}
    print("\ngrowth per block after setup: " + ", ".join(f"{n}: {g / 1024:.2f} KiB" for n, g in growth.items()))


if __name__ == "__main__":
    main()
