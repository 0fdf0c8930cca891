"""Transport latency: tao_lab's Axon/Dendrite against bittensor 10.x's, same payload, same run.

Payload: a request of token ids, int32 (16, 128), answered with log-probs, float32 (16, 128); the
handler (a plain function) computes ``-(ids % 7)`` as float32 in both. On loopback, the dendrite on
the main thread's event loop; the axons in background threads of the same process, as in a
notebook, and again in a second process (``--serve``), as miners run when supervised.

Rows: one request at a time (p50, p99 of ``--n`` requests after a warm-up), and a fan-out of 16
concurrent requests, to 16 axons and to 16 handlers on one axon (p50, p90 of ``--n-fanout``).
Every reply is checked (status 200, log-probs equal to the expected array).

bittensor is measured in a subprocess of its own virtual environment (``--bittensor-python``,
default /tmp/btvenv/bin/python; make it with ``python -m venv /tmp/btvenv && /tmp/btvenv/bin/pip
install "bittensor<11"``); it is skipped with a note when that interpreter is missing. Two
adjustments make it run offline, both outside its timed code: ``networking.get_external_ip`` (which
asks web services for this machine's address when a Dendrite is made) returns a documentation
address, and tensors travel in bt.Tensor's own encoding (msgpack-numpy, base64, in the JSON body)
in ``str`` fields, because ``bt.Tensor`` needs torch, which bittensor 10 does not install.

Run: ``python benchmarks/bench_transport.py [--n 300] [--n-fanout 100]`` (about 20 s).
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

B, T, FAN = 16, 128, 16
TARGET_P50_MS, TARGET_FAN_MS = 2.0, 15.0


def _payload() -> np.ndarray:
    return (np.arange(B * T, dtype=np.int32) * 7919 % 50257).reshape(B, T)


def _stats(seconds: list[float], q: float) -> tuple[float, float]:
    ms = np.asarray(seconds) * 1e3
    return float(np.percentile(ms, 50)), float(np.percentile(ms, q))


# ---------------------------------------------------------------------------------------------
# tao_lab


class _ServerProcess:
    """16 axons in a child process (``--serve KIND``); yields their targets, stops them on exit."""

    def __init__(self, python: str, kind: str):
        self.args = [python, os.path.abspath(__file__), "--serve", kind]

    def __enter__(self) -> list[dict]:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        self.proc = subprocess.Popen(self.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        line = self.proc.stdout.readline()
        if not line.startswith("["):
            self.proc.kill()
            raise RuntimeError(f"{' '.join(self.args)} did not start its axons")
        return json.loads(line)

    def __exit__(self, *exc) -> None:
        self.proc.stdin.close()
        self.proc.wait(30)


def _serve(start_axons) -> None:
    """Worker: start the axons, print their targets as one JSON line, serve until stdin closes."""
    targets, stop = start_axons()
    print(json.dumps(targets), flush=True)
    sys.stdin.read()
    stop()


def tao_lab_axons():
    from substrateinterface import Keypair

    from tao_lab.neurons import Axon, TextLogProbs

    def handler(syn: TextLogProbs) -> TextLogProbs:
        syn.log_probs = -(syn.token_ids % 7).astype(np.float32)
        return syn

    axons = [Axon(Keypair.create_from_uri(f"//bench//miner{i}")).attach(TextLogProbs, handler).start()
             for i in range(FAN)]
    return axons, lambda: [a.stop() for a in axons]


def bench_tao_lab(n: int, n_fanout: int) -> dict:
    import asyncio

    from substrateinterface import Keypair

    from tao_lab.neurons import Dendrite, TextLogProbs

    ids = _payload()
    expected = -(ids % 7).astype(np.float32)
    axons, stop = tao_lab_axons()
    out = {}
    try:
        dendrite = Dendrite(Keypair.create_from_uri("//bench//validator"))

        async def timed(targets, repeats):
            syn = TextLogProbs(token_ids=ids)
            for _ in range(20):
                await dendrite.forward(targets, syn, timeout=5.0)
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                replies = await dendrite.forward(targets, syn, timeout=5.0)
                times.append(time.perf_counter() - t0)
            for r in replies if isinstance(replies, list) else [replies]:
                assert r.status == 200 and np.array_equal(r.log_probs, expected), (r.status, r.message)
            return times

        async def main():
            out["single"] = _stats(await timed(axons[0], n), 99)
            out["fan16"] = _stats(await timed(axons, n_fanout), 90)
            out["fan16_one"] = _stats(await timed([axons[0]] * FAN, n_fanout), 90)
            with _ServerProcess(sys.executable, "tao_lab") as remote:
                remote = [(t["url"], t["hotkey"]) for t in remote]
                out["single_proc"] = _stats(await timed(remote[0], n), 99)
                out["fan16_proc"] = _stats(await timed(remote, n_fanout), 90)
            await dendrite.aclose()

        asyncio.run(main())
        with Dendrite(Keypair.create_from_uri("//bench//validator")) as d:  # the sync wrapper, as in a notebook
            syn = TextLogProbs(token_ids=ids)
            for _ in range(20):
                d.query(axons[0], syn)
            times = []
            for _ in range(n):
                t0 = time.perf_counter()
                d.query(axons[0], syn)
                times.append(time.perf_counter() - t0)
            out["single_sync"] = _stats(times, 99)
    finally:
        stop()
    return out


# ---------------------------------------------------------------------------------------------
# bittensor (runs in its own interpreter: `python bench_transport.py --bittensor-worker`)


def _bittensor():
    """bittensor's modules, the offline patch, the synapse and the handler (bittensor's interpreter only)."""
    import base64

    import bittensor as bt
    import msgpack
    import msgpack_numpy
    from bittensor.utils import networking

    networking.get_external_ip = lambda: "192.0.2.1"  # offline: no web lookup (TEST-NET-1 address)

    def pack(a: np.ndarray) -> str:  # bt.Tensor.serialize's encoding
        return base64.b64encode(msgpack.packb(a, default=msgpack_numpy.encode)).decode()

    def unpack(s: str) -> np.ndarray:
        return msgpack.unpackb(base64.b64decode(s), object_hook=msgpack_numpy.decode)

    class LogProbs(bt.Synapse):
        token_ids: str
        log_probs: str | None = None

    def forward(syn: LogProbs) -> LogProbs:
        syn.log_probs = pack(-(unpack(syn.token_ids) % 7).astype(np.float32))
        return syn

    forward.__annotations__ = {"syn": LogProbs, "return": LogProbs}  # Axon.attach inspects real classes
    return bt, LogProbs, forward, pack, unpack


def _bt_wallet(name: str):
    import tempfile

    from bittensor_wallet import Wallet

    w = Wallet(name=name, hotkey="default", path=tempfile.mkdtemp(prefix="bt-bench-"))
    w.create_new_coldkey(use_password=False, overwrite=True, suppress=True)
    w.create_new_hotkey(use_password=False, overwrite=True, suppress=True)
    return w


def bittensor_axons():
    import socket

    bt, _, forward, _, _ = _bittensor()

    def free_port():
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    miner = _bt_wallet("miner")
    axons = []
    for _ in range(FAN):
        ax = bt.Axon(wallet=miner, port=free_port(), ip="127.0.0.1", external_ip="127.0.0.1")
        ax.attach(forward_fn=forward)
        ax.start()
        axons.append(ax)
    time.sleep(1.0)  # uvicorn starts in threads
    targets = [{"ip": "127.0.0.1", "port": a.port, "hotkey": miner.hotkey.ss58_address,
                "coldkey": miner.coldkeypub.ss58_address} for a in axons]
    return targets, lambda: [a.stop() for a in axons]


def bench_bittensor(n: int, n_fanout: int) -> dict:
    import asyncio

    bt, LogProbs, _, pack, unpack = _bittensor()
    targets, stop = bittensor_axons()
    infos = [_bt_info(bt, t) for t in targets]
    ids = _payload()
    expected = -(ids % 7).astype(np.float32)
    dendrite = bt.Dendrite(wallet=_bt_wallet("validator"))
    out = {"version": bt.__version__}

    async def timed(targets, repeats):
        syn = LogProbs(token_ids=pack(ids))
        for _ in range(20):
            await dendrite.forward(targets, syn, timeout=5.0, deserialize=False)
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            replies = await dendrite.forward(targets, syn, timeout=5.0, deserialize=False)
            times.append(time.perf_counter() - t0)
        for r in replies:
            ok = r.dendrite.status_code == 200 and np.array_equal(unpack(r.log_probs), expected)
            assert ok, (r.dendrite.status_code, r.dendrite.status_message)
        return times

    async def main():
        out["single"] = _stats(await timed(infos[:1], n), 99)
        out["fan16"] = _stats(await timed(infos, n_fanout), 90)
        out["fan16_one"] = _stats(await timed(infos[:1] * FAN, n_fanout), 90)
        stop()
        with _ServerProcess(sys.executable, "bittensor") as remote:
            remote = [_bt_info(bt, t) for t in remote]
            out["single_proc"] = _stats(await timed(remote[:1], n), 99)
            out["fan16_proc"] = _stats(await timed(remote, n_fanout), 90)
        await dendrite.aclose_session()

    asyncio.run(main())
    return out


def _bt_info(bt, t: dict):
    from bittensor.core.settings import version_as_int

    return bt.AxonInfo(version=version_as_int, ip=t["ip"], port=t["port"], ip_type=4, hotkey=t["hotkey"],
                       coldkey=t["coldkey"])


# ---------------------------------------------------------------------------------------------


def _fmt(pair) -> str:
    return "—" if pair is None else f"{pair[0]:.2f} / {pair[1]:.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300, help="sequential requests timed")
    ap.add_argument("--n-fanout", type=int, default=100, help="fan-outs of 16 timed")
    ap.add_argument("--bittensor-python", default="/tmp/btvenv/bin/python")
    ap.add_argument("--bittensor-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--serve", choices=("tao_lab", "bittensor"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve == "tao_lab":
        axons, stop = tao_lab_axons()
        return _serve(lambda: ([{"url": a.url, "hotkey": a.hotkey} for a in axons], stop))
    if args.serve == "bittensor":
        return _serve(bittensor_axons)
    if args.bittensor_worker:
        print(json.dumps(bench_bittensor(args.n, args.n_fanout)))
        return

    import aiohttp

    print(f"nproc {os.cpu_count()}, {platform.processor() or platform.machine()}, CPython {platform.python_version()},"
          f" numpy {np.__version__}, aiohttp {aiohttp.__version__} (axon); load average before the run "
          f"{os.getloadavg()[0]:.2f}")
    print(f"payload: int32 ({B}, {T}) token ids -> float32 ({B}, {T}) log-probs; loopback; axons in threads of "
          "the dendrite's process unless the row says otherwise")
    ours = bench_tao_lab(args.n, args.n_fanout)

    theirs, note = None, ""
    if os.path.exists(args.bittensor_python):
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        proc = subprocess.run([args.bittensor_python, __file__, "--bittensor-worker", "--n", str(args.n),
                               "--n-fanout", str(args.n_fanout)], capture_output=True, text=True, env=env,
                              timeout=600, check=False)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        if proc.returncode == 0 and lines:
            theirs = json.loads(lines[-1])
            note = f"bittensor {theirs['version']}"
        else:
            note = f"bittensor run failed (exit {proc.returncode}): {proc.stderr.strip().splitlines()[-1:]}"
    else:
        note = f"bittensor not measured: {args.bittensor_python} not found"
    print(note)
    print()
    rows = [
        ("1 request, forward (p50 / p99 ms)", "single"),
        ("1 request, sync query (p50 / p99 ms)", "single_sync"),
        ("fan-out 16 -> 16 axons (p50 / p90 ms)", "fan16"),
        ("fan-out 16 -> 1 axon (p50 / p90 ms)", "fan16_one"),
        ("axons in a 2nd process: 1 request (p50 / p99)", "single_proc"),
        ("axons in a 2nd process: fan-out 16 (p50 / p90)", "fan16_proc"),
    ]
    w = max(len(r[0]) for r in rows)
    print(f"{'measure':<{w}}  {'tao_lab':>15}  {'bittensor':>15}  {'speed-up (p50)':>14}")
    print(f"{'-' * w}  {'-' * 15}  {'-' * 15}  {'-' * 14}")
    for label, key in rows:
        a, b = ours.get(key), (theirs or {}).get(key)
        speed = f"{b[0] / a[0]:.0f}x" if a and b else ""
        print(f"{label:<{w}}  {_fmt(a):>15}  {_fmt(b):>15}  {speed:>14}")
    print()
    print(f"{'target':<30}  {'measured ms':>11}  result")
    print(f"{'-' * 30}  {'-' * 11}  ------")
    for label, value, target in (("p50 of 1 request < 2 ms", ours["single"][0], TARGET_P50_MS),
                                 ("fan-out of 16 (16 axons) < 15 ms", ours["fan16"][0], TARGET_FAN_MS)):
        print(f"{label:<30}  {value:>11.2f}  {'PASS' if value < target else 'MISS'}")


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # this checkout's tao_lab
    main()
