"""A whole subnet through the node, driven only by substrate-interface from this (separate) process.

Bob creates a subnet, three miners and two validators register, the validators are staked and set
weights, and the chain runs past two tempos. The stored ``Incentive``, ``Dividends``, ``Emission``,
``Consensus``, ``Bonds`` and ``ValidatorPermit`` after the last epoch must equal
`tao_lab.consensus.epoch` computed here on the inputs read back, through the client, from the block
before that epoch.
"""

import pytest
from _support import expected_epoch
from substrateinterface import Keypair, SubstrateInterface

from tao_lab.node.devnet import Devnet

ST = "SubtensorModule"
TAO = 10**9


@pytest.fixture(scope="module")
def substrate():
    with Devnet(instant=True) as dev:
        si = SubstrateInterface(url=dev.url)
        yield si
        si.close()


def submit(si, keypair, pallet, function, **params):
    ext = si.create_signed_extrinsic(si.compose_call(pallet, function, params), keypair=keypair)
    receipt = si.submit_extrinsic(ext, wait_for_inclusion=True)
    assert receipt.is_success, f"{pallet}.{function}: {receipt.error_message}"
    return receipt


def sudo(si, pallet, function, **params):
    inner = si.compose_call(pallet, function, params)
    receipt = submit(si, Keypair.create_from_uri("//Alice"), "Sudo", "sudo", call=inner)
    result = next(e.value["attributes"] for e in receipt.triggered_events if e.value["event_id"] == "Sudid")
    assert "Ok" in str(result), result


def q(si, item, *keys, at=None):
    return si.query(ST, item, list(keys), block_hash=at).value


def test_subnet_epoch_through_the_client_equals_the_consensus_engine(substrate):
    si = substrate
    bob, charlie, dave = (Keypair.create_from_uri(f"//{n}") for n in ("Bob", "Charlie", "Dave"))
    owner_hotkey = Keypair.create_from_uri("//Bob//subnet")
    receipt = submit(si, bob, ST, "register_network", hotkey=owner_hotkey.ss58_address)
    netuid = next(e.value["attributes"][0] for e in receipt.triggered_events if e.value["event_id"] == "NetworkAdded")
    si.rpc_request("dev_newBlock", [max(1, q(si, "StartCallDelay") + 1)])
    submit(si, bob, ST, "start_call", netuid=netuid)
    sudo(si, "AdminUtils", "sudo_set_tempo", netuid=netuid, tempo=5)
    sudo(si, "AdminUtils", "sudo_set_commit_reveal_weights_enabled", netuid=netuid, enabled=False)
    sudo(si, "AdminUtils", "sudo_set_weights_set_rate_limit", netuid=netuid, weights_set_rate_limit=0)

    miners = [Keypair.create_from_uri(f"//Charlie//miner{i}") for i in range(3)]
    validators = [Keypair.create_from_uri(f"//Dave//validator{i}") for i in range(2)]
    for hotkey in miners:
        submit(si, charlie, ST, "burned_register", netuid=netuid, hotkey=hotkey.ss58_address)
    for hotkey, stake in zip(validators, (1000 * TAO, 400 * TAO)):
        submit(si, dave, ST, "burned_register", netuid=netuid, hotkey=hotkey.ss58_address)
        submit(si, dave, ST, "add_stake", hotkey=hotkey.ss58_address, netuid=netuid, amount_staked=stake)
    assert q(si, "SubnetworkN", netuid) == 6

    assert si.rpc_request("dev_nextEpoch", [netuid])["result"] >= 1  # hands out validator permits
    uid = {kp.ss58_address: q(si, "Uids", netuid, kp.ss58_address) for kp in miners + validators}
    assert all(q(si, "ValidatorPermit", netuid)[uid[v.ss58_address]] for v in validators)
    for v, row in zip(validators, ([65535, 30000, 5000], [10000, 65535, 20000])):
        # Hotkeys pay no fee for set_weights (Pays::No), as on subtensor: they hold no balance here.
        submit(si, v, ST, "set_weights", netuid=netuid, dests=[uid[m.ss58_address] for m in miners],
               weights=row, version_key=0)
    for _ in range(2):  # past two tempos
        si.rpc_request("dev_nextEpoch", [netuid])

    epoch_block = q(si, "LastMechansimStepBlock", netuid)
    after = si.get_block_hash(epoch_block)
    n = q(si, "SubnetworkN", netuid, at=after)
    expected = expected_epoch(si, netuid, epoch_block)

    assert q(si, "Incentive", netuid, at=after) == expected.incentive_u16.tolist()
    assert q(si, "Dividends", netuid, at=after) == expected.dividends_u16.tolist()
    assert q(si, "Emission", netuid, at=after) == expected.emission.tolist()
    assert q(si, "Consensus", netuid, at=after) == expected.consensus_u16.tolist()
    assert q(si, "ValidatorPermit", netuid, at=after) == expected.new_validator_permits.tolist()
    assert [[tuple(e) for e in q(si, "Bonds", netuid, u, at=after)] for u in range(n)] == expected.new_bonds_rows
    # And the epoch did real work: miners earned, both validators earned dividends.
    incentive = expected.incentive_u16
    assert all(incentive[uid[m.ss58_address]] > 0 for m in miners)
    assert all(expected.dividends_u16[uid[v.ss58_address]] > 0 for v in validators)
