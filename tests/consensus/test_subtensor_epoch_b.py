"""Subtensor's epoch tests, part B, run against ``tao_lab.consensus.epoch``.

Transcribed from ``pallets/subtensor/src/tests/epoch.rs`` of opentensor/subtensor at 14bc6f9f,
from ``test_blocks_since_last_step`` to the end of the file. Each test rebuilds the storage the
Rust test's mock chain holds when it calls ``SubtensorModule::epoch`` (sparse, ``epoch_mechanism``)
or ``epoch_dense`` (dense), feeds it to ``epoch`` and asserts what the Rust test asserts, with the
Rust tolerance. Multi-epoch tests carry ``new_bonds`` and ``new_validator_permits`` forward.

Not transcribed, and why:
- test_blocks_since_last_step: block scheduling (BlocksSinceLastStep); no epoch numbers.
- test_epoch_no_mask_when_commit_reveal_disabled: asserts that the stored Weights row 0 is non-empty
  after each epoch; the epoch never writes Weights, so nothing about its outputs is checked.
- empty_ok, unique_hotkeys_and_uids_ok, duplicate_hotkey_within_same_netuid_fails,
  same_hotkey_across_different_netuids_is_ok: hotkey-map consistency; no epoch numbers.
- _map_consensus_guarantees: commented out in Rust.
Partly transcribed:
- test_liquid_alpha_equal_values_against_itself calls the internal ``compute_bonds`` on hand-made
  W, B and C; here the same property (liquid alpha with alpha_low == alpha_high gives the bonds of
  the fixed alpha) is checked through whole Yuma3 epochs fed that W and B.
- test_last_update_size_mismatch stores a LastUpdate of length 3 on a 1-uid subnet; the API takes
  (n,) vectors, so only LastUpdate[0] (the entry the epoch reads for uid 0) is passed. The rank,
  trust and total-stake asserts are not epoch outputs (rank/trust getters return 0 since 8fb5c36).
- test_epoch_masks_incoming_to_sniped_uid_prevents_inheritance and
  test_epoch_does_not_mask_outside_window_but_masks_inside run scheduled epochs through the mock's
  coinbase, which also pays emission into stake; those stake increases are left out (every stake
  stays non-zero and the validator stays top, so permits and the asserted incentives are unchanged).

Units: stake in rao; weights and bonds as the stored u16; blocks for every block quantity.
"""

import numpy as np
import pytest

from tao_lab.consensus import EpochContext, EpochParams, epoch

U16_MAX = 65535
VARIANTS = ["sparse", "dense"]


