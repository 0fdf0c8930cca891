"""`Subtensor` against a real devnet: every write, its receipt, and its failures leaving state unchanged."""

import asyncio
import time
import warnings

import pytest
from substrateinterface import Keypair

from tao_lab.client import (ChainConnectionError, ChainError, NoBlockProduced, Subtensor, TransactionRejected,
                            weights_to_u16)
from tao_lab.errors import InputError
from tao_lab.node.devnet import Devnet

TAO = 10**9
ST = "SubtensorModule"


@pytest.fixture(scope="module")
def sub():
    with Devnet(instant=True) as dev, Subtensor(dev) as client:
        yield client


def kp(uri: str) -> Keypair:
    return Keypair.create_from_uri(uri)


ALICE, BOB, CHARLIE, DAVE = (kp(f"//{n}") for n in ("Alice", "Bob", "Charlie", "Dave"))


def test_weights_to_u16_max_upscales_and_checks_input():
    assert weights_to_u16({3: 0.5, 1: 1.0}) == ([3, 1], [32768, 65535])
    assert weights_to_u16(([0, 2], [0.25, 0.75])) == ([0, 2], [21845, 65535])
    assert weights_to_u16([0.0, 0.0]) == ([0, 1], [0, 0])
    for bad in ({0: -1.0}, {0: float("nan")}, ([0, 0], [1.0, 1.0])):
        with pytest.raises(InputError):
            weights_to_u16(bad)
    with pytest.raises(InputError):
        weights_to_u16({5: 1.0}, n=3)


def test_transfer_returns_a_receipt_with_fee_and_events(sub):
    before = sub.balance(BOB)
    receipt = sub.transfer(ALICE, BOB.ss58_address, 2 * TAO)
    assert receipt.success and receipt.fee > 0 and receipt.block_number == sub.block()
    assert receipt.event("Transfer", "Balances")["amount"] == 2 * TAO
    assert sub.balance(BOB) == before + 2 * TAO
    assert sub.balance(BOB.ss58_address) == sub.query("System", "Account", [BOB.ss58_address])["data"]["free"]


def test_a_failed_call_raises_chain_error_with_name_docs_and_receipt_and_takes_only_the_fee(sub):
    alice_before, bob_before = sub.balance(ALICE), sub.balance(BOB)
    with pytest.raises(ChainError) as info:
        sub.transfer(ALICE, BOB, 10**18)
    err = info.value
    assert (err.pallet, err.error) == ("Balances", "InsufficientBalance")
    assert "too low" in err.docs and err.receipt.fee > 0 and not err.receipt.success
    assert sub.balance(ALICE) == alice_before - err.receipt.fee and sub.balance(BOB) == bob_before


def test_a_rejected_transaction_raises_and_changes_nothing(sub):
    broke = kp("//NoFunds")
    head = sub.block()
    with pytest.raises(TransactionRejected) as info:
        sub.transfer(broke, BOB, TAO)
    assert info.value.code == 1010 and "fees" in info.value.reason
    assert sub.block() == head


