"""Benchmark of `Metagraph.sync` on a full 256-uid subnet, against the bittensor SDKs' own metagraph reads.

The devnet runs in its own process (``Devnet(instant=True)``, as users start it). Subnet 1 is filled
to 256 uids through ordinary extrinsics: 64 staked validators set weights on all 191 miners, every
hotkey serves an axon, and two epochs run so bonds, incentive, consensus, dividends, validator trust
and emission are all filled (the weights go in last, within the activity cutoff). Nothing is
submitted afterwards, so every row reads the same head block (the script checks it).

The kit's rows, timed in this process:

* ``Metagraph.sync``: median of ``--repeats`` syncs at the head after one warm-up (timed before and
  after the SDKs ran, pooled), over a `Subtensor` connection as `tao_lab.client.subtensor.Subtensor`
  opens it; the same at a past block; the first sync on a new connection as a new process makes
  it (connect, decode the node's metadata, check the layouts), and on another connection of a process
  that already has one (connections to one node share the decoded metadata); the same over a plain ``SubstrateInterface`` opened with
  ``skip_utf8_validation=True``. A sync always reads everything, weights and bonds included.

The baselines, the real SDKs, each in a subprocess of its own virtual environment (`_sdk.py`: the
client tests' cached venvs, a fresh temporary HOME and metadata cache) on the devnet's public URL,
timed inside that process (median of ``--repeats`` after one warm-up; the first sync once, on a
new connection, connect included), reported back as JSON:

* bittensor 10.5.0 (sync API): ``subtensor.metagraph(1, lite=False)`` (neurons with weights and bonds,
  subnet state, metagraph info: the runtime APIs), ``lite=True``, and ``Metagraph.sync(lite=True)``
  on an existing object;
* bittensor 11.3.0 (async API): ``subnets.metagraph(1)`` (one ``get_metagraph`` runtime call plus
  the commitments; no weights or bonds), the same with ``commitments=False``, and
  ``neurons.all(1, lite=False)``, its way to read weights and bonds;
* secondary references: substrate-interface's ``query_multi`` (``create_storage_key`` per key, one
  ``state_queryStorageAt``, scalecodec decoding) and the naive ``substrate.query`` per item per uid
  (about 1,800 requests), which no real client does.

Before printing, the script checks that the kit's arrays at that block equal the naive sync's
(every array, exactly) and each SDK's (hotkeys, coldkeys, stake, I, D, C, VT, E, W, B, active,
validator_permit, last_update, axons; to float32 precision where bittensor 10 keeps float32,
exactly where the SDK gives rao or u16), and stops if any differs.
Run from the repository root: ``python benchmarks/bench_metagraph.py [--repeats 9] [--clients ...]``
(about a minute).
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

from tao_lab.client import subtensor as subtensor_module
from tao_lab.client.metagraph import Metagraph
from tao_lab.client.subtensor import Subtensor
from tao_lab.node.devnet import Devnet

import _sdk  # benchmarks/_sdk.py: this script's folder is on sys.path

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
    for i, hk in enumerate(hotkeys):
        send(hk, "serve_axon", netuid=NETUID, version=1, ip=(10 << 24) + i, port=8000 + i, ip_type=4, protocol=4,
             placeholder1=0, placeholder2=0)
    # weights last: each extrinsic is a block here, and weights older than the activity cutoff
    # (tempo * 13.889 = 138 blocks) would leave the validators inactive and I, D, C all zero
    rng = random.Random(0)
    miners = list(range(validators + 1, n_uids))
    for hk in hotkeys[:validators]:
        send(hk, "set_weights", netuid=NETUID, dests=miners, weights=[rng.randint(1, 65535) for _ in miners],
             version_key=0)
    si.rpc_request("dev_nextEpoch", [NETUID])
    si.rpc_request("dev_nextEpoch", [NETUID])
    n = si.query(ST, "SubnetworkN", [NETUID]).value
    filled = sum(1 for u in range(1, validators + 1) if si.query(ST, "Weights", [NETUID, u]).value)
    incentive = sum(1 for x in si.query(ST, "Incentive", [NETUID]).value if x)
    if n != n_uids or filled != validators or incentive < n_uids - validators - 1:
        raise RuntimeError(f"subnet not built: n={n}, validators with weights={filled}, miners with incentive="
                           f"{incentive}")


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


def _u16(x) -> np.ndarray:
    return np.rint(np.asarray(x, dtype=np.float64) * 65535).astype(np.int64)


def _dense_rows(rows: list, n: int) -> np.ndarray:
    out = np.zeros((n, n), dtype=np.int64)
    for i, row in enumerate(rows):
        for j, v in row:
            out[i, j] = v
    return out


def check_sdk(mg: Metagraph, client: str, data: dict) -> list[str]:
    """What ``client``'s metagraph at ``mg.block`` shows that differs from ``mg`` (empty: they agree)."""
    n = mg.n
    same = {"block": data["block"] == mg.block, "hotkeys": data["hotkeys"] == mg.hotkeys,
            "coldkeys": data["coldkeys"] == mg.coldkeys}
    for name, kit in (("I", mg.I), ("D", mg.D), ("C", mg.C)):  # scores are u16 / 65535 on every side
        same[name] = np.array_equal(_u16(data[name]), _u16(kit))
    for name in ("active", "validator_permit", "last_update"):
        same[name] = np.array_equal(np.asarray(data[name]), getattr(mg, name))
    if client == "bittensor10":  # float32 arrays of TAO; W row-normalised; B raw u16 values
        same["S"] = np.allclose(data["S"], mg.S, rtol=1e-6, atol=0)
        same["E"] = np.allclose(data["E"], mg.E, rtol=1e-6, atol=1e-9)
        same["VT"] = np.array_equal(_u16(data["VT"]), _u16(mg.VT))
        same["W"] = np.allclose(np.asarray(data["W"]), mg.W, rtol=0, atol=1e-6)
        same["B"] = np.array_equal(np.asarray(data["B"]), mg.bonds_u16)
        same["axons"] = data["axon_ports"] == [a.port for a in mg.axons]
        same["lite"] = (data["lite_hotkeys"] == mg.hotkeys and np.allclose(data["lite_S"], mg.S, rtol=1e-6, atol=0)
                        and np.array_equal(_u16(data["lite_I"]), _u16(mg.I)))
    else:  # rao integers; weights and bonds as the chain's (uid, u16) rows
        same["stake_rao"] = np.array_equal(data["stake_rao"], mg.stake_rao)
        same["emission_rao"] = np.array_equal(data["emission_rao"], mg.emission_rao)
        same["block_at_registration"] = np.array_equal(data["block_at_registration"], mg.block_at_registration)
        same["axons"] = [int(a.rsplit(":", 1)[1]) if a else 0 for a in data["axons"]] == [a.port for a in mg.axons]
        same["weights_u16"] = np.array_equal(_dense_rows(data["weights"], n), mg.weights_u16)
        same["bonds_u16"] = np.array_equal(_dense_rows(data["bonds"], n), mg.bonds_u16)
    return [name for name, ok in same.items() if not ok]


