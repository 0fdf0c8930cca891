"""MEV-shield encryption: ML-KEM-768 key encapsulation + XChaCha20-Poly1305, in subtensor's wire format.

A shielded transaction is a signed extrinsic encrypted to the chain's ML-KEM-768 encapsulation key
(``MevShield.NextKey``) and carried by ``MevShield.submit_encrypted(ciphertext)``::

    ciphertext = key_hash (16) ++ kem_len (u16, little endian) ++ kem_ct (kem_len) ++ nonce (24) ++ aead_ct

``key_hash`` is ``twox_128(encapsulation key)``; the ML-KEM shared secret (32 bytes) is the
XChaCha20-Poly1305 key, with no associated data; ``aead_ct`` ends with the 16-byte Poly1305 tag. This is
what ``bittensor_drand.encrypt_mlkem768`` (bittensor 10, btcli) and ``bittensor_core.encrypt_mlkem768``
(bittensor 11) produce with ``include_key_hash=True``, and what subtensor's ``pallet_shield`` parses.

The devnet's key pair is a well-known development key, like //Alice's account: derived from a fixed
seed (`DEV_SEED`), the same on every start, so a persisted devnet decrypts after a restart. It hides
nothing from anyone who reads this file; it exists so clients' shielded submission works end to end.

The pure-Python libraries are imported on first use (``kyber-py`` about 20 ms, ``pycryptodome``'s
ChaCha20 about 70 ms); decapsulation takes about 10 ms.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache

from ..errors import TaoLabError
from .pallet import twox128

__all__ = ["ShieldError", "ShieldedTransaction", "dev_key_pair", "key_hash", "encrypt", "decrypt",
           "ENC_KEY_LEN", "KEM_CT_LEN", "MAX_CIPHERTEXT_LEN"]

ENC_KEY_LEN = 1184  #: bytes of an ML-KEM-768 encapsulation (public) key
KEM_CT_LEN = 1088  #: bytes of an ML-KEM-768 ciphertext
NONCE_LEN = 24  #: XChaCha20 nonce
TAG_LEN = 16  #: Poly1305 tag at the end of ``aead_ct``
MAX_CIPHERTEXT_LEN = 8192  #: ``submit_encrypted``'s ``BoundedVec<u8, ConstU32<8192>>``

#: The 64-byte ML-KEM seed (d ++ z) of the devnet's well-known key pair.
DEV_SEED = hashlib.blake2b(b"tao_lab devnet //MevShield ML-KEM-768", digest_size=64).digest()


class ShieldError(TaoLabError):
    """A shielded ciphertext that cannot be parsed or decrypted; the message says which part failed."""


@dataclass(frozen=True)
class ShieldedTransaction:
    """The parts of a ``submit_encrypted`` ciphertext (subtensor's ``stp_shield::ShieldedTransaction``)."""

    key_hash: bytes
    kem_ct: bytes
    nonce: bytes
    aead_ct: bytes

    @classmethod
    def parse(cls, ciphertext: bytes) -> "ShieldedTransaction":
        """Split ``ciphertext`` into its parts; `ShieldError` if it is too short for its own lengths."""
        data = bytes(ciphertext)
        if len(data) < 16 + 2:
            raise ShieldError(f"the ciphertext is {len(data)} bytes, shorter than a key hash and a length (18)")
        kem_len = int.from_bytes(data[16:18], "little")
        end_kem = 18 + kem_len
        if len(data) < end_kem + NONCE_LEN:
            raise ShieldError(f"the ciphertext is {len(data)} bytes, too short for its KEM ciphertext of {kem_len} "
                              f"bytes and a {NONCE_LEN}-byte nonce")
        return cls(data[:16], data[18:end_kem], data[end_kem:end_kem + NONCE_LEN], data[end_kem + NONCE_LEN:])

    def encode(self) -> bytes:
        return self.key_hash + len(self.kem_ct).to_bytes(2, "little") + self.kem_ct + self.nonce + self.aead_ct


def _ml_kem():
    from kyber_py.ml_kem import ML_KEM_768

    return ML_KEM_768


@lru_cache(maxsize=1)
def dev_key_pair() -> tuple[bytes, bytes]:
    """``(encapsulation key, decapsulation key)`` of the devnet: 1184 and 2400 bytes, from `DEV_SEED`."""
    ek, dk = _ml_kem().key_derive(DEV_SEED)
    return bytes(ek), bytes(dk)


def key_hash(enc_key: bytes) -> bytes:
    """``twox_128(enc_key)``: how a ciphertext names the key it was made for (16 bytes)."""
    return twox128(bytes(enc_key))


def encrypt(enc_key: bytes, plaintext: bytes, nonce: bytes | None = None) -> bytes:
    """Encrypt ``plaintext`` (a signed extrinsic, with its length prefix) to ``enc_key``, in the wire format.

    The same as the clients' ``encrypt_mlkem768(enc_key, plaintext, include_key_hash=True)``; for tests
    and for code that submits shielded extrinsics without a bittensor client.
    """
    from Crypto.Cipher import ChaCha20_Poly1305

    enc_key = bytes(enc_key)
    if len(enc_key) != ENC_KEY_LEN:
        raise ShieldError(f"an ML-KEM-768 encapsulation key is {ENC_KEY_LEN} bytes, got {len(enc_key)}")
    shared, kem_ct = _ml_kem().encaps(enc_key)
    nonce = os.urandom(NONCE_LEN) if nonce is None else bytes(nonce)
    body, tag = ChaCha20_Poly1305.new(key=shared, nonce=nonce).encrypt_and_digest(bytes(plaintext))
    return ShieldedTransaction(key_hash(enc_key), kem_ct, nonce, body + tag).encode()


@lru_cache(maxsize=128)  # the node decrypts each carrier twice: validating it for the pool, then in its block
def decrypt(dec_key: bytes, tx: ShieldedTransaction) -> bytes:
    """The plaintext of ``tx``; `ShieldError` if its KEM ciphertext or its AEAD tag does not check out.

    ML-KEM decapsulation never fails on a well-sized ciphertext (a wrong one yields an unrelated secret),
    so a ciphertext made for another key is caught by the Poly1305 tag.
    """
    from Crypto.Cipher import ChaCha20_Poly1305

    if len(tx.kem_ct) != KEM_CT_LEN:
        raise ShieldError(f"the KEM ciphertext is {len(tx.kem_ct)} bytes; ML-KEM-768's is {KEM_CT_LEN}")
    if len(tx.aead_ct) < TAG_LEN:
        raise ShieldError(f"the AEAD ciphertext is {len(tx.aead_ct)} bytes, shorter than its {TAG_LEN}-byte tag")
    shared = _ml_kem().decaps(dec_key, tx.kem_ct)
    cipher = ChaCha20_Poly1305.new(key=shared, nonce=tx.nonce)
    try:
        return cipher.decrypt_and_verify(tx.aead_ct[:-TAG_LEN], tx.aead_ct[-TAG_LEN:])
    except ValueError:
        raise ShieldError("decryption failed: the XChaCha20-Poly1305 tag does not match (the ciphertext was made "
                          "for another key, or altered)") from None
