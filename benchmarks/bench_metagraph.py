"""Benchmark of `Metagraph.sync` on a full 256-uid subnet, against the naive one-query-per-item sync.

The devnet runs in its own process (``Devnet(instant=True)``, as users start it). Subnet 1 is filled
to 256 uids through ordinary extrinsics: 64 staked validators set weights on all 191 miners, every
hotkey serves an axon, and two epochs run so bonds, incentive, dividends and emission are all filled.
Rows of the table:

* ``Metagraph.sync``: median of ``--repeats`` syncs at the head after one warm-up, over a `Subtensor`
  connection as `tao_lab.client.subtensor.Subtensor` opens it; the same at a past block; the first
  sync on a new connection (it reads the metadata's layouts and checks its keys once);
* the same over a connection opened with websocket-client's ``skip_utf8_validation=True``: without it
  websocket-client checks every received byte in pure Python before it decodes the frame as UTF-8
  (strictly, in C) anyway, which costs about 0.17 us a byte;
* ``query_multi``: substrate-interface's own batched read (``create_storage_key`` per key, one
  ``state_queryStorageAt``, scalecodec decoding), for the same items;
* baseline ``naive``: ``substrate.query`` for every item of every uid (about 1,800 requests), as a
  straightforward port of bittensor's lite sync would do.

The script checks that every array of the metagraph equals the baseline's, and stops otherwise.
Run from the repository root: ``python benchmarks/bench_metagraph.py [--repeats 9]``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np

from tao_lab.client.metagraph import Metagraph
from tao_lab.client.subtensor import Subtensor
from tao_lab.node.devnet import Devnet

ST = "SubtensorModule"
TAO = 10**9
NETUID = 1
TARGET_S = 0.100


def build_subnet(si, n_uids: int = 256, validators: int = 64) -> None:
    """Fill subnet 1 to ``n_uids``: validators staked and weighting every miner, all serving, two epochs run."""
    from substrateinterface import Keypair

    def send(keypair, function, nonce=None, **params):
        ext = si.create_signed_extrinsic(si.compose_call(ST, function, params), keypair=keypair, nonce=nonce)
        si.submit_extrinsic(ext, wait_for_inclusion=False)

    bob = Keypair.create_from_uri("//Bob")
    hotkeys = [Keypair.create_from_seed(hashlib.blake2b(f"hotkey{i}".encode(), digest_size=32).digest())
               for i in range(n_uids - 1)]
    nonce = si.get_account_nonce(bob.ss58_address)
    for hk in hotkeys:
        send(bob, "burned_register", nonce, netuid=NETUID, hotkey=hk.ss58_address)
        nonce += 1
    for hk in hotkeys[:validators]:
        send(bob, "add_stake", nonce, hotkey=hk.ss58_address, netuid=NETUID, amount_staked=1000 * TAO)
        nonce += 1
    si.rpc_request("dev_nextEpoch", [NETUID])  # hands out validator permits
    rng = random.Random(0)
    miners = list(range(validators + 1, n_uids))
    for i, hk in enumerate(hotkeys):
        if i < validators:
            send(hk, "set_weights", netuid=NETUID, dests=miners, weights=[rng.randint(1, 65535) for _ in miners],
                 version_key=0)
        send(hk, "serve_axon", netuid=NETUID, version=1, ip=(10 << 24) + i, port=8000 + i, ip_type=4, protocol=4,
             placeholder1=0, placeholder2=0)
    si.rpc_request("dev_nextEpoch", [NETUID])
    si.rpc_request("dev_nextEpoch", [NETUID])
    n = si.query(ST, "SubnetworkN", [NETUID]).value
    filled = sum(1 for u in range(1, validators + 1) if si.query(ST, "Weights", [NETUID, u]).value)
    if n != n_uids or filled != validators:
        raise RuntimeError(f"subnet not built: n={n}, validators with weights={filled}")


def naive_sync(si, block_hash: str) -> dict:
    """The baseline: one ``substrate.query`` per item per uid, decoded by scalecodec."""
    def q(item, *params):
        return si.query(ST, item, list(params), block_hash=block_hash).value

    n = q("SubnetworkN", NETUID)
    hotkeys = [q("Keys", NETUID, u) for u in range(n)]
    out = {"hotkeys": hotkeys, "coldkeys": [q("Owner", hk) for hk in hotkeys],
           "stake_rao": np.array([q("TotalHotkeyAlpha", hk, NETUID) for hk in hotkeys], dtype=np.int64),
           "block_at_registration": np.array([q("BlockAtRegistration", NETUID, u) for u in range(n)])}
    for name, item in (("weights_u16", "Weights"), ("bonds_u16", "Bonds")):
        dense = np.zeros((n, n), dtype=np.uint16)
        for u in range(n):
            for j, w in q(item, NETUID, u):
                dense[u, j] = w
        out[name] = dense
    for name, item in (("I", "Incentive"), ("D", "Dividends"), ("C", "Consensus"), ("VT", "ValidatorTrust")):
        out[name] = np.array(q(item, NETUID)) / 65535
    out["emission_rao"] = np.array(q("Emission", NETUID), dtype=np.int64)
    out["active"] = np.array(q("Active", NETUID))
    out["validator_permit"] = np.array(q("ValidatorPermit", NETUID))
    out["last_update"] = np.array(q("LastUpdate", NETUID), dtype=np.int64)
    out["axons"] = [(a or {}).get("port", 0) for a in (q("Axons", NETUID, hk) for hk in hotkeys)]
    return out


def query_multi_sync(si, block_hash: str) -> int:
    """substrate-interface's batched read of the same items; returns how many values it decoded."""
    n = si.query(ST, "SubnetworkN", [NETUID], block_hash=block_hash).value
    keys = [si.create_storage_key(ST, item, [NETUID]) for item in (
        "Incentive", "Dividends", "Consensus", "ValidatorTrust", "Emission", "Active", "ValidatorPermit", "LastUpdate")]
    keys += [si.create_storage_key(ST, item, [NETUID, u]) for item in ("Keys", "Weights", "Bonds",
                                                                      "BlockAtRegistration") for u in range(n)]
    values = si.query_multi(keys, block_hash=block_hash)
    hotkeys = [v.value for k, v in values if k.storage_function == "Keys"]
    more = [si.create_storage_key(ST, "TotalHotkeyAlpha", [hk, NETUID]) for hk in hotkeys]
    more += [si.create_storage_key(ST, "Owner", [hk]) for hk in hotkeys]
    more += [si.create_storage_key(ST, "Axons", [NETUID, hk]) for hk in hotkeys]
    return len(values) + len(si.query_multi(more, block_hash=block_hash))


