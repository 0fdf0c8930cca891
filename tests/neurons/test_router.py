"""Router maths on synthetic miners: the qualitative results of notes/ml-offline.md §6, and the Router's routing."""

import math

import numpy as np
import pytest

from tao_lab.errors import InputError
from tao_lab.neurons.router import (
    MAX_EXACT_SHAPLEY,
    Router,
    as_logprobs,
    em_fit,
    em_gate,
    leave_one_out,
    mixture_loss,
    responsibilities,
    shapley_exact,
    shapley_mc,
)

V = 32  # vocabulary of the synthetic task


def log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


@pytest.fixture(scope="module")
def task():
    """A held-out batch of N tokens drawn from known next-token distributions, and miners of known quality."""
    rng = np.random.default_rng(0)
    n = 2000
    logits = rng.normal(0, 2, (n, V))                      # (N, V) the true next-token logits
    p = np.exp(log_softmax(logits))
    y = (p.cumsum(1) > rng.random((n, 1))).argmax(1)        # (N,) sampled targets

    def at(logp):                                           # (N, V) log-probs → (N,) target log-probs
        return logp[np.arange(n), y]

    good = at(log_softmax(logits + rng.normal(0, 0.5, (n, V))))
    unrelated = at(log_softmax(rng.normal(0, 2, (n, V))))   # a model of some other text
    first_half = np.arange(n) < n // 2                     # two domains: rows 0..n/2 and the rest
    return {
        "good": good,
        "tempered": at(log_softmax(0.6 * logits)),
        "noise": at(np.log(rng.dirichlet(np.ones(V), n))),
        "adversarial": at(log_softmax(-3 * logits)),
        "uniform": np.full(n, -math.log(V)),
        "specialist_a": np.where(first_half, good, unrelated),
        "specialist_b": np.where(first_half, unrelated, good),
    }


def stack(task, *names):
    return np.stack([task[name] for name in names])


# ---------------------------------------------------------------------- the gate


def test_em_is_monotone_and_converges(task):
    rng = np.random.default_rng(1)
    cases = [stack(task, "good", "tempered", "noise", "adversarial", "uniform"),
             np.log(rng.dirichlet(np.ones(4), (6, 300)))[..., 0]]      # random miners, (K=6, N=300)
    for l in cases:
        for init in (None, rng.random(len(l)) + 0.01):
            fit = em_fit(l, iters=500, tol=1e-10, init=init)
            assert np.diff(fit.losses).max() <= 1e-12              # EM never raises the loss
            assert fit.weights.sum() == pytest.approx(1.0)
            assert fit.loss == pytest.approx(mixture_loss(l, fit.weights))
            assert fit.loss <= mixture_loss(l, np.ones(len(l))) + 1e-12
    assert em_fit(cases[0], iters=500).converged


def test_mixture_loss_and_responsibilities(task):
    l = stack(task, "good", "tempered", "uniform")
    assert mixture_loss(l, [1, 0, 0]) == pytest.approx(-task["good"].mean())
    assert mixture_loss(l, [0, 0, 5]) == pytest.approx(math.log(V))
    r = responsibilities(l, [0.5, 0.3, 0.2])
    assert r.shape == l.shape and np.allclose(r.sum(0), 1.0)
    one_step = responsibilities(l, np.ones(3)).mean(1)          # one EM step from uniform weights
    assert np.allclose(em_gate(l, iters=1), one_step)


def test_duplicates_get_equal_weight_and_no_loo(task):
    l = stack(task, "good", "good", "tempered", "uniform")
    w = em_gate(l)
    assert w[0] == w[1] and w[0] > 0.25
    loo = leave_one_out(l, vocab_size=V)
    assert abs(loo[0]) < 1e-3 and loo[0] == pytest.approx(loo[1], abs=1e-9)
    phi = shapley_exact(l, vocab_size=V)
    assert phi[0] == pytest.approx(phi[1])                      # Shapley splits their credit evenly


def test_adversarial_and_noise_miners_get_nothing(task):
    l = stack(task, "good", "tempered", "noise", "adversarial")
    w = em_gate(l, iters=300)
    assert w[2] < 1e-3 and w[3] < 1e-3
    loo = leave_one_out(l, vocab_size=V)
    assert abs(loo[2]) < 1e-3 and abs(loo[3]) < 1e-3
    phi = shapley_exact(l, vocab_size=V)
    assert phi[3] < -1.0                                        # the adversary only ever hurts
    assert phi[0] > phi[1] > 0
    assert shapley_exact(stack(task, "good", "tempered", "noise"), vocab_size=V)[2] <= 0
    assert shapley_exact(l, vocab_size=V, refit=True)[3] < -1.0
    assert shapley_mc(l, permutations=20, rng=0, vocab_size=V)[3] < 0


def test_complementary_specialists_both_earn(task):
    l = stack(task, "specialist_a", "specialist_b")
    fit = em_fit(l)
    best_single = -l.mean(1).min()
    assert fit.loss < best_single - 0.5                         # the mixture beats either miner alone
    assert fit.weights.min() > 0.3
    assert leave_one_out(l, vocab_size=V).min() > 0.5           # each supplies what the other lacks


