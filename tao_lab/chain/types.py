"""Runtime-wide SCALE types with the exact type paths substrate-interface keys its decoders on."""

from __future__ import annotations

from .scale import (
    U8, U16, U32, U64, U128, AccountId, Array, Bytes, Compact, Enum, F, H256, Lazy, Struct, Tuple, Unit, V, Vec,
)

Balance = U64  # subtensor's Balance is u64 rao
NetUid = U16

#: How deeply calls may nest inside a call (``Sudo.sudo(Sudo.sudo(...))``): deeper extrinsics do not
#: decode and are refused at submission (1010). Substrate bounds decoding at ``MAX_EXTRINSIC_DEPTH``
#: = 256 levels of nested types, about 128 nested calls (each is two enums); 64 is far more than any
#: real use needs and keeps decoding and dispatch well inside Python's recursion limit, in any thread.
MAX_CALL_DEPTH = 64

#: ``RuntimeCall``, resolved by the runtime once every pallet's call enum exists.
RuntimeCall = Lazy("RuntimeCall", max_depth=MAX_CALL_DEPTH)

MultiAddress = Enum("sp_runtime::multiaddress::MultiAddress", [
    V("Id", [F(None, AccountId, "AccountId")]),
    V("Index", [F(None, Compact(U32), "AccountIndex")]),
    V("Raw", [F(None, Bytes, "Vec<u8>")]),
    V("Address32", [F(None, Array(U8, 32), "[u8; 32]")]),
    V("Address20", [F(None, Array(U8, 20), "[u8; 20]")]),
])
MultiAddress.params = (("AccountId", AccountId), ("AccountIndex", Unit))

MultiSignature = Enum("sp_runtime::MultiSignature", [
    V("Ed25519", [F(None, Array(U8, 64), "ed25519::Signature")]),
    V("Sr25519", [F(None, Array(U8, 64), "sr25519::Signature")]),
    V("Ecdsa", [F(None, Array(U8, 65), "ecdsa::Signature")]),
])

Weight = Struct("sp_weights::weight_v2::Weight", [
    F("ref_time", Compact(U64), "u64"), F("proof_size", Compact(U64), "u64"),
])
DispatchClass = Enum("frame_support::dispatch::DispatchClass", [V("Normal"), V("Operational"), V("Mandatory")])
Pays = Enum("frame_support::dispatch::Pays", [V("Yes"), V("No")])
DispatchInfo = Struct("frame_support::dispatch::DispatchInfo", [
    F("weight", Weight, "Weight"), F("class", DispatchClass, "DispatchClass"), F("pays_fee", Pays, "Pays"),
])

ModuleError = Struct("sp_runtime::ModuleError", [F("index", U8, "u8"), F("error", Array(U8, 4), "[u8; 4]")])
TokenError = Enum("sp_runtime::TokenError", [V(n) for n in (
    "FundsUnavailable", "OnlyProvider", "BelowMinimum", "CannotCreate", "UnknownAsset", "Frozen", "Unsupported",
    "CannotCreateHold", "NotExpendable", "Blocked")])
ArithmeticError = Enum("sp_arithmetic::ArithmeticError", [V("Underflow"), V("Overflow"), V("DivisionByZero")])
TransactionalError = Enum("sp_runtime::TransactionalError", [V("LimitReached"), V("NoLayer")])
DispatchError = Enum("sp_runtime::DispatchError", [
    V("Other"), V("CannotLookup"), V("BadOrigin"), V("Module", [F(None, ModuleError, "ModuleError")]),
    V("ConsumerRemaining"), V("NoProviders"), V("TooManyConsumers"), V("Token", [F(None, TokenError, "TokenError")]),
    V("Arithmetic", [F(None, ArithmeticError, "ArithmeticError")]),
    V("Transactional", [F(None, TransactionalError, "TransactionalError")]),
    V("Exhausted"), V("Corruption"), V("Unavailable"), V("RootNotAllowed"),
])
DispatchResult = Enum("Result", [V("Ok", [F(None, Unit, "()")]), V("Err", [F(None, DispatchError, "DispatchError")])])
DispatchResult.params = (("T", Unit), ("E", DispatchError))

AccountData = Struct("pallet_balances::types::AccountData", [
    F("free", U64, "Balance"), F("reserved", U64, "Balance"), F("frozen", U64, "Balance"),
    F("flags", Struct("pallet_balances::types::ExtraFlags", [F(None, U128, "u128")]), "ExtraFlags"),
])
AccountInfo = Struct("frame_system::AccountInfo", [
    F("nonce", U32, "Nonce"), F("consumers", U32, "RefCount"), F("providers", U32, "RefCount"),
    F("sufficients", U32, "RefCount"), F("data", AccountData, "AccountData"),
])

Phase = Enum("frame_system::Phase", [
    V("ApplyExtrinsic", [F(None, U32, "u32")]), V("Finalization"), V("Initialization"),
])

Era = Enum("sp_runtime::generic::era::Era", [V("Immortal")] + [
    V(f"Mortal{i}", [F(None, U8, "u8")], index=i) for i in range(1, 256)
])

RuntimeVersionType = Struct("sp_version::RuntimeVersion", [
    F("spec_name", Bytes, "RuntimeString"), F("impl_name", Bytes, "RuntimeString"), F("authoring_version", U32),
    F("spec_version", U32), F("impl_version", U32), F("apis", Vec(Tuple(Array(U8, 8), U32)), "ApisVec"),
    F("transaction_version", U32), F("state_version", U8),
])

__all__ = [name for name in dir() if not name.startswith("_") and name[0].isupper()]
__all__ += ["H256"]
