"""Metagraph and Recorder against a real devnet subprocess.

Subnet 1 (Alice's, tempo 10, uid 0 = Alice's hotkey) gets three miners and two staked validators
that set weights and serve axons; an epoch hands out permits, two more run Yuma with those weights.
Every array the metagraph builds is compared with the raw storage read item by item through
substrate-interface at the same block.
"""

import ipaddress

import numpy as np
import pandas as pd
import pytest
from substrateinterface import Keypair

from tao_lab.client.metagraph import AxonInfo, Metagraph, StorageLayoutError
from tao_lab.client.recorder import COLUMNS, Recorder
from tao_lab.client.subtensor import Subtensor
from tao_lab.errors import InputError
from tao_lab.node.devnet import Devnet

ST = "SubtensorModule"
TAO = 10**9
NETUID = 1


def submit(si, keypair, function, **params):
    ext = si.create_signed_extrinsic(si.compose_call(ST, function, params), keypair=keypair)
    receipt = si.submit_extrinsic(ext, wait_for_inclusion=True)
    assert receipt.is_success, f"{function}: {receipt.error_message}"


@pytest.fixture(scope="module")
def chain():
    """(subtensor, neurons): subnet 1 with 3 miners and 2 validators that have run two epochs with weights."""
    with Devnet(instant=True) as dev, Subtensor(dev) as subtensor:
        si = subtensor.substrate
        charlie, dave = Keypair.create_from_uri("//Charlie"), Keypair.create_from_uri("//Dave")
        miners = [Keypair.create_from_uri(f"//Charlie//miner{i}") for i in range(3)]
        validators = [Keypair.create_from_uri(f"//Dave//validator{i}") for i in range(2)]
        for hotkey in miners:
            submit(si, charlie, "burned_register", netuid=NETUID, hotkey=hotkey.ss58_address)
        for hotkey, stake in zip(validators, (1000 * TAO, 400 * TAO)):
            submit(si, dave, "burned_register", netuid=NETUID, hotkey=hotkey.ss58_address)
            submit(si, dave, "add_stake", hotkey=hotkey.ss58_address, netuid=NETUID, amount_staked=stake)
        si.rpc_request("dev_nextEpoch", [NETUID])  # hands out validator permits
        uid = {kp.ss58_address: subtensor.query(ST, "Uids", [NETUID, kp.ss58_address]) for kp in miners + validators}
        for v, row in zip(validators, ([65535, 30000, 5000], [10000, 65535, 20000])):
            submit(si, v, "set_weights", netuid=NETUID, dests=[uid[m.ss58_address] for m in miners],
                   weights=row, version_key=0)
        for i, m in enumerate(miners[:2]):
            ip = int(ipaddress.ip_address("127.0.0.1" if i == 0 else "::1"))
            submit(si, m, "serve_axon", netuid=NETUID, version=3, ip=ip, port=9000 + i, ip_type=4 if i == 0 else 6,
                   protocol=4, placeholder1=0, placeholder2=0)
        si.rpc_request("dev_nextEpoch", [NETUID])
        si.rpc_request("dev_nextEpoch", [NETUID])
        yield subtensor, {"miners": miners, "validators": validators, "uid": uid}


def raw(subtensor, item, *params, block=None):
    return subtensor.query(ST, item, list(params), block=block)


