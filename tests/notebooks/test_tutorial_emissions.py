"""05_emissions_and_staking: the notebook runs headless, and every claim its text makes holds in its outputs."""

import re
from pathlib import Path

import nbformat
import pytest

papermill = pytest.importorskip("papermill")

from _support import run_notebook

from tao_lab.notebooks import notebook
from tao_lab.notebooks.emissions import CELLS


def execute(tmp_path: Path, **parameters):
    src = tmp_path / "05.ipynb"
    nbformat.write(notebook(CELLS), src)
    return run_notebook(src, tmp_path / "executed-05.ipynb", timeout=120, **parameters)


def num(pattern: str, text: str) -> tuple[float, ...]:
    match = re.search(pattern, text)
    assert match, (pattern, text)
    return tuple(float(g) for g in match.groups())


def test_cells_are_shaped_like_the_other_tutorials():
    assert CELLS[0][0] == "md" and CELLS[0][1].startswith("# 05 · Emissions and staking")
    tagged = {tuple(c[2]) for c in CELLS if len(c) == 3}
    assert tagged == {("parameters",), ("solution",)}
    assert [c for c in CELLS if len(c) == 3][0][1].strip().splitlines()[-1].startswith("tempo = 10")
    assert len(CELLS) < 25
    assert "dev.stop()" in CELLS[-1][1]


