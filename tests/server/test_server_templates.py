"""Notebook templates: one definition for notebooks/*.ipynb and the server's POST /tao-lab/api/notebooks."""

from __future__ import annotations

import io
from pathlib import Path

import nbformat
import pytest

from tao_lab.errors import InputError
from tao_lab.notebooks import DASHBOARD, QUICKSTART, TEMPLATES, notebook, template

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


@pytest.mark.parametrize("cells,name", [(QUICKSTART, "00_quickstart.ipynb"), (DASHBOARD, "dashboard.ipynb")])
def test_the_notebook_files_are_what_the_definitions_write(cells, name):
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
