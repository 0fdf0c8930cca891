"""Soak: honest clients of the devnet with and without hostile clients beside them (issue 11).

One `Devnet` (interval blocks, default limits) serves, for ``--seconds`` each:

1. baseline: the honest clients alone;
2. hostile: the same honest clients while another process runs every hostile client at once:
   WebSocket subscribers that ask for megabytes and never read (slow readers), floods of empty
   continuation frames, 170 kB batches of ``state_getMetadata``, slow-drip HTTP heads, and a flood
   of idle sockets well past the connection cap. Each reconnects as soon as the node lets it go.

Honest clients: substrate-interface over WebSocket (``chain_getHeader``), urllib over HTTP
(``chain_getHeader``) and a ``chain_subscribeNewHeads`` subscriber (the gap between blocks, which
shows whether block production kept its pace). The table gives their latency p50 / p99 in both
phases side by side, their errors, and the node's resident memory (largest sample and peak).

Run from the repository root: ``python benchmarks/bench_hostile_node.py [--seconds 30]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import statistics
import struct
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tao_lab.node.devnet import Devnet  # noqa: E402

_no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# ------------------------------------------------------------------------------------ hostile side


def _frame(opcode: int, payload: bytes = b"", fin: bool = True) -> bytes:
    n = len(payload)
    head = struct.pack("!BB", (0x80 if fin else 0) | opcode, 0x80 | (n if n < 126 else 126))
    if n >= 126:
        head += struct.pack("!H", n)
    return head + b"\0\0\0\0" + payload  # a zero mask leaves the payload as it is


def _call(method: str, i: int = 1) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": i, "method": method, "params": []}).encode()


async def _open_ws(port: int):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n".encode())
    await reader.readuntil(b"\r\n\r\n")
    return reader, writer


async def _forever(name: str, counts: dict, attack) -> None:
    while True:
        try:
            await attack()
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        counts[name] = counts.get(name, 0) + 1
        await asyncio.sleep(0.05)


async def _hostiles(port: int, seconds: float) -> dict:
    counts: dict[str, int] = {}

    async def slow_reader():  # subscribes, asks for ~22 MB (past the 16 MiB send queue), reads nothing
        reader, writer = await _open_ws(port)
        writer.transport.get_extra_info("socket").setsockopt(__import__("socket").SOL_SOCKET,
                                                             __import__("socket").SO_RCVBUF, 4096)
        writer.write(_frame(0x1, _call("chain_subscribeNewHeads")))
        for i in range(200):
            writer.write(_frame(0x1, _call("state_getMetadata", i)))
        await writer.drain()
        reader._transport.pause_reading()  # never read: the node must give up on us
        while True:  # pings until a write fails: then the node has let go, and we come back
            await asyncio.sleep(1.0)
            writer.write(_frame(0x9, b"still here"))
            await writer.drain()

    async def fragment_flood():
        reader, writer = await _open_ws(port)
        writer.write(_frame(0x1, b"[", fin=False) + _frame(0x0, fin=False) * 50_000)
        await writer.drain()
        await reader.read()  # until the node closes it

    async def huge_batch():
        batch = json.dumps([{"jsonrpc": "2.0", "id": i, "method": "state_getMetadata", "params": []}
                            for i in range(2500)]).encode()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(batch) + batch)
        await writer.drain()
        await reader.read()

    async def slow_drip():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST / HTTP/1.1\r\n")
        while True:
            await asyncio.sleep(1.0)
            writer.write(b"X")
            await writer.drain()
            if reader.at_eof():
                return

    async def idle_socket():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await reader.read()  # say nothing; wait until the node closes it

    tasks = []
    for n, attack in [(5, slow_reader), (2, fragment_flood), (2, huge_batch), (50, slow_drip), (400, idle_socket)]:
        tasks += [asyncio.create_task(_forever(attack.__name__, counts, attack)) for _ in range(n)]
    await asyncio.sleep(seconds)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return counts


def _run_hostiles(port: int, seconds: float, out) -> None:
    out.put(asyncio.run(_hostiles(port, seconds)))


# ------------------------------------------------------------------------------------- honest side


def _percentiles(values: list[float]) -> tuple[float, float]:
    if not values:
        return float("nan"), float("nan")
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def _honest(url: str, seconds: float) -> dict:
    """Run the honest clients for ``seconds``; their latencies (s) and errors by client."""
    from substrateinterface import SubstrateInterface
    import websocket

    stop = time.monotonic() + seconds
    result = {"ws": [], "http": [], "block gap": [], "errors": {"ws": 0, "http": 0, "block gap": 0}}

    def ws_client():
        substrate = None
        while time.monotonic() < stop:
            try:
                if substrate is None:
                    substrate = SubstrateInterface(url=url, ws_options={"timeout": 10})
                started = time.monotonic()
                substrate.rpc_request("chain_getHeader", [])
                result["ws"].append(time.monotonic() - started)
            except Exception:
                result["errors"]["ws"] += 1
                substrate = None
            time.sleep(0.05)

    def http_client():
        http = url.replace("ws://", "http://")
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "chain_getHeader", "params": []}).encode()
        while time.monotonic() < stop:
            started = time.monotonic()
            try:
                req = urllib.request.Request(http, data=body, headers={"Content-Type": "application/json"})
                with _no_proxy.open(req, timeout=10) as r:
                    json.loads(r.read())["result"]
                result["http"].append(time.monotonic() - started)
            except Exception:
                result["errors"]["http"] += 1
            time.sleep(0.05)

    def subscriber():
        ws = None
        last = None
        while time.monotonic() < stop:
            try:
                if ws is None:
                    ws = websocket.create_connection(url, timeout=10)
                    ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "chain_subscribeNewHeads", "params": []}))
                    last = None
                message = json.loads(ws.recv())
                if message.get("method") == "chain_newHead":
                    now = time.monotonic()
                    if last is not None:
                        result["block gap"].append(now - last)
                    last = now
            except Exception:
                result["errors"]["block gap"] += 1
                ws = None
        if ws is not None:
            ws.close()

    threads = [threading.Thread(target=f) for f in (ws_client, ws_client, http_client, subscriber)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return result


def _rss_mib(pid: int, field: str = "VmRSS") -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _phase(dev: Devnet, seconds: float, hostile: bool) -> tuple[dict, float, dict]:
    samples: list[float] = []
    done = threading.Event()

    def sample():
        while not done.wait(0.5):
            samples.append(_rss_mib(dev.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    counts: dict = {}
    proc = out = None
    if hostile:
        out = mp.get_context("spawn").Queue()
        port = int(dev.public_url.rsplit(":", 1)[1])
        proc = mp.get_context("spawn").Process(target=_run_hostiles, args=(port, seconds, out))
        proc.start()
        time.sleep(1.0)  # let the hostiles take their places first
    result = _honest(dev.url, seconds)
    if proc is not None:
        counts = out.get(timeout=60)
        proc.join(30)
    done.set()
    return result, max(samples or [float("nan")]), counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds per phase (default 30)")
    args = parser.parse_args()
    with Devnet(publish=False) as dev:
        time.sleep(1.0)
        base, base_rss, _ = _phase(dev, args.seconds, hostile=False)
        bad, bad_rss, counts = _phase(dev, args.seconds, hostile=True)
        peak = _rss_mib(dev.pid, "VmHWM")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{args.seconds:g} s per phase; devnet interval blocks every {dev.block_time:g} s")
    print(f"hostile connections made: {', '.join(f'{k} {v}' for k, v in sorted(counts.items()))}")
    print()
    head = f"{'honest client':<28} {'alone p50':>10} {'p99':>8} {'hostile p50':>12} {'p99':>8} {'n alone':>8} {'n hostile':>9} {'errors':>7}"
    print(head)
    print("-" * len(head))
    for name, label in [("ws", "ws chain_getHeader (ms)"), ("http", "http chain_getHeader (ms)"),
                        ("block gap", "block gap, subscribed (ms)")]:
        a50, a99 = _percentiles(base[name])
        h50, h99 = _percentiles(bad[name])
        errors = base["errors"][name] + bad["errors"][name]
        print(f"{label:<28} {a50 * 1e3:>10.1f} {a99 * 1e3:>8.1f} {h50 * 1e3:>12.1f} {h99 * 1e3:>8.1f} "
              f"{len(base[name]):>8} {len(bad[name]):>9} {errors:>7}")
    print(f"{'node RSS, largest (MiB)':<28} {base_rss:>10.0f} {'':>8} {bad_rss:>12.0f}")
    print(f"node peak RSS (VmHWM): {peak:.0f} MiB")


if __name__ == "__main__":
    main()
