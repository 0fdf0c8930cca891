"""bittensor 10.5.0 (async-substrate-interface) on the devnet, unchanged, in its own environment: the issue 12
acceptance steps."""

import pytest

from .conftest import client_venv, run_steps, ss58, step

pytestmark = pytest.mark.clients



@pytest.fixture(scope="module")
def results(devnet, tmp_path_factory):
    venv = client_venv("bittensor10")
    return run_steps(venv, "bittensor10_steps.py", devnet.public_url, tmp_path_factory.mktemp("bt10"))


def test_connects_and_reads_the_block(results, substrate):
    connect = step(results, "connect")
    assert connect["seconds"] < 10
    assert 0 <= connect["block"] <= step(results, "block") <= substrate.get_block_number(None)


def test_balance_equals_storage(results, substrate):
    account = substrate.query("System", "Account", [ss58("//Ferdie")]).value
    assert step(results, "balance") == account["data"]["free"]


def test_transfer_moves_the_amount(results):
    assert step(results, "transfer") == {"success": True, "message": "Success", "received": 1_500_000_000}


def test_burned_register_registers_the_hotkey(results, substrate):
    uid = step(results, "burned_register")["uid"]
    assert uid is not None
    assert substrate.query("SubtensorModule", "Uids", [1, ss58("//Bob//bt10")]).value == uid
    assert substrate.query("SubtensorModule", "Owner", [ss58("//Bob//bt10")]).value == ss58("//Bob")


def test_set_weights_goes_through_set_mechanism_weights(results, substrate):
    uid = step(results, "set_weights")["uid"]
    assert substrate.query("SubtensorModule", "Weights", [1, 0]).value == [(uid, 65535)]


def test_serve_axon_publishes_the_endpoint(results, substrate):
    step(results, "serve_axon")
    axon = substrate.query("SubtensorModule", "Axons", [1, ss58("//Bob//bt10")]).value
    assert axon["port"] == 8091 and axon["ip_type"] == 4


def test_metagraph_lite_lists_the_neurons(results, substrate):
    assert step(results, "metagraph_lite")["n"] == substrate.query("SubtensorModule", "SubnetworkN", [1]).value


def test_metagraph_full_has_the_weights(results):
    assert step(results, "metagraph_full")["weights"]


def test_neurons_lite(results):
    assert ss58("//Alice") in step(results, "neurons_lite")


def test_neurons(results):
    assert ss58("//Alice") in step(results, "neurons")


def test_get_stake(results):
    assert step(results, "get_stake") >= 0


def test_get_stake_info_for_coldkey(results):
    assert step(results, "get_stake_info_for_coldkey") is not None


def test_add_stake(results, substrate):
    step(results, "add_stake")
    assert substrate.query("SubtensorModule", "TotalHotkeyAlpha", [ss58("//Bob//bt10"), 1]).value >= 10**9


def test_add_stake_with_mev_protection(results):
    out = step(results, "add_stake_mev_protected")
    assert out["inner_success"] is True  # the decrypted add_stake was found in a block and succeeded
    assert out["staked"] > 0
