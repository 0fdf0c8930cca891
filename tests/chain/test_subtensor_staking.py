"""SubtensorModule staking: add_stake / remove_stake, the 1:1 stable model and the hotkey share pools."""

TAO = 10**9
ST = "SubtensorModule"


def free(chain, who):
    return chain.runtime.pallet("Balances").free_balance(chain.state(), who)


def stake(chain, hotkey, coldkey, netuid=1):
    return chain.runtime.pallet(ST).stake_of(chain.state(), hotkey, coldkey, netuid)


def test_add_stake_buys_alpha_one_to_one(chain, bob, h):
    hot = h.key("v")
    h.register(chain, bob, hot)
    before, total = free(chain, bob), chain.query(ST, "TotalStake")
    events = chain.dispatch(bob, ST, "add_stake", hotkey=hot, netuid=1, amount_staked=100 * TAO)
    assert (ST, "StakeAdded", (bob, hot, 100 * TAO, 100 * TAO, 1, 0)) in events
    assert before - free(chain, bob) >= 100 * TAO
    assert chain.query(ST, "TotalHotkeyAlpha", hot, 1) == 100 * TAO
    assert chain.query(ST, "Alpha", hot, bob, 1) == {"bits": 100 * TAO << 64}
    assert chain.query(ST, "TotalHotkeyShares", hot, 1) == {"bits": 100 * TAO << 64}
    assert chain.query(ST, "StakingHotkeys", bob) == [hot]
    assert chain.query(ST, "TotalStake") == total + 100 * TAO
    assert chain.query(ST, "SubnetTAO", 1) >= 100 * TAO
    assert stake(chain, hot, bob) == 100 * TAO


def test_nominators_share_dividends_through_the_pool(chain, bob, accounts, h):
    hot, charlie = h.key("v"), accounts["charlie"].public
    h.register(chain, bob, hot)  # bob owns the hotkey: he gets its delegate take
    chain.dispatch(bob, ST, "add_stake", hotkey=hot, netuid=1, amount_staked=30 * TAO)
    chain.dispatch(charlie, ST, "add_stake", hotkey=hot, netuid=1, amount_staked=10 * TAO)
    assert chain.query(ST, "Alpha", hot, bob, 1)["bits"] == 3 * chain.query(ST, "Alpha", hot, charlie, 1)["bits"]
    chain.advance(20 - chain.head_number)  # block 20: hot has held a permit since the epoch at 10
    pool0, b0, c0 = chain.query(ST, "TotalHotkeyAlpha", hot, 1), stake(chain, hot, bob), stake(chain, hot, charlie)
    chain.advance(10)  # the epoch at block 30 pays hot dividends
    rest = chain.query(ST, "AlphaDividendsPerSubnet", 1, hot)
    pool1 = chain.query(ST, "TotalHotkeyAlpha", hot, 1)
    take = pool1 - pool0 - rest
    assert rest > 0 and take > 0
    assert abs(take - (take + rest) * 11_796 / 65_535) <= 1  # the delegate take is 18%
    grow = (pool0 + take + rest) / (pool0 + take)  # the rest raises every share's value
    assert abs(stake(chain, hot, charlie) - c0 * grow) <= 2
    assert abs(stake(chain, hot, bob) - (b0 + take) * grow) <= 2


def test_remove_stake_pays_tao_one_to_one_and_caps_at_the_stake(chain, bob, h):
    hot = h.key("v")
    h.register(chain, bob, hot)
    chain.dispatch(bob, ST, "add_stake", hotkey=hot, netuid=1, amount_staked=10 * TAO)
    before = free(chain, bob)
    events = chain.dispatch(bob, ST, "remove_stake", hotkey=hot, netuid=1, amount_unstaked=4 * TAO)
    assert (ST, "StakeRemoved", (bob, hot, 4 * TAO, 4 * TAO, 1, 0)) in events
    assert free(chain, bob) - before > 4 * TAO - TAO // 100  # less the fee
    assert stake(chain, hot, bob) == 6 * TAO
    events = chain.dispatch(bob, ST, "remove_stake", hotkey=hot, netuid=1, amount_unstaked=100 * TAO)
    assert (ST, "StakeRemoved", (bob, hot, 6 * TAO, 6 * TAO, 1, 0)) in events
    assert stake(chain, hot, bob) == 0
    assert chain.query(ST, "Alpha", hot, bob, 1) == {"bits": 0}
    assert chain.query(ST, "TotalHotkeyAlpha", hot, 1) == 0


def test_add_stake_errors(chain, bob, h):
    hot = h.key("v")
    h.assert_noop(chain, bob, ST, "add_stake", "SubnetNotExists", hotkey=hot, netuid=5, amount_staked=TAO)
    h.assert_noop(chain, bob, ST, "add_stake", "HotKeyAccountNotExists", hotkey=hot, netuid=1, amount_staked=TAO)
    h.register(chain, bob, hot)
    h.assert_noop(chain, bob, ST, "add_stake", "AmountTooLow", hotkey=hot, netuid=1, amount_staked=1_999_999)
    h.assert_noop(chain, bob, ST, "add_stake", "NotEnoughBalanceToStake", hotkey=hot, netuid=1,
                  amount_staked=10**7 * TAO)
    chain.dispatch("root", "AdminUtils", "sudo_set_subtoken_enabled", netuid=1, subtoken_enabled=False)
    h.assert_noop(chain, bob, ST, "add_stake", "SubtokenDisabled", hotkey=hot, netuid=1, amount_staked=TAO)


def test_remove_stake_errors(chain, bob, h):
    hot = h.key("v")
    h.register(chain, bob, hot)
    h.assert_noop(chain, bob, ST, "remove_stake", "AmountTooLow", hotkey=hot, netuid=1, amount_unstaked=TAO)
    chain.dispatch(bob, ST, "add_stake", hotkey=hot, netuid=1, amount_staked=TAO)
    h.assert_noop(chain, bob, ST, "remove_stake", "AmountTooLow", hotkey=hot, netuid=1, amount_unstaked=1000)
    h.assert_noop(chain, bob, ST, "remove_stake", "SubtokenDisabled", hotkey=hot, netuid=9, amount_unstaked=TAO)
    chain.dispatch(bob, ST, "remove_stake", hotkey=hot, netuid=1, amount_unstaked=TAO)  # the full stake: allowed


def test_stake_on_root(chain, bob, h):
    hot = h.key("v")
    h.register(chain, bob, hot)
    chain.dispatch(bob, ST, "add_stake", hotkey=hot, netuid=0, amount_staked=TAO)
    assert chain.query(ST, "TotalHotkeyAlpha", hot, 0) == TAO
