"""Issue 12 (hardening) for the pattern language, grids, IFG functions and their commands:
each input that once gave a wrong answer, a traceback or a file in the wrong place."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from clirun import run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import grids, int_terms, orders

from ylg.errors import PatternError, YlgError
from ylg.ifg import k_flow, max_flow
from ylg.patterns import Grid, Pattern, enumeration, load_npz, load_pattern
from ylg.patterns.expr import MAX_DEPTH, STEP_VARIABLES, parse_expr

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def one_error_line(err: str) -> str:
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), err
    assert "Traceback" not in err
    return lines[0]


# -- item 3: cells are read strictly ------------------------------------------------------


@pytest.mark.parametrize("text", ["1 2", "1,2 3", "١٢", "1_0", "+1", "0x1", "1,", ",1", "1,2,3"])
def test_cells_that_are_not_plain_numbers_are_refused(text: str) -> None:
    with pytest.raises(PatternError, match="cannot read cell"):
        Grid(16, 16).parse_cells(text)


def test_cells_allow_spaces_around_numbers_only() -> None:
    assert Grid(4, 4).parse_cells(" 1 , 2 ; 7 ;") == [6, 7]


def test_flow_from_one_space_two_is_not_cell_12(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "flow", "ltr", "--grid", "4x4", "--from", "1 2", "--to", "3,3")
    assert code == 2 and "cannot read cell '1 2'" in one_error_line(err)


# -- item 6: and / or short-circuit pair by pair, as Python's --------------------------


def python_mask(source: str, h: int, w: int, order: str, s: int) -> np.ndarray | None:
    """Python's own evaluation pair by pair; None when Python divides by zero somewhere."""
    code = compile(source, "<step>", "eval")
    pi = enumeration(order, h, w)
    n = h * w
    out = np.zeros((n, n), dtype=bool)
    for a in range(n):
        qi, qj = divmod(int(pi[a]), w)
        for b in range(n):
            ki, kj = divmod(int(pi[b]), w)
            env = dict(q=a, k=b, n=n, nq=n, s=s, qi=qi, qj=qj, ki=ki, kj=kj, h=h, w=w, hq=h, wq=w)
            env.update(qt=0, kt=0, t=1, tq=1)  # a 2-D grid: one frame
            try:
                value = eval(code, {"__builtins__": {}, "abs": abs, "min": min, "max": max}, env)
            except ZeroDivisionError:
                return None
            out[pi[a], pi[b]] = bool(value)
    return out


def guarded_terms() -> st.SearchStrategy[str]:
    """Booleans whose divisors may be zero, often guarded by an and/or before them."""
    divisor = st.one_of(int_terms(3), st.sampled_from(["k", "q - k", "k - q", "ki", "qj - kj"]))
    division = st.tuples(int_terms(3), st.sampled_from(["//", "%"]), divisor).map(
        lambda t: f"({t[0]} {t[1]} ({t[2]}))"
    )
    comparison = st.tuples(
        st.one_of(division, int_terms(3)), st.sampled_from(["<", ">=", "==", "!="]), int_terms(3)
    ).map(lambda t: f"{t[0]} {t[1]} {t[2]}")
    guard = st.sampled_from(["k > 0", "k != q", "q == k", "ki > 0", "qj != kj", "k >= 0"])
    return st.recursive(
        st.one_of(comparison, st.tuples(guard, comparison).map(lambda t: f"({t[0]} and {t[1]})")),
        lambda inner: (
            st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"
            )
            | inner.map(lambda a: f"not ({a})")
        ),
        max_leaves=4,
    )


@given(guarded_terms(), grids, orders)
@SETTINGS
def test_division_by_zero_is_an_error_exactly_where_python_raises_one(
    source: str, grid: tuple[int, int], order: str
) -> None:
    h, w = grid
    masks = Pattern("guarded", "", (source,), order=order).on(grid)
    expected = python_mask(source, h, w, order, masks.stride)
    if expected is None:
        with pytest.raises(PatternError, match="by zero"):
            masks.rows(0, 0, masks.nq)
        return
    try:
        got = masks.rows(0, 0, masks.nq)
    except PatternError as exc:  # only a query left with no key may be refused later
        pytest.fail(f"refused what Python evaluates: {exc}")
    assert np.array_equal(got, expected)
    # The torch predicate (FlexAttention) agrees, zero divisors in dead branches included.
    mod = masks.mask_mod(0)
    q, k = torch.arange(masks.nq)[:, None], torch.arange(masks.nk)[None, :]
    assert np.array_equal(mod(0, 0, q, k).numpy(), expected)


