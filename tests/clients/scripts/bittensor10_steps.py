"""Acceptance steps of bittensor 10 against a devnet, run inside the bittensor 10 environment.

Usage: python bittensor10_steps.py URL. Prints one JSON object last: step -> {"value": ...} or {"error": ...}.
Steps run in order and build on each other (Bob's hotkey registers, then serves). Amounts are in rao.
"""

import json
import os
import sys
import time
import traceback

import bittensor as bt
from bittensor_wallet import Keypair, Wallet

URL = sys.argv[1]
results = {}


def wallet(name, cold_uri, hot_uri):
    w = Wallet(name=name, hotkey="default", path=os.path.join(os.environ["HOME"], "wallets"))
    w.set_coldkey(Keypair.create_from_uri(cold_uri), encrypt=False, overwrite=True)
    w.set_coldkeypub(Keypair.create_from_uri(cold_uri), overwrite=True)
    w.set_hotkey(Keypair.create_from_uri(hot_uri), encrypt=False, overwrite=True)
    return w


def run(name, fn):
    try:
        results[name] = {"value": fn()}
    except Exception as exc:  # a step's failure is its result; the next steps still run
        results[name] = {"error": f"{type(exc).__name__}: {exc}"[:2000], "trace": traceback.format_exc()[-1500:]}


def response(r):
    """An ExtrinsicResponse as data; a failed one raises, so the step reports the SDK's own message."""
    if not r.success:
        raise RuntimeError(f"extrinsic failed: {r.message}")
    return {"success": True, "message": r.message}


start = time.monotonic()
st = bt.Subtensor(network=URL)
results["connect"] = {"value": {"seconds": round(time.monotonic() - start, 2), "block": st.block}}
alice = wallet("alice", "//Alice", "//Alice")  # owns subnet 1; her hotkey is uid 0
bob = wallet("bob", "//Bob", "//Bob//bt10")
dave = Keypair.create_from_uri("//Dave").ss58_address


def transfer():
    before = st.get_balance(dave).rao
    out = response(st.transfer(alice, dave, bt.Balance.from_rao(1_500_000_000), wait_for_inclusion=True))
    return {**out, "received": st.get_balance(dave).rao - before}


def burned_register():
    out = response(st.burned_register(bob, netuid=1))
    return {**out, "uid": st.get_uid_for_hotkey_on_subnet(bob.hotkey.ss58_address, 1)}


def set_weights():
    uid = st.get_uid_for_hotkey_on_subnet(bob.hotkey.ss58_address, 1)
    return {**response(st.set_weights(alice, 1, [uid], [1.0], wait_for_inclusion=True)), "uid": uid}


def serve_axon():
    axon = bt.Axon(wallet=bob, ip="127.0.0.1", port=8091, external_ip="127.0.0.1")
    return response(st.serve_axon(netuid=1, axon=axon))


def metagraph(lite):
    mg = st.metagraph(1, lite=lite)
    out = {"n": int(mg.n), "hotkeys": list(mg.hotkeys), "stake": [float(s) for s in mg.S]}
    if not lite:
        out["weights"] = [[float(x) for x in row] for row in mg.W]
    return out


run("block", lambda: st.get_current_block())
run("balance", lambda: st.get_balance(Keypair.create_from_uri("//Ferdie").ss58_address).rao)  # untouched
run("transfer", transfer)
run("burned_register", burned_register)
run("set_weights", set_weights)
run("serve_axon", serve_axon)
run("metagraph_lite", lambda: metagraph(True))
run("metagraph_full", lambda: metagraph(False))
run("neurons_lite", lambda: [n.hotkey for n in st.neurons_lite(1)])
run("neurons", lambda: [n.hotkey for n in st.neurons(1)])
run("get_stake", lambda: st.get_stake(alice.coldkeypub.ss58_address, alice.hotkey.ss58_address, 1).rao)
run("get_stake_info_for_coldkey", lambda: [(s.hotkey_ss58, s.netuid, s.stake.rao)
                                           for s in st.get_stake_info_for_coldkey(alice.coldkeypub.ss58_address)])
run("add_stake", lambda: response(st.add_stake(alice, netuid=1, hotkey_ss58=bob.hotkey.ss58_address,
                                              amount=bt.Balance.from_rao(1_000_000_000), wait_for_inclusion=True)))


def add_stake_mev_protected():
    """add_stake with mev_protection=True: encrypted to MevShield.NextKey, carried by submit_encrypted."""
    before = st.get_stake(alice.coldkeypub.ss58_address, alice.hotkey.ss58_address, 1).rao
    r = st.add_stake(alice, netuid=1, hotkey_ss58=alice.hotkey.ss58_address, amount=bt.Balance.from_rao(10**9),
                     wait_for_inclusion=True, mev_protection=True)
    out = response(r)
    inner = getattr(r, "mev_extrinsic", None)
    return {**out, "inner_success": None if inner is None else bool(inner.is_success),
            "staked": st.get_stake(alice.coldkeypub.ss58_address, alice.hotkey.ss58_address, 1).rao - before}


run("add_stake_mev_protected", add_stake_mev_protected)
print(json.dumps(results))
