"""Test-session order (the browser tests run last), a session-wide cache of pre-trained miners, and the
node tests' fixtures: one instant-mode devnet per test module and a substrate-interface client on it.

Playwright's sync API keeps an asyncio event loop running in the main thread for as long as its
browser fixture lives (the whole session), so tests that call ``asyncio.run`` after it fail with
"cannot be called from a running event loop".
"""

import os
import tempfile

import pytest

#: seconds for any client request of the shared ``substrate`` fixture: a hang fails the test, not the suite
TIMEOUT = 10


def pytest_collection_modifyitems(session, config, items):
    items.sort(key=lambda item: "/tests/browser/" in str(item.fspath))  # stable: the rest keep their order


def pytest_configure(config):
    """Pre-trained miners are cached for this session only (not in the user's ``~/.cache``); the notebooks'
    kernels and the neuron processes the tests start inherit the setting."""
    if "TAO_LAB_PRETRAIN_CACHE" not in os.environ:
        config._pretrain_cache = os.environ["TAO_LAB_PRETRAIN_CACHE"] = tempfile.mkdtemp(prefix="tao-lab-pretrained-")


def pytest_unconfigure(config):
    folder = getattr(config, "_pretrain_cache", None)
    if folder:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
        os.environ.pop("TAO_LAB_PRETRAIN_CACHE", None)


@pytest.fixture(scope="module")
def devnet():
    """An instant-mode devnet (a block per transaction) for the module's tests (tests/clients has its own)."""
    from tao_lab.node.devnet import Devnet

    with Devnet(instant=True) as node:
        yield node


@pytest.fixture(scope="module")
def substrate(devnet):
    """substrate-interface, unmodified, on the module's devnet."""
    from substrateinterface import SubstrateInterface

    client = SubstrateInterface(url=devnet.url, ws_options={"timeout": TIMEOUT})
    yield client
    client.close()