def test_subnet_lifecycle_register_stake_weights_axon_and_epoch(sub):
    netuid = sub.register_subnet(BOB, hotkey=kp("//Bob//owner"))
    assert netuid in sub.subnets()
    sub.set_hyperparameter(BOB, netuid, "bonds_moving_average", 800_000)  # the owner may, on its own subnet
    with pytest.raises(ChainError) as info:  # but only root sets the rate limit, as on subtensor
        sub.set_hyperparameter(BOB, netuid, "weights_set_rate_limit", 0)
    assert (info.value.pallet, info.value.error) == (None, "BadOrigin")
    sub.set_hyperparameter(ALICE, netuid, "weights_set_rate_limit", 0)  # sudo
    sub.set_hyperparameter(ALICE, netuid, "tempo", 4)
    params = sub.hyperparameters(netuid)
    assert params["tempo"] == 4 and params["bonds_moving_avg"] == 800_000 and params["weights_rate_limit"] == 0

    miners = [kp(f"//Charlie//m{i}") for i in range(2)]
    validator = kp("//Dave//v")
    uids = [sub.burned_register(CHARLIE, netuid, hotkey=m) for m in miners]
    vuid = sub.burned_register(DAVE, netuid, hotkey=validator)
    assert uids == [1, 2] and vuid == 3 and sub.neuron_count(netuid) == 4

    with pytest.raises(ChainError) as info:  # no permit yet: the chain refuses validator weights
        sub.set_weights(validator, netuid, {1: 1.0, 2: 0.5})
    assert info.value.error == "NeuronNoValidatorPermit"

    sub.add_stake(DAVE, netuid, 500 * TAO, hotkey=validator)
    assert sub.stake(validator, netuid) == 500 * TAO
    sub.remove_stake(DAVE, netuid, 100 * TAO, hotkey=validator)
    assert sub.stake(validator, netuid) == 400 * TAO
    with pytest.raises(ChainError) as info:
        sub.add_stake(DAVE, netuid, 10**18, hotkey=validator)
    assert info.value.error == "NotEnoughBalanceToStake" and sub.stake(validator, netuid) == 400 * TAO

    sub.next_epoch(netuid)  # permits come from an epoch
    no_weights_yet = sub.block()
    receipt = sub.set_weights(validator, netuid, {uids[0]: 1.0, uids[1]: 0.25})
    assert receipt.fee == 0  # set_weights is free on subtensor (Pays::No)
    stored = sub.query(ST, "Weights", [netuid, vuid])
    assert [tuple(x) for x in stored] == list(zip(*weights_to_u16({uids[0]: 1.0, uids[1]: 0.25})))

    with pytest.raises(ChainError) as info:  # an unregistered hotkey
        sub.set_weights(kp("//Eve//nobody"), netuid, {1: 1.0})
    assert info.value.error == "HotKeyNotRegisteredInSubNet"

    sub.serve_axon(miners[0], netuid, "127.0.0.1", 8091)
    axon = sub.query(ST, "Axons", [netuid, miners[0].ss58_address])
    assert axon["port"] == 8091 and axon["ip"] == 0x7F000001 and axon["ip_type"] == 4

    before = sub.block()
    epoch_block = sub.next_epoch(netuid)
    assert epoch_block > before
    incentive = sub.query(ST, "Incentive", [netuid])
    assert incentive[uids[0]] > incentive[uids[1]] > 0  # miners earn by the weights given
    assert sub.query(ST, "Incentive", [netuid], block=no_weights_yet) == [0, 0, 0, 0]  # history is kept


def test_rate_limit_and_commit_reveal(sub):
    netuid = sub.register_subnet(BOB, hotkey=kp("//Bob//owner2"))
    validator = kp("//Dave//v2")
    sub.burned_register(CHARLIE, netuid, hotkey=kp("//Charlie//x"))
    vuid = sub.burned_register(DAVE, netuid, hotkey=validator)
    sub.add_stake(DAVE, netuid, 100 * TAO, hotkey=validator)
    sub.set_hyperparameter(ALICE, netuid, "weights_set_rate_limit", 0)
    sub.next_epoch(netuid)
    sub.set_weights(validator, netuid, {1: 1.0})
    sub.set_hyperparameter(ALICE, netuid, "weights_set_rate_limit", 1000)
    with pytest.raises(ChainError) as info:
        sub.set_weights(validator, netuid, {1: 0.5})
    assert info.value.error == "SettingWeightsTooFast"

    sub.set_hyperparameter(ALICE, netuid, "weights_set_rate_limit", 0)
    sub.set_hyperparameter(ALICE, netuid, "commit_reveal_weights_enabled", True)
    salt = [1, 2, 3]
    sub.commit_weights(validator, netuid, {1: 0.3}, salt)
    assert sub.query(ST, "WeightCommits", [netuid, validator.ss58_address])
    delay = sub.query(ST, "RevealPeriodEpochs", [netuid]) if sub.query(ST, "RevealPeriodEpochs", [netuid]) else 1
    for _ in range(delay):
        sub.next_epoch(netuid)
    sub.reveal_weights(validator, netuid, {1: 0.3}, salt)
    assert [tuple(x) for x in sub.query(ST, "Weights", [netuid, vuid])] == [(1, 65535)]


