"""The `ylg verify`, `flow`, `repair` and `compare` commands (run in-process through
the real entry point, so exit codes and one-line errors are what a shell sees)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clirun import run

from ylg.ifg import full_information
from ylg.patterns import load_pattern


def test_verify_exits_0_when_full_information_holds(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "verify", "ltr", "--grid", "32x32")
    assert code == 0
    assert out.splitlines()[0] == "full information: holds"
    assert "missing pairs: 0 of 1048576" in out and "time:" in out


def test_verify_exits_1_with_witnesses(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "verify", "fixed", "--grid", "3x3", "--order", "rowmajor")
    assert code == 1
    assert "does NOT hold" in out and "missing pairs: 36 of 81" in out
    assert "input 1 (0,1) -> output 0 (0,0): no path" in out


def test_verify_json_is_one_object(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "verify", "strided", "--grid", "8x8", "--json", "--examples", "2")
    data = json.loads(out)
    expected = full_information(load_pattern("strided").on("8x8"))
    assert code == 1 and data["holds"] is False and data["missing"] == expected.missing
    assert len(data["examples"]) == 2


def test_verify_query_grid_and_flow(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "verify", "rtl", "--grid", "8x8", "--query-grid", "16x16")
    assert code == 0 and "8x8 keys, 16x16 queries (repeat)" in out
    code, out, _ = run(capsys, "verify", "star", "--grid", "4x4", "--flow", "2")
    assert code == 1 and "2-token flow: does NOT hold" in out
    assert "exact: covers all" in out and "bottleneck V1 0 (0,0)" in out
    code, out, _ = run(capsys, "verify", "dense", "--grid", "3x3", "--flow", "2", "--json")
    assert code == 0 and json.loads(out)["min_flow"] == 2


def test_verify_sampled_flow_states_samples_and_seed(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        *("verify", "star", "--grid", "16x16", "--flow", "2", "--sampled"),
        *("--samples", "5", "--seed", "3"),
    )
    assert code == 1
    assert "sampled: 5 random pairs of 2-sets" in out and "seed 3; 5 failed" in out


def test_a_sample_without_a_failure_is_undecided(capsys: pytest.CaptureFixture[str]) -> None:
    """LTR lacks 2-token flow; one random pair of 2-sets misses the failures, and that
    must not read as "holds" (exit code 3), while the exact check says it fails."""
    args = ("verify", "ltr", "--grid", "6x6", "--flow", "2")
    code, out, _ = run(capsys, *args, "--sampled", "--samples", "1")
    assert code == 3 and "2-token flow: undecided" in out and "holds" not in out
    code, out, _ = run(capsys, *args, "--sampled", "--samples", "1", "--json")
    assert code == 3 and json.loads(out)["holds"] is None
    assert json.loads(out)["verdict"] == "undecided"
    code, out, _ = run(capsys, *args, "--exact")
    assert code == 1 and "2-token flow: does NOT hold" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["verify", "nope", "--grid", "4x4"], "unknown pattern 'nope'"),
        (["verify", "ltr", "--grid", "4x"], "grid must be written like"),
        (["verify", "ltr", "--grid", "4x4", "--flow", "0"], "--flow"),
        (["verify", "ltr", "--grid", "2x2", "--flow", "9"], "k = 9 is more than"),
        (["flow", "ltr", "--grid", "3x3", "--from", "5,5", "--to", "0,0"], "outside the 3x3"),
        (["flow", "ltr", "--grid", "3x3", "--from", "a", "--to", "0,0"], "cannot read cell"),
        (["repair", "fixed", "--grid", "4x4", "--step", "3", "-o", "x.toml"], "no step 3"),
        (["repair", "fixed", "--grid", "4x4", "--check", "4y4", "-o", "x.toml"], "--check"),
        (["compare", "ltr", "--grid", "0x4"], "between 1 and"),
        (["verify", "ltr", "--grid", "1024x1024"], "more than half the memory"),
        (["compare", "ltr", "--grid", "1024x1024"], "more than half the memory"),
        (["flow", "ltr", "--grid", "512x512", "--from", "0", "--to", "1"], "at most 65536"),
        (["verify", "ltr", "--grid", "32x32", "--flow", "3", "--exact"], "too large"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], message: str
) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err
    assert not (tmp_path / "x.toml").exists()


def test_flow_prints_the_value_and_the_bottleneck(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "flow", "star", "--grid", "4x4", "--from", "0,1;0,2", "--to", "3,0;3,3"
    )
    assert code == 0
    assert out.splitlines()[0].startswith("max flow: 1 (from 2 inputs to 2 outputs")
    assert "V1 0 (0,0)" in out
    code, out, _ = run(
        capsys, "flow", "dense", "--grid", "3x3", "--from", "0;1;2", "--to", "6;7;8", "--json"
    )
    assert json.loads(out)["value"] == 3


def test_repair_writes_a_pattern_file_other_commands_accept(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "strided-fi.toml"
    code, out, _ = run(
        capsys, "repair", "strided", "--grid", "8x8", "--check", "4x4,16x16", "-o", str(path)
    )
    assert code == 0 and f"wrote {path}" in out
    assert "extended step 1, adding 28 attended positions" in out
    assert "q // s == (n - 1) // s and k > q" in out
    table = [line.split()[:2] for line in out.splitlines() if line.split()[0][0].isdigit()]
    assert table == [["4x4", "yes"], ["8x8", "yes"], ["16x16", "yes"]]
    pattern = load_pattern(str(path))
    assert pattern.name == "strided-fi" and pattern.meta["repaired_step"] == 1
    code, out, _ = run(capsys, "verify", str(path), "--grid", "32x32")
    assert code == 0
    code, out, _ = run(capsys, "patterns", "show", str(path), "--grid", "4x4")
    assert code == 0 and "strided-fi" in out


def test_repair_json_and_a_chosen_step(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "f.toml"
    code, out, _ = run(
        capsys, "repair", "fixed", "--grid", "4x4", "--step", "1", "--name", "mine",
        "--check", "", "--json", "-o", str(path),
    )  # fmt: skip
    data = json.loads(out)
    assert code == 0 and data["step"] == 1 and data["pattern"] == "mine"
    assert [c["grid"] for c in data["checks"]] == ["4x4"]  # --grid is always checked
    assert data["added"] == data["checks"][0]["added"] > 0
    assert full_information(load_pattern(str(path)).on("4x4")).holds


def test_compare_puts_orders_side_by_side(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "compare",
        "ltr",
        "fixed",
        "--grid",
        "8x8",
        "--order",
        "rowmajor",
        "--order",
        "hilbert",
    )
    assert code == 0
    starts = [line.split()[:2] for line in out.splitlines()[1:] if not line.startswith(" ")]
    assert starts == [
        ["ltr", "rowmajor"], ["ltr", "hilbert"], ["fixed", "rowmajor"], ["fixed", "hilbert"]
    ]  # fmt: skip
    code, out, _ = run(capsys, "compare", "window", "--grid", "4x4", "--markdown")
    assert out.startswith("| pattern |")
    code, out, _ = run(capsys, "compare", "ltr", "--grid", "4x4", "--json")
    assert json.loads(out)["metrics"][0]["hops"] == 2


@pytest.mark.parametrize("verb", ["verify", "flow", "repair", "compare"])
def test_help_shows_an_example(capsys: pytest.CaptureFixture[str], verb: str) -> None:
    code, out, _ = run(capsys, verb, "--help")
    assert code == 0 and "Example" in out and f"ylg {verb} " in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["verify", "ltr", "--grid", "4x4", "--max-layers", "3"], "--max-layers goes with a stack"),
        (["verify", "ltr", "--grid", "4x4", "--no-needed"], "--needed/--no-needed goes with"),
        (["verify", "ltr", "--grid", "4x4", "--method", "bitsets"], "--method goes with a stack"),
        (["verify", "ltr", "--grid", "4x4", "--samples", "5"], "--samples goes with --flow K"),
        (["verify", "ltr", "--grid", "4x4", "--exact"], "--exact/--sampled goes with --flow K"),
        (
            ["verify", "na", "--grid", "2x4x4", "--param", "win_i=3", "--param", "win_i=5"],
            "--param win_i is given twice (3 and 5)",
        ),
        (["compare", "ltr", "--grid", "4x4", "--json", "--markdown"], "choose one"),
        (
            ["compare", "na", "ltr", "--grid", "2x4x4", "--param", "zz=1"],
            "no pattern here has a parameter 'zz' (na: win_t, win_i, win_j; ltr: none)",
        ),
        (["export", "ltr", "--grid", "4x4", "-o", "-"], "would be a file named '-'"),
        (["export", "ltr", "--grid", "4x4", "-o", ""], "the path is empty"),
    ],
)
def test_options_the_command_would_ignore_are_refused(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, _, err = run(capsys, *args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_compare_sets_each_patterns_own_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "compare", "na", "ltr", "--grid", "2x8x8", "--param", "win_i=3", "--json"
    )
    assert code == 0
    rows = {m["pattern"]: m for m in json.loads(out)["metrics"]}
    na = load_pattern("na").with_params(win_i=3).on("2x8x8")
    assert rows["na"]["steps"][0]["ones"] == na.counts()[0]
    assert rows["ltr"]["steps"][0]["ones"] == load_pattern("ltr").on("2x8x8").counts()[0]


def test_a_model_takes_a_query_grid_on_its_own_grid(capsys, tmp_path) -> None:
    model = tmp_path / "m.toml"
    model.write_text('name = "m"\ngrid = "4x4"\n[[layers]]\npattern = "ltr"\n')
    code, out, _ = run(capsys, "verify", "--model", str(model), "--query-grid", "8x8")
    assert code == 0 and "4x4 keys, 8x8 queries" in out
