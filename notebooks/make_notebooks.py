"""Write the lab kit's notebooks from their cell sources (run: python notebooks/make_notebooks.py).

The cells live in `tao_lab.notebooks`, shared with the server extension's notebook templates, so
the files here and a notebook made from the TAO Lab sidebar say the same thing.
"""

from __future__ import annotations

from pathlib import Path

import nbformat as nbf

from tao_lab.notebooks import NOTEBOOKS, notebook

HERE = Path(__file__).resolve().parent


def main() -> None:
    for name, cells in NOTEBOOKS.items():
        nbf.write(notebook(cells), HERE / name)


if __name__ == "__main__":
    main()
