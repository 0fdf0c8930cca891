"""Weights: ``set_weights``, and commit-reveal v2 (``commit_weights`` / ``reveal_weights``).

``set_weights`` runs subtensor's checks in subtensor's order; the row checks and the stored u16 row
(max-upscaled to 65535) come from `tao_lab.consensus.prepare_weights`, the same code the notebook
tools use. With commit-reveal on, a validator commits ``commit_hash(...)`` in one epoch and reveals
the weights ``RevealPeriodEpochs`` epochs later; a commit expires after that epoch.
"""

from __future__ import annotations

from ....consensus.weights import WeightsRejected, prepare_weights
from ...pallet import blake2_256, call
from ...scale import H256, U16, U64, AccountId, F, Vec
from .types import MECH_ID, NET_UID, ROOT, pays_no

__all__ = ["WeightsMixin", "commit_hash", "MAX_UNREVEALED_COMMITS"]

MAX_UNREVEALED_COMMITS = 10
_U16S = Vec(U16)


def commit_hash(hotkey: bytes, netuid: int, uids, values, salt, version_key: int) -> bytes:
    """The commit-reveal v2 hash: BlakeTwo256 of the SCALE tuple (hotkey, netuid, uids, values, salt, version_key).

    Args:
        hotkey: 32-byte account id of the committing hotkey.
        netuid: the subnet (its ``NetUidStorageIndex``; equal to netuid on the devnet).
        uids, values, salt: u16 sequences, exactly as they will be passed to ``reveal_weights``.
        version_key: u64.
    """
    data = (AccountId.encode(bytes(hotkey)) + U16.encode(netuid) + _U16S.encode(list(uids))
            + _U16S.encode(list(values)) + _U16S.encode(list(salt)) + U64.encode(version_key))
    return blake2_256(data)


