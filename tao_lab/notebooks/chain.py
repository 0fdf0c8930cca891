"""``notebooks/01_chain_and_wallets.ipynb``: the chain underneath a lab, with the client and with substrate-interface."""

CELLS = [
    ("md", """# 01 · The chain and its wallets

Under every `Lab` runs a chain: a devnet that speaks the Substrate JSON-RPC protocol with
subtensor's pallet, call, storage and error names. This notebook uses it directly, as code written
for the real chain would: start it, make wallets, move TAO, create a subnet, register a neuron,
stake, and read storage, first with tao_lab's client (`Subtensor`, `Wallet`, `Metagraph`), then with
the unmodified `substrate-interface` package that the client is built on.

Amounts on chain are in **rao**: 1 TAO = 10⁹ rao."""),
    ("code", """# Parameters (papermill can override them)
url = None          # None: start an embedded devnet here; or "ws://127.0.0.1:9944" for another node""",
     ["parameters"]),

    ("md", """## 1. A chain

`Devnet()` starts the embedded node in a subprocess on 127.0.0.1 in well under a second (instant
blocks here: one block per transaction). `Subtensor` connects to it, or to any subtensor node by
URL: `Subtensor("wss://test.finney.opentensor.ai:443")` reads the real test network with the same
code."""),
    ("code", """from tao_lab import Devnet, Metagraph, Subtensor, Wallet

TAO = 10**9
devnet = Devnet(instant=True).start() if url is None else None
sub = Subtensor(devnet if devnet is not None else url)
print(f"connected to {sub.substrate.url}: chain {sub.substrate.chain!r}, block {sub.block()}, "
      f"subnets {sub.subnets()}")"""),

    ("md", """## 2. Wallets and balances

A wallet is a **coldkey**, which owns funds and signs transfers, registration and staking, and a
**hotkey**, a neuron's identity, which signs weights and serving. `Wallet.dev("//Alice")` builds
one in memory from a development URI: the devnet funds //Alice, //Bob, //Charlie and the other
well-known dev accounts at genesis. `Wallet("name").create()` writes real key files in bittensor's
format instead (docs/client.md)."""),
    ("code", """alice, bob = Wallet.dev("//Alice"), Wallet.dev("//Bob")
carol = Wallet.dev("//tao-lab//carol")      # a new account: nobody has funded it
for name, w in (("alice", alice), ("bob", bob), ("carol", carol)):
    print(f"{name:6s} coldkey {w.coldkey_ss58}  balance {sub.balance(w) / TAO:>12,.3f} TAO")"""),

    ("md", """## 3. A transfer, and what it cost

`transfer` signs with Alice's coldkey, waits until the transaction is in a block and returns a
`Receipt` with the block, the events and the **fee**. Alice pays the amount plus the fee; Carol
receives exactly the amount."""),
    ("code", """before = {"alice": sub.balance(alice), "carol": sub.balance(carol)}
receipt = sub.transfer(alice, carol.coldkey_ss58, 25 * TAO)
paid = before["alice"] - sub.balance(alice)
got = sub.balance(carol) - before["carol"]
print(f"in block {receipt.block_number}: carol received {got / TAO} TAO; alice paid {paid / TAO} TAO "
      f"= 25 TAO + a fee of {receipt.fee} rao")
print("events:", [f"{e['pallet']}.{e['name']}" for e in receipt.events])"""),

    ("md", """## 4. A subnet, a neuron and stake

Bob creates a subnet and becomes its owner; his hotkey takes uid 0. Carol registers a hotkey on it
by burning TAO (`burned_register`): the hotkey becomes a neuron with the next **uid**. Then she stakes
10 TAO on her hotkey. The metagraph reads the whole subnet at one block: uid, hotkey, coldkey,
stake S and the rest."""),
    ("code", """netuid = sub.register_subnet(bob)
uid = sub.burned_register(carol, netuid)
sub.add_stake(carol, netuid, 10 * TAO)
mg = Metagraph(netuid).sync(sub)
print(f"subnet {netuid}: owner {sub.query('SubtensorModule', 'SubnetOwner', [netuid])[:8]}…, "
      f"tempo {sub.hyperparameters(netuid)['tempo']}, {mg.n} neurons; carol's hotkey is uid {uid} "
      f"with {mg.S[uid]:.3f} TAO staked")
mg.to_pandas()[["uid", "hotkey", "coldkey", "S", "I", "D", "E"]]"""),

    ("md", """## 5. When the chain says no

A call the chain refuses raises a typed error that names the pallet's error and carries its
documentation. Staking more than you own is refused: `ChainError` with
`SubtensorModule.NotEnoughBalanceToStake`, and **nothing changes**: only the transaction fee is
taken, as on the real chain."""),
    ("code", """from tao_lab import ChainError

stake_before, balance_before = sub.stake(carol.hotkey_ss58, netuid), sub.balance(carol)
try:
    sub.add_stake(carol, netuid, 10_000 * TAO)
except ChainError as err:
    print(f"refused: {err.pallet}.{err.error}: {err.docs}")
print(f"stake unchanged: {sub.stake(carol.hotkey_ss58, netuid) == stake_before}; "
      f"carol paid only the fee: {balance_before - sub.balance(carol)} rao")"""),

    ("md", """## 6. The same chain through substrate-interface

`sub.substrate` is an unmodified `substrate-interface` `SubstrateInterface`. Anything the client does
not wrap is one call away, with subtensor's names: storage queries, runtime metadata, composing and
signing any extrinsic. Code written this way runs against a subtensor node unchanged."""),
    ("code", """si = sub.substrate
tempo = si.query("SubtensorModule", "Tempo", [netuid]).value
uids = si.query("SubtensorModule", "Uids", [netuid, carol.hotkey_ss58]).value
account = si.query("System", "Account", [carol.coldkey_ss58]).value
print(f"Tempo[{netuid}] = {tempo}; Uids[{netuid}, carol's hotkey] = {uids}; "
      f"carol's free balance = {account['data']['free'] / TAO:.3f} TAO")
print("pallets:", ", ".join(p.name for p in si.metadata.pallets))"""),
    ("code", """# any call, composed and signed by hand: Alice (the devnet's sudo key) sets the subnet's tempo
call = si.compose_call("AdminUtils", "sudo_set_tempo", {"netuid": netuid, "tempo": 20})
sudo = si.compose_call("Sudo", "sudo", {"call": call})
extrinsic = si.create_signed_extrinsic(sudo, keypair=alice.coldkey())
result = si.submit_extrinsic(extrinsic, wait_for_inclusion=True)
print(f"success: {result.is_success}; tempo is now {sub.hyperparameters(netuid)['tempo']}")"""),

    ("md", """## 7. Another node by URL

Everything above takes a URL instead of a devnet. A subtensor localnet, testnet or mainnet node:

```python
sub = Subtensor("ws://127.0.0.1:9944")                  # a local subtensor node
lab = Lab(url="ws://127.0.0.1:9944")                    # a whole lab on it (no time control there)
```

Only the devnet's extras (instant blocks, `advance`, `next_epoch`, snapshots) need the devnet;
they raise a clear error elsewhere.

## Exercises

1. Give Carol a second hotkey on Bob's subnet: `Wallet.dev("//tao-lab//carol", hotkey_uri=...)`
   with a new hotkey URI, registered with `burned_register`. What uid does it get, and what did
   the registration cost her?
2. Read Carol's stake on her first hotkey with `substrate-interface` alone (the storage item is
   `SubtensorModule.TotalHotkeyAlpha`, keyed by hotkey and netuid) and check it equals `mg.S`.

The solutions are in the collapsed cells below."""),
    ("code", """# Solution 1: a second hotkey of the same coldkey is a second neuron, with its own uid.
carol2 = Wallet.dev("//tao-lab//carol", hotkey_uri="//tao-lab//carol//second")
before, burn = sub.balance(carol2), sub.hyperparameters(netuid)["burn"]   # the burn moves after each registration
uid2 = sub.burned_register(carol2, netuid)
cost = before - sub.balance(carol2)
print(f"uid {uid2} (the first hotkey has uid {uid}); registration cost {cost / TAO:.6f} TAO: "
      f"the burn {burn / TAO:.6f} TAO plus a fee of {cost - burn} rao")""", ["solution"]),
    ("code", """# Solution 2: stake is stored per hotkey and subnet, in rao.
raw = si.query("SubtensorModule", "TotalHotkeyAlpha", [carol.hotkey_ss58, netuid]).value
mg = Metagraph(netuid).sync(sub)
print(f"TotalHotkeyAlpha = {raw} rao = {raw / TAO} TAO; metagraph S[{uid}] = {mg.S[uid]} TAO; "
      f"equal: {raw / TAO == mg.S[uid]}")""", ["solution"]),

    ("code", """sub.close()
if devnet is not None:
    devnet.stop()   # the chain lives in memory: it is gone now (Devnet(data_dir=...) keeps one)"""),
]
