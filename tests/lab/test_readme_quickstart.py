"""The README's quick-start cells run as written and give what the README says: a subnet whose
miners and validator run, with a live dashboard."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_quickstart_cells_run():
    text = README.read_text()
    section = text[text.index("## Quick start"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace: dict = {}
    exec(compile(code.replace("lab.dashboard()", "dashboard = lab.dashboard()"), "README.md", "exec"), namespace)
    lab, dashboard = namespace["lab"], namespace["dashboard"]
    try:
        table = lab.wait(timeout=180)
        assert sorted(table["role"]) == ["miner"] * 4 + ["validator"]
        assert (table["state"] == "running").all(), table
        assert set(dashboard.widgets) == {"routing", "scores", "weights", "emission", "cumulative", "stake"}
    finally:
        dashboard.close()
        lab.close()
