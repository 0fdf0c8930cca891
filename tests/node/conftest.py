"""Shared fixtures of the node tests: one instant-mode devnet per test module, and a client on it."""

import pytest
from substrateinterface import SubstrateInterface

from tao_lab.node.devnet import Devnet

TIMEOUT = 10  # seconds for any client request: a hang fails the test instead of stalling the suite


@pytest.fixture(scope="module")
def devnet():
    with Devnet(instant=True) as node:
        yield node


@pytest.fixture(scope="module")
def substrate(devnet):
    client = SubstrateInterface(url=devnet.url, ws_options={"timeout": TIMEOUT})
    yield client
    client.close()
