"""pallet_subtensor for the devnet: subnets, neurons, stake, weights and Yuma consensus emission.

``SubtensorModule`` (pallet index 7, as in subtensor's ``construct_runtime``) mirrors subtensor's
call indices and argument names, storage names, keys, hashers and value types, events and errors,
so code written for a subtensor node (substrate-interface, the bittensor SDK's storage reads) runs
against the devnet unchanged. It is assembled from one mixin per concern:

==================  ==============================================================================
``storage``         storage items (`SubtensorStorage`)
``errors``          errors (all of subtensor's, in order) and the events the devnet deposits
``subnets``         genesis, ``register_network`` (59), ``start_call`` (92), ``set_tempo`` (139),
                    ``set_activity_cutoff_factor`` (140), ``trigger_epoch`` (141), origin checks
``registration``    ``burned_register`` (7), ``register`` (6), ``root_register`` (62), ``faucet`` (60),
                    pruning, burn decay and bump
``staking``         ``add_stake`` (2), ``remove_stake`` (3), hotkey share pools
``serving``         ``serve_axon`` (4), ``serve_prometheus`` (5), ``set_identity`` (68)
``weights``         ``set_weights`` (0), ``commit_weights`` (96), ``reveal_weights`` (97), `commit_hash`
``coinbase``        per-block emission, per-tempo `tao_lab.consensus.epoch` and payout
==================  ==============================================================================

Simplified models (each documented in its module): stake is subtensor's *stable* mechanism (1 TAO
staked = 1 alpha, no pools or swaps, see `staking`); every started subnet emits a fixed
``BlockEmission`` of alpha per block (see `coinbase`); there is no root TAO weight, no child
hotkeys, no dTAO price, no subnet pruning, and loopback axon addresses are allowed.

Genesis config (``{"SubtensorModule": config}``), every key optional::

    {
        "subnets": [                       # created at genesis, started (emitting, stakeable) at block 1
            {"netuid": 1,                  # >= 1
             "owner_coldkey": acct,        # 32-byte account id ("owner" also accepted)
             "owner_hotkey": acct,         # registered as uid 0; defaults to the coldkey
             "start": True,                # False: wait for the owner's start_call
             # any hyperparameter of subnets.HYPERPARAMETERS, e.g.
             "tempo": 10, "kappa": 32767, "max_allowed_uids": 256, "immunity_period": 30, ...},
        ],
        "block_emission": 10**9,           # alpha (rao) each subnet emits per block
        "network_min_lock_cost": 100 * 10**9,  # rao locked by register_network (devnet: 100 TAO)
        "stake_threshold": 0, "subnet_owner_cut": 11796, "admin_freeze_window": 0,
        "subnet_limit": 128, "max_epochs_per_block": 32,
        "root": True,                      # create the root network (netuid 0)
    }

Subnets, from genesis or ``register_network``, start from `subnets.LAB_SUBNET_DEFAULTS`: tempo 10,
max 256 uids, 64 validators, min 1 weight, immunity 30 blocks, Yuma3 on, no weights or serving rate
limit, commit-reveal off, burn 0.001 TAO (min 0.0005, max 100), min 1 uid, no reserved non-immune
uids. The admin freeze window is 0 (mainnet: 10 blocks, which would freeze a tempo-10 subnet).
"""

from __future__ import annotations

from ...pallet import Constant, Pallet
from ...scale import U16, U64
from .coinbase import CoinbaseMixin
from .errors import ERRORS, EVENTS
from .registration import FAUCET_AMOUNT, RegistrationMixin
from .serving import ServingMixin
from .staking import MIN_STAKE, StakingMixin
from .storage import SubtensorStorage
from .subnets import HYPERPARAMETERS, LAB_SUBNET_DEFAULTS, MAX_TEMPO, MIN_TEMPO, SubnetsMixin
from .weights import WeightsMixin, commit_hash

__all__ = ["SubtensorModule", "commit_hash", "LAB_SUBNET_DEFAULTS", "HYPERPARAMETERS", "MIN_STAKE", "FAUCET_AMOUNT"]


class SubtensorModule(SubtensorStorage, SubnetsMixin, RegistrationMixin, StakingMixin, ServingMixin, WeightsMixin,
                      CoinbaseMixin, Pallet):
    """Subnets, neurons, stake, weights and emission: subtensor's main pallet on the devnet."""

    name = "SubtensorModule"
    index = 7
    module = "pallet_subtensor"
    docs = "Subnets, neurons, stake, weights and Yuma consensus emission (subtensor's pallet_subtensor)."
    errors = ERRORS
    events = EVENTS
    constants = [
        Constant(name, ty, value, docs) for name, ty, value, docs in (
            ("InitialMinStake", U64, MIN_STAKE, "Minimum stake (rao) of add_stake and of a partial remove_stake."),
            ("InitialTempo", U16, 10, "Tempo of a new subnet (blocks)."),
            ("InitialBurn", U64, 100_000_000, "Storage default of Burn (rao); devnet subnets start at 1_000_000."),
            ("InitialMinBurn", U64, 500_000, "Storage default of MinBurn (rao)."),
            ("InitialMaxBurn", U64, 100_000_000_000, "Storage default of MaxBurn (rao)."),
            ("MinBurnUpperBound", U64, 1_000_000_000, "sudo_set_min_burn requires min_burn below this (rao)."),
            ("MaxBurnLowerBound", U64, 100_000_000, "sudo_set_max_burn requires max_burn above this (rao)."),
            ("MinTempo", U16, MIN_TEMPO, "Smallest tempo the owner's set_tempo accepts."),
            ("MaxTempo", U16, MAX_TEMPO, "Largest tempo the owner's set_tempo accepts."),
            ("InitialKappa", U16, 32_767, "Kappa of a new subnet (u16)."),
            ("InitialDefaultDelegateTake", U16, 11_796, "Delegate take of a hotkey (u16, 18%)."),
            ("InitialSubnetOwnerCut", U16, 11_796, "Subnet owner cut (u16, 18%)."),
        )
    ]
