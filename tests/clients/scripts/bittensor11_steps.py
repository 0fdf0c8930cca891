"""Acceptance steps of bittensor 11 against a devnet, run inside the bittensor 11 environment.

Usage: python bittensor11_steps.py URL. Prints one JSON object last: step -> {"value": ...} or {"error": ...}.
Intents run with the SDK's default options. Amounts are in rao.
"""

import asyncio
import json
import sys
import time
import traceback
import types

import bittensor as bt
from bittensor.intents import AddStake, BurnedRegister, ServeAxon, SetWeights, Transfer
from bittensor.sp_core import Keypair

URL = sys.argv[1]
results = {}


def keys(cold_uri, hot_uri):
    cold = Keypair.create_from_uri(cold_uri)
    return types.SimpleNamespace(coldkey=cold, coldkeypub=cold, hotkey=Keypair.create_from_uri(hot_uri))


async def run(name, fn):
    try:
        results[name] = {"value": await fn()}
    except Exception as exc:  # a step's failure is its result; the next steps still run
        results[name] = {"error": f"{type(exc).__name__}: {exc}"[:2000], "trace": traceback.format_exc()[-1500:]}


def outcome(r):
    if not r.success:
        raise RuntimeError(f"intent failed: {r.message}")
    return {"success": True, "message": r.message, "fee": int(r.fee.rao) if r.fee is not None else None,
            "shielded": bool((r.data or {}).get("shielded")), "extrinsic_id": r.extrinsic_id}


async def main():
    start = time.monotonic()
    sub = await bt.Subtensor(URL)
    results["connect"] = {"value": {"seconds": round(time.monotonic() - start, 2)}}
    alice = keys("//Alice", "//Alice")  # owns subnet 1; her hotkey is uid 0
    eve = keys("//Eve", "//Eve//bt11")
    dave = Keypair.create_from_uri("//Dave").ss58_address

    async def transfer():
        before = (await sub.balances.get(dave)).rao
        out = outcome(await sub.execute(Transfer(dest_ss58=dave, amount_tao=1.5), alice))
        return {**out, "received": (await sub.balances.get(dave)).rao - before}

    async def subnets():
        return [{"netuid": s.netuid, "tempo": s.tempo, "burn": s.burn.rao, "n": s.neuron_count}
                for s in await sub.subnets.all()]

    async def metagraph():
        mg = await sub.subnets.metagraph(1)
        return {"hotkeys": [str(h) for h in mg.hotkeys]} if mg is not None else None

    await run("block", lambda: sub.block())
    await run("balance", lambda: _rao(sub.balances.get(Keypair.create_from_uri("//Ferdie").ss58_address)))
    await run("subnets", subnets)
    async def hyperparameters():
        names = ("immunity_period", "min_allowed_weights", "max_weight_limit", "weights_rate_limit", "difficulty",
                 "reveal_period")
        return {n: int(await getattr(sub.hyperparameters, n)(1)) for n in names}

    await run("hyperparameters", hyperparameters)
    await run("metagraph", metagraph)
    await run("neurons", lambda: _repr(sub.neurons.all(1)))
    await run("stake_positions", lambda: _repr(sub.staking.positions(alice.coldkey.ss58_address)))
    await run("delegates", lambda: _repr(sub.delegation.delegates()))
    await run("Transfer", transfer)
    await run("SetWeights", lambda: _outcome(sub.execute(SetWeights(netuid=1, uids=[0], weights=[1.0]), alice)))
    await run("ServeAxon", lambda: _outcome(sub.execute(ServeAxon(netuid=1, ip="127.0.0.1", port=8091), alice)))
    await run("BurnedRegister", lambda: _outcome(sub.execute(BurnedRegister(netuid=1), eve)))
    await run("AddStake", lambda: _outcome(sub.execute(
        AddStake(hotkey_ss58=alice.hotkey.ss58_address, netuid=1, amount_tao=5), alice)))


async def _rao(aw):
    return (await aw).rao


async def _repr(aw):
    return repr(await aw)[:2000]


async def _outcome(aw):
    return outcome(await aw)


asyncio.run(main())
print(json.dumps(results))