def test_bad_arguments_and_unknown_subnets_are_typed_errors(sub):
    with pytest.raises(InputError):
        sub.burned_register(CHARLIE, 999)
    with pytest.raises(InputError):
        sub.hyperparameters(999)
    with pytest.raises(InputError):
        sub.set_hyperparameter(ALICE, 1, "no_such_parameter", 1)
    block = sub.block()
    with pytest.raises(InputError, match=r"kappa.*sudo_set_kappa\('kappa',\) cannot take \[131070\].*out of range"):
        sub.set_hyperparameter(ALICE, 1, "kappa", 131_070)  # a u16: refused before anything is sent
    assert sub.block() == block and sub.hyperparameters(1)["kappa"] == 32767
    with pytest.raises(InputError):
        sub.serve_axon(ALICE, 1, "not-an-ip", 1)
    with pytest.raises(InputError):
        sub.block_hash(10**6)


def test_advance_past_the_devnets_per_request_cap_asks_in_several_requests(sub):
    head = sub.block()
    assert sub.advance(10_001) == head + 10_001  # the node makes at most 10,000 per dev_newBlock
    for bad in (0, -3, True, 2.5):
        with pytest.raises(InputError, match="blocks"):
            sub.advance(bad)


def test_waiting_times_out_with_a_clear_error_when_no_blocks_come(sub):
    with pytest.raises(ChainConnectionError, match="did not arrive"):
        sub.wait_blocks(1, timeout=0.3)  # instant mode: no transactions, no blocks


def test_wait_blocks_and_wait_epoch_follow_a_producing_chain():
    with Devnet(block_time=0.05) as dev, Subtensor(dev) as sub:
        start = sub.block()
        assert sub.wait_blocks(3, timeout=10) >= start + 3
        assert sub.wait_epoch(1, timeout=20) > start


def test_unreachable_node_is_a_connection_error():
    with pytest.raises(ChainConnectionError):
        Subtensor("ws://127.0.0.1:1", timeout=2)


def test_sync_api_works_inside_a_running_event_loop_like_jupyter(sub):
    async def notebook_cell():
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            return sub.block(), sub.balance(ALICE)

    block, balance = asyncio.run(notebook_cell())
    assert block == sub.block() and balance > 0


def test_connection_loss_gives_a_clear_error_then_reconnects_when_the_node_is_back(tmp_path):
    import socket

    with socket.socket() as s:  # a free port to restart the node on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dev = Devnet(port=port, instant=True, data_dir=tmp_path / "chain").start()
    sub = Subtensor(dev, timeout=3)
    sub.transfer(ALICE, BOB, TAO)
    head = sub.block()
    dev.stop()
    with pytest.raises(ChainConnectionError):
        sub.block()  # the node is gone: an error, not a hang
    dev = Devnet(port=port, instant=True, data_dir=tmp_path / "chain").start()
    try:
        assert sub.block() == head  # same client, reconnected; the chain resumed from its data dir
        assert sub.transfer(ALICE, BOB, TAO).block_number == head + 1
    finally:
        sub.close()
        dev.stop()


# ---------------------------------------------------------------------- careless use (issue 11, items 19 and 21)

def test_a_write_on_a_devnet_that_makes_no_blocks_says_so_and_how_to_make_one():
    """Manual block mode: no 30 s hang and no "Transaction Already Imported", but `NoBlockProduced`
    within a few seconds; the transaction waits in the pool and lands with the next block."""
    with Devnet(manual=True) as dev, Subtensor(dev) as sub:
        before = sub.balance(BOB)
        started = time.monotonic()
        with pytest.raises(NoBlockProduced, match=r"no block is being produced.*advance\(\)") as info:
            sub.transfer(ALICE, BOB, TAO)
        assert time.monotonic() - started < 10
        assert isinstance(info.value, ChainConnectionError) and info.value.extrinsic_hash.startswith("0x")
        assert sub.balance(BOB) == before  # not yet: it waits for a block
        sub.advance()
        assert sub.balance(BOB) == before + TAO  # included once, not twice
        sub.advance()
        assert sub.balance(BOB) == before + TAO


