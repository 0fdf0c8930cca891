"""The runtime APIs every Substrate runtime exports: ``Metadata``, ``AccountNonceApi``,
``TransactionPaymentApi``."""

from __future__ import annotations

from ..scale import U32, U128, AccountId, Bytes, CodecError, F, Option, Struct, Vec, compact_decode
from ..types import DispatchClass, Weight
from ..runtime_api import ApiCtx, RuntimeApi, api_method

__all__ = ["METADATA", "ACCOUNT_NONCE", "TRANSACTION_PAYMENT", "OpaqueMetadata", "RuntimeDispatchInfo",
           "UncheckedExtrinsic"]

OpaqueMetadata = Struct("sp_core::OpaqueMetadata", [F(None, Bytes, "Vec<u8>")])

#: ``partial_fee`` is u128 (subtensor's Balance is u64): substrate-interface 1.8.1 decodes this call's
#: result with its built-in u128 layout, so both client families read the same bytes.
RuntimeDispatchInfo = Struct("pallet_transaction_payment::types::RuntimeDispatchInfo", [
    F("weight", Weight, "Weight"), F("class", DispatchClass, "DispatchClass"), F("partial_fee", U128, "Balance"),
])
FeeDetails = Struct("pallet_transaction_payment::types::FeeDetails", [
    F("inclusion_fee", Option(Struct("pallet_transaction_payment::types::InclusionFee", [
        F("base_fee", U128, "Balance"), F("len_fee", U128, "Balance"), F("adjusted_weight_fee", U128, "Balance"),
    ])), "Option<InclusionFee<Balance>>"),
    F("tip", U128, "Balance"),
])


class _UncheckedExtrinsic(Struct):
    """An extrinsic as a runtime API parameter: its raw bytes, length prefix included (what
    `tao_lab.chain.extrinsic.decode` takes). In metadata it is subtensor's ``UncheckedExtrinsic``,
    an opaque ``Vec<u8>`` whose type parameters name the address, call, signature and extensions."""

    def decode_at(self, data, pos):
        n, start = compact_decode(data, pos)
        if start + n > len(data):
            raise CodecError(f"an extrinsic of {n} bytes cannot fit in {len(data) - start}")
        return bytes(data[pos:start + n]), start + n

    def encode(self, value) -> bytes:
        return bytes(value)


#: The runtime's extrinsic type; `tao_lab.chain.metadata` sets its type parameters.
UncheckedExtrinsic = _UncheckedExtrinsic("sp_runtime::generic::unchecked_extrinsic::UncheckedExtrinsic",
                                         [F(None, Bytes, "Vec<u8>")])


@api_method("metadata", [], OpaqueMetadata)
def metadata(ctx: ApiCtx):
    """Returns the metadata of a runtime (V14)."""
    return ctx.runtime.metadata()


@api_method("metadata_at_version", [("version", U32)], Option(OpaqueMetadata))
def metadata_at_version(ctx: ApiCtx, version: int):
    """Returns the metadata at a given version; None if the runtime does not serve that version."""
    return ctx.runtime.metadata_at(version)


@api_method("metadata_versions", [], Vec(U32))
def metadata_versions(ctx: ApiCtx):
    """Returns the supported metadata versions."""
    return list(ctx.runtime.metadata_versions)


METADATA = RuntimeApi("Metadata", [metadata, metadata_at_version, metadata_versions],
                      "The `Metadata` api trait that returns metadata for the runtime.", version=2)


@api_method("account_nonce", [("account", AccountId)], U32)
def account_nonce(ctx: ApiCtx, account: bytes):
    """Get current account nonce of given `AccountId`."""
    return ctx.pallet("System").nonce(ctx.state, account)


ACCOUNT_NONCE = RuntimeApi("AccountNonceApi", [account_nonce], "The API to query account nonce.")


def _fee(ctx: ApiCtx, uxt: bytes) -> tuple[int, int]:
    """(weight ref_time, fee in rao) of a SCALE extrinsic (length prefix included)."""
    from .. import extrinsic as X
    from ..pallets.transaction_payment import compute_fee

    try:
        ext = X.decode(ctx.runtime, uxt)
    except X.InvalidTransaction as exc:
        raise CodecError(f"the extrinsic does not decode: {exc.reason}") from None
    weight = ctx.runtime.call_weight(ext.call)
    if not ctx.runtime.call_pays_fee(ext.call):
        return weight, ext.tip
    return weight, compute_fee(weight, len(ext.raw), ext.tip)


@api_method("query_info", [("uxt", UncheckedExtrinsic), ("len", U32)], RuntimeDispatchInfo)
def query_info(ctx: ApiCtx, uxt: bytes, len: int):  # noqa: A002 (subtensor's parameter name)
    """The weight, class and fee (rao) of an extrinsic."""
    weight, fee = _fee(ctx, uxt)
    return {"weight": {"ref_time": weight, "proof_size": 0}, "class": ("Normal", None), "partial_fee": fee}


@api_method("query_fee_details", [("uxt", UncheckedExtrinsic), ("len", U32)], FeeDetails)
def query_fee_details(ctx: ApiCtx, uxt: bytes, len: int):  # noqa: A002
    """The fee of an extrinsic split into its parts (the devnet reports it all as the base fee)."""
    _, fee = _fee(ctx, uxt)
    return {"inclusion_fee": {"base_fee": fee, "len_fee": 0, "adjusted_weight_fee": 0}, "tip": 0}


@api_method("query_weight_to_fee", [("weight", Weight)], U128)
def query_weight_to_fee(ctx: ApiCtx, weight: dict):
    """The fee (rao) of a weight."""
    from ..pallets.transaction_payment import compute_fee

    return compute_fee(weight["ref_time"], 0)


@api_method("query_length_to_fee", [("length", U32)], U128)
def query_length_to_fee(ctx: ApiCtx, length: int):
    """The fee (rao) of an extrinsic length, in bytes."""
    from ..pallets.transaction_payment import compute_fee

    return compute_fee(0, length) - compute_fee(0, 0)


TRANSACTION_PAYMENT = RuntimeApi("TransactionPaymentApi", [query_info, query_fee_details, query_weight_to_fee,
                                                           query_length_to_fee], version=4)
