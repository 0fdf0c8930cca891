"""pallet_shield (``MevShield``): the keys clients encrypt MEV-shielded extrinsics with.

Storage only: the devnet has no block author keys, so ``NextKey`` is empty and clients that read it
before a shielded submission (bittensor 11's ``BurnedRegister``; bittensor 10 and btcli with MEV
protection on) find no key. Decrypting ``submit_encrypted`` is not modelled; turn MEV protection off
in those clients (docs/devnet.md lists the flags).
"""

from __future__ import annotations

from ..pallet import Pallet, StorageValue
from ..scale import U32, Bytes, F, Struct

#: ``ShieldEncKey``: a bounded byte vector (an ML-KEM-768 encapsulation key, 1184 bytes)
ShieldEncKey = Struct("bounded_collections::bounded_vec::BoundedVec", [F(None, Bytes, "Vec<T>")])


class MevShield(Pallet):
    name = "MevShield"
    index = 30
    module = "pallet_shield"
    docs = "Keys for MEV-shielded (encrypted) extrinsics; the devnet publishes none."

    CurrentKey = StorageValue(ShieldEncKey, optional=True,
                              docs="Current block author's ML-KEM-768 encapsulation key (devnet: none).")
    PendingKey = StorageValue(ShieldEncKey, optional=True,
                              docs="Next block author's key, staged here before promoting to `CurrentKey` (devnet: "
                                   "none).")
    NextKey = StorageValue(ShieldEncKey, optional=True,
                           docs="Key users should encrypt with (N+2 author's key); devnet: none, shielded "
                                "submission is not supported.")
    PendingKeyExpiresAt = StorageValue(U32, optional=True,
                                       docs="Block number at which `PendingKey` is no longer valid (devnet: none).")
    NextKeyExpiresAt = StorageValue(U32, optional=True,
                                    docs="Block number at which `NextKey` is no longer valid (devnet: none).")
