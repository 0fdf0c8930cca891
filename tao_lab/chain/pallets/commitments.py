"""pallet_commitments: what neurons publish per subnet (``CommitmentOf``) and timelocked commitments
once revealed (``RevealedCommitments``). Storage only on the devnet, empty: clients read both maps when
they build a metagraph (bittensor 11's ``subnets.metagraph``).

``Data`` is subtensor's: ``None`` (0), ``Raw0``..``Raw128`` (1..129: the bytes, its length in the index),
hashes (130..133), ``TimelockEncrypted`` (134), ``ResetBondsFlag`` (135), ``BigRaw`` (136).
"""

from __future__ import annotations

from ..pallet import Pallet, StorageDoubleMap
from ..scale import U8, U16, U32, U64, AccountId, Array, Bytes, Enum, F, Struct, Tuple, V, Vec

__all__ = ["Commitments", "Data", "CommitmentInfo", "Registration"]

_BoundedBytes = Struct("bounded_collections::bounded_vec::BoundedVec", [F(None, Bytes, "Vec<T>")])
_H = Array(U8, 32)

Data = Enum("pallet_commitments::types::Data", [
    V("None", index=0),
    *[V(f"Raw{n}", [F(None, Array(U8, n), f"[u8; {n}]")], index=n + 1) for n in range(129)],
    V("BlakeTwo256", [F(None, _H, "[u8; 32]")], index=130),
    V("Sha256", [F(None, _H, "[u8; 32]")], index=131),
    V("Keccak256", [F(None, _H, "[u8; 32]")], index=132),
    V("ShaThree256", [F(None, _H, "[u8; 32]")], index=133),
    V("TimelockEncrypted", [F("encrypted", _BoundedBytes, "BoundedVec<u8, ConstU32<1024>>"),
                            F("reveal_round", U64, "u64")], index=134),
    V("ResetBondsFlag", index=135),
    V("BigRaw", [F(None, _BoundedBytes, "BoundedVec<u8, ConstU32<512>>")], index=136),
])

CommitmentInfo = Struct("pallet_commitments::types::CommitmentInfo", [
    F("fields", Struct("bounded_collections::bounded_vec::BoundedVec", [F(None, Vec(Data), "Vec<T>")]),
      "BoundedVec<Data, FieldLimit>"),
])

Registration = Struct("pallet_commitments::types::Registration", [
    F("deposit", U64, "Balance", "Amount held on deposit for this information."),
    F("block", U32, "BlockNumber"),
    F("info", CommitmentInfo, "CommitmentInfo<MaxFields>", "Information on the identity."),
])

class Commitments(Pallet):
    name = "Commitments"
    index = 18
    module = "pallet_commitments"
    docs = "Per-subnet commitments of neurons (storage only on the devnet, always empty)."

    CommitmentOf = StorageDoubleMap("Identity", U16, "Twox64Concat", AccountId, Registration, optional=True,
                                    docs="(netuid, who) --> the commitment an account published on a subnet")
    RevealedCommitments = StorageDoubleMap("Identity", U16, "Twox64Concat", AccountId, Vec(Tuple(Bytes, U64)),
                                           optional=True, docs="(netuid, who) --> revealed commitments: "
                                                               "Vec<(data, reveal block)>")
