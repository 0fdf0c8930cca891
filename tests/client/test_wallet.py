"""`Wallet` and its key files: round trips, permissions, errors, dev wallets, bittensor's format.

Every encryption or decryption runs Argon2i at bittensor's sensitive limits (8 passes, 512 MiB,
about 2.5 s on a 2-core CI machine), so the tests that need a password share one encrypted wallet
and the rest use plain coldkeys.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import warnings
from pathlib import Path

import nacl.pwhash
import nacl.secret
import nacl.utils
import pytest
from substrateinterface import Keypair

from tao_lab.client.keyfile import KeyFileError, KeyFileExists, WrongPassword
from tao_lab.client.wallet import Wallet
from tao_lab.errors import InputError, TaoLabError

PASSWORD = "correct horse battery staple"
ALICE = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
# What bittensor-wallet 4.1.1 wrote for create_coldkey_from_uri("//Alice"): a URI key has no seed or
# mnemonic, only this 64-byte sr25519 secret.
ALICE_PRIVATE_KEY_BY_BITTENSOR = ("0x33a6f3093f158a7109f679410bef1a0c54168145e0cecb4df006c1c2fffb1f09"
                                  "925a225d97aa00682d6a59b95b18780c10d7032336e88f3442b42361f4a66011")
# bittensor-wallet src/keyfile.rs NACL_SALT
NACL_SALT = b"\x13q\x83\xdf\xf1Z\t\xbc\x9c\x90\xb5Q\x879\xe9\xb1"


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def plain_wallet(path, name="plain", hotkey="default") -> Wallet:
    """A wallet with an unencrypted coldkey: instant, unlike an encrypted one."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return Wallet(name, hotkey, path=path).create()


@pytest.fixture(scope="module")
def encrypted(tmp_path_factory):
    """One password-protected wallet: (path, the Wallet that created it)."""
    path = tmp_path_factory.mktemp("wallets")
    return path, Wallet("enc", "miner", path=path).create(password=PASSWORD)


def test_create_then_load_round_trip(encrypted):
    path, created = encrypted
    loaded = Wallet("enc", "miner", path=path)
    assert loaded.exists()
    # the public halves need no password
    assert loaded.coldkey_ss58 == created.coldkey_ss58
    assert loaded.hotkey_ss58 == created.hotkey_ss58
    assert loaded.hotkey.private_key == created.hotkey.private_key
    coldkey = loaded.coldkey(PASSWORD)
    assert coldkey.ss58_address == created.coldkey_ss58
    assert coldkey.mnemonic == created.coldkey().mnemonic and len(coldkey.mnemonic.split()) == 12
    assert loaded.coldkey() is coldkey  # unlocked once, cached on the object
    signature = coldkey.sign(b"stake")
    assert loaded.coldkeypub.verify(b"stake", signature)
    assert loaded.coldkeypub.private_key is None
    loaded.lock()
    with pytest.raises(WrongPassword, match="encrypted: pass its password"):
        loaded.coldkey()


def test_wrong_password_is_a_clear_error(encrypted):
    path, _ = encrypted
    with pytest.raises(WrongPassword) as e:
        Wallet("enc", "miner", path=path).coldkey("not the password")
    assert isinstance(e.value, KeyFileError) and isinstance(e.value, TaoLabError)
    assert e.value.path == path / "enc" / "coldkey"
    assert "wrong password" in str(e.value) and str(path / "enc" / "coldkey") in str(e.value)


def test_files_layout_permissions_and_nothing_secret_in_the_clear(encrypted):
    path, created = encrypted
    root = path / "enc"
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == \
        ["coldkey", "coldkeypub.txt", "hotkeys", "hotkeys/miner", "hotkeys/minerpub.txt"]  # no temp files left
    for f in ("coldkey", "coldkeypub.txt", "hotkeys/miner", "hotkeys/minerpub.txt"):
        assert mode(root / f) == 0o600, f
    assert mode(root) == mode(root / "hotkeys") == 0o700
    coldkey = (root / "coldkey").read_bytes()
    assert coldkey.startswith(b"$NACL") and created.coldkey().mnemonic.encode() not in coldkey
    pub = json.loads((root / "coldkeypub.txt").read_text())
    assert pub == {"accountId": "0x" + created.coldkeypub.public_key.hex(),
                   "publicKey": "0x" + created.coldkeypub.public_key.hex(), "ss58Address": created.coldkey_ss58}
    hot = json.loads((root / "hotkeys" / "miner").read_text())  # neurons read it without a password
    assert hot["ss58Address"] == created.hotkey_ss58 and hot["secretPhrase"] == created.hotkey.mnemonic
    assert set(hot) == {"accountId", "publicKey", "privateKey", "secretPhrase", "secretSeed", "ss58Address"}


