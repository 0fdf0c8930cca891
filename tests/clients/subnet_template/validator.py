"""The template subnet's validator: query every serving miner, score the answers, set weights on chain.

    python validator.py --netuid 2 --subtensor.network ws://127.0.0.1:9944 \\
        --wallet.name validator --wallet.path ~/.bittensor/wallets

Each step sends one `AddOne` to every miner whose axon is on chain, rewards a right answer with 1 and anything else
(wrong, late, refused) with 0, and folds the rewards into a moving average of scores (``neuron.moving_average_alpha``).
Every ``neuron.weights_blocks`` blocks the scores go on chain with ``Subtensor.set_weights``; the chain's epoch turns
the weights of all validators into each miner's incentive and emission.
"""

import random

import bittensor as bt
import numpy as np
from bittensor.utils.weight_utils import process_weights_for_netuid

from neuron import BaseNeuron, config
from protocol import AddOne, correct


def add_args(parser) -> None:
    parser.add_argument("--neuron.timeout", type=float, default=5.0, help="Seconds a miner has to answer.")
    parser.add_argument("--neuron.moving_average_alpha", type=float, default=0.3,
                        help="Weight of the newest reward in the moving average of scores.")
    parser.add_argument("--neuron.weights_blocks", type=int, default=5, help="Blocks between set_weights calls.")
    parser.add_argument("--neuron.step_seconds", type=float, default=1.0, help="Seconds between query rounds.")


class Validator(BaseNeuron):
    def __init__(self, config: "bt.Config"):
        super().__init__(config)
        self.dendrite = bt.Dendrite(wallet=self.wallet)
        self.scores = np.zeros(int(self.metagraph.n), dtype=np.float32)
        self.hotkeys = list(self.metagraph.hotkeys)
        self.last_weights_block = 0
        self.rounds = 0

    def miner_uids(self) -> list[int]:
        """Uids with an axon on chain, other than this validator's own."""
        return [uid for uid in range(int(self.metagraph.n))
                if uid != self.uid and self.metagraph.axons[uid].is_serving]

    def step(self) -> None:
        uids = self.miner_uids()
        if uids:
            number = random.randint(0, 1_000_000)
            answers = self.dendrite.query(axons=[self.metagraph.axons[uid] for uid in uids],
                                          synapse=AddOne(number=number), deserialize=True,
                                          timeout=self.config.neuron.timeout)
            rewards = np.array([1.0 if correct(number, answer) else 0.0 for answer in answers], dtype=np.float32)
            self.update_scores(rewards, uids)
            self.rounds += 1
            bt.logging.info(f"round {self.rounds} block {self.block}: number {number} answers "
                            f"{dict(zip(uids, answers))} scores {[round(float(s), 3) for s in self.scores]}")
        if self.block - self.last_weights_block >= self.config.neuron.weights_blocks:
            self.set_weights()
        self.sleep(self.config.neuron.step_seconds)

    def update_scores(self, rewards: np.ndarray, uids: list[int]) -> None:
        """Exponential moving average: score <- alpha * reward + (1 - alpha) * score, for the uids queried."""
        alpha = self.config.neuron.moving_average_alpha
        self.scores[uids] = alpha * rewards + (1 - alpha) * self.scores[uids]

    def resync(self) -> None:
        """After a metagraph sync: a uid whose hotkey changed is a new neuron and starts from 0; grow to ``n``."""
        hotkeys = list(self.metagraph.hotkeys)
        for uid, (old, new) in enumerate(zip(self.hotkeys, hotkeys)):
            if old != new:
                self.scores[uid] = 0.0
        if len(hotkeys) > len(self.scores):
            self.scores = np.concatenate([self.scores, np.zeros(len(hotkeys) - len(self.scores), dtype=np.float32)])
        self.hotkeys = hotkeys

    def set_weights(self) -> None:
        """Normalise the scores under the subnet's limits (min_allowed_weights, max_weight_limit) and set them."""
        if not np.any(self.scores > 0):
            return
        weights = self.scores / np.sum(self.scores)
        uids, weights = process_weights_for_netuid(uids=self.metagraph.uids, weights=weights,
                                                   netuid=self.config.netuid, subtensor=self.subtensor,
                                                   metagraph=self.metagraph)
        response = self.subtensor.set_weights(wallet=self.wallet, netuid=self.config.netuid, uids=uids,
                                              weights=weights, wait_for_inclusion=True,
                                              wait_for_finalization=False)
        if response.success:
            self.last_weights_block = self.block
            bt.logging.info(f"set_weights at block {self.block}: "
                            f"{ {int(u): round(float(w), 3) for u, w in zip(uids, weights)} }")
        else:
            bt.logging.warning(f"set_weights failed at block {self.block}: {response.message}")


if __name__ == "__main__":
    Validator(config(add_args)).run()