def times_of(fn, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return times


def timed(fn, repeats: int) -> float:
    return statistics.median(times_of(fn, repeats))


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.machine()) if Path("/proc/cpuinfo").exists() else ""
    from importlib.metadata import version

    import pandas

    return (f"machine: {os.cpu_count()} CPUs (nproc), {cpu}, CPython {platform.python_version()}, "
            f"numpy {np.__version__}, "
            f"pandas {pandas.__version__}, substrate-interface {version('substrate-interface')}, "
            f"websocket-client {version('websocket-client')}; load average {os.getloadavg()[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=9, help="timed syncs per row (median)")
    parser.add_argument("--baseline-repeats", type=int, default=1, help="timed naive syncs (median)")
    parser.add_argument("--clients", nargs="*", default=list(_sdk.VERSIONS), choices=list(_sdk.VERSIONS),
                        help="bittensor SDKs to measure (default: both; none: only the kit's rows)")
    args = parser.parse_args()
    print(machine())

    from substrateinterface import SubstrateInterface

    with Devnet(instant=True) as dev, Subtensor(dev) as subtensor:
        t = time.perf_counter()
        build_subnet(subtensor.substrate)
        print(f"subnet 1 built: 256 uids, 64 validators weighting 191 miners, in {time.perf_counter() - t:.1f} s")
        head = subtensor.block()
        past = head - 5

        def first_sync(cold: bool):
            if cold:  # as in a new process: no connection to this node has decoded its metadata yet
                subtensor_module._METADATA.clear()
            with Subtensor(dev) as fresh:
                Metagraph(NETUID).sync(fresh)
        first = timed(lambda: first_sync(True), 1)
        another = timed(lambda: first_sync(False), 1)
        mg = Metagraph(NETUID)
        mg.sync(subtensor)  # warm-up: layouts of this connection
        head_times = times_of(lambda: mg.sync(subtensor), args.repeats)
        sync_past = timed(lambda: mg.sync(subtensor, block=past), args.repeats)
        fast_ws = SubstrateInterface(url=dev.url, ws_options={"timeout": 30, "skip_utf8_validation": True})
        Metagraph(NETUID).sync(fast_ws)
        skip_head = timed(lambda: mg.sync(fast_ws), args.repeats)
        fast_ws.close()

        # the SDKs, each in a process of its own venv, on the public URL as any client would connect
        sdk = {}
        for client in args.clients:
            print(f"running {client} in {_sdk.venv_python(client).parent.parent} ...", flush=True)
            sdk[client] = _sdk.run_in(client, Path(_sdk.__file__), "metagraph", client, dev.public_url,
                                      "--repeats", str(args.repeats), "--block", str(head))
        head_times += times_of(lambda: mg.sync(subtensor), args.repeats)  # the machine's load drifts: both sides
        sync_head = statistics.median(head_times)
        if subtensor.block() != head:
            raise RuntimeError(f"the chain moved from block {head} during the run: the rows read different blocks")

        si = subtensor.substrate
        block_hash = si.get_block_hash(head)
        multi = timed(lambda: query_multi_sync(si, block_hash), 1)
        base: dict = {}
        naive = timed(lambda: base.update(naive_sync(si, block_hash)), args.baseline_repeats)
        at_head = Metagraph(NETUID).sync(subtensor, block=head)
        check_equal(at_head, base)
        for client, result in sdk.items():
            bad = check_sdk(at_head, client, result["data"])
            if bad:
                raise SystemExit(f"{client} {result['version']} disagrees with Metagraph.sync at block {head} in {bad}")

        rows = [("Metagraph.sync, head", sync_head, "", None),
                ("Metagraph.sync, block head-5", sync_past, "", None),
                ("Metagraph.sync, head, skip_utf8 ws", skip_head, "", None),
                ("first sync, another connection", another, "", None)]
        bt10, bt11 = sdk.get("bittensor10"), sdk.get("bittensor11")
        if bt10:
            v, r = bt10["version"], bt10["rows"]
            rows += [("Metagraph.sync, head", sync_head, f"bt {v} subtensor.metagraph(lite=False)",
                      r["full"]["median"]),
                     ("Metagraph.sync, head", sync_head, f"bt {v} subtensor.metagraph(lite=True)", r["lite"]["median"]),
                     ("Metagraph.sync, head", sync_head, f"bt {v} Metagraph.sync(lite=True)", r["sync_lite"]["median"]),
                     ("first sync, new process", first, f"bt {v} Subtensor() + metagraph(lite=True)",
                      r["first"]["median"])]
        if bt11:
            v, r = bt11["version"], bt11["rows"]
            rows += [("Metagraph.sync, head", sync_head, f"bt {v} subnets.metagraph(1)", r["metagraph"]["median"]),
                     ("Metagraph.sync, head", sync_head, f"bt {v} subnets.metagraph(1, commitments=False)",
                      r["metagraph_nocommit"]["median"]),
                     ("Metagraph.sync, head", sync_head, f"bt {v} neurons.all(1, lite=False)",
                      r["neurons_full"]["median"]),
                     ("first sync, new process", first, f"bt {v} await Subtensor() + subnets.metagraph(1)",
                      r["first"]["median"])]
        rows += [("Metagraph.sync, head", sync_head, "substrate-interface query_multi", multi),
                 ("Metagraph.sync, head", sync_head, "naive: substrate.query per item (1,800)", naive)]
        title = "tao_lab (reads W and B too)"
        wk, wb = max(len(title), *(len(r[0]) for r in rows)), max(len(r[2]) for r in rows)
        print()
        print(f"{title:<{wk}}  {'s':>7}  {'baseline':<{wb}}  {'s':>7}  {'baseline / tao_lab':>18}")
        print(f"{'-' * wk}  {'-' * 7}  {'-' * wb}  {'-' * 7}  {'-' * 18}")
        for name, seconds, other, other_s in rows:
            ratio = None if other_s is None else other_s / seconds
            cmp = (f"{other_s:>7.4f}  {ratio:>17.{1 if ratio >= 1 else 2}f}x" if ratio is not None
                   else f"{'':>7}  {'':>18}")
            print(f"{name:<{wk}}  {seconds:>7.4f}  {other:<{wb}}  {cmp}")
        print()
        print(f"every array of Metagraph.sync at block {head} equals the naive sync's"
              + "".join(f" and {c} {r['version']}'s" for c, r in sdk.items())
              + " (hotkeys, coldkeys, stake, I, D, C, VT, E, weights, bonds, active, validator_permit, "
              "last_update, axons; float32 where the SDK keeps float32)")
        before, after = (statistics.median(head_times[:args.repeats]), statistics.median(head_times[args.repeats:]))
        print(f"Metagraph.sync, head: median of {len(head_times)} syncs ({before:.4f} s before the SDKs ran, "
              f"{after:.4f} s after)")
        print(f"medians of {args.repeats} syncs after a warm-up, each side timed in its own process (naive: "
              f"{args.baseline_repeats}; first syncs: one each); the node shares the CPUs; load average "
              f"{os.getloadavg()[0]:.2f} at the end")
        print()
        print(f"{'target':<44}  {'measured s':>10}  result")
        print(f"{'-' * 44}  {'-' * 10}  ------")
        for name, seconds in (("256 uids < 100 ms, Subtensor connection", sync_head),):
            print(f"{name:<44}  {seconds:>10.4f}  {'PASS' if seconds < TARGET_S else 'MISS'}")


if __name__ == "__main__":
    main()