def test_the_issue_example_follows_python() -> None:
    masks = Pattern("x", "", ("(k > 0 and q // k >= 1) or k == q",)).on("3x3", order="rowmajor")
    assert masks.dense(0).tolist() == [[q >= k > 0 or k == q for k in range(9)] for q in range(9)]
    with pytest.raises(PatternError, match="division by zero at column"):
        Pattern("y", "", ("q // k >= 1 or k == q",)).on("3x3").dense()


def test_if_else_is_not_part_of_the_language() -> None:
    with pytest.raises(PatternError, match="IfExp is not allowed"):
        parse_expr("(k == q) if k > 0 else (k < q)", STEP_VARIABLES)


# -- item 9: no traceback for deep nesting, huge grids, negative seeds -------------------


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 495])
def test_deep_nesting_is_refused_when_read(depth: int) -> None:
    with pytest.raises(PatternError, match="nested more than"):
        parse_expr("not " * depth + "k==q", STEP_VARIABLES)


def test_nesting_up_to_the_limit_evaluates(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    nots = MAX_DEPTH - 2  # the comparison and its operands are the last two levels
    source = "not " * nots + "k==q"
    assert parse_expr(source, STEP_VARIABLES).evaluate({"k": 1, "q": 1}) is (nots % 2 == 0)
    path = tmp_path / "deep.toml"
    path.write_text(f'name = "deep"\nsteps = ["{"not " * 495}k==q"]\n')
    code, _, err = run(capsys, "patterns", "show", str(path), "--grid", "3x3")
    assert code == 2 and "nested more than" in one_error_line(err)


def _limit_memory() -> None:  # runs in the child before exec
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))


def test_a_huge_grid_is_refused_with_an_estimate_under_a_memory_limit() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ylg", "verify", "ltr", "--grid", "32768x32768"],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limit_memory,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 2, done.stderr
    line = one_error_line(done.stderr)
    assert "32768x32768 layout needs about 96.0 GiB" in line and "available here" in line


def test_verify_refuses_a_negative_seed(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "verify", "star", "--grid", "8x8", "--flow", "3", "--seed", "-5")
    assert code == 2 and "--seed" in one_error_line(err)
    with pytest.raises(YlgError, match="seed must be an integer"):
        k_flow(load_pattern("star").on("4x4"), 2, exact=False, seed=-5)


def test_verify_defaults_are_those_of_k_flow() -> None:
    from ylg.cli.commands import verify
    from ylg.ifg import kflow

    assert (verify.DEFAULT_SAMPLES, verify.MAX_SAMPLES, verify.DEFAULT_SEED, verify.MAX_SEED) == (
        kflow.DEFAULT_SAMPLES,
        kflow.MAX_SAMPLES,
        kflow.DEFAULT_SEED,
        kflow.MAX_SEED,
    )


# -- item 10: nonsense is refused with a YlgError ----------------------------------------


@pytest.mark.parametrize(
    "grid", [(3.5, 3), (3, "3"), (True, 3), (), [3, 3, 3, 3], None, 0, "3x3x3x3", 2.0]
)
def test_grids_that_are_not_one_to_three_integers_are_refused(grid: object) -> None:
    with pytest.raises(PatternError):
        load_pattern("ltr").on(grid)  # type: ignore[arg-type]


def test_a_list_or_numpy_grid_is_fine() -> None:
    assert load_pattern("ltr").on([2, 3]).grid == Grid(2, 3)
    assert load_pattern("ltr").on((np.int64(2), np.int32(3))).grid == Grid(2, 3)
    assert load_pattern("ltr").on(9).grid == Grid(9)
    assert load_pattern("ltr").on([2, 3, 4]).grid == Grid(2, 3, 4)


@pytest.mark.parametrize("stride", [2.5, 0, -1, True, "0", None.__class__])
def test_a_stride_that_is_not_a_positive_integer_is_refused(stride: object) -> None:
    with pytest.raises(PatternError, match="stride must be a positive integer"):
        load_pattern("ltr").on("4x4", stride=stride)  # type: ignore[arg-type]


def test_a_stride_given_as_text_is_a_number_or_a_rule() -> None:
    assert load_pattern("ltr").on("4x4", stride="2").stride == 2
    assert load_pattern("ltr").on("4x4", stride="isqrt(n) // 2").stride == 2
    with pytest.raises(PatternError, match="stride rule 'two': unknown variable 'two'"):
        load_pattern("ltr").on("4x4", stride="two")


@pytest.mark.parametrize("tokens", [[0.5], "12", None, [True], [1.0], 3])
def test_max_flow_refuses_tokens_that_are_not_positions(tokens: object) -> None:
    with pytest.raises(YlgError, match="source tokens must be"):
        max_flow(load_pattern("star").on("3x3"), tokens, [1])  # type: ignore[arg-type]


