"""btcli 9.23.2 on the devnet, unchanged, in its own environment: the issue 12 acceptance commands complete with
exit code 0 and print the devnet's values. btcli reports many failures with exit code 0 and a ❌ line, so both
are checked."""

import subprocess

import pytest
from substrateinterface import Keypair

from .conftest import SCRIPTS, client_env, client_venv, ss58

pytestmark = pytest.mark.clients



class Btcli:
    def __init__(self, venv, tmp, url):
        self.venv, self.tmp, self.url = venv, tmp, url
        self.wallets = str(tmp / "wallets")

    def wallet(self, name: str, cold_uri: str, hot_uri: str) -> str:
        done = subprocess.run([str(self.venv / "bin" / "python"), str(SCRIPTS / "make_wallet.py"), self.wallets, name,
                               cold_uri, hot_uri], capture_output=True, text=True, env=client_env(self.tmp),
                              check=True, timeout=60)
        return done.stdout.strip()

    def __call__(self, *args: str) -> str:
        """Run ``btcli args --network URL``; the output, after checking btcli succeeded."""
        done = subprocess.run([str(self.venv / "bin" / "btcli"), *args, "--network", self.url], capture_output=True,
                              text=True, stdin=subprocess.DEVNULL, env=client_env(self.tmp), timeout=180)
        out = done.stdout + done.stderr
        assert done.returncode == 0, out[-3000:]
        assert "❌" not in out and "Traceback" not in out, out[-3000:]
        return out


@pytest.fixture(scope="module")
def btcli(devnet, tmp_path_factory):
    cli = Btcli(client_venv("btcli"), tmp_path_factory.mktemp("btcli"), devnet.public_url)
    cli.wallet("alice", "//Alice", "//Alice")
    cli.wallet("charlie", "//Charlie", "//Charlie//btcli")
    return cli


def wallet(name: str) -> list[str]:
    return ["--wallet-name", name, "--wallet-hotkey", "default"]


def test_subnets_register(btcli, substrate):
    out = btcli("subnets", "register", "--netuid", "1", *wallet("charlie"), "--wallet-path", btcli.wallets, "-y")
    hotkey = Keypair.create_from_uri("//Charlie//btcli").ss58_address
    uid = substrate.query("SubtensorModule", "Uids", [1, hotkey]).value
    assert uid is not None and f"Registered on netuid 1 with UID {uid}" in out


def test_subnets_list(btcli):
    assert "α" in btcli("subnets", "list")


def test_subnets_show(btcli):
    assert ss58("//Alice")[:6] in btcli("subnets", "show", "--netuid", "1")  # uid 0, the owner's hotkey


def test_subnets_metagraph(btcli):
    assert ss58("//Alice")[:6] in btcli("subnets", "metagraph", "--netuid", "1")


def test_subnets_hyperparameters(btcli):
    assert "immunity_period" in btcli("subnets", "hyperparameters", "--netuid", "1")


def test_wallet_balance(btcli):
    assert ss58("//Alice") in btcli("wallet", "balance", *wallet("alice"), "--wallet-path", btcli.wallets)


def test_wallet_overview(btcli):
    assert "alice" in btcli("wallet", "overview", *wallet("alice"), "--wallet-path", btcli.wallets)


def test_wallet_transfer(btcli, substrate):
    dave = Keypair.create_from_uri("//Dave").ss58_address
    before = substrate.query("System", "Account", [dave]).value["data"]["free"]
    btcli("wallet", "transfer", "--dest", dave, "--amount", "2", *wallet("alice"), "--wallet-path", btcli.wallets,
          "-y")
    assert substrate.query("System", "Account", [dave]).value["data"]["free"] == before + 2 * 10**9


def alice_stake(substrate):
    return substrate.query("SubtensorModule", "Alpha", [ss58("//Alice"), ss58("//Alice"), 1]).value


def test_stake_add_without_mev_protection(btcli, substrate):
    before = alice_stake(substrate)
    btcli("stake", "add", "--netuid", "1", "--amount", "1", *wallet("alice"), "--wallet-path", btcli.wallets, "-y",
          "--no-mev-protection")
    assert alice_stake(substrate) != before  # 1 TAO more stake on Alice's hotkey


def test_stake_add_with_mev_protection(btcli, substrate):
    """btcli's default: the add_stake extrinsic is encrypted to MevShield.NextKey and carried by submit_encrypted;
    btcli then finds the decrypted extrinsic in a block and reports its outcome."""
    before, first_block = alice_stake(substrate), substrate.get_block_number(None) + 1
    out = btcli("stake", "add", "--netuid", "1", "--amount", "1", *wallet("alice"), "--wallet-path", btcli.wallets,
                "-y")
    assert alice_stake(substrate) != before, out[-3000:]  # 1 TAO more stake on Alice's hotkey
    calls = []
    for number in range(first_block, substrate.get_block_number(None) + 1):
        for extrinsic in substrate.get_block(block_number=number)["extrinsics"]:
            call = extrinsic.value["call"]
            calls.append((call["call_module"], call["call_function"]))
    # the carrier, then the add_stake it carried (decrypted by the devnet), next to it in the same block
    assert ("MevShield", "submit_encrypted") in calls
    assert calls[calls.index(("MevShield", "submit_encrypted")) + 1][0] == "SubtensorModule"


def test_stake_list(btcli):
    assert ss58("//Alice")[:6] in btcli("stake", "list", *wallet("alice"), "--wallet-path", btcli.wallets)
