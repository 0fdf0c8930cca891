"""Send one `AddOne` to the miner at ``--uid`` as ``--wallet.name``'s hotkey and print what came back as JSON.

    python query.py --netuid 2 --uid 1 --number 41 --subtensor.network ws://127.0.0.1:9944 --wallet.name someone

Handy to poke a miner by hand, and to see its blacklist at work: a hotkey not registered on the subnet gets
status 403 and the miner's reason.
"""

import json

import bittensor as bt

from neuron import config
from protocol import AddOne


def add_args(parser) -> None:
    parser.add_argument("--uid", type=int, required=True, help="The miner to ask.")
    parser.add_argument("--number", type=int, default=41, help="What to add one to.")
    parser.add_argument("--timeout", type=float, default=5.0, help="Seconds to wait for the answer.")


def main() -> None:
    cfg = config(add_args)
    bt.logging(config=cfg)
    wallet = bt.Wallet(config=cfg)
    subtensor = bt.Subtensor(config=cfg)
    metagraph = subtensor.metagraph(cfg.netuid)
    dendrite = bt.Dendrite(wallet=wallet)
    reply = dendrite.query(axons=[metagraph.axons[cfg.uid]], synapse=AddOne(number=cfg.number), deserialize=False,
                           timeout=cfg.timeout)[0]
    print(json.dumps({"hotkey": wallet.hotkey.ss58_address, "answer": reply.answer,
                      "status_code": reply.dendrite.status_code, "status_message": reply.dendrite.status_message}))


if __name__ == "__main__":
    main()
