"""Subtensor's epoch tests, part A, ported to ``tao_lab.consensus.epoch``.

Source: opentensor/subtensor @ 14bc6f9f, ``pallets/subtensor/src/tests/epoch.rs``, from the top of
the file through ``test_get_set_alpha``. Every test rebuilds the exact inputs that the pallet hands to
``epoch_mechanism`` (``SubtensorModule::epoch``) or ``epoch_dense_mechanism``
(``SubtensorModule::epoch_dense``). It then asserts the numbers the Rust test asserts, with the Rust
tolerance (exact equality for stored u16/u64 values).

Chain facts these inputs depend on (mock runtime plus ``add_network*`` helpers):
* ``new_test_ext(1)`` starts at block 1, so ``run_to_block(1)`` does nothing. ``test_active_stake``
  resets to block 0.
* ``register`` (burned) and ``append_neuron(.., b)`` set BlockAtRegistration = LastUpdate = the
  block. ``set_weights`` with commit-reveal off stores the row max-upscaled to 65535 and sets
  LastUpdate to the current block.
* Replacing a uid (``replace_neuron``) does these things: BlockAtRegistration = LastUpdate = now;
  the uid's Weights and Bonds rows are removed; every other row's weight *to* the uid is set to
  an explicit 0; ValidatorPermit[uid] = false; stake = the new hotkey's stake (0 here).
* ``init_new_network``: MaxAllowedValidators 64, Yuma3On true.
  ``add_network_disable_commit_reveal`` then turns Yuma3 and commit-reveal off. Kappa 32767,
  BondsPenalty 65535, BondsMovingAverage 900_000, StakeThreshold 0, no SubnetOwnerHotkey
  (owner_uid None).
* activity_cutoff = max(1, 13_889 * tempo // 1000) blocks, taken from the tempo *when the epoch
  runs*: tempo 1 gives 13, tempo 0 gives 1, tempo 2 gives 27, and tempo 65534 (u16::MAX - 1) gives
  910_201. The legacy ActivityCutoff (5000) only sets how far ``test_active_stake`` advances.
* Direct ``epoch()`` / ``epoch_dense()`` calls never write LastMechansimStepBlock, and the
  ``*_no_epoch`` block steps run no coinbase epoch. So it stays 0, and the bonds mask uses
  last_tempo = max(0, current_block - tempo).

Skipped Rust tests:
* ``test_set_alpha_disabled``, ``test_get_set_alpha``: extrinsic/storage tests of
  ``do_set_alpha_values`` (owner/range/LiquidAlphaDisabled errors and the I32F32 conversion in
  ``get_alpha_values_32``). They run no epoch, and none of what they assert goes through ``epoch()``.
* Rank and trust asserts inside the ported tests: the chain no longer computes them (getters return
  0), and the API has no such output.
* Staking-only asserts (``get_total_stake_for_hotkey``) are dropped: they read staking storage,
  which the epoch only echoes back (``result.stake`` is the raw stake passed in).
"""

import numpy as np
import pytest

from tao_lab.consensus import EpochContext, EpochParams, epoch

U16_MAX = 65535
RAO = 1_000_000_000
HIGH_TEMPO = U16_MAX - 1  # tests use it to keep on_initialize from running epochs


