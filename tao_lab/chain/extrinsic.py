"""Extrinsics: decoding the v4 format, the signing payload, signature and mortality checks.

Layout of a signed v4 extrinsic: ``compact(len) ++ 0x84 ++ MultiAddress ++ MultiSignature ++ era ++
compact(nonce) ++ compact(tip) ++ metadata-hash mode (u8) ++ call``. The signer signs
``call ++ era ++ nonce ++ tip ++ mode ++ spec_version ++ tx_version ++ genesis_hash ++ era_block_hash
++ metadata_hash_option`` (its blake2_256 when longer than 256 bytes).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import TaoLabError
from .pallet import blake2_256
from .scale import U8, U32, CodecError, compact_decode, compact_encode
from .types import MultiAddress, MultiSignature

MAX_EXTRINSIC_BYTES = 4 << 20  # larger extrinsics are rejected as exhausting resources


class InvalidTransaction(TaoLabError):
    """A transaction the pool refuses (JSON-RPC error 1010); ``reason`` is the node's wording."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


@dataclass
class Extrinsic:
    raw: bytes  #: as submitted, with its length prefix
    hash: bytes  #: blake2_256(raw)
    call: tuple  #: decoded RuntimeCall value
    call_bytes: bytes
    signer: bytes | None = None
    scheme: str = ""  #: "Sr25519" / "Ed25519"
    signature: bytes = b""
    era: bytes = b"\x00"
    nonce: int = 0
    tip: int = 0
    mode: int = 0
    trusted: bool = False  #: built in-process by dev tools: no signature to check

    @property
    def signed(self) -> bool:
        return self.signer is not None


def decode(runtime, raw: bytes) -> Extrinsic:
    """Decode a length-prefixed extrinsic; raises `InvalidTransaction` if it is malformed."""
    raw = bytes(raw)
    if len(raw) > MAX_EXTRINSIC_BYTES:
        raise InvalidTransaction("Transaction would exhaust the block limits")
    try:
        length, pos = compact_decode(raw, 0)
        if length != len(raw) - pos:
            raise InvalidTransaction("Could not decode the transaction: wrong length prefix")
        version = raw[pos]
        pos += 1
        ext = Extrinsic(raw=raw, hash=blake2_256(raw), call=(), call_bytes=b"")
        if version == 0x84:
            (kind, who), pos = MultiAddress.decode_at(raw, pos)
            if kind not in ("Id", "Address32"):
                raise InvalidTransaction("Invalid sending address")
            (scheme, sig), pos = MultiSignature.decode_at(raw, pos)
            ext.signer, ext.scheme, ext.signature = bytes(who), scheme, bytes(sig)
            era_len = 1 if raw[pos] == 0 else 2
            ext.era = raw[pos : pos + era_len]
            if era_len == 2:
                # Substrate's Era decoding refuses a period below 4 or a phase beyond the period;
                # without this check such an era was accepted with a made-up birth block.
                enc = int.from_bytes(ext.era, "little")
                period = 2 << (enc % 16)
                if period < 4 or (enc >> 4) * max(period >> 12, 1) >= period:
                    raise InvalidTransaction("Could not decode the transaction: invalid mortal era (period and phase)")
            pos += era_len
            ext.nonce, pos = compact_decode(raw, pos)
            ext.tip, pos = compact_decode(raw, pos)
            ext.mode, pos = U8.decode_at(raw, pos)
        elif version != 0x04:
            raise InvalidTransaction(f"Unsupported extrinsic version 0x{version:02x}")
        ext.call_bytes = raw[pos:]
        ext.call = runtime.call_type.decode(ext.call_bytes)
        return ext
    except (CodecError, IndexError) as exc:
        raise InvalidTransaction(f"Could not decode the transaction: {exc}") from None
    except RecursionError:  # a backstop: nesting is bounded by types.MAX_CALL_DEPTH first
        raise InvalidTransaction("Could not decode the transaction: it is nested too deeply") from None


def era_birth(era: bytes, current: int) -> tuple[int, int] | None:
    """``(birth, period)`` of a mortal era at block ``current``; None for an immortal one."""
    if era == b"\x00":
        return None
    enc = int.from_bytes(era, "little")
    period = 2 << (enc % 16)
    quantize = max(period >> 12, 1)
    phase = (enc >> 4) * quantize
    birth = (max(current, phase) - phase) // period * period + phase
    return birth, period


def signing_payload(ext: Extrinsic, runtime, genesis_hash: bytes, era_hash: bytes) -> bytes:
    payload = (
        ext.call_bytes + ext.era + compact_encode(ext.nonce) + compact_encode(ext.tip) + bytes([ext.mode])
        + U32.encode(runtime.spec_version) + U32.encode(runtime.transaction_version)
        + genesis_hash + era_hash + b"\x00"
    )
    return blake2_256(payload) if len(payload) > 256 else payload


def verify_signature(ext: Extrinsic, payload: bytes) -> bool:
    try:
        if ext.scheme == "Sr25519":
            import sr25519

            return bool(sr25519.verify(ext.signature, payload, ext.signer))
        if ext.scheme == "Ed25519":
            import ed25519_zebra

            return bool(ed25519_zebra.ed_verify(ext.signature, payload, ext.signer))
    except (ValueError, TypeError):  # the bindings raise on malformed keys or signatures
        return False
    return False
