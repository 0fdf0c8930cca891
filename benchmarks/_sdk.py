"""The real bittensor SDKs for the benchmarks: their virtual environments, and running code in them.

Each SDK lives in a virtual environment of its own, the one the client tests use
(``tests/clients/conftest.py``): ``$TAO_LAB_CLIENTS_CACHE`` (default ``~/.cache/tao_lab/clients``)
``/bittensor-10.5.0`` and ``/bittensor-11.3.0``. A ready one (``.ready``) is used as it is; a missing
one is created through the tests' own ``client_venv`` (about 30 s, from PyPI). The transport
benchmark needs ``bittensor[torch]`` (``bt.Tensor`` needs torch even for numpy arrays): it gets a
third environment beside them, ``bittensor-10.5.0-torch``, with the kit's own torch pin (2.13.0,
the CPU wheel), created here on first use (about a minute), so the tests' environments stay as
they install.

`run_in` runs a benchmark script in such an environment, with a temporary ``HOME`` and metadata
caches (nothing outside a temp dir is written, and no run finds a cache an earlier run left), and
returns the last JSON line it printed. The SDK side of the metagraph benchmark is here too, because
it must import nothing but the standard library and bittensor (bittensor 11 has no numpy):
``python benchmarks/_sdk.py metagraph bittensor10 URL --repeats 9 --block 650``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERSIONS = {"bittensor10": "bittensor-10.5.0", "bittensor11": "bittensor-11.3.0"}
TORCH_CLIENT, TORCH_REQUIREMENTS = "bittensor10-torch", ("bittensor[torch]==10.5.0", "torch==2.13.0")
NETUID = 1


def _cache_root() -> Path:
    return Path(os.environ.get("TAO_LAB_CLIENTS_CACHE") or Path.home() / ".cache" / "tao_lab" / "clients")


def venv_python(client: str) -> Path:
    """The interpreter of ``client``'s environment (``bittensor10``, ``bittensor11`` or ``bittensor10-torch``),
    created if missing."""
    if client == TORCH_CLIENT:
        return _torch_venv() / "bin" / "python"
    venv = _cache_root() / VERSIONS[client]
    if not (venv / ".ready").exists():
        sys.path.insert(0, str(ROOT))
        from tests.clients.conftest import client_venv  # the one installer, with its lock and pins

        venv = client_venv(client)
    return venv / "bin" / "python"


def _torch_venv() -> Path:
    """``bittensor-10.5.0-torch``: bittensor 10.5.0 with torch 2.13.0, created once (under a file lock)."""
    import fcntl
    import shutil

    root = _cache_root()
    root.mkdir(parents=True, exist_ok=True)
    venv = root / "bittensor-10.5.0-torch"
    with open(root / f".{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / ".ready").exists():
            shutil.rmtree(venv, ignore_errors=True)
            print(f"creating {venv} ({' '.join(TORCH_REQUIREMENTS)}; about a minute) ...", flush=True)
            start = time.monotonic()
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                   *TORCH_REQUIREMENTS]
            done = subprocess.run(pip, capture_output=True, text=True, timeout=1200)
            if done.returncode != 0:
                raise RuntimeError(f"pip install into {venv} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
            (venv / ".ready").write_text(f"{' '.join(TORCH_REQUIREMENTS)} installed in "
                                         f"{time.monotonic() - start:.0f} s\n")
    return venv


def run_in(client: str, script: Path, *args: str, timeout: float = 600) -> dict:
    """Run ``script args`` with ``client``'s interpreter; returns the last line of its stdout that is JSON.

    Raises RuntimeError with the end of its output when it fails or prints no JSON.
    """
    with tempfile.TemporaryDirectory(prefix=f"{client}-bench-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BT_", "BITTENSOR_", "PYTHON"))}
        env.update(HOME=tmp, CACHE_LOCATION=os.path.join(tmp, "substrate-cache"),
                   BITTENSOR_RUNTIME_CACHE_DIR=os.path.join(tmp, "runtime-cache"), PYTHONUNBUFFERED="1",
                   NO_COLOR="1")
        done = subprocess.run([str(venv_python(client)), str(Path(script).resolve()), *args], capture_output=True,
                              text=True, timeout=timeout, env=env, cwd=tmp)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{client} {script.name} {' '.join(args)} exited {done.returncode}:\n"
                           f"{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return json.loads(lines[-1])


# ---------------------------------------------------------------------------------------------
# SDK side of bench_metagraph.py (runs in the SDK's interpreter)


def _timed(fn, repeats: int) -> dict:
    """One untimed warm-up, then ``repeats`` timed calls: their median and all times, in seconds."""
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return {"median": statistics.median(times), "times": times}


def metagraph_bittensor10(url: str, repeats: int, block: int) -> dict:
    """bittensor 10's sync `Subtensor.metagraph` (lite and full) and `Metagraph.sync`, timed; the data at ``block``."""
    import bittensor as bt

    t = time.perf_counter()
    subtensor = bt.Subtensor(network=url)
    subtensor.metagraph(NETUID, lite=True)
    first = time.perf_counter() - t
    mg = bt.Metagraph(netuid=NETUID, network=url, lite=True, sync=False, subtensor=subtensor)
    rows = {
        "first": {"median": first, "times": [first]},
        "lite": _timed(lambda: subtensor.metagraph(NETUID, lite=True), repeats),
        "full": _timed(lambda: subtensor.metagraph(NETUID, lite=False), repeats),
        "sync_lite": _timed(lambda: mg.sync(lite=True, subtensor=subtensor), repeats),
    }
    full = subtensor.metagraph(NETUID, lite=False, block=block)
    lite = subtensor.metagraph(NETUID, lite=True, block=block)
    f32 = lambda a: [float(x) for x in a]  # noqa: E731
    data = {
        "block": int(full.block), "hotkeys": list(full.hotkeys), "coldkeys": list(full.coldkeys),
        "S": f32(full.S), "I": f32(full.I), "D": f32(full.D), "C": f32(full.C), "VT": f32(full.Tv),
        "E": f32(full.E), "active": [bool(x) for x in full.active],
        "validator_permit": [bool(x) for x in full.validator_permit],
        "last_update": [int(x) for x in full.last_update], "axon_ports": [a.port for a in full.axons],
        "W": [f32(row) for row in full.W], "B": [f32(row) for row in full.B],
        "lite_hotkeys": list(lite.hotkeys), "lite_S": f32(lite.S), "lite_I": f32(lite.I),
    }
    subtensor.close()
    return {"version": bt.__version__, "rows": rows, "data": data}


