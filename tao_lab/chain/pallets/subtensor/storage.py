"""Storage of pallet_subtensor: the items the devnet uses, with subtensor's names, keys, hashers and
value types (``pallets/subtensor/src/lib.rs``) and subtensor's storage defaults.

Defaults here are subtensor's own (``ValueQuery`` defaults, fast-blocks runtime where that differs,
e.g. tempo 10). The lab-friendly values a new subnet starts with are written explicitly when the
subnet is created (`tao_lab.chain.pallets.subtensor.subnets.LAB_SUBNET_DEFAULTS`), as subtensor's
``init_new_network`` does, so a client reading storage sees exactly what the devnet runs with.
"""

from __future__ import annotations

from ...pallet import StorageDoubleMap, StorageItem, StorageMap, StorageValue
from ...scale import I16, U8, U16, U32, U64, U128, AccountId, Bool, Bytes, Tuple, Vec
from .types import (U64F64, ZERO_ACCOUNT, AxonInfo, BTreeMap, ChainIdentityV2, EpochConsensus, I64F64, I96F32,
                    LockState, PrometheusInfo, RootClaimTypeEnum, SubnetIdentityV3, WeightCommit, WeightRow)

__all__ = ["SubtensorStorage"]

NetUid = U16  # the key type; subtensor's NetUid / NetUidStorageIndex are u16 in metadata
B2 = "Blake2_128Concat"
ID = "Identity"
TX = "Twox64Concat"
TAU = "\U0001D70F".encode()  #: subtensor's TokenSymbol default (mathematical italic small tau)
LOCK_RATE = 934_866  #: subtensor's default MaturityRate / UnlockRate (blocks; ~90 days to 50%)


def _per_subnet(value, default=None, docs: str = "", hasher: str = ID, optional: bool = False) -> StorageItem:
    return StorageMap(hasher, NetUid, value, default, docs, optional)


