"""Transactions against the devnet, from this process, with real sr25519 signatures.

Valid transactions go through substrate-interface end to end (compose, sign, submit, wait, receipt).
Invalid ones are built byte by byte here (a signed v4 extrinsic is short enough to write out), sent
with ``rpc_request`` and must come back as JSON-RPC error 1010 with the node's reason, with nothing
applied. Failing calls must report the pallet error and leave the state as it was, fees aside.
One ``Devnet(instant=True)`` subprocess serves the module.
"""

from __future__ import annotations

import hashlib

import pytest
from substrateinterface import Keypair
from substrateinterface.exceptions import SubstrateRequestException


TIMEOUT = 10.0  # seconds for any single socket read

ALICE = Keypair.create_from_uri("//Alice")  # sudo key, rich
BOB = Keypair.create_from_uri("//Bob")
CHARLIE = Keypair.create_from_uri("//Charlie")
POOR = Keypair.create_from_uri("//TaoLabPoor")  # no account: cannot pay any fee
TAO = 10**9  # rao
EXISTENTIAL_DEPOSIT = 500  # rao


# ---------------------------------------------------------------------------------------- fixtures


# `devnet` and `substrate` (one instant-mode node per module) come from conftest.py.


# ---------------------------------------------------------------------------------------- helpers


def rpc(substrate, method: str, *params):
    return substrate.rpc_request(method, list(params))["result"]


def account(substrate, who: Keypair, block_hash=None) -> dict:
    return substrate.query("System", "Account", [who.ss58_address], block_hash=block_hash).value


def head(substrate) -> tuple[int, str]:
    header = rpc(substrate, "chain_getHeader")
    return int(header["number"], 16), rpc(substrate, "chain_getHead")


def call_bytes(substrate, pallet: str, name: str, args: dict) -> bytes:
    return bytes(substrate.compose_call(pallet, name, args).data.data)


