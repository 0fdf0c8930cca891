"""SCALE types of pallet_subtensor, with the paths and type names subtensor's metadata gives them.

subtensor's newtypes (``NetUid``, ``NetUidStorageIndex``, ``TaoBalance``, ``AlphaBalance``) describe
themselves in metadata as the bare integer they wrap, so they are plain ``u16`` / ``u64`` here; the
Rust name survives as the field's ``typeName``. ``U64F64`` is substrate-fixed's ``FixedU128``: a
struct with one ``bits: u128`` field, the value times 2**64, as substrate-interface decodes it.
"""

from __future__ import annotations

from ...scale import H256, U8, U16, U32, U64, U128, AccountId, Bytes, Enum, F, Prim, Struct, Tuple, V, Vec

__all__ = [
    "NET_UID", "NET_UID_INDEX", "TAO", "ALPHA", "ACCOUNT", "U64F64", "AxonInfo", "PrometheusInfo",
    "ChainIdentityV2", "SubnetIdentityV3", "LockState", "EpochConsensus", "I64F64", "I96F32", "MECH_ID", "BTreeMap",
    "RootClaimTypeEnum",
    "WeightCommit", "WeightRow", "fixed_from_int", "fixed_to_float", "ROOT",
    "RAO_PER_TAO", "U16_MAX", "U64_MAX", "ZERO_ACCOUNT", "pays_no",
]

ROOT = 0  #: netuid of the root network
RAO_PER_TAO = 1_000_000_000
U16_MAX = 0xFFFF
U64_MAX = (1 << 64) - 1
ZERO_ACCOUNT = bytes(32)  #: subtensor's default AccountId (``TrailingZeroInput``)


def NET_UID(name: str, docs: str = "") -> F:
    """A ``netuid: NetUid`` field (u16 on the wire)."""
    return F(name, U16, "NetUid", docs)


def MECH_ID(name: str) -> F:
    """A ``MechId`` field: a subnet's mechanism (u8 on the wire); the devnet has mechanism 0 only."""
    return F(name, U8, "MechId")


def NET_UID_INDEX(name: str | None = None) -> F:
    """A ``NetUidStorageIndex`` field: ``netuid + mechanism * 4096`` (u16); the devnet has mechanism 0 only."""
    return F(name, U16, "NetUidStorageIndex")


def TAO(name: str | None, docs: str = "") -> F:
    """A ``TaoBalance`` field: TAO in rao (u64)."""
    return F(name, U64, "TaoBalance", docs)


def ALPHA(name: str | None, docs: str = "") -> F:
    """An ``AlphaBalance`` field: subnet alpha in its smallest unit (u64)."""
    return F(name, U64, "AlphaBalance", docs)


def ACCOUNT(name: str | None, docs: str = "") -> F:
    return F(name, AccountId, "T::AccountId", docs)


#: substrate_fixed ``U64F64`` (``FixedU128<U64>``): ``{"bits": value * 2**64}``.
U64F64 = Struct("substrate_fixed::FixedU128", [F("bits", U128, "u128")])
FRACTION_BITS = 64
#: substrate_fixed ``I64F64`` (``FixedI128<U64>``) and ``I96F32`` (``FixedI128<U32>``): ``{"bits": i128}``.
I64F64 = Struct("substrate_fixed::FixedI128", [F("bits", Prim("i128"), "i128")])
I96F32 = Struct("substrate_fixed::FixedI128", [F("bits", Prim("i128"), "i128")])


def fixed_from_int(x: int) -> dict:
    """``U64F64`` value of the integer ``x``."""
    return {"bits": int(x) << FRACTION_BITS}


def fixed_to_float(value: dict) -> float:
    return value["bits"] / (1 << FRACTION_BITS)


AxonInfo = Struct("pallet_subtensor::pallet::AxonInfo", [
    F("block", U64, "u64", "Axon serving block."),
    F("version", U32, "u32", "Axon version"),
    F("ip", U128, "u128", "Axon u128 encoded ip address of type v6 or v4."),
    F("port", U16, "u16", "Axon u16 encoded port."),
    F("ip_type", U8, "u8", "Axon ip type, 4 for ipv4 and 6 for ipv6."),
    F("protocol", U8, "u8", "Axon protocol. TCP, UDP, other."),
    F("placeholder1", U8, "u8", "Axon proto placeholder 1."),
    F("placeholder2", U8, "u8", "Axon proto placeholder 2."),
], "Data structure for Axon information.")