class WeightsMixin:
    """Weight setting and commit-reveal of `SubtensorModule`."""

    def check_rate_limit(self, state, netuid: int, uid: int, now: int) -> bool:
        if not self.Keys.contains(state, netuid, uid):
            return False
        last = self.LastUpdate.get(state, netuid)
        last = last[uid] if uid < len(last) else 0
        return last == 0 or now - last >= self.WeightsSetRateLimit.get(state, netuid)

    def do_set_weights(self, ctx, netuid: int, uids: list, values: list, version_key: int) -> None:
        hotkey = ctx.ensure_signed()
        state = ctx.state
        if netuid == ROOT:
            raise self.error("CanNotSetRootNetworkWeights")
        if len(uids) != len(values):
            raise self.error("WeightVecNotEqualSize", f"{len(uids)} uids but {len(values)} values")
        if not self.if_subnet_exist(state, netuid):
            raise self.error("MechanismDoesNotExist", f"subnet {netuid} does not exist")
        n = self.SubnetworkN.get(state, netuid)
        if len(uids) > n:
            raise self.error("UidsLengthExceedUidsInSubNet", f"{len(uids)} uids for a subnet of {n}")
        uid = self.Uids.get(state, netuid, hotkey)
        if uid is None:
            raise self.error("HotKeyNotRegisteredInSubNet", f"the hotkey is not registered on subnet {netuid}")
        owner_uid = self.get_owner_uid(state, netuid)
        if owner_uid != uid and self.TotalHotkeyAlpha.get(state, hotkey, netuid) < self.StakeThreshold.get(state):
            raise self.error("NotEnoughStakeToSetWeights", f"StakeThreshold is {self.StakeThreshold.get(state)} rao")
        network_key = self.WeightsVersionKey.get(state, netuid)
        if network_key != 0 and version_key < network_key:
            raise self.error("IncorrectWeightVersionKey", f"the subnet requires version_key >= {network_key}")
        commit_reveal = self.CommitRevealWeightsEnabled.get(state, netuid)
        if not commit_reveal and not self.check_rate_limit(state, netuid, uid, ctx.block_number):
            raise self.error("SettingWeightsTooFast",
                             f"WeightsSetRateLimit is {self.WeightsSetRateLimit.get(state, netuid)} blocks")
        self_weight = len(values) == 1 and uids[0] == uid
        permits = self.ValidatorPermit.get(state, netuid)
        if not (self_weight or owner_uid == uid or (uid < len(permits) and permits[uid])):
            raise self.error("NeuronNoValidatorPermit", "only uids with a validator permit may set weights on others")
        try:
            row = prepare_weights(uid, uids, values, n=n, min_allowed_weights=self.MinAllowedWeights.get(state, netuid),
                                  max_weight_limit=self.MaxWeightsLimit.get(state, netuid))
        except WeightsRejected as exc:
            raise self.error(exc.reason, str(exc)) from None
        self.Weights.set(state, netuid, uid, row)
        if not commit_reveal:
            self.set_last_update_for_uid(state, netuid, uid, ctx.block_number)
        ctx.event(self.name, "WeightsSet", (netuid, uid))

    @pays_no
    @call(0, NET_UID("netuid"), F("dests", Vec(U16), "Vec<u16>"), F("weights", Vec(U16), "Vec<u16>"),
          F("version_key", U64, "u64"))
    def set_weights(self, ctx, netuid, dests, weights, version_key):
        """Set the caller hotkey's weights on a subnet: ``dests`` uids, ``weights`` u16 values (any scale; stored
        max-upscaled to 65535). Refused while commit-reveal is enabled on the subnet."""
        if self.CommitRevealWeightsEnabled.get(ctx.state, netuid):
            raise self.error("CommitRevealEnabled", "use commit_weights and reveal_weights on this subnet")
        self.do_set_weights(ctx, netuid, list(dests), list(weights), version_key)

    @pays_no
    @call(119, NET_UID("netuid"), MECH_ID("mecid"), F("dests", Vec(U16), "Vec<u16>"), F("weights", Vec(U16), "Vec<u16>"),
          F("version_key", U64, "u64"))
    def set_mechanism_weights(self, ctx, netuid, mecid, dests, weights, version_key):
        """Set the caller hotkey's weights for mechanism ``mecid`` of a subnet. The devnet has one mechanism per
        subnet, so ``mecid`` 0 is exactly ``set_weights``; any other is MechanismDoesNotExist."""
        if self.CommitRevealWeightsEnabled.get(ctx.state, netuid):
            raise self.error("CommitRevealEnabled", "use commit_weights and reveal_weights on this subnet")
        if mecid >= self.MechanismCountCurrent.get(ctx.state, netuid):
            raise self.error("MechanismDoesNotExist", f"subnet {netuid} has mechanism 0 only")
        self.do_set_weights(ctx, netuid, list(dests), list(weights), version_key)

    # ------------------------------------------------------------------ commit-reveal v2

    def current_epoch_with_lookahead(self, state, netuid: int, now: int) -> int:
        base = self.SubnetEpochIndex.get(state, netuid)
        return base + 1 if self.should_run_epoch(state, netuid, now) else base

    def is_commit_expired(self, state, netuid: int, commit_epoch: int, now: int) -> bool:
        current = self.current_epoch_with_lookahead(state, netuid, now)
        return current > commit_epoch + self.RevealPeriodEpochs.get(state, netuid)

    def is_reveal_epoch(self, state, netuid: int, commit_epoch: int, now: int) -> bool:
        current = self.current_epoch_with_lookahead(state, netuid, now)
        return current == commit_epoch + self.RevealPeriodEpochs.get(state, netuid)

    @pays_no
    @call(96, NET_UID("netuid"), F("commit_hash", H256, "H256"))
    def commit_weights(self, ctx, netuid, commit_hash):
        """Commit the hash of weights to reveal RevealPeriodEpochs epochs later (see `commit_hash`)."""
        state, now = ctx.state, ctx.block_number
        if not self.if_subnet_exist(state, netuid):
            raise self.error("MechanismDoesNotExist")
        who = ctx.ensure_signed()
        if not self.CommitRevealWeightsEnabled.get(state, netuid):
            raise self.error("CommitRevealDisabled")
        uid = self.Uids.get(state, netuid, who)
        if uid is None:
            raise self.error("HotKeyNotRegisteredInSubNet")
        if not self.check_rate_limit(state, netuid, uid, now):
            raise self.error("CommittingWeightsTooFast")
        commits = self.WeightCommits.get(state, netuid, who) or []
        while commits and self.is_commit_expired(state, netuid, commits[0][1], now):
            commits.pop(0)
        if len(commits) >= MAX_UNREVEALED_COMMITS:
            raise self.error("TooManyUnrevealedCommits")
        commits.append((bytes(commit_hash), self.current_epoch_with_lookahead(state, netuid, now), now, 0))
        self.WeightCommits.set(state, netuid, who, commits)
        ctx.event(self.name, "WeightsCommitted", (who, netuid, bytes(commit_hash)))
        self.set_last_update_for_uid(state, netuid, uid, now)

    @pays_no
    @call(97, NET_UID("netuid"), F("uids", Vec(U16), "Vec<u16>"), F("values", Vec(U16), "Vec<u16>"),
          F("salt", Vec(U16), "Vec<u16>"), F("version_key", U64, "u64"))
    def reveal_weights(self, ctx, netuid, uids, values, salt, version_key):
        """Reveal committed weights; they are set exactly as ``set_weights`` would set them."""
        who = ctx.ensure_signed()
        state, now = ctx.state, ctx.block_number
        if not self.CommitRevealWeightsEnabled.get(state, netuid):
            raise self.error("CommitRevealDisabled")
        commits = self.WeightCommits.get(state, netuid, who)
        if commits is None:
            raise self.error("NoWeightsCommitFound")
        expired = []
        while commits and self.is_commit_expired(state, netuid, commits[0][1], now):
            expired.append(commits.pop(0)[0])
        provided = commit_hash(who, netuid, uids, values, salt, version_key)
        position = next((i for i, c in enumerate(commits) if c[0] == provided), None)
        if position is None:
            if provided in expired:
                raise self.error("ExpiredWeightCommit")
            raise self.error("NoWeightsCommitFound" if not commits else "InvalidRevealCommitHashNotMatch")
        if not self.is_reveal_epoch(state, netuid, commits[position][1], now):
            raise self.error("RevealTooEarly", f"reveal in epoch {commits[position][1]} + RevealPeriodEpochs")
        remaining = commits[position + 1:]
        if remaining:
            self.WeightCommits.set(state, netuid, who, remaining)
        else:
            self.WeightCommits.remove(state, netuid, who)
        self.do_set_weights(ctx, netuid, list(uids), list(values), version_key)
        ctx.event(self.name, "WeightsRevealed", (who, netuid, provided))
