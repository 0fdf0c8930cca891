"""Key files on disk, in bittensor-wallet's format, so wallets move freely between tao_lab and btcli.

A key file holds one keypair as JSON (bittensor-wallet's field names)::

    {"accountId": "0x<public key>", "publicKey": "0x<public key>", "privateKey": "0x<64-byte secret>",
     "secretPhrase": "<mnemonic>", "secretSeed": "0x<32-byte mini secret>", "ss58Address": "5..."}

Public files (``coldkeypub.txt``, ``<hotkey>pub.txt``) carry only ``accountId``, ``publicKey`` and
``ss58Address``. Newer bittensor-wallet also writes ``"cryptoType": 1`` (sr25519); it is read but not
written, because older bittensor-wallet releases parse every field as a string.

An encrypted file is ``b"$NACL" + nonce (24 bytes) + SecretBox(JSON)``: libsodium's XSalsa20-Poly1305
secret box, keyed by Argon2i (``crypto_pwhash_argon2i``) of the password with bittensor's fixed 16-byte
salt at libsodium's *sensitive* limits (8 passes, 512 MiB). Those limits make every encryption and
decryption cost a few seconds and 512 MiB of memory: that is the price of reading and writing the
same files as bittensor, whose format stores no cost parameters. Bittensor's older schemes (Ansible
Vault, Fernet) are recognised and refused with a message saying how to convert them.

Every write is atomic (a temporary file in the same folder, fsync, ``os.replace``) and leaves the
file with mode 0600; folders this module creates get 0700.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import nacl.exceptions
import nacl.pwhash
import nacl.secret
import nacl.utils
from substrateinterface import Keypair, KeypairType

from ..errors import InputError, TaoLabError

__all__ = [
    "NACL_PREFIX",
    "KeyFileError",
    "KeyFileExists",
    "WrongPassword",
    "decrypt",
    "encrypt",
    "is_encrypted",
    "keypair_from_json",
    "keypair_to_json",
    "public_json",
    "read_keypair",
    "write_keypair",
]

SS58_FORMAT = 42  #: the generic Substrate prefix bittensor uses ("5..." addresses)

# bittensor-wallet src/keyfile.rs: NACL_SALT and pwhash::argon2i13 OPSLIMIT/MEMLIMIT_SENSITIVE.
NACL_PREFIX = b"$NACL"
NACL_SALT = b"\x13q\x83\xdf\xf1Z\t\xbc\x9c\x90\xb5Q\x879\xe9\xb1"
ARGON2I_OPSLIMIT = nacl.pwhash.argon2i.OPSLIMIT_SENSITIVE  # 8 passes
ARGON2I_MEMLIMIT = nacl.pwhash.argon2i.MEMLIMIT_SENSITIVE  # 512 MiB
_LEGACY_PREFIXES = {b"$ANSIBLE_VAULT": "Ansible Vault", b"gAAAAA": "Fernet"}


class KeyFileError(TaoLabError):
    """A key file is missing, unreadable, damaged or in a form tao_lab cannot use.

    ``path`` is the file (a `pathlib.Path`, or None for data that came from no file).
    """

    def __init__(self, path: Path | str | None, message: str):
        self.path = Path(path) if path is not None else None
        super().__init__(message)


class WrongPassword(KeyFileError):
    """An encrypted key file did not open: the password is wrong (or missing, or the file was altered)."""


class KeyFileExists(KeyFileError, FileExistsError):
    """A write would replace an existing key file and ``overwrite=True`` was not given; nothing was written."""


# --- encryption -----------------------------------------------------------------------------------


def _derive_key(password: str) -> bytes:
    """Argon2i(password, bittensor's salt) → 32-byte SecretBox key. Costs seconds and 512 MiB by design."""
    return nacl.pwhash.argon2i.kdf(
        nacl.secret.SecretBox.KEY_SIZE, password.encode("utf-8"), NACL_SALT,
        opslimit=ARGON2I_OPSLIMIT, memlimit=ARGON2I_MEMLIMIT,
    )


def encrypt(data: bytes, password: str) -> bytes:
    """Encrypt key-file bytes as bittensor does: ``$NACL`` + 24-byte random nonce + SecretBox ciphertext."""
    if not isinstance(password, str) or not password:
        raise InputError("password", "a password must be a non-empty str (or None to store the key unencrypted)")
    box = nacl.secret.SecretBox(_derive_key(password))
    nonce = nacl.utils.random(nacl.secret.SecretBox.NONCE_SIZE)
    return NACL_PREFIX + box.encrypt(data, nonce)  # EncryptedMessage = nonce + ciphertext (MAC included)


def is_encrypted(data: bytes) -> bool:
    """True for any encrypted key file bittensor has written: NaCl, or the legacy Ansible Vault / Fernet."""
    return data.startswith(NACL_PREFIX) or any(data.startswith(p) for p in _LEGACY_PREFIXES)


def decrypt(data: bytes, password: str | None, path: Path | str | None = None) -> bytes:
    """Open a ``$NACL`` key file; raises `WrongPassword` when it does not open, `KeyFileError` when malformed."""
    where = f" at {path}" if path is not None else ""
    for prefix, scheme in _LEGACY_PREFIXES.items():
        if data.startswith(prefix):
            raise KeyFileError(
                path,
                f"the key file{where} uses bittensor's legacy {scheme} encryption, which tao_lab does not read: "
                "convert it with bittensor-wallet (Keyfile.check_and_update_encryption()) or restore the key "
                "from its mnemonic with regenerate_coldkey(mnemonic=...)",
            )
    if not data.startswith(NACL_PREFIX):
        raise KeyFileError(path, f"the key file{where} is not encrypted")
    body = data[len(NACL_PREFIX):]
    if len(body) < nacl.secret.SecretBox.NONCE_SIZE + nacl.secret.SecretBox.MACBYTES:
        raise KeyFileError(path, f"the encrypted key file{where} is truncated ({len(data)} bytes): restore it "
                                 "from a backup or regenerate the key from its mnemonic")
    if password is None:
        raise WrongPassword(path, f"the key file{where} is encrypted: pass its password "
                                  "(in a notebook, getpass.getpass() keeps it out of the saved cells)")
    try:
        return nacl.secret.SecretBox(_derive_key(password)).decrypt(body)
    except nacl.exceptions.CryptoError:
        raise WrongPassword(path, f"wrong password for the key file{where} (or the file was altered)") from None


# --- JSON <-> Keypair -----------------------------------------------------------------------------


def _hex(b: bytes) -> str:
    return "0x" + bytes(b).hex()


def _seed_bytes(seed) -> bytes | None:
    """substrate-interface keeps ``seed_hex`` as raw bytes or as a hex str, depending on how it was made."""
    if seed is None:
        return None
    if isinstance(seed, str):
        return bytes.fromhex(seed.removeprefix("0x"))
    return bytes(seed)


def public_json(keypair: Keypair) -> bytes:
    """The public key file (``coldkeypub.txt``): accountId, publicKey, ss58Address."""
    pub = _hex(keypair.public_key)
    return json.dumps({"accountId": pub, "publicKey": pub, "ss58Address": keypair.ss58_address}).encode()


def keypair_to_json(keypair: Keypair) -> bytes:
    """The secret key file: the public fields plus privateKey, and secretPhrase / secretSeed when known."""
    if keypair.private_key is None:
        raise KeyFileError(None, "this Keypair has no private key: only public_json() can be written from it")
    data = json.loads(public_json(keypair))
    data["privateKey"] = _hex(keypair.private_key)
    if keypair.mnemonic:
        data["secretPhrase"] = keypair.mnemonic
    seed = _seed_bytes(keypair.seed_hex)
    if seed is not None:
        data["secretSeed"] = _hex(seed)
    return json.dumps(data).encode()


def keypair_from_json(data: bytes, path: Path | str | None = None) -> Keypair:
    """A Keypair from key-file JSON, trying what bittensor tries, in its order.

    secretPhrase, then secretSeed, then privateKey give a full keypair; ss58Address or publicKey alone
    give a public one. A derived public key that disagrees with the stored one means a damaged file.
    """
    where = f" at {path}" if path is not None else ""
    damaged = f"the key file{where} is damaged"
    try:
        fields = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise KeyFileError(path, f"{damaged}: it is not JSON. Restore it from a backup or regenerate the key "
                                 "from its mnemonic") from None
    if not isinstance(fields, dict):
        raise KeyFileError(path, f"{damaged}: expected a JSON object")
    crypto = fields.get("cryptoType", KeypairType.SR25519)
    if crypto not in (KeypairType.SR25519, KeypairType.ED25519):
        raise KeyFileError(path, f"the key file{where} has cryptoType {crypto!r}: only sr25519 (1) and ed25519 (0) "
                                 "are read")

    def attempt(make):
        try:
            return make()
        except (ValueError, IndexError, TypeError) as e:  # what substrate-interface raises on bad input
            raise KeyFileError(path, f"{damaged}: {e}") from None

    def field(name):
        value = fields.get(name)
        if value is not None and not isinstance(value, str):
            raise KeyFileError(path, f"{damaged}: {name} is not a string")
        return value

    kw = {"ss58_format": SS58_FORMAT, "crypto_type": crypto}
    phrase, seed, private, ss58, public = (field(k) for k in
                                           ("secretPhrase", "secretSeed", "privateKey", "ss58Address", "publicKey"))
    if phrase:
        keypair = attempt(lambda: Keypair.create_from_mnemonic(phrase, **kw))
    elif seed and _is_hex(seed):  # bittensor may write a seed that is not hex; then it falls back like this
        keypair = attempt(lambda: Keypair.create_from_seed(seed, **kw))
    elif private and crypto == KeypairType.ED25519:  # an ed25519 private key is its 32-byte seed
        keypair = attempt(lambda: Keypair.create_from_seed(private, **kw))
    elif private:
        keypair = attempt(lambda: Keypair.create_from_private_key(private, **kw))
    elif ss58:
        keypair = attempt(lambda: Keypair(ss58_address=ss58, **kw))
    elif public:
        keypair = attempt(lambda: Keypair(public_key=public, **kw))
    else:
        raise KeyFileError(path, f"{damaged}: it holds no key (none of secretPhrase, secretSeed, privateKey, "
                                 "ss58Address, publicKey)")
    if public and _is_hex(public) and bytes.fromhex(public.removeprefix("0x")) != keypair.public_key:
        raise KeyFileError(path, f"{damaged}: its publicKey does not match the key it holds")
    if ss58 and ss58 != keypair.ss58_address and (public or phrase or seed or private):
        raise KeyFileError(path, f"{damaged}: its ss58Address does not match the key it holds")
    return keypair


def _is_hex(s: str) -> bool:
    try:
        bytes.fromhex(s.removeprefix("0x"))
        return True
    except ValueError:
        return False


# --- files ----------------------------------------------------------------------------------------


def read_keypair(path: Path | str, password: str | None = None) -> Keypair:
    """Read a key file, decrypting it when it is encrypted (``password`` is ignored for a plain one)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise KeyFileError(path, f"no key file at {path}") from None
    except OSError as e:
        raise KeyFileError(path, f"cannot read the key file at {path}: {e.strerror or e}") from None
    if not data.strip():
        raise KeyFileError(path, f"the key file at {path} is empty: restore it from a backup or regenerate the key "
                                 "from its mnemonic")
    if is_encrypted(data):
        data = decrypt(data, password, path)
    return keypair_from_json(data, path)


def ensure_dir(path: Path) -> None:
    """Create ``path`` and any missing parents with mode 0700; existing folders are left as they are."""
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=0o700)
        except FileExistsError:
            pass
        os.chmod(d, 0o700)  # mkdir's mode is filtered by the umask


def check_writable(path: Path, overwrite: bool) -> None:
    """Raise `KeyFileExists` when ``path`` exists and ``overwrite`` is false."""
    if not overwrite and (path.exists() or path.is_symlink()):
        raise KeyFileExists(path, f"refusing to overwrite the key file at {path}: pass overwrite=True to replace it "
                                  "(the key it holds is lost unless you have its mnemonic)")


def write_atomic(path: Path, data: bytes, overwrite: bool = False) -> None:
    """Write ``data`` to ``path`` with mode 0600, atomically: readers see the old file or the new, never half."""
    path = Path(path)
    check_writable(path, overwrite)
    ensure_dir(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)  # mkstemp: mode 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def write_keypair(path: Path | str, keypair: Keypair, password: str | None = None, overwrite: bool = False,
                  public_only: bool = False) -> None:
    """Write ``keypair`` as a key file: encrypted when ``password`` is given, public fields only if asked."""
    path = Path(path)
    check_writable(path, overwrite)  # before the slow encryption
    data = public_json(keypair) if public_only else keypair_to_json(keypair)
    if password is not None:
        data = encrypt(data, password)
    write_atomic(path, data, overwrite)