def activity_cutoff_blocks(tempo, factor_milli=13_889):
    return max(1, factor_milli * tempo // 1000)


def max_upscale(values):
    """``vec_u16_max_upscale_to_u16`` in I32F32: scale the row so its max becomes 65535, then round
    half away from zero."""
    vmax = max(values)
    if vmax == 0:
        return [0] * len(values)
    out = []
    for v in values:
        if vmax > 32768:  # chain multiplies by the truncated factor 65535/max
            x = v * ((U16_MAX << 32) // vmax)
        else:  # chain divides v*65535 by max (truncating)
            x = ((v * U16_MAX) << 32) // vmax
        out.append(min(U16_MAX, (x + (1 << 31)) >> 32))
    return out


def normalize_weights(values):
    """Rust test helper ``normalize_weights``: floor(x * 65535 / sum)."""
    total = sum(values)
    return list(values) if total == 0 else [v * U16_MAX // total for v in values]


def distribute_nodes(validators_n, network_n, interleave):
    """Rust ``distribute_nodes``. Interleave 2 is random in Rust (unseeded); here it is seeded."""
    if interleave == 0:
        return list(range(validators_n)), list(range(validators_n, network_n))
    if interleave == 1:
        step = network_n // validators_n
        vals = [i for i in range(network_n) if i % step == 0]
        return vals, [i for i in range(network_n) if i % step != 0]
    perm = [int(i) for i in np.random.default_rng(1234 + network_n).permutation(network_n)]
    return perm[:validators_n], perm[validators_n:]


class Subnet:
    """The storage that one mechanism's epoch reads, plus the chain state changes the tests make."""

    def __init__(self, stake, block, tempo, reg_block=None, yuma3=False, commit_reveal=False, **params):
        n = len(stake)
        self.n, self.block, self.tempo = n, block, tempo
        self.stake = [int(s) for s in stake]
        self.params = dict(yuma3=yuma3, commit_reveal=commit_reveal, **params)
        self.weights = [[] for _ in range(n)]  # sparse rows (uid, u16) as stored
        self.bonds = np.zeros((n, n), dtype=np.int64)
        self.permits = np.zeros(n, dtype=bool)
        reg = block if reg_block is None else reg_block
        self.block_at_registration = [reg] * n
        self.last_update = [reg] * n

    def set_weights(self, uid, uids, values):
        self.weights[uid] = list(zip(uids, max_upscale(values)))
        self.last_update[uid] = self.block

    def replace(self, uid, stake=0):
        """``replace_neuron`` + ``clear_neuron`` for a new hotkey registered over ``uid``."""
        self.block_at_registration[uid] = self.last_update[uid] = self.block
        self.weights = [[(j, 0 if j == uid else w) for j, w in row] for row in self.weights]
        self.weights[uid] = []
        self.bonds[uid, :] = 0
        self.permits[uid] = False
        self.stake[uid] = stake

    def epoch(self, variant="sparse", rao=RAO):
        params = EpochParams(
            tempo=self.tempo, activity_cutoff=activity_cutoff_blocks(self.tempo), **self.params
        )
        ctx = EpochContext(
            current_block=self.block,
            last_update=list(self.last_update),
            block_at_registration=list(self.block_at_registration),
            last_mechanism_step_block=0,
        )
        res = epoch(
            list(self.stake), [list(r) for r in self.weights], self.bonds.copy(), self.permits.copy(),
            params=params, context=ctx, rao_emission=rao, variant=variant,
        )
        self.bonds = np.asarray(res.new_bonds, dtype=np.int64).copy()
        self.permits = np.asarray(res.new_validator_permits, dtype=bool).copy()
        return res


def test_max_upscale_helper():
    assert max_upscale([43690, 21845]) == [65535, 32768]  # 2*(MAX/3), MAX/3 (see Rust log)
    assert max_upscale([16383, 32767, 49149, 65535]) == [16383, 32767, 49149, 65535]
    assert max_upscale([32767, 32767]) == [65535, 65535]
    assert max_upscale([127] * 3) == [65535] * 3


def test_1_graph():
    """Rust ``test_1_graph``: one uid with a self-weight gets no consensus, incentive or dividends."""
    net = Subnet([RAO], block=1, tempo=HIGH_TEMPO)  # stake = alpha bought by add_stake (any > 0)
    net.set_weights(0, [0], [U16_MAX])  # no permit yet: only a self-weight is allowed
    r = net.epoch()
    assert int(r.consensus_u16[0]) == 0
    assert int(r.incentive_u16[0]) == 0
    assert int(r.dividends_u16[0]) == 0


def test_10_graph():
    """Rust ``test_10_graph``: 10 uids, stake 1 and self-weights only. Emission falls back to stake."""
    n = 10
    net = Subnet([1] * n, block=1, tempo=HIGH_TEMPO, reg_block=0)  # append_neuron(.., 0)
    for i in range(n):
        net.set_weights(i, [i], [U16_MAX])
    r = net.epoch()
    for i in range(n):
        assert int(r.consensus_u16[i]) == 0
        assert int(r.incentive_u16[i]) == 0
        assert int(r.dividends_u16[i]) == 0
        assert int(r.emission[i]) == 99_999_999  # floor(I32F32(0.1) * 1e9)


NET_512, VALS_512 = 512, 64


_PERMIT_CACHE = {}


def _permits_512(interleave, stake_per_validator):
    """``init_run_epochs`` up to the weights: append_neuron(.., 0) at block 1, then the permit epoch.
    Cached per (interleave, stake), because it is the same for every variant."""
    key = (interleave, stake_per_validator)
    if key in _PERMIT_CACHE:
        return _PERMIT_CACHE[key]
    validators, servers = distribute_nodes(VALS_512, NET_512, interleave)
    vset = set(validators)
    stake = [stake_per_validator if u in vset else 0 for u in range(NET_512)]
    net = Subnet(stake, block=1, tempo=HIGH_TEMPO, reg_block=0, max_allowed_validators=VALS_512)
    r = net.epoch()  # first epoch: all permits false, only sets ValidatorPermit
    assert np.asarray(r.new_validator_permits).tolist() == [u in vset for u in range(NET_512)]
    _PERMIT_CACHE[key] = (validators, servers, stake, net.bonds.copy(), net.permits.copy())
    return _PERMIT_CACHE[key]


def _init_512(interleave, stake_per_validator, bonds_penalty):
    validators, servers, stake, bonds, permits = _permits_512(interleave, stake_per_validator)
    net = Subnet(stake, block=1, tempo=HIGH_TEMPO, reg_block=0, max_allowed_validators=VALS_512,
                 bonds_penalty=bonds_penalty)
    net.bonds, net.permits = bonds.copy(), permits.copy()
    return net, validators, servers


@pytest.mark.parametrize("server_self", [False, True])
@pytest.mark.parametrize("interleave", [0, 1, 2])
def test_512_graph(interleave, server_self):
    """Rust ``test_512_graph``: 64 equal validators weight 448 servers equally (dense epoch).

    Rust runs 3 ``epoch_dense`` calls. At tempo 65534, last_tempo = max(0, 1 - 65534) = 0, which is
    <= every BlockAtRegistration (0). So every bond column is masked each epoch, and epochs 2 and 3
    reproduce epoch 1 exactly. One epoch is run here.
    """
    stake_v = 328_125_000_000_000
    net, validators, servers = _init_512(interleave, stake_v, U16_MAX)
    for v in validators:
        net.set_weights(v, servers, [U16_MAX // NET_512] * len(servers))
    if server_self:
        for s in servers:
            net.set_weights(s, [s], [U16_MAX])
    r = net.epoch("dense")
    b = np.asarray(r.new_bonds)
    validator, server = validators[0], servers[0]
    for uid in validators:
        assert int(r.consensus_u16[uid]) == 0
        assert int(r.incentive_u16[uid]) == 0
        assert int(r.dividends_u16[uid]) == 1023  # floor(1/64 * 65535)
        assert int(r.emission[uid]) == 7_812_500  # 0.5/64 * 1e9
        assert int(b[uid, validator]) == 0
        assert int(b[uid, server]) == U16_MAX
    for uid in servers:
        assert int(r.consensus_u16[uid]) == 146
        assert int(r.incentive_u16[uid]) == 146  # floor(1/448 * 65535)
        assert int(r.dividends_u16[uid]) == 0
        assert int(r.emission[uid]) == 1_116_071  # floor(0.5/448 * 1e9)
        assert int(b[uid, validator]) == 0
        assert int(b[uid, server]) == 0


@pytest.mark.parametrize("bonds_penalty", [0, U16_MAX // 2, U16_MAX])
@pytest.mark.parametrize("server_self", [False, True])
@pytest.mark.parametrize("interleave", [0, 1, 2])
def test_512_graph_random_weights(interleave, server_self, bonds_penalty):
    """Rust ``test_512_graph_random_weights``: with random weights (stake 1 per validator),
    ``epoch_dense`` and ``epoch`` (sparse) store identical results.

    Rust draws the weights from StdRng(seed=interleave). Here numpy's generator with the same seed
    is used: only the dense/sparse equality is asserted.
    """
    net, validators, servers = _init_512(interleave, 1, bonds_penalty)
    rng = np.random.default_rng(interleave)
    for v in validators:
        raw = rng.integers(0, U16_MAX, size=len(servers)).tolist()  # Uniform::new(0, u16::MAX)
        net.set_weights(v, servers, normalize_weights(raw))
    if server_self:
        for s in servers:
            net.set_weights(s, [s], [U16_MAX])
    bonds0, permits0 = net.bonds.copy(), net.permits.copy()
    dense = net.epoch("dense")
    net.bonds, net.permits = bonds0, permits0
    sparse = net.epoch("sparse")
    validator, server = validators[0], servers[0]
    np.testing.assert_array_equal(sparse.incentive_u16, dense.incentive_u16)
    np.testing.assert_array_equal(sparse.dividends_u16, dense.dividends_u16)
    np.testing.assert_array_equal(sparse.emission, dense.emission)
    np.testing.assert_array_equal(np.asarray(sparse.new_bonds)[:, validator],
                                  np.asarray(dense.new_bonds)[:, validator])
    np.testing.assert_array_equal(np.asarray(sparse.new_bonds)[:, server],
                                  np.asarray(dense.new_bonds)[:, server])


def test_bonds():
    """Rust ``test_bonds``: the bonds EMA over 7 epochs as validators switch to self-weights.

    Tempo 1 gives activity_cutoff 13 and last_tempo = block - 1. The epoch at block 2 masks all
    bond columns (1 <= reg 1); later epochs keep them.
    """
    n = 8
    net = Subnet([1, 2, 3, 4, 0, 0, 0, 0], block=1, tempo=1, max_allowed_validators=n,
                 bonds_penalty=U16_MAX)
    net.epoch()  # block 1: permit epoch -> permits [T,T,T,T,F,F,F,F]

    def step_and_epoch():
        net.block += 1  # next_block_no_epoch
        return np.asarray(net.epoch().new_bonds)

    net.block += 1  # block 2
    for uid in range(4):
        net.set_weights(uid, [4, 5, 6, 7], [U16_MAX // 4, U16_MAX // 2, (U16_MAX // 4) * 3, U16_MAX])
    b = np.asarray(net.epoch().new_bonds)  # block 2
    assert b[:4, 4].tolist() == [16383, 32767, 49151, 65535]

    net.set_weights(0, [0], [U16_MAX])  # val1: self-weight only
    assert step_and_epoch()[:4, 4].tolist() == [14582, 32767, 49151, 65535]  # block 3

    net.set_weights(1, [1], [U16_MAX])  # val2: self-weight only
    assert step_and_epoch()[:4, 4].tolist() == [12603, 28321, 49151, 65535]  # block 4

    net.set_weights(2, [2], [U16_MAX])  # val3: self-weight only
    assert step_and_epoch()[:4, 7].tolist() == [12602, 28320, 49150, 65535]  # block 5

    net.set_weights(2, [7], [U16_MAX])  # val3 -> srv4: 1
    assert step_and_epoch()[:4, 7].tolist() == [10951, 24609, 49150, 65535]  # block 6
    assert step_and_epoch()[:4, 7].tolist() == [9559, 21482, 49150, 65535]  # block 7
    assert step_and_epoch()[:4, 7].tolist() == [8376, 18824, 49150, 65535]  # block 8
    # Rust runs one more epoch (block 9) and asserts nothing on it.


def test_active_stake():
    """Rust ``test_active_stake``: stake of validators past the activity cutoff is masked.

    Starts at block 0, tempo 1 (cutoff 13 blocks). Rust advances to the legacy
    ActivityCutoff (5000) + 2 and + 3.
    """
    n = 4
    net = Subnet([1] * n, block=0, tempo=1, max_allowed_validators=n)  # bonds_penalty default 65535
    net.epoch()  # block 0: permit epoch -> all four permitted
    net.block = 1
    for uid in range(2):
        net.set_weights(uid, [2, 3], [U16_MAX // 2] * 2)
    r = net.epoch()  # block 1
    b = np.asarray(r.new_bonds)
    for uid in range(n):
        if uid < 2:
            assert int(r.dividends_u16[uid]) == 32767
        assert int(r.emission[uid]) == 250_000_000
    for uid in range(2):
        assert b[uid, :2].tolist() == [0, 0]
        assert b[uid, 2:].tolist() == [U16_MAX, U16_MAX]

    net.block = 5000 + 2  # run_to_block_no_epoch(activity_cutoff + 2)
    net.set_weights(0, [2, 3], [U16_MAX // 2] * 2)
    r = net.epoch()  # LastUpdate [5002, 1, 0, 0]: only uid 0 active
    b = np.asarray(r.new_bonds)
    assert int(r.dividends_u16[0]) == 36044
    assert int(r.emission[0]) == 274_999_999
    assert b[0, 2:].tolist() == [U16_MAX, U16_MAX]
    assert int(r.dividends_u16[1]) == 29490
    assert int(r.emission[1]) == 224_999_999
    assert b[1, 2:].tolist() == [53619, 53619]

    net.set_weights(1, [2, 3], [U16_MAX // 2] * 2)  # still block 5002
    net.block = 5000 + 3
    r = net.epoch()  # LastUpdate [5002, 5002, 0, 0]
    b = np.asarray(r.new_bonds)
    assert int(r.dividends_u16[0]) == 35716
    assert int(r.emission[0]) == 272_501_132
    assert b[0, 2:].tolist() == [U16_MAX, U16_MAX]
    assert int(r.dividends_u16[1]) == 29818
    assert int(r.emission[1]) == 227_498_866
    assert b[1, 2:].tolist() == [54712, 54712]


def test_outdated_weights():
    """Rust ``test_outdated_weights``: weights that uid 1 set before uid 3 was re-registered get masked.

    Tempo 0 gives activity_cutoff 1 block and last_tempo = current block (no bond column masked).
    """
    n = 4
    net = Subnet([1] * n, block=1, tempo=0, max_allowed_validators=n, bonds_penalty=U16_MAX)
    net.epoch()  # block 1: permit epoch
    net.block = 2
    for uid in range(2):
        net.set_weights(uid, [2, 3], [2 * (U16_MAX // 3), U16_MAX // 3])  # stored 65535, 32768
    for uid in range(2, 4):
        net.set_weights(uid, [uid], [U16_MAX])
    net.epoch()  # block 2 (Rust asserts nothing here)

    net.replace(3)  # new hotkey 4 over uid 3 at block 2 (lowest emission)
    net.block = 3
    net.set_weights(0, [2, 3], [2 * (U16_MAX // 3), U16_MAX // 3])
    r = net.epoch()  # block 3
    b = np.asarray(r.new_bonds)
    assert int(r.dividends_u16[0]) == 32767
    assert int(r.emission[0]) == 250_000_000
    assert int(b[0, 2]) == U16_MAX
    assert int(b[0, 3]) == U16_MAX


def test_zero_weights():
    """Rust ``test_zero_weights``: with no, self-only or outdated weights, emission falls back to stake."""
    net = Subnet([1, 0], block=1, tempo=HIGH_TEMPO)  # MaxAllowedValidators 64 (init_new_network)

    def check(expected):
        r = net.epoch()
        assert [int(e) for e in r.emission] == expected

    check([RAO, 0])  # no weights, no permits yet
    net.set_weights(1, [1], [U16_MAX])  # still block 1 (run_to_block(1) is a no-op)
    check([RAO, 0])  # server self-weight only
    net.block = 2
    net.set_weights(0, [1], [U16_MAX])
    net.replace(1)  # new key over uid 1 at block 2 -> row 0 becomes [(1, 0)]
    check([RAO, 0])  # outdated: LastUpdate[0] = 2 <= BlockAtRegistration[1] = 2
    net.block = 3
    net.set_weights(0, [1], [U16_MAX])
    check([RAO // 2, RAO // 2])


def test_deregistered_miner_bonds():
    """Rust ``test_deregistered_miner_bonds``: bonds to a re-registered miner are reset before the EMA.

    Epochs run with tempo set to 2 (activity_cutoff 27, last_tempo = block - 2); blocks are stepped
    with the high tempo. Uid 3 is re-registered at block 5 and the epoch runs at block 6:
    last_tempo 4 <= 5, so bond column 3 is masked.
    """
    n = 4
    net = Subnet([1] * n, block=1, tempo=HIGH_TEMPO, max_allowed_validators=n, bonds_penalty=U16_MAX)
    net.epoch()  # block 1: permit epoch (tempo still high)
    net.block = 2
    for uid in range(2):
        net.set_weights(uid, [2, 3], [2 * (U16_MAX // 3), U16_MAX // 3])
    net.block = 4
    net.tempo = 2
    b = np.asarray(net.epoch().new_bonds)
    bond_0_2, bond_0_3 = int(b[0, 2]), int(b[0, 3])
    assert bond_0_2 > 0
    assert bond_0_3 > 0

    net.tempo = HIGH_TEMPO
    net.block = 5
    net.replace(3)  # hotkey 4 registered over uid 3 at block 5
    for uid in range(2):
        net.set_weights(uid, [2, 3], [2 * (U16_MAX // 3), U16_MAX // 3])
    net.block = 6
    assert net.block_at_registration[3] >= net.block - 2
    net.tempo = 2
    b = np.asarray(net.epoch().new_bonds)
    assert int(b[0, 2]) >= bond_0_2
    assert int(b[0, 3]) <= bond_0_3


@pytest.mark.parametrize("assignment", [0, 1])
@pytest.mark.parametrize("network_n,validators_n", [(2, 1), (4, 2), (8, 4)])
@pytest.mark.parametrize("interleave", [0, 1, 2])
def test_validator_permits(interleave, network_n, validators_n, assignment):
    """Rust ``test_validator_permits``: permits go to the top-k stake at or above StakeThreshold.

    ``add_network`` keeps Yuma3 and commit-reveal on (no weights or commits here). Both epochs run
    at block 1, because ``run_to_block(1)`` does nothing.
    """
    min_stake = validators_n
    validators, servers = distribute_nodes(validators_n, network_n, interleave)
    stake = [0] * network_n
    for v in validators:
        stake[v] = v + network_n if assignment == 1 else 1
    for s in servers:
        stake[s] = s if assignment == 1 else 0
    net = Subnet(stake, block=1, tempo=HIGH_TEMPO, yuma3=True, commit_reveal=True,
                 max_allowed_validators=validators_n, stake_threshold=min_stake)
    r = net.epoch()
    for v in validators:
        assert bool(r.new_validator_permits[v]) == (stake[v] >= min_stake)
    for s in servers:
        assert not bool(r.new_validator_permits[s])

    for s in servers:  # increase server stake above the validators'
        net.stake[s] += 2 * network_n
    r = net.epoch()
    for v in validators:
        assert not bool(r.new_validator_permits[v])
    for s in servers:
        assert bool(r.new_validator_permits[s]) == (stake[s] + 2 * network_n >= min_stake)