class SubtensorStorage:
    """Storage items of ``SubtensorModule``; a mixin of `SubtensorModule`."""

    # ------------------------------------------------------------------ global
    TotalIssuance = StorageValue(U64, docs="ITEM ( total_issuance ) | TAO issued, in rao: genesis balances + faucet + "
                                           "emission paid out (1 alpha = 1 TAO) - registration burns; fees untracked.")
    TotalStake = StorageValue(U64, docs="ITEM ( total_stake ) | Total TAO staked on all subnets, in rao.")
    TotalNetworks = StorageValue(U16, docs="ITEM ( total_number_of_existing_networks )")
    SubnetLimit = StorageValue(U16, default=128, docs="ITEM ( max_subnets ) | Maximum number of subnets.")
    BlockEmission = StorageValue(U64, default=1_000_000_000,
                                 docs="ITEM ( global_block_emission ) | Devnet: the alpha (rao) every subnet with "
                                      "emission emits each block (fixed; no halving, no flow-based split).")
    SubnetOwnerCut = StorageValue(U16, default=11_796, docs="ITEM ( subnet_owner_cut ) | Owner's share of emission "
                                                            "as u16 (11796 = 18%).")
    StakeThreshold = StorageValue(U64, docs="ITEM( weights_min_stake ) | Stake (rao) a hotkey needs to set weights "
                                            "and to count in the epoch.")
    NetworkMinLockCost = StorageValue(U64, default=1_000_000_000_000,
                                      docs="ITEM( min_network_lock_cost ) | TAO (rao) locked to register a subnet; "
                                           "the devnet charges exactly this (no doubling/decay).")
    AdminFreezeWindow = StorageValue(U16, default=10, docs="Blocks at the end of each tempo in which owner "
                                                           "hyperparameter changes are refused (devnet genesis: 0).")
    MaxEpochsPerBlock = StorageValue(U8, default=32, docs="Maximum number of subnet epochs run in one block; the "
                                                          "rest are deferred a block.")
    MinActivityCutoff = StorageValue(U16, default=360, docs="Minimum value of the legacy ActivityCutoff.")
    StartCallDelay = StorageValue(U64, docs="Blocks after registration before a subnet owner may call start_call.")
    MaxDelegateTake = StorageValue(U16, default=11_796, docs="Maximum delegate take (u16).")
    MinDelegateTake = StorageValue(U16, docs="Minimum delegate take (u16).")

    # ------------------------------------------------------------------ accounts and stake
    Owner = StorageMap(B2, AccountId, AccountId, default=ZERO_ACCOUNT,
                       docs="MAP ( hot ) --> cold | Returns the controlling coldkey for a hotkey.")
    OwnedHotkeys = StorageMap(B2, AccountId, Vec(AccountId),
                              docs="MAP ( cold ) --> Vec<hot> | Returns the vector of hotkeys controlled by this "
                                   "coldkey.")
    StakingHotkeys = StorageMap(B2, AccountId, Vec(AccountId),
                                docs="MAP ( cold ) --> Vec<hot> | Returns the vector of hotkeys staked by this "
                                     "coldkey.")
    Delegates = StorageMap(B2, AccountId, U16, default=11_796,
                           docs="MAP ( hot ) --> take | Returns the hotkey delegation take (u16; 11796 = 18%).")
    TotalHotkeyAlpha = StorageDoubleMap(B2, AccountId, ID, NetUid, U64,
                                        docs="DMAP ( hot, netuid ) --> alpha | Returns the total amount of alpha a "
                                             "hotkey owns.")
    TotalHotkeyAlphaLastEpoch = StorageDoubleMap(B2, AccountId, ID, NetUid, U64,
                                                 docs="DMAP ( hot, netuid ) --> alpha | Returns the total amount of "
                                                      "alpha a hotkey owned in the last epoch.")
    TotalHotkeyShares = StorageDoubleMap(B2, AccountId, ID, NetUid, U64F64,
                                         docs="DMAP ( hot, netuid ) --> total_alpha_shares | Returns the number of "
                                              "alpha shares for a hotkey on a subnet.")
    Alpha = StorageItem(U64F64, [(B2, AccountId), (B2, AccountId), (ID, NetUid)],
                        docs="NMAP ( hot, cold, netuid ) --> alpha | Returns the alpha shares for a hotkey, "
                             "coldkey, netuid triplet.")
    AlphaDividendsPerSubnet = StorageDoubleMap(ID, NetUid, B2, AccountId, U64,
                                               docs="DMAP ( netuid, hotkey ) --> u64 | Last alpha dividend this "
                                                    "hotkey got on tempo.")
    IdentitiesV2 = StorageMap(B2, AccountId, ChainIdentityV2, optional=True, docs="MAP ( coldkey ) --> identity")

    # ------------------------------------------------------------------ subnets
    NetworksAdded = _per_subnet(Bool, docs="MAP ( netuid ) --> network_is_added")
    SubnetworkN = _per_subnet(U16, docs="MAP ( netuid ) --> subnetwork_n (Number of UIDs in the network).")
    NetworkRegisteredAt = _per_subnet(U64, docs="MAP ( netuid ) --> block_created")
    SubnetMechanism = _per_subnet(U16, docs="MAP ( netuid ) --> subnet mechanism (0 = stable: TAO and alpha 1:1, "
                                            "the devnet's model; 1 = dynamic pool).")
    SubnetOwner = _per_subnet(AccountId, ZERO_ACCOUNT, "MAP ( netuid ) --> subnet_owner (coldkey)")
    SubnetOwnerHotkey = _per_subnet(AccountId, ZERO_ACCOUNT, "MAP ( netuid ) --> subnet_owner_hotkey")
    SubnetLocked = _per_subnet(U64, docs="MAP ( netuid ) --> total_subnet_locked (rao)")
    FirstEmissionBlockNumber = _per_subnet(U64, optional=True, docs="MAP ( netuid ) --> block at which emission "
                                                                    "starts (set by start_call).")
    SubtokenEnabled = _per_subnet(Bool, docs="MAP ( netuid ) --> whether staking is enabled (set by start_call).")
    NetworkRegistrationAllowed = _per_subnet(Bool, True, "MAP ( netuid ) --> network_registration_allowed")
    NetworkPowRegistrationAllowed = _per_subnet(Bool, True, "MAP ( netuid ) --> network_pow_allowed")
    OwnerCutEnabled = _per_subnet(Bool, True, "MAP ( netuid ) --> whether the subnet owner cut is paid.")
    SubnetTAO = _per_subnet(U64, docs="MAP ( netuid ) --> tao_in_subnet | TAO staked into the subnet (rao).")
    SubnetAlphaOut = _per_subnet(U64, docs="MAP ( netuid ) --> alpha_supply_in_subnet | Alpha outstanding.")
    SubnetAlphaOutEmission = _per_subnet(U64, docs="MAP ( netuid ) --> alpha_out_emission | Alpha emitted this "
                                                   "block.")

    # ------------------------------------------------------------------ hyperparameters
    Tempo = _per_subnet(U16, 10, "MAP ( netuid ) --> tempo | Blocks between epochs.")
    Kappa = _per_subnet(U16, 32_767, "MAP ( netuid ) --> kappa | Consensus majority (u16, 32767 ~ 0.5).")
    Rho = _per_subnet(U16, 10, "MAP ( netuid ) --> rho")
    AlphaSigmoidSteepness = _per_subnet(I16, 1000, "MAP ( netuid ) --> alpha_sigmoid_steepness")
    MaxAllowedUids = _per_subnet(U16, 256, "MAP ( netuid ) --> max_allowed_uids")
    MinAllowedUids = _per_subnet(U16, 64, "MAP ( netuid ) --> min_allowed_uids")
    ImmunityPeriod = _per_subnet(U16, 4096, "MAP ( netuid ) --> immunity_period (blocks)")
    ActivityCutoff = _per_subnet(U16, 5000, "MAP ( netuid ) --> activity_cutoff (legacy; the epoch uses "
                                            "ActivityCutoffFactorMilli)")
    ActivityCutoffFactorMilli = _per_subnet(U32, 13_889, "MAP ( netuid ) --> activity cutoff as tempo * factor / "
                                                         "1000 blocks (at least 1)")
    MaxWeightsLimit = _per_subnet(U16, 0xFFFF, "MAP ( netuid ) --> max_weight_limit")
    WeightsVersionKey = _per_subnet(U64, 0, "MAP ( netuid ) --> weights_version_key")
    MinAllowedWeights = _per_subnet(U16, 1024, "MAP ( netuid ) --> min_allowed_weights")
    MaxAllowedValidators = _per_subnet(U16, 128, "MAP ( netuid ) --> max_allowed_validators")
    BondsMovingAverage = _per_subnet(U64, 900_000, "MAP ( netuid ) --> bonds_moving_average (per million)")
    BondsPenalty = _per_subnet(U16, 0xFFFF, "MAP ( netuid ) --> bonds_penalty (u16)")
    BondsResetOn = _per_subnet(Bool, False, "MAP ( netuid ) --> bonds_reset")
    WeightsSetRateLimit = _per_subnet(U64, 100, "MAP ( netuid ) --> weights_set_rate_limit (blocks)")
    CommitRevealWeightsEnabled = _per_subnet(Bool, True, "MAP ( netuid ) --> commit reveal v2 weights are enabled")
    RevealPeriodEpochs = _per_subnet(U64, 1, "Map (netuid) --> Number of epochs allowed for commit reveal periods",
                                     hasher=TX)
    LiquidAlphaOn = _per_subnet(Bool, False, "MAP ( netuid ) --> Whether or not Liquid Alpha is enabled", hasher=B2)
    Yuma3On = _per_subnet(Bool, False, "MAP ( netuid ) --> Whether or not Yuma3 is enabled", hasher=B2)
    AlphaValues = _per_subnet(Tuple(U16, U16), (45_875, 58_982), "MAP ( netuid ) --> (alpha_low, alpha_high)")
    Burn = _per_subnet(U64, 100_000_000, "MAP ( netuid ) --> burn | Registration cost (rao).")
    MinBurn = _per_subnet(U64, 500_000, "MAP ( netuid ) --> min_burn (rao)")
    MaxBurn = _per_subnet(U64, 100_000_000_000, "MAP ( netuid ) --> max_burn (rao)")
    BurnHalfLife = _per_subnet(U16, 360, "MAP ( netuid ) --> blocks for the registration burn to halve")
    BurnIncreaseMult = _per_subnet(U64F64, {"bits": int(1.26 * (1 << 64))},
                                   "MAP ( netuid ) --> factor the burn is multiplied by after each registration")
    Difficulty = _per_subnet(U64, 10_000_000, "MAP ( netuid ) --> difficulty (unused: the devnet has no PoW)")
    MaxRegistrationsPerBlock = _per_subnet(U16, 1, "MAP ( netuid ) --> max_registration_per_block (root only)")
    RegistrationsThisBlock = _per_subnet(U16, docs="MAP ( netuid ) --> registrations_this_block")
    RAORecycledForRegistration = _per_subnet(U64, docs="MAP ( netuid ) --> global_RAO_recycled_for_registration")
    ServingRateLimit = _per_subnet(U64, 50, "MAP ( netuid ) --> serving_rate_limit (blocks)")
    ImmuneOwnerUidsLimit = _per_subnet(U16, 1, "MAP ( netuid ) --> number of owner hotkeys that are never pruned")
    MinNonImmuneUids = _per_subnet(U16, 10, "MAP ( netuid ) --> non-immune uids kept before immune ones are pruned")

    # ------------------------------------------------------------------ coinbase and epoch schedule
    PendingServerEmission = _per_subnet(U64, docs="MAP ( netuid ) --> pending_server_emission (miners' alpha)")
    PendingValidatorEmission = _per_subnet(U64, docs="MAP ( netuid ) --> pending_validator_emission")
    PendingRootAlphaDivs = _per_subnet(U64, docs="MAP ( netuid ) --> pending_root_alpha_emission (0 on the devnet)")
    PendingOwnerCut = _per_subnet(U64, docs="MAP ( netuid ) --> pending_owner_cut")
    BlocksSinceLastStep = _per_subnet(U64, docs="MAP ( netuid ) --> blocks_since_last_step")
    LastMechansimStepBlock = _per_subnet(U64, docs="MAP ( netuid ) --> last_mechanism_step_block")
    LastEpochBlock = _per_subnet(U64, docs="MAP ( netuid ) --> block at which the last epoch ran")
    PendingEpochAt = _per_subnet(U64, docs="MAP ( netuid ) --> block of an owner-triggered epoch (0 = none)")
    SubnetEpochIndex = _per_subnet(U64, docs="MAP ( netuid ) --> number of epochs run (commit-reveal epochs)")

    # ------------------------------------------------------------------ neurons (epoch inputs and outputs)
    Keys = StorageDoubleMap(ID, NetUid, ID, U16, AccountId, default=ZERO_ACCOUNT, docs="DMAP ( netuid, uid ) --> "
                                                                                       "hotkey")
    Uids = StorageDoubleMap(ID, NetUid, B2, AccountId, U16, optional=True, docs="DMAP ( netuid, hotkey ) --> uid")
    IsNetworkMember = StorageDoubleMap(B2, AccountId, ID, NetUid, Bool, docs="DMAP ( hotkey, netuid ) --> bool")
    BlockAtRegistration = StorageDoubleMap(ID, NetUid, ID, U16, U64, docs="DMAP ( netuid, uid ) --> "
                                                                          "block_at_registration")
    Weights = StorageDoubleMap(ID, NetUid, ID, U16, WeightRow, docs="DMAP ( netuid, uid ) --> weights | Keyed by "
                                                                    "NetUidStorageIndex; rows max-upscaled to 65535.")
    Bonds = StorageDoubleMap(ID, NetUid, ID, U16, WeightRow, docs="DMAP ( netuid, uid ) --> bonds | Keyed by "
                                                                  "NetUidStorageIndex.")
    LastUpdate = _per_subnet(Vec(U64), docs="MAP ( netuid ) --> last_update | Keyed by NetUidStorageIndex.")
    Incentive = _per_subnet(Vec(U16), docs="MAP ( netuid ) --> incentive | Keyed by NetUidStorageIndex.")
    Active = _per_subnet(Vec(Bool), docs="MAP ( netuid ) --> active")
    Consensus = _per_subnet(Vec(U16), docs="MAP ( netuid ) --> consensus")
    Dividends = _per_subnet(Vec(U16), docs="MAP ( netuid ) --> dividends")
    Emission = _per_subnet(Vec(U64), docs="MAP ( netuid ) --> emission (alpha per uid, last epoch)")
    ValidatorTrust = _per_subnet(Vec(U16), docs="MAP ( netuid ) --> validator_trust")
    ValidatorPermit = _per_subnet(Vec(Bool), docs="MAP ( netuid ) --> validator_permit")
    StakeWeight = _per_subnet(Vec(U16), docs="DMAP ( netuid ) --> stake_weight | weight for stake used in YC.")
    Axons = StorageDoubleMap(ID, NetUid, B2, AccountId, AxonInfo, optional=True,
                             docs="MAP ( netuid, hotkey ) --> axon_info")
    Prometheus = StorageDoubleMap(ID, NetUid, B2, AccountId, PrometheusInfo, optional=True,
                                  docs="MAP ( netuid, hotkey ) --> prometheus_info")
    WeightCommits = StorageDoubleMap(TX, NetUid, TX, AccountId, Vec(WeightCommit), optional=True,
                                     docs="MAP (netuid, who) --> VecDeque<(hash, commit_epoch, commit_block, _unused)>"
                                          " | commit-reveal v2 commits of an account on a subnet.")

    # ------------------------------------------------------------------ read by the bittensor SDK and btcli
    # Items real clients query that the devnet's model has no use for: each holds subtensor's default or
    # the value the devnet's model implies (one mechanism, Yuma, no collateral, no locks, no identities).
    TokenSymbol = _per_subnet(Bytes, TAU, "MAP ( netuid ) --> token_symbol | Returns the token symbol for a subnet "
                                          "(UTF-8; written when a subnet is created).")
    MechanismCountCurrent = _per_subnet(U8, 1, "MAP ( netuid ) --> Current number of subnet mechanisms (devnet: "
                                               "always 1, mechanism 0).", hasher=TX)
    MechanismEmissionSplit = _per_subnet(Vec(U16), optional=True, hasher=TX,
                                         docs="MAP ( netuid ) --> Normalized vector of emission split proportion "
                                              "between subnet mechanisms (devnet: never set).")
    SubnetEpochConsensus = _per_subnet(EpochConsensus, docs="MAP ( netuid ) --> epoch consensus mode (devnet: Yuma "
                                                            "on every subnet).")
    TotalAlphaStaked = _per_subnet(U64, docs="MAP ( netuid ) --> alpha | Returns the total alpha staked across all "
                                             "hotkeys on a subnet.")
    SubnetEmaTaoFlow = _per_subnet(Tuple(U64, I64F64), optional=True,
                                   docs="MAP ( netuid ) --> subnet_ema_tao_flow | Returns the EMA of TAO "
                                        "inflow-outflow balance (devnet: no flow-based emission, never set).")
    CollateralLockShare = _per_subnet(U16, docs="MAP ( netuid ) --> CollateralLockShare (p) | Share of the "
                                                "registration price locked as miner collateral instead of burned "
                                                "(u16, 65535 = 100%); devnet: 0, the whole price is burned.")
    SubnetIdentitiesV3 = _per_subnet(SubnetIdentityV3, optional=True, hasher=B2,
                                     docs="MAP ( netuid ) --> SubnetIdentityOfV3")
    HotkeyLock = StorageDoubleMap(ID, NetUid, B2, AccountId, LockState, optional=True,
                                  docs="DMAP ( netuid, hotkey ) --> LockState | Total lock per hotkey per subnet "
                                       "(devnet: no locks).")
    DecayingHotkeyLock = StorageDoubleMap(ID, NetUid, B2, AccountId, LockState, optional=True,
                                          docs="DMAP ( netuid, hotkey ) --> LockState | Total decaying non-owner "
                                               "lock per hotkey per subnet (devnet: no locks).")
    OwnerLock = _per_subnet(LockState, optional=True, docs="MAP ( netuid ) --> LockState | Total perpetual lock to "
                                                           "the owner hotkey for a subnet (devnet: no locks).")
    DecayingOwnerLock = _per_subnet(LockState, optional=True, docs="MAP ( netuid ) --> LockState | Total decaying "
                                                                   "lock to the owner hotkey (devnet: no locks).")
    MaturityRate = StorageValue(U64, LOCK_RATE, "ITEM( maturity_rate ) | Decay timescale in blocks for lock "
                                                "conviction.")
    UnlockRate = StorageValue(U64, LOCK_RATE, "ITEM( unlock_rate ) | Decay timescale in blocks for locked mass.")
    RootClaimable = StorageMap(B2, AccountId, BTreeMap(NetUid, I96F32),
                               docs="MAP ( hot ) --> MAP ( netuid ) --> claimable_dividends | Root claimable "
                                    "dividends (devnet: no root dividends, always empty).")
    RootClaimType = StorageMap(B2, AccountId, RootClaimTypeEnum,
                               docs="MAP ( cold ) --> root_claim_type enum | Swap (the default) or keep root alpha "
                                    "emission (devnet: no root emission; never set).")
    RootClaimed = StorageItem(U128, [(ID, NetUid), (B2, AccountId), (B2, AccountId)],
                              docs="NMAP ( netuid, hot, cold ) --> u128 | Already claimed root alpha (devnet: 0).")
