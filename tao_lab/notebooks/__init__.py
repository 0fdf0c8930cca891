"""The lab kit's notebooks as cell definitions: the files in ``notebooks/`` and the sidebar's templates.

The notebooks are products: their text must match what their outputs show, so their cells live
here, reviewed as code. ``notebooks/make_notebooks.py`` writes ``notebooks/*.ipynb`` from them
(without outputs), and the server extension's ``POST /tao-lab/api/notebooks`` writes a new notebook
from `TEMPLATES` (docs/server.md). Cell ids are stable (``cell-<i>``), so regenerating a notebook
changes only what changed. nbformat is imported when a notebook is built, not with this module.
"""

from __future__ import annotations

from ..errors import InputError

__all__ = ["QUICKSTART", "DASHBOARD", "LAB", "NOTEBOOKS", "TEMPLATES", "notebook", "template"]


def notebook(cells, **metadata):
    """An nbformat v4 notebook of ``cells``: ``(kind, source[, tags])`` with kind ``"md"`` or ``"code"``.

    The tag ``"parameters"`` marks papermill's parameters cell; ``"solution"`` collapses a cell
    (source and outputs hidden in JupyterLab until the reader opens it).
    """
    import nbformat as nbf

    nb = nbf.v4.new_notebook()
    nb.metadata.update({"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                        "language_info": {"name": "python"}, **metadata})
    for i, (kind, source, *tags) in enumerate(cells):
        cell = nbf.v4.new_markdown_cell(source) if kind == "md" else nbf.v4.new_code_cell(source)
        cell.id = f"cell-{i}"  # stable ids: regenerating a notebook changes only what changed
        if tags:
            cell.metadata["tags"] = list(tags[0])
            if "solution" in tags[0]:  # an exercise's solution: collapsed until the reader opens it
                cell.metadata["jupyter"] = {"source_hidden": True, "outputs_hidden": True}
        nb.cells.append(cell)
    return nb


QUICKSTART = [
    ("md", """# tao_lab quickstart: a live subnet in five cells

A Bittensor-style network runs right here: an embedded devnet chain (a quarter-second block time),
miners serving tiny language models, and a validator that routes text to them, scores their
answers as a mixture of experts and sets weights on chain. Yuma consensus turns those weights into
incentive and emission every epoch. Everything is local and offline.

Run the cells one by one (Shift-Enter)."""),
    ("md", "**1. A chain.** `Lab()` starts the devnet with funded dev wallets (//Alice is sudo and owns subnet 1)."),
    ("code", """from tao_lab import Lab

lab = Lab()
lab"""),
    ("md", """**2. A subnet with miners and a validator.** Four miners with different amounts of training
(0 to 60 steps on Python's own documentation), one validator with 1,000 TAO of stake. Running the
cell again changes nothing; `add_miners(6)` would add two."""),
    ("code", """lab.subnet(tempo=20)                          # an epoch every 20 blocks: about 5 s
lab.add_miners(4, pretrain=[0, 10, 30, 60])   # from untrained to trained
lab.add_validators(1, stake=1_000)
lab.wait()                                    # until every neuron serves"""),
    ("md", """**3. Watch it.** The dashboard updates twice a second: which miners the validator queries
(routing), its moving-average scores, the weights on chain with the consensus line, incentive,
dividends and emission per uid, cumulative emission and stake. Pick a uid to highlight it everywhere;
pause the chain, change the block time, run the next epoch now, or add a miner."""),
    ("code", "lab.dashboard()"),
    ("md", """**4. Let it run.** `run` blocks until three more epochs have run, with a progress bar, and
returns the metagraph: the better-trained miners earn more incentive (I) and emission (E, in TAO)."""),
    ("code", """mg = lab.run(epochs=3)
mg[["uid", "S", "I", "D", "E"]].round(4)"""),
    ("md", """**5. Keep it.** A sortable metagraph table, and a self-contained HTML report (it opens
offline). `lab.close()` stops everything; so does restarting the kernel."""),
    ("code", """lab.table(sort_by="I", descending=True)"""),
    ("code", """lab.report("quickstart_report.html")"""),
    ("md", """Next: `01_chain_and_wallets` (the chain underneath), `03_yuma_consensus` (the epoch, step
by step, with the explainer; `lab.explainer()` opens it on this subnet), and `docs/lab.md` for
everything the `Lab` can do."""),
]


DASHBOARD = [
    ("md", """# TAO Lab: a live subnet

Blocks, routing, scores, weights, consensus and emissions of a running subnet, updated twice a
second. Served by Voila (`voila notebooks/dashboard.ipynb`) for projecting in a classroom, or run
in JupyterLab. Point `url` at a shared node to watch a network other notebooks run."""),
    ("code", """# Parameters (papermill and Voila's query string can override them)
url = None          # None: start an embedded devnet; or "ws://127.0.0.1:9944"
miners = 4
validators = 1
tempo = 20
block_time = 0.25""", ["parameters"]),
    ("code", """from tao_lab import Lab

lab = Lab(url, block_time=block_time)
lab.subnet(tempo=tempo)
lab.add_miners(miners, pretrain=[15 * i for i in range(miners)])
lab.add_validators(validators, stake=1_000)
lab.wait();"""),
    ("code", "lab.dashboard()"),
]


LAB = [
    ("md", """# A lab on the shared devnet

This notebook's network runs on the devnet this Jupyter server shares with every notebook (start
it from the TAO Lab sidebar, or `POST /tao-lab/api/devnet`). The sidebar lists the miners and the
validator below with their uids and state, and can stop them."""),
    ("code", """from tao_lab import Lab

lab = Lab(url="shared")      # the server's shared devnet; LabError if none runs
lab.subnet(tempo=20)
lab.add_miners(2, pretrain=[0, 40])
lab.add_validators(1, stake=1_000)
lab.wait()"""),
    ("code", "lab.dashboard()"),
    ("md", """`lab.close()` stops this notebook's neurons; the shared devnet keeps running for the others."""),
]

#: template name -> (cells, the name a new notebook gets: "TAO Lab.ipynb", "TAO Lab 1.ipynb", ...)
TEMPLATES = {
    "lab": (LAB, "TAO Lab"),
    "dashboard": (DASHBOARD, "TAO Dashboard"),
    "quickstart": (QUICKSTART, "TAO Quickstart"),
}


def template(name: str):
    """The notebook of template ``name`` (``"lab"``, ``"dashboard"`` or ``"quickstart"``)."""
    if name not in TEMPLATES:
        raise InputError("template", f"unknown template {name!r}; choose from {sorted(TEMPLATES)}")
    return notebook(TEMPLATES[name][0])


from . import attack_lab, chain, emissions, moe, neurons, sweep, yuma  # noqa: E402  (the tutorials' cells: data only)

#: file in notebooks/ -> its cells, in reading order (notebooks/make_notebooks.py writes them all)
NOTEBOOKS = {
    "00_quickstart.ipynb": QUICKSTART,
    "01_chain_and_wallets.ipynb": chain.CELLS,
    "02_miners_and_validators.ipynb": neurons.CELLS,
    "03_yuma_consensus.ipynb": yuma.CELLS,
    "04_mixture_of_experts.ipynb": moe.CELLS,
    "05_emissions_and_staking.ipynb": emissions.CELLS,
    "06_attack_lab.ipynb": attack_lab.CELLS,
    "dashboard.ipynb": DASHBOARD,
    "sweep.ipynb": sweep.CELLS,
}