def test_repr_shows_names_and_addresses_never_secrets(tmp_path):
    w = plain_wallet(tmp_path, "show")
    text = repr(w) + repr(Wallet("show", path=tmp_path)) + str(w)
    assert w.coldkey_ss58 in text and w.hotkey_ss58 in text and "'show'" in text
    for secret in (w.coldkey().mnemonic, w.hotkey.mnemonic, w.coldkey().private_key.hex(), w.hotkey.private_key.hex()):
        assert secret not in text
    assert repr(Wallet("absent", path=tmp_path)) == f"Wallet('absent', hotkey='default', path='{tmp_path}')"


def test_unencrypted_coldkey_warns_and_opens_without_password(tmp_path):
    with pytest.warns(UserWarning, match="stored unencrypted"):
        w = Wallet("plain", path=tmp_path).create()
    assert not (tmp_path / "plain" / "coldkey").read_bytes().startswith(b"$NACL")
    assert Wallet("plain", path=tmp_path).coldkey().ss58_address == w.coldkey_ss58
    assert Wallet("plain", path=tmp_path).coldkey("ignored for a plain file").ss58_address == w.coldkey_ss58
    with pytest.raises(InputError, match="password"):
        Wallet("other", path=tmp_path).create(password="")
    assert not (tmp_path / "other").exists()


def test_missing_wallet_says_how_to_create_it(tmp_path):
    w = Wallet("ghost", "h1", path=tmp_path)
    assert not w.exists()
    with pytest.raises(KeyFileError, match=r"no coldkey at .*ghost/coldkey: create it with Wallet\('ghost'") as e:
        w.coldkey("pw")
    assert e.value.path == tmp_path / "ghost" / "coldkey"
    with pytest.raises(KeyFileError, match=r"no hotkey at .*ghost/hotkeys/h1: create it with .*create_hotkey\(\)"):
        _ = w.hotkey_ss58
    with pytest.raises(KeyFileError, match="no coldkeypub"):
        _ = w.coldkey_ss58
    assert not (tmp_path / "ghost").exists()  # reading creates nothing


def test_damaged_files_give_clear_errors(tmp_path):
    plain_wallet(tmp_path, "d", "h")
    hotkey_file = tmp_path / "d" / "hotkeys" / "h"
    good = json.loads(hotkey_file.read_text())
    other = Keypair.create_from_uri("//Mallory")
    cases = {
        b"{not json": "not JSON",
        b"": "is empty",
        b"[1, 2]": "expected a JSON object",
        b'{"note": "no keys here"}': "holds no key",
        b'{"secretPhrase": "these are not twelve real words at all ok"}': "damaged",
        json.dumps({**good, "publicKey": "0x" + other.public_key.hex()}).encode(): "publicKey does not match",
        json.dumps({**good, "cryptoType": 7}).encode(): "cryptoType 7",
        b"$NACL" + b"\x00" * 20: "truncated",
        b"$ANSIBLE_VAULT;1.1;AES256\n6162": "legacy Ansible Vault",
        b"gAAAAABkZ2Fyb2FnZQ==": "legacy Fernet",
    }
    for data, message in cases.items():
        hotkey_file.write_bytes(data)
        with pytest.raises(KeyFileError, match=message) as e:
            _ = Wallet("d", "h", path=tmp_path).hotkey
        assert e.value.path == hotkey_file and str(hotkey_file) in str(e.value), data
    (tmp_path / "d" / "coldkeypub.txt").write_text(json.dumps({"ss58Address": ALICE}))
    with pytest.raises(KeyFileError, match="does not match the coldkey"):
        Wallet("d", "h", path=tmp_path).coldkey()


def test_overwrite_is_refused_unless_asked(tmp_path):
    w = plain_wallet(tmp_path, "keep", "h")
    root = tmp_path / "keep"
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    with pytest.raises(KeyFileExists, match=r"refusing to overwrite .*overwrite=True"):
        Wallet("keep", "h", path=tmp_path).create(password=PASSWORD)  # refused before any slow encryption
    with pytest.raises(KeyFileExists):
        w.create_hotkey()
    with pytest.raises(KeyFileExists):
        w.regenerate_coldkey(uri="//Alice")
    with pytest.raises(FileExistsError):  # a KeyFileExists is also an OSError callers may already catch
        w.regenerate_hotkey(uri="//Alice//h")
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before
    # exist_ok: re-running a notebook cell keeps the keys and only fills in a missing hotkey
    again = Wallet("keep", "other", path=tmp_path).create(exist_ok=True)
    assert again.coldkey_ss58 == w.coldkey_ss58 and (root / "hotkeys" / "other").exists()
    assert Wallet.list(tmp_path) == [("keep", ["h", "other"])]
    # overwrite replaces both keys, keeping 0600 even over a file whose mode was loosened
    os.chmod(root / "hotkeys" / "h", 0o644)
    with pytest.warns(UserWarning):
        replaced = Wallet("keep", "h", path=tmp_path).create(overwrite=True)
    assert replaced.coldkey_ss58 != w.coldkey_ss58 and replaced.hotkey_ss58 != w.hotkey_ss58
    assert Wallet("keep", "h", path=tmp_path).coldkey_ss58 == replaced.coldkey_ss58
    assert mode(root / "hotkeys" / "h") == 0o600


