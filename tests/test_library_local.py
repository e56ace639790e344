"""The local library patterns (na, dilated-na, gna, sta, radial, block-global) against
brute-force references written from their papers' definitions, on 1-D, 2-D and 3-D
grids, with sides smaller than the windows, odd and even windows and dilations that do
not divide the side."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from natten_reference import natten_reference_mask, neighbours_1d

from ylg.patterns import Grid, Pattern, library, load_pattern

AXES = ("t", "i", "j")
LOCAL = ("na", "dilated-na", "gna", "sta", "radial", "block-global")
SEPARABLE = ("na", "dilated-na", "gna", "sta")


def axis_names(ndim: int) -> tuple[str, ...]:
    return AXES[3 - ndim :]


def params_for(ndim: int, **per_axis: list[int]) -> dict[str, int]:
    """``win=[3, 4]`` on a 2-D grid -> ``{"win_i": 3, "win_j": 4}``."""
    out = {}
    for name, values in per_axis.items():
        for axis, value in zip(axis_names(ndim), values):
            out[f"{name}_{axis}"] = value
    return out


def cells(shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    return list(itertools.product(*(range(n) for n in shape)))


def brute(shape: tuple[int, ...], attends) -> np.ndarray:
    """``M[q, k] = attends(query cell, key cell)`` over row-major cells."""
    all_cells = cells(shape)
    return np.array([[bool(attends(a, b)) for b in all_cells] for a in all_cells])


shapes = (
    st.lists(st.integers(1, 7), min_size=1, max_size=3)
    .map(tuple)
    .filter(lambda s: int(np.prod(s)) <= 150)
)


# -- na, dilated-na, gna: NATTEN's definition, extended to windows longer than the axis --


@settings(max_examples=60, deadline=None)
@given(shape=shapes, data=st.data())
def test_na_is_the_clamped_window_per_axis(shape, data):
    wins = [data.draw(st.integers(1, 9)) for _ in shape]
    masks = load_pattern("na").with_params(params_for(len(shape), win=wins)).on(shape)
    expected = natten_reference_mask(shape, wins, strict=False)
    assert np.array_equal(masks.dense(0), expected)


@settings(max_examples=60, deadline=None)
@given(shape=shapes, data=st.data())
def test_dilated_na_is_na_within_each_dilation_group(shape, data):
    wins = [data.draw(st.integers(1, 5)) for _ in shape]
    dils = [data.draw(st.integers(1, 4)) for _ in shape]
    params = params_for(len(shape), win=wins, dil=dils)
    masks = load_pattern("dilated-na").with_params(params).on(shape)
    expected = natten_reference_mask(shape, wins, dilation=dils, strict=False)
    assert np.array_equal(masks.dense(0), expected)


@settings(max_examples=80, deadline=None)
@given(shape=shapes, data=st.data())
def test_gna_is_natten_with_stride_dilation_and_causality(shape, data):
    wins = [data.draw(st.integers(1, 6)) for _ in shape]
    strides = [data.draw(st.integers(1, w)) for w in wins]
    dils = [data.draw(st.integers(1, 3)) for _ in shape]
    causal = [data.draw(st.booleans()) for _ in shape]
    params = params_for(
        len(shape), win=wins, stride=strides, dil=dils, causal=[int(c) for c in causal]
    )
    masks = load_pattern("gna").with_params(params).on(shape)
    expected = natten_reference_mask(shape, wins, strides, dils, causal, strict=False)
    assert np.array_equal(masks.dense(0), expected)


@pytest.mark.parametrize(
    ("grid", "win"),
    [("9", [3]), ("9", [4]), ("6x7", [3, 4]), ("3x4x5", [3, 2, 5]), ("2x2", [5, 5])],
)
def test_na_by_hand(grid, win):
    """The same definition written out once more, as the paper states it: the window
    starts at clamp(x - win // 2, 0, n - win) (at 0 when the window is longer than n)."""
    shape = Grid.parse(grid).shape
    masks = load_pattern("na").with_params(params_for(len(shape), win=win)).on(grid)

    def attends(a, b):
        for x, y, n, k in zip(a, b, shape, win):
            start = max(0, min(x - k // 2, n - k))
            if not start <= y < start + k:
                return False
        return True

    assert np.array_equal(masks.dense(0), brute(shape, attends))


def test_a_query_attends_exactly_the_window_when_it_fits():
    masks = load_pattern("na").with_params(win_t=3, win_i=4, win_j=5).on("5x6x7")
    assert (masks.keys_per_query(0) == 3 * 4 * 5).all()
    corner = masks.dense(0)[0].reshape(5, 6, 7)  # shifted inwards, not cut
    assert corner[:3, :4, :5].all() and corner.sum() == 60


def test_causal_gna_is_a_causal_sliding_window():
    masks = load_pattern("gna").with_params(win_j=3, stride_j=1, causal_j=1).on("6")
    expected = np.tril(np.ones((6, 6), bool)) & ~np.tril(np.ones((6, 6), bool), -3)
    assert np.array_equal(masks.dense(0), expected)


def test_gna_with_stride_equal_to_window_is_blocked_attention():
    masks = load_pattern("gna").with_params(win_i=2, win_j=3, stride_i=2, stride_j=3).on("4x6")
    expected = brute((4, 6), lambda a, b: a[0] // 2 == b[0] // 2 and a[1] // 3 == b[1] // 3)
    assert np.array_equal(masks.dense(0), expected)


def test_neighbours_1d_matches_the_documented_examples():
    # kernel 3 on 5 positions: the border windows are shifted, not cut
    assert [neighbours_1d(x, 5, 3) for x in range(5)] == [
        [0, 1, 2], [0, 1, 2], [1, 2, 3], [2, 3, 4], [2, 3, 4]
    ]  # fmt: skip
    # dilation 2 on 7 positions: groups 0,2,4,6 and 1,3,5
    assert neighbours_1d(6, 7, 3, dilation=2) == [2, 4, 6]
    assert neighbours_1d(1, 7, 3, dilation=2) == [1, 3, 5]
    # stride 2, kernel 2: the pair (2, 3) uses the window of 3, the right of centre
    assert neighbours_1d(2, 6, 2, stride=2) == neighbours_1d(3, 6, 2) == [2, 3]


# -- sta ---------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(shape=shapes, data=st.data())
def test_sta_is_na_over_tiles(shape, data):
    tiles = [data.draw(st.integers(1, 4)) for _ in shape]
    wins = [data.draw(st.integers(1, 4)) for _ in shape]
    params = params_for(len(shape), tile=tiles, win=wins)
    masks = load_pattern("sta").with_params(params).on(shape)

    def attends(a, b):
        for x, y, n, tile, k in zip(a, b, shape, tiles, wins):
            count = -(-n // tile)  # tiles along the axis, the last one maybe partial
            if y // tile not in neighbours_1d(x // tile, count, k):
                return False
        return True

    assert np.array_equal(masks.dense(0), brute(shape, attends))


@pytest.mark.parametrize(
    ("grid", "tile", "win"),
    [("12", [4], [3]), ("6x8", [2, 2], [3, 1]), ("4x6x6", [2, 3, 2], [1, 1, 3])],
)
def test_sta_is_strided_na_with_kernel_win_times_tile(grid, tile, win):
    """With odd windows and tiles that divide the sides, STA is NATTEN's strided NA with
    kernel_size = win * tile and stride = tile (the GNA paper's reading of STA)."""
    shape = load_pattern("sta").on(grid).grid.shape
    ndim = len(shape)
    sta = load_pattern("sta").with_params(params_for(ndim, tile=tile, win=win)).on(grid)
    kernel = [w * t for w, t in zip(win, tile)]
    gna = load_pattern("gna").with_params(params_for(ndim, win=kernel, stride=tile)).on(grid)
    assert np.array_equal(sta.dense(0), gna.dense(0))


# -- radial ------------------------------------------------------------------------------


def radial_reference(shape, radius, min_radius):
    def attends(a, b):
        dt = abs(a[0] - b[0])
        if dt == 0:
            return True
        band = 1 << (dt.bit_length() - 1)  # 2 ** floor(log2 dt)
        reach = max(min_radius, radius // band)
        return max(abs(a[1] - b[1]), abs(a[2] - b[2])) <= reach

    return brute(shape, attends)


@pytest.mark.parametrize(
    ("grid", "radius", "min_radius"),
    [("9x5x5", 4, 0), ("17x6x4", 8, 1), ("6x7x7", 3, 1), ("5x3x3", 0, 0)],
)
def test_radial_window_halves_as_the_frame_distance_doubles(grid, radius, min_radius):
    masks = load_pattern("radial").with_params(radius=radius, min_radius=min_radius).on(grid)
    shape = masks.grid.shape
    assert np.array_equal(masks.dense(0), radial_reference(shape, radius, min_radius))


def test_radial_is_exact_at_large_frame_distances_while_the_radius_is_under_128():
    masks = load_pattern("radial").with_params(radius=100, min_radius=0).on("300x1x2")
    assert np.array_equal(masks.dense(0), radial_reference((300, 1, 2), 100, 0))


def test_radial_is_dense_on_a_single_frame():
    for grid in ("7", "4x5"):
        assert load_pattern("radial").on(grid).dense(0).all()


# -- block-global ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("grid", "blocks", "globals_"),
    [("10", [4], 2), ("5x6", [2, 4], 3), ("3x4x5", [2, 3, 2], 1), ("4x4", [2, 2], 0)],
)
def test_block_global_is_blocks_plus_the_first_cells(grid, blocks, globals_):
    pattern = load_pattern("block-global")
    shape = pattern.on(grid).grid.shape
    masks = pattern.with_params(params_for(len(shape), block=blocks), globals=globals_).on(grid)
    index = {cell: i for i, cell in enumerate(cells(shape))}

    def attends(a, b):
        same_block = all(x // size == y // size for x, y, size in zip(a, b, blocks))
        return same_block or index[a] < globals_ or index[b] < globals_

    assert np.array_equal(masks.dense(0), brute(shape, attends))
    # the globals are the first cells in row-major order whatever the enumeration
    snake = pattern.with_params(params_for(len(shape), block=blocks), globals=globals_)
    assert np.array_equal(snake.on(grid, order="snake").dense(0), masks.dense(0))


# -- every local pattern -----------------------------------------------------------------


@pytest.mark.parametrize("name", SEPARABLE)
@pytest.mark.parametrize("grid", ["11", "5x7", "3x5x6"])
def test_separable_patterns_factor_per_axis(name, grid):
    pattern = load_pattern(name)
    if name == "sta":
        pattern = pattern.with_params(tile_t=2, tile_i=2, tile_j=3)
    masks = pattern.on(grid)
    factors = masks.axis_factors(0)
    assert factors is not None and len(factors) == masks.grid.ndim
    product = factors[0]
    for factor in factors[1:]:
        product = sp.kron(product, factor)
    assert np.array_equal(product.toarray().astype(bool), masks.dense(0))


@pytest.mark.parametrize("name", LOCAL)
def test_a_video_pattern_on_an_image_is_its_one_frame_version(name):
    image = load_pattern(name).on("6x7").dense(0)
    video = load_pattern(name).on("1x6x7").dense(0)
    assert np.array_equal(image, video)


@pytest.mark.parametrize("name", LOCAL)
@pytest.mark.parametrize("grid", ["1", "16", "7x9", "16x16", "4x12x12"])
def test_defaults_give_every_query_a_key(name, grid):
    masks = load_pattern(name).on(grid).validate()
    assert masks.dense(0).diagonal().all()  # every query attends itself


@pytest.mark.parametrize("name", LOCAL)
def test_each_has_its_reference_and_parameters(name):
    pattern = library()[name]
    for key in ("reference", "title", "authors", "year", "arxiv"):
        assert pattern.meta.get(key), (name, key)
    assert pattern.params and pattern.notes
    assert not set(pattern.params) & {"t", "h", "w", "kt", "ki", "kj", "qt", "qi", "qj"}


@pytest.mark.parametrize("name", LOCAL)
def test_each_comes_back_from_its_toml(name):
    pattern = library()[name]
    again = Pattern.from_toml(pattern.to_toml())
    assert again == pattern and again.params == pattern.params and again.meta == pattern.meta
