"""Request signatures and replay protection.

A caller signs, with its sr25519 hotkey, the message::

    f"{nonce}.{caller_hotkey}.{axon_hotkey}.{body_hash}"

``nonce`` is an integer of nanoseconds since the epoch (``time.time_ns()``, made strictly increasing
per signer), the hotkeys are SS58 addresses, and ``body_hash`` is the hex blake2b-256 of the exact
body bytes. Binding the axon's hotkey stops a request for one axon being replayed at another; the
body hash stops the payload being swapped. The four values travel in HTTP headers (`HEADERS`),
the body hash included, so the axon checks the signature from the headers alone, before it reads
(or spends memory on) the body, and then checks that the body it read has that hash.

`NonceWindow` rejects a nonce it has seen from the same caller, or one more than ``window_s`` away
from the axon's clock. It keeps every nonce of the window rather than only the last one, because
concurrent requests from one dendrite to one axon travel on different connections and may arrive
out of order: "reject nonce <= last" would refuse honest requests, while a replay is refused
either way (inside the window it was seen; outside it is stale).
"""

from __future__ import annotations

import hashlib
import heapq
import threading
import time
from functools import lru_cache

from substrateinterface import Keypair, KeypairType

from ..errors import InputError
from .protocol import TransportError

__all__ = ["HEADERS", "NonceWindow", "Signer", "body_hash", "keypair_of", "signing_message", "verify_signature"]

#: HTTP header names of the signed request
HEADERS = {
    "caller": "tao-caller",  # caller hotkey, SS58
    "axon": "tao-axon",  # axon hotkey, SS58
    "nonce": "tao-nonce",  # decimal integer, ns since the epoch
    "signature": "tao-signature",  # hex sr25519 signature, 64 bytes
    "timeout": "tao-timeout",  # seconds the caller waits, decimal
    "body_hash": "tao-body-hash",  # hex blake2b-256 of the body, as signed
}


def keypair_of(wallet_or_keypair) -> Keypair:
    """The sr25519 hotkey of a `tao_lab.Wallet` (or anything with ``.hotkey``) or a `Keypair` itself."""
    kp = wallet_or_keypair
    if not isinstance(kp, Keypair) and hasattr(kp, "hotkey"):
        kp = kp.hotkey
    if not isinstance(kp, Keypair):
        raise InputError("wallet_or_keypair", f"expected a Wallet or a substrateinterface Keypair, got "
                                              f"{type(wallet_or_keypair).__name__}")
    if kp.crypto_type != KeypairType.SR25519:
        raise InputError("wallet_or_keypair", "neurons sign with sr25519 hotkeys; this keypair is not sr25519")
    if not kp.private_key:
        raise InputError("wallet_or_keypair", f"hotkey {kp.ss58_address} has no private key, so it cannot sign")
    return kp


def body_hash(body: bytes) -> str:
    """Hex blake2b-256 of the exact body bytes."""
    return hashlib.blake2b(body, digest_size=32).hexdigest()


def signing_message(nonce: int, caller_hotkey: str, axon_hotkey: str, body_hash_hex: str) -> bytes:
    """The bytes a caller signs: ``"{nonce}.{caller_hotkey}.{axon_hotkey}.{body_hash}"`` in UTF-8."""
    return f"{nonce}.{caller_hotkey}.{axon_hotkey}.{body_hash_hex}".encode()


class Signer:
    """Signs requests with one hotkey; nonces are strictly increasing even across threads."""

    def __init__(self, wallet_or_keypair):
        self.keypair = keypair_of(wallet_or_keypair)
        self.hotkey: str = self.keypair.ss58_address
        self._last = 0
        self._lock = threading.Lock()

    def next_nonce(self) -> int:
        """``time.time_ns()``, or one more than the last nonce when the clock has not moved on."""
        with self._lock:
            self._last = max(time.time_ns(), self._last + 1)
            return self._last

    def headers(self, axon_hotkey: str, body_hash_hex: str, timeout: float) -> dict[str, str]:
        """The signed headers of one request to the axon with hotkey ``axon_hotkey``."""
        nonce = self.next_nonce()
        signature = self.keypair.sign(signing_message(nonce, self.hotkey, axon_hotkey, body_hash_hex))
        return {HEADERS["caller"]: self.hotkey, HEADERS["axon"]: axon_hotkey, HEADERS["nonce"]: str(nonce),
                HEADERS["signature"]: signature.hex(), HEADERS["timeout"]: repr(float(timeout)),
                HEADERS["body_hash"]: body_hash_hex}


@lru_cache(maxsize=4096)
def _public_keypair(ss58: str) -> Keypair:
    return Keypair(ss58_address=ss58, crypto_type=KeypairType.SR25519)


def verify_signature(signature_hex: str, nonce: int, caller_hotkey: str, axon_hotkey: str, body_hash_hex: str) -> None:
    """Check a request's signature; raises `TransportError` 401 when it does not verify.

    Any 64 bytes may arrive as a signature; bytes that are not an sr25519 signature at all (the
    verifier raises for those) are refused like a wrong one, never as a server error.
    """
    try:
        signature = bytes.fromhex(signature_hex)
        public = _public_keypair(caller_hotkey)
    except ValueError as e:
        raise TransportError(401, f"malformed caller hotkey or signature: {e}") from None
    if len(signature) != 64:
        raise TransportError(401, f"signature of {len(signature)} bytes; sr25519 signatures are 64")
    try:
        ok = public.verify(signing_message(nonce, caller_hotkey, axon_hotkey, body_hash_hex), signature)
    except Exception as e:  # e.g. "Signature bytes not marked as a schnorrkel signature"
        raise TransportError(401, f"signature of {caller_hotkey} is not a valid sr25519 signature: {e}") from None
    if not ok:
        raise TransportError(401, f"signature of {caller_hotkey} does not verify over nonce, hotkeys and body hash")


class NonceWindow:
    """Nonces seen per caller over the last ``window_s`` seconds; refuses repeats and stale nonces.

    Not thread-safe: the axon calls it from its one event loop thread.
    """

    def __init__(self, window_s: float = 60.0):
        self.window_ns = int(window_s * 1e9)
        self._seen: dict[str, set[int]] = {}
        self._heaps: dict[str, list[int]] = {}
        self._checks = 0

    def check(self, caller_hotkey: str, nonce: int, now_ns: int | None = None) -> None:
        """Record ``nonce`` for ``caller_hotkey``; raises `TransportError` 409 if it was seen or is out of the window."""
        now = time.time_ns() if now_ns is None else now_ns
        if not now - self.window_ns <= nonce <= now + self.window_ns:
            raise TransportError(409, f"nonce {nonce} is {(now - nonce) / 1e9:+.1f} s from the axon's clock, "
                                      f"outside the {self.window_ns / 1e9:g} s window")
        seen = self._seen.get(caller_hotkey)
        if seen is None:
            seen = self._seen[caller_hotkey] = set()
            self._heaps[caller_hotkey] = []
        if nonce in seen:
            raise TransportError(409, f"nonce {nonce} from {caller_hotkey} was already used (a replayed request)")
        heap = self._heaps[caller_hotkey]
        seen.add(nonce)
        heapq.heappush(heap, nonce)
        cutoff = now - self.window_ns
        while heap[0] < cutoff:  # those can never be accepted again, so need not be remembered
            seen.discard(heapq.heappop(heap))
        self._checks += 1
        if self._checks % 4096 == 0:  # now and then, forget callers that went quiet
            for caller in [c for c, h in self._heaps.items() if max(h) < cutoff]:
                del self._seen[caller], self._heaps[caller]