def compact(n: int) -> bytes:
    """SCALE compact encoding of a non-negative integer."""
    if n < 1 << 6:
        return bytes([n << 2])
    if n < 1 << 14:
        return ((n << 2) | 1).to_bytes(2, "little")
    if n < 1 << 30:
        return ((n << 2) | 2).to_bytes(4, "little")
    body = n.to_bytes((n.bit_length() + 7) // 8, "little")
    return bytes([((len(body) - 4) << 2) | 3]) + body


def mortal_era(period: int, current: int) -> tuple[bytes, int]:
    """The two era bytes of a mortal era starting at ``current``, and its birth block (period a power of 2)."""
    phase = current % period
    quantize = max(period >> 12, 1)
    encoded = min(15, max(1, period.bit_length() - 2)) | ((phase // quantize) << 4)
    return encoded.to_bytes(2, "little"), current // period * period + phase


class Signer:
    """Builds signed v4 extrinsics by hand: the layout of notes/substrate-node.md section 5."""

    def __init__(self, substrate):
        version = rpc(substrate, "state_getRuntimeVersion")
        self.spec = version["specVersion"].to_bytes(4, "little")
        self.tx = version["transactionVersion"].to_bytes(4, "little")
        self.genesis = bytes.fromhex(rpc(substrate, "chain_getBlockHash", 0)[2:])

    def extrinsic(self, keypair: Keypair, call: bytes, nonce: int, era: bytes = b"\x00", era_hash: bytes | None = None,
                  tip: int = 0, signature: bytes | None = None) -> bytes:
        extra = era + compact(nonce) + compact(tip) + b"\x00"  # the last byte: CheckMetadataHash mode Disabled
        payload = call + extra + self.spec + self.tx + self.genesis + (era_hash or self.genesis) + b"\x00"
        if len(payload) > 256:
            payload = hashlib.blake2b(payload, digest_size=32).digest()
        signature = keypair.sign(payload) if signature is None else signature
        body = b"\x84" + b"\x00" + keypair.public_key + b"\x01" + signature + extra + call
        return compact(len(body)) + body


@pytest.fixture(scope="module")
def signer(substrate):
    return Signer(substrate)


def submit_raw(substrate, raw: bytes, watch: bool = False) -> dict:
    """Submit raw bytes and return the JSON-RPC error they must cause."""
    method = "author_submitAndWatchExtrinsic" if watch else "author_submitExtrinsic"
    with pytest.raises(SubstrateRequestException) as info:
        substrate.rpc_request(method, ["0x" + raw.hex()])
    return info.value.args[0]


def transfer_call(substrate, value: int, dest: Keypair = BOB) -> bytes:
    return call_bytes(substrate, "Balances", "transfer_keep_alive", {"dest": dest.ss58_address, "value": value})


def events_of(receipt) -> list[tuple[str, str]]:
    return [(e.value["module_id"], e.value["event_id"]) for e in receipt.triggered_events]


def storage_at(substrate, block_hash: str) -> dict[str, str]:
    """Every storage key and value at a block (small on a devnet), paged as clients do."""
    out, start = {}, "0x"
    while True:
        keys = rpc(substrate, "state_getKeysPaged", "0x", 500, start, block_hash)
        if keys:
            [result] = rpc(substrate, "state_queryStorageAt", keys, block_hash)
            out.update((k, v) for k, v in result["changes"])
        if len(keys) < 500:
            return out
        start = keys[-1]


# ---------------------------------------------------------------------------------------- valid transactions


def test_transfer_receipt_events_and_fees(substrate):
    before_alice, before_bob = account(substrate, ALICE), account(substrate, BOB)
    call = substrate.compose_call("Balances", "transfer_keep_alive", {"dest": BOB.ss58_address, "value": 3 * TAO})
    quoted = substrate.get_payment_info(call, ALICE)["partialFee"]
    ext = substrate.create_signed_extrinsic(call=call, keypair=ALICE)
    receipt = substrate.submit_extrinsic(ext, wait_for_inclusion=True, wait_for_finalization=True)

    assert receipt.is_success and receipt.error_message is None
    assert receipt.extrinsic_hash == "0x" + ext.extrinsic_hash.hex()
    assert receipt.total_fee_amount == quoted > 0
    assert receipt.weight["ref_time"] > 0
    assert events_of(receipt) == [("Balances", "Withdraw"), ("Balances", "Transfer"),
                                  ("TransactionPayment", "TransactionFeePaid"), ("System", "ExtrinsicSuccess")]
    fee_paid = receipt.triggered_events[2].value["attributes"]
    assert fee_paid == {"who": ALICE.ss58_address, "actual_fee": quoted, "tip": 0}

    after_alice, after_bob = account(substrate, ALICE), account(substrate, BOB)
    assert after_alice["nonce"] == before_alice["nonce"] + 1
    assert after_alice["data"]["free"] == before_alice["data"]["free"] - 3 * TAO - quoted
    assert after_bob["data"]["free"] == before_bob["data"]["free"] + 3 * TAO
    assert substrate.get_block(receipt.block_hash)["header"]["number"] == head(substrate)[0]


def test_submit_without_waiting_returns_the_extrinsic_hash(substrate):
    before = account(substrate, BOB)["data"]["free"]
    ext = substrate.create_signed_extrinsic(call=substrate.compose_call(
        "Balances", "transfer_keep_alive", {"dest": BOB.ss58_address, "value": TAO}), keypair=ALICE)
    assert rpc(substrate, "author_submitExtrinsic", str(ext.data)) == "0x" + ext.extrinsic_hash.hex()
    assert account(substrate, BOB)["data"]["free"] == before + TAO


def test_mortal_era_transfer(substrate):
    before = account(substrate, BOB)["data"]["free"]
    call = substrate.compose_call("Balances", "transfer_keep_alive", {"dest": BOB.ss58_address, "value": TAO})
    ext = substrate.create_signed_extrinsic(call=call, keypair=ALICE, era={"period": 64})
    assert ext.value["era"] != "00"
    receipt = substrate.submit_extrinsic(ext, wait_for_inclusion=True)
    assert receipt.is_success
    assert account(substrate, BOB)["data"]["free"] == before + TAO


def test_tip_is_charged_on_top_of_the_fee(substrate):
    before = account(substrate, ALICE)["data"]["free"]
    call = substrate.compose_call("System", "remark", {"remark": "0x1234"})
    receipt = substrate.submit_extrinsic(substrate.create_signed_extrinsic(call=call, keypair=ALICE, tip=777),
                                         wait_for_inclusion=True)
    assert receipt.is_success
    paid = receipt.triggered_events[-2].value["attributes"]
    assert paid["tip"] == 777 and paid["actual_fee"] == receipt.total_fee_amount
    assert account(substrate, ALICE)["data"]["free"] == before - receipt.total_fee_amount


def test_hand_built_extrinsic_matches_substrate_interface(substrate, signer):
    """The byte layout the invalid cases below are built with is the client's, signature aside."""
    call = substrate.compose_call("Balances", "transfer_keep_alive", {"dest": BOB.ss58_address, "value": TAO})
    nonce = substrate.get_account_nonce(ALICE.ss58_address)
    theirs = bytes(substrate.create_signed_extrinsic(call=call, keypair=ALICE, nonce=nonce).data.data)
    ours = signer.extrinsic(ALICE, bytes(call.data.data), nonce)
    signature = slice(2 + 1 + 1 + 32 + 1, 2 + 1 + 1 + 32 + 1 + 64)  # len(2) version(1) address(1+32) scheme(1)
    assert len(ours) == len(theirs)
    assert ours[: signature.start] == theirs[: signature.start] and ours[signature.stop :] == theirs[signature.stop :]
    # and the node accepts it
    assert rpc(substrate, "author_submitExtrinsic", "0x" + ours.hex()).startswith("0x")
    assert account(substrate, ALICE)["nonce"] == nonce + 1


def test_hand_built_mortal_extrinsic_is_accepted(substrate, signer):
    number, head_hash = head(substrate)
    era, birth = mortal_era(16, number)
    assert birth == number
    nonce = account(substrate, ALICE)["nonce"]
    raw = signer.extrinsic(ALICE, transfer_call(substrate, TAO), nonce, era=era, era_hash=bytes.fromhex(head_hash[2:]))
    rpc(substrate, "author_submitExtrinsic", "0x" + raw.hex())
    assert account(substrate, ALICE)["nonce"] == nonce + 1


# ---------------------------------------------------------------------------------------- invalid transactions


def _bad_signature(substrate, signer):
    raw = bytearray(signer.extrinsic(ALICE, transfer_call(substrate, TAO), account(substrate, ALICE)["nonce"]))
    raw[2 + 1 + 1 + 32 + 1 + 10] ^= 0x01  # one bit of the signature
    return bytes(raw)


def _signed_by_someone_else(substrate, signer):
    nonce = account(substrate, ALICE)["nonce"]
    honest = signer.extrinsic(ALICE, transfer_call(substrate, TAO), nonce)
    alice_signature = honest[2 + 1 + 1 + 32 + 1 : 2 + 1 + 1 + 32 + 1 + 64]
    return signer.extrinsic(CHARLIE, transfer_call(substrate, TAO), nonce, signature=alice_signature)


def _wrong_genesis(substrate, signer):
    other = Signer(substrate)
    other.genesis = bytes(32)
    return other.extrinsic(ALICE, transfer_call(substrate, TAO), account(substrate, ALICE)["nonce"])


def _stale_nonce(substrate, signer):
    nonce = account(substrate, ALICE)["nonce"]
    assert nonce > 0, "an earlier test made Alice transact"
    return signer.extrinsic(ALICE, transfer_call(substrate, TAO), nonce - 1)


def _future_nonce(substrate, signer):
    return signer.extrinsic(ALICE, transfer_call(substrate, TAO), account(substrate, ALICE)["nonce"] + 5)


def _cannot_pay_fees(substrate, signer):
    return signer.extrinsic(POOR, transfer_call(substrate, 1, dest=ALICE), 0)


def _unknown_pallet(substrate, signer):
    return signer.extrinsic(ALICE, bytes([0xF0, 0x00]), account(substrate, ALICE)["nonce"])


def _unknown_call_of_known_pallet(substrate, signer):
    balances = transfer_call(substrate, TAO)[0]  # the Balances pallet index
    return signer.extrinsic(ALICE, bytes([balances, 0xEE]) + bytes(40), account(substrate, ALICE)["nonce"])


def _call_with_trailing_bytes(substrate, signer):
    return signer.extrinsic(ALICE, transfer_call(substrate, TAO) + b"\x00\x01", account(substrate, ALICE)["nonce"])


def _oversized(substrate, signer):
    remark = b"\xab" * (4 << 20)  # 4 MiB: the extrinsic exceeds the node's limit
    remark_index = call_bytes(substrate, "System", "remark", {"remark": "0x00"})[:2]  # pallet and call index
    call = remark_index + compact(len(remark)) + remark
    return signer.extrinsic(ALICE, call, account(substrate, ALICE)["nonce"])


def _expired_era(substrate, signer):
    number, head_hash = head(substrate)
    era, _ = mortal_era(4, number)
    raw = signer.extrinsic(ALICE, transfer_call(substrate, TAO), account(substrate, ALICE)["nonce"], era=era,
                           era_hash=bytes.fromhex(head_hash[2:]))
    rpc(substrate, "dev_newBlock", 4)  # the era's 4 blocks are over
    # As on a Substrate node, the era's birth is now read as 4 blocks later, a block the signer
    # did not sign: the signature check is what refuses it.
    return raw


def _era_born_at_the_next_block(substrate, signer):
    number, head_hash = head(substrate)
    era, birth = mortal_era(64, number + 1)
    assert birth == number + 1
    return signer.extrinsic(ALICE, transfer_call(substrate, TAO), account(substrate, ALICE)["nonce"], era=era,
                            era_hash=bytes.fromhex(head_hash[2:]))


def _era_signed_with_the_wrong_block(substrate, signer):
    number, _ = head(substrate)
    era, birth = mortal_era(64, number)
    wrong = bytes.fromhex(rpc(substrate, "chain_getBlockHash", max(0, birth - 1))[2:])
    return signer.extrinsic(ALICE, transfer_call(substrate, TAO), account(substrate, ALICE)["nonce"], era=era,
                            era_hash=wrong)


def _era_too_short(substrate, signer):
    # low nibble 0: a period of 2, which Substrate's Era decoding refuses (periods are 4 to 65536)
    return signer.extrinsic(ALICE, transfer_call(substrate, TAO), account(substrate, ALICE)["nonce"], era=b"\x10\x00")


def _era_phase_beyond_period(substrate, signer):
    # period 4 with phase 15: not a valid mortal era
    return signer.extrinsic(ALICE, transfer_call(substrate, TAO), account(substrate, ALICE)["nonce"], era=b"\xf1\x00",
                            era_hash=bytes.fromhex(rpc(substrate, "chain_getBlockHash", 0)[2:]))


def _wrong_length_prefix(substrate, signer):
    raw = signer.extrinsic(ALICE, transfer_call(substrate, TAO), account(substrate, ALICE)["nonce"])
    return raw[:-1]  # truncated: the prefix promises one byte more


def _empty(substrate, signer):
    return b""


def _garbage(substrate, signer):
    return b"\xff" * 7


def _unsupported_version(substrate, signer):
    raw = bytearray(signer.extrinsic(ALICE, transfer_call(substrate, TAO), account(substrate, ALICE)["nonce"]))
    raw[2] = 0x85  # a signed v5 extrinsic
    return bytes(raw)


def _unsigned_call(substrate, signer):
    body = b"\x04" + transfer_call(substrate, TAO)
    return compact(len(body)) + body


INVALID = {
    # case: (builder, words the reason must contain)
    "bad signature": (_bad_signature, "Transaction has a bad signature"),
    "signature of another account": (_signed_by_someone_else, "Transaction has a bad signature"),
    "signed for another chain": (_wrong_genesis, "Transaction has a bad signature"),
    "stale nonce": (_stale_nonce, "Transaction is outdated"),
    "future nonce": (_future_nonce, "Transaction will be valid in the future"),
    "cannot pay fees": (_cannot_pay_fees, "Inability to pay some fees"),
    "unknown pallet": (_unknown_pallet, "Could not decode"),
    "unknown call": (_unknown_call_of_known_pallet, "Could not decode"),
    "trailing bytes": (_call_with_trailing_bytes, "Could not decode"),
    "oversized": (_oversized, "Transaction would exhaust the block limits"),
    "expired era": (_expired_era, "Transaction has a bad signature"),
    "era born at the next block": (_era_born_at_the_next_block, "Transaction has an ancient birth block"),
    "era signed with the wrong block": (_era_signed_with_the_wrong_block, "Transaction has a bad signature"),
    "era period too short": (_era_too_short, "Could not decode"),
    "era phase beyond its period": (_era_phase_beyond_period, "Could not decode"),
    "wrong length prefix": (_wrong_length_prefix, "Could not decode"),
    "empty": (_empty, "Could not decode"),
    "garbage": (_garbage, "Could not decode"),
    "unsupported version": (_unsupported_version, "Unsupported extrinsic version"),
    "unsigned call": (_unsigned_call, "Transaction call is not expected"),
}


@pytest.mark.parametrize("watch", [False, True], ids=["submit", "submitAndWatch"])
@pytest.mark.parametrize("case", list(INVALID))
def test_invalid_transactions_are_refused_with_1010_and_change_nothing(substrate, signer, case, watch):
    build, reason = INVALID[case]
    raw = build(substrate, signer)
    before = {who.ss58_address: account(substrate, who) for who in (ALICE, BOB, CHARLIE, POOR)}
    before_head = head(substrate)

    error = submit_raw(substrate, raw, watch=watch)
    assert error["code"] == 1010 and error["message"] == "Invalid Transaction"
    assert reason in error["data"], error

    assert head(substrate) == before_head  # no block was made for it
    assert rpc(substrate, "author_pendingExtrinsics") == []  # nor is it waiting in the pool
    assert {who.ss58_address: account(substrate, who) for who in (ALICE, BOB, CHARLIE, POOR)} == before


def test_invalid_transaction_through_substrate_interface_raises_with_the_reason(substrate):
    call = substrate.compose_call("Balances", "transfer_keep_alive", {"dest": BOB.ss58_address, "value": TAO})
    nonce = account(substrate, ALICE)["nonce"]
    stale = substrate.create_signed_extrinsic(call=call, keypair=ALICE, nonce=nonce + 3)
    with pytest.raises(SubstrateRequestException) as info:
        substrate.submit_extrinsic(stale, wait_for_inclusion=True)
    assert info.value.args[0] == {"code": 1010, "message": "Invalid Transaction",
                                  "data": "Transaction will be valid in the future"}
    # the client and the node carry on
    assert substrate.submit_extrinsic(substrate.create_signed_extrinsic(call=call, keypair=ALICE),
                                      wait_for_inclusion=True).is_success


# ---------------------------------------------------------------------------------------- failing calls


def _assert_only_the_fee_was_taken(substrate, receipt, before_signer, signer_key: Keypair):
    after = account(substrate, signer_key)
    assert after["nonce"] == before_signer["nonce"] + 1
    assert after["data"]["free"] == before_signer["data"]["free"] - receipt.total_fee_amount
    assert receipt.total_fee_amount > 0


def test_transfer_of_more_than_the_balance_fails_with_insufficient_balance_and_changes_nothing(substrate):
    before_alice, before_bob = account(substrate, ALICE), account(substrate, BOB)
    issuance = substrate.query("Balances", "TotalIssuance").value
    snapshot = rpc(substrate, "dev_snapshot")
    ext = substrate.create_signed_extrinsic(call=substrate.compose_call(
        "Balances", "transfer_keep_alive", {"dest": BOB.ss58_address, "value": before_alice["data"]["free"] + 1}),
        keypair=ALICE)
    receipt = substrate.submit_extrinsic(ext, wait_for_inclusion=True)

    assert receipt.is_success is False
    assert receipt.error_message["type"] == "Module" and receipt.error_message["name"] == "InsufficientBalance"
    assert events_of(receipt) == [("Balances", "Withdraw"), ("TransactionPayment", "TransactionFeePaid"),
                                  ("System", "ExtrinsicFailed")]  # no Transfer: the call's events went with it
    _assert_only_the_fee_was_taken(substrate, receipt, before_alice, ALICE)
    assert account(substrate, BOB) == before_bob
    assert substrate.query("Balances", "TotalIssuance").value == issuance - receipt.total_fee_amount

    # assert_noop over the whole state: against an empty block at the same height (same hooks),
    # only the payer's account and the issuance differ, besides the records of the block itself.
    after_failed = storage_at(substrate, receipt.block_hash)
    rpc(substrate, "dev_restore", snapshot)
    after_empty = storage_at(substrate, rpc(substrate, "dev_newBlock"))
    differing = {k for k in after_failed.keys() | after_empty.keys() if after_failed.get(k) != after_empty.get(k)}
    key = lambda pallet, item, *keys: substrate.create_storage_key(pallet, item, list(keys)).to_hex()  # noqa: E731
    block_records = {key("System", "Events"), key("System", "EventCount"), key("System", "ExtrinsicCount"),
                     key("Timestamp", "Now")}
    assert differing - block_records == {key("System", "Account", ALICE.ss58_address), key("Balances", "TotalIssuance")}


def test_keep_alive_transfer_that_would_kill_the_sender_fails_with_expendability(substrate):
    # fund a fresh account with 1 TAO, then try to send all of it but 100 rao after the fee
    spender = Keypair.create_from_uri("//TaoLabSpender")
    assert substrate.submit_extrinsic(substrate.create_signed_extrinsic(call=substrate.compose_call(
        "Balances", "transfer_keep_alive", {"dest": spender.ss58_address, "value": TAO}), keypair=ALICE),
        wait_for_inclusion=True).is_success
    before = account(substrate, spender)
    probe = substrate.compose_call("Balances", "transfer_keep_alive", {"dest": BOB.ss58_address, "value": TAO})
    fee = substrate.get_payment_info(probe, spender)["partialFee"]
    # after the fee, 100 rao would remain: below the existential deposit
    call = substrate.compose_call("Balances", "transfer_keep_alive",
                                  {"dest": BOB.ss58_address, "value": before["data"]["free"] - fee - 100})
    receipt = substrate.submit_extrinsic(substrate.create_signed_extrinsic(call=call, keypair=spender),
                                         wait_for_inclusion=True)
    assert not receipt.is_success and receipt.error_message["name"] == "Expendability"
    _assert_only_the_fee_was_taken(substrate, receipt, before, spender)


def test_transfer_below_the_existential_deposit_to_a_new_account_fails(substrate):
    before = account(substrate, ALICE)
    newcomer = Keypair.create_from_uri("//TaoLabNewcomer")
    call = substrate.compose_call("Balances", "transfer_keep_alive",
                                  {"dest": newcomer.ss58_address, "value": EXISTENTIAL_DEPOSIT - 1})
    receipt = substrate.submit_extrinsic(substrate.create_signed_extrinsic(call=call, keypair=ALICE),
                                         wait_for_inclusion=True)
    assert not receipt.is_success and receipt.error_message["name"] == "ExistentialDeposit"
    _assert_only_the_fee_was_taken(substrate, receipt, before, ALICE)
    assert substrate.query("System", "Account", [newcomer.ss58_address]).value["data"]["free"] == 0


def test_root_call_without_sudo_fails_with_bad_origin(substrate):
    before, before_bob = account(substrate, ALICE), account(substrate, BOB)
    call = substrate.compose_call("Balances", "force_set_balance", {"who": BOB.ss58_address, "new_free": TAO})
    receipt = substrate.submit_extrinsic(substrate.create_signed_extrinsic(call=call, keypair=ALICE),
                                         wait_for_inclusion=True)
    assert not receipt.is_success and receipt.error_message["name"] == "BadOrigin"
    _assert_only_the_fee_was_taken(substrate, receipt, before, ALICE)
    assert account(substrate, BOB) == before_bob


def test_sudo_from_a_non_sudo_account_fails_with_require_sudo(substrate):
    before, before_charlie = account(substrate, BOB), account(substrate, CHARLIE)
    inner = substrate.compose_call("Balances", "force_set_balance", {"who": CHARLIE.ss58_address, "new_free": TAO})
    call = substrate.compose_call("Sudo", "sudo", {"call": inner})
    receipt = substrate.submit_extrinsic(substrate.create_signed_extrinsic(call=call, keypair=BOB),
                                         wait_for_inclusion=True)
    assert not receipt.is_success
    assert receipt.error_message["type"] == "Module" and receipt.error_message["name"] == "RequireSudo"
    _assert_only_the_fee_was_taken(substrate, receipt, before, BOB)
    assert account(substrate, CHARLIE) == before_charlie


def test_sudo_dispatches_as_root_and_reports_the_inner_result(substrate):
    target = Keypair.create_from_uri("//TaoLabSudoTarget")
    inner = substrate.compose_call("Balances", "force_set_balance", {"who": target.ss58_address, "new_free": 7 * TAO})
    receipt = substrate.submit_extrinsic(substrate.create_signed_extrinsic(
        call=substrate.compose_call("Sudo", "sudo", {"call": inner}), keypair=ALICE), wait_for_inclusion=True)
    assert receipt.is_success
    assert ("Sudo", "Sudid") in events_of(receipt)
    assert account(substrate, target)["data"]["free"] == 7 * TAO

    # an inner failure is reported in Sudid, and the outer extrinsic still succeeds; nothing of the inner call stays
    before_bob = account(substrate, BOB)
    failing = substrate.compose_call("Balances", "force_transfer", {
        "source": target.ss58_address, "dest": BOB.ss58_address, "value": 100 * TAO})
    receipt = substrate.submit_extrinsic(substrate.create_signed_extrinsic(
        call=substrate.compose_call("Sudo", "sudo", {"call": failing}), keypair=ALICE), wait_for_inclusion=True)
    assert receipt.is_success
    sudid = next(e.value["attributes"] for e in receipt.triggered_events if e.value["event_id"] == "Sudid")
    assert "Err" in sudid["sudo_result"]
    assert account(substrate, target)["data"]["free"] == 7 * TAO
    assert account(substrate, BOB) == before_bob
