"""The `Devnet` Python API (thread mode, idempotent start/stop) and ed25519-signed transactions."""

from substrateinterface import Keypair, KeypairType, SubstrateInterface

from tao_lab.node.devnet import Devnet


def test_in_process_devnet_is_a_context_manager_with_idempotent_start_and_stop():
    dev = Devnet(in_process=True, instant=True)
    assert not dev.running and dev.url is None
    with dev:
        url = dev.url
        assert dev.start().url == url and dev.running  # a second start() changes nothing
        si = SubstrateInterface(url=url)
        assert si.get_block_number(si.get_chain_head()) == 0
        si.rpc_request("dev_newBlock", [3])
        assert si.get_block_number(si.get_chain_head()) == 3
        si.close()
    assert not dev.running and dev.url is None
    dev.stop()  # stopping a stopped devnet is fine


def test_ed25519_signed_transfer_is_accepted():
    with Devnet(in_process=True, instant=True) as dev:
        si = SubstrateInterface(url=dev.url)
        alice = Keypair.create_from_uri("//Alice")
        ed = Keypair.create_from_seed("0x" + "11" * 32, crypto_type=KeypairType.ED25519)
        bob = Keypair.create_from_uri("//Bob").ss58_address

        def transfer(signer, dest, value):
            call = si.compose_call("Balances", "transfer_keep_alive", {"dest": dest, "value": value})
            return si.submit_extrinsic(si.create_signed_extrinsic(call, keypair=signer), wait_for_inclusion=True)

        assert transfer(alice, ed.ss58_address, 10 * 10**9).is_success
        before = si.query("System", "Account", [bob]).value["data"]["free"]
        receipt = transfer(ed, bob, 10**9)
        assert receipt.is_success
        assert si.query("System", "Account", [bob]).value["data"]["free"] == before + 10**9
        assert si.query("System", "Account", [ed.ss58_address]).value["nonce"] == 1
        si.close()
