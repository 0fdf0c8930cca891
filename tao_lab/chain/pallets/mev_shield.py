"""pallet_shield (``MevShield``): MEV-shielded submission, extrinsics encrypted until the block author runs them.

A user reads ``NextKey`` (an ML-KEM-768 encapsulation key), signs an extrinsic (the *inner* one, usually at
their nonce + 1), encrypts it to that key (`tao_lab.chain.shield_crypto` has the format) and submits it
inside ``submit_encrypted(ciphertext)``, the *carrier*, signed at their nonce with a mortal era of at most
8 blocks. The block author decrypts the carrier and includes the inner extrinsic right after it, in the
same block, as an ordinary extrinsic: its own signer, nonce, fee, events and receipt.

On the devnet (`tao_lab.chain.chain.Chain` is the block author):

- one well-known key pair, derived from a fixed seed (`shield_crypto.DEV_SEED`), is written to
  ``CurrentKey``, ``PendingKey`` and ``NextKey`` at genesis and never rotates, like subtensor's dev node
  (``DevShieldKeystore``). A persisted devnet has the same key after a restart. The expiry items move on
  every block as on subtensor (``PendingKeyExpiresAt`` = block + 2, ``NextKeyExpiresAt`` = block + 3);
  ``AuthorKeys`` stays empty, the devnet has no Aura authorities.
- a carrier is checked when it is submitted: besides subtensor's checks (a mortal era of at most 8
  blocks, else "Transaction is outdated"; a ciphertext that parses, else custom error 23), the devnet
  decrypts it and validates the inner extrinsic as the pool would, so a wrong key hash (custom error 24),
  an undecryptable ciphertext or an invalid inner extrinsic (bad signature, wrong nonce, unpayable fee)
  is refused with an error that says which, and nothing reaches a block. On subtensor such a carrier
  is included and pays its fee while the author silently drops the inner extrinsic.
- the inner extrinsic runs right after its carrier. If it has turned invalid by then (a transaction
  with the same nonce got in first), it is left out and the carrier stays, as on subtensor.
- ``store_encrypted`` queues ciphertexts for ``on_initialize``, which subtensor's runtime cannot
  decrypt (its ``ExtrinsicDecryptor`` is ``()``): each one is removed in the next block with
  ``ExtrinsicDecodeFailed`` (or ``ExtrinsicExpired``). The devnet does the same.
"""

from __future__ import annotations

from .. import shield_crypto
from ..pallet import Ctx, DispatchError, Pallet, StorageMap, StorageValue, blake2_256, call
from ..scale import U8, U32, U64, AccountId, Array, Bool, Bytes, F, H256, Option, Struct, V, compact_encode
from ..types import DispatchError as DispatchErrorType

__all__ = ["MevShield", "ShieldEncKey", "MAX_SHIELD_ERA_PERIOD", "FAILED_SHIELDED_TX_PARSING",
           "INVALID_SHIELDED_TX_PUB_KEY_HASH"]

#: ``ShieldEncKey``: a bounded byte vector (an ML-KEM-768 encapsulation key, 1184 bytes)
ShieldEncKey = Struct("bounded_collections::bounded_vec::BoundedVec", [F(None, Bytes, "Vec<T>")])
_BoundedBytes = ShieldEncKey  # the same SCALE shape: BoundedVec<u8, _>
_AuraId = Struct("sp_consensus_aura::sr25519::app_sr25519::Public",
                 [F(None, Struct("sp_core::sr25519::Public", [F(None, Array(U8, 32), "[u8; 32]")]), "sr25519::Public")])

PendingExtrinsic = Struct("pallet_shield::pallet::PendingExtrinsic", [
    F("who", AccountId, "T::AccountId", "The account that submitted the extrinsic."),
    F("encrypted_call", _BoundedBytes, "BoundedVec<u8, MaxEncryptedCallSize>", "The encoded call data."),
    F("submitted_at", U32, "BlockNumberFor<T>", "The block number when the extrinsic was submitted."),
])

#: ``submit_encrypted`` signed with an immortal era or a longer one is refused (subtensor's CheckMortality)
MAX_SHIELD_ERA_PERIOD = 8
#: subtensor's ``CustomTransactionError`` codes for a carrier
FAILED_SHIELDED_TX_PARSING = 23
INVALID_SHIELDED_TX_PUB_KEY_HASH = 24

MAX_ON_INITIALIZE_WEIGHT = 2_000_000_000_000
STORE_ENCRYPTED_WEIGHT = 20_000_000_000
_INDEX = [F("index", U32, "u32")]


