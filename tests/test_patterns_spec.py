"""The paper's patterns, exactly as the spec gives them: counts, ESA permutations, masks."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ylg.patterns import enumeration, library, load_pattern

# The spec's table of counts of ones (n = s*s).
SPEC_COUNTS = {
    ("ltr", 0): {9: 18, 16: 40, 64: 288, 256: 2176},
    ("rtl", 0): {9: 18, 16: 40, 64: 288, 256: 2176},
    ("fixed", 0): {9: 18, 16: 40, 64: 288, 256: 2176},
    ("ltr", 1): {9: 33, 16: 76, 64: 568, 256: 4336},
    ("rtl", 1): {9: 33, 16: 76, 64: 568, 256: 4336},
    ("fixed", 1): {9: 18, 16: 40, 64: 288, 256: 2176},
    ("strided", 0): {9: 24, 16: 58, 64: 484, 256: 3976},
    ("strided", 1): {9: 27, 16: 64, 64: 512, 256: 4096},
}


@pytest.mark.parametrize("key", sorted(SPEC_COUNTS))
@pytest.mark.parametrize("order", ["rowmajor", "esa"])
def test_spec_counts_table(key: tuple[str, int], order: str) -> None:
    name, step = key
    for n, expected in SPEC_COUNTS[key].items():
        side = int(np.sqrt(n))
        masks = load_pattern(name).on(f"{side}x{side}", order=order)
        assert int(masks.dense(step).sum()) == expected, (name, step, n)


@pytest.mark.parametrize("n", [9, 16, 25, 36, 64, 100, 256])
def test_spec_count_formulas(n: int) -> None:
    s = int(np.sqrt(n))
    side = f"{s}x{s}"
    assert load_pattern("ltr").on(side).counts() == [n * (s + 1) // 2, n * s + n - s]
    assert load_pattern("fixed").on(side).counts() == [n * (s + 1) // 2] * 2
    assert load_pattern("strided").on(side).counts() == [n * s - s * (s - 1) // 2, n * s]


def test_esa_permutations_from_spec() -> None:
    assert enumeration("esa", 3, 3).tolist() == [0, 1, 3, 2, 4, 6, 5, 7, 8]
    assert enumeration("esa", 4, 4).tolist() == [
        0,
        1,
        4,
        2,
        5,
        8,
        3,
        6,
        9,
        12,
        7,
        10,
        13,
        11,
        14,
        15,
    ]


def spec_1d(name: str, step: int, n: int) -> np.ndarray:
    """The spec's table, written out with explicit loops: the obviously correct reference."""
    s = int(np.floor(np.sqrt(n)))
    m = np.zeros((n, n), dtype=bool)
    for q in range(n):
        for k in range(n):
            if name == "fixed":
                v = (
                    (q // s == k // s and k <= q)
                    if step == 0
                    else (k <= q and (k == q or k % s == s - 1))
                )
            elif name == "ltr":
                v = (q // s == k // s and k <= q) if step == 0 else (k == q or k % s == s - 1)
            elif name == "rtl":
                v = (
                    (q // s == k // s and k >= q)
                    if step == 0
                    else (k == q or (k % s == 0 and k + s - 1 < n))
                )
            else:
                v = (q - s < k <= q) if step == 0 else (abs(q - k) % s == 0)
            m[q, k] = v
    return m


@pytest.mark.parametrize("name", ["fixed", "ltr", "rtl", "strided"])
@pytest.mark.parametrize("grid", [(3, 3), (4, 4), (5, 5), (3, 5), (4, 7)])
def test_masks_are_the_spec_masks_shifted_by_esa(name: str, grid: tuple[int, int]) -> None:
    h, w = grid
    n = h * w
    pi = enumeration("esa", h, w)
    for step in range(2):
        m1d = spec_1d(name, step, n)
        expected = np.zeros_like(m1d)
        expected[np.ix_(pi, pi)] = m1d  # M[pi[a], pi[b]] = M1d[a, b]
        assert np.array_equal(load_pattern(name).on(grid, order="esa").dense(step), expected)
        assert np.array_equal(load_pattern(name).on(grid, order="rowmajor").dense(step), m1d)


def test_the_stride_comes_from_the_key_count_even_when_not_square() -> None:
    assert load_pattern("ltr").on("3x5").stride == 3  # floor(sqrt(15))
    assert load_pattern("ltr").on("16x16", query_grid="32x32").stride == 16


def test_sagan_layout_repeats_the_key_mask_along_queries() -> None:
    masks = load_pattern("ltr").on("16x16", query_grid="32x32")
    dense = masks.dense()
    square = load_pattern("ltr").on("16x16").dense()
    assert dense.shape == (2, 1024, 256)
    for q in (0, 255, 256, 700, 1023):
        assert np.array_equal(dense[:, q], square[:, q % 256])


def test_library_has_the_paper_patterns_and_2d_native_ones() -> None:
    lib = library()
    assert {"fixed", "strided", "ltr", "rtl"} <= set(lib)
    uses_coords = [p for p in lib.values() if any(v in s for s in p.steps for v in ("qi", "kj"))]
    assert len(uses_coords) >= 2


def test_axial_reaches_every_cell_in_two_steps() -> None:
    m = load_pattern("axial").on("3x4").dense().astype(int)
    assert (m[1] @ m[0] > 0).all()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 9), min_size=1, max_size=3))
def test_window_is_a_box_of_a_quarter_of_each_axis(shape: list[int]) -> None:
    """Per axis of side n the keys within max(1, n // 4) of the query: local in time on a
    video too (the radius once came from sqrt(cells) on every axis: dense on 16x32x32)."""
    masks = load_pattern("window").on(tuple(shape))
    cells = list(itertools.product(*(range(n) for n in shape)))
    radius = [max(1, n // 4) for n in shape]
    expected = np.array(
        [[all(abs(a - b) <= r for a, b, r in zip(q, k, radius)) for k in cells] for q in cells]
    )
    assert (masks.dense(0) == expected).all()


@given(st.integers(1, 24))
def test_window_on_a_square_image_is_the_chebyshev_square_of_radius_s_over_4(side: int) -> None:
    masks = load_pattern("window").on((side, side))
    i, j = np.divmod(np.arange(side * side), side)
    r = max(1, masks.stride // 4)
    chebyshev = np.maximum(abs(i[:, None] - i[None]), abs(j[:, None] - j[None])) <= r
    assert masks.stride == side and (masks.dense(0) == chebyshev).all()


def test_window_is_a_local_square() -> None:
    masks = load_pattern("window").on("8x8")  # s = 8, radius max(1, 8 // 4) = 2
    row = masks.dense(0)[masks.grid.position(4, 4)].reshape(8, 8)
    assert row[2:7, 2:7].all() and row.sum() == 25
