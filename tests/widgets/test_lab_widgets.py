"""`lab.explainer()` on a real lab (devnet, thread-mode neurons): it explains the subnet the lab runs,
recomputes the chain's own epoch from the block before it, and its sliders recompute."""

import numpy as np
import pytest

from tao_lab import Lab


@pytest.fixture(scope="module")
def lab():
    lab = Lab(block_time=0.1, reuse=False)
    lab.subnet(tempo=8)
    lab.add_miners(2, pretrain=[0, 20])
    lab.add_validators(1, stake=200)
    lab.wait(timeout=120)
    lab.run(epochs=2, progress=False)  # the second epoch has permits and weights from the first
    yield lab
    lab.close()


def test_explainer_of_the_head_has_the_subnets_shape(lab):
    ex = lab.explainer()
    mg = lab.metagraph(block=ex.context.current_block)
    n = mg.n
    assert ex.n == n >= 3
    r = ex.result
    for name in ("consensus", "incentive", "dividends", "validator_trust", "emission"):
        assert np.asarray(getattr(r, name)).shape == (n,), name
    assert np.isclose(r.incentive.sum(), 1.0) or r.incentive.sum() == 0
    validator = lab.uid(lab.validators[0])
    assert ex.validator == validator and r.validator_permits[validator]
    assert ex.miner in {lab.uid(m) for m in lab.miners}
    assert len(ex.figures) == 7


def test_explainer_before_an_epoch_reproduces_the_chains_consensus(lab):
    e = lab.metagraph().last_epoch_block
    stored = lab.metagraph(block=e)  # what the epoch at block e wrote
    assert stored.last_epoch_block == e
    ex = lab.explainer(block=e - 1)
    r = ex.result
    for mine, chain in ((r.consensus_u16, stored.C), (r.incentive_u16, stored.I), (r.dividends_u16, stored.D)):
        assert mine.tolist() == np.round(chain * 65535).astype(int).tolist()
    assert np.array_equal(r.new_bonds, stored.bonds_u16)


def test_the_kappa_slider_recomputes_on_lab_data(lab):
    ex = lab.explainer()
    before = ex.params.kappa
    ex.sliders["kappa"].value = 0.9  # what dragging the slider does, through its observer
    assert ex.params.kappa == round(0.9 * 65535) != before
    assert ex.text.value.startswith(f"kappa {before / 65535:.2f} → 0.90")
    median = next(t for t in ex.figures["median"].data if t.name == "consensus C")
    assert median.y[1] == pytest.approx(ex.result.consensus[ex.miner])
    assert median.x[1] == pytest.approx(1 - 0.9, abs=1e-4)  # kappa as stored: u16
