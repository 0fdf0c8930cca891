"""The `tao-lab demo` command (the README's main job until the devnet lands)."""

import subprocess
import sys

from tao_lab.cli import main


def test_demo_prints_a_table_of_a_real_epoch(capsys):
    assert main(["demo", "--epochs", "3", "--validators", "2", "--miners", "3"]) == 0
    out = capsys.readouterr().out
    assert "epoch   2" in out
    lines = [l for l in out.splitlines() if l.strip().split(" ")[0].isdigit() and ("miner" in l or "validator" in l)]
    assert len(lines) == 5
    total = sum(float(l.split()[-1]) for l in lines)
    assert abs(total - 1.0) < 1e-6  # one TAO per epoch is shared out


def test_cli_runs_as_a_module_and_rejects_unknown_commands():
    bad = subprocess.run([sys.executable, "-m", "tao_lab.cli", "frobnicate"], capture_output=True, text=True)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
