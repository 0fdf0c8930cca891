"""The runtime APIs the devnet exports, one module per subtensor API (see `tao_lab.chain.runtime_api`).

==================  ==============================================================================
``core``            ``Metadata``, ``AccountNonceApi``, ``TransactionPaymentApi``
``neuron_info``     ``NeuronInfoRuntimeApi``
``subnet_info``     ``SubnetInfoRuntimeApi``: subnets, hyperparameters, pools, metagraphs
``stake_info``      ``StakeInfoRuntimeApi``, ``DelegateInfoRuntimeApi``
``swap``            ``SwapRuntimeApi`` (price 1), ``SubnetRegistrationRuntimeApi``
``types``           the result structs, field for field as subtensor's ``rpc_info``
==================  ==============================================================================
"""

from __future__ import annotations

from .core import ACCOUNT_NONCE, METADATA, TRANSACTION_PAYMENT
from .neuron_info import NEURON_INFO
from .stake_info import DELEGATE_INFO, STAKE_INFO
from .subnet_info import SUBNET_INFO
from .swap import SUBNET_REGISTRATION, SWAP

__all__ = ["RUNTIME_APIS"]

RUNTIME_APIS = [
    ACCOUNT_NONCE, METADATA, TRANSACTION_PAYMENT, DELEGATE_INFO, NEURON_INFO, SUBNET_INFO, STAKE_INFO,
    SUBNET_REGISTRATION, SWAP,
]
