"""Bad patterns, grids and files give one clear PatternError that points at the problem."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ylg.errors import PatternError
from ylg.patterns import STEP_VARIABLES, Grid, Pattern, load_pattern, parse_expr


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("k == q +", "syntax error (unexpected end) at column 9"),
        ("k ==== q", "syntax error (invalid syntax) at column 5"),
        ("k == (q", "column 6"),
        ("k == q + x", "unknown variable 'x' at column 10"),
        ("k + q", "must be boolean"),
        ("k < 1.5", "only integer literals are allowed, not 1.5 at column 5"),
        ("k < True", "only integer literals"),
        ("k ** 2 > q", "operator Pow is not allowed at column 1"),
        ("q.real > 0", "Attribute is not allowed in a pattern expression at column 1"),
        ("__import__('os') == 0", "only these functions may be called: abs, min, max at column 1"),
        ("isqrt(q) > 1", "only these functions may be called"),
        ("abs(q, k) > 1", "abs() takes exactly 1 argument"),
        ("min(q) > 1", "min() takes at least 2 argument"),
        ("q and k", "'and' needs a boolean operand at column 1"),
        ("not q", "'not' needs a boolean operand at column 1"),
        ("(q < k) + 1 > 0", "'+' needs an integer operand at column 2"),
        ("k < q if q else k", "IfExp is not allowed"),
        ("k < 99999999999", "integer literal 99999999999 is too large at column 5"),
        ("", "empty expression"),
        ("k < q\nk > q", "one line"),
        ("k == q\x00", "control character '\\x00' at column 7"),
    ],
)
def test_expression_errors_name_the_problem_and_column(source: str, message: str) -> None:
    with pytest.raises(PatternError) as info:
        parse_expr(source, STEP_VARIABLES)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_deep_nesting_is_a_pattern_error() -> None:
    with pytest.raises(PatternError):
        parse_expr("(" * 500 + "k" + ")" * 500 + " > 0", STEP_VARIABLES)
    with pytest.raises(PatternError):
        parse_expr("-" * 5000 + "k > 0", STEP_VARIABLES)


def test_division_and_modulo_by_zero_name_the_step_and_column() -> None:
    with pytest.raises(
        PatternError, match=r"step 2: division by zero at column 6: k == q // \(s - 3\)"
    ):
        Pattern("z", "", ("k == q", "k == q // (s - 3)")).on("3x3").dense()
    with pytest.raises(PatternError, match="modulo by zero at column 1"):
        Pattern("z", "", ("k % (q - q) == 0",)).on("2x2").dense()


def test_overflow_is_refused_before_evaluation() -> None:
    source = "q * q * q * q * q * q * q * q * q > k"
    with pytest.raises(PatternError, match="may overflow 64-bit integers"):
        Pattern("big", "", (source,)).on("128x128")


def test_large_intermediates_pick_a_wide_enough_type() -> None:
    masks = Pattern("wide", "", ("(q * 70000) % 7 == (k * 70000) % 7",)).on("8x8")
    q = np.arange(64)
    expected = (q[:, None] * 70000) % 7 == (q[None, :] * 70000) % 7
    assert np.array_equal(masks.dense(0), expected)


def test_a_query_without_keys_is_named_with_its_cell() -> None:
    with pytest.raises(PatternError, match=r"step 1 leaves query 0 \(cell \(0, 0\)\) with no key"):
        Pattern("causal-strict", "", ("k < q",)).on("3x3").dense()
    with pytest.raises(PatternError, match="with no key"):
        Pattern("causal-strict", "", ("k < q",)).on("3x3").validate()


@pytest.mark.parametrize(
    "text", ["16x", "x16", "0x4", "4x-1", "axb", "", "16x16x2x2", "16xx16", "1e3", "0"]
)
def test_bad_grids(text: str) -> None:
    with pytest.raises(PatternError, match="grid"):
        Grid.parse(text)


def test_masks_too_large_for_memory_are_refused() -> None:
    masks = load_pattern("ltr").on("1024x1024")
    with pytest.raises(PatternError, match=r"need 2\.0 TiB"):
        masks.dense()
    with pytest.raises(PatternError, match="more than the 1.0 KiB allowed"):
        load_pattern("ltr").on("8x8").dense(max_bytes=1024)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('name = "a"\nsteps = "k == q"', "steps must be a list of strings"),
        ('name = "a"', "missing required key 'steps'"),
        ('steps = ["k == q"]', "missing required key 'name'"),
        ('name = "a"\nsteps = []', "steps must be a non-empty list"),
        ('name = "a"\nsteps = ["k == q"]\nstep = 1', "unknown key(s) step"),
        ('name = "a"\nsteps = ["k == q"]\norder = "spiral"', "unknown order 'spiral'"),
        ('name = "a"\nsteps = ["k == q"]\nnonsquare = "x"', "unknown nonsquare rule 'x'"),
        ('name = "a"\nsteps = ["k == q"]\nstride = "n / 2"', "stride: operator Div is not allowed"),
        ('name = "a"\nsteps = ["k == q"]\nstride = "k"', "stride: unknown variable 'k'"),
        ('name = "a"\nsteps = ["k == q"]\nstride = 1.5', "stride must be an integer"),
        ('name = "a"\nsteps = ["k == q"', "not valid TOML"),
        ('name = "a"\nsteps = ["k == q", "k ="]', "step 2: syntax error"),
    ],
)
def test_bad_pattern_files(toml: str, message: str) -> None:
    with pytest.raises(PatternError) as info:
        Pattern.from_toml(toml, origin="mine.toml")
    assert message in str(info.value)


def test_stride_rules() -> None:
    p = Pattern.from_toml('name = "a"\nsteps = ["k == q"]\nstride = "max(2, w // 2)"')
    assert p.on("4x8").stride == 4
    with pytest.raises(PatternError, match="stride must be a positive integer"):
        Pattern.from_toml('name = "a"\nsteps = ["k == q"]\nstride = "w - 8"').on("4x8")


def test_unknown_pattern_and_missing_file(tmp_path) -> None:
    with pytest.raises(PatternError, match="unknown pattern 'ltrr'"):
        load_pattern("ltrr")
    with pytest.raises(PatternError, match="no pattern file"):
        load_pattern(str(tmp_path / "missing.toml"))


def test_user_file_anywhere(tmp_path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(
        'name = "my-ltr"\ndescription = "LTR written by hand"\n'
        'steps = ["q // s == k // s and k <= q", "k == q or k % s == s - 1"]\n'
    )
    mine = load_pattern(str(path)).on("4x4", order="esa").dense()
    assert np.array_equal(mine, load_pattern("ltr").on("4x4").dense())


def test_a_bare_name_means_the_library_and_a_path_means_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ylg.patterns import library

    mine = 'name = "mine"\nsteps = ["k <= q"]\n'
    (tmp_path / "ltr").write_text(mine)
    (tmp_path / "mine").write_text(mine)
    monkeypatch.chdir(tmp_path)
    assert load_pattern("ltr") == library()["ltr"]  # the library, not the file ./ltr
    assert load_pattern("./ltr").name == "mine"
    assert load_pattern(tmp_path / "ltr").name == "mine"
    with pytest.raises(PatternError, match="write ./mine"):
        load_pattern("mine")
