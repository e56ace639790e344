"""Pattern files round-trip everything TOML can hold (issue 12, item 14)."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ylg.attention import YLGAttention2d
from ylg.cli.main import main
from ylg.errors import PatternError
from ylg.patterns import Pattern, load_npz, load_pattern

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text: any Unicode scalar value (emoji and other characters outside the BMP, control
# characters, quotes, backslashes); surrogates are not characters and cannot be written.
text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
#: A pattern's name: one line (no control characters or line separators).
one_line = st.text(st.characters(exclude_categories=("Cs", "Cc", "Zl", "Zp")), max_size=12)
offsets = st.integers(-23 * 60 + 1, 23 * 60 - 1).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))
scalars = st.one_of(
    text,
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False),
    st.booleans(),
    st.dates(),
    st.times(),
    st.datetimes(),
    st.datetimes(timezones=offsets),
)
keys = st.text(st.characters(exclude_categories=("Cs",)), min_size=0, max_size=8)
toml_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(keys, inner, max_size=4),
        st.lists(st.dictionaries(keys, inner, min_size=1, max_size=3), min_size=1, max_size=3),
    ),
    max_leaves=12,
)


@given(
    name=one_line.filter(str.strip),
    description=text,
    notes=text,
    meta=st.dictionaries(keys, toml_values, max_size=5),
    stride=st.one_of(st.integers(1, 2**31), st.just("isqrt(n)"), st.just("max(1, w // 2)")),
)
@SETTINGS
def test_every_pattern_round_trips(
    name: str, description: str, notes: str, meta: dict, stride: int | str
) -> None:
    pattern = Pattern(
        name, description, ("k <= q", "k == q or k % s == 0"), "esa", stride, "spatial", notes, meta
    )
    assert Pattern.from_toml(pattern.to_toml()) == pattern


def test_nan_and_infinities_round_trip() -> None:
    meta = {"nan": math.nan, "inf": math.inf, "minus": -math.inf}
    back = Pattern.from_toml(Pattern("f", "", ("k <= q",), meta=meta).to_toml()).meta
    assert math.isnan(back["nan"]) and back["inf"] == math.inf and back["minus"] == -math.inf


def test_nested_tables_arrays_of_tables_and_dates_stay_what_they_were() -> None:
    meta = {
        "paper": {"venue": "CVPR", "year": 2020, "authors": [{"name": "Daras"}, {"name": "Odena"}]},
        "made": dt.date(2020, 3, 1),
        "at": dt.datetime(2020, 3, 1, 12, 30, tzinfo=dt.timezone.utc),
        "emoji": "\U0001f600 \u2603",
    }
    back = Pattern.from_toml(Pattern("n", "", ("k <= q",), meta=meta).to_toml()).meta
    assert back == meta
    assert isinstance(back["paper"], dict) and isinstance(back["paper"]["authors"][0], dict)
    assert isinstance(back["made"], dt.date)


@pytest.mark.parametrize(
    "meta",
    [{"x": {1, 2}}, {"x": object()}, {"x": None}, {"x": "\ud800"}, {"x": {"y": b"bytes"}}],
)
def test_what_toml_cannot_hold_is_a_pattern_error(meta: dict) -> None:
    with pytest.raises(PatternError, match="cannot be written as TOML"):
        Pattern("bad", "", ("k <= q",), meta=meta).to_toml()


@pytest.mark.parametrize("meta", [[1, 2], {1: "x"}, "text"])
def test_meta_must_be_a_table_with_string_keys(meta: object) -> None:
    with pytest.raises(PatternError, match="meta must be a table"):
        Pattern("bad", "", ("k <= q",), meta=meta)  # type: ignore[arg-type]


def test_an_emoji_pattern_exports_masks_the_layer_accepts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "smile.toml"
    pattern = load_pattern("ltr").with_steps(
        load_pattern("ltr").steps, name="smile \U0001f600", meta={"by": {"who": "\U0001f600"}}
    )
    source.write_text(pattern.to_toml(), encoding="utf-8")
    out = tmp_path / "smile.npz"
    with pytest.raises(SystemExit) as exc:
        main(["export", str(source), "--grid", "8x8", "--query-grid", "16x16", "-o", str(out)])
    assert exc.value.code in (0, None), capsys.readouterr().err
    meta = load_npz(out).meta
    assert Pattern.from_toml(meta["source"]) == pattern
    layer = YLGAttention2d(64, out)
    assert layer is not None


def test_repair_keeps_the_input_meta(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    meta = {"owner": {"team": "vision", "since": dt.date(2021, 5, 4)}, "tags": ["a", "b"]}
    source = tmp_path / "mine.toml"
    strided = load_pattern("strided")
    source.write_text(strided.with_steps(strided.steps, name="mine", meta=meta).to_toml())
    out = tmp_path / "mine-fi.toml"
    with pytest.raises(SystemExit) as exc:
        main(["repair", str(source), "--grid", "8x8", "--check", "4x4", "-o", str(out)])
    assert exc.value.code in (0, None), capsys.readouterr().err
    repaired = load_pattern(str(out)).meta
    assert repaired["owner"] == meta["owner"] and repaired["tags"] == ["a", "b"]
    assert repaired["repaired_from"] == "mine" and repaired["clauses"]
