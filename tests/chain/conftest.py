"""Fixtures for the SubtensorModule / AdminUtils tests: a dev chain and ``h``, the helpers (`key`, `fund`,
`register`, `assert_noop`) as a fixture, since test modules here are not a package."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace

import pytest

from tao_lab.chain.chain import Chain, dev_accounts
from tao_lab.chain.pallet import DispatchError, twox128

TAO = 10**9
ST = "SubtensorModule"


def key(name: str) -> bytes:
    """A deterministic 32-byte account id for a test hotkey/coldkey (signatures are not checked)."""
    return hashlib.blake2b(name.encode(), digest_size=32).digest()


@pytest.fixture
def chain() -> Chain:
    """The dev chain: Alice owns subnet 1 (tempo 10, started) with her hotkey as uid 0."""
    return Chain.dev()


@pytest.fixture
def accounts():
    return dev_accounts()


@pytest.fixture
def alice(accounts) -> bytes:
    return accounts["alice"].public


@pytest.fixture
def bob(accounts) -> bytes:
    return accounts["bob"].public


def fund(chain: Chain, who: bytes, amount: int = 1_000 * TAO) -> None:
    """Send ``amount`` rao from Alice (hotkeys pay their own fees on the devnet too)."""
    chain.dispatch(dev_accounts()["alice"].public, "Balances", "transfer_keep_alive", dest=("Id", who), value=amount)


def register(chain: Chain, coldkey: bytes, hotkey: bytes, netuid: int = 1) -> int:
    """Register ``hotkey`` for ``coldkey`` on ``netuid`` (burned_register); returns its uid."""
    chain.dispatch(coldkey, ST, "burned_register", netuid=netuid, hotkey=hotkey)
    return chain.query(ST, "Uids", netuid, hotkey)


def _snapshot(chain: Chain) -> dict:
    state = chain.state()
    out = {}
    for pallet in (ST, "AdminUtils"):
        prefix = twox128(pallet.encode())
        out.update({k: state.get(k) for k in state.keys(prefix)})
    return out


def _fee_of_head(chain: Chain) -> tuple[bytes | None, int]:
    for record in chain.query("System", "Events"):
        pallet, (name, payload) = record["event"]
        if pallet == "TransactionPayment" and name == "TransactionFeePaid":
            return payload["who"], payload["actual_fee"]
    return None, 0


def assert_noop(chain: Chain, origin, pallet: str, call: str, error: str, **args) -> DispatchError:
    """The call fails with ``error`` and changes nothing: the SubtensorModule and AdminUtils storage and every
    dev account's balance (fee aside) are exactly what an empty block at the same height leaves."""
    parent = chain.head_number
    with pytest.raises(DispatchError) as info:
        chain.dispatch(origin, pallet, call, **args)
    assert info.value.error == error, f"expected {error}, got {info.value}"
    after = _snapshot(chain)
    payer, fee = _fee_of_head(chain)
    watched = [a.public for a in dev_accounts().values()] + ([origin] if isinstance(origin, bytes) else [])
    balances = chain.runtime.pallet("Balances")
    free_after = {w: balances.free_balance(chain.state(), w) + (fee if w == payer else 0) for w in watched}
    chain.truncate(parent)
    chain.advance(1)
    assert _snapshot(chain) == after, "the failed call changed SubtensorModule/AdminUtils storage"
    assert {w: balances.free_balance(chain.state(), w) for w in watched} == free_after
    return info.value


@pytest.fixture
def h():
    """The helpers of this file, plus the ``TAO`` and ``ST`` constants."""
    return SimpleNamespace(key=key, fund=fund, register=register, assert_noop=assert_noop, TAO=TAO, ST=ST)