def test_shapley_sums_to_value_and_mc_approaches_exact(task):
    l = stack(task, "good", "tempered", "noise", "uniform")
    exact = shapley_exact(l, vocab_size=V)
    assert exact.sum() == pytest.approx(math.log(V) - mixture_loss(l, em_gate(l)))   # efficiency: Σφ = v(all)
    mc = shapley_mc(l, permutations=400, rng=np.random.default_rng(3), vocab_size=V)
    assert np.abs(mc - exact).max() < 0.1
    assert mc.sum() == pytest.approx(exact.sum())
    with pytest.raises(InputError, match="shapley_mc"):
        shapley_exact(np.full((MAX_EXACT_SHAPLEY + 1, 4), -1.0))


def test_single_miner_contribution_is_gain_over_uniform(task):
    l = stack(task, "good")
    gain = math.log(V) + task["good"].mean()
    assert leave_one_out(l, vocab_size=V)[0] == pytest.approx(gain)
    assert shapley_exact(l, vocab_size=V)[0] == pytest.approx(gain)


def test_logprob_checks():
    with pytest.raises(InputError, match="NaN"):
        em_gate([[0.0, np.nan]])
    with pytest.raises(InputError, match="cannot exceed 0"):
        mixture_loss([[-1.0, 0.5]], [1.0])
    with pytest.raises(InputError):
        em_gate([-1.0, -2.0])                                   # one dimension: which miner is which?
    with pytest.raises(InputError, match="weights"):
        mixture_loss([[-1.0], [-2.0]], [1.0, -1.0])
    l = as_logprobs([[-np.inf, -1.0], [-2.0, -np.inf]])        # zero-probability tokens are floored
    assert np.isfinite(mixture_loss(l, [0.5, 0.5]))
    assert as_logprobs(np.zeros((3, 2, 5))).shape == (3, 10)   # (K, B, T) flattens to (K, B·T)


# ---------------------------------------------------------------------- the Router


def test_router_tries_every_new_uid_and_forgets_gone_ones():
    router = Router(k=2, explore=0.0, rng=0)
    router.sync(range(6))
    tried = set()
    for _ in range(3):
        chosen = router.select()
        assert len(chosen) == 2 and len(set(chosen)) == 2
        tried.update(chosen)
        router.update({u: np.full(10, -1.0) for u in chosen})
    assert tried == set(range(6))                               # untried uids always go first
    assert 9 in router.select([*range(6), 9])                  # a newly registered uid is tried at once
    router.sync([0, 1, 2, 4, 5, 9])                            # uid 3 deregistered
    assert 3 not in router.gate and sum(router.gate.values()) == pytest.approx(1.0)
    for _ in range(20):
        assert 3 not in router.select()


def test_router_follows_the_gate_and_still_explores(task):
    miners = {0: task["good"], 1: task["tempered"], 2: task["noise"], 3: task["uniform"], 4: task["adversarial"]}
    rng = np.random.default_rng(5)

    def run(explore, steps=40):
        router = Router(k=2, explore=explore, rng=7, loo=False)
        router.sync(miners)
        picks = np.zeros(len(miners))
        for _ in range(steps):
            chosen = router.select()
            picks[chosen] += 1
            rows = rng.integers(0, len(task["good"]), 64)
            router.update({u: miners[u][rows] for u in chosen})
        return router, picks

    greedy, picks = run(explore=0.0)
    assert max(greedy.gate, key=greedy.gate.get) == 0
    assert max(greedy.gate[2], greedy.gate[4]) < min(0.1, greedy.gate[1])  # decays each time it is tried
    assert picks[0] > picks[2] and picks[0] > picks[4]
    _, picks = run(explore=1.0)
    assert picks.min() >= 8                                     # pure exploration: roughly uniform


def test_router_excludes_timeouts_and_invalid_answers(task):
    router = Router(k=4, explore=0.0, rng=0, shapley=True, vocab_size=V)
    router.sync([0, 1, 2, 3, 4])
    before = router.gate
    step = router.update({0: task["good"][:50], 1: None, 2: [np.nan] * 50, 3: task["tempered"][:49],
                          4: task["tempered"][:50]})
    assert step.failed == {1: "timeout", 2: "invalid", 3: "invalid"}
    assert step.responded == (0, 4)
    assert set(step.share) == set(step.loss) == set(step.loo) == set(step.shapley) == {0, 4}
    assert sum(step.share.values()) == pytest.approx(1.0)
    assert step.mixture_loss <= min(step.loss.values()) + 1e-9
    after = router.gate
    assert all(after[u] < before[u] for u in (1, 2, 3))        # failures lose gate mass to those that answered
    assert router.state(1).consecutive_failures == 1 and router.state(0).responded == 1
    nobody = router.update({1: None, 2: None})
    assert nobody.responded == () and nobody.share == {} and math.isnan(nobody.mixture_loss)


def test_router_resets_a_uid_taken_by_a_new_hotkey():
    router = Router(k=1, rng=0)
    router.sync([0, 1], hotkeys={0: "5Alice", 1: "5Bob"})
    router.update({0: [-1.0, -1.0]})
    assert router.state(0).queried == 1
    router.sync([0, 1], hotkeys={0: "5Carol", 1: "5Bob"})
    assert router.state(0).queried == 0 and router.state(0).hotkey == "5Carol"
    with pytest.raises(InputError, match="sync"):
        router.state(7)
    with pytest.raises(InputError):
        Router(k=0)
    assert sorted(Router(k=5, rng=0).select([3, 1])) == [1, 3]  # fewer uids than k: query them all
