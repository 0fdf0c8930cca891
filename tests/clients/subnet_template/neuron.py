"""What a miner and a validator share: the command line, the wallet, the chain, the metagraph, the run loop.

This follows the layout of the public bittensor subnet template (``BaseNeuron``), written against bittensor 10:
``bt.Wallet``, ``bt.Subtensor``, ``bt.Metagraph``, ``bt.Config``. Nothing here knows about tao_lab; point
``--subtensor.network`` at a devnet, a subtensor localnet, testnet or finney and the same code runs.
"""

import argparse
import os
import signal
import time

import bittensor as bt


def config(add_args) -> "bt.Config":
    """Parse the command line: bittensor's own groups (wallet, subtensor, logging, axon) plus the neuron's."""
    # bittensor 10 reads the command line into bt.Config only when BT_NO_PARSE_CLI_ARGS is off (its default is
    # on, so that importing bittensor inside another program never consumes that program's arguments). A neuron's
    # command line is its configuration, so the neuron turns parsing on for itself.
    os.environ["BT_NO_PARSE_CLI_ARGS"] = "0"
    parser = argparse.ArgumentParser()
    bt.Wallet.add_args(parser)
    bt.Subtensor.add_args(parser)
    bt.logging.add_args(parser)
    bt.Axon.add_args(parser)
    parser.add_argument("--netuid", type=int, default=1, help="The subnet to join.")
    parser.add_argument("--neuron.sync_blocks", type=int, default=5,
                        help="Blocks between metagraph syncs (the template's epoch_length).")
    add_args(parser)
    return bt.Config(parser)


class BaseNeuron:
    """A registered hotkey on one subnet, with a metagraph kept in sync, run until SIGTERM or SIGINT."""

    def __init__(self, config: "bt.Config"):
        self.config = config
        bt.logging(config=config)
        self.wallet = bt.Wallet(config=config)
        self.subtensor = bt.Subtensor(config=config)
        self.metagraph = self.subtensor.metagraph(config.netuid)
        hotkey = self.wallet.hotkey.ss58_address
        if hotkey not in self.metagraph.hotkeys:
            raise SystemExit(f"hotkey {hotkey} is not registered on subnet {config.netuid}: register it first "
                             f"(btcli subnets register, or Subtensor.burned_register)")
        self.uid = self.metagraph.hotkeys.index(hotkey)
        self.block = self.subtensor.get_current_block()
        self.last_sync_block = self.block
        self.should_exit = False
        bt.logging.info(f"{type(self).__name__} uid {self.uid} on subnet {config.netuid} at block {self.block} "
                        f"({self.subtensor.chain_endpoint})")

    def sync(self) -> None:
        """Re-read the metagraph once ``neuron.sync_blocks`` blocks passed since the last time."""
        self.block = self.subtensor.get_current_block()
        if self.block - self.last_sync_block >= self.config.neuron.sync_blocks:
            self.metagraph.sync(subtensor=self.subtensor)
            self.last_sync_block = self.block
            self.resync()

    def resync(self) -> None:
        """Called after each metagraph sync (a validator resizes its scores here)."""

    def step(self) -> None:
        raise NotImplementedError

    def stop(self, *_) -> None:
        self.should_exit = True

    def run(self) -> None:
        """Step until asked to stop; SIGTERM (what a supervisor sends) and Ctrl-C end the loop cleanly."""
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        try:
            while not self.should_exit:
                self.step()
                self.sync()
        finally:
            self.shutdown()
            bt.logging.info(f"{type(self).__name__} stopped at block {self.block}")

    def shutdown(self) -> None:
        """Release what the neuron holds (the miner stops its axon)."""

    def sleep(self, seconds: float) -> None:
        """Sleep, waking early when asked to stop."""
        end = time.monotonic() + seconds
        while not self.should_exit and time.monotonic() < end:
            time.sleep(min(0.05, end - time.monotonic()))
