"""SubtensorModule serving and identity: serve_axon, serve_prometheus, set_identity."""

import pytest

ST = "SubtensorModule"
LOCALHOST = 0x7F000001  # 127.0.0.1: accepted on the devnet, where every neuron runs locally


@pytest.fixture
def miner(chain, bob, h):
    hot = h.key("miner")
    h.fund(chain, hot)
    h.register(chain, bob, hot)
    return hot


def axon_args(**overrides):
    args = {"netuid": 1, "version": 7, "ip": LOCALHOST, "port": 8091, "ip_type": 4, "protocol": 4,
            "placeholder1": 0, "placeholder2": 0}
    return {**args, **overrides}


def test_serve_axon_stores_the_endpoint(chain, miner):
    events = chain.dispatch(miner, ST, "serve_axon", **axon_args())
    assert (ST, "AxonServed", (1, miner)) in events
    assert chain.query(ST, "Axons", 1, miner) == {
        "block": chain.head_number, "version": 7, "ip": LOCALHOST, "port": 8091, "ip_type": 4, "protocol": 4,
        "placeholder1": 0, "placeholder2": 0,
    }
    chain.dispatch(miner, ST, "serve_axon", **axon_args(ip=1, ip_type=6, port=9000))  # no rate limit by default
    assert chain.query(ST, "Axons", 1, miner)["port"] == 9000


def test_serve_axon_errors(chain, miner, h):
    outsider = h.key("outsider")
    h.fund(chain, outsider)
    h.assert_noop(chain, outsider, ST, "serve_axon", "HotKeyNotRegisteredInNetwork", **axon_args())
    h.assert_noop(chain, miner, ST, "serve_axon", "InvalidIpType", **axon_args(ip_type=5))
    h.assert_noop(chain, miner, ST, "serve_axon", "InvalidIpAddress", **axon_args(ip=0xFFFFFFFF))
    h.assert_noop(chain, miner, ST, "serve_axon", "InvalidIpAddress", **axon_args(ip=(1 << 128) - 1, ip_type=6))
    h.assert_noop(chain, miner, ST, "serve_axon", "InvalidPort", **axon_args(port=0))
    chain.dispatch("root", "AdminUtils", "sudo_set_serving_rate_limit", netuid=1, serving_rate_limit=50)
    chain.dispatch(miner, ST, "serve_axon", **axon_args())
    h.assert_noop(chain, miner, ST, "serve_axon", "ServingRateLimitExceeded", **axon_args())


def test_serve_prometheus(chain, miner, h):
    events = chain.dispatch(miner, ST, "serve_prometheus", netuid=1, version=1, ip=LOCALHOST, port=9100, ip_type=4)
    assert (ST, "PrometheusServed", (1, miner)) in events
    assert chain.query(ST, "Prometheus", 1, miner)["port"] == 9100
    h.assert_noop(chain, miner, ST, "serve_prometheus", "InvalidPort", netuid=1, version=1, ip=LOCALHOST, port=0,
                  ip_type=4)


def identity(**overrides):
    fields = {k: b"" for k in ("name", "url", "github_repo", "image", "discord", "description", "additional")}
    return {**fields, "name": b"lab validator", **overrides}


def test_set_identity(chain, bob, miner, h):
    events = chain.dispatch(bob, ST, "set_identity", **identity(url=b"https://example.org"))
    assert (ST, "ChainIdentitySet", bob) in events
    assert chain.query(ST, "IdentitiesV2", bob)["url"] == b"https://example.org"
    h.assert_noop(chain, bob, ST, "set_identity", "InvalidIdentity", **identity(name=b"x" * 257))


def test_set_identity_needs_a_registered_hotkey(chain, accounts, h):
    h.assert_noop(chain, accounts["dave"].public, ST, "set_identity", "HotKeyNotRegisteredInNetwork", **identity())
