"""The template subnet's miner: an axon that answers `AddOne`, serves its address on chain, runs until killed.

    python miner.py --netuid 2 --subtensor.network ws://127.0.0.1:9944 \\
        --wallet.name miner --wallet.path ~/.bittensor/wallets --axon.port 8091 --axon.external_ip 127.0.0.1

``--miner.off_by N`` makes it answer ``number + 1 + N``: a wrong miner, which a validator should score 0.
"""

import typing

import bittensor as bt

from neuron import BaseNeuron, config
from protocol import AddOne


def add_args(parser) -> None:
    parser.add_argument("--miner.off_by", type=int, default=0, help="Add this to every answer (0: answer right).")
    parser.add_argument("--blacklist.force_validator_permit", action="store_true", default=False,
                        help="Refuse callers without a validator permit.")
    parser.add_argument("--blacklist.allow_non_registered", action="store_true", default=False,
                        help="Accept callers whose hotkey is not registered on the subnet (unsafe).")


class Miner(BaseNeuron):
    def __init__(self, config: "bt.Config"):
        super().__init__(config)
        self.axon = bt.Axon(wallet=self.wallet, config=config)
        self.axon.attach(forward_fn=self.forward, blacklist_fn=self.blacklist, priority_fn=self.priority)
        # Publish ip:port on chain (serve_axon), so validators find this miner in their metagraph, then listen.
        self.axon.serve(netuid=config.netuid, subtensor=self.subtensor)
        self.axon.start()
        bt.logging.info(f"axon serving {self.axon.external_ip}:{self.axon.external_port} on subnet {config.netuid}")

    async def forward(self, synapse: AddOne) -> AddOne:
        """The miner's work: here, add one (plus ``miner.off_by``, to make a wrong miner)."""
        synapse.answer = synapse.number + 1 + self.config.miner.off_by
        return synapse

    async def blacklist(self, synapse: AddOne) -> typing.Tuple[bool, str]:
        """Refuse callers that are not registered on the subnet (and, if configured, without a validator permit).

        Runs before ``forward`` on a signed request (the axon has already checked the signature and nonce); a
        refused caller gets HTTP 403 and the reason.
        """
        hotkey = synapse.dendrite.hotkey if synapse.dendrite is not None else None
        if hotkey is None:
            return True, "Missing dendrite or hotkey"
        if hotkey not in self.metagraph.hotkeys:
            if self.config.blacklist.allow_non_registered:
                return False, "Allowing unregistered hotkey"
            bt.logging.trace(f"Blacklisting unregistered hotkey {hotkey}")
            return True, "Unrecognized hotkey"
        uid = self.metagraph.hotkeys.index(hotkey)
        if self.config.blacklist.force_validator_permit and not self.metagraph.validator_permit[uid]:
            return True, "Non-validator hotkey"
        return False, "Hotkey recognized"

    async def priority(self, synapse: AddOne) -> float:
        """Serve callers with more stake first (the axon's thread pool orders waiting requests by this)."""
        hotkey = synapse.dendrite.hotkey if synapse.dendrite is not None else None
        if hotkey not in self.metagraph.hotkeys:
            return 0.0
        return float(self.metagraph.S[self.metagraph.hotkeys.index(hotkey)])

    def step(self) -> None:
        self.sleep(1.0)  # the axon's threads do the work; the loop only keeps the metagraph fresh

    def shutdown(self) -> None:
        self.axon.stop()


if __name__ == "__main__":
    Miner(config(add_args)).run()
