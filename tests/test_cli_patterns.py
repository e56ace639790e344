"""The `ylg patterns` and `ylg export` commands, run as real subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ylg.patterns import library, load_npz, load_pattern


def ylg(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ylg", *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )


def test_list_shows_every_library_pattern() -> None:
    out = ylg("patterns", "list")
    assert out.returncode == 0
    for name, pattern in library().items():
        line = next(x for x in out.stdout.splitlines() if x.split()[0] == name)
        assert str(len(pattern.steps)) in line.split()


def test_show_prints_counts_and_the_masks_as_text() -> None:
    out = ylg("patterns", "show", "ltr", "--grid", "3x3", "--order", "rowmajor")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "step 1: q // s == k // s and k <= q" in lines
    assert any("ones: 33 of 81" in x and "min 3, mean 3.67, max 4" in x for x in lines)
    dense = load_pattern("ltr").on("3x3", order="rowmajor").dense()
    for step in range(2):
        start = lines.index(
            f"step {step + 1}",
            lines.index(
                "masks: rows are queries, columns keys (row-major positions); # = attended"
            ),
        )
        text = lines[start + 1 : start + 10]
        assert np.array_equal(np.array([[c == "#" for c in row] for row in text]), dense[step])


def test_show_large_grids_print_no_masks() -> None:
    out = ylg("patterns", "show", "rtl", "--grid", "32x32")
    assert out.returncode == 0
    assert "masks:" not in out.stdout and "keys per query" in out.stdout


def test_export_writes_masks_and_meta(tmp_path: Path) -> None:
    path = tmp_path / "ltr.npz"
    out = ylg(
        "export",
        "ltr",
        "--grid",
        "16x16",
        "--query-grid",
        "32x32",
        "--order",
        "esa",
        "-o",
        str(path),
    )
    assert out.returncode == 0, out.stderr
    exported = load_npz(path)
    masks, meta = exported.masks, exported.meta
    expected = load_pattern("ltr").on("16x16", query_grid="32x32").dense()
    assert masks.dtype == bool and np.array_equal(masks, expected)
    assert meta["grid"] == "16x16" and meta["query_grid"] == "32x32" and meta["order"] == "esa"
    assert meta["stride"] == 16 and meta["nonsquare"] == "repeat"
    assert meta["ylg_version"] and "k % s == s - 1" in meta["source"]
    assert not list(tmp_path.glob(".*tmp"))  # the atomic write left nothing behind


def test_export_default_name(tmp_path: Path) -> None:
    out = ylg("export", "rtl", "--grid", "4x4", cwd=tmp_path)
    assert out.returncode == 0
    assert (tmp_path / "rtl-4x4-esa.npz").is_file()


def test_a_tampered_export_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "x.npz"
    assert ylg("export", "ltr", "--grid", "4x4", "-o", str(path)).returncode == 0
    with np.load(path) as data:
        masks, meta = data["masks"].copy(), str(data["meta"])
    masks[0, 0, 5] = ~masks[0, 0, 5]
    np.savez(path, masks=masks, meta=np.array(meta))
    with pytest.raises(ValueError, match="sha256"):
        load_npz(path)


def test_user_pattern_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(
        'name = "my-ltr"\ndescription = "LTR written by hand"\n'
        'steps = ["q // s == k // s and k <= q", "k == q or k % s == s - 1"]\n'
    )
    out = ylg("patterns", "show", str(path), "--grid", "4x4")
    assert out.returncode == 0 and "pattern my-ltr: LTR written by hand" in out.stdout


BAD = [
    (["patterns", "show", "nope", "--grid", "3x3"], "unknown pattern 'nope'"),
    (["patterns", "show", "ltr", "--grid", "16x"], "grid must be written like"),
    (["patterns", "show", "ltr", "--grid", "3x3", "--order", "spiral"], "'spiral' is not one of"),
    (["export", "ltr", "--grid", "2048x2048", "-o", "x.npz"], "more than the"),
    (
        ["patterns", "show", "FILE:k == q +", "--grid", "3x3"],
        "syntax error (unexpected end) at column 9",
    ),
    (["patterns", "show", "FILE:k == x", "--grid", "3x3"], "unknown variable 'x' at column 6"),
    (
        ["patterns", "show", "FILE:k == q // (s - 3)", "--grid", "3x3"],
        "division by zero at column 6",
    ),
    (["patterns", "show", "FILE:k % 0 == 1", "--grid", "3x3"], "modulo by zero at column 1"),
    (["patterns", "show", "FILE:k + q", "--grid", "3x3"], "must be boolean"),
    (
        ["patterns", "show", "FILE:k < q", "--grid", "3x3"],
        "leaves query 0 (cell (0, 0)) with no key",
    ),
    (["patterns", "show", "missing.toml", "--grid", "3x3"], "no pattern file missing.toml"),
    (["export"], "Missing argument 'PATTERN'"),
]


@pytest.mark.parametrize(("args", "message"), BAD)
def test_bad_input_gives_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    resolved = []
    for a in args:
        if a.startswith("FILE:"):
            path = tmp_path / "p.toml"
            path.write_text(f'name = "p"\nsteps = [{json.dumps(a[5:])}]\n')
            a = str(path)
        resolved.append(a)
    out = ylg(*resolved, cwd=tmp_path)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert message in out.stderr
    assert not (tmp_path / "x.npz").exists()


@pytest.mark.parametrize("command", [["patterns", "list"], ["patterns", "show"], ["export"], []])
def test_help_shows_an_example(command: list[str]) -> None:
    out = ylg(*command, "--help")
    assert out.returncode == 0
    assert "Example" in out.stdout
