"""03_yuma_consensus (`tao_lab.notebooks.yuma.CELLS`): it runs headless with no chain, and every claim
its text makes holds in its own outputs.

The notebook is built from the cell definitions into tmp_path (not read from notebooks/), executed
once with papermill, and each section's printed numbers are parsed and checked against the text.
"""

import re

import nbformat
import pytest

papermill = pytest.importorskip("papermill")

from _support import run_notebook

from tao_lab.notebooks import notebook
from tao_lab.notebooks.yuma import CELLS


@pytest.fixture(scope="module")
def nb(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("yuma")
    src, out = tmp / "03_yuma_consensus.ipynb", tmp / "executed.ipynb"
    nbformat.write(notebook(CELLS), src)
    return run_notebook(src, out, timeout=120)


def code_cell(nb, marker: str):
    """The one code cell whose source contains ``marker``."""
    cells = [c for c in nb.cells if c.cell_type == "code" and marker in c.source]
    assert len(cells) == 1, (marker, len(cells))
    return cells[0]


def printed(nb, marker: str) -> str:
    return "".join(o.get("text", "") for o in code_cell(nb, marker).outputs if o.output_type == "stream")


def markdown(nb, heading: str) -> str:
    """The markdown cell starting with ``heading``, with line breaks and emphasis removed."""
    cells = [c.source for c in nb.cells if c.cell_type == "markdown" and c.source.startswith(heading)]
    assert len(cells) == 1, heading
    return re.sub(r"\s+", " ", cells[0].replace("**", ""))


def numbers(line: str) -> list[float]:
    return [float(x) for x in re.findall(r"-?\d+\.\d+", line)]


def line(text: str, pattern: str) -> re.Match:
    m = re.search(pattern, text)
    assert m, (pattern, text)
    return m


def test_structure_and_no_errors(nb):
    assert len(nb.cells) <= 25
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# 03 · Yuma consensus, step by step")
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and "epochs = 12" in params[0].source
    solutions = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith("# Solution")]
    assert len(solutions) == 2
    for c in solutions:
        assert "solution" in c.metadata["tags"] and c.metadata["jupyter"]["source_hidden"]
    for c in nb.cells:
        if c.cell_type == "code":
            assert c.outputs or c.source.startswith(("# Parameters", "import")), c.source[:60]
            for o in c.outputs:
                assert o.output_type != "error", (c.source[:60], o.get("evalue"))
                assert not (o.output_type == "stream" and o.name == "stderr"), o.text
    # no chain: nothing in the notebook starts a Lab, a devnet or a subtensor client
    source = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "Lab(" not in source and "devnet" not in source.lower() and "subtensor" not in source.lower()


def test_section1_one_epoch(nb):
    text = printed(nb, "r = epoch(stake, weights")
    md = markdown(nb, "## 1.")
    C = numbers(line(text, r"C  on miners 3..6:(.*)").group(1))
    VT = numbers(line(text, r"VT of validators 0..2:(.*)").group(1))
    I = numbers(line(text, r"I  of miners 3..6:(.*)").group(1))
    D = numbers(line(text, r"D  of validators 0..2:(.*)").group(1))
    assert C == [0.3, 0.3, 0.2, 0.1]  # "C is 0.3 on both"; "on miner 6 ... C is 0.1"
    assert "C is 0.3 on both" in md and "so C is 0.1" in md
    assert VT == [0.9, 0.9, 0.4]  # "each lose 0.1 to clipping (VT 0.9)"; "keeps 0.4 ... (VT 0.4)"
    assert "(VT 0.9)" in md and "(VT 0.4)" in md
    assert I == [0.325, 0.325, 0.225, 0.125] and "I is 0.325, 0.325, 0.225 and 0.125" in md
    assert D[2] == 0.1 and "10% of the dividends (D 0.100)" in md  # it holds 20% of the stake
    miners, validators = numbers(line(text, r"emission: miners ([\d.]+) TAO, validators ([\d.]+) TAO").group(0))
    assert miners == validators == 0.5  # "the miners get half (by I) and the validators half (by D)"
    # the intermediate matrices: W, and W clipped at C
    mats = printed(nb, "r.clipped_weights[:3, 3:]")
    w, clipped = mats.split("W clipped at C:")
    assert numbers(w)[-4:] == [0.1, 0.1, 0.1, 0.7] and numbers(clipped)[-4:] == [0.1] * 4  # validator 2's row
    assert numbers(clipped)[:4] == [0.3, 0.3, 0.2, 0.1]  # validator 0 keeps 0.9