def test_regenerate_from_mnemonic_or_seed_gives_the_same_addresses(tmp_path):
    original = plain_wallet(tmp_path, "orig", "h")
    cold, hot = original.coldkey(), original.hotkey
    with pytest.warns(UserWarning):
        restored = Wallet("restored", "h", path=tmp_path).regenerate_coldkey(mnemonic=cold.mnemonic)
    restored.regenerate_hotkey(mnemonic=hot.mnemonic)
    fresh = Wallet("restored", "h", path=tmp_path)
    assert fresh.coldkey_ss58 == original.coldkey_ss58 and fresh.hotkey_ss58 == original.hotkey_ss58
    assert fresh.coldkey().mnemonic == cold.mnemonic
    # from the 32-byte seed (bytes or 0x-hex), and from a URI
    by_seed = Wallet("seeded", "h", path=tmp_path)
    with pytest.warns(UserWarning):
        by_seed.regenerate_coldkey(seed="0x" + bytes(cold.seed_hex).hex())
    by_seed.regenerate_hotkey(seed=bytes(hot.seed_hex))
    assert Wallet("seeded", "h", path=tmp_path).coldkey().ss58_address == original.coldkey_ss58
    assert Wallet("seeded", "h", path=tmp_path).hotkey_ss58 == original.hotkey_ss58
    Wallet("seeded", "alice", path=tmp_path).regenerate_hotkey(uri="//Alice")
    assert Wallet("seeded", "alice", path=tmp_path).hotkey_ss58 == ALICE
    # bad input is an InputError that does not echo the secret
    with pytest.raises(InputError, match="exactly one of"):
        by_seed.regenerate_hotkey(mnemonic=cold.mnemonic, seed=bytes(32), overwrite=True)
    with pytest.raises(InputError, match="exactly one of"):
        by_seed.regenerate_hotkey(overwrite=True)
    with pytest.raises(InputError, match="not a valid mnemonic") as e:
        by_seed.regenerate_hotkey(mnemonic="zebra " * 11 + "notaword", overwrite=True)
    assert "notaword" not in str(e.value)
    with pytest.raises(InputError, match="not a valid seed"):
        by_seed.regenerate_hotkey(seed="0x1234", overwrite=True)


def test_dev_wallets_live_in_memory(tmp_path, monkeypatch):
    monkeypatch.setenv("TAO_LAB_WALLET_PATH", str(tmp_path))
    alice = Wallet.dev("//Alice")
    assert alice.coldkey_ss58 == ALICE == alice.coldkey().ss58_address
    assert alice.hotkey_ss58 == Keypair.create_from_uri("//Alice//hotkey").ss58_address
    assert alice.exists() and alice.path is None and alice.name == "//Alice"
    bob = Wallet.dev("//Bob", hotkey_uri="//Bob//miner1")
    assert bob.hotkey_ss58 == Keypair.create_from_uri("//Bob//miner1").ss58_address
    assert "//Bob//miner1" in repr(bob) and bob.coldkey_ss58 in repr(bob)
    alice.lock()
    assert alice.coldkey().ss58_address == ALICE  # a dev key needs no unlocking
    with pytest.raises(InputError, match="lives in memory"):
        alice.create()
    with pytest.raises(InputError, match="derivation URI"):
        Wallet.dev("Alice")
    assert list(tmp_path.iterdir()) == []


def test_list_wallets_and_hotkeys(tmp_path):
    assert Wallet.list(tmp_path / "nowhere") == [] and not (tmp_path / "nowhere").exists()
    plain_wallet(tmp_path, "b", "h2")
    w = plain_wallet(tmp_path, "a", "h1")
    w.create_hotkey("h0")
    (tmp_path / "notes").mkdir()  # not a wallet
    (tmp_path / "a" / "hotkeys" / "keypub.txt").write_text("{}")  # a hotkey that happens to end in pub.txt
    assert Wallet.list(tmp_path) == [("a", ["h0", "h1", "keypub.txt"]), ("b", ["h2"])]