def activity_cutoff(tempo, factor_milli=13_889):
    """get_activity_cutoff_blocks: ActivityCutoffFactorMilli * tempo / 1000 blocks, at least 1."""
    return max(1, factor_milli * tempo // 1000)


def max_upscale(values):
    """vec_u16_max_upscale_to_u16: scale a set_weights row so its max is 65535 (round half up)."""
    top = max(values)
    if top == 0:
        return [0] * len(values)
    return [(2 * v * U16_MAX + top) // (2 * top) for v in values]


class Subnet:
    """The epoch inputs one subnet's storage holds in the Rust mock, changed as the test changes them.

    ``epoch()`` feeds them to tao_lab and stores back what the chain stores: Bonds and
    ValidatorPermit. LastMechansimStepBlock is written only by epochs the coinbase schedules
    (``scheduled=True``); the manual ``SubtensorModule::epoch`` / ``epoch_dense`` calls leave it.
    """

    def __init__(self, block=1, **hyper):
        self.hyper = hyper  # EpochParams fields (chain units)
        self.block = block
        self.stake, self.reg, self.last_update, self.permits, self.weights = [], [], [], [], []
        self.bonds = np.zeros((0, 0), dtype=np.int64)
        self.lms = 0  # LastMechansimStepBlock; 0 = no scheduled epoch yet

    def register(self, stake):
        """append_neuron: BlockAtRegistration = LastUpdate = now, ValidatorPermit gets False."""
        self.stake.append(stake)
        self.reg.append(self.block)
        self.last_update.append(self.block)
        self.permits.append(False)
        self.weights.append([])
        self.bonds = np.pad(self.bonds, ((0, 1), (0, 1)))
        return len(self.stake) - 1

    def replace(self, uid, stake):
        """replace_neuron + clear_neuron: a new hotkey takes ``uid`` at this block."""
        self.stake[uid] = stake
        self.reg[uid] = self.last_update[uid] = self.block
        self.permits[uid] = False
        self.bonds[uid, :] = 0  # Bonds row removed; other rows keep their column `uid`
        self.weights[uid] = []
        self.weights = [[(j, 0 if j == uid else w) for j, w in row] for row in self.weights]

    def set_weights(self, uid, uids, values):
        """set_weights with commit-reveal off: the row max-upscaled (zeros kept), LastUpdate = now."""
        self.weights[uid] = list(zip(uids, max_upscale(values)))
        self.last_update[uid] = self.block

    def epoch(self, variant="sparse", rao_emission=1_000_000_000, commit_blocks=None,
              scheduled=False, store=True, **overrides):
        context = EpochContext(
            current_block=self.block,
            last_update=np.array(self.last_update, dtype=np.int64),
            block_at_registration=np.array(self.reg, dtype=np.int64),
            last_mechanism_step_block=self.lms,
            commit_blocks=commit_blocks,
        )
        result = epoch(
            np.array(self.stake, dtype=np.int64),
            [list(row) for row in self.weights],
            self.bonds.copy(),
            np.array(self.permits, dtype=bool),
            params=EpochParams(**{**self.hyper, **overrides}),
            context=context,
            rao_emission=rao_emission,
            variant=variant,
        )
        if store:
            self.bonds = np.asarray(result.new_bonds, dtype=np.int64)
            self.permits = [bool(p) for p in result.new_validator_permits]
            if scheduled:
                self.lms = self.block
        return result


def uid_to_prune(emission, reg):
    """get_neuron_to_prune when every uid is immune and there is no owner hotkey: lowest stored
    Emission, then earliest registration, then lowest uid."""
    return min(range(len(reg)), key=lambda uid: (int(emission[uid]), reg[uid], uid))


# --- owner self-weight, single staker --------------------------------------------------------


def test_can_set_self_weight_as_subnet_owner():
    """test_can_set_self_weight_as_subnet_owner: the owner's self-weight survives the diagonal mask."""
    # add_dynamic_network at block 1 registers the owner hotkey as uid 0 and sets SubnetOwnerHotkey;
    # commit-reveal stays on (default) but nobody commits. Tempo 360 (DefaultTempo).
    sub = Subnet(owner_uid=0, commit_reveal=True, yuma3=True, tempo=360,
                 activity_cutoff=activity_cutoff(360), max_allowed_validators=64)
    sub.register(5_000_000_000_000)  # owner hotkey, 5k TAO of alpha
    sub.register(0)  # other hotkey, no stake
    sub.permits = [True, False]  # ValidatorPermit inserted directly
    sub.weights[0] = [(0, U16_MAX // 2), (1, U16_MAX // 2)]  # Weights inserted directly (raw u16)
    sub.block = 2  # step_block(1)
    sub.last_update = [2, 0]  # LastUpdate inserted directly

    result = sub.epoch(rao_emission=1_000_000_000)

    server = [int(e) for e in result.server_emission]
    assert server[0] > 0 and server[1] > 0
    assert server[0] == server[1]


def test_epoch_outputs_single_staker_registered_no_weights():
    """test_epoch_outputs_single_staker_registered_no_weights: all emission goes out by stake."""
    tempo = U16_MAX - 1
    sub = Subnet(yuma3=True, commit_reveal=True, tempo=tempo, activity_cutoff=activity_cutoff(tempo))
    sub.register(1)  # 1 rao of alpha, block 1, no permit yet

    result = sub.epoch(rao_emission=1_000_000_000)

    total = int(np.sum(result.server_emission)) + int(np.sum(result.validator_emission))
    assert abs(total - 1_000_000_000) <= 1_000


# --- Yuma3 scenarios -----------------------------------------------------------------------------

S1 = [U16_MAX, 0]  # set_weights([3, 4], S1): all on server 1 (uid 3), explicit zero on uid 4
S2 = [0, U16_MAX]


def yuma3_subnet(stakes, variant):
    """setup_yuma_3_scenario: register everyone at block 1, then one manual epoch at block 2 that
    gives uids 0..2 their permits (MaxAllowedValidators 3). Tempo 1, bonds penalty 0,
    BondsMovingAverage 975_000, kappa 32767, liquid alpha on with set_alpha_values_32(0.1, 0.3),
    which stores (floor(0.1*65535), floor(0.3*65535)) = (6553, 19660)."""
    sub = Subnet(yuma3=True, liquid_alpha=True, alpha_low=6553, alpha_high=19660,
                 alpha_sigmoid_steepness=1000, bonds_penalty=0, bonds_moving_average=975_000,
                 kappa=32767, max_allowed_validators=3, tempo=1, activity_cutoff=activity_cutoff(1),
                 commit_reveal=False)
    for s in stakes:
        sub.register(s)
    yuma3_epoch(sub, variant)
    return sub


def yuma3_epoch(sub, variant):
    """run_epoch: next_block_no_epoch, then epoch / epoch_dense with 1e9 rao."""
    sub.block += 1
    return sub.epoch(variant, rao_emission=1_000_000_000)


def set_validator_weights(sub, rows, uids):
    """set_yuma_3_weights: validator i sets rows[i] on `uids`."""
    for uid, row in enumerate(rows):
        sub.set_weights(uid, uids, row)


def check_bonds_dividends(sub, result, bond_cols, target_bonds, target_dividends):
    """run_epoch_and_check_bonds_dividends at 1e-3: Dividends as u16/65535, and (not asserted in
    Rust, whose zip(...skip(3)) is empty) the Bonds rows of the validators as stored u16/65535 on
    the columns the targets list."""
    dividends = np.asarray(result.dividends_u16, dtype=np.float64) / U16_MAX
    np.testing.assert_allclose(dividends, target_dividends, rtol=0, atol=1e-3)
    bonds = sub.bonds[: len(target_bonds)][:, list(bond_cols)] / U16_MAX
    np.testing.assert_allclose(bonds, target_bonds, rtol=0, atol=1e-3)


def check_yuma3_schedule(variant, stakes, schedule, uids, target_bonds, target_dividends,
                       liquid_alpha=True, bond_cols=None):
    """Epoch k: validators set schedule[k] (if any) on `uids`, one epoch runs, targets[k] are
    checked; bond targets are on the columns `bond_cols` (default: `uids`)."""
    sub = yuma3_subnet(stakes, variant)
    sub.hyper["liquid_alpha"] = liquid_alpha
    for k, (bonds_k, dividends_k) in enumerate(zip(target_bonds, target_dividends)):
        if k in schedule:
            set_validator_weights(sub, schedule[k], uids)
        result = yuma3_epoch(sub, variant)
        check_bonds_dividends(sub, result, bond_cols or uids, bonds_k, dividends_k)


@pytest.mark.parametrize("variant", VARIANTS)
def test_yuma_3_kappa_moves_first(variant):
    """test_yuma_3_kappa_moves_first: the big validator (0.8) moves to server 2 first."""
    schedule = {0: [S1, S1, S1], 1: [S2, S1, S1], 2: [S2, S2, S1], 3: [S2, S2, S2]}
    target_bonds = [
        [[0.1013, 0.0000], [0.1013, 0.0000], [0.1013, 0.0000]],
        [[0.0908, 0.1013], [0.3697, 0.0000], [0.3697, 0.0000]],
        [[0.0815, 0.1924], [0.3170, 0.1013], [0.5580, 0.0000]],
        [[0.0731, 0.2742], [0.2765, 0.1924], [0.4306, 0.1013]],
        [[0.0656, 0.3478], [0.2435, 0.2742], [0.3589, 0.1924]],
        [[0.0588, 0.4139], [0.2157, 0.3478], [0.3089, 0.2742]],
    ]
    target_dividends = [
        [0.8000, 0.1000, 0.1000, 0.0000, 0.0000],
        [1.0000, 0.0000, 0.0000, 0.0000, 0.0000],
        [0.9382, 0.0618, 0.0000, 0.0000, 0.0000],
        [0.8819, 0.0773, 0.0407, 0.0000, 0.0000],
        [0.8564, 0.0844, 0.0592, 0.0000, 0.0000],
        [0.8418, 0.0884, 0.0697, 0.0000, 0.0000],
    ]
    check_yuma3_schedule(variant, [8, 1, 1, 0, 0], schedule, (3, 4), target_bonds, target_dividends)


@pytest.mark.parametrize("variant", VARIANTS)
def test_yuma_3_kappa_moves_second(variant):
    """test_yuma_3_kappa_moves_second: a small validator moves first, the big one second."""
    schedule = {0: [S1, S1, S1], 1: [S1, S2, S1], 2: [S2, S2, S1], 3: [S2, S2, S2]}
    target_bonds = [
        [[0.1013, 0.0000], [0.1013, 0.0000], [0.1013, 0.0000]],
        [[0.1924, 0.0000], [0.0908, 0.2987], [0.1924, 0.0000]],
        [[0.1715, 0.1013], [0.0815, 0.3697], [0.4336, 0.0000]],
        [[0.1531, 0.1924], [0.0731, 0.4336], [0.3608, 0.1013]],
        [[0.1369, 0.2742], [0.0656, 0.4910], [0.3103, 0.1924]],
        [[0.1225, 0.3478], [0.0588, 0.5426], [0.2712, 0.2742]],
    ]
    target_dividends = [
        [0.8000, 0.1000, 0.1000, 0.0000, 0.0000],
        [0.8446, 0.0498, 0.1056, 0.0000, 0.0000],
        [0.6868, 0.3132, 0.0000, 0.0000, 0.0000],
        [0.7421, 0.2090, 0.0489, 0.0000, 0.0000],
        [0.7625, 0.1706, 0.0669, 0.0000, 0.0000],
        [0.7730, 0.1508, 0.0762, 0.0000, 0.0000],
    ]
    check_yuma3_schedule(variant, [8, 1, 1, 0, 0], schedule, (3, 4), target_bonds, target_dividends)


@pytest.mark.parametrize("variant", VARIANTS)
def test_yuma_3_kappa_moves_last(variant):
    """test_yuma_3_kappa_moves_last: both small validators move before the big one."""
    schedule = {0: [S1, S1, S1], 1: [S1, S2, S1], 2: [S1, S2, S2], 3: [S2, S2, S2]}
    target_bonds = [
        [[0.1013, 0.0000], [0.1013, 0.0000], [0.1013, 0.0000]],
        [[0.1924, 0.0000], [0.0908, 0.2987], [0.1924, 0.0000]],
        [[0.2742, 0.0000], [0.0815, 0.5081], [0.1715, 0.2987]],
        [[0.2416, 0.1013], [0.0731, 0.5580], [0.1531, 0.3697]],
        [[0.2141, 0.1924], [0.0656, 0.6028], [0.1369, 0.4336]],
        [[0.1903, 0.2742], [0.0588, 0.6430], [0.1225, 0.4910]],
    ]
    target_dividends = [
        [0.8000, 0.1000, 0.1000, 0.0000, 0.0000],
        [0.8446, 0.0498, 0.1056, 0.0000, 0.0000],
        [0.8966, 0.0333, 0.0701, 0.0000, 0.0000],
        [0.4663, 0.3210, 0.2127, 0.0000, 0.0000],
        [0.5976, 0.2340, 0.1683, 0.0000, 0.0000],
        [0.6592, 0.1932, 0.1475, 0.0000, 0.0000],
    ]
    check_yuma3_schedule(variant, [8, 1, 1, 0, 0], schedule, (3, 4), target_bonds, target_dividends)


@pytest.mark.parametrize("variant", VARIANTS)
def test_yuma_3_one_epoch_switch(variant):
    """test_yuma_3_one_epoch_switch: equal-stake validators; C votes for server 2 in epoch 2 only."""
    schedule = {k: [S1, S1, S1] for k in range(6)}
    schedule[2] = [S1, S1, S2]
    target_bonds = [
        [[0.1013, 0.0000], [0.1013, 0.0000], [0.1013, 0.0000]],
        [[0.1924, 0.0000], [0.1924, 0.0000], [0.1924, 0.0000]],
        [[0.2742, 0.0000], [0.2742, 0.0000], [0.1715, 0.2987]],
        [[0.3478, 0.0000], [0.3478, 0.0000], [0.2554, 0.2618]],
        [[0.4139, 0.0000], [0.4139, 0.0000], [0.3309, 0.2312]],
        [[0.4733, 0.0000], [0.4733, 0.0000], [0.3987, 0.2051]],
    ]
    target_dividends = [
        [0.3300, 0.3300, 0.3400, 0.0000, 0.0000],
        [0.3300, 0.3300, 0.3400, 0.0000, 0.0000],
        [0.3782, 0.3782, 0.2436, 0.0000, 0.0000],
        [0.3628, 0.3628, 0.2745, 0.0000, 0.0000],
        [0.3541, 0.3541, 0.2917, 0.0000, 0.0000],
        [0.3487, 0.3487, 0.3026, 0.0000, 0.0000],
    ]
    check_yuma3_schedule(variant, [33, 33, 34, 0, 0], schedule, (3, 4), target_bonds,
                       target_dividends)


@pytest.mark.parametrize("variant", VARIANTS)
def test_yuma_3_liquid_alpha_disabled(variant):
    """test_yuma_3_liquid_alpha_disabled: as one_epoch_switch with the fixed alpha 1 - 0.975.

    The Rust bond targets here have three columns, which are uids 2, 3 and 4."""
    schedule = {k: [S1, S1, S1] for k in range(6)}
    schedule[2] = [S1, S1, S2]
    target_bonds = [
        [[0.0000, 0.0250, 0.0000], [0.0000, 0.0250, 0.0000], [0.0000, 0.0250, 0.0000]],
        [[0.0000, 0.0494, 0.0000], [0.0000, 0.0494, 0.0000], [0.0000, 0.0494, 0.0000]],
        [[0.0000, 0.0731, 0.0000], [0.0000, 0.0731, 0.0000], [0.0000, 0.0481, 0.0250]],
        [[0.0000, 0.0963, 0.0000], [0.0000, 0.0963, 0.0000], [0.0000, 0.0719, 0.0244]],
        [[0.0000, 0.1189, 0.0000], [0.0000, 0.1189, 0.0000], [0.0000, 0.0951, 0.0238]],
        [[0.0000, 0.1409, 0.0000], [0.0000, 0.1409, 0.0000], [0.0000, 0.1178, 0.0232]],
    ]
    target_dividends = [
        [0.3300, 0.3300, 0.3400, 0.0000, 0.0000],
        [0.3300, 0.3300, 0.3400, 0.0000, 0.0000],
        [0.3734, 0.3734, 0.2532, 0.0000, 0.0000],
        [0.3611, 0.3611, 0.2779, 0.0000, 0.0000],
        [0.3541, 0.3541, 0.2919, 0.0000, 0.0000],
        [0.3495, 0.3495, 0.3009, 0.0000, 0.0000],
    ]
    # set_liquid_alpha_enabled(false) comes after setup's first epoch, which has no weights.
    check_yuma3_schedule(variant, [33, 33, 34, 0, 0], schedule, (3, 4), target_bonds,
                       target_dividends, liquid_alpha=False, bond_cols=(2, 3, 4))


@pytest.mark.parametrize("variant", VARIANTS)
def test_yuma_3_stable_miner(variant):
    """test_yuma_3_stable_miner: server 3 (uid 5) keeps half of every validator's weight."""
    half = U16_MAX // 2
    a, b = [half, 0, half], [0, half, half]  # on uids 3, 4, 5
    schedule = {0: [a, a, a], 1: [a, b, a], 2: [b, b, a], 3: [b, b, b]}
    target_bonds = [
        [[0.0507, 0.0000, 0.0507], [0.0507, 0.0000, 0.0507], [0.0507, 0.0000, 0.0507]],
        [[0.0962, 0.0000, 0.0962], [0.0455, 0.1000, 0.0962], [0.0962, 0.0000, 0.0962]],
        [[0.0863, 0.0507, 0.1371], [0.0408, 0.1405, 0.1371], [0.1770, 0.0000, 0.1371]],
        [[0.0774, 0.0962, 0.1739], [0.0367, 0.1770, 0.1739], [0.1579, 0.0507, 0.1739]],
        [[0.0694, 0.1371, 0.2069], [0.0329, 0.2097, 0.2069], [0.1411, 0.0962, 0.2069]],
        [[0.0623, 0.1739, 0.2366], [0.0296, 0.2391, 0.2366], [0.1263, 0.1371, 0.2366]],
    ]
    target_dividends = [
        [0.8000, 0.1000, 0.1000, 0.0000, 0.0000, 0.0000],
        [0.8226, 0.0745, 0.1028, 0.0000, 0.0000, 0.0000],
        [0.7750, 0.1685, 0.0565, 0.0000, 0.0000, 0.0000],
        [0.7864, 0.1372, 0.0764, 0.0000, 0.0000, 0.0000],
        [0.7912, 0.1241, 0.0847, 0.0000, 0.0000, 0.0000],
        [0.7937, 0.1173, 0.0890, 0.0000, 0.0000, 0.0000],
    ]
    check_yuma3_schedule(variant, [8, 1, 1, 0, 0, 0], schedule, (3, 4, 5), target_bonds,
                       target_dividends)


def test_yuma_3_bonds_reset():
    """test_yuma_3_bonds_reset (sparse only, as in Rust): 41 epochs; before epoch 20 the owner
    resets the bonds on uid 3 (do_reset_bonds with BondsResetOn: column 3 dropped from every row)."""
    targets = {
        0: ([[0.1013, 0.0000], [0.1013, 0.0000], [0.1013, 0.0000]],
            [0.8000, 0.1000, 0.1000, 0.0000, 0.0000]),
        1: ([[0.1924, 0.0000], [0.0908, 0.2987], [0.0908, 0.2987]],
            [0.8944, 0.0528, 0.0528, 0.0000, 0.0000]),
        2: ([[0.1715, 0.1013], [0.0815, 0.3697], [0.0815, 0.3697]],
            [0.5230, 0.2385, 0.2385, 0.0000, 0.0000]),
        19: ([[0.0269, 0.8539], [0.0131, 0.8975], [0.0131, 0.8975]],
             [0.7919, 0.1040, 0.1040, 0.0000, 0.0000]),
        20: ([[0.0000, 0.8687], [0.0000, 0.9079], [0.0000, 0.9079]],
             [0.7928, 0.1036, 0.1036, 0.0000, 0.0000]),
        21: ([[0.0000, 0.8820], [0.2987, 0.6386], [0.2987, 0.6386]],
             [0.8467, 0.0766, 0.0766, 0.0000, 0.0000]),
        40: ([[0.8687, 0.0578], [0.9079, 0.0523], [0.9079, 0.0523]],
             [0.7928, 0.1036, 0.1036, 0.0000, 0.0000]),
    }
    sub = yuma3_subnet([8, 1, 1, 0, 0], "sparse")
    for k in range(41):
        if k == 0:
            rows = [S1, S1, S1]
        elif k == 1:
            rows = [S1, S2, S2]
        elif k <= 20:
            rows = [S2, S2, S2]
        elif k == 21:
            rows = [S2, S1, S1]
        else:
            rows = [S1, S1, S1]
        set_validator_weights(sub, rows, (3, 4))
        if k == 20:
            sub.bonds[:, 3] = 0
        result = yuma3_epoch(sub, "sparse")
        if k in targets:
            check_bonds_dividends(sub, result, (3, 4), *targets[k])


@pytest.mark.parametrize("variant", VARIANTS)
def test_liquid_alpha_equal_values_against_itself(variant):
    """test_liquid_alpha_equal_values_against_itself, through the epoch: liquid alpha with
    AlphaValues (6553, 6553) gives the bonds of the fixed alpha 1 - 900_000/1e6, within 1e-3.

    Validators 0..3 weight servers 4..6 with the Rust test's W rows and hold its B as bonds."""
    w = [[0.0, 0.1, 0.0], [0.0, 0.2, 0.4], [0.0, 0.3, 0.1], [0.0, 0.4, 0.5]]
    b = [[0.1, 0.1, 0.5], [0.0, 0.0, 0.4], [0.5, 0.1, 0.1], [0.0, 0.4, 0.2]]
    sub = Subnet(block=100, yuma3=True, alpha_low=U16_MAX // 10, alpha_high=U16_MAX // 10,
                 bonds_moving_average=900_000)
    for s in [400, 300, 200, 100, 0, 0, 0]:
        sub.register(s)
    sub.reg = [0] * 7
    sub.lms = 50  # bonds are not masked as recently registered
    sub.permits = [True] * 4 + [False] * 3
    for i in range(4):
        sub.set_weights(i, [4, 5, 6], [round(x * U16_MAX) for x in w[i]])
        sub.bonds[i, 4:7] = [round(x * U16_MAX) for x in b[i]]

    on = sub.epoch(variant, store=False, liquid_alpha=True)
    off = sub.epoch(variant, store=False, liquid_alpha=False)

    np.testing.assert_allclose(np.asarray(on.new_bonds) / U16_MAX,
                               np.asarray(off.new_bonds) / U16_MAX, rtol=0, atol=1e-3)


# --- commit-reveal column mask ---------------------------------------------------------------


def test_epoch_masks_incoming_to_sniped_uid_prevents_inheritance():
    """test_epoch_masks_incoming_to_sniped_uid_prevents_inheritance: a uid registered after the
    validator's live commit gets no incentive from that validator's weights."""
    tempo = 10
    sub = Subnet(yuma3=True, commit_reveal=True, tempo=tempo,
                 activity_cutoff=activity_cutoff(tempo), max_allowed_validators=3)
    sub.register(10_000)  # validator
    sub.permits[0] = True  # set_validator_permit_for_uid
    sub.register(100)  # miner
    sub.register(5_000)  # filler
    # run_to_block(21): LastEpochBlock starts at 1 - 40 % 10 = 1, so the coinbase runs epochs at
    # blocks 11 and 21 (no weights, no commits yet); each sets LastMechansimStepBlock.
    for block in (11, 21):
        sub.block = block
        sub.epoch(scheduled=True)
    # commit_dummy at block 21: commit_block 21, commit epoch 2 (SubnetEpochIndex); with reveal
    # period 2 it stays live while the index is <= 4, i.e. through blocks 22 and 23.
    sub.last_update[0] = 21
    commits = [21, None, None]

    sub.block = 22
    sub.set_weights(0, [1], [U16_MAX])
    result = sub.epoch(rao_emission=1_000, commit_blocks=commits)

    # register_ok_neuron on a full subnet (MaxAllowedUids 3, all uids immune) replaces the uid
    # with the lowest stored Emission.
    new_uid = uid_to_prune(result.emission, sub.reg)
    sub.replace(new_uid, 10_000)

    sub.block = 23
    sub.set_weights(0, [0, new_uid], [U16_MAX // 2, U16_MAX // 2])
    # Control (not in Rust): without the commit-reveal mask the new uid would earn incentive.
    control = sub.epoch(rao_emission=1_000, commit_blocks=commits, store=False,
                        commit_reveal=False)
    assert int(control.incentive_u16[new_uid]) > 0

    result = sub.epoch(rao_emission=1_000, commit_blocks=commits)

    assert int(result.incentive_u16[new_uid]) == 0


def test_epoch_does_not_mask_outside_window_but_masks_inside():
    """test_epoch_does_not_mask_outside_window_but_masks_inside: only uids registered after the
    earliest live commit are masked; a commit that has expired masks nothing."""
    tempo = 8
    sub = Subnet(yuma3=True, commit_reveal=True, tempo=tempo,
                 activity_cutoff=activity_cutoff(tempo), max_allowed_validators=1)
    sub.register(10_000)  # validator, block 1
    sub.permits[0] = True
    # run_to_block(8): LastEpochBlock starts at 1 - 50 % 8, saturated to 0: epoch at block 8.
    sub.block = 8
    sub.epoch(scheduled=True)
    sub.last_update[0] = 8  # first commit_dummy: commit_block 8, commit epoch 1
    sub.register(1_000)  # uid 1 at block 8
    # Three tempos: scheduled epochs at 16, 24, 32 (SubnetEpochIndex 2, 3, 4). The first commit
    # is live while the index is <= 1 + 2, so it is gone in the epoch at block 32.
    for block, first_commit in ((16, 8), (24, 8), (32, None)):
        sub.block = block
        sub.epoch(scheduled=True, commit_blocks=[first_commit, None])
    sub.last_update[0] = 32  # second commit_dummy: commit_block 32, commit epoch 4
    sub.block = 33
    sub.register(1_000)  # uid 2
    sub.register(1_000)  # uid 3
    sub.block = 34
    sub.set_weights(0, [1, 2, 3], [U16_MAX // 3] * 3)

    result = sub.epoch(rao_emission=1_000, commit_blocks=[32, None, None, None])

    incentive = [int(x) for x in result.incentive_u16]
    assert incentive[1] > 0, "UID-1 (old) unmasked"
    assert incentive[2] == 0, "UID-2 (inside window) masked"
    assert incentive[3] == 0, "UID-3 (inside window) masked"


# --- robustness ----------------------------------------------------------------------------------


def test_last_update_size_mismatch():
    """test_last_update_size_mismatch: a lone uid whose only weight is on itself gets nothing."""
    tempo = U16_MAX - 1
    sub = Subnet(yuma3=False, commit_reveal=False, tempo=tempo,
                 activity_cutoff=activity_cutoff(tempo))
    sub.register(1_000_000_000)  # ~ the alpha add_stake buys for 1 TAO; any positive amount
    sub.set_weights(0, [0], [U16_MAX])  # block 1
    sub.last_update = [1]  # LastUpdate [1, 1, 1]: only uid 0's entry is read

    result = sub.epoch(rao_emission=1_000_000_000)

    assert int(result.consensus_u16[0]) == 0
    assert int(result.incentive_u16[0]) == 0
    assert int(result.dividends_u16[0]) == 0