class MevShield(Pallet):
    name = "MevShield"
    index = 30
    module = "pallet_shield"
    docs = ("MEV-shielded (encrypted) extrinsics: the ML-KEM-768 key users encrypt to, and the carrier call "
            "whose decrypted inner extrinsic the block author includes after it.")

    # ------------------------------------------------------------------ storage

    CurrentKey = StorageValue(ShieldEncKey, optional=True,
                              docs="Current block author's ML-KEM-768 encapsulation key (internal, not for encryption).")
    PendingKey = StorageValue(ShieldEncKey, optional=True,
                              docs="Next block author's key, staged here before promoting to `CurrentKey`.")
    NextKey = StorageValue(ShieldEncKey, optional=True, docs="Key users should encrypt with (N+2 author's key).")
    AuthorKeys = StorageMap("Twox64Concat", _AuraId, ShieldEncKey, optional=True,
                            docs="Per-author ML-KEM-768 encapsulation key, updated each time the author produces a "
                                 "block (devnet: empty, it has no Aura authorities).")
    PendingKeyExpiresAt = StorageValue(U32, optional=True,
                                       docs="Block number at which `PendingKey` is no longer valid (exclusive upper "
                                            "bound). Updated every block during rotation.")
    NextKeyExpiresAt = StorageValue(U32, optional=True,
                                    docs="Block number at which `NextKey` is no longer valid (exclusive upper bound). "
                                         "Updated every block during rotation.")
    HasMigrationRun = StorageMap("Identity", _BoundedBytes, Bool, default=False,
                                 docs="Stores whether some migration has been run.")
    MaxPendingExtrinsicsLimit = StorageValue(U32, default=100,
                                             docs="Configurable maximum number of pending extrinsics. Defaults to 100 "
                                                  "if not explicitly set via `set_max_pending_extrinsics`.")
    ExtrinsicLifetime = StorageValue(U32, default=10,
                                     docs="Configurable extrinsic lifetime (max block difference between submission "
                                          "and execution). Defaults to 10 blocks if not explicitly set.")
    OnInitializeWeight = StorageValue(U64, default=500_000_000_000,
                                      docs="Configurable maximum weight for on_initialize processing. Defaults to "
                                           "500_000_000_000 ref_time if not explicitly set.")
    MaxExtrinsicWeight = StorageValue(U64, default=50_000_000_000,
                                      docs="Configurable maximum weight for a single extrinsic dispatched during "
                                           "on_initialize. Extrinsics exceeding this limit are removed from the queue.")
    PendingExtrinsics = StorageMap("Identity", U32, PendingExtrinsic, optional=True,
                                   docs="Storage map for encrypted extrinsics to be executed in on_initialize. Uses "
                                        "u32 index for O(1) insertion and removal. Count is maintained automatically.")
    CounterForPendingExtrinsics = StorageValue(U32, docs="Counter for the related counted storage map")
    NextPendingExtrinsicIndex = StorageValue(U32, docs="Next index to use when inserting a pending extrinsic "
                                                       "(unique auto-increment).")

    # ------------------------------------------------------------------ events and errors

    events = [
        V("EncryptedSubmitted", [F("id", H256, "T::Hash"), F("who", AccountId, "T::AccountId")],
          "Encrypted wrapper accepted."),
        V("ExtrinsicStored", [*_INDEX, F("who", AccountId, "T::AccountId")],
          "Encrypted extrinsic was stored for later execution."),
        V("ExtrinsicDecodeFailed", _INDEX, "Extrinsic decode failed during on_initialize."),
        V("ExtrinsicDispatchFailed", [*_INDEX, F("error", DispatchErrorType, "DispatchError")],
          "Extrinsic dispatch failed during on_initialize."),
        V("ExtrinsicDispatched", _INDEX, "Extrinsic was successfully dispatched during on_initialize."),
        V("ExtrinsicExpired", _INDEX, "Extrinsic expired (exceeded max block lifetime)."),
        V("ExtrinsicPostponed", _INDEX, "Extrinsic postponed due to weight limit."),
        V("MaxPendingExtrinsicsNumberSet", [F("value", U32, "u32")], "Maximum pending extrinsics limit was updated."),
        V("OnInitializeWeightSet", [F("value", U64, "u64")], "Maximum on_initialize weight was updated."),
        V("ExtrinsicLifetimeSet", [F("value", U32, "u32")], "Extrinsic lifetime was updated."),
        V("MaxExtrinsicWeightSet", [F("value", U64, "u64")], "Maximum per-extrinsic weight was updated."),
        V("ExtrinsicWeightExceeded", _INDEX, "Extrinsic exceeded the per-extrinsic weight limit and was removed."),
    ]
    errors = [
        ("BadEncKeyLen", "The announced ML‑KEM encapsulation key length is invalid."),
        ("Unreachable", "Unreachable."),
        ("TooManyPendingExtrinsics", "Too many pending extrinsics in storage."),
        ("WeightExceedsAbsoluteMax", "Weight exceeds the absolute maximum (half of total block weight)."),
    ]

    # ------------------------------------------------------------------ calls

    @call(0, F("enc_key", Option(ShieldEncKey), "Option<ShieldEncKey>"), weight=33_661_000)
    def announce_next_key(self, ctx: Ctx, enc_key):
        """Rotate the key chain and announce the current author's ML-KEM encapsulation key: an inherent on
        subtensor, which the devnet does not send (its key never rotates), so a signed call is refused."""
        raise DispatchError(None, "BadOrigin", "announce_next_key is an inherent (origin none); the devnet's key "
                                               "is fixed and announced at genesis")

    @call(1, F("ciphertext", _BoundedBytes, "BoundedVec<u8, ConstU32<8192>>"), weight=207_223_000)
    def submit_encrypted(self, ctx: Ctx, ciphertext):
        """Users submit an encrypted wrapper: `ciphertext` = key_hash (twox_128 of `NextKey`, 16 bytes) ++ kem_len
        (u16) ++ ML-KEM-768 ciphertext ++ nonce (24) ++ XChaCha20-Poly1305 ciphertext of a signed extrinsic. The
        block author decrypts it and includes that extrinsic after this one, in the same block."""
        who = ctx.ensure_signed()
        ciphertext = bytes(ciphertext)
        event_id = blake2_256(who + compact_encode(len(ciphertext)) + ciphertext)  # hash_of(&(who, &ciphertext))
        ctx.event(self.name, "EncryptedSubmitted", {"id": event_id, "who": who})

    @call(2, F("encrypted_call", _BoundedBytes, "BoundedVec<u8, MaxEncryptedCallSize>"), weight=STORE_ENCRYPTED_WEIGHT)
    def store_encrypted(self, ctx: Ctx, encrypted_call):
        """Store an encrypted extrinsic for later execution in on_initialize."""
        who = ctx.ensure_signed()
        if self.CounterForPendingExtrinsics.get(ctx.state) >= self.MaxPendingExtrinsicsLimit.get(ctx.state):
            raise self.error("TooManyPendingExtrinsics")
        index = self.NextPendingExtrinsicIndex.get(ctx.state)
        self.PendingExtrinsics.set(ctx.state, index, {"who": who, "encrypted_call": bytes(encrypted_call),
                                                      "submitted_at": ctx.block_number})
        self.CounterForPendingExtrinsics.mutate(ctx.state, fn=lambda n: n + 1)
        self.NextPendingExtrinsicIndex.set(ctx.state, (index + 1) % (1 << 32))
        ctx.event(self.name, "ExtrinsicStored", {"index": index, "who": who})

    @call(3, F("value", U32, "u32"), weight=4_206_000)
    def set_max_pending_extrinsics_number(self, ctx: Ctx, value):
        """Set the maximum number of pending extrinsics allowed in the queue."""
        self._root_set(ctx, self.MaxPendingExtrinsicsLimit, value, "MaxPendingExtrinsicsNumberSet")

    @call(4, F("value", U64, "u64"), weight=4_327_000)
    def set_on_initialize_weight(self, ctx: Ctx, value):
        """Set the maximum weight allowed for on_initialize processing. Rejects values exceeding the absolute
        limit (half of total block weight)."""
        self._root_set(ctx, self.OnInitializeWeight, value, "OnInitializeWeightSet", limit=MAX_ON_INITIALIZE_WEIGHT)

    @call(5, F("value", U32, "u32"), weight=4_116_000)
    def set_stored_extrinsic_lifetime(self, ctx: Ctx, value):
        """Set the extrinsic lifetime (max blocks between submission and execution)."""
        self._root_set(ctx, self.ExtrinsicLifetime, value, "ExtrinsicLifetimeSet")

    @call(6, F("value", U64, "u64"), weight=4_227_000)
    def set_max_extrinsic_weight(self, ctx: Ctx, value):
        """Set the maximum weight allowed for a single extrinsic during on_initialize processing. Extrinsics
        exceeding this limit are removed from the queue. Rejects values exceeding the absolute limit."""
        self._root_set(ctx, self.MaxExtrinsicWeight, value, "MaxExtrinsicWeightSet", limit=MAX_ON_INITIALIZE_WEIGHT)

    def _root_set(self, ctx: Ctx, item, value, event: str, limit: int | None = None) -> None:
        """A root-only setter: check the origin (and the absolute limit), store, announce."""
        ctx.ensure_root()
        if limit is not None and value > limit:
            raise self.error("WeightExceedsAbsoluteMax")
        item.set(ctx.state, value)
        ctx.event(self.name, event, {"value": value})

    # ------------------------------------------------------------------ hooks

    def genesis(self, ctx: Ctx, config: dict) -> None:
        enc_key, _ = shield_crypto.dev_key_pair()
        for item in (self.CurrentKey, self.PendingKey, self.NextKey):
            item.set(ctx.state, enc_key)
        self._set_expiries(ctx, 0)

    def on_initialize(self, ctx: Ctx, number: int) -> None:
        # subtensor rotates CurrentKey <- PendingKey <- NextKey <- the N+2 author's key in an inherent; with
        # one fixed key only the expiries move
        self._set_expiries(ctx, number)
        self._process_pending_extrinsics(ctx, number)

    def _set_expiries(self, ctx: Ctx, number: int) -> None:
        if self.PendingKey.contains(ctx.state):
            self.PendingKeyExpiresAt.set(ctx.state, number + 2)
        if self.NextKey.contains(ctx.state):
            self.NextKeyExpiresAt.set(ctx.state, number + 3)

    def _process_pending_extrinsics(self, ctx: Ctx, number: int) -> None:
        """Empty the ``store_encrypted`` queue: expired entries go with ``ExtrinsicExpired``, the others with
        ``ExtrinsicDecodeFailed``, since subtensor's runtime has no decryptor for them (``ExtrinsicDecryptor = ()``)."""
        count = self.CounterForPendingExtrinsics.get(ctx.state)
        if not count:
            return
        next_index = self.NextPendingExtrinsicIndex.get(ctx.state)
        lifetime = self.ExtrinsicLifetime.get(ctx.state)
        for index in range(max(next_index - count, 0), next_index):
            pending = self.PendingExtrinsics.get(ctx.state, index)
            if pending is None:
                continue
            self.PendingExtrinsics.remove(ctx.state, index)
            self.CounterForPendingExtrinsics.mutate(ctx.state, fn=lambda n: max(n - 1, 0))
            expired = number - pending["submitted_at"] > lifetime
            ctx.event(self.name, "ExtrinsicExpired" if expired else "ExtrinsicDecodeFailed", {"index": index})

    # ------------------------------------------------------------------ the block author's side

    def unshield(self, state, ciphertext: bytes) -> bytes:
        """The signed extrinsic (length-prefixed bytes) that ``submit_encrypted(ciphertext)`` carries.

        Raises `InvalidTransaction` with subtensor's custom error code where it has one: 23 for a ciphertext
        that does not parse, 24 for one made for a key other than ``NextKey``; a ciphertext that does not
        decrypt gets a plain reason.
        """
        from ..extrinsic import InvalidTransaction

        ciphertext = bytes(ciphertext)
        if len(ciphertext) > shield_crypto.MAX_CIPHERTEXT_LEN:
            raise InvalidTransaction(f"Could not decode the transaction: MevShield.submit_encrypted's ciphertext is "
                                     f"{len(ciphertext)} bytes, more than its bound of {shield_crypto.MAX_CIPHERTEXT_LEN}")
        try:
            tx = shield_crypto.ShieldedTransaction.parse(ciphertext)
        except shield_crypto.ShieldError as exc:
            raise InvalidTransaction(f"Custom error: {FAILED_SHIELDED_TX_PARSING} (FailedShieldedTxParsing: {exc})") from None
        enc_key, dec_key = shield_crypto.dev_key_pair()
        published = self.NextKey.get(state)
        if published is None or bytes(published) != enc_key:
            raise InvalidTransaction("MevShield has no key of this devnet in NextKey; shielded submission is off")
        if tx.key_hash != shield_crypto.key_hash(enc_key):
            raise InvalidTransaction(
                f"Custom error: {INVALID_SHIELDED_TX_PUB_KEY_HASH} (InvalidShieldedTxPubKeyHash: the ciphertext names "
                f"key 0x{tx.key_hash.hex()}, but MevShield.NextKey's twox_128 is 0x{shield_crypto.key_hash(enc_key).hex()}: "
                "encrypt to the key read from MevShield.NextKey)")
        try:
            return shield_crypto.decrypt(dec_key, tx)
        except shield_crypto.ShieldError as exc:
            raise InvalidTransaction(f"MevShield could not decrypt the ciphertext: {exc}") from None
