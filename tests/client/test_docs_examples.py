"""The client examples in README.md and docs/client.md run as written against a real devnet."""

import gc
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def code_after(doc: Path, heading: str) -> str:
    text = doc.read_text()
    section = text[text.index(heading):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.parametrize("doc", ["README.md", "docs/client.md"])
def test_chain_in_five_lines(doc, capsys):
    scope: dict = {}
    exec(compile(code_after(ROOT / doc, "## Chain in five lines"), doc, "exec"), scope)
    try:
        assert scope["netuid"] >= 2
        assert scope["sub"].neuron_count(scope["netuid"]) >= 1
    finally:
        scope["sub"].close()
        for value in scope.values():
            if type(value).__name__ == "Devnet":
                value.stop()
        scope.clear()
        gc.collect()  # a Devnet referenced only inside the example stops when collected
