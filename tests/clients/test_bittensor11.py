"""bittensor 11.3.0 (its own transport on bittensor-core) on the devnet, unchanged, in its own environment: the
issue 12 acceptance steps, intents with the SDK's default options."""

import pytest

from .conftest import client_venv, run_steps, ss58, step

pytestmark = pytest.mark.clients



@pytest.fixture(scope="module")
def results(devnet, tmp_path_factory):
    venv = client_venv("bittensor11")
    return run_steps(venv, "bittensor11_steps.py", devnet.public_url, tmp_path_factory.mktemp("bt11"))


def test_connects_and_reads_the_block(results, substrate):
    assert step(results, "connect")["seconds"] < 10
    assert 0 < step(results, "block") <= substrate.get_block_number(None)


def test_balance_equals_storage(results, substrate):
    account = substrate.query("System", "Account", [ss58("//Ferdie")]).value
    assert step(results, "balance") == account["data"]["free"]


def test_subnets_equal_storage(results, substrate):
    subnets = {s["netuid"]: s for s in step(results, "subnets")}
    assert sorted(subnets) == [0, 1]
    assert subnets[1]["tempo"] == substrate.query("SubtensorModule", "Tempo", [1]).value
    # the BurnedRegister step, after this read, adds Eve's hotkey
    registered_later = substrate.query("SubtensorModule", "Uids", [1, ss58("//Eve//bt11")]).value is not None
    assert subnets[1]["n"] == substrate.query("SubtensorModule", "SubnetworkN", [1]).value - registered_later
    assert subnets[1]["burn"] > 0  # Burn decays every block: the value read is of an earlier block


def test_hyperparameters_equal_storage(results, substrate):
    read = step(results, "hyperparameters")
    for name, item in (("immunity_period", "ImmunityPeriod"), ("min_allowed_weights", "MinAllowedWeights"),
                       ("max_weight_limit", "MaxWeightsLimit"), ("weights_rate_limit", "WeightsSetRateLimit"),
                       ("difficulty", "Difficulty"), ("reveal_period", "RevealPeriodEpochs")):
        assert read[name] == substrate.query("SubtensorModule", item, [1]).value, name


def test_transfer_intent_moves_the_amount(results):
    out = step(results, "Transfer")
    assert out["success"] and out["received"] == 1_500_000_000 and out["fee"] > 0


def test_set_weights_intent_sets_the_owners_weights(results, substrate):
    assert step(results, "SetWeights")["success"]
    assert substrate.query("SubtensorModule", "Weights", [1, 0]).value == [(0, 65535)]


def test_serve_axon_intent_publishes_the_endpoint(results, substrate):
    assert step(results, "ServeAxon")["success"]
    axon = substrate.query("SubtensorModule", "Axons", [1, ss58("//Alice")]).value
    assert axon["port"] == 8091 and axon["ip_type"] == 4


def test_burned_register_intent_registers(results, substrate):
    out = step(results, "BurnedRegister")
    assert out["success"] and out["shielded"]  # bittensor 11 always submits it MEV-shielded
    assert substrate.query("SubtensorModule", "Uids", [1, ss58("//Eve//bt11")]).value is not None


def test_add_stake_intent_stakes(results):
    assert step(results, "AddStake")["success"]


def test_subnet_metagraph(results):
    assert ss58("//Alice") in step(results, "metagraph")["hotkeys"]


def test_neurons_all(results):
    assert ss58("//Alice") in step(results, "neurons")


def test_stake_positions(results):
    assert step(results, "stake_positions") is not None


def test_delegates(results):
    assert step(results, "delegates") is not None