def metagraph_bittensor11(url: str, repeats: int, block: int) -> dict:
    """bittensor 11's `subnets.metagraph` and `neurons.all(lite=False)` (for weights), timed; the data at ``block``."""
    import asyncio

    import bittensor as bt

    async def timed(make, repeats):
        await make()
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            await make()
            times.append(time.perf_counter() - t)
        return {"median": statistics.median(times), "times": times}

    async def main():
        t = time.perf_counter()
        client = await bt.Subtensor(url)
        await client.subnets.metagraph(NETUID)
        first = time.perf_counter() - t
        rows = {
            "first": {"median": first, "times": [first]},
            "metagraph": await timed(lambda: client.subnets.metagraph(NETUID), repeats),
            "metagraph_nocommit": await timed(lambda: client.subnets.metagraph(NETUID, commitments=False), repeats),
            "neurons_full": await timed(lambda: client.neurons.all(NETUID, lite=False), repeats),
        }
        mg = await client.subnets.metagraph(NETUID, block)
        neurons = await client.neurons.all(NETUID, block, lite=False)
        data = {
            "block": mg.block, "hotkeys": mg.hotkeys, "coldkeys": mg.coldkeys,
            "stake_rao": [n.total_stake.rao for n in mg.neurons],
            "I": [n.incentive for n in mg.neurons], "D": [n.dividends for n in mg.neurons],
            "C": [n.consensus for n in mg.neurons], "emission_rao": [n.emission.rao for n in mg.neurons],
            "active": [n.active for n in mg.neurons], "validator_permit": [n.validator_permit for n in mg.neurons],
            "last_update": [n.last_update for n in mg.neurons],
            "block_at_registration": [n.block_at_registration for n in mg.neurons],
            "axons": [n.axon for n in mg.neurons],
            "weights": [[[int(j), int(w)] for j, w in n.raw.get("weights") or []] for n in neurons],
            "bonds": [[[int(j), int(b)] for j, b in n.raw.get("bonds") or []] for n in neurons],
        }
        await client.close()
        return {"version": bt.__version__, "rows": rows, "data": data}

    return asyncio.run(main())


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="SDK side of a benchmark (run by the benchmark, in the SDK's venv)")
    ap.add_argument("bench", choices=("metagraph",))
    ap.add_argument("client", choices=tuple(VERSIONS))
    ap.add_argument("url")
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--block", type=int, required=True)
    a = ap.parse_args()
    worker = metagraph_bittensor10 if a.client == "bittensor10" else metagraph_bittensor11
    print(json.dumps(worker(a.url, a.repeats, a.block)))