def test_sync_equals_raw_storage(chain):
    subtensor, neurons = chain
    mg = Metagraph(NETUID).sync(subtensor)
    n, b = mg.n, mg.block
    assert n == raw(subtensor, "SubnetworkN", NETUID) == 6 and b == subtensor.block()
    assert mg.block_hash == subtensor.block_hash(b)
    for name in ("S", "stake_rao", "I", "D", "C", "VT", "E", "emission_rao", "active", "validator_permit",
                 "last_update", "block_at_registration", "uids"):
        assert getattr(mg, name).shape == (n,), name
    for name in ("W", "B", "weights_u16", "bonds_u16"):
        assert getattr(mg, name).shape == (n, n), name
    assert len(mg.hotkeys) == len(mg.coldkeys) == len(mg.axons) == n

    hotkeys = [raw(subtensor, "Keys", NETUID, u) for u in range(n)]
    assert mg.hotkeys == hotkeys
    assert mg.coldkeys == [raw(subtensor, "Owner", hk) for hk in hotkeys]
    assert mg.stake_rao.tolist() == [raw(subtensor, "TotalHotkeyAlpha", hk, NETUID) for hk in hotkeys]
    np.testing.assert_array_equal(mg.S, mg.stake_rao / TAO)
    for name, item in (("I", "Incentive"), ("D", "Dividends"), ("C", "Consensus"), ("VT", "ValidatorTrust")):
        assert np.rint(getattr(mg, name) * 65535).astype(int).tolist() == raw(subtensor, item, NETUID), name
    assert mg.emission_rao.tolist() == raw(subtensor, "Emission", NETUID)
    np.testing.assert_array_equal(mg.E, mg.emission_rao / TAO)
    assert mg.active.tolist() == raw(subtensor, "Active", NETUID)
    assert mg.validator_permit.tolist() == raw(subtensor, "ValidatorPermit", NETUID)
    assert mg.last_update.tolist() == raw(subtensor, "LastUpdate", NETUID)
    assert mg.block_at_registration.tolist() == [raw(subtensor, "BlockAtRegistration", NETUID, u) for u in range(n)]
    assert mg.tempo == raw(subtensor, "Tempo", NETUID)
    assert mg.last_epoch_block == raw(subtensor, "LastMechansimStepBlock", NETUID)
    for u in range(n):
        for matrix, item in ((mg.weights_u16, "Weights"), (mg.bonds_u16, "Bonds")):
            row = {j: w for j, w in raw(subtensor, item, NETUID, u)}
            assert matrix[u].tolist() == [row.get(j, 0) for j in range(n)], (item, u)

    # The run did real work, and the float views follow the documented units.
    v0, v1 = (neurons["uid"][v.ss58_address] for v in neurons["validators"])
    miners = [neurons["uid"][m.ss58_address] for m in neurons["miners"]]
    assert mg.validator_permit[[v0, v1]].all() and (mg.I[miners] > 0).all() and (mg.D[[v0, v1]] > 0).all()
    assert mg.stake_rao[v0] >= 1000 * TAO and mg.B[v0].max() > 0
    np.testing.assert_allclose(mg.W[v0].sum(), 1.0)
    np.testing.assert_allclose(mg.W[v0, miners], np.array([65535, 30000, 5000]) / 100535)
    assert (mg.W[miners].sum(axis=1) == 0).all()  # miners set no weights
    np.testing.assert_array_equal(mg.B, mg.bonds_u16 / 65535)
    assert mg.stake is mg.S and mg.weights is mg.W and mg.emission is mg.E


def test_coldkey_balances_equal_system_account_at_the_metagraph_block(chain):
    subtensor, _ = chain
    mg = Metagraph(NETUID).sync(subtensor)
    balances = mg.coldkey_balances(subtensor)
    assert list(balances) == list(dict.fromkeys(mg.coldkeys))  # each owner once, in uid order
    for coldkey, tao in balances.items():
        free = subtensor.query("System", "Account", [coldkey], block=mg.block)["data"]["free"]
        assert tao == free / TAO
    assert Metagraph(NETUID).coldkey_balances(subtensor) == {}  # never synced


def test_axons(chain):
    subtensor, neurons = chain
    mg = Metagraph(NETUID).sync(subtensor)
    m0, m1, m2 = (neurons["uid"][m.ss58_address] for m in neurons["miners"])
    a0, a1 = mg.axons[m0], mg.axons[m1]
    assert (a0.ip, a0.port, a0.ip_type, a0.protocol, a0.version, str(a0)) == ("127.0.0.1", 9000, 4, 4, 3, "127.0.0.1:9000")
    assert (a1.ip, a1.ip_type, str(a1)) == ("::1", 6, "[::1]:9001")
    assert a0.block == raw(subtensor, "Axons", NETUID, mg.hotkeys[m0])["block"] > 0
    assert a0.hotkey == mg.hotkeys[m0] and a0.coldkey == Keypair.create_from_uri("//Charlie").ss58_address
    assert mg.axons[m2] == AxonInfo("0.0.0.0", 0, 0, 0, 0, 0, mg.hotkeys[m2], mg.coldkeys[m2])
    assert a0.is_serving and not mg.axons[m2].is_serving


