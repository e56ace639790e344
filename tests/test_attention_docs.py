"""The examples of docs/attention.md run as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "attention.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


def test_the_page_has_its_examples():
    assert len(BLOCKS) == 5
    assert len([line for line in BLOCKS[0].splitlines() if line.strip()]) <= 22


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_example_runs(tmp_path, index):
    script = tmp_path / "example.py"
    script.write_text(BLOCKS[index])
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    if index == 0:
        assert done.stdout.splitlines() == [
            "torch.Size([4, 3, 16, 16]) grouped",
            "torch.Size([1, 8, 256, 64])",
        ]
    if index == 2:  # the video layer
        assert done.stdout.splitlines() == [
            "torch.Size([2, 64, 4, 16, 16]) grouped",
            "torch.Size([1, 4, 1024, 256])",
        ]
    if index == 3:  # a transformer's video block
        assert done.stdout.splitlines() == [
            "torch.Size([2, 1024, 64]) grouped ('na/1', 'na/1', 'na/1', 'na/1')"
        ]
    if index == 4:  # a model verified whole
        lines = done.stdout.splitlines()
        assert lines[0] == "full information across 6 layers: holds"
        assert "  layers needed for full information: 5 (cycling na, dilated-na)" in lines
