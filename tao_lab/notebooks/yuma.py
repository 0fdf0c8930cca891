"""``notebooks/03_yuma_consensus.ipynb``: one epoch step by step, the explainer, kappa, bonds, Yuma3, liquid alpha.

Pure arrays through `tao_lab.consensus` and the offline `tao_lab.widgets.Explainer`: no chain, no
devnet. Every number the text quotes is printed by the cell below it (tests/notebooks/test_tutorial_yuma.py).
"""

CELLS = [
    ("md", """# 03 · Yuma consensus, step by step

Every tempo, the chain runs one **epoch** per subnet. It reads the validators' stake S and the
weights W they set on miners, and computes:

* consensus C: per miner, the weight a majority (kappa) of the stake supports;
* clipped weights: each weight cut down to C;
* validator trust VT: what is left of each validator's weights after clipping;
* incentive I: each miner's share of stake × clipped weight;
* bonds B and dividends D: each validator's stake in the miners it weights, and what that pays;
* emission E: the epoch's emission, half to miners by I, half to validators by D.

This notebook runs that epoch on hand-made subnets with `tao_lab.consensus.epoch`, which computes
in the chain's own fixed-point arithmetic: every u16 and every rao equals what subtensor stores.
No chain runs here: the notebook runs in well under a minute on a CPU."""),
    ("code", """# Parameters (papermill can override them)
epochs = 12    # epochs of the bonds simulations (sections 4 and 5); the text quotes the numbers for 12""", ["parameters"]),
    ("code", """import numpy as np
import pandas as pd

from tao_lab.consensus import EpochParams, epoch, normalize_weights, simulate

TAO = 10**9  # rao per TAO


def stored(rows, miners, n):
    \"\"\"Weight rows as `set_weights` stores them on chain: (uid, u16) pairs, max-upscaled so the
    largest is 65535. Zeros stay as explicit entries. `rows` maps validator uid -> weights on `miners`.\"\"\"
    out = [[] for _ in range(n)]
    for v, ws in rows.items():
        uids, values = normalize_weights(miners, [round(w * 65535) for w in ws])
        out[v] = list(zip(uids.tolist(), values.tolist()))
    return out"""),

    ("md", """## 1. One epoch on a hand-made subnet

Three validators (uids 0, 1, 2) with 450, 350 and 200 TAO of stake; four miners (uids 3 to 6)
with none. The validators hold permits from the previous epoch. Validators 0 and 1 roughly agree
but swap their top two miners. Validator 2 is the outlier: it puts 0.7 on miner 6.

`EpochParams()` holds subtensor's defaults: kappa 32 767 (0.499992 of the stake), bonds penalty
1, bonds moving average 0.9, original Yuma bonds. What the table below shows:

* **Consensus.** On miners 3 and 4, validators 0 and 1 disagree (0.4 against 0.3). Neither holds
  half the stake alone, so C is 0.3 on both. On miner 6, 80% of the stake gives 0.1, so C is 0.1.
* **Clipping and VT.** Validators 0 and 1 each lose 0.1 to clipping (VT 0.9). Validator 2's 0.7 on
  miner 6 is cut to 0.1, so it keeps 0.4 of its weight (VT 0.4).
* **Incentive.** I is 0.325, 0.325, 0.225 and 0.125 for miners 3 to 6.
* **Dividends.** Validator 2 holds 20% of the stake but gets 10% of the dividends (D 0.100).
* **Emission.** Of 1 TAO, the miners get half (by I) and the validators half (by D)."""),
    ("code", """n = 7
stake = [450 * TAO, 350 * TAO, 200 * TAO, 0, 0, 0, 0]      # rao per uid
miners = [3, 4, 5, 6]
W = {0: [0.4, 0.3, 0.2, 0.1],                              # validator uid -> weights on miners 3..6
     1: [0.3, 0.4, 0.2, 0.1],
     2: [0.1, 0.1, 0.1, 0.7]}                              # the outlier: 0.7 on miner 6
weights = stored(W, miners, n)
permits = [True, True, True, False, False, False, False]   # ValidatorPermit from the last epoch

r = epoch(stake, weights, bonds=None, permits=permits, params=EpochParams(), rao_emission=1 * TAO)

print("C  on miners 3..6:", " ".join(f"{c:.3f}" for c in r.consensus[3:]))
print("VT of validators 0..2:", " ".join(f"{t:.3f}" for t in r.validator_trust[:3]))
print("I  of miners 3..6:", " ".join(f"{i:.3f}" for i in r.incentive[3:]))
print("D  of validators 0..2:", " ".join(f"{d:.3f}" for d in r.dividends[:3]))
print(f"emission: miners {r.server_emission.sum() / TAO:.4f} TAO, "
      f"validators {r.validator_emission.sum() / TAO:.4f} TAO")
pd.DataFrame({
    "uid": range(n), "role": ["validator"] * 3 + ["miner"] * 4,
    "S": r.stake_weight, "C": r.consensus, "VT": r.validator_trust, "I": r.incentive, "D": r.dividends,
    "E miner (TAO)": r.server_emission / TAO, "E validator (TAO)": r.validator_emission / TAO,
}).round(4)"""),
    ("md", """The result also holds the intermediate matrices: `r.weights` (row-normalised W) and
`r.clipped_weights` (W̄ = min(W, C)). Rows are validators, columns miners 3 to 6:"""),
    ("code", """print("W (normalised):")
print(r.weights[:3, 3:].round(3))
print("W clipped at C:")
print(r.clipped_weights[:3, 3:].round(3))"""),

    ("md", """## 2. The explainer widget

`Explainer` runs the same `epoch` and draws it in seven steps: the weighted median per miner, the
clipping, VT, ranks and incentive, bonds, dividends and the emission split. Its sliders change
kappa, the bonds penalty and the bonds moving average; its checkboxes switch on Yuma3 and liquid
alpha. Every move reruns the epoch and updates the figures in place.

`focus=6` explains miner 6 first. In step 1, validators 0 and 1 (80% of the stake) give it 0.1 and
validator 2 gives 0.7; the dashed `1 − kappa` line, at half the stake, falls in a bar at 0.1, so C
is 0.1. The sentence above the figures says so. In an executed notebook without a kernel you see a
static copy of the widget."""),
    ("code", """from tao_lab.widgets import Explainer

ex = Explainer(stake, weights, permits=permits, focus=6)
print(ex.text.value)
ex"""),

    ("md", """## 3. Kappa: how much stake makes consensus

Consensus C on a miner is the largest weight that validators holding at least kappa of the
stake give it. Validator 2 (20% of the stake) over-weights miner 6. The epoch below runs with
kappa 0.1, 0.5 and 0.9:

* **kappa 0.1**: 20% of the stake is enough. Validator 2's 0.7 becomes consensus on miner 6, no
  weight is clipped (VT 1.0 for all), and miner 6's incentive rises from 0.125 to 0.220.
  Validator 2's dividends rise to its stake share, 0.200.
* **kappa 0.5**: as in section 1, its extra weight is clipped to 0.1.
* **kappa 0.9**: C is the weight 90% of the stake gives: the lowest weight, 0.1, on every miner.
  All four miners get the same incentive, 0.250, and every validator keeps 0.4 (VT 0.4).
  Every validator's clipped weights are then the same, so dividends follow stake again:
  validator 2 gets 0.200.

On chain kappa is a u16: 0.5 is stored as 32 768 here (the default is 32 767)."""),
    ("code", """rows = []
for kappa in (0.1, 0.5, 0.9):
    rk = epoch(stake, weights, None, permits, params=EpochParams(kappa=round(kappa * 65535)))
    rows.append({"kappa": kappa, "C miner 6": rk.consensus[6], "VT v0": rk.validator_trust[0],
                 "VT v1": rk.validator_trust[1], "VT v2": rk.validator_trust[2],
                 "I miner 3": rk.incentive[3], "I miner 6": rk.incentive[6], "D v2": rk.dividends[2]})
    print(f"kappa {kappa}: C on miners 3..6 = {' '.join(f'{c:.3f}' for c in rk.consensus[3:])}; "
          f"VT = {' '.join(f'{t:.3f}' for t in rk.validator_trust[:3])}; "
          f"I = {' '.join(f'{i:.3f}' for i in rk.incentive[3:])}; D of validator 2 = {rk.dividends[2]:.3f}")
pd.DataFrame(rows).round(3)"""),
    ("md", """The explainer's kappa slider does the same. `update` moves it from code (the figures of section 2
follow in a live notebook) and writes one sentence about the focused miner and validator. It agrees
with the kappa 0.1 row above: consensus on miner 6 rises from 0.10 to 0.70, validator 2's
dividends from 0.10 to 0.20."""),
    ("code", """ex.update(kappa=0.1, validator=2)
print(ex.text.value)"""),

    ("md", """## 4. Bonds over epochs: original Yuma and Yuma3

Dividends are not paid on this epoch's weights alone. Each validator holds **bonds** B in the
miners it weights, updated every epoch as an exponential moving average (EMA). With the default
bonds moving average 0.9, each epoch moves bonds 10% of the way (alpha 0.1) towards the new weights.

* **Original Yuma** bonds are stake-weighted and normalised per miner: the bonds on a miner add up
  to 1 over the validators, and D pays each validator its share of each miner's incentive.
* **Yuma3** (`EpochParams(yuma3=True)`; new subnets on chain start with it) keeps one EMA of each
  validator's own weights, between 0 and 1, not stake-weighted. Dividends weight it by stake.

The scenario: miner 3 is established, miner 4 is rising. Validator 1 (25% of the stake) moves all
its weight to miner 4 at epoch 2, validator 0 (60%) at epoch 4, validator 2 (15%) at epoch 6.
We set `bonds_penalty=0`, as subtensor's Yuma3 tests do: bonds then follow each validator's own
weights, not the clipped ones, so a validator can bond to a miner before consensus reaches it.

`simulate` runs the epochs and carries bonds and permits forward. The table shows each
validator's dividends divided by its stake share, D/S: 1.0 means it earns exactly its stake
share. What it shows:

* **Epochs 0 and 1**: everyone weights miner 3; every D/S is 1.000.
* **Epochs 2 and 3**: validator 1 has left miner 3, and miner 4 earns nothing yet (C = 0 there).
  It earns less than its share in both: 0.900 then 0.810 in original Yuma, 0.695 then 0.519 in Yuma3.
* **Epoch 4**: validator 0 moves, so miner 4 becomes the consensus (C = 1 there). In original
  Yuma, validator 1's early bond is the whole of miner 4's bonds column: it gets 0.929 of all
  dividends, 3.7 times its stake share, and validator 0, whose move made miner 4 the consensus,
  gets 0.118 times its share. In Yuma3 validator 1 gets 0.530 of the dividends (2.1 times its
  share), validator 0 0.783 times its share.
* **Last epoch**: the early mover is still paid 2.3 times its share in original Yuma, 1.13 times in
  Yuma3. The late mover, validator 2, catches up faster in Yuma3: D/S 0.815, against 0.468."""),
    ("code", """n = 5
stake = [600 * TAO, 250 * TAO, 150 * TAO, 0, 0]
miners = [3, 4]                                  # 3: established, 4: rising
moves = {1: 2, 0: 4, 2: 6}                       # validator uid -> the epoch it moves to miner 4


def weights_at(e, last):
    \"\"\"The weights stored at epoch e: all on miner 3 until a validator moves, then all on miner 4.\"\"\"
    return stored({v: [0.0, 1.0] if e >= moves[v] else [1.0, 0.0] for v in moves}, miners, n)


def d_over_s(sim):
    \"\"\"Per epoch, each validator's dividends over its stake share.\"\"\"
    return np.array([r.dividends[:3] / r.stake_weight[:3] for r in sim.results])


runs = {"original": simulate(stake, weights_at, epochs, params=EpochParams(bonds_penalty=0)),
        "Yuma3": simulate(stake, weights_at, epochs, params=EpochParams(bonds_penalty=0, yuma3=True))}
ratio = {name: d_over_s(sim) for name, sim in runs.items()}
table = pd.DataFrame({f"{name} v{v}": ratio[name][:, v] for name in runs for v in range(3)})
table.index.name = "epoch"
table.round(3)"""),
    ("code", """last = epochs - 1
print("C on miner 4 at epochs 2, 3, 4:", " ".join(f"{runs['original'].results[e].consensus[4]:.3f}" for e in (2, 3, 4)))
for name, sim in runs.items():
    d = ratio[name]
    print(f"{name}: validator 1 D/S at epochs 2, 3: {d[2, 1]:.3f}, {d[3, 1]:.3f}")
    print(f"{name}: epoch 4: validator 1 gets {sim.results[4].dividends[1]:.3f} of the dividends "
          f"(D/S {d[4, 1]:.3f}); validator 0 D/S {d[4, 0]:.3f}")
    print(f"{name}: last epoch ({last}): validator 1 D/S {d[last, 1]:.3f}; validator 2 (late) D/S {d[last, 2]:.3f}")
b = [r.new_bonds[0, 3] / 65535 for r in runs["Yuma3"].results[:4]]
print("Yuma3 bond of validator 0 on miner 3, epochs 0-3:", " ".join(f"{x:.3f}" for x in b))
b = [r.new_bonds[0, 3] / 65535 for r in runs["original"].results[:4]]
print("original bond of validator 0 on miner 3, epochs 0-3:", " ".join(f"{x:.3f}" for x in b))"""),
    ("md", """The last two lines show the bonds themselves (stored as u16, shown here as u16 / 65535).
Validator 0's Yuma3 bond on miner 3 grows as 1 − 0.9^(e+1): 0.100, 0.190, 0.271, 0.344. Original
Yuma stores each miner's bonds column scaled so its largest entry is 65535, so validator 0's bond
shows 1.000 from the first epoch."""),

    ("md", """## 5. Liquid alpha (Yuma3 only)

With `liquid_alpha=True`, Yuma3 picks one EMA alpha per (validator, miner) instead of the fixed
0.1. It lies between alpha low and alpha high (defaults 0.7 and 0.9), on a sigmoid of how far the
weight moves: how far a weight is above consensus when a bond grows, how far the bond falls when it
shrinks. The same scenario as section 4, Yuma3 with and without liquid alpha:

* **The alphas at epoch 2**, when validator 1 has just moved: on an entry where the weight sits at
  consensus (validators 0 and 2 on miner 3) alpha is 0.701, next to alpha low. Validator 1's sale of
  miner 3 and its purchase of miner 4 are large moves, so alpha is near alpha high there: 0.897
  and 0.899.
* **Bonds follow weights within two epochs.** Validator 2's bond on miner 4 after it moves is
  0.701, 0.911 with liquid alpha, against 0.100, 0.190 with the fixed alpha.
* **Dividends follow too.** The early mover loses its miner-3 dividends at once (D/S 0.125 at
  epoch 2). Its premium when miner 4 takes over is smaller (1.49 times its share at epoch 4) and
  gone by the last epoch, where every D/S is within 0.01 of 1."""),
    ("code", """runs["Yuma3 + liquid alpha"] = simulate(stake, weights_at, epochs,
                                       params=EpochParams(bonds_penalty=0, yuma3=True, liquid_alpha=True))
ratio["Yuma3 + liquid alpha"] = d_over_s(runs["Yuma3 + liquid alpha"])

alphas = runs["Yuma3 + liquid alpha"].results[2].liquid_alphas[:3, 3:]
print("liquid alphas at epoch 2 (rows validators 0-2, columns miners 3, 4):")
print(alphas.round(3))
for name in ("Yuma3", "Yuma3 + liquid alpha"):
    b = [r.new_bonds[2, 4] / 65535 for r in runs[name].results[6:9]]
    d = ratio[name]
    print(f"{name}: validator 2's bond on miner 4, epochs 6-8: {' '.join(f'{x:.3f}' for x in b)}")
    print(f"{name}: validator 1 D/S at epoch 2: {d[2, 1]:.3f}, at epoch 4: {d[4, 1]:.3f}; "
          f"largest |D/S - 1| at the last epoch: {np.abs(d[-1] - 1).max():.3f}")
pd.DataFrame({f"{name} v{v}": ratio[name][:, v] for name in ("Yuma3", "Yuma3 + liquid alpha")
              for v in range(3)}).rename_axis("epoch").round(3)"""),

    ("md", """## Exercises

1. In section 3, validator 2 alone decides consensus on miner 6 at kappa 0.1 but not at 0.5.
   What is the largest kappa (in steps of 0.01) at which its 0.7 is still consensus? Why that value?
2. Run section 4 again with the default bonds penalty (`bonds_penalty=65535`). Does validator 1
   still gain from moving early, in original Yuma or in Yuma3?

The solutions are in the collapsed cells below (click the `...` to open them)."""),
    ("code", """# Solution 1: C is the largest weight that validators holding at least kappa of the stake give.
# Only validator 2 (0.2 of the stake) gives 0.7, so its 0.7 is consensus while kappa <= 0.2.
stake1 = [450 * TAO, 350 * TAO, 200 * TAO, 0, 0, 0, 0]
weights1 = stored(W, [3, 4, 5, 6], 7)

def consensus_on_6(kappa):
    return epoch(stake1, weights1, None, permits, params=EpochParams(kappa=round(kappa * 65535))).consensus[6]


top = max(k / 100 for k in range(101) if consensus_on_6(k / 100) > 0.5)
print(f"largest kappa at which validator 2's 0.7 is consensus on miner 6: {top:.2f}")""", ["solution"]),
    ("code", """# Solution 2: with bonds penalty 1, bonds follow the clipped weights. Miner 4's C is 0 until
# validator 0 moves, so validator 1's early weight there builds no bond: no early-mover premium.
for name, yuma3 in (("original", False), ("Yuma3", True)):
    d = d_over_s(simulate(stake, weights_at, epochs, params=EpochParams(yuma3=yuma3)))
    print(f"{name}, bonds penalty 1: epoch 4 D/S validator 0 {d[4, 0]:.3f}, validator 1 {d[4, 1]:.3f}")""",
     ["solution"]),

    ("md", """Next: `06_attack_lab` runs cheaters against Yuma on a live devnet; `docs/consensus.md`
describes `epoch` and what it is checked against; `docs/explainer.md` the widget."""),
]