def test_a_write_on_a_devnet_with_slow_blocks_waits_for_them():
    """Interval blocks slower than the first wait: the client keeps waiting for the block, no error."""
    with Devnet(block_time=4.5) as dev, Subtensor(dev) as sub:
        sub.wait_blocks(2, timeout=20)  # two blocks in: the client can see the devnet's pace
        before = sub.balance(BOB)
        receipt = sub.transfer(ALICE, BOB, TAO)
        assert receipt.success and sub.balance(BOB) == before + TAO


def test_a_url_without_a_scheme_suggests_ws():
    with pytest.raises(InputError, match=r"network: 'localhost:9944' .*did you mean 'ws://localhost:9944'"):
        Subtensor("localhost:9944")
    with pytest.raises(InputError, match="network"):
        Subtensor("ftp://127.0.0.1:9944")


def test_a_missing_subnet_or_a_netuid_out_of_range_names_the_argument(sub):
    missing = max(sub.subnets()) + 50
    for write in (lambda: sub.set_weights(BOB, missing, {0: 1.0}),
                  lambda: sub.commit_weights(BOB, missing, {0: 1.0}, [1]),
                  lambda: sub.add_stake(BOB, missing, TAO),
                  lambda: sub.serve_axon(BOB, missing, "127.0.0.1", 8091)):
        with pytest.raises(InputError, match=rf"netuid: subnet {missing} does not exist.*register_subnet") as info:
            write()
        assert info.value.argument == "netuid"
    for bad in (-1, 70_000, 1.5, "1"):
        for call in (lambda: sub.neuron_count(bad), lambda: sub.burned_register(BOB, bad),
                     lambda: sub.set_weights(BOB, bad, {0: 1.0}), lambda: sub.uid(bad, BOB)):
            with pytest.raises(InputError, match=r"netuid: expected a subnet number in 0\.\.65535"):
                call()


@pytest.mark.parametrize("junk", ["junk", "5junk", "", "0x1234", "5" * 48])
def test_a_junk_address_is_an_input_error_naming_the_argument(sub, junk):
    with pytest.raises(InputError, match="who: .* is not an SS58 address"):
        sub.balance(junk)
    with pytest.raises(InputError, match="dest: .* is not an SS58 address"):
        sub.transfer(ALICE, junk, TAO)
    with pytest.raises(InputError, match="hotkey: .* is not an SS58 address"):
        sub.uid(1, junk)


def test_bad_origin_says_who_may_sign(sub):
    alice = ALICE.ss58_address
    with pytest.raises(ChainError) as info:  # Bob neither owns subnet 1 nor holds the sudo key
        sub.set_hyperparameter(BOB, 1, "kappa", 30_000)
    message = str(info.value)
    assert info.value.error == "BadOrigin" and "sudo key" in message and alice in message and "//Alice" in message
    assert "owner" in message and BOB.ss58_address in message and info.value.hint in message
    remark = sub.substrate.compose_call("System", "remark", {"remark": "0x00"})
    with pytest.raises(ChainError, match=rf"Sudo.sudo must be signed by the sudo key {alice}"):
        sub.submit(BOB, "Sudo", "sudo", {"call": remark})


def test_connections_to_one_node_decode_its_metadata_once(sub, monkeypatch):
    from tao_lab.client import subtensor as module

    first = Subtensor(sub.url)
    first.block()
    first.substrate.init_runtime()
    fetched = []
    original = type(first.substrate).get_block_metadata

    def counting(self, *args, **kwargs):
        fetched.append(self.url)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(first.substrate), "get_block_metadata", counting)
    started = time.perf_counter()
    with first, Subtensor(sub.url) as second:  # e.g. a neuron's own connection in the same kernel
        assert second.balance(ALICE) == first.balance(ALICE)
        assert fetched == [] and second.substrate.metadata is first.substrate.metadata
    assert time.perf_counter() - started < 1.0  # decoding it again takes 1-2 s
    # another node gets its own entry, and only the most recent few nodes are kept
    monkeypatch.setattr(module, "METADATA_URLS", 2)
    with Devnet(instant=True) as other, Subtensor(other) as third:
        third.block()
        third.substrate.init_runtime()
        assert fetched == [third.url] and len(module._METADATA) <= 2
        assert module._metadata_cache(third.url) is not module._metadata_cache(sub.url)
