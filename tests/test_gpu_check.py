"""`make gpu-check`'s script: refuses to run without CUDA, and runs its parts at toy sizes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "gpu_check.py"
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_without_cuda_it_says_so_in_one_line_and_fails():
    out = subprocess.run(
        [sys.executable, str(SCRIPT)], capture_output=True, text=True, env=ENV, timeout=120
    )
    assert out.returncode == 1
    assert out.stderr.count("\n") == 1 and "CUDA" in out.stderr


def smoke(parts: str, out_dir: Path) -> subprocess.CompletedProcess:
    """The script at toy sizes on the CPU, its report written to ``out_dir``."""
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--cpu-smoke", "--parts", parts, "--out-dir", str(out_dir)],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=600,
    )


@pytest.mark.slow
def test_cpu_smoke_checks_every_backend_and_writes_its_report(tmp_path: Path):
    before = (ROOT / "docs" / "benchmarks.md").read_bytes()
    out = smoke("a", tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads((tmp_path / "gpu-check.json").read_text())
    rows = report["correctness"]
    backends = {r["backend"] for r in rows}
    assert backends == {"dense", "grouped", "sdpa", "flex", "flex-eager"}
    assert all(r["ok"] for r in rows), [r for r in rows if not r["ok"]]
    assert all(r["forward"] <= 1e-5 for r in rows)
    assert out.stdout.strip().splitlines()[-1].startswith("a. correctness: 15 of 15")
    assert "| 16x16, d=16 | fp32 | flex |" in (tmp_path / "gpu-check.md").read_text()
    assert (ROOT / "docs" / "benchmarks.md").read_bytes() == before  # smoke runs leave docs alone


def test_cpu_smoke_checks_the_transformer_layer_against_float64(tmp_path: Path):
    out = smoke("t", tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    tokens = json.loads((tmp_path / "gpu-check.json").read_text())["tokens"]
    assert tokens["backend"] == "grouped" and max(tokens["errors"]) <= 1e-5
    assert set(tokens["ms"]) == {"sparse, eager", "SDPA, no mask, eager"}
    assert "### A video transformer's attention layer" in (tmp_path / "gpu-check.md").read_text()
    assert out.stdout.strip().splitlines()[-1].startswith("t. SparseSelfAttention (grouped)")
