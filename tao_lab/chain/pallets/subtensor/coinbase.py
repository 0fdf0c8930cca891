"""Coinbase: every block, emission accrues to each subnet; every tempo, Yuma consensus runs on the
stored state and the accrued emission is paid out.

The devnet's emission model (documented simplification of subtensor's ``run_coinbase``):

1. Each block every subnet that has started (``start_call``) emits a fixed ``BlockEmission`` of alpha
   (1e9 rao by default); no halving, no flow-based split across subnets, no TAO injected into pools.
   `tao_lab.consensus.split_block_emission` splits it: the owner cut (``SubnetOwnerCut``) into
   ``PendingOwnerCut``, half of the rest into ``PendingServerEmission`` (miners), the other half into
   ``PendingValidatorEmission`` (no root share: the devnet has no root TAO weight).
2. When an epoch is due (``LastEpochBlock + Tempo``, or an owner's ``trigger_epoch``) the pending
   amounts are drained and `tao_lab.consensus.epoch` (bit-exact with subtensor's ``epoch_mechanism``)
   runs on Weights, Bonds, stake (``TotalHotkeyAlpha``), ValidatorPermit, LastUpdate,
   BlockAtRegistration and the hyperparameters, with the sum of the miners' and validators' pending
   alpha. Incentive, Bonds, Active, Emission, Consensus, Dividends, ValidatorTrust, ValidatorPermit
   and StakeWeight are written as subtensor writes them.
3. Payout (`tao_lab.consensus.distribute_epoch`): the owner cut is staked to the owner's hotkey;
   each miner's ``server_emission`` is staked to its hotkey for its coldkey (miner emission of the
   subnet owner's own hotkeys is burned, as on subtensor); the validators' pending alpha (plus the
   miners' when no miner earned incentive) is shared by ``validator_emission``, each validator's
   owner keeps its delegate take (``Delegates``) and the rest joins the hotkey's pool, raising every
   nominator's stake. Emitted alpha is counted as TAO in ``TotalIssuance`` (1 alpha = 1 TAO).
"""

from __future__ import annotations

from ....consensus.emission import distribute_epoch, split_block_emission
from ....consensus.yuma import EpochContext, EpochParams, EpochResult, epoch
from .types import ROOT, U64_MAX

__all__ = ["CoinbaseMixin", "MAX_TEMPO_BLOCKS"]

MAX_TEMPO_BLOCKS = 50_400  #: an epoch is forced once this many blocks passed without one