def test_load_npz_on_a_truncated_or_foreign_file(tmp_path: Path) -> None:
    path = tmp_path / "ltr.npz"
    load_pattern("ltr").on("4x4").save_npz(path)
    data = path.read_bytes()
    for cut in (10, len(data) // 2, len(data) - 5):
        bad = tmp_path / f"cut{cut}.npz"
        bad.write_bytes(data[:cut])
        with pytest.raises(PatternError, match="not a ylg mask file"):
            load_npz(bad)
    with zipfile.ZipFile(tmp_path / "other.npz", "w") as z:
        z.writestr("masks.npy", b"junk")
    with pytest.raises(PatternError, match="not a ylg mask file"):
        load_npz(tmp_path / "other.npz")
    np.savez(tmp_path / "list.npz", masks=np.ones((1, 2, 2), bool), meta=np.array("[1, 2]"))
    with pytest.raises(PatternError, match="meta is not a JSON object"):
        load_npz(tmp_path / "list.npz")


@pytest.mark.parametrize(
    "args",
    [
        ["verify", "ltr", "--grid", "4x4", "--order", "esa", "--order", "rowmajor"],
        ["verify", "ltr", "--grid", "4x4", "--grid", "8x8"],
        ["verify", "star", "--grid", "4x4", "--flow", "2", "--exact", "--sampled"],
        ["export", "ltr", "--grid", "4x4", "-o", "a.npz", "--output", "b.npz"],
        ["draw", "mask", "ltr", "--grid", "3x3", "--stride", "2", "--stride", "3"],
    ],
)
def test_an_option_given_twice_is_refused(
    capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2 and out == ""
    assert "given 2 times; give it once" in one_error_line(err)


def test_options_that_may_repeat_still_do(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "compare", "ltr", "--grid", "4x4", "--order", "esa", "--order", "rowmajor"
    )
    assert code == 0 and "rowmajor" in out and "esa" in out
    code, _, _ = run(capsys, "verify", "ltr", "--grid", "4x4", "--json", "--json")
    assert code == 0


# -- item 8: default output names stay in the working folder ------------------------------


@pytest.mark.parametrize("name", ["../../../x", "/tmp/ylg-escape", "a/b", "..", "\u00e9\U0001f600"])
@pytest.mark.parametrize(
    "command", [["export"], ["draw", "mask"], ["draw", "ifg"], ["draw", "query"]]
)
def test_a_pattern_name_never_writes_outside_the_folder(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    command: list[str],
) -> None:
    work = tmp_path / "a" / "b" / "c" / "work"
    work.mkdir(parents=True)
    pattern = work / "p.toml"
    pattern.write_text(Pattern(name, "", ("k <= q",)).to_toml(), encoding="utf-8")
    monkeypatch.chdir(work)
    code, out, err = run(capsys, *command, str(pattern), "--grid", "3x3")
    assert code == 0, err
    written = sorted(p for p in tmp_path.rglob("*") if p.is_file() and p != pattern)
    assert len(written) == 1 and written[0].parent == work, written
    assert f"wrote {written[0].name}" in out
    assert not Path("/tmp/ylg-escape-3x3-rowmajor.npz").exists()


def test_load_npz_still_unpacks_as_masks_and_meta_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "ltr.npz"
    load_pattern("ltr").on("4x4").save_npz(path)
    exported = load_npz(path)
    with pytest.warns(DeprecationWarning, match=r"load_npz\(path\).masks"):
        masks, meta = exported
    assert masks is exported.masks and meta is exported.meta
    assert exported.layout.describe() == "4x4, esa, s=4"


# -- integers, unused options and checks every view of a pattern shares ------------------


@pytest.mark.parametrize("text", ["²", "٣", "1.5"])
def test_a_stride_that_is_not_plainly_an_integer_is_refused_in_one_line(
    capsys: pytest.CaptureFixture[str], text: str
) -> None:
    """Unicode digits are not read as numbers (once '٣' was s=3), and text that
    ``int()`` would fail on never reaches it (once a traceback)."""
    code, _, err = run(capsys, "patterns", "show", "ltr", "-g", "3x3", "--stride", text)
    line = one_error_line(err)
    assert code == 2 or (code == 1 and "gives" in line), err


def test_a_stride_rule_with_two_signs_is_a_rule_not_a_crash(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "export", "ltr", "-g", "3x3", "--stride", "+-5", "-o", "x.npz")
    assert code != 0 and "gives -5" in one_error_line(err)
    code, out, _ = run(capsys, "patterns", "show", "ltr", "-g", "3x3", "--stride", "--2")
    assert code == 0 and "s=2" in out  # -(-2), as the rule reads


@pytest.mark.parametrize("value", ["r=--5", "r=²", "r=٣", "r=+-1", "r=1.0"])
def test_a_param_that_is_not_plainly_an_integer_is_refused_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, value: str
) -> None:
    band = tmp_path / "band.toml"
    band.write_text(
        'name = "band"\ndescription = ""\nsteps = ["abs(qi - ki) <= r and abs(qj - kj) <= r"]\n'
        "[params]\nr = 1\n"
    )
    code, _, err = run(capsys, "patterns", "show", str(band), "-g", "3x3", "--param", value)
    assert code == 2 and "write a parameter as NAME=INTEGER" in one_error_line(err)


@pytest.mark.parametrize(
    "args",
    [
        ["patterns", "show", "ltr", "-g", "4x4", "--nonsquare", "spatial"],
        ["export", "ltr", "-g", "4x4", "--nonsquare", "tile", "-o", "x.npz"],
        ["verify", "ltr", "-g", "4x4", "--nonsquare", "tile"],
        ["compare", "ltr", "-g", "4x4", "--nonsquare", "tile"],
        ["draw", "mask", "ltr", "-g", "4x4", "--nonsquare", "direct", "-o", "m.png"],
        ["compare", "ltr", "-g", "4x4", "--tile", "64"],
    ],
)
def test_options_that_would_be_ignored_are_refused(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, *args)
    assert code == 2 and "would be ignored here" in one_error_line(err)
    assert not list(tmp_path.iterdir())


def test_compare_names_the_query_grid_and_rule_of_a_non_square_layout(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["compare", "ltr", "rtl", "-g", "4x4", "--query-grid", "8x8", "--nonsquare", "spatial"]
    code, out, _ = run(capsys, *args)
    assert (
        code == 0
        and out.splitlines()[0] == "8x8 queries over 4x4 keys, non-square rule: spatial (ltr, rtl)"
    )
    code, out, _ = run(capsys, "compare", "ltr", "-g", "4x4")
    assert code == 0 and out.startswith("pattern ")


def test_draw_mask_refuses_a_query_with_no_key_as_every_other_command(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    lower = tmp_path / "lower.toml"
    lower.write_text('name = "lower"\ndescription = ""\nsteps = ["k < q"]\n')
    png = tmp_path / "lower.png"
    for args in (
        ["draw", "mask", str(lower), "-g", "3x3", "-o", str(png)],
        ["patterns", "show", str(lower), "-g", "3x3"],
    ):
        code, _, err = run(capsys, *args)
        assert code == 2 and "leaves query 0 (cell (0, 0)) with no key" in one_error_line(err)
    assert not png.exists()


def test_an_export_whose_record_disagrees_with_its_masks_is_refused(tmp_path: Path) -> None:
    import json

    path = tmp_path / "ltr.npz"
    load_pattern("ltr").on("4x4").save_npz(path)
    with np.load(path) as data:
        masks, meta = data["masks"], json.loads(str(data["meta"]))
    meta["grid"] = "5x5"
    edited = tmp_path / "edited.npz"
    np.savez(edited, masks=masks, meta=np.array(json.dumps(meta)))
    with pytest.raises(PatternError, match="records 4x4 queries over 5x5 keys, but its masks"):
        _ = load_npz(edited).layout
    text = tmp_path / "text.npz"
    text.write_text("not a mask file")
    with pytest.raises(PatternError, match=r"not a ylg mask file \(not an .npz archive\)$"):
        load_npz(text)


def test_pattern_fields_are_checked_when_the_pattern_is_made() -> None:
    assert Pattern("a", "", ("k == q",), stride=np.int64(3)).stride == 3
    with pytest.raises(PatternError, match="stride must be a positive integer or a rule, not 0"):
        Pattern("a", "", ("k == q",), stride=0)
    with pytest.raises(PatternError, match="one line of text"):
        Pattern("a\nb", "", ("k == q",))
    with pytest.raises(PatternError, match="'abs' is a function of the expressions"):
        Pattern("a", "", ("k == q",), params={"abs": 1})
    with pytest.raises(PatternError, match="'k' is a step variable"):
        Pattern("a", "", ("k == q",), params={"k": 1})


def test_rows_and_evaluate_refuse_what_they_cannot_answer() -> None:
    masks = load_pattern("ltr").on("3x3")
    for start, stop in ((5, 2), (0, 20), (-1, 2)):
        with pytest.raises(PatternError, match=f"rows {start}:{stop} are not within the 9"):
            masks.rows(0, start, stop)
    with pytest.raises(PatternError, match="no value given for k, q in k == q"):
        parse_expr("k == q", STEP_VARIABLES).evaluate({})


def test_export_writes_masks_only_under_an_npz_name(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Layers and load_npz know an export by its .npz name: another is refused."""
    code, _, err = run(capsys, "export", "ltr", "-g", "4x4", "-o", str(tmp_path / "out.txt"))
    assert code == 2 and "write a .npz file" in one_error_line(err)
    assert not list(tmp_path.iterdir())
