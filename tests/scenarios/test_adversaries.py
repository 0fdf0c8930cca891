"""Adversaries in a real lab (devnet subprocess, thread-mode neurons, real transport and chain):
what each does on chain, and the copy guard that makes a relaying copier earn less than its target."""

import numpy as np
import pytest

from tao_lab import InputError, Lab
from tao_lab.neurons.validator import find_duplicates
from tao_lab.scenarios import behaviour_spec

# ------------------------------------------------------------------------------------- pure parts


def test_find_duplicates_credits_the_fastest():
    a = np.log(np.full(8, 0.5))
    b = np.log(np.linspace(0.1, 0.9, 8))
    answers = {3: a.copy(), 5: a + 1e-5, 7: b, 9: None}
    # uid 5 answered first with (nearly) the same numbers: uid 3 is the duplicate
    assert find_duplicates(answers, {3: 0.020, 5: 0.010, 7: 0.015, 9: None}) == {3: "duplicate of uid 5"}
    # unknown latency counts as slowest
    assert find_duplicates({1: a, 2: a.copy()}, {1: None, 2: 0.5}) == {1: "duplicate of uid 2"}
    # different answers are no duplicates, however close in time
    assert find_duplicates({1: a, 2: a + 0.01}, {1: 0.1, 2: 0.1}) == {}
    # three alike: one original, two duplicates of it
    assert find_duplicates({1: a, 2: a.copy(), 4: a.copy()}, {1: 0.3, 2: 0.1, 4: 0.2}) == {
        1: "duplicate of uid 2", 4: "duplicate of uid 2"}


def test_the_copy_guard_remembers_who_answered_first():
    """A relay that comes back first now and then (a busy machine) does not take the credit: over
    the steps the pair matched, the original answered first more often."""
    a = np.log(np.full(8, 0.5))
    record, keys = {}, {1: "hotkey-honest", 2: "hotkey-copier"}
    for _ in range(3):  # the copier is slower three times...
        assert find_duplicates({1: a, 2: a.copy()}, {1: 0.1, 2: 0.2}, record=record, keys=keys) == {
            2: "duplicate of uid 1"}
    # ... then once faster: the record still names the honest miner the original
    assert find_duplicates({1: a, 2: a.copy()}, {1: 0.3, 2: 0.2}, record=record, keys=keys) == {
        2: "duplicate of uid 1"}
    assert record == {("hotkey-copier", "hotkey-honest"): {"hotkey-honest": 3, "hotkey-copier": 1}}
    # a new miner on uid 2 (another hotkey) starts afresh: this step's order decides
    keys[2] = "hotkey-new"
    assert find_duplicates({1: a, 2: a.copy()}, {1: 0.3, 2: 0.2}, record=record, keys=keys) == {
        1: "duplicate of uid 2"}


def test_behaviours_are_checked():
    assert behaviour_spec("noise", "miner") == {"kind": "noise"}
    with pytest.raises(InputError, match="unknown miner behaviour 'nosie'"):
        behaviour_spec("nosie", "miner")
    with pytest.raises(InputError, match="needs a 'target'"):
        behaviour_spec({"kind": "copier"}, "miner")
    with pytest.raises(InputError, match="takes \\['source'\\], got \\['target'\\]"):
        behaviour_spec({"kind": "weight_copier", "target": 1}, "validator")


# ------------------------------------------------------------------------------------- in a lab