def check_equal(mg: Metagraph, base: dict) -> None:
    bad = [name for name, want in base.items() if name not in ("hotkeys", "coldkeys", "axons")
           and not np.array_equal(getattr(mg, name), want)]
    bad += [name for name in ("hotkeys", "coldkeys") if getattr(mg, name) != base[name]]
    if [a.port for a in mg.axons] != base["axons"]:
        bad.append("axons")
    assert not bad, f"Metagraph differs from the naive sync in {bad}"


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.machine()) if Path("/proc/cpuinfo").exists() else ""
    from importlib.metadata import version

    import pandas

    return (f"machine: {os.cpu_count()} CPUs (nproc), {cpu}, CPython {platform.python_version()}, numpy {np.__version__}, "
            f"pandas {pandas.__version__}, substrate-interface {version('substrate-interface')}, "
            f"websocket-client {version('websocket-client')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=9, help="timed syncs per row (median)")
    parser.add_argument("--baseline-repeats", type=int, default=1, help="timed naive syncs (median)")
    args = parser.parse_args()
    print(machine())

    from substrateinterface import SubstrateInterface

    with Devnet(instant=True) as dev, Subtensor(dev) as subtensor:
        t = time.perf_counter()
        build_subnet(subtensor.substrate)
        print(f"subnet 1 built: 256 uids, 64 validators weighting 191 miners, in {time.perf_counter() - t:.1f} s")
        head = subtensor.block()
        past = head - 5

        def first_sync():
            with Subtensor(dev) as fresh:
                Metagraph(NETUID).sync(fresh)
        first = timed(first_sync, 1)
        mg = Metagraph(NETUID)
        mg.sync(subtensor)  # warm-up: layouts of this connection
        sync_head = timed(lambda: mg.sync(subtensor), args.repeats)
        sync_past = timed(lambda: mg.sync(subtensor, block=past), args.repeats)
        fast_ws = SubstrateInterface(url=dev.url, ws_options={"timeout": 30, "skip_utf8_validation": True})
        Metagraph(NETUID).sync(fast_ws)
        skip_head = timed(lambda: mg.sync(fast_ws), args.repeats)
        skip_past = timed(lambda: mg.sync(fast_ws, block=past), args.repeats)

        si = subtensor.substrate
        block_hash = si.get_block_hash(head)
        multi = timed(lambda: query_multi_sync(si, block_hash), 1)
        base: dict = {}
        naive = timed(lambda: base.update(naive_sync(si, block_hash)), args.baseline_repeats)
        check_equal(mg.sync(subtensor, block=head), base)

        rows = [
            ("Metagraph.sync, head", sync_head, "Subtensor connection as opened"),
            ("Metagraph.sync, block head-5", sync_past, "Subtensor connection as opened"),
            ("Metagraph.sync, first on a connection", first, "connect + metadata + layouts"),
            ("Metagraph.sync, head", skip_head, "ws skip_utf8_validation=True"),
            ("Metagraph.sync, block head-5", skip_past, "ws skip_utf8_validation=True"),
            ("substrate-interface query_multi", multi, "create_storage_key + scalecodec"),
            ("baseline: naive substrate.query", naive, "one request per item per uid"),
        ]
        print()
        print(f"{'sync of a 256-uid subnet':<40}  {'seconds':>8}  {'vs baseline':>11}  {'connection / method':<32}")
        print(f"{'-' * 40}  {'-' * 8}  {'-' * 11}  {'-' * 32}")
        for name, seconds, note in rows:
            print(f"{name:<40}  {seconds:>8.4f}  {naive / seconds:>10.0f}x  {note:<32}")
        print()
        print(f"arrays equal to the baseline's: identical (S, W, B, I, D, C, VT, E, active, validator_permit, "
              f"last_update, block_at_registration, hotkeys, coldkeys, axons) at block {head}")
        print(f"medians of {args.repeats} syncs (baseline: {args.baseline_repeats}); the node shares the CPUs")
        print()
        print(f"{'target':<44}  {'measured s':>10}  result")
        print(f"{'-' * 44}  {'-' * 10}  ------")
        for name, seconds in (("256 uids < 100 ms, Subtensor connection", sync_head),
                              ("256 uids < 100 ms, skip_utf8_validation", skip_head)):
            print(f"{name:<44}  {seconds:>10.4f}  {'PASS' if seconds < TARGET_S else 'MISS'}")
        fast_ws.close()


if __name__ == "__main__":
    main()