def test_section2_explainer_renders(nb):
    cell = code_cell(nb, "ex = Explainer(")
    text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    assert "Miner uid 6: consensus 0.100" in text  # "so C is 0.1. The sentence above the figures says so"
    shown = [o for o in cell.outputs if o.output_type == "execute_result"]
    assert shown, "the explainer is displayed"
    data = shown[0]["data"]
    assert "application/vnd.jupyter.widget-view+json" in data and "tao-lab-explainer-static" in data["text/html"]


def test_section3_kappa(nb):
    text = printed(nb, "for kappa in (0.1, 0.5, 0.9)")
    md = markdown(nb, "## 3.")
    rows = {}
    for m in re.finditer(r"kappa ([\d.]+): C on miners 3..6 = ([\d. ]+); VT = ([\d. ]+); I = ([\d. ]+); "
                         r"D of validator 2 = ([\d.]+)", text):
        rows[float(m.group(1))] = [numbers(g) for g in m.groups()[1:4]] + [float(m.group(5))]
    assert set(rows) == {0.1, 0.5, 0.9}, text
    C, VT, I, D2 = rows[0.1]
    assert C[3] == 0.7 and VT == [1.0, 1.0, 1.0] and I[3] == 0.22 and D2 == 0.2  # kappa 0.1 bullet
    assert "miner 6's incentive rises from 0.125 to 0.220" in md and "its stake share, 0.200" in md
    assert rows[0.5] == [[0.3, 0.3, 0.2, 0.1], [0.9, 0.9, 0.4], [0.325, 0.325, 0.225, 0.125], 0.1]  # as in section 1
    C, VT, I, D2 = rows[0.9]
    assert C == [0.1] * 4 and I == [0.25] * 4 and VT == [0.4] * 3 and D2 == 0.2  # kappa 0.9 bullet
    assert "the same incentive, 0.250" in md and "validator 2 gets 0.200" in md
    assert round(0.5 * 65535) == 32768  # "0.5 is stored as 32 768 here"
    sentence = printed(nb, "ex.update(kappa=0.1, validator=2)")
    assert "consensus on uid 6 rises from 0.10 to 0.70" in sentence
    assert "dividends of validator 2 rise from 0.10 to 0.20" in sentence