@pytest.mark.parametrize("tempo", [10, 20], ids=["default", "tempo=20"])
def test_emissions_notebook_runs_and_its_claims_hold(tmp_path, tempo):
    nb = execute(tmp_path, **({} if tempo == 10 else {"tempo": tempo}))
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert (tempo == 10 and not injected) or f"tempo = {tempo}" in injected[0].source
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    text = ["".join(o.get("text", "") for o in c.outputs if o.output_type == "stream") for c in code]
    by_start = {c.source.splitlines()[0]: t for c, t in zip(code, text)}
    setup, split, stake, nominate, moves, sol1, sol2 = (
        next(t for s, t in by_start.items() if s.startswith(start)) for start in (
            "import pandas", "block_split", "for name in (\"dave\"", "def owned", "sub.add_stake(dave",
            "# Solution 1", "# Solution 2"))
    solutions = [c for c in code if c.source.startswith("# Solution")]
    assert len(solutions) == 2
    for cell in solutions:  # collapsed until opened, and they ran under papermill
        assert "solution" in cell.metadata.tags and cell.metadata.jupyter["source_hidden"]

    # Section 2: 64 permits, Yuma3 on; section 4: kappa is 32767/65535, about one half.
    assert (f"tempo {tempo}, kappa 32767 / 65535, max_allowed_validators 64, yuma3_enabled True") in setup

    # 1. "1 TAO per block, tempo TAO per epoch"; "owner's cut ... about 18%"; "half of the rest" each.
    owner, server, validator, root = num(r"BlockSplit\(owner=(\d+), server=(\d+), validator=(\d+), root=(\d+)\)", split)
    assert owner + server + validator + root == 10**9 and server == validator and root == 0
    assert abs(owner / 10**9 - 11796 / 65535) < 1e-8
    at, since = num(r"the epoch ran at block (\d+), (\d+) blocks after the one before", split)
    assert since == tempo  # next_epoch() made exactly one epoch's blocks
    emitted, per_block = num(rf"epoch emission: ([\d.]+) TAO \({tempo} blocks × ([\d.]+) TAO\)", split)
    assert emitted == tempo and per_block == 1.0
    shares = {name: num(rf"{name}[^\n]*?([\d.]+) TAO = ([\d.]+)%", split) for name in ("owner", "miners", "validators")}
    assert shares["owner"][1] == 18.0 and shares["miners"][1] == shares["validators"][1] == 41.0
    # "The three parts add up to the epoch's emission, less a few rao lost to rounding down."
    total, short = num(r"sum\s+([\d.]+) TAO: (\d+) rao short", split)
    assert 0 <= short <= 20 and abs(sum(v[0] for v in shares.values()) - total) < 1e-8
    assert "owner's cut = tempo × one block's cut: True" in split
    # "E covers the miners' and validators' parts (to within a few rao), not the owner's."
    sum_e, mv = num(r"sum of E \(metagraph\): ([\d.]+) TAO; miners \+ validators: ([\d.]+) TAO", split)
    assert abs(sum_e - mv) <= 5e-9 and abs(mv - shares["miners"][0] - shares["validators"][0]) < 1e-8
    # "Charlie's free balance does not change."
    assert "Charlie's free balance changed by 0 rao" in split

    # 2. Permits for every staked hotkey; the miners earn no dividends; Dave: twice the stake, twice the dividends.
    assert stake.count("permit True") == 2
    ratios = num(r"stake ratio ([\d.]+), dividend ratio ([\d.]+), TAO ratio ([\d.]+)", stake)
    assert all(abs(r - 2.0) < 0.005 for r in ratios), ratios
    assert "dividends of the miners: 0.0000" in stake

    # 3. Ferdie's stake makes Eve's hotkey about as heavy as Dave's, so it earns about as much.
    s_eve, s_e, s_f, d_eve, s_dave, d_dave = num(
        r"Eve's hotkey: S ([\d.]+) TAO \(Eve ([\d.]+), Ferdie ([\d.]+)\), D ([\d.]+); "
        r"Dave's hotkey: S ([\d.]+) TAO, D ([\d.]+)", nominate)
    assert s_f == 1000.0 and abs(s_eve - s_dave) / s_dave < 0.01 and abs(d_eve - d_dave) < 0.01
    # The take is Delegates = 11796/65535, about 18%, of what the hotkey earns.
    paid, take, take_pct, delegates, to_pool = num(
        r"earned ([\d.]+) TAO: take ([\d.]+) TAO \(([\d.]+)%; Delegates = (\d+) = [\d.]+%\), to the pool ([\d.]+) TAO",
        nominate)
    assert delegates == 11796 and take_pct == 18.0 and abs(take + to_pool - paid) < 2e-6
    # Eve gains the take plus her share of the rest, Ferdie his share of the rest: exactly, as printed.
    eve_gain, eve_expected = num(r"Eve gained\s+([\d.]+) TAO: take \+ [\d.]+% of the rest = ([\d.]+) TAO", nominate)
    ferdie_gain, ferdie_expected = num(r"Ferdie gained ([\d.]+) TAO: [\d.]+% of the rest = ([\d.]+) TAO", nominate)
    assert abs(eve_gain - eve_expected) <= 2e-6 and abs(ferdie_gain - ferdie_expected) <= 2e-6
    # Per TAO staked: Ferdie about 82% of the hotkey's rate, Eve more than the hotkey's rate.
    rate, ferdie_rate, ferdie_pct, eve_rate, dave_rate = num(
        r"hotkey rate ([\d.]+), Ferdie ([\d.]+) \(([\d.]+)% of the rate\), Eve ([\d.]+), Dave ([\d.]+)", nominate)
    assert 81.5 <= ferdie_pct <= 82.5 and eve_rate > rate > ferdie_rate
    # "Eve's hotkey earns more, Dave earns less. Eve's own income falls too."
    dave_before, dave_after, eve_before, eve_after = num(
        r"Dave ([\d.]+) -> ([\d.]+) TAO, Eve ([\d.]+) -> ([\d.]+) TAO", nominate)
    assert paid > eve_before and dave_after < dave_before and eve_after < eve_before

    # 4. Dave with about three quarters of the stake moves the consensus to miner2 in one epoch.
    share = num(r"Dave holds ([\d.]+)% of the stake", moves)[0]
    assert 70.0 < share < 80.0
    for miner in ("miner0", "miner1"):
        c0, c1, i0, i1 = num(rf"{miner}: C ([\d.]+) -> ([\d.]+)\s+I ([\d.]+) -> ([\d.]+)", moves)
        assert i0 > 0 and c1 == i1 == 0.0
    c0, c1, i0, i1 = num(r"miner2: C ([\d.]+) -> ([\d.]+)\s+I ([\d.]+) -> ([\d.]+)", moves)
    assert c1 == i1 == 1.0 and i0 < 0.5
    vt0, vt1, d0, d1 = num(r"eve\s+VT ([\d.]+) -> ([\d.]+)\s+D ([\d.]+) -> ([\d.]+)", moves)
    assert vt1 == 0.2 and vt1 < vt0 and d1 < d0  # VT falls to her weight on miner2; her dividends fall

    # Solution 1: with a minority, C follows Eve's majority; Dave's miner2 weight is clipped to 0.2.
    dave_share, eve_share = num(r"stake: Dave ([\d.]+)%, Eve's hotkey ([\d.]+)%", sol1)
    assert dave_share < 50.0 < eve_share
    for miner in ("miner0", "miner1"):
        c, i = num(rf"{miner}: .*with his minority C ([\d.]+) I ([\d.]+)", sol1)
        assert c > 0 and i > 0
    assert num(r"miner2: .*with his minority C ([\d.]+)", sol1)[0] == 0.2

    # Solution 2: 1 alpha unstaked pays 1 TAO; what is above 1000 TAO was earned; nothing is left.
    held, back = num(r"Ferdie's stake: ([\d.]+) TAO; TAO back: ([\d.]+)", sol2)
    assert held == back and num(r"earned as a nominator: ([\d.]+) TAO", sol2)[0] == pytest.approx(held - 1000, abs=2e-6)
    assert "left in Eve's hotkey for Ferdie: 0 rao" in sol2
