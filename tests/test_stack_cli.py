"""`ylg verify` and `ylg flow` on stacks of layers, and `ylg draw reach` (in-process
through the real entry point, so exit codes and one-line errors are what a shell sees),
and the reach figures."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from clirun import run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ylg.figures import save_figure
from ylg.figures.reach import draw_reach, frames, output_position
from ylg.ifg.stack import layers_needed, stack_full_information
from ylg.patterns import Grid, Pattern, load_pattern

CUBE = """
name = "cube"
description = "3x3x3 neighbourhood (no clamping: a smaller window at the borders)"
steps = ["abs(qt - kt) <= 1 and abs(qi - ki) <= 1 and abs(qj - kj) <= 1"]
"""


def test_stack_of_a_pattern_exits_1_then_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "verify", "window", "--layers", "3", "--grid", "16x16")
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "full information across 3 layers: does NOT hold"
    assert "stack: window x3 on 16x16, rowmajor, s=16" in lines[1]
    assert "missing pairs: 6000 of 65536" in out
    assert "input 13 (0,13) -> output 0 (0,0): no path" in out
    assert "min 169, mean 232.6, max 256 of 256;" in out
    assert "layers needed for full information: 4 (window repeated)" in out
    code, out, _ = run(capsys, "verify", "window", "--layers", "4", "--grid", "16x16")
    assert code == 0 and "across 4 layers: holds" in out


def test_stack_json_and_no_needed(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "verify", "fixed", "--layers", "2", "--grid", "4x4", "--json", "--examples", "2"
    )
    data = json.loads(out)
    expected = stack_full_information([load_pattern("fixed").on("4x4")] * 2)
    assert code == 1 and data["missing"] == expected.missing and len(data["examples"]) == 2
    assert data["property"] == "full information across layers" and data["layers"] == 2
    assert data["layers_needed"]["layers"] is None and data["layers_needed"]["reason"] == "never"
    assert data["receptive_field"]["outputs"] == 16 and data["axes"] == ["i", "j"]
    code, out, _ = run(capsys, "verify", "ltr", "--layers", "1", "--grid", "4x4", "--no-needed")
    assert code == 0 and "layers needed" not in out and "across 1 layer: holds" in out


def test_stack_of_a_model_file_on_a_video_grid(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "cube.toml").write_text(CUBE)
    model = tmp_path / "video.toml"
    model.write_text(
        'name = "video"\ngrid = "4x6x6"\n[[layers]]\npattern = "cube.toml"\nrepeat = 2\n'
        '[[layers]]\npattern = "cube.toml"\norder = "snake"\n'
    )
    code, out, _ = run(capsys, "verify", "--model", str(model), "--examples", "1")
    assert code == 1 and "stack: video on 4x6x6" in out
    assert "cells are (frame, row, column)" in out and "input 4 (0,0,4) -> output 0 (0,0,0)" in out
    assert "reach per group of axes" in out
    cube = Pattern.from_toml(CUBE).on("4x6x6")
    expected = layers_needed([cube] * 3)
    assert expected.layers == 5
    assert f"layers needed for full information: {expected.layers}" in out
    code, out, _ = run(capsys, "verify", "--model", str(model), "--grid", "2x2x2", "--json")
    assert code == 0 and json.loads(out)["pairs"] == 64


def test_verify_a_model_whose_layers_are_heads_side_by_side(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A DiNAT-style layer (plain and dilated neighbourhoods on heads side by side)
    reaches every token in 4 layers on 4x16x16; the plain one alone needs 14."""
    model = tmp_path / "side.toml"
    model.write_text(
        'name = "side"\ngrid = "4x16x16"\n[[layers]]\nrepeat = 4\nheads = [\n'
        '  { pattern = "na", params = { win_t = 3, win_i = 3, win_j = 3 } },\n'
        '  { pattern = "dilated-na", params = { win_t = 3, win_i = 3, win_j = 3, dil_i = 4,'
        " dil_j = 4 } },\n]\n"
    )
    code, out, _ = run(capsys, "verify", "--model", str(model), "--json")
    data = json.loads(out)
    assert code == 0 and data["holds"] and data["layers_needed"]["layers"] == 4
    code, out, _ = run(
        capsys,
        "verify",
        "na",
        "--param",
        "win_t=3",
        "--param",
        "win_i=3",
        "--param",
        "win_j=3",
        "--layers",
        "4",
        "--grid",
        "4x16x16",
        "--json",
    )
    assert code == 1 and json.loads(out)["layers_needed"]["layers"] == 14
    model.write_text(
        '[[layers]]\nheads = [{ pattern = "na" }, { pattern = "ltr" }, { pattern = "rtl" }]\n'
    )
    code, out, _ = run(capsys, "verify", "--model", str(model), "--grid", "4x4")  # na reads no q, k
    assert code == 0 and "holds" in out
    model.write_text(
        '[[layers]]\nheads = [{ pattern = "ltr" }, { pattern = "rtl" }]\n'
        '[[layers]]\npattern = "ltr"\norder = "rowmajor"\n'
    )
    code, _, err = run(
        capsys, "verify", "--model", str(model), "--grid", "4x4", "--nonsquare", "tile"
    )
    assert code == 2 and "--nonsquare says how a --query-grid maps onto the key grid" in err


