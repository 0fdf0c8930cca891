"""Neurons' transport: typed synapses, a signing axon (server) and a dendrite (client).

    from tao_lab.neurons import Axon, Dendrite, TextLogProbs

    def score(syn):                                   # a miner's handler
        syn.log_probs = model_log_probs(syn.token_ids)  # (B, T) float32
        return syn

    with Axon(miner_wallet).attach(TextLogProbs, score) as axon, Dendrite(validator_wallet) as d:
        reply = d.query(axon, TextLogProbs(token_ids=ids), timeout=2.0)
        reply.status, reply.log_probs

Wire format and synapses: `protocol`; signatures and nonces: `signing`; server: `axon`; client:
`dendrite`.
"""

from .axon import Axon, AxonError, allow_registered, priority_by_stake
from .dendrite import Dendrite
from .protocol import ClassLogProbs, Embed, NextToken, Synapse, TextLogProbs, TransportError, request_field, response_field

__all__ = [
    "Axon",
    "ClassLogProbs",
    "AxonError",
    "Dendrite",
    "Embed",
    "NextToken",
    "Synapse",
    "TextLogProbs",
    "TransportError",
    "allow_registered",
    "priority_by_stake",
    "request_field",
    "response_field",
]