def test_section4_bonds_original_and_yuma3(nb):
    text = printed(nb, "last = epochs - 1")
    md = markdown(nb, "## 4.")
    got = {}
    for name in ("original", "Yuma3"):
        e23 = numbers(line(text, rf"\n?{name}: validator 1 D/S at epochs 2, 3: (.*)").group(1))
        share, ds1, ds0 = numbers(line(text, rf"{name}: epoch 4: validator 1 gets (.*)").group(1))
        last1, last2 = numbers(line(text, rf"{name}: last epoch \(11\): (.*)").group(1))
        got[name] = dict(e23=e23, share=share, ds1=ds1, ds0=ds0, last1=last1, last2=last2)
    o, y = got["original"], got["Yuma3"]
    # "miner 4 earns nothing yet (C = 0 there)" at epochs 2, 3; "becomes the consensus (C = 1 there)" at 4
    assert numbers(line(text, r"C on miner 4 at epochs 2, 3, 4:(.*)").group(1)) == [0.0, 0.0, 1.0]
    assert "(C = 0 there)" in md and "(C = 1 there)" in md
    # epochs 2 and 3: the early mover earns less than its share in both
    assert o["e23"] == [0.9, 0.81] and y["e23"] == [0.695, 0.519]
    assert "0.900 then 0.810 in original Yuma, 0.695 then 0.519 in Yuma3" in md
    # epoch 4: original gives validator 1 0.929 of all dividends (3.7x), validator 0 0.118x
    assert o["share"] == 0.929 and f"{o['ds1']:.1f}" == "3.7" and o["ds0"] == 0.118
    assert "0.929 of all dividends, 3.7 times" in md and "gets 0.118 times its share" in md
    assert y["share"] == 0.53 and f"{y['ds1']:.1f}" == "2.1" and y["ds0"] == 0.783
    assert "0.530 of the dividends (2.1 times its share), validator 0 0.783 times" in md
    # last epoch: 2.3x against 1.13x; the late mover catches up faster in Yuma3
    assert f"{o['last1']:.1f}" == "2.3" and f"{y['last1']:.2f}" == "1.13"
    assert y["last2"] == 0.815 and o["last2"] == 0.468 and y["last2"] > o["last2"]
    assert "2.3 times its share in original Yuma, 1.13 times" in md and "0.815, against 0.468" in md
    # epochs 0 and 1: every D / S is 1.000 (the table)
    table = code_cell(nb, "runs = {\"original\"").outputs[-1]["data"]["text/plain"]
    rows = [numbers(r) for r in table.splitlines()[2:]]
    assert len(rows) == 12 and rows[0] == rows[1] == [1.0] * 6
    # the bonds: Yuma3 grows as 1 - 0.9^(e+1); original shows 1.000 (column max-upscaled)
    y3 = numbers(line(text, r"Yuma3 bond of validator 0 on miner 3, epochs 0-3:(.*)").group(1))
    assert y3 == [round(1 - 0.9 ** (e + 1), 3) for e in range(4)] == [0.1, 0.19, 0.271, 0.344]
    orig = numbers(line(text, r"original bond of validator 0 on miner 3, epochs 0-3:(.*)").group(1))
    assert orig == [1.0] * 4
    after = markdown(nb, "The last two lines show the bonds")
    assert "0.100, 0.190, 0.271, 0.344" in after and "1.000 from the first epoch" in after


def test_section5_liquid_alpha(nb):
    text = printed(nb, "liquid_alphas[:3, 3:]")
    md = markdown(nb, "## 5.")
    block = text.split("(rows validators 0-2, columns miners 3, 4):")[1].split("Yuma3:")[0]
    alphas = [numbers(r) for r in block.strip().splitlines()]
    assert alphas[0][0] == alphas[2][0] == 0.701  # at consensus: next to alpha low
    assert alphas[1] == [0.897, 0.899]  # validator 1's sale of miner 3, purchase of miner 4
    assert "alpha is 0.701" in md and "0.897 and 0.899" in md
    for a in (x for r in alphas for x in r):
        assert 0.7 <= a <= 0.9
    fixed = numbers(line(text, r"Yuma3: validator 2's bond on miner 4, epochs 6-8:(.*)").group(1))
    liquid = numbers(line(text, r"Yuma3 \+ liquid alpha: validator 2's bond on miner 4, epochs 6-8:(.*)").group(1))
    assert liquid[:2] == [0.701, 0.911] and fixed[:2] == [0.1, 0.19]
    assert "0.701, 0.911 with liquid alpha, against 0.100, 0.190" in md
    f = numbers(line(text, r"Yuma3: validator 1 D/S at epoch 2: (.*)").group(1))
    lq = numbers(line(text, r"Yuma3 \+ liquid alpha: validator 1 D/S at epoch 2: (.*)").group(1))
    assert lq[0] == 0.125 and "D/S 0.125 at epoch 2" in md
    assert lq[1] < f[1] and f"{lq[1]:.2f}" == "1.49" and "smaller (1.49 times" in md
    assert lq[2] <= 0.01 and "within 0.01 of 1" in md  # every D/S at the last epoch


def test_solutions(nb):
    one = printed(nb, "# Solution 1")
    assert "largest kappa at which validator 2's 0.7 is consensus on miner 6: 0.20" in one
    two = printed(nb, "# Solution 2")
    for name in ("original", "Yuma3"):
        v0, v1 = numbers(line(two, rf"{name}, bonds penalty 1: epoch 4 D/S (.*)").group(1))
        assert v0 == v1  # no early-mover premium with the default penalty
