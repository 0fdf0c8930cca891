"""MevShield on a real devnet: a signed extrinsic encrypted to ``NextKey`` and carried by ``submit_encrypted``
runs right after its carrier in the same block; a carrier that cannot be unshielded is refused at submission
with an error that says why, and leaves the chain as it was."""

from __future__ import annotations

import pytest
from substrateinterface import Keypair, SubstrateInterface
from substrateinterface.exceptions import SubstrateRequestException

from tao_lab.chain import shield_crypto
from tao_lab.chain.chain import Chain, dev_accounts
from tao_lab.chain.pallet import DispatchError
from tao_lab.node.devnet import Devnet

TAO = 10**9
ALICE = Keypair.create_from_uri("//Alice")
DAVE = Keypair.create_from_uri("//Dave").ss58_address




def next_key(substrate) -> bytes:
    value = substrate.query("MevShield", "NextKey").value
    return bytes.fromhex(value[2:]) if isinstance(value, str) else bytes(value)


def transfer(substrate, amount: int):
    return substrate.compose_call("Balances", "transfer_keep_alive", {"dest": DAVE, "value": amount})


def signed(substrate, call, nonce: int, era=None):
    return substrate.create_signed_extrinsic(call=call, keypair=ALICE, nonce=nonce, era=era or {"period": 8})


def carrier(substrate, ciphertext: bytes, nonce: int, era=None):
    call = substrate.compose_call("MevShield", "submit_encrypted", {"ciphertext": "0x" + ciphertext.hex()})
    return signed(substrate, call, nonce, era)


def inner_bytes(extrinsic) -> bytes:
    return bytes(extrinsic.data.data)  # length-prefixed, as the clients encrypt it


def snapshot(substrate) -> tuple:
    return (substrate.get_block_number(None), substrate.query("System", "Account", [ALICE.ss58_address]).value,
            substrate.query("System", "Account", [DAVE]).value)


def test_next_key_is_the_devnets_well_known_key(substrate):
    enc_key, _ = shield_crypto.dev_key_pair()
    assert next_key(substrate) == enc_key and len(enc_key) == shield_crypto.ENC_KEY_LEN
    assert substrate.query("MevShield", "CurrentKey").value is not None
    head = substrate.get_block_number(None)
    assert substrate.query("MevShield", "NextKeyExpiresAt").value == head + 3
    assert substrate.query("MevShield", "PendingKeyExpiresAt").value == head + 2


def test_shielded_transfer_runs_right_after_its_carrier(substrate):
    nonce = substrate.get_account_nonce(ALICE.ss58_address)
    dave_before = substrate.query("System", "Account", [DAVE]).value["data"]["free"]
    inner = signed(substrate, transfer(substrate, 3 * TAO), nonce + 1)
    outer = carrier(substrate, shield_crypto.encrypt(next_key(substrate), inner_bytes(inner)), nonce)

    receipt = substrate.submit_extrinsic(outer, wait_for_inclusion=True)

    assert receipt.is_success
    assert any(e.value["module_id"] == "MevShield" and e.value["event_id"] == "EncryptedSubmitted"
               for e in receipt.triggered_events)
    block = substrate.get_block(block_hash=receipt.block_hash)
    hashes = ["0x" + e.extrinsic_hash.hex() for e in block["extrinsics"]]
    assert hashes.index("0x" + inner.extrinsic_hash.hex()) == receipt.extrinsic_idx + 1  # right after its carrier
    assert substrate.query("System", "Account", [DAVE]).value["data"]["free"] == dave_before + 3 * TAO
    assert substrate.get_account_nonce(ALICE.ss58_address) == nonce + 2


