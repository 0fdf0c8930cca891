"""The runtime reference (every call, storage item, event, error and constant) as Markdown.

``docs/devnet.md`` embeds this text between markers; a test regenerates it and fails when the docs
and the runtime disagree. Regenerate with ``python -m tao_lab.chain.reference --write docs/devnet.md``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

BEGIN = "<!-- BEGIN GENERATED RUNTIME REFERENCE -->"
END = "<!-- END GENERATED RUNTIME REFERENCE -->"


def _args(fields) -> str:
    return ", ".join(f"{f.name}: {f.type_name or repr(f.type)}" if f.name else (f.type_name or repr(f.type)) for f in fields)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def reference_markdown(runtime) -> str:
    out = []
    for p in runtime.pallets:
        out.append(f"### {p.name} (pallet index {p.index})\n")
        if p.docs:
            out.append(f"{p.docs}\n")
        calls = p.calls()
        if calls:
            out.append("| call | index | arguments | description |\n|---|---|---|---|")
            out += [f"| `{c.name}` | {c.index} | {_cell(_args(c.fields))} | {_cell(c.docs)} |" for c in calls]
            out.append("")
        items = p.storage_items()
        if items:
            out.append("| storage | keys | value | description |\n|---|---|---|---|")
            for i in items:
                keys = ", ".join(f"{repr(t)} ({h})" for h, t in i.keys) or "—"
                value = f"Option<{i.value!r}>" if i.optional else repr(i.value)
                out.append(f"| `{i.name}` | {_cell(keys)} | {_cell(value)} | {_cell(i.docs)} |")
            out.append("")
        if p.events:
            out.append("| event | fields | description |\n|---|---|---|")
            out += [f"| `{v.name}` | {_cell(_args(v.fields))} | {_cell(v.docs)} |" for v in p.events]
            out.append("")
        if p.errors:
            out.append("| error | description |\n|---|---|")
            out += [f"| `{name}` | {_cell(docs)} |" for name, docs in p.errors]
            out.append("")
        if p.constants:
            out.append("| constant | value | description |\n|---|---|---|")
            out += [f"| `{c.name}` | {c.value!r} | {_cell(c.docs)} |" for c in p.constants]
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def embed(doc: str, reference: str) -> str:
    """``doc`` with the text between the markers replaced by ``reference``."""
    if BEGIN not in doc or END not in doc:
        raise ValueError("the document has no generated-reference markers")
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n\n{reference}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    from .runtime import Runtime

    parser = argparse.ArgumentParser(description="print or embed the devnet runtime reference")
    parser.add_argument("--write", metavar="DOC", help="update the generated section of this Markdown file")
    args = parser.parse_args(argv)
    text = reference_markdown(Runtime())
    if args.write:
        path = Path(args.write)
        path.write_text(embed(path.read_text(), text))
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
