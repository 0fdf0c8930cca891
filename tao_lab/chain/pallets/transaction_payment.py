"""pallet_transaction_payment: the fee every signed extrinsic pays.

Devnet fee model (documented simplification): ``fee = BASE_FEE + ref_time_weight // WEIGHT_PER_RAO
+ PER_BYTE_FEE * encoded_length``, in rao, with no fee multiplier and no tip handling beyond adding
the tip. ``TransactionPaymentApi_query_info`` answers the same number.
"""

from __future__ import annotations

from ..pallet import Constant, Pallet, StorageValue
from ..scale import U8, U64, U128, AccountId, F, V

BASE_FEE = 0
WEIGHT_PER_RAO = 100  # 10_000_000 ref_time (a default call) costs 100_000 rao = 0.0001 TAO
PER_BYTE_FEE = 10


def compute_fee(ref_time: int, length: int, tip: int = 0) -> int:
    """The fee in rao for a call of ``ref_time`` weight in an extrinsic of ``length`` bytes."""
    return BASE_FEE + ref_time // WEIGHT_PER_RAO + PER_BYTE_FEE * length + tip


class TransactionPayment(Pallet):
    name = "TransactionPayment"
    index = 6
    module = "pallet_transaction_payment"
    docs = "Charges the fee of signed extrinsics."

    NextFeeMultiplier = StorageValue(U128, default=10**18, docs="The fee multiplier (FixedU128, 1.0 on the devnet).")
    StorageVersion = StorageValue(U8, docs="Storage version of the pallet.")

    events = [V("TransactionFeePaid", [F("who", AccountId, "T::AccountId"), F("actual_fee", U64, "BalanceOf<T>"),
                                       F("tip", U64, "BalanceOf<T>")],
                "A transaction fee `actual_fee`, of which `tip` was added to the minimum inclusion fee, has been paid by `who`.")]
    constants = [Constant("OperationalFeeMultiplier", U8, 5, "A fee multiplier for Operational extrinsics.")]
