"""docs/devnet.md lists every call, storage item, event, error and constant the runtime has."""

from pathlib import Path

from tao_lab.chain.reference import BEGIN, END, embed, reference_markdown
from tao_lab.chain.runtime import Runtime

DOC = Path(__file__).resolve().parents[2] / "docs" / "devnet.md"


def test_devnet_doc_reference_matches_the_runtime():
    doc = DOC.read_text()
    expected = embed(doc, reference_markdown(Runtime()))
    assert doc == expected, "docs/devnet.md is stale: run python -m tao_lab.chain.reference --write docs/devnet.md"
    assert BEGIN in doc and END in doc


def test_every_declared_item_is_documented():
    undocumented = []
    for p in Runtime().pallets:
        undocumented += [f"{p.name}.{c.name}" for c in p.calls() if not c.docs]
        undocumented += [f"{p.name}.{i.name}" for i in p.storage_items() if not i.docs]
        undocumented += [f"{p.name}.{v.name}" for v in p.events if not v.docs]
        undocumented += [f"{p.name}.{n}" for n, d in p.errors if not d]
    assert undocumented == []