def test_past_block_is_read_as_it_was(chain):
    subtensor, _ = chain
    before = Metagraph(NETUID).sync(subtensor)
    subtensor.substrate.rpc_request("dev_nextEpoch", [NETUID])
    after = Metagraph(NETUID).sync(subtensor)
    again = Metagraph(NETUID).sync(subtensor, block=before.block)
    assert after.block > before.block and after.last_epoch_block > before.last_epoch_block
    assert again.block == before.block and again.block_hash == before.block_hash
    for name in ("stake_rao", "emission_rao", "I", "D", "bonds_u16", "weights_u16", "last_update"):
        np.testing.assert_array_equal(getattr(again, name), getattr(before, name), err_msg=name)
    assert not np.array_equal(after.stake_rao, before.stake_rao)  # dividends and incentive were paid out
    # A block before any neuron registered: only Alice's uid 0.
    genesis = Metagraph(NETUID).sync(subtensor, block=0)
    assert genesis.n == 1 and genesis.block == 0 and genesis.W.shape == (1, 1)


def test_dataframe_view(chain):
    subtensor, _ = chain
    mg = Metagraph(NETUID).sync(subtensor)
    df = mg.to_pandas()
    assert len(df) == mg.n and df["uid"].tolist() == list(range(mg.n))
    assert list(df.columns) == [c for c in COLUMNS if c not in ("block", "epoch", "epoch_block", "netuid")]
    assert df.attrs == {"netuid": NETUID, "block": mg.block}
    assert df["hotkey"].tolist() == mg.hotkeys and df["S"].tolist() == mg.S.tolist()
    assert df["validator_permit"].dtype == bool and df["stake_rao"].dtype == np.int64
    assert (df["axon"] != "").sum() == sum(a.is_serving for a in mg.axons)


def test_bad_netuid_block_and_arguments(chain):
    subtensor, _ = chain
    with pytest.raises(InputError, match="subnet 42 does not exist"):
        Metagraph(42).sync(subtensor)
    with pytest.raises(InputError, match="does not exist yet"):
        Metagraph(NETUID).sync(subtensor, block=subtensor.block() + 1000)
    with pytest.raises(InputError):
        Metagraph(-1)
    with pytest.raises(InputError):
        Recorder(subtensor, NETUID, every="tempo")


def test_recorder_every_block(chain):
    subtensor, _ = chain
    rec = Recorder(subtensor, NETUID, every="block")
    seen = []
    rec.on_record(lambda mg: seen.append(mg.block))
    head = subtensor.block()
    assert rec.record(3, advance=True) == [head + 1, head + 2, head + 3] == seen
    n = rec.metagraph.n
    h = rec.history
    assert list(h.columns) == list(COLUMNS) and len(h) == 3 * n
    assert h.groupby("block").size().tolist() == [n] * 3 and (h["netuid"] == NETUID).all()
    subtensor.advance(2)
    assert rec.step() == [head + 4, head + 5]  # blocks made while it was not looking are read back
    assert rec.step() == []
    si = subtensor.substrate
    si.rpc_request("dev_setBlockMode", ["interval", 0.05])  # the node makes blocks on its own: poll for them
    try:
        blocks = rec.record(3, timeout=10)
    finally:
        si.rpc_request("dev_setBlockMode", ["instant"])
    # Three new blocks, and any the node made between the last step and this call: none is skipped.
    assert len(blocks) >= 3 and blocks == list(range(head + 6, blocks[-1] + 1))
    assert len(rec.history) == (5 + len(blocks)) * n