def test_stack_max_flow_across_the_layers(capsys: pytest.CaptureFixture[str]) -> None:
    flow = ("flow", "star", "--layers", "2", "--grid", "4x4", "--from", "0,1;0,2", "--to")
    code, out, _ = run(capsys, *flow, "3,3")
    assert code == 0 and "max flow: 1 (from 2 inputs to 1 outputs" in out
    code, out, _ = run(capsys, *flow, "3,3;3,2", "--json")
    assert json.loads(out)["value"] == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["verify", "--grid", "4x4"], "give a PATTERN (with --layers N) or --model FILE"),
        (["verify", "ltr", "--model", "m.toml", "--grid", "4x4"], "one of the two"),
        (["verify", "ltr"], "give --grid"),
        (["verify", "ltr", "--grid", "4x4", "--layers", "0"], "--layers"),
        (["verify", "nope", "--grid", "4x4"], "unknown pattern 'nope'"),
        (["verify", "ltr", "--grid", "4x4", "--param", "r=2"], "has no parameter 'r'"),
        (["flow", "ltr", "--layers", "2", "--grid", "4x4", "--from", "0,0"], "--to"),
        (
            ["flow", "ltr", "--layers", "2", "--grid", "4x4", "--from", "9,9", "--to", "0,0"],
            "outside the 4x4",
        ),
        (
            ["verify", "star", "--layers", "2", "--grid", "4x4", "--flow", "2"],
            "--flow checks one pattern",
        ),
        (["verify", "--model", "missing.toml", "--grid", "4x4"], "no model file missing.toml"),
        (["verify", "ltr", "--grid", "4x4", "--method", "magic"], "--method"),
        (["draw", "reach", "ltr", "--grid", "4x4", "-o", "x.jpg"], "must end in .png"),
        (["draw", "reach", "ltr", "--grid", "4x4", "--query", "9,9"], "outside the 4x4 grid"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err, err


def test_model_file_errors_from_the_command_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    model = tmp_path / "m.toml"
    model.write_text('[[layers]]\npattern = "ltr"\nrepeat = 0\n')
    code, _, err = run(capsys, "verify", "--model", str(model), "--grid", "4x4")
    assert code == 2 and "layer 1: repeat must be a positive integer, got 0" in err
    model.write_text('[[layers]]\npattern = "ltr"\n')
    for extra, message in ((["--layers", "2"], "--layers goes with a PATTERN"),
                           ([], "names no grid")):  # fmt: skip
        code, _, err = run(capsys, "verify", "--model", str(model), *extra)
        assert code == 2 and message in err


def test_draw_reach_writes_a_figure(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "reach.png"
    code, out, _ = run(
        capsys, "draw", "reach", "window", "--layers", "2", "--grid", "8x8", "--query", "1,1",
        "-o", str(path),
    )  # fmt: skip
    assert code == 0 and out.strip() == f"wrote {path}"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
    (tmp_path / "cube.toml").write_text(CUBE)
    svg = tmp_path / "cube.svg"
    code, _, _ = run(
        capsys, "draw", "reach", str(tmp_path / "cube.toml"), "--layers", "2", "--grid",
        "3x5x5", "--query", "1,2,2", "-o", str(svg),
    )  # fmt: skip
    assert code == 0 and svg.read_text().startswith("<?xml")


def test_reach_figures_in_one_two_and_three_dimensions(tmp_path: Path) -> None:
    one = load_pattern("window").on("20")
    fig = draw_reach([one] * 3, query=4)
    assert [ax.get_title().splitlines()[0] for ax in fig.axes] == [
        "receptive field after 3 layers",
        "inputs that output 4 reads, layer by layer",
    ]
    cube = Pattern.from_toml(CUBE).on("3x4x4")
    fig = draw_reach([cube] * 2, query=(0, 1, 1))
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles[1].startswith("after 1 layer\noutput (0, 1, 1) reads 18 of 48")
    assert save_figure(fig, tmp_path / "cube.png") and (tmp_path / "cube.png").stat().st_size > 0
    fig = draw_reach(load_pattern("ltr").on("4x4"))
    assert len([ax for ax in fig.axes if ax.get_title()]) == 1  # no query: the map alone


def test_frames_and_output_positions() -> None:
    image = frames(list(range(18)), Grid(2, 3, 3))
    assert image.shape == (3, 7) and image[0, 4] == 9
    assert output_position(Grid(3, 3), None) == 4
    with pytest.raises(
        Exception, match=r"an output cell of the 2x3x3 grid is \(frame, row, column\)"
    ):
        output_position(Grid(2, 3, 3), (1, 1))


# -- fuzz: hostile values never end in a traceback -------------------------------------

HOSTILE = st.sampled_from(["", " ", "nan", "-1", "0", "1e999", "\x00", "--help-me", "x", "٣"])
GRIDS = st.one_of(
    st.sampled_from(["4x4", "3x5", "2x3x3", "9", "1x1", "2x2x2"]),
    st.sampled_from(["0x3", "3x", "1x1x1x1", "32768x32768", "4x4x4x", "-2"]),
)
CELLS = st.sampled_from(["0,0", "1,1;0,1", "0,0,0", "9,9", "", ";", "a,b", "0", "99999999999"])


@st.composite
def stack_command(draw: st.DrawFn, folder: Path) -> list[str]:
    draw_it = draw(st.booleans())
    args = ["draw", "reach"] if draw_it else [draw(st.sampled_from(["verify", "flow"]))]
    source = draw(st.sampled_from(["pattern", "model", "both", "none"]))
    patterns = st.one_of(
        st.sampled_from(["ltr", "window", "na", "axial", "fixed", "star"]),
        st.sampled_from([str(folder / "cube.toml"), str(folder / "missing.toml"), str(folder)]),
        HOSTILE,
    )
    models = st.sampled_from(
        [str(folder / name) for name in ("good.toml", "bad.toml", "binary.toml", "none.toml")]
        + [str(folder)]
    )
    if source in ("pattern", "both"):
        args.append(draw(patterns))
    if source in ("model", "both"):
        args += ["--model", draw(models)]
    for flag, values in (
        ("--grid", GRIDS),
        ("--layers", st.one_of(st.integers(1, 4).map(str), HOSTILE)),
        ("--param", st.sampled_from(["win_i=3", "r=2", "x", "win_i=-1", "win_j=99999999999"])),
        ("--order", st.sampled_from(["esa", "snake", "bad"])),
        ("--stride", st.one_of(st.integers(1, 4).map(str), HOSTILE)),
        ("--query-grid", GRIDS),
    ):
        if draw(st.booleans()):
            args += [flag, draw(values)]
    if draw_it:
        if draw(st.booleans()):
            args += ["--query", draw(CELLS)]
        args += ["-o", str(folder / draw(st.sampled_from(["r.png", "r.svg", "r.jpg", "no/r.png"])))]
    else:
        for flag, values in (
            ("--max-layers", st.one_of(st.integers(1, 8).map(str), HOSTILE)),
            ("--examples", st.one_of(st.integers(0, 3).map(str), HOSTILE)),
            ("--from", CELLS),
            ("--to", CELLS),
            ("--method", st.sampled_from(["auto", "bitsets", "fast"])),
        ):
            if draw(st.booleans()):
                args += [flag, draw(values)]
        if draw(st.booleans()):
            args.append(draw(st.sampled_from(["--json", "--no-needed"])))
    return args


@pytest.fixture(scope="module")
def fuzz_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "cube.toml").write_text(CUBE)
    (folder / "good.toml").write_text(
        'name = "g"\ngrid = "2x3x3"\n[[layers]]\npattern = "cube.toml"\nrepeat = 2\n'
    )
    (folder / "bad.toml").write_text('[[layers]]\npattern = "ltr"\nrepeat = "two"\n')
    (folder / "binary.toml").write_bytes(bytes(range(256)))
    return folder


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_fuzzed_stack_commands_end_in_a_documented_way(
    data: st.DataObject, fuzz_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = data.draw(stack_command(fuzz_folder))
    start = time.perf_counter()
    code, out, err = run(capsys, *args)
    assert time.perf_counter() - start < 30
    assert code in (0, 1, 2), (args, code, err)
    assert "Traceback" not in err, (args, err)
    if code == 2:
        assert err.startswith("Error: ") and len(err.strip().splitlines()) == 1, (args, err)