def test_failing_inner_extrinsic_is_included_with_extrinsic_failed(substrate):
    nonce = substrate.get_account_nonce(ALICE.ss58_address)
    stake = substrate.compose_call("SubtensorModule", "add_stake",
                                   {"hotkey": Keypair.create_from_uri("//Nobody").ss58_address, "netuid": 1,
                                    "amount_staked": TAO})
    inner = signed(substrate, stake, nonce + 1)
    outer = carrier(substrate, shield_crypto.encrypt(next_key(substrate), inner_bytes(inner)), nonce)

    receipt = substrate.submit_extrinsic(outer, wait_for_inclusion=True)

    assert receipt.is_success  # the carrier did its part
    block = substrate.get_block(block_hash=receipt.block_hash)
    idx = ["0x" + e.extrinsic_hash.hex() for e in block["extrinsics"]].index("0x" + inner.extrinsic_hash.hex())
    events = [e.value for e in substrate.get_events(receipt.block_hash) if e.value["extrinsic_idx"] == idx]
    assert [e["event_id"] for e in events if e["module_id"] == "System"] == ["ExtrinsicFailed"]
    assert any(e["module_id"] == "TransactionPayment" for e in events)  # its fee and nonce stand, as on any extrinsic
    assert substrate.get_account_nonce(ALICE.ss58_address) == nonce + 2


def _refused(substrate, extrinsic) -> str:
    before = snapshot(substrate)
    with pytest.raises(SubstrateRequestException) as info:
        substrate.submit_extrinsic(extrinsic, wait_for_inclusion=True)
    assert snapshot(substrate) == before  # no block, no fee, no nonce, no transfer
    return str(info.value)


def test_ciphertext_for_another_key_is_refused(substrate):
    nonce = substrate.get_account_nonce(ALICE.ss58_address)
    inner = signed(substrate, transfer(substrate, TAO), nonce + 1)
    other_key, _ = shield_crypto._ml_kem().key_derive(bytes(64))
    message = _refused(substrate, carrier(substrate, shield_crypto.encrypt(other_key, inner_bytes(inner)), nonce))
    assert "Custom error: 24" in message and "MevShield.NextKey" in message


def test_garbage_ciphertexts_are_refused(substrate):
    nonce = substrate.get_account_nonce(ALICE.ss58_address)
    assert "Custom error: 23" in _refused(substrate, carrier(substrate, b"\x01" * 5, nonce))
    # well formed and naming the right key, but not encrypted to it: the Poly1305 tag fails
    key_hash = shield_crypto.key_hash(next_key(substrate))
    forged = shield_crypto.ShieldedTransaction(key_hash, b"\x07" * shield_crypto.KEM_CT_LEN, b"\x00" * 24, b"\x09" * 64)
    assert "could not decrypt" in _refused(substrate, carrier(substrate, forged.encode(), nonce))


def test_inner_extrinsic_with_a_bad_signature_is_refused(substrate):
    nonce = substrate.get_account_nonce(ALICE.ss58_address)
    raw = bytearray(inner_bytes(signed(substrate, transfer(substrate, TAO), nonce + 1)))
    raw[40] ^= 0xFF  # inside the signature (after length prefix, version byte and the 33-byte address)
    message = _refused(substrate, carrier(substrate, shield_crypto.encrypt(next_key(substrate), bytes(raw)), nonce))
    assert "MEV-shielded extrinsic" in message and "bad signature" in message


def test_inner_extrinsic_at_the_carriers_nonce_is_refused(substrate):
    nonce = substrate.get_account_nonce(ALICE.ss58_address)
    inner = signed(substrate, transfer(substrate, TAO), nonce)  # the carrier takes this nonce first
    message = _refused(substrate, carrier(substrate, shield_crypto.encrypt(next_key(substrate), inner_bytes(inner)), nonce))
    assert "MEV-shielded extrinsic" in message and "outdated" in message


def test_immortal_carrier_is_refused(substrate):
    nonce = substrate.get_account_nonce(ALICE.ss58_address)
    inner = signed(substrate, transfer(substrate, TAO), nonce + 1)
    ciphertext = shield_crypto.encrypt(next_key(substrate), inner_bytes(inner))
    call = substrate.compose_call("MevShield", "submit_encrypted", {"ciphertext": "0x" + ciphertext.hex()})
    immortal = substrate.create_signed_extrinsic(call=call, keypair=ALICE, nonce=nonce)
    assert "mortal era of at most 8 blocks" in _refused(substrate, immortal)


