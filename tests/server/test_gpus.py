"""`tao_lab.server.gpus` reads nvidia-smi's CSV: a stand-in nvidia-smi on PATH prints what a
two-GPU host prints, including the "[N/A]" some GPUs give for utilisation."""

import os
import stat

import pytest

from tao_lab.server import gpus as G

TWO_GPUS = "0, NVIDIA H100 80GB HBM3, 1234, 81559, 37\n1, NVIDIA H100 80GB HBM3, 0, 81559, [N/A]\n"


@pytest.fixture
def fake_smi(tmp_path, monkeypatch):
    def install(output: str, code: int = 0):
        exe = tmp_path / "nvidia-smi"
        exe.write_text(f"#!/bin/sh\ncat <<'CSV'\n{output}CSV\nexit {code}\n")
        exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
        monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}")
        monkeypatch.setattr(G, "_cache", None)
    return install


def test_rows_from_nvidia_smi(fake_smi):
    fake_smi(TWO_GPUS)
    assert G.gpus() == [
        {"index": 0, "name": "NVIDIA H100 80GB HBM3", "memory_used_mib": 1234, "memory_total_mib": 81559,
         "utilization_pct": 37},
        {"index": 1, "name": "NVIDIA H100 80GB HBM3", "memory_used_mib": 0, "memory_total_mib": 81559,
         "utilization_pct": None},
    ]


def test_results_are_cached_for_cache_s(tmp_path, monkeypatch, fake_smi):
    fake_smi(TWO_GPUS)
    assert len(G.gpus()) == 2
    (tmp_path / "nvidia-smi").write_text("#!/bin/sh\necho '0, NVIDIA A100, 1, 40960, 5'\n")
    assert len(G.gpus()) == 2  # within CACHE_S: the sidebar's polling does not run nvidia-smi again
    monkeypatch.setattr(G, "CACHE_S", 0.0)
    assert [g["name"] for g in G.gpus()] == ["NVIDIA A100"]


def test_a_failing_nvidia_smi_means_no_gpus(fake_smi):
    fake_smi("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver\n", code=9)
    assert G.gpus() == []
    fake_smi("garbage line\n")
    assert G.gpus() == []
