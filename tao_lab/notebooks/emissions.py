"""``notebooks/05_emissions_and_staking.ipynb``: where emission goes, delegate take, how stake moves outcomes.

Runs on the embedded devnet through the client only (no neuron processes): hotkeys are registered,
staked and set weights directly, and `Subtensor.advance` makes the blocks up to each epoch at once.
"""

CELLS = [
    ("md", """# 05 · Emissions and staking

Every block a subnet emits new stake. Every tempo, Yuma consensus decides who gets it. This
notebook follows one subnet's emission to the people who receive it: the subnet owner, the miners
(incentive I), the validators (dividends D) and the nominators who stake to a validator. Then it
shows how stake changes the outcome.

There are no miner or validator processes here. Each hotkey is registered, staked and sets weights
directly through `Subtensor`. The devnet makes blocks on demand: `sub.next_epoch(netuid)` makes
blocks up to the one in which the subnet's next epoch runs (`LastEpochBlock + Tempo`), so each
measurement covers exactly one epoch. Everything is read back
from the chain: the `Metagraph` (S, I, D, C, VT, E) and each hotkey's stake in rao
(1 TAO = 1e9 rao).

**The devnet's model.** The devnet runs a documented simplification of subtensor (see
`docs/devnet.md`). Each subnet emits a fixed 1 TAO of alpha per block: no halving, no root share,
no split across subnets by TAO flows. Stake uses subtensor's *stable* mechanism: 1 TAO staked buys
1 alpha, and 1 alpha unstaked pays 1 TAO. On mainnet's dynamic subnets, alpha is bought and sold
through the subnet's pool at a price, with slippage. The split of one subnet's emission (owner cut,
miners, validators, delegate take) is a simplified model of subtensor's coinbase
(`tao_lab.consensus.emission`); root stake and child hotkeys are not modelled."""),
    ("code", """# Parameters (papermill can override them)
tempo = 10     # blocks per epoch""", ["parameters"]),
    ("md", """## The cast

Each dev account is one coldkey (it owns TAO and signs staking and registration). Each neuron is a
hotkey owned by a coldkey.

| coldkey | role here | hotkeys |
|---|---|---|
| Alice | sudo key: sets the tempo | none |
| Bob | subnet owner | `owner`, uid 0 (registering the subnet registers it) |
| Charlie | miner operator | `miner0`, `miner1`, `miner2` |
| Dave | validator, 2000 TAO of his own stake | `dave` |
| Eve | validator, 1000 TAO of her own stake | `eve` |
| Ferdie | nominator (section 3) | none: he stakes to Eve's hotkey |

Both validators set the same weights: 0.5, 0.3 and 0.2 on the three miners. The first epoch hands
out validator permits; the second is the first with weights."""),
    ("code", """import pandas as pd
from tao_lab import Devnet, Metagraph, Subtensor, Wallet
from tao_lab.consensus import split_block_emission

TAO = 10**9                                    # 1 TAO = 1e9 rao
ST = "SubtensorModule"
dev = Devnet(instant=True).start()             # a block as soon as a transaction arrives
sub = Subtensor(dev)

alice, bob, ferdie = Wallet.dev("//Alice"), Wallet.dev("//Bob"), Wallet.dev("//Ferdie")
netuid = sub.register_subnet(bob)              # Bob's hotkey becomes uid 0
sub.set_hyperparameter(alice, netuid, "tempo", tempo)

miners = [Wallet.dev("//Charlie", f"//Charlie//miner{i}") for i in range(3)]  # one coldkey, three hotkeys
dave = Wallet.dev("//Dave", "//Dave//validator")
eve = Wallet.dev("//Eve", "//Eve//validator")
for m in miners:
    sub.burned_register(m, netuid)
for v, stake in ((dave, 2000), (eve, 1000)):
    sub.burned_register(v, netuid)
    sub.add_stake(v, netuid, stake * TAO)      # the coldkey stakes to its own hotkey

hotkeys = {"owner": bob, "miner0": miners[0], "miner1": miners[1], "miner2": miners[2], "dave": dave, "eve": eve}
uid = {name: sub.uid(netuid, w) for name, w in hotkeys.items()}
M = [uid["miner0"], uid["miner1"], uid["miner2"]]
same_weights = {uid["miner0"]: 0.5, uid["miner1"]: 0.3, uid["miner2"]: 0.2}

def next_epoch():
    \"\"\"Make blocks up to the one in which the subnet's next epoch runs; returns that block.\"\"\"
    head = sub.next_epoch(netuid)
    assert sub.query(ST, "LastMechansimStepBlock", [netuid]) == head   # the epoch ran in the last block
    return head

next_epoch()                                   # hands out validator permits
for v in (dave, eve):
    sub.set_weights(v, netuid, same_weights)   # signed by the validator's hotkey
next_epoch()                                   # the first epoch with weights

def table(mg):
    \"\"\"The metagraph, one row per hotkey, by name.\"\"\"
    df = mg.to_pandas().set_index(pd.Index(list(uid), name="hotkey"))
    return df[["uid", "S", "I", "D", "C", "VT", "E", "validator_permit"]].round(4)

hp = sub.hyperparameters(netuid)
print(f"subnet {netuid}, owned by Bob: tempo {hp['tempo']}, kappa {hp['kappa']} / 65535, "
      f"max_allowed_validators {hp['max_allowed_validators']}, yuma3_enabled {hp['yuma3_enabled']}")
table(Metagraph(netuid).sync(sub))"""),

    ("md", """## 1. One epoch's emission, and where it goes

The subnet emits 1 TAO per block, so `tempo` TAO per epoch. `split_block_emission` (in
`tao_lab.consensus`) is the devnet's own split of each block. The owner's cut (`SubnetOwnerCut`,
11796/65535, about 18%) comes off first. Half of the rest goes to the miners and half to the
validators.

The cell below runs one epoch and reads how much each hotkey's stake grew. The owner's cut lands
on Bob's hotkey. The miners' half is shared by incentive I, the validators' half by dividends D.
The three parts add up to the epoch's emission, less a few rao lost to rounding down. The
metagraph's E covers the miners' and validators' parts (to within a few rao), not the owner's.

Emission is paid as stake (alpha) on a hotkey, not as free TAO: Charlie's free balance does not
change."""),
    ("code", """block_split = split_block_emission(sub.query(ST, "BlockEmission"))   # what one block pays, in rao
print(f"one block: {block_split}")

before = Metagraph(netuid).sync(sub)
charlie_free = sub.balance(miners[0])
at = next_epoch()
after = Metagraph(netuid).sync(sub)
gain = after.stake_rao - before.stake_rao      # rao each hotkey gained this epoch
V = [uid["dave"], uid["eve"]]

per_block = sub.query(ST, "BlockEmission")     # rao each block
emitted = tempo * per_block
parts = {"owner": int(gain[uid["owner"]]), "miners": int(gain[M].sum()), "validators": int(gain[V].sum())}
labels = {"owner": "owner (Bob's hotkey)", "miners": "miners (incentive)", "validators": "validators (dividends)"}
print(f"the epoch ran at block {at}, {at - before.last_epoch_block} blocks after the one before")
print(f"epoch emission: {emitted / TAO:.9f} TAO ({tempo} blocks × {per_block / TAO:g} TAO)")
for name, rao in parts.items():
    print(f"  {labels[name]:24s} {rao / TAO:12.9f} TAO = {rao / emitted:.2%}")
total = sum(parts.values())
print(f"  {'sum':24s} {total / TAO:12.9f} TAO: {emitted - total} rao short of the emission (rounding)")
print(f"owner's cut = tempo × one block's cut: {parts['owner'] == tempo * block_split.owner}")
print(f"sum of E (metagraph): {after.emission_rao.sum() / TAO:.9f} TAO; miners + validators: "
      f"{(parts['miners'] + parts['validators']) / TAO:.9f} TAO")
print(f"Charlie's free balance changed by {sub.balance(miners[0]) - charlie_free} rao")
table(after)"""),

    ("md", """## 2. Stake decides how much each validator earns

A validator's weights count only if its hotkey holds a validator permit. Permits go to the
`max_allowed_validators` hotkeys (64 here) with the most stake at each epoch. On this small
subnet every hotkey that held stake at the last epoch has one: the miners too, since their first
incentive. The miners set no weights, so they earn no dividends.

Dave and Eve set the same weights, so Yuma3 (on for this subnet) gives them the same bonds B, and
it pays each validator in proportion to its stake × its bonds × the miners' incentive. Dave has
twice Eve's stake and earns twice her dividends."""),
    ("code", """for name in ("dave", "eve"):
    u = uid[name]
    print(f"{name:5s} S {before.S[u]:9.3f} TAO   D {after.D[u]:.4f}   earned {gain[u] / TAO:.6f} TAO   "
          f"permit {after.validator_permit[u]}")
d, e = uid["dave"], uid["eve"]
print(f"Dave / Eve: stake ratio {before.S[d] / before.S[e]:.3f}, dividend ratio {after.D[d] / after.D[e]:.3f}, "
      f"TAO ratio {gain[d] / gain[e]:.3f}")
print(f"dividends of the miners: {after.D[M].sum():.4f}")"""),

    ("md", """## 3. Nominators and the delegate take

Ferdie has no hotkey on the subnet. He stakes 1000 TAO to Eve's hotkey: he **nominates** Eve.
A hotkey's stake is a pool of shares: Eve and Ferdie each own shares, and S is the pool's value.

Eve's hotkey now has about as much stake as Dave's, so it earns about as much. Each epoch, what a
validator hotkey earns is split in two. The hotkey's owner (Eve) keeps the **delegate take**
(`Delegates`, 11796/65535, about 18%) as new shares. The rest goes into the pool and raises every
share's value, so Eve and Ferdie gain in proportion to their shares. Per TAO staked, Ferdie earns
about 82% of what the hotkey earns. Eve earns more per TAO than the hotkey, because she also takes
18% of Ferdie's part.

The validators' half of the emission is the same every epoch. Ferdie's stake does not make it
larger, it changes how it is shared: Eve's hotkey earns more, Dave earns less. Eve's own income
falls too: 1000 more TAO now share the validators' half, and her take on Ferdie's part makes up
only some of that.

The devnet models the pool, the take and the nominators' payout. It does not model take changes:
every hotkey has the default 18%."""),
    ("code", """def owned(coldkey, hotkey):
    \"\"\"rao of stake that ``coldkey`` owns in ``hotkey``'s pool: its shares × pool value / all shares.\"\"\"
    shares = sub.query(ST, "Alpha", [hotkey.hotkey_ss58, coldkey.coldkey_ss58, netuid])["bits"]
    total = sub.query(ST, "TotalHotkeyShares", [hotkey.hotkey_ss58, netuid])["bits"]
    return shares * sub.stake(hotkey.hotkey_ss58, netuid) // total if total else 0

sub.add_stake(ferdie, netuid, 1000 * TAO, hotkey=eve.hotkey_ss58)   # signed by Ferdie's coldkey
pool0, eve0, ferdie0 = sub.stake(eve.hotkey_ss58, netuid), owned(eve, eve), owned(ferdie, eve)
dave0 = sub.stake(dave.hotkey_ss58, netuid)
next_epoch()
nominated = Metagraph(netuid).sync(sub)

paid = sub.stake(eve.hotkey_ss58, netuid) - pool0         # what Eve's hotkey earned this epoch
to_pool = sub.query(ST, "AlphaDividendsPerSubnet", [netuid, eve.hotkey_ss58])
take = paid - to_pool
take_u16 = sub.query(ST, "Delegates", [eve.hotkey_ss58])
eve_gain, ferdie_gain = owned(eve, eve) - eve0, owned(ferdie, eve) - ferdie0
dave_gain = sub.stake(dave.hotkey_ss58, netuid) - dave0

print(f"Eve's hotkey: S {pool0 / TAO:.3f} TAO (Eve {eve0 / TAO:.3f}, Ferdie {ferdie0 / TAO:.3f}), "
      f"D {nominated.D[e]:.4f}; Dave's hotkey: S {dave0 / TAO:.3f} TAO, D {nominated.D[d]:.4f}")
print(f"Eve's hotkey earned {paid / TAO:.6f} TAO: take {take / TAO:.6f} TAO ({take / paid:.2%}; "
      f"Delegates = {take_u16} = {take_u16 / 65535:.2%}), to the pool {to_pool / TAO:.6f} TAO")
eve_part, ferdie_part = (eve0 + take) / (pool0 + take), ferdie0 / (pool0 + take)  # shares after the take
print(f"Eve gained    {eve_gain / TAO:.6f} TAO: take + {eve_part:.1%} of the rest = "
      f"{(take + to_pool * eve_part) / TAO:.6f} TAO")
print(f"Ferdie gained {ferdie_gain / TAO:.6f} TAO: {ferdie_part:.1%} of the rest = "
      f"{to_pool * ferdie_part / TAO:.6f} TAO")
rate = paid / pool0
print(f"per TAO staked: hotkey rate {rate * 1000:.4f}, Ferdie {ferdie_gain / ferdie0 * 1000:.4f} "
      f"({ferdie_gain / ferdie0 / rate:.1%} of the rate), Eve {eve_gain / eve0 * 1000:.4f}, "
      f"Dave {dave_gain / dave0 * 1000:.4f}  (TAO per 1000 TAO per epoch)")
print(f"per epoch, before Ferdie -> with Ferdie: Dave {gain[d] / TAO:.4f} -> {dave_gain / TAO:.4f} TAO, "
      f"Eve {gain[e] / TAO:.4f} -> {eve_gain / TAO:.4f} TAO")
table(nominated)"""),

    ("md", """## 4. Stake moves outcomes

`kappa` is 32767/65535, about one half. For each miner, Yuma takes as consensus C the highest
weight that validators holding at least kappa of the active stake give it. It clips every
validator's weight to C, and pays incentive I from the clipped weights.

Dave now stakes another 4000 TAO, about three quarters of the subnet's stake, and moves all his
weight to `miner2`. With more than kappa of the stake behind him, his weights become the consensus
after one epoch: `miner2` gets all the incentive, and `miner0` and `miner1` get none. Eve's weights
on `miner0` and `miner1` are clipped to zero: her validator trust VT falls to her weight on
`miner2`, and her dividends fall."""),
    ("code", """sub.add_stake(dave, netuid, 4000 * TAO)
sub.set_weights(dave, netuid, {uid["miner2"]: 1.0})
share = sub.stake(dave.hotkey_ss58, netuid) / Metagraph(netuid).sync(sub).stake_rao.sum()
next_epoch()
moved = Metagraph(netuid).sync(sub)
print(f"Dave holds {share:.1%} of the stake")
for name in ("miner0", "miner1", "miner2"):
    u = uid[name]
    print(f"{name}: C {nominated.C[u]:.3f} -> {moved.C[u]:.3f}   I {nominated.I[u]:.3f} -> {moved.I[u]:.3f}")
for name in ("dave", "eve"):
    u = uid[name]
    print(f"{name:5s} VT {nominated.VT[u]:.3f} -> {moved.VT[u]:.3f}   D {nominated.D[u]:.3f} -> {moved.D[u]:.3f}")
table(moved)"""),

    ("md", """## Exercises

1. Dave takes 5000 TAO of stake back out (`sub.remove_stake(dave, netuid, 5000 * TAO)`) and keeps
   his weights on `miner2`. With less than kappa of the stake, does the consensus still follow
   him? Run one epoch and compare C and I with section 4.
2. Ferdie unstakes everything from Eve's hotkey. How much TAO comes back to his coldkey, and how
   much of it did he earn as a nominator?

The solutions are in the collapsed cells below (click the `...` to open them)."""),
    ("code", """# Solution 1: a minority cannot set the consensus. Eve's hotkey now holds most of the stake, so C
# follows her weights: Dave's weight on miner2 is clipped to hers (0.2), and miner0 and miner1 earn again.
sub.remove_stake(dave, netuid, 5000 * TAO)
mg = Metagraph(netuid).sync(sub)
print(f"stake: Dave {mg.S[d] / mg.S.sum():.1%}, Eve's hotkey {mg.S[e] / mg.S.sum():.1%}")
next_epoch()
minority = Metagraph(netuid).sync(sub)
for name in ("miner0", "miner1", "miner2"):
    u = uid[name]
    print(f"{name}: with Dave's majority C {moved.C[u]:.3f} I {moved.I[u]:.3f};  "
          f"with his minority C {minority.C[u]:.3f} I {minority.I[u]:.3f}")""",
     ["solution"]),
    ("code", """# Solution 2: on the devnet 1 alpha unstaked pays 1 TAO, so Ferdie gets his stake back in full,
# less the transaction fee. Everything above the 1000 TAO he staked was earned in the pool.
stake = owned(ferdie, eve)
free = sub.balance(ferdie)
receipt = sub.remove_stake(ferdie, netuid, stake, hotkey=eve.hotkey_ss58)
back = sub.balance(ferdie) - free + receipt.fee
print(f"Ferdie's stake: {stake / TAO:.6f} TAO; TAO back: {back / TAO:.6f} "
      f"(his free balance rose by that, less the {receipt.fee} rao fee)")
print(f"earned as a nominator: {(back - 1000 * TAO) / TAO:.6f} TAO")
print(f"left in Eve's hotkey for Ferdie: {owned(ferdie, eve)} rao")""", ["solution"]),

    ("md", """Stop the chain. Next: `03_yuma_consensus` takes one epoch apart step by step, and
`06_attack_lab` shows what Yuma does to cheaters."""),
    ("code", """sub.close()
dev.stop()"""),
]
