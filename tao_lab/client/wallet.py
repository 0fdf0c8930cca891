"""`Wallet`: a coldkey that owns funds and signs stake moves, and hotkeys that neurons sign with.

Keys are sr25519, made by substrate-interface's `Keypair`. On disk a wallet is bittensor's layout, so
btcli and tao_lab read each other's wallets::

    <path>/<name>/coldkey             the coldkey: JSON keypair, encrypted when a password was given
    <path>/<name>/coldkeypub.txt      its public half, readable without the password
    <path>/<name>/hotkeys/<hotkey>    a hotkey: JSON keypair, unencrypted so neuron processes can sign
    <path>/<name>/hotkeys/<hotkey>pub.txt   its public half (newer bittensor-wallet reads it)

``path`` defaults to ``$TAO_LAB_WALLET_PATH``, else ``~/.bittensor/wallets``, read when a Wallet is
made. Nothing is created before a method that writes is called. The file format and encryption are
in `tao_lab.client.keyfile`.

Secrets never appear in a repr, a log or a printout: a new wallet's mnemonics live in its key files
(the coldkey's encrypted) and are read back on purpose with ``wallet.coldkey(pw).mnemonic`` and
``wallet.hotkey.mnemonic``.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from substrateinterface import Keypair

from ..errors import InputError, TaoLabError
from .keyfile import (
    SS58_FORMAT,
    KeyFileError,
    KeyFileExists,
    WrongPassword,
    check_writable,
    read_keypair,
    write_keypair,
)

__all__ = ["WALLET_PATH_ENV", "KeyFileError", "KeyFileExists", "Wallet", "WrongPassword", "default_wallet_path"]

WALLET_PATH_ENV = "TAO_LAB_WALLET_PATH"
_DEFAULT_WALLET_PATH = "~/.bittensor/wallets"
_MNEMONIC_WORDS = (12, 15, 18, 21, 24)


def default_wallet_path() -> Path:
    """Where wallets live unless a path is given: ``$TAO_LAB_WALLET_PATH``, else ``~/.bittensor/wallets``."""
    return Path(os.environ.get(WALLET_PATH_ENV) or _DEFAULT_WALLET_PATH).expanduser()


def _check_name(argument: str, value) -> str:
    """Wallet and hotkey names become file names: one path component, not hidden."""
    if not isinstance(value, str) or not value or value in (".", "..") or value.startswith(".") \
            or "/" in value or "\\" in value or "\0" in value:
        raise InputError(argument, f"expected a plain file name such as 'default', got {value!r}")
    return value


def _public(keypair: Keypair) -> Keypair:
    return Keypair(public_key=keypair.public_key, ss58_format=SS58_FORMAT, crypto_type=keypair.crypto_type)


def _new_keypair(n_words: int) -> Keypair:
    if n_words not in _MNEMONIC_WORDS:
        words = ", ".join(map(str, _MNEMONIC_WORDS))
        raise InputError("n_words", f"a BIP-39 mnemonic has {words} words, not {n_words}")
    return Keypair.create_from_mnemonic(Keypair.generate_mnemonic(n_words), ss58_format=SS58_FORMAT)


def _keypair_from(mnemonic: str | None, seed, uri: str | None) -> Keypair:
    """Exactly one of a BIP-39 mnemonic, a 32-byte seed (bytes or 0x-hex) or a secret URI."""
    given = [k for k, v in (("mnemonic", mnemonic), ("seed", seed), ("uri", uri)) if v is not None]
    if len(given) != 1:
        raise InputError("mnemonic", f"give exactly one of mnemonic=, seed= or uri= (got {', '.join(given) or 'none'})")
    try:
        if mnemonic is not None:
            return Keypair.create_from_mnemonic(" ".join(str(mnemonic).split()), ss58_format=SS58_FORMAT)
        if seed is not None:
            return Keypair.create_from_seed(seed, ss58_format=SS58_FORMAT)
        return Keypair.create_from_uri(uri, ss58_format=SS58_FORMAT)
    except (ValueError, IndexError, TypeError) as e:
        # substrate-interface's messages name the problem (bad word, seed length) without echoing the secret
        raise InputError(given[0], f"not a valid {given[0]}: {e}") from None


class Wallet:
    """A named coldkey with one selected hotkey, stored under ``path`` in bittensor's layout.

    ``Wallet("alice")`` only names files; ``create()`` writes them, ``coldkey(password)`` unlocks the
    coldkey (cached on this object until `lock`), ``hotkey`` reads the hotkey. ``Wallet("alice",
    hotkey="miner2")`` is the same coldkey with another hotkey. Writing methods refuse to replace an
    existing key file unless ``overwrite=True`` (`KeyFileExists`); reads raise `KeyFileError` (missing,
    damaged) or `WrongPassword`, each naming the file and what to do.
    """

    def __init__(self, name: str = "default", hotkey: str = "default", path: str | os.PathLike | None = None):
        self.name = _check_name("name", name)
        self.hotkey_name = _check_name("hotkey", hotkey)
        self.path = Path(path).expanduser() if path is not None else default_wallet_path()
        self._dev = False
        self._coldkey: Keypair | None = None
        self._coldkeypub: Keypair | None = None
        self._hotkey: Keypair | None = None

    @classmethod
    def dev(cls, uri: str, hotkey_uri: str | None = None) -> Wallet:
        """An in-memory wallet of well-known development keys: ``Wallet.dev("//Alice")``.

        The coldkey is ``uri`` (``//Alice``, ``//Bob``, ... are funded on the devnet); the hotkey is
        ``hotkey_uri``, by default ``uri + "//hotkey"`` (``//Alice//hotkey``). Nothing touches the
        disk: ``name`` and ``hotkey_name`` are the URIs, ``path`` is None, writing methods raise. To
        keep a dev key in files, use ``Wallet(name).regenerate_coldkey(uri="//Alice")``.
        """
        hotkey_uri = hotkey_uri if hotkey_uri is not None else f"{uri}//hotkey"
        for argument, value in (("uri", uri), ("hotkey_uri", hotkey_uri)):
            if not isinstance(value, str) or not value.startswith("//"):
                raise InputError(argument, "a dev wallet takes a derivation URI such as '//Alice'; for a mnemonic "
                                           "use Wallet(name).regenerate_coldkey(mnemonic=...)")
        w = cls.__new__(cls)
        w.name, w.hotkey_name, w.path, w._dev = uri.split("///")[0], hotkey_uri.split("///")[0], None, True
        w._coldkey = _keypair_from(None, None, uri)
        w._coldkeypub = _public(w._coldkey)
        w._hotkey = _keypair_from(None, None, hotkey_uri)
        return w

    # --- where the files are ----------------------------------------------------------------------

    @property
    def hotkey_str(self) -> str:
        """The hotkey's name (bittensor's spelling of `hotkey_name`)."""
        return self.hotkey_name

    @property
    def coldkey_file(self) -> Path:
        return self._files().joinpath("coldkey")

    @property
    def coldkeypub_file(self) -> Path:
        return self._files().joinpath("coldkeypub.txt")

    @property
    def hotkey_file(self) -> Path:
        return self._hotkey_file(self.hotkey_name)

    def _files(self) -> Path:
        if self._dev:
            raise InputError("wallet", f"dev wallet {self.name} lives in memory and has no files")
        return self.path / self.name

    def _hotkey_file(self, hotkey: str) -> Path:
        return self._files() / "hotkeys" / hotkey

    def _hotkeypub_file(self, hotkey: str) -> Path:
        return self._files() / "hotkeys" / f"{hotkey}pub.txt"

    def _constructor(self) -> str:
        return f"Wallet({self.name!r}, hotkey={self.hotkey_name!r}, path={str(self.path)!r})"

    # --- writing ----------------------------------------------------------------------------------

    def create(self, password: str | None = None, overwrite: bool = False, n_words: int = 12,
               exist_ok: bool = False) -> Wallet:
        """Make a new coldkey (from a fresh ``n_words`` mnemonic) and this wallet's hotkey; returns self.

        With ``password`` the coldkey is encrypted (Argon2i + SecretBox, a few seconds); without one it
        is stored in the clear and a `UserWarning` says so: fine for devnet keys, never for real TAO.
        An existing key file raises `KeyFileExists` before anything is written, unless ``overwrite``
        (replace both keys) or ``exist_ok`` (keep the existing coldkey, create the hotkey only if it is
        missing: safe to re-run in a notebook cell). No mnemonic is printed; read them back with
        ``coldkey(password).mnemonic`` and ``hotkey.mnemonic`` to write them down.
        """
        if exist_ok and not overwrite and self.coldkey_file.exists():
            if not self.hotkey_file.exists():
                self.create_hotkey(n_words=n_words)
            return self
        for f in (self.coldkey_file, self.coldkeypub_file, self.hotkey_file, self._hotkeypub_file(self.hotkey_name)):
            check_writable(f, overwrite)
        self._write_coldkey(_new_keypair(n_words), password, overwrite)
        self.create_hotkey(overwrite=overwrite, n_words=n_words)
        return self

    def create_hotkey(self, hotkey: str | None = None, overwrite: bool = False, n_words: int = 12) -> Keypair:
        """Make a new hotkey called ``hotkey`` (default: this wallet's), stored unencrypted; returns it."""
        name = _check_name("hotkey", hotkey) if hotkey is not None else self.hotkey_name
        keypair = _new_keypair(n_words)
        self._write_hotkey(name, keypair, overwrite)
        return keypair

    def regenerate_coldkey(self, mnemonic: str | None = None, seed: bytes | str | None = None,
                           password: str | None = None, overwrite: bool = False, uri: str | None = None) -> Wallet:
        """Restore the coldkey from its mnemonic, its 32-byte seed (bytes or 0x-hex) or a URI; returns self.

        The same mnemonic always gives the same SS58 address. ``password`` as in `create`.
        """
        keypair = _keypair_from(mnemonic, seed, uri)
        for f in (self.coldkey_file, self.coldkeypub_file):
            check_writable(f, overwrite)
        self._write_coldkey(keypair, password, overwrite)
        return self

    def regenerate_hotkey(self, mnemonic: str | None = None, seed: bytes | str | None = None,
                          overwrite: bool = False, uri: str | None = None) -> Wallet:
        """Restore this wallet's hotkey from its mnemonic, seed or URI (``uri="//Alice//miner1"``); returns self."""
        self._write_hotkey(self.hotkey_name, _keypair_from(mnemonic, seed, uri), overwrite)
        return self

    def _write_coldkey(self, keypair: Keypair, password: str | None, overwrite: bool) -> None:
        if password is None:
            warnings.warn(f"the coldkey of wallet {self.name!r} is stored unencrypted at {self.coldkey_file}: anyone "
                          "who can read the file can spend its funds. Pass password=... for keys that hold real TAO.",
                          UserWarning, stacklevel=3)
        write_keypair(self.coldkey_file, keypair, password, overwrite)
        write_keypair(self.coldkeypub_file, keypair, None, overwrite, public_only=True)
        self._coldkey, self._coldkeypub = keypair, _public(keypair)

    def _write_hotkey(self, name: str, keypair: Keypair, overwrite: bool) -> None:
        for f in (self._hotkey_file(name), self._hotkeypub_file(name)):
            check_writable(f, overwrite)
        write_keypair(self._hotkey_file(name), keypair, None, overwrite)
        write_keypair(self._hotkeypub_file(name), keypair, None, overwrite, public_only=True)
        if name == self.hotkey_name:
            self._hotkey = keypair

    # --- reading ----------------------------------------------------------------------------------

    def coldkey(self, password: str | None = None) -> Keypair:
        """The unlocked coldkey (signs transfers, staking, registration); cached on this object until `lock`.

        ``password`` is needed once for an encrypted coldkey (`WrongPassword` otherwise) and ignored for
        a plain one. In a notebook, ``wallet.coldkey(getpass.getpass())`` keeps it out of the saved cells.
        """
        if self._coldkey is None:
            keypair = self._read(self.coldkey_file, "coldkey", password)
            if keypair.private_key is None:
                raise KeyFileError(self.coldkey_file, f"the coldkey at {self.coldkey_file} holds only a public key: "
                                   "restore it with regenerate_coldkey(mnemonic=..., overwrite=True)")
            pub = self.coldkeypub_file
            if pub.exists() and self._read(pub, "coldkeypub").public_key != keypair.public_key:
                raise KeyFileError(pub, f"{pub} does not match the coldkey beside it: one of them was replaced; "
                                   "regenerate_coldkey(..., overwrite=True) rewrites both")
            self._coldkey, self._coldkeypub = keypair, _public(keypair)
        return self._coldkey

    def lock(self) -> None:
        """Forget the unlocked coldkey (a dev wallet keeps its keys: they are public knowledge)."""
        if not self._dev:
            self._coldkey = None

    @property
    def coldkeypub(self) -> Keypair:
        """The coldkey's public half (an SS58 address, no secret), readable without the password."""
        if self._coldkeypub is None:
            if not self.coldkeypub_file.exists() and self.coldkey_file.exists():
                self._coldkeypub = _public(self.coldkey())  # a plain coldkey opens; an encrypted one says so
            else:
                self._coldkeypub = self._read(self.coldkeypub_file, "coldkeypub")
        return self._coldkeypub

    @property
    def hotkey(self) -> Keypair:
        """The selected hotkey (signs weights, serving); read from its file once, then cached."""
        if self._hotkey is None:
            try:
                self._hotkey = self._read(self.hotkey_file, "hotkey")
            except WrongPassword:
                raise KeyFileError(self.hotkey_file, f"the hotkey at {self.hotkey_file} is encrypted, and neurons read "
                                                     "hotkeys in the clear: rewrite it with regenerate_hotkey(mnemonic="
                                                     "..., overwrite=True)") from None
        return self._hotkey

    @property
    def coldkey_ss58(self) -> str:
        """The coldkey's SS58 address ("5...")."""
        return self.coldkeypub.ss58_address

    @property
    def hotkey_ss58(self) -> str:
        """The selected hotkey's SS58 address ("5...")."""
        return self.hotkey.ss58_address

    def _read(self, path: Path, what: str, password: str | None = None) -> Keypair:
        if not path.exists():
            if what == "hotkey":
                todo = f"{self._constructor()}.create_hotkey() or .regenerate_hotkey(mnemonic=...)"
            else:
                todo = f"{self._constructor()}.create(password=...) or .regenerate_coldkey(mnemonic=...)"
            raise KeyFileError(path, f"no {what} at {path}: create it with {todo}")
        return read_keypair(path, password)

    def exists(self) -> bool:
        """True when this wallet's coldkey and selected hotkey are both on disk (always, for a dev wallet)."""
        return self._dev or (self.coldkey_file.exists() and self.hotkey_file.exists())

    @staticmethod
    def list(path: str | os.PathLike | None = None) -> list[tuple[str, list[str]]]:
        """``[(wallet name, [hotkey names]), ...]`` under ``path`` (default: `default_wallet_path`), sorted.

        A folder is a wallet when it holds a coldkey, a coldkeypub.txt or a hotkeys folder. A missing
        ``path`` gives ``[]`` (and is not created).
        """
        root = Path(path).expanduser() if path is not None else default_wallet_path()
        if not root.is_dir():
            return []
        wallets = []
        for d in sorted(root.iterdir()):
            if d.name.startswith(".") or not d.is_dir():
                continue
            hotkeys_dir = d / "hotkeys"
            if not ((d / "coldkey").exists() or (d / "coldkeypub.txt").exists() or hotkeys_dir.is_dir()):
                continue
            names = {f.name for f in hotkeys_dir.iterdir() if f.is_file() and not f.name.startswith(".")} \
                if hotkeys_dir.is_dir() else set()
            hotkeys = sorted(n for n in names if not (n.endswith("pub.txt") and n[: -len("pub.txt")] in names))
            wallets.append((d.name, hotkeys))
        return wallets

    def __repr__(self) -> str:
        # names and SS58 addresses only, read from public files; what cannot be read is left out
        parts = []
        for label, cached, public_file in (("coldkey", "_coldkeypub", "coldkeypub_file"), ("hotkey", "_hotkey", None)):
            key = getattr(self, cached)
            if key is None:
                try:
                    path = getattr(self, public_file) if public_file else self._hotkeypub_file(self.hotkey_name)
                    key = read_keypair(path) if path.exists() else None
                except (TaoLabError, OSError):  # a repr must not raise on a damaged file
                    key = None
            if key is not None:
                parts.append(f", {label}_ss58={key.ss58_address!r}")
        if self._dev:
            return f"Wallet.dev({self.name!r}, hotkey_uri={self.hotkey_name!r}{''.join(parts)})"
        return f"{self._constructor()[:-1]}{''.join(parts)})"