class CoinbaseMixin:
    """Per-block emission and per-tempo epochs of `SubtensorModule`."""

    def on_initialize(self, ctx, number: int) -> None:
        """subtensor's ``block_step``: burn prices, then the coinbase."""
        self.update_registration_prices(ctx)
        self.run_coinbase(ctx)

    def should_run_epoch(self, state, netuid: int, now: int) -> bool:
        tempo = self.Tempo.get(state, netuid)
        if tempo == 0:
            return False
        pending = self.PendingEpochAt.get(state, netuid)
        if pending > 0 and now >= pending:
            return True
        if self.BlocksSinceLastStep.get(state, netuid) > MAX_TEMPO_BLOCKS:
            return True
        return now - self.LastEpochBlock.get(state, netuid) >= tempo

    def run_coinbase(self, ctx) -> None:
        state, now = ctx.state, ctx.block_number
        subnets = [netuid for (netuid,), added in self.NetworksAdded.items(state) if added and netuid != ROOT]
        alpha_out = self.BlockEmission.get(state)
        cut = self.SubnetOwnerCut.get(state)
        for netuid in subnets:
            if (self.FirstEmissionBlockNumber.get(state, netuid) is None or not self.SubtokenEnabled.get(state, netuid)
                    or not self.NetworkRegistrationAllowed.get(state, netuid)):
                continue
            split = split_block_emission(alpha_out, cut if self.OwnerCutEnabled.get(state, netuid) else 0)
            self.SubnetAlphaOutEmission.set(state, netuid, alpha_out)
            for item, amount in ((self.PendingOwnerCut, split.owner), (self.PendingServerEmission, split.server),
                                 (self.PendingValidatorEmission, split.validator)):
                item.set(state, netuid, item.get(state, netuid) + amount)
        for netuid, pending in self.drain_pending(ctx, subnets).items():
            self.distribute_emission(ctx, netuid, *pending)
            self.LastMechansimStepBlock.set(state, netuid, now)

    def drain_pending(self, ctx, subnets: list[int]) -> dict[int, tuple[int, int, int, int]]:
        """Take the pending emission of every subnet whose epoch is due: netuid -> (server, validator, root, owner)."""
        state, now = ctx.state, ctx.block_number
        cap, run, out = self.MaxEpochsPerBlock.get(state), 0, {}
        for netuid in subnets:
            self.BlocksSinceLastStep.set(state, netuid, self.BlocksSinceLastStep.get(state, netuid) + 1)
            if not self.should_run_epoch(state, netuid, now):
                continue
            if run >= cap:
                self.PendingEpochAt.set(state, netuid, now + 1)
                ctx.event(self.name, "EpochDeferred", {"netuid": netuid, "from_block": now, "to_block": now + 1})
                continue
            self.BlocksSinceLastStep.set(state, netuid, 0)
            drained = []
            for item in (self.PendingServerEmission, self.PendingValidatorEmission, self.PendingRootAlphaDivs,
                         self.PendingOwnerCut):
                drained.append(item.get(state, netuid))
                item.set(state, netuid, 0)
            out[netuid] = tuple(drained)
            run += 1
            self.LastEpochBlock.set(state, netuid, now)
            self.PendingEpochAt.set(state, netuid, 0)
            self.SubnetEpochIndex.set(state, netuid, self.SubnetEpochIndex.get(state, netuid) + 1)
        return out

    # ------------------------------------------------------------------ the epoch

    def epoch_inputs(self, state, netuid: int, now: int) -> dict:
        """The arguments of `tao_lab.consensus.epoch` for this subnet, read from storage as subtensor reads them."""
        n = self.SubnetworkN.get(state, netuid)
        hotkeys = [self.Keys.get(state, netuid, uid) if self.Keys.contains(state, netuid, uid) else None
                   for uid in range(n)]
        stake = [self.TotalHotkeyAlpha.get(state, hk, netuid) if hk is not None else 0 for hk in hotkeys]

        def rows(item):
            out = [[] for _ in range(n)]
            for (_, uid), row in item.items(state, netuid):
                if uid < n:
                    out[uid] = [(j, v) for j, v in row if j < n]
            return out

        permits = (self.ValidatorPermit.get(state, netuid) + [False] * n)[:n]
        last_update = (self.LastUpdate.get(state, netuid) + [0] * n)[:n]
        registered = [self.BlockAtRegistration.get(state, netuid, uid) if hk is not None else 0
                      for uid, hk in enumerate(hotkeys)]
        tempo = self.Tempo.get(state, netuid)
        commit_reveal = self.CommitRevealWeightsEnabled.get(state, netuid)
        commit_blocks = None
        if commit_reveal:
            commit_blocks = [U64_MAX] * n
            for (_, who), commits in self.WeightCommits.items(state, netuid):
                uid = self.Uids.get(state, netuid, who)
                for _, commit_epoch, commit_block, _ in commits:
                    if not self.is_commit_expired(state, netuid, commit_epoch, now):
                        if uid is not None and uid < n:
                            commit_blocks[uid] = min(commit_blocks[uid], commit_block)
                        break
        alpha_low, alpha_high = self.AlphaValues.get(state, netuid)
        params = EpochParams(
            kappa=self.Kappa.get(state, netuid), bonds_penalty=self.BondsPenalty.get(state, netuid),
            bonds_moving_average=self.BondsMovingAverage.get(state, netuid), yuma3=self.Yuma3On.get(state, netuid),
            liquid_alpha=self.LiquidAlphaOn.get(state, netuid), alpha_low=alpha_low, alpha_high=alpha_high,
            alpha_sigmoid_steepness=self.AlphaSigmoidSteepness.get(state, netuid),
            max_allowed_validators=self.MaxAllowedValidators.get(state, netuid),
            activity_cutoff=max(self.ActivityCutoffFactorMilli.get(state, netuid) * tempo // 1000, 1),
            tempo=tempo, stake_threshold=self.StakeThreshold.get(state),
            owner_uid=self.get_owner_uid(state, netuid), commit_reveal=commit_reveal,
        )
        context = EpochContext(current_block=now, last_update=last_update, block_at_registration=registered,
                               last_mechanism_step_block=self.LastMechansimStepBlock.get(state, netuid),
                               commit_blocks=commit_blocks)
        return {"stake": stake, "weights": rows(self.Weights), "bonds": rows(self.Bonds), "permits": permits,
                "params": params, "context": context}

    def run_epoch(self, ctx, netuid: int, rao_emission: int) -> tuple[list, EpochResult]:
        """Run Yuma consensus on the subnet and store its outputs as subtensor does; returns (hotkeys, result)."""
        state = ctx.state
        result = epoch(**self.epoch_inputs(state, netuid, ctx.block_number), rao_emission=rao_emission)
        n = result.n
        as_list = lambda a: [int(x) for x in a]
        self.Incentive.set(state, netuid, as_list(result.incentive_u16))
        new_rows = result.new_bonds_rows
        for uid in range(n):
            # subtensor rewrites every uid's row: the new EMA row with a permit, otherwise empty.
            self.Bonds.set(state, netuid, uid, new_rows[uid] if result.new_validator_permits[uid] else [])
        ctx.event(self.name, "IncentiveAlphaEmittedToMiners",
                  {"netuid": netuid, "emissions": as_list(result.server_emission)})
        self.Active.set(state, netuid, [bool(x) for x in result.active])
        self.Emission.set(state, netuid, as_list(result.emission))
        self.Consensus.set(state, netuid, as_list(result.consensus_u16))
        self.Dividends.set(state, netuid, as_list(result.dividends_u16))
        self.ValidatorTrust.set(state, netuid, as_list(result.validator_trust_u16))
        self.ValidatorPermit.set(state, netuid, [bool(x) for x in result.new_validator_permits])
        self.StakeWeight.set(state, netuid, as_list(result.stake_weight_u16))
        return [self.Keys.get(state, netuid, uid) for uid in range(n)], result

    # ------------------------------------------------------------------ payout

    def owner_hotkeys(self, state, netuid: int) -> set[bytes]:
        """Hotkeys of the subnet owner registered on the subnet: their miner emission is burned."""
        owner = self.SubnetOwner.get(state, netuid)
        out = {hk for hk in self.OwnedHotkeys.get(state, owner) if self.Uids.get(state, netuid, hk) is not None}
        owner_hotkey = self.SubnetOwnerHotkey.get(state, netuid)
        if self.SubnetOwnerHotkey.contains(state, netuid) and self.Uids.get(state, netuid, owner_hotkey) is not None:
            out.add(owner_hotkey)
        return out

    def distribute_emission(self, ctx, netuid: int, server: int, validator: int, root: int, owner_cut: int) -> None:
        state = ctx.state
        hotkeys, result = self.run_epoch(ctx, netuid, server + validator + root)
        takes = [self.Delegates.get(state, hk) for hk in hotkeys]
        payout = distribute_epoch(result.server_emission, result.validator_emission, validator, server, takes)
        minted = 0
        if owner_cut and self.SubnetOwner.contains(state, netuid) and self.SubnetOwnerHotkey.contains(state, netuid):
            self.increase_stake_for_hotkey_and_coldkey(ctx, self.SubnetOwnerHotkey.get(state, netuid),
                                                       self.SubnetOwner.get(state, netuid), netuid, owner_cut)
            minted += owner_cut
        burned_to = self.owner_hotkeys(state, netuid)
        for hotkey, incentive in zip(hotkeys, payout.incentive):
            if incentive and hotkey not in burned_to:
                self.increase_stake_for_hotkey_and_coldkey(ctx, hotkey, self.Owner.get(state, hotkey), netuid,
                                                           int(incentive))
                minted += int(incentive)
        for (_, old), _ in list(self.AlphaDividendsPerSubnet.items(state, netuid)):
            self.AlphaDividendsPerSubnet.remove(state, netuid, old)
        for hotkey, take, rest in zip(hotkeys, payout.take, payout.to_nominators):
            take, rest = int(take), int(rest)
            self.increase_stake_for_hotkey_and_coldkey(ctx, hotkey, self.Owner.get(state, hotkey), netuid, take)
            self.increase_stake_for_hotkey(ctx, hotkey, netuid, rest)
            self.AlphaDividendsPerSubnet.set(state, netuid, hotkey, rest)
            self.TotalHotkeyAlphaLastEpoch.set(state, hotkey, netuid, self.TotalHotkeyAlpha.get(state, hotkey, netuid))
            minted += take + rest
        self.TotalIssuance.set(state, self.TotalIssuance.get(state) + minted)
