"""``notebooks/02_miners_and_validators.ipynb``: models, devices, training while serving, routing and scoring."""

CELLS = [
    ("md", """# 02 · Miners and validators

A **miner** serves a model behind an axon: a small HTTP server that answers signed requests. A
**validator** routes queries to miners, scores their answers and puts its scores on chain as
weights. This notebook looks inside both: what a miner runs and where, how a validator decides
whom to ask and how much each answer is worth, and how a miner that keeps training earns more as it
learns.

Every miner here serves a tiny byte-level language model (a Llama built from a config, a few hundred
thousand parameters) trained on Python's own documentation; the validator asks each miner for the
next byte after a batch of contexts and scores it on the byte that really comes next."""),
    ("code", """# Parameters (papermill can override them)
pretrain = [0, 20, 60]   # training steps of each miner before it serves
epochs = 4
block_time = 0.25""", ["parameters"]),

    ("md", """## 1. Miners: a model, a device, an axon

`add_miners` registers each miner's hotkey, builds its model, trains it `pretrain` steps, starts
its axon on 127.0.0.1 and publishes the axon on chain (`serve_axon`). Where CUDA GPUs exist, the
lab runs neurons as processes and gives the miners the GPUs round-robin, one each
(`device="cuda:1"` pins one); without GPUs they run on the CPU, here in threads of this kernel."""),
    ("code", """import torch
from tao_lab import Lab

print(f"CUDA GPUs: {torch.cuda.device_count()}")
lab = Lab(block_time=block_time)
lab.subnet(tempo=10)
lab.add_miners(len(pretrain), pretrain=pretrain)
lab.wait()[["name", "role", "uid", "state", "device"]]"""),
    ("code", """mg = lab.metagraph()
for name in lab.miners:
    axon = mg.axons[lab.uid(name)]
    print(f"{name}: uid {lab.uid(name)}, axon {axon.ip}:{axon.port} on chain, serving: {axon.is_serving}")"""),

    ("md", """## 2. A validator: route, score, weigh

Each step, the validator picks `k` miners (its router prefers those its gate rates highly, tries
new uids first and explores at random), sends them a batch of contexts, and fits a **mixture of
experts** over their answers: the weights of the mixture that best predicts the true next bytes.
A miner's score is its **share** of that mixture: an answer that adds nothing to the others gets
nothing, a copy of another miner's answer splits that miner's share. A moving average of the
shares becomes the validator's weights on chain."""),
    ("code", """lab.add_validators(1, stake=1_000, k=3)
lab.wait()
mg = lab.run(epochs=epochs)
mg[["uid", "S", "I", "D", "E"]].round(4)"""),
    ("code", """validator = lab.supervisor._neurons["validator0"].obj   # a thread-mode neuron: the object itself
last = validator.last_step
share = {m: float(last.share.get(lab.uid(m), 0.0)) for m in lab.miners}
loss = {m: float(last.loss.get(lab.uid(m), float("nan"))) for m in lab.miners}
for m in lab.miners:
    print(f"{m} (pretrained {pretrain[lab.miners.index(m)]} steps): loss {loss[m]:.3f} nats/byte, "
          f"mixture share {share[m]:.3f}")
best = max(share, key=share.get)
print(f"the best-trained miner has the largest share: {best == lab.miners[-1]}")"""),

    ("md", """## 3. What the validator saw: its events

Every step leaves events: `route` (which miners it asked), `response` (each answer, with its
latency), `timeout` (a miner that did not answer in time, or whose answer failed a check), `score`
(the moving-average score) and `weights` (what it set on chain). `lab.events` gathers them from
every validator, in threads or processes, live; the dashboard's routing and scores panels draw
them."""),
    ("code", """events = lab.events.to_pandas()
print(events.groupby("kind").size().to_dict())
latency = events[events["kind"] == "response"].groupby("miner_uid")["latency_s"].median() * 1000
print("median answer latency per miner uid (ms):", {int(u): round(float(ms), 1) for u, ms in latency.items()})"""),
    ("code", """mg = lab.metagraph()
v = lab.uid("validator0")
weights = {m: round(float(mg.W[v, lab.uid(m)]), 3) for m in lab.miners}
print(f"validator0's weights on chain: {weights}")
print(f"incentive follows them: {[round(float(mg.I[lab.uid(m)]), 3) for m in lab.miners]}")"""),

    ("md", """## 4. Training while serving

`train=n` makes a miner train `n` steps on its own data after every request it answers, so what it
earns follows what it learns. Here an untrained miner learns on the job next to the others. A few
epochs give it a few dozen steps: not yet enough to catch miners trained for 60 steps before they
served. `lab.run(epochs=30)` and `lab.dashboard()` show it climb."""),
    ("code", """lab.add_miners(1, pretrain=0, train=4, group="learner")
lab.wait()
learner = lab.supervisor._neurons["learner0"].obj
first = learner.trained
lab.run(epochs=epochs)
print(f"learner0 trained {learner.trained - first} steps while serving")
lab.neurons()[["name", "uid", "S", "I", "E"]].round(4)"""),

    ("md", """## Exercises

1. Add a miner whose "model" is a plain function that always answers the same distribution
   (`model=lambda ctx: torch.zeros(len(ctx), 256)` in thread mode). What share does the validator
   give it?
2. A validator with `k=1` asks one miner per step. How does that change what the validator learns
   about each miner, and how fast?

The solutions are in the collapsed cells below."""),
    ("code", """# Solution 1: a constant answer adds nothing the trained miners do not already say better.
lab.add_miners(1, model=lambda ctx: torch.zeros(len(ctx), 256), group="constant", mode="thread")
lab.wait()
lab.run(epochs=2)
last = validator.last_step
print(f"constant0's mixture share in the last step: {float(last.share.get(lab.uid('constant0'), 0.0)):.3f}")""",
     ["solution"]),
    ("code", """# Solution 2: with k=1 each step scores one miner, so each score updates k/n as often: slower to learn.
print(f"validator0 asks k={validator.router.k} miners a step out of {len(lab.miners)}; "
      f"with k=1 each miner would be scored about {len(lab.miners)}x less often")""", ["solution"]),
    ("code", """lab.close()"""),
]