@pytest.fixture(scope="module")
def lab():
    lab = Lab(block_time=0.1, reuse=False)
    lab.subnet(tempo=10)
    lab.add_miners(2, pretrain=[60, 0])  # miner0 good, miner1 untrained
    lab.add_miners(1, behaviour={"kind": "copier", "target": "miner0"}, group="copier")
    lab.add_miners(1, behaviour="noise", group="noise")
    lab.add_miners(2, coldkey="sybil", group="sybil", pretrain=0)
    # every honest validator queries every miner each step, so copier and copied meet every step
    lab.add_validators(1, stake=1_000, k=6, explore=0.0, dedupe=True, group="guard")
    lab.add_validators(1, stake=1_000, k=6, explore=0.0, group="plain")
    lab.add_validators(1, stake=200, behaviour="weight_copier", group="copycat")
    lab.add_validators(1, stake=200, behaviour={"kind": "colluder", "friends": ["noise0"]}, group="friend")
    lab.add_validators(1, stake=200, behaviour="lazy", k=6, group="lazy")
    lab.add_validators(1, stake=200, behaviour="random", group="random")
    lab.wait(timeout=180)
    lab.run(epochs=15, progress=False)  # ~30 validator steps: the moving averages settle
    yield lab
    lab.close()


def row(lab, mg, validator: str) -> dict:
    """``validator``'s weights on chain, by miner name."""
    v = lab.uid(validator)
    return {m: float(mg.W[v, lab.uid(m)]) for m in lab.miners}


def test_the_copier_relays_and_without_the_guard_earns_like_its_target(lab):
    mg = lab.metagraph()
    plain = row(lab, mg, "plain0")
    assert lab.supervisor._neurons["copier0"].obj.copied > 0  # it really relayed miner0's answers
    # duplicates split one mixture share: the copier takes about half of what miner0 alone would get
    assert plain["copier0"] > 0.5 * plain["miner0"], plain


def test_the_copy_guard_gives_the_copier_clearly_less_than_its_target(lab):
    mg = lab.metagraph()
    guard = row(lab, mg, "guard0")
    assert guard["copier0"] < 0.25 * guard["miner0"], (guard, lab.neurons().to_string())
    reasons = {e.get("reason") for e in lab.events.since(0)[0]
               if e["kind"] == "timeout" and e["validator_uid"] == lab.uid("guard0")}
    assert f"duplicate of uid {lab.uid('miner0')}" in reasons, reasons


def test_noise_earns_almost_nothing_from_honest_validators(lab):
    mg = lab.metagraph()
    for validator in ("guard0", "plain0"):
        weights = row(lab, mg, validator)
        assert weights["noise0"] < 0.05 * sum(weights.values()), (validator, weights)


def test_dishonest_validators_set_what_they_claim(lab):
    mg = lab.metagraph()
    copycat, friend = lab.uid("copycat0"), lab.uid("friend0")
    # the weight copier's row is a consensus vector C the chain published at one of the recent epochs
    history = lab.history()
    row_now = mg.W[copycat] / mg.W[copycat].sum()
    distances = []
    for _, epoch in history.groupby("epoch_block"):
        c = np.zeros(mg.n)
        c[epoch["uid"].to_numpy()] = epoch["C"].to_numpy()
        c[copycat] = 0.0
        if c.sum() > 0:
            distances.append(np.abs(c / c.sum() - row_now).sum())
    assert distances and min(distances) < 0.01, (distances, row_now)
    # the colluder puts everything on its friend, the noise miner
    assert mg.W[friend, lab.uid("noise0")] > 0.99
    lazy = lab.supervisor._neurons["lazy0"].obj
    assert lazy.weights_set == 1 and lazy.steps > 5  # kept stepping, set weights once
    random = lab.supervisor._neurons["random0"].obj
    assert random.weights_set >= 2 and mg.W[lab.uid("random0")].sum() > 0.99


def test_a_sybil_group_shares_one_coldkey(lab):
    mg = lab.metagraph()
    sybil = [lab.uid(f"sybil{i}") for i in range(2)]
    assert mg.coldkeys[sybil[0]] == mg.coldkeys[sybil[1]]
    assert mg.hotkeys[sybil[0]] != mg.hotkeys[sybil[1]]
    assert len({mg.coldkeys[lab.uid(m)] for m in ("miner0", "miner1", "copier0")}) == 3
