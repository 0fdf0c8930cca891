"""``notebooks/04_mixture_of_experts.ipynb``: specialists against a generalist, learned routing, contribution scoring."""

CELLS = [
    ("md", """# 04 · A decentralized mixture of experts

Bittensor's promise is a **mixture of experts** that nobody owns: miners specialise, validators
learn whom to ask and pay each miner for the value it adds to the mixture. This notebook builds
one on a laptop: two **specialists** (one trained only on English prose, Python's documentation;
one only on Python source code) and a **generalist** trained on both, answering a validator whose
questions mix prose and code."""),
    ("code", """# Parameters (papermill can override them)
pretrain = 60      # training steps of each miner before it serves
epochs = 4
block_time = 0.25""", ["parameters"]),
    ("code", """from tao_lab import Lab
from tao_lab.tasks import NextTokenTask, pydoc_text, stdlib_source

prose, code = pydoc_text(), stdlib_source()
# the validator's questions: prose and code in alternating 2 kB chunks
chunks = lambda text: [text[i:i + 2048] for i in range(0, len(text), 2048)]
mixed = "".join(p + c for p, c in zip(chunks(prose), chunks(code)))
tasks = {"prose": NextTokenTask(text=prose, context=64), "code": NextTokenTask(text=code, context=64),
         "mixed": NextTokenTask(text=mixed, context=64)}
print({"prose": f"{len(prose):,} bytes", "code": f"{len(code):,} bytes", "mixed": f"{len(mixed):,} bytes"})"""),

    ("md", """## 1. Three experts

Each miner trains on its own text only (`task=`), then serves. They run as threads here, since a
`Task` object is handed to them directly."""),
    ("code", """lab = Lab(block_time=block_time, mode="thread")
lab.subnet(tempo=10)
lab.add_miners(1, pretrain=pretrain, task=tasks["prose"], group="prose")
lab.add_miners(1, pretrain=pretrain, task=tasks["code"], group="code", seed=1)
lab.add_miners(1, pretrain=pretrain, task=tasks["mixed"], group="generalist", seed=2)
lab.wait()[["name", "uid", "state"]]"""),

    ("md", """## 2. The validator asks about both

It asks all three miners every step (`k=3`, no exploration) about mixed text, and fits the mixture
with an EM gate. Each answer is scored three ways:

- **share**: the answer's weight in the fitted mixture (the validator's default reward);
- **leave-one-out**: how much worse the mixture does without it (nats per byte);
- **Shapley value**: its average marginal contribution over every order of adding miners
  (exact for a few miners; `shapley=True` turns it on)."""),
    ("code", """lab.add_validators(1, stake=1_000, k=3, explore=0.0, task=tasks["mixed"], shapley=True, batch_size=64)
lab.wait()
lab.run(epochs=epochs)
validator = lab.supervisor._neurons["validator0"].obj
step = validator.last_step
names = {lab.uid(m): m for m in lab.miners}
rows = [(names[u], step.loss[u], step.share[u], step.loo[u], step.shapley[u]) for u in step.uids if u in step.loss]
import numpy as np
import pandas as pd
table = pd.DataFrame(rows, columns=["miner", "loss", "share", "leave-one-out", "shapley"]).set_index("miner")
print(f"mixture loss {step.mixture_loss:.3f} nats/byte; best single miner {table['loss'].min():.3f}: "
      f"the mixture is better by {table['loss'].min() - step.mixture_loss:.3f}")
print(f"Shapley values sum to {table['shapley'].sum():.3f} = log 256 - mixture loss = "
      f"{np.log(256) - step.mixture_loss:.3f}")
print(f"every leave-one-out is under half of that miner's Shapley value: "
      f"{bool((table['leave-one-out'] < 0.5 * table['shapley']).all())}")
table.round(3)"""),

    ("md", """The **mixture beats every single miner**, the generalist included: on each byte it leans on
whichever expert knows that kind of text. **Leave-one-out** is small for every miner, under half
of its Shapley value: the other two cover most of what any one knows, so removing one costs
little. The **Shapley values** split the whole gain over a uniform guess (log 256 − the mixture's
loss) among the three; each miner alone is far better than guessing, so each gets a large part.
The **share** rewards whoever the gate leans on in this batch, and which expert that is changes
from batch to batch: run the cell again after a few more epochs."""),

    ("md", """## 3. Learned routing

With many miners a validator cannot ask everyone. Its `Router` keeps a gate weight per miner (a
moving average of the mixture shares) and asks the top `k` of them, plus new uids and a little
exploration. After these steps, the gate says whom it would ask first:"""),
    ("code", """gate = {names[u]: round(float(w), 3) for u, w in validator.router.gate.items() if u in names}
print("gate weights:", gate)
print("asked first with k=2:", sorted(gate, key=gate.get, reverse=True)[:2])"""),

    ("md", """## 4. What the chain pays

The validator's weights on chain are its moving-average scores; Yuma consensus turns them into
incentive. Each expert that adds something earns."""),
    ("code", """mg = lab.metagraph()
v = lab.uid("validator0")
for m in lab.miners:
    print(f"{m:12s} weight {mg.W[v, lab.uid(m)]:.3f}  incentive {mg.I[lab.uid(m)]:.3f}")"""),

    ("md", """## Exercises

1. Ask only about code (`task=tasks["code"]` for a second validator, `group="coder"`). Whose share
   grows?
2. Which of the three scores would a copier of the code specialist get under each rule? (Share
   splits; leave-one-out gives both near zero, since either one alone covers the other.)

The solutions are in the collapsed cells below."""),
    ("code", """# Solution 1: on code alone, the code specialist carries the mixture.
lab.add_validators(1, stake=1_000, k=3, explore=0.0, task=tasks["code"], group="coder", batch_size=64)
lab.wait()
lab.run(epochs=2)
coder = lab.supervisor._neurons["coder0"].obj.last_step
print({names[u]: round(float(coder.share[u]), 3) for u in coder.uids if u in coder.share})""", ["solution"]),
    ("code", """# Solution 2: the rules on a made-up step where 'copy' repeats 'code' exactly.
import numpy as np
from tao_lab.neurons.router import em_fit, leave_one_out

rng = np.random.default_rng(0)
code_lp = np.log(rng.uniform(0.2, 0.9, 64))
prose_lp = np.log(rng.uniform(0.01, 0.3, 64))
answers = np.stack([prose_lp, code_lp, code_lp])        # prose, code, copy of code
print("share:", em_fit(answers).weights.round(3), " leave-one-out:", leave_one_out(answers, vocab_size=256).round(3))""",
     ["solution"]),
    ("code", "lab.close()"),
]
