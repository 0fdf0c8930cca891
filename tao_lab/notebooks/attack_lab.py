"""``notebooks/06_attack_lab.ipynb``: the adversaries of `tao_lab.scenarios`, what Yuma does to each, the copy guard."""

CELLS = [
    ("md", """# 06 · Attack lab: cheaters against Yuma consensus

The lessons that matter most about Yuma consensus are about people who cheat. Each section below
runs one scenario from `tao_lab.scenarios` on its own fresh devnet: real miners and validators, real
transport, real chain. Then it reads what each neuron **earned over the run** (its emission, in
TAO) and compares the cheater with the honest neurons.

A `Scenario` is plain data (groups of miners and validators, their behaviours, hyperparameters,
epochs and a seed), so every run here can be repeated, swept over a grid (`sweep.ipynb`) or run
from a terminal (`tao-lab scenario copier --guard`). Each run takes well under a minute on a laptop's CPU."""),
    ("code", """# Parameters (papermill can override them)
epochs = 6     # epochs per scenario, after every neuron serves
seed = 0""", ["parameters"]),
    ("code", """from tao_lab.scenarios import Scenario, build_scenario, library

def show(result):
    \"\"\"What each neuron earned over the run, as a table and a chart.\"\"\"
    display(result.table[["name", "role", "behaviour", "uid", "I", "D", "emission", "miner_share"]].round(4))
    return build_scenario(result.table, title=f"{result.scenario.name}: TAO earned over {result.scenario.epochs} epochs")"""),

    ("md", """## 1. A noise miner

`behaviour="noise"` answers every question with a random probability distribution. The validator
scores each miner by its share of a mixture-of-experts fit of the answers, so noise gets almost no
share, almost no weight, and almost no emission: **the noise miner earns under 5% of what the
miners earn**, while the two honest miners (trained for 60 steps) share the rest."""),
    ("code", """noise = library("noise", epochs=epochs, seed=seed).run()
print(f"the noise miner's share of the miners' emission: {noise.share('noise'):.1%}")
show(noise)"""),

    ("md", """## 2. The copier, and the copy guard

A **copier** runs no model of its own: it relays each question to another miner's axon
(`honest0` here) and returns that miner's answer, signed as itself. Nothing in the protocol stops
it. To a validator that scores answers, the copy is as good as the original, so the two share
what `honest0` alone would have earned.

The **copy guard** (`Validator(dedupe=True)`, a validator option) fails an answer that repeats
another miner's answer of the same step, and credits only the fastest. A relay is always slower
than the miner it copies, so with the guard **the copier earns clearly less than the miner it
copies** (under a quarter of it here)."""),
    ("code", """unguarded = library("copier", epochs=epochs, seed=seed).run()
guarded = library("copier", guard=True, epochs=epochs, seed=seed).run()
for result in (unguarded, guarded):
    copier, copied = result.earned("copier0"), result.earned("honest0")
    print(f"{result.scenario.name:15s} copier0 earned {copier:.4f} TAO, honest0 {copied:.4f} TAO "
          f"(copier/honest0 = {copier / copied:.2f})")
show(guarded)"""),

    ("md", """## 3. A sybil group

One coldkey registers three hotkeys of **untrained** miners against one trained honest miner.
Registering more hotkeys buys more uids, not more quality: the validator pays for each answer's
contribution, so **the trained miner out-earns the whole sybil group**."""),
    ("code", """sybil = library("sybil", epochs=epochs, seed=seed).run()
print(f"sybil group: {sybil.share('sybil'):.1%} of the miners' emission; the honest miner: {sybil.share('honest'):.1%}")
show(sybil)"""),

    ("md", """## 4. A colluding validator

Two honest validators and one **colluder** with the same stake. The colluder gives all its
weight to a friend, an untrained miner. Yuma consensus takes, for each miner, the weight that a
majority (`kappa`, half by default) of the stake supports, and clips each validator's weight to
it. One third of the stake is not a majority: **the friend's weight is clipped away and it earns
almost nothing**, and the colluder's own dividends fall, because its bonds are in a miner the
consensus does not pay."""),
    ("code", """collusion = library("collusion", epochs=epochs, seed=seed).run()
table = collusion.table.set_index("name")
print(f"friend0 (backed by the colluder): {collusion.share('friend'):.1%} of the miners' emission")
print(f"dividends: honest validators {table.loc['validator0', 'D']:.3f} and {table.loc['validator1', 'D']:.3f}, "
      f"colluder {table.loc['colluder0', 'D']:.3f}")
show(collusion)"""),

    ("md", """## 5. A weight copier

A **weight copier** scores nothing: it copies the consensus weights it reads on chain and sets
them as its own. Its weights agree with the consensus, so Yuma pays it dividends **not far below
an honest validator's** (over half of theirs here; less in short runs, as its bonds build up epoch
by epoch): copying weights is cheap, and it works. Commit-reveal
(`commit_reveal_weights_enabled`) is the chain's answer: weights stay hidden until they are
revealed a tempo later, so a copier can only copy stale ones (`library("weight_copier",
commit_reveal=True)` runs it)."""),
    ("code", """copycat = library("weight_copier", epochs=epochs, seed=seed).run()
table = copycat.table.set_index("name")
print(f"dividends: honest {table.loc['validator0', 'D']:.3f} and {table.loc['validator1', 'D']:.3f}, "
      f"weight copier {table.loc['copycat0', 'D']:.3f}")
show(copycat)"""),

    ("md", """## Exercises

1. Give the colluding side a majority: `library("collusion", colluders=3)` puts three colluders,
   each with the stake of an honest validator, against two honest ones. What does the friend earn now?
2. Run the copier scenario with two copiers and no guard (`library("copier", copiers=2)`). Who
   loses what the copiers gain?

The solutions are in the collapsed cells below (click the `...` to open them)."""),
    ("code", """# Solution 1: with more than kappa of the stake behind it, the friend's weight *is* the consensus.
majority = library("collusion", colluders=3, epochs=epochs, seed=seed).run()
print(f"friend0 with a colluding majority: {majority.share('friend'):.1%} of the miners' emission "
      f"(with one colluder: {collusion.share('friend'):.1%})")""", ["solution"]),
    ("code", """# Solution 2: unguarded, the two copiers split honest0's mixture share with it (three ways);
# with the guard (section 2) a copy earns nothing and honest0 keeps its share.
r = library("copier", copiers=2, epochs=epochs, seed=seed).run()
print(f"no guard: honest0 {r.earned('honest0'):.4f}, honest1 {r.earned('honest1'):.4f}, "
      f"copiers {r.share('copier'):.1%} of the miners' emission")""", ["solution"]),
]
