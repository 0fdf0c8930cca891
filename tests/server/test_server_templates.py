"""Notebook templates: one definition for notebooks/*.ipynb and the server's POST /tao-lab/api/notebooks."""

from __future__ import annotations

import io
from pathlib import Path

import nbformat
import pytest

from tao_lab.errors import InputError
from tao_lab.notebooks import NOTEBOOKS as DEFINED
from tao_lab.notebooks import TEMPLATES, notebook, template

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


@pytest.mark.parametrize("name", sorted(DEFINED))
def test_the_notebook_files_are_what_the_definitions_write(name):
    cells = DEFINED[name]
    out = io.StringIO()
    nbformat.write(notebook(cells), out)
    assert out.getvalue() == (NOTEBOOKS / name).read_text(), "run: python notebooks/make_notebooks.py"


def test_templates_are_valid_notebooks_with_stable_ids():
    for name in TEMPLATES:
        nb = template(name)
        nbformat.validate(nb)
        assert [c.id for c in nb.cells] == [f"cell-{i}" for i in range(len(nb.cells))]
    assert any('Lab(url="shared")' in c.source for c in template("lab").cells)
    with pytest.raises(InputError, match="choose from"):
        template("nope")


def test_every_notebook_file_has_a_definition_and_solutions_are_collapsed():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(DEFINED)
    for name in DEFINED:
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        for cell in nb.cells:
            if "solution" in cell.metadata.get("tags", []):
                assert cell.metadata["jupyter"] == {"source_hidden": True, "outputs_hidden": True}, (name, cell.id)