def test_a_carrier_cannot_carry_a_carrier(substrate):
    nonce = substrate.get_account_nonce(ALICE.ss58_address)
    key = next_key(substrate)
    innermost = signed(substrate, transfer(substrate, TAO), nonce + 2)
    middle = carrier(substrate, shield_crypto.encrypt(key, inner_bytes(innermost)), nonce + 1)
    message = _refused(substrate, carrier(substrate, shield_crypto.encrypt(key, inner_bytes(middle)), nonce))
    assert "cannot carry another MevShield.submit_encrypted" in message


# ---------------------------------------------------------------------- the runtime alone


def test_the_key_is_the_same_on_every_start():
    assert Chain.dev().query("MevShield", "NextKey") == Chain.dev().query("MevShield", "NextKey") \
        == shield_crypto.dev_key_pair()[0]


def test_stored_encrypted_calls_are_dropped_next_block_as_on_subtensor():
    chain = Chain.dev()
    alice = dev_accounts()["alice"].public
    events = chain.dispatch(alice, "MevShield", "store_encrypted", encrypted_call=b"\x01\x02")
    assert ("MevShield", "ExtrinsicStored", {"index": 0, "who": alice}) in events
    assert chain.query("MevShield", "CounterForPendingExtrinsics") == 1
    chain.advance(1)  # subtensor's runtime has no decryptor for the queue (ExtrinsicDecryptor = ())
    names = [r["event"][1][0] for r in chain.query("System", "Events") if r["event"][0] == "MevShield"]
    assert names == ["ExtrinsicDecodeFailed"]
    assert chain.query("MevShield", "CounterForPendingExtrinsics") == 0
    assert chain.query("MevShield", "PendingExtrinsics", 0) is None


def test_root_settings_need_root_and_a_sane_weight():
    chain = Chain.dev()
    events = chain.dispatch("root", "MevShield", "set_stored_extrinsic_lifetime", value=3)
    assert ("MevShield", "ExtrinsicLifetimeSet", {"value": 3}) in events
    assert chain.query("MevShield", "ExtrinsicLifetime") == 3
    with pytest.raises(DispatchError) as info:
        chain.dispatch("root", "MevShield", "set_on_initialize_weight", value=2_000_000_000_001)
    assert info.value.error == "WeightExceedsAbsoluteMax"
    with pytest.raises(DispatchError) as info:
        chain.dispatch(dev_accounts()["bob"].public, "MevShield", "set_max_pending_extrinsics_number", value=1)
    assert info.value.error == "BadOrigin"
    assert chain.query("MevShield", "MaxPendingExtrinsicsLimit") == 100


def test_a_persisted_devnet_decrypts_after_a_restart(tmp_path):
    """The key is derived from a fixed seed, so the NextKey stored in the journal is still the node's own."""
    with Devnet(instant=True, data_dir=tmp_path) as node:
        first = SubstrateInterface(url=node.url, ws_options={"timeout": 10})
        key = next_key(first)
        first.rpc_request("dev_newBlock", [2])
        first.close()
    with Devnet(instant=True, data_dir=tmp_path) as node:
        substrate = SubstrateInterface(url=node.url, ws_options={"timeout": 10})
        try:
            assert next_key(substrate) == key and substrate.get_block_number(None) == 2  # resumed, not a new chain
            nonce = substrate.get_account_nonce(ALICE.ss58_address)
            inner = signed(substrate, transfer(substrate, TAO), nonce + 1)
            outer = carrier(substrate, shield_crypto.encrypt(key, inner_bytes(inner)), nonce)
            assert substrate.submit_extrinsic(outer, wait_for_inclusion=True).is_success
            assert substrate.get_account_nonce(ALICE.ss58_address) == nonce + 2  # the inner one ran too
        finally:
            substrate.close()
