"""The calls real clients submit in place of the plain ones: set_mechanism_weights (mechanism 0 = set_weights),
add_stake_limit / remove_stake_limit (price 1 TAO per alpha under the stable mechanism) and register_limit."""

TAO = 10**9
PRICE = 10**9  # rao per alpha under the stable mechanism
ST = "SubtensorModule"


def stake(chain, hotkey, coldkey, netuid=1):
    return chain.runtime.pallet(ST).stake_of(chain.state(), hotkey, coldkey, netuid)


def test_add_stake_limit_at_or_above_the_price_stakes_in_full(chain, bob, h):
    hot = h.key("v")
    h.register(chain, bob, hot)
    events = chain.dispatch(bob, ST, "add_stake_limit", hotkey=hot, netuid=1, amount_staked=10 * TAO,
                            limit_price=PRICE, allow_partial=False)
    assert (ST, "StakeAdded", (bob, hot, 10 * TAO, 10 * TAO, 1, 0)) in events
    chain.dispatch(bob, ST, "add_stake_limit", hotkey=hot, netuid=1, amount_staked=5 * TAO,
                   limit_price=int(PRICE * 1.05), allow_partial=True)  # bittensor 11's default: price * (1 + 5%)
    assert stake(chain, hot, bob) == 15 * TAO


def test_add_stake_limit_below_the_price_executes_nothing(chain, bob, h):
    hot = h.key("v")
    h.register(chain, bob, hot)
    for partial in (False, True):
        h.assert_noop(chain, bob, ST, "add_stake_limit", "SlippageTooHigh", hotkey=hot, netuid=1,
                      amount_staked=10 * TAO, limit_price=PRICE - 1, allow_partial=partial)
    h.assert_noop(chain, bob, ST, "add_stake_limit", "SubnetNotExists", hotkey=hot, netuid=9,
                  amount_staked=10 * TAO, limit_price=PRICE - 1, allow_partial=False)  # subtensor's check order


def test_remove_stake_limit_at_or_below_the_price_unstakes(chain, bob, h):
    hot = h.key("v")
    h.register(chain, bob, hot)
    chain.dispatch(bob, ST, "add_stake", hotkey=hot, netuid=1, amount_staked=10 * TAO)
    h.assert_noop(chain, bob, ST, "remove_stake_limit", "SlippageTooHigh", hotkey=hot, netuid=1,
                  amount_unstaked=4 * TAO, limit_price=PRICE + 1, allow_partial=True)
    events = chain.dispatch(bob, ST, "remove_stake_limit", hotkey=hot, netuid=1, amount_unstaked=4 * TAO,
                            limit_price=int(PRICE * 0.95), allow_partial=False)
    assert (ST, "StakeRemoved", (bob, hot, 4 * TAO, 4 * TAO, 1, 0)) in events
    assert stake(chain, hot, bob) == 6 * TAO


def test_register_limit_registers_unless_the_burn_is_above_the_limit(chain, bob, h):
    burn = chain.query(ST, "Burn", 1)
    h.assert_noop(chain, bob, ST, "register_limit", "RegistrationPriceLimitExceeded", netuid=1, hotkey=h.key("m"),
                  limit_price=burn - 1)
    h.assert_noop(chain, bob, ST, "register_limit", "RegistrationNotPermittedOnRootSubnet", netuid=0,
                  hotkey=h.key("m"), limit_price=burn)
    h.assert_noop(chain, bob, ST, "register_limit", "SubnetNotExists", netuid=9, hotkey=h.key("m"), limit_price=burn)
    burn = chain.query(ST, "Burn", 1)  # it decays every block
    events = chain.dispatch(bob, ST, "register_limit", netuid=1, hotkey=h.key("m"), limit_price=burn)
    uid = chain.query(ST, "Uids", 1, h.key("m"))
    assert uid is not None and (ST, "NeuronRegistered", (1, uid, h.key("m"))) in events


def test_set_mechanism_weights_on_mechanism_zero_is_set_weights(chain, alice, bob, h):
    m = h.key("m")
    h.register(chain, bob, m)
    events = chain.dispatch(alice, ST, "set_mechanism_weights", netuid=1, mecid=0, dests=[1], weights=[3],
                            version_key=0)
    assert (ST, "WeightsSet", (1, 0)) in events
    assert chain.query(ST, "Weights", 1, 0) == [(1, 65535)]
    h.assert_noop(chain, alice, ST, "set_mechanism_weights", "MechanismDoesNotExist", netuid=1, mecid=1, dests=[1],
                  weights=[3], version_key=0)


def test_set_mechanism_weights_is_refused_under_commit_reveal(chain, alice, h):
    chain.dispatch("root", "AdminUtils", "sudo_set_commit_reveal_weights_enabled", netuid=1, enabled=True)
    h.assert_noop(chain, alice, ST, "set_mechanism_weights", "CommitRevealEnabled", netuid=1, mecid=0, dests=[0],
                  weights=[1], version_key=0)
