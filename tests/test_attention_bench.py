"""``ylg bench attention`` and the benchmark helpers (tiny sizes: speed is not tested)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from ylg.attention.bench import Case, run_case, table
from ylg.cli.main import cli, main


def test_bench_attention_prints_the_comparison():
    result = CliRunner().invoke(
        cli,
        ["bench", "attention", "--grid", "4x4", "--backward", "--repeats", "1", "--threads", "1"],
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "16 queries, 16 keys" in lines[0]
    assert sum(line.startswith("| 4x4, d=8 |") for line in lines) == 4
    assert "vs SDPA+mask" in result.output


def test_bench_attention_help_shows_an_example():
    result = CliRunner().invoke(cli, ["bench", "attention", "--help"])
    assert result.exit_code == 0 and "Example:" in result.output
    assert "ylg bench attention --grid" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["--grid", "0x4"],
        ["--grid", "4x4", "--methods", "fast"],
        ["--grid", "4x4", "--pattern", "fixed"],
        ["--grid", "4x4", "--pattern", "nope"],
    ],
)
def test_bench_attention_user_errors_exit_2_with_one_line(capsys, args):
    with pytest.raises(SystemExit) as done:
        main(["bench", "attention", *args])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and len(err.strip().splitlines()) == 1


def test_run_case_covers_every_method_and_reports_memory():
    rows = run_case(Case("4x4", "8x8", heads=2, pattern="axial"), repeats=1)
    assert [r.method for r in rows] == [
        "sdpa",
        "sdpa+mask",
        "dense",
        "grouped",
        "flex",
        "flex-eager",
    ]
    assert all(r.forward_ms and r.forward_ms > 0 for r in rows)
    assert all(r.backward_ms for r in rows[:4])
    assert rows[4].note == rows[5].note == "no backward on CPU"
    text = table(rows)
    assert text.count("\n") == len(rows) + 1 and "8x8 q / 4x4 k, d=8" in text
