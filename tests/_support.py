"""Small helpers shared by the tests (importable from any test module: pytest puts tests/ on the path
because tests/conftest.py lives there)."""

from __future__ import annotations

import os
import time
from pathlib import Path


def wait_for(predicate, timeout: float = 30.0, poll: float = 0.05) -> bool:
    """Poll ``predicate()`` until it is true (returns True) or ``timeout`` seconds pass (returns False)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(poll)
    return True


def gone(pid: int) -> bool:
    """True when ``pid`` no longer runs (a zombie awaiting a reaper counts as gone: it holds no socket)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state in ("Z", "X")
    except FileNotFoundError:
        return True
    except OSError:  # no /proc (macOS)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False


def run_notebook(src: Path, out: Path, timeout: int = 300, **parameters):
    """Execute the notebook ``src`` headless with papermill (a real "python3" kernel, offline, in
    ``src``'s folder) with ``parameters``, write it to ``out`` and return it read back with nbformat
    (multi-line outputs joined into strings)."""
    import nbformat
    import papermill

    old = dict(os.environ)
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        papermill.execute_notebook(str(src), str(out), parameters=parameters, kernel_name="python3",
                                   cwd=str(Path(src).parent), progress_bar=False, store_widget_state=False,
                                   execution_timeout=timeout)
    finally:
        os.environ.clear()
        os.environ.update(old)
    return nbformat.read(out, as_version=4)


def chain_item(si, item: str, *keys, at=None):
    """A SubtensorModule storage value read with substrate-interface (``at``: a block hash)."""
    return si.query("SubtensorModule", item, list(keys), block_hash=at).value


def expected_epoch(si, netuid: int, epoch_block: int):
    """`tao_lab.consensus.epoch` on the subnet's state at the block before ``epoch_block``, as the devnet reads it."""
    from tao_lab.consensus import EpochContext, EpochParams, epoch, split_block_emission

    before = si.get_block_hash(epoch_block - 1)
    n = chain_item(si, "SubnetworkN", netuid, at=before)
    hotkeys = [chain_item(si, "Keys", netuid, u, at=before) for u in range(n)]
    tempo = chain_item(si, "Tempo", netuid, at=before)
    low, high = chain_item(si, "AlphaValues", netuid, at=before)
    owner = chain_item(si, "SubnetOwnerHotkey", netuid, at=before)
    params = EpochParams(
        kappa=chain_item(si, "Kappa", netuid, at=before), bonds_penalty=chain_item(si, "BondsPenalty", netuid, at=before),
        bonds_moving_average=chain_item(si, "BondsMovingAverage", netuid, at=before), yuma3=chain_item(si, "Yuma3On", netuid, at=before),
        liquid_alpha=chain_item(si, "LiquidAlphaOn", netuid, at=before), alpha_low=low, alpha_high=high,
        alpha_sigmoid_steepness=chain_item(si, "AlphaSigmoidSteepness", netuid, at=before),
        max_allowed_validators=chain_item(si, "MaxAllowedValidators", netuid, at=before),
        activity_cutoff=max(1, chain_item(si, "ActivityCutoffFactorMilli", netuid, at=before) * tempo // 1000),
        tempo=tempo, stake_threshold=chain_item(si, "StakeThreshold", at=before),
        owner_uid=hotkeys.index(owner) if owner in hotkeys else None,
    )
    context = EpochContext(
        current_block=epoch_block, last_update=chain_item(si, "LastUpdate", netuid, at=before),
        block_at_registration=[chain_item(si, "BlockAtRegistration", netuid, u, at=before) for u in range(n)],
        last_mechanism_step_block=chain_item(si, "LastMechansimStepBlock", netuid, at=before),
    )
    # The epoch shares out what accrued since the last one: the pending emission plus its own block's.
    cut = chain_item(si, "SubnetOwnerCut", at=before) if chain_item(si, "OwnerCutEnabled", netuid, at=before) else 0
    split = split_block_emission(chain_item(si, "BlockEmission", at=before), cut)
    rao = (chain_item(si, "PendingServerEmission", netuid, at=before) + chain_item(si, "PendingValidatorEmission", netuid, at=before)
           + split.server + split.validator)

    def rows(item):
        return [[(j, w) for j, w in chain_item(si, item, netuid, u, at=before)] for u in range(n)]

    return epoch([chain_item(si, "TotalHotkeyAlpha", hk, netuid, at=before) for hk in hotkeys], rows("Weights"), rows("Bonds"),
                 chain_item(si, "ValidatorPermit", netuid, at=before), params=params, context=context, rao_emission=rao)
