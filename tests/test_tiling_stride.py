"""A stride that tiles the keys: the stride language's ``divisor``, the repair
:func:`ylg.ifg.stride.tiling_stride` (checked by graph search), the layers' ``stride=``
option and the hints that name it."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from clirun import run
from hypothesis import given, settings
from hypothesis import strategies as st

from ylg.attention import YLGAttention1d, YLGAttention2d, head_masks
from ylg.errors import YlgError
from ylg.ifg.reach import full_information_networkx
from ylg.ifg.stride import TILING_STRIDE, tiling_stride
from ylg.patterns import Layout, Pattern, load_pattern
from ylg.patterns.expr import divisor
from ylg.patterns.model import load_model


def slow_divisor(n: int, m: int) -> int:
    return max(d for d in range(1, n + 1) if n % d == 0 and d <= max(m, 1))


@given(st.integers(1, 3000), st.integers(-5, 3500))
def test_divisor_is_the_largest_divisor_up_to_m(n: int, m: int) -> None:
    assert divisor(n, m) == slow_divisor(n, m)


@given(st.integers(1, 12), st.integers(1, 12), st.integers(-2, 20))
def test_stride_rules_call_divisor_on_the_layout(h: int, w: int, m: int) -> None:
    pattern = Pattern("blocks", "", ("q // s == k // s",), stride=f"divisor(h * w, {m})")
    assert pattern.on((h, w)).stride == slow_divisor(h * w, m)


def test_divisor_is_for_stride_rules_only() -> None:
    with pytest.raises(YlgError, match="only these functions may be called: abs, min, max"):
        Pattern("x", "", ("k == divisor(q, 2)",))
    with pytest.raises(YlgError, match="divisor needs a positive scalar"):
        Pattern("x", "", ("k == q",), stride="divisor(n - n, 2)").on("4x4")


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(["ltr", "rtl"]),
    st.sampled_from(["rowmajor", "esa", "hilbert"]),
    st.integers(1, 12),
    st.integers(1, 12),
)
def test_the_tiling_stride_gives_rtl_and_ltr_full_information(
    name: str, order: str, h: int, w: int
) -> None:
    """Wherever the paper's stride leaves a partial block, the tiling stride divides the
    key count and graph search finds Full Information; elsewhere there is nothing to fix."""
    masks = load_pattern(name).on((h, w), order=order)
    tiled = tiling_stride(masks)
    if masks.nk % masks.stride == 0:
        assert tiled is None and full_information_networkx(masks).holds
        return
    assert not full_information_networkx(masks).holds
    assert tiled is not None and tiled.nk % tiled.stride == 0
    assert tiled.stride == slow_divisor(h * w, masks.stride)
    assert (tiled.order, tiled.grid) == (masks.order, masks.grid)
    assert full_information_networkx(tiled).holds


def test_no_tiling_stride_where_the_stride_is_not_the_trouble() -> None:
    # Fixed is causal: no stride gives it Full Information; axial never reads s.
    assert tiling_stride(load_pattern("fixed").on("16x32")) is None
    assert tiling_stride(load_pattern("axial").on("5x7")) is None
    # A prime key count: only s = 1 tiles it, and the rule says so when it helps.
    prime = load_pattern("rtl").on("1x13", order="rowmajor")
    assert tiling_stride(prime).stride == 1


def test_the_2d_layer_refuses_a_wide_map_and_names_the_stride_that_works() -> None:
    layer = YLGAttention2d(32, num_heads=4)
    with pytest.raises(YlgError) as err:
        layer(torch.randn(1, 32, 32, 64))  # keys 16x32: s = 22 leaves a block of 6
    text = str(err.value)
    assert "\n" not in text and "s=22" in text
    assert f"stride={TILING_STRIDE!r} (s=16 here) gives it;" in text


def test_the_stride_option_runs_the_paper_patterns_on_any_size() -> None:
    torch.manual_seed(0)
    tiled = YLGAttention2d(32, num_heads=4, stride=TILING_STRIDE)
    fixed = YLGAttention2d(32, num_heads=4, stride=16)
    with torch.no_grad():
        tiled.gamma.fill_(1.0)  # gamma starts at 0: the block would return its input
    fixed.load_state_dict(tiled.state_dict())
    plain = YLGAttention2d(32, num_heads=4, verify=False)
    plain.load_state_dict(tiled.state_dict())
    x = torch.randn(2, 32, 32, 64)
    assert torch.allclose(tiled(x), fixed(x))  # the rule gives 16 on 16x32 keys
    assert not torch.allclose(tiled(x), plain(x), atol=1e-3)  # s = 22 attends elsewhere
    assert tiled.masks_for(32, 64).last_steps()[0].masks.stride == 16
    # On a square map the rule is the paper's stride: the same masks as without it.
    for a, b in zip(tiled.masks_for(32, 32).last_steps(), plain.masks_for(32, 32).last_steps()):
        assert a.masks.stride == b.masks.stride == 16
        assert (a.csr != b.csr).nnz == 0
    assert "stride='divisor(n, isqrt(n))'" in repr(tiled)
    seq = YLGAttention1d(32, num_heads=4, stride=TILING_STRIDE)
    assert seq(torch.randn(1, 32, 1000)).shape == (1, 32, 1000)  # 500 keys, s = 20


@pytest.mark.parametrize("bad", [0, -3, True, 2.5, "divisor(n)", "q // 2", "isqrt(n) +"])
def test_a_bad_stride_is_one_clear_error(bad: object) -> None:
    with pytest.raises(YlgError) as err:
        head_masks("ltr", grid="4x4", num_heads=2, stride=bad)  # type: ignore[arg-type]
    assert "stride" in str(err.value) and "\n" not in str(err.value)


def test_an_exported_file_keeps_its_stride(tmp_path) -> None:
    path = tmp_path / "ltr.npz"
    load_pattern("ltr").on("4x4").save_npz(path)
    assert head_masks(str(path), grid="4x4", num_heads=2).last_steps()[0].masks.stride == 4
    with pytest.raises(YlgError, match="fixes its stride"):
        head_masks(str(path), grid="4x4", num_heads=2, stride=2)


def test_verify_prints_the_stride_that_tiles_the_keys(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "verify", "rtl", "--grid", "16x32")
    assert code == 1
    assert out.splitlines()[-1] == (
        "  hint: s=22 leaves a partial block of 6 of 512 keys; --stride 16 (the largest"
        " divisor of 512 up to its square root; --stride 'divisor(n, isqrt(n))' on any grid)"
        " gives Full Information"
    )
    code, out, _ = run(capsys, "verify", "rtl", "--grid", "16x32", "--stride", "16")
    assert code == 0 and "hint" not in out
    code, out, _ = run(capsys, "verify", "ltr", "--grid", "500", "--layers", "2")
    assert code == 1 and "--stride 20 (the largest divisor of 500 up to its square root" in out
    code, out, _ = run(capsys, "verify", "fixed", "--grid", "16x32")
    assert code == 1 and "hint" not in out


def test_the_repair_keeps_the_pattern_but_its_stride() -> None:
    masks = load_pattern("ltr").on("6x10", query_grid="12x20")
    tiled = tiling_stride(masks)
    assert tiled is not None and tiled.pattern == replace(masks.pattern, stride=TILING_STRIDE)
    assert (tiled.query_grid, tiled.nonsquare, tiled.stride) == (masks.query_grid, "repeat", 6)


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(["ltr", "rtl", "strided", "fixed"]),
    st.integers(1, 9),
    st.integers(1, 9),
    st.sampled_from([TILING_STRIDE, "max(1, w // 2)", "3"]),
)
def test_a_layout_stride_rule_is_the_number_it_gives(name: str, h: int, w: int, rule: str) -> None:
    """A stride rule on the layout lays the same masks as the pattern carrying that rule
    and as the number it evaluates to on the grid."""
    pattern = load_pattern(name)
    by_layout = pattern.on(Layout((h, w), stride=rule))
    by_pattern = pattern.with_stride(rule).on((h, w))
    assert by_layout.stride == by_pattern.stride
    by_number = pattern.on((h, w), stride=by_layout.stride)
    for step in range(by_layout.num_steps):
        a, b, c = (m.csr(step) for m in (by_layout, by_pattern, by_number))
        assert (a != b).nnz == 0 and (a != c).nnz == 0


def test_the_command_line_takes_a_stride_rule(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "verify", "rtl", "--grid", "16x32", "--stride", TILING_STRIDE)
    assert code == 0 and "s=16" in out and "does NOT" not in out
    code, out, _ = run(capsys, "verify", "rtl", "--grid", "16x32", "--stride", " 16 ")
    assert code == 0 and "s=16" in out
    code, _, err = run(capsys, "verify", "rtl", "--grid", "4x4", "--stride", "sqrt(n)")
    assert code == 2 and "only these functions may be called" in err
    assert len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "verify", "rtl", "--grid", "4x4", "--stride", "n - n")
    assert code == 2 and "the stride rule 'n - n' gives 0 on the 4x4 grid" in err
    code, _, err = run(capsys, "verify", "rtl", "--grid", "4x4", "--stride", "n // (h - 4)")
    assert code == 2 and "pattern 'rtl', stride rule 'n // (h - 4)' on the 4x4 grid:" in err
    assert "division by zero" in err
    code, _, err = run(capsys, "export", "rtl", "--grid", "4x4", "--stride", "q", "-o", "x.npz")
    assert code == 2 and "unknown variable 'q'" in err


def test_a_model_layer_takes_a_stride_rule(tmp_path) -> None:
    text = 'name = "m"\n[[layers]]\npattern = "rtl"\nrepeat = 2\nstride = "divisor(n, isqrt(n))"\n'
    layers = load_model(text).on("16x32")
    assert [m.stride for m in layers] == [16, 16]
    with pytest.raises(YlgError, match=r"layer 1: stride rule 'isqrt\(q\)'"):
        load_model(text.replace("divisor(n, isqrt(n))", "isqrt(q)"))