def test_recorder_every_epoch(chain):
    subtensor, _ = chain
    head = subtensor.next_epoch(NETUID)  # the chain stands on an epoch's block
    rec = Recorder(subtensor, NETUID, every="epoch")
    first = rec.step()  # the latest epoch that already ran
    assert first == [raw(subtensor, "LastMechansimStepBlock", NETUID)] == [head]
    tempo = raw(subtensor, "Tempo", NETUID)
    blocks = rec.record(2 * tempo, advance=True)  # an epoch every tempo blocks: two more
    assert blocks == [head + tempo, head + 2 * tempo]
    h = rec.history
    count = raw(subtensor, "SubnetEpochIndex", NETUID)  # the chain's number of the subnet's epochs
    assert count >= 3 and (h["block"] == h["epoch_block"]).all()
    assert h["epoch"].unique().tolist() == [count - 2, count - 1, count]
    assert sorted(h["block"].unique().tolist()) == first + blocks
    per_epoch = h.groupby("epoch")["emission_rao"].sum()
    assert (per_epoch > 0).all()


def test_recorder_epoch_column_is_the_chains_epoch_not_a_count_of_snapshots(chain):
    """Snapshots two epochs apart are two epochs apart; snapshots within one epoch share its number."""
    subtensor, _ = chain
    first = subtensor.next_epoch(NETUID)
    subtensor.next_epoch(NETUID)
    third = subtensor.next_epoch(NETUID)
    rec = Recorder(subtensor, NETUID, every="block")
    rec.record_at([first, first + 1, third])
    epochs = rec.history.drop_duplicates("block")["epoch"].tolist()
    chain_count = [raw(subtensor, "SubnetEpochIndex", NETUID, block=b) for b in (first, first + 1, third)]
    assert epochs == chain_count and epochs[0] == epochs[1] == epochs[2] - 2


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_recorder_save_load_round_trip(chain, tmp_path, suffix):
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    subtensor, _ = chain
    rec = Recorder(subtensor, NETUID, every="block")
    rec.record(2, advance=True)
    path = rec.save(tmp_path / f"history{suffix}")
    loaded = Recorder.load(path, every="block")
    pd.testing.assert_frame_equal(loaded.history, rec.history, check_exact=True)
    assert loaded.netuid == NETUID
    with pytest.raises(InputError, match="loaded from a file"):
        loaded.step()
    loaded.subtensor = subtensor  # given a chain it carries on where the file stopped
    assert loaded.record(1, advance=True) == [int(rec.history["block"].max()) + 1]
    with pytest.raises(InputError, match=".csv or .parquet"):
        rec.save(tmp_path / "history.json")


def test_empty_history_round_trip(tmp_path):
    rec = Recorder(None, NETUID)
    assert list(rec.history.columns) == list(COLUMNS) and len(rec.history) == 0
    path = rec.save(tmp_path / "empty.csv")
    assert len(Recorder.load(path).history) == 0


def test_layouts_fail_loudly_and_fallback_agrees(chain, monkeypatch):
    """Bytes that do not fit the type raise; the scalecodec path gives what the fast path gives."""
    from tao_lab.client import _storage as module  # the storage reader behind Metagraph

    decode = module._fast_decoder("pairs", "Vec<(u16,u16)>")
    assert decode(bytes([8, 1, 0, 2, 0, 3, 0, 4, 0])).tolist() == [[1, 2], [3, 4]]
    for bad in (bytes([8, 1, 0, 2, 0, 3, 0]), bytes([4, 1, 0, 2, 0, 9])):
        with pytest.raises(ValueError):
            decode(bad)
    with pytest.raises(ValueError):
        module._fast_decoder("vector", "Vec<bool>")(bytes([4, 2]))
    assert module._fast_decoder("pairs", "Vec<u16>") is None  # an unexpected type goes to scalecodec
    assert issubclass(StorageLayoutError, module.TaoLabError)

    subtensor, _ = chain
    fast = Metagraph(NETUID).sync(subtensor)
    monkeypatch.setattr(module, "_fast_decoder", lambda kind, shape: None)
    with Subtensor(subtensor.url) as fresh:  # a new connection: layouts are cached per connection
        slow = Metagraph(NETUID).sync(fresh, block=fast.block)
    for name in ("stake_rao", "emission_rao", "I", "D", "C", "VT", "active", "validator_permit", "last_update",
                 "weights_u16", "bonds_u16", "block_at_registration"):
        np.testing.assert_array_equal(getattr(slow, name), getattr(fast, name), err_msg=name)
    assert (slow.hotkeys, slow.coldkeys, slow.axons) == (fast.hotkeys, fast.coldkeys, fast.axons)
