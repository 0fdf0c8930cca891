"""Storage items, constants and pallets the bittensor SDK and btcli read that the devnet's model does not use
otherwise: each holds subtensor's default or what the devnet's model implies, under subtensor's names, hashers and
SCALE types (checked through the runtime's own metadata by substrate-interface in test_client_items_over_rpc)."""

from tao_lab.chain.pallets.subtensor.types import fixed_from_int

TAO = 10**9
ST = "SubtensorModule"


def test_token_symbol_is_written_for_every_subnet(chain):
    assert chain.query(ST, "TokenSymbol", 0) == "Τ".encode()  # root: upper-case tau
    assert chain.query(ST, "TokenSymbol", 1) == "α".encode()
    assert chain.query(ST, "TokenSymbol", 99) == "\U0001D70F".encode()  # no subnet: subtensor's default


def test_registered_subnets_get_the_next_letter(chain, bob, h):
    chain.dispatch(bob, ST, "register_network", hotkey=h.key("owner-hot"))
    netuid = max(k[0] for k, added in chain.runtime.pallet(ST).NetworksAdded.items(chain.state()) if added)
    assert netuid == 2 and chain.query(ST, "TokenSymbol", netuid) == "β".encode()


def test_one_mechanism_yuma_no_collateral(chain):
    assert chain.query(ST, "MechanismCountCurrent", 1) == 1
    assert chain.query(ST, "MechanismEmissionSplit", 1) is None
    assert chain.query(ST, "SubnetEpochConsensus", 1) == ("Yuma", None)
    assert chain.query(ST, "CollateralLockShare", 1) == 0
    assert chain.query(ST, "SubnetEmaTaoFlow", 1) is None


def test_total_alpha_staked_follows_stake(chain, bob, h):
    hot = h.key("v")
    h.register(chain, bob, hot)
    before = chain.query(ST, "TotalAlphaStaked", 1)
    assert before == chain.query(ST, "SubnetAlphaOut", 1)
    chain.dispatch(bob, ST, "add_stake", hotkey=hot, netuid=1, amount_staked=10 * TAO)
    assert chain.query(ST, "TotalAlphaStaked", 1) == before + 10 * TAO
    chain.dispatch(bob, ST, "remove_stake", hotkey=hot, netuid=1, amount_unstaked=4 * TAO)
    assert chain.query(ST, "TotalAlphaStaked", 1) == before + 6 * TAO


def test_identities_and_locks_are_empty_with_subtensors_defaults(chain, alice):
    assert chain.query(ST, "SubnetIdentitiesV3", 1) is None
    assert chain.query(ST, "IdentitiesV2", alice) is None
    assert chain.query(ST, "HotkeyLock", 1, alice) is None
    assert chain.query(ST, "DecayingHotkeyLock", 1, alice) is None
    assert chain.query(ST, "OwnerLock", 1) is None
    assert chain.query(ST, "DecayingOwnerLock", 1) is None
    assert chain.query(ST, "MaturityRate") == chain.query(ST, "UnlockRate") == 934_866
    assert chain.query(ST, "RootClaimable", alice) == []
    assert chain.query(ST, "RootClaimed", 1, alice, alice) == 0


def test_lock_state_and_subnet_identity_round_trip(chain):
    st = chain.runtime.pallet(ST)
    lock = {"locked_mass": 5 * TAO, "conviction": fixed_from_int(3), "last_update": 7}
    assert st.HotkeyLock.value.decode(st.HotkeyLock.value.encode(lock)) == lock
    ident = {k: k.encode() for k in ("subnet_name", "github_repo", "subnet_contact", "subnet_url", "discord",
                                     "description", "logo_url", "additional")}
    assert st.SubnetIdentitiesV3.value.decode(st.SubnetIdentitiesV3.value.encode(ident)) == ident


def test_aura_slot_duration_is_the_default_block_interval(chain):
    (slot,) = [c for c in chain.runtime.pallet("Aura").constants if c.name == "SlotDuration"]
    assert slot.value == 250


def test_commitments_are_empty_and_mev_shield_publishes_its_key(chain, alice):
    assert chain.query("Commitments", "CommitmentOf", 1, alice) is None
    assert chain.query("Commitments", "RevealedCommitments", 1, alice) is None
    for item in ("NextKey", "CurrentKey", "PendingKey"):  # tests/chain/test_mev_shield.py tests the rest
        assert len(chain.query("MevShield", item)) == 1184  # an ML-KEM-768 encapsulation key
    assert chain.query("MevShield", "NextKeyExpiresAt") == chain.head_number + 3


def test_commitment_data_encodes_as_subtensor(chain):
    data = chain.runtime.pallet("Commitments").CommitmentOf.value
    value = {"deposit": 0, "block": 3, "info": {"fields": [("Raw3", b"abc"), ("None", None), ("ResetBondsFlag", None)]}}
    raw = data.encode(value)
    # Raw data of n bytes is tagged n + 1, then the bytes themselves (no length prefix).
    assert raw == bytes(8) + (3).to_bytes(4, "little") + bytes([3 << 2, 4]) + b"abc" + bytes([0, 135])
    assert data.decode(raw) == value