def test_default_path_comes_from_the_environment_at_call_time(tmp_path, monkeypatch):
    monkeypatch.setenv("TAO_LAB_WALLET_PATH", str(tmp_path / "env"))
    w = plain_wallet(None, "envw")
    assert w.path == tmp_path / "env" and (tmp_path / "env" / "envw" / "coldkey").exists()
    assert Wallet.list() == [("envw", ["default"])]
    monkeypatch.delenv("TAO_LAB_WALLET_PATH")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert Wallet().path == tmp_path / "home" / ".bittensor" / "wallets"
    assert Wallet.list() == []
    with pytest.raises(InputError):
        Wallet("../escape")


def test_import_creates_nothing(tmp_path):
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "HOME": str(tmp_path),
           "PYTHONPATH": os.pathsep.join([str(repo), os.environ.get("PYTHONPATH", "")])}
    env.pop("TAO_LAB_WALLET_PATH", None)
    code = "import tao_lab.client.wallet as w; w.Wallet('x'); w.Wallet.list()"
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_reads_a_coldkey_in_bittensor_format(tmp_path):
    """A wallet built byte by byte from bittensor-wallet's documented format (src/keyfile.rs)."""
    cold = Keypair.create_from_mnemonic(Keypair.generate_mnemonic(12))
    hot = Keypair.create_from_mnemonic(Keypair.generate_mnemonic(12))

    def keyfile(kp: Keypair, secret=True) -> bytes:
        d = {"accountId": "0x" + kp.public_key.hex(), "publicKey": "0x" + kp.public_key.hex(),
             "ss58Address": kp.ss58_address, "cryptoType": 1}  # cryptoType: newer bittensor-wallet writes it
        if secret:
            d |= {"privateKey": "0x" + kp.private_key.hex(), "secretPhrase": kp.mnemonic,
                  "secretSeed": "0x" + bytes(kp.seed_hex).hex()}
        return json.dumps(d).encode()

    key = nacl.pwhash.argon2i.kdf(32, PASSWORD.encode(), NACL_SALT, opslimit=nacl.pwhash.argon2i.OPSLIMIT_SENSITIVE,
                                  memlimit=nacl.pwhash.argon2i.MEMLIMIT_SENSITIVE)
    nonce = nacl.utils.random(24)
    sealed = b"$NACL" + nonce + nacl.secret.SecretBox(key).encrypt(keyfile(cold), nonce).ciphertext
    root = tmp_path / "btw"
    (root / "hotkeys").mkdir(parents=True)
    (root / "coldkey").write_bytes(sealed)
    (root / "coldkeypub.txt").write_bytes(keyfile(cold, secret=False))
    (root / "hotkeys" / "validator").write_bytes(keyfile(hot))
    (root / "hotkeys" / "validatorpub.txt").write_bytes(keyfile(hot, secret=False))
    # a //Alice coldkey as bittensor-wallet writes it: plain, privateKey only
    alice = tmp_path / "alice"
    alice.mkdir()
    (alice / "coldkey").write_text(json.dumps({"accountId": "0x" + Keypair.create_from_uri("//Alice").public_key.hex(),
                                               "privateKey": ALICE_PRIVATE_KEY_BY_BITTENSOR, "ss58Address": ALICE}))

    assert Wallet.list(tmp_path) == [("alice", []), ("btw", ["validator"])]
    w = Wallet("btw", "validator", path=tmp_path)
    assert w.coldkey_ss58 == cold.ss58_address and w.hotkey_ss58 == hot.ss58_address
    unlocked = w.coldkey(PASSWORD)
    assert unlocked.ss58_address == cold.ss58_address and unlocked.mnemonic == cold.mnemonic
    assert cold.verify(b"m", unlocked.sign(b"m"))
    a = Wallet("alice", path=tmp_path)
    assert a.coldkey().ss58_address == ALICE == a.coldkey_ss58  # no coldkeypub.txt: read from the plain coldkey
    assert Keypair.create_from_uri("//Alice").verify(b"m", a.coldkey().sign(b"m"))


def test_bittensor_wallet_reads_ours(encrypted):
    """Where bittensor-wallet is installed, it opens tao_lab's files (both directions were checked by hand)."""
    bittensor_wallet = pytest.importorskip("bittensor_wallet")
    path, ours = encrypted
    theirs = bittensor_wallet.Wallet(name="enc", hotkey="miner", path=str(path))
    assert theirs.coldkeypub.ss58_address == ours.coldkey_ss58
    assert theirs.hotkey.ss58_address == ours.hotkey_ss58
    assert theirs.get_coldkey(PASSWORD).ss58_address == ours.coldkey_ss58
