"""``verify=N``: layers and head sets verified for Full Information across N stacked layers,
checked against graph search on the stacked Information Flow Graph."""

from __future__ import annotations

import re

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ylg.attention import YLGAttention1d, YLGAttention3d, head_masks
from ylg.attention.masksets import verify_layers
from ylg.errors import YlgError
from ylg.ifg.stack import stack_full_information_networkx
from ylg.patterns import Layout, Pattern, load_pattern

#: A 3x3(x3) neighbourhood: no Full Information in one layer on any grid wider than 3.
NEAR = Pattern("near", "", ("abs(qt - kt) <= 1 and abs(qi - ki) <= 1 and abs(qj - kj) <= 1",))
#: Only even offsets along j: never Full Information, however many layers.
EVEN = Pattern("even", "", ("abs(qj - kj) % 2 == 0 and abs(qi - ki) <= 1",))

PATTERNS = {
    "near": NEAR,
    "even": EVEN,
    **{name: load_pattern(name) for name in ("ltr", "rtl", "fixed", "strided", "window", "axial")},
}


def _stack_holds(pattern: Pattern, layout: Layout, layers: int) -> bool:
    """The reference: graph search over the stacked IFG (inner layers on the key grid)."""
    last = pattern.on(layout)
    inner = pattern.on(Layout.of(layout, query_grid=layout.grid))
    return stack_full_information_networkx([inner] * (layers - 1) + [last]).holds


def _refusal(pattern: Pattern, layout: Layout, verify: int) -> str | None:
    try:
        head_masks(pattern, layout=layout, num_heads=len(pattern.steps), verify=verify)
    except YlgError as exc:
        return str(exc)
    return None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(sorted(PATTERNS)),
    rows=st.integers(1, 5),
    cols=st.integers(2, 6),
    pooled=st.booleans(),
    layers=st.integers(1, 4),
)
def test_verify_n_accepts_exactly_the_stacks_with_full_information(
    name: str, rows: int, cols: int, pooled: bool, layers: int
) -> None:
    pattern = PATTERNS[name]
    query = f"{2 * rows}x{2 * cols}" if pooled else None
    nonsquare = "spatial" if pooled else None
    layout = Layout.of(f"{rows}x{cols}", query_grid=query, nonsquare=nonsquare)
    refused = _refusal(pattern, layout, layers)
    assert (refused is None) == _stack_holds(pattern, layout, layers), refused
    if refused is None:
        return
    hint = re.search(r"(\d+) stacked layers have it \(verify=(\d+)\)", refused)
    if hint:  # the number it names is the smallest that works
        depth = int(hint.group(1))
        assert int(hint.group(2)) == depth > layers
        assert _stack_holds(pattern, layout, depth)
        assert not _stack_holds(pattern, layout, depth - 1)
        assert _refusal(pattern, layout, depth) is None
    if "no number of stacked layers has it" in refused:  # (on the key grid when pooled)
        square = Layout.of(layout, query_grid=layout.grid)
        checked = square if "on the key grid" in refused else layout
        assert not any(_stack_holds(pattern, checked, n) for n in range(layers, layers + 6))


def test_the_refusal_names_the_layers_needed_and_never() -> None:
    with pytest.raises(YlgError, match=r"have it \(verify=3\);") as one:
        head_masks(NEAR, grid="4x4", num_heads=1)
    assert "after" not in str(one.value)
    with pytest.raises(YlgError, match=r"after 2 layers on 4x4.*\(verify=3\)"):
        head_masks(NEAR, grid="4x4", num_heads=1, verify=2)
    assert head_masks(NEAR, grid="4x4", num_heads=1, verify=3).nk == 16
    with pytest.raises(YlgError, match="no number of stacked layers has it;"):
        head_masks(EVEN, grid="3x4", num_heads=1, verify=5)
    # RTL on a key count that is not a square: its last, partial block is read only by
    # the outputs beside it, however many layers are stacked.
    with pytest.raises(YlgError, match="no number of stacked layers has it on the key grid;"):
        YLGAttention1d(64, verify=2)(torch.randn(1, 64, 1000))


def test_video_layer_verifies_across_the_layers_asked_at_every_size() -> None:
    # 4x8x8 keys: a 3x3x3 neighbourhood joins keys 7 apart after 7 layers.
    with pytest.raises(YlgError, match=r"4x8x8 keys.*\(verify=7\).*verify=False"):
        YLGAttention3d(32, NEAR, num_heads=2)
    layer = YLGAttention3d(32, NEAR, num_heads=2, verify=7)
    assert layer.verify == 7
    x = torch.randn(1, 32, 4, 16, 16)
    assert layer(x).shape == x.shape
    # 8x12x12 keys need 11 layers: a new input size is verified across 7 and refused.
    with pytest.raises(YlgError, match=r"after 7 layers on 8x12x12 keys.*\(verify=11\)"):
        layer(torch.randn(1, 32, 8, 24, 24))
    wide = YLGAttention3d(32, NEAR, num_heads=2, verify=11)
    assert wide(torch.randn(1, 32, 8, 24, 24)).shape == (1, 32, 8, 24, 24)


def test_sequence_layer_takes_a_stack_depth_too() -> None:
    # 1-D: 256 keys; a band of radius 8 joins keys 0 and 255 after ceil(255 / 8) = 32.
    band = Pattern("band", "", ("abs(qj - kj) <= 8",))
    with pytest.raises(YlgError, match=r"after 31 layers on 256 keys.*\(verify=32\)"):
        YLGAttention1d(16, band, num_heads=1, verify=31)
    assert YLGAttention1d(16, band, num_heads=1, verify=32).verify == 32


@pytest.mark.parametrize("bad", [-1, 1.5, "yes", None, 10**6])
def test_verify_takes_a_bool_or_a_number_of_layers(bad: object) -> None:
    with pytest.raises(YlgError, match="verify must be True, False or a number of stacked"):
        verify_layers(bad)
    with pytest.raises(YlgError, match="verify must be"):
        YLGAttention3d(32, NEAR, num_heads=2, verify=bad)  # type: ignore[arg-type]


def test_false_and_zero_check_nothing() -> None:
    assert verify_layers(False) == verify_layers(0) == 0
    assert YLGAttention3d(32, NEAR, num_heads=2, verify=0).verify == 0