PrometheusInfo = Struct("pallet_subtensor::pallet::PrometheusInfo", [
    F("block", U64, "u64", "Prometheus serving block."),
    F("version", U32, "u32", "Prometheus version."),
    F("ip", U128, "u128", "Prometheus u128 encoded ip address of type v6 or v4."),
    F("port", U16, "u16", "Prometheus u16 encoded port."),
    F("ip_type", U8, "u8", "Prometheus ip type, 4 for ipv4 and 6 for ipv6."),
], "Data structure for Prometheus information.")

ChainIdentityV2 = Struct("pallet_subtensor::pallet::ChainIdentityV2", [
    F("name", Bytes, "Vec<u8>", "The name of the chain identity"),
    F("url", Bytes, "Vec<u8>", "The URL associated with the chain identity"),
    F("github_repo", Bytes, "Vec<u8>", "The github repository associated with the identity"),
    F("image", Bytes, "Vec<u8>", "The image representation of the chain identity"),
    F("discord", Bytes, "Vec<u8>", "The Discord information for the chain identity"),
    F("description", Bytes, "Vec<u8>", "A description of the chain identity"),
    F("additional", Bytes, "Vec<u8>", "Additional information about the chain identity"),
], "Data structure for Chain Identities.")

SubnetIdentityV3 = Struct("pallet_subtensor::pallet::SubnetIdentityV3", [
    F("subnet_name", Bytes, "Vec<u8>", "The name of the subnet"),
    F("github_repo", Bytes, "Vec<u8>", "The github repository associated with the subnet"),
    F("subnet_contact", Bytes, "Vec<u8>", "The subnet's contact"),
    F("subnet_url", Bytes, "Vec<u8>", "The subnet's website"),
    F("discord", Bytes, "Vec<u8>", "The subnet's discord"),
    F("description", Bytes, "Vec<u8>", "The subnet's description"),
    F("logo_url", Bytes, "Vec<u8>", "The subnet's logo"),
    F("additional", Bytes, "Vec<u8>", "Additional information about the subnet"),
], "Data structure for Subnet Identities")

LockState = Struct("pallet_subtensor::staking::lock::LockState", [
    F("locked_mass", U64, "AlphaBalance", "Exponentially decaying locked amount."),
    F("conviction", U64F64, "U64F64", "Matured decaying score (integral of locked_mass over time)."),
    F("last_update", U64, "u64", "Block number of last roll-forward."),
], "Exponential lock state for a coldkey on a subnet.")

#: How a subnet's epoch turns weights into emission. Wire values are subtensor's (0 = Yuma, 1 = Null);
#: bittensor 11 treats ``Null`` as "only the sole validator-permit holder sets (raw) weights". The devnet
#: runs Yuma only, so every subnet reads ``Yuma``.
EpochConsensus = Enum("pallet_subtensor::pallet::EpochConsensus", [
    V("Yuma", docs="Yuma consensus (the default)."),
    V("Null", docs="The largest-stake validator's weights, dividends in proportion to stake (not modelled "
                   "by the devnet)."),
])


def BTreeMap(key, value) -> Struct:
    """``BTreeMap<K, V>`` as scale-info describes it: a composite around ``Vec<(K, V)>`` (sorted by key)."""
    out = Struct("BTreeMap", [F(None, Vec(Tuple(key, value)))])
    out.params = (("K", key), ("V", value))
    return out


RootClaimTypeEnum = Enum("pallet_subtensor::pallet::RootClaimTypeEnum", [
    V("Swap", docs="Swap any alpha emission for TAO."),
    V("Keep", docs="Keep all alpha emission."),
    V("KeepSubnets", [F("subnets", Struct("BTreeSet", [F(None, Vec(U16))]), "BTreeSet<NetUid>",
                        "Subnets to keep alpha emissions (swap everything else).")],
      "Keep all alpha emission for specified subnets."),
], "Enum for the per-coldkey root claim setting.")


#: one commit-reveal v2 commit: ``(hash, commit_epoch, commit_block, unused)``
WeightCommit = Tuple(H256, U64, U64, U64)
#: a sparse ``Weights`` / ``Bonds`` row: ``[(uid, u16), ...]``
WeightRow = Vec(Tuple(U16, U16))


def pays_no(fn):
    """Mark a call ``Pays::No`` as subtensor does (weights, serving, faucet): hotkeys need no balance for it.

    Sets ``pays_fee = False`` on the call's `CallDef`; the runtime's fee charging reads it.
    """
    fn._call.pays_fee = False
    return fn
