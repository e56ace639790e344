"""Grids of 1 to 3 axes: orders, masks, parameters, per-axis rules and separable steps.

Every fast path is checked against a slow one: masks against a pair-by-pair evaluation
of the step with Python integers, Kronecker factors against the dense mask.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import bool_terms

from ylg.errors import PatternError
from ylg.patterns import ORDERS, Grid, Layout, Pattern, enumeration, load_pattern, ranks
from ylg.patterns.grid import AXIS_NAMES, SIDE_NAMES


def raw(masks) -> np.ndarray:  # noqa: ANN001
    """Every step's rows, empty ones included."""
    return np.stack([masks.rows(s, 0, masks.nq) for s in range(masks.num_steps)])


SHAPES = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)


def slow_masks(pattern: Pattern, layout: Layout) -> np.ndarray:
    """The masks pair by pair, from the definitions: ranks, coordinates, non-square rule."""
    masks = pattern.on(layout)
    lay = masks.layout
    kg, qg = lay.grid, lay.query_grid
    key_rank = ranks(lay.order, kg.shape)
    scalars = {"n": kg.size, "nq": qg.size, "s": lay.stride, **pattern.params}
    for axis in AXIS_NAMES:
        scalars[SIDE_NAMES[axis]] = kg.side(axis)
        scalars[SIDE_NAMES[axis] + "q"] = qg.side(axis)

    def full(grid: Grid, position: int) -> dict[str, int]:
        cell = dict(zip(grid.axes, grid.cell(position)))
        return {axis: cell.get(axis, 0) for axis in AXIS_NAMES}

    def query_view(x: int) -> tuple[int, dict[str, int]]:
        if lay.nonsquare == "direct":
            return int(ranks(lay.order, qg.shape)[x]), full(qg, x)
        if lay.nonsquare == "repeat":
            y = x % kg.size
        else:
            rules = lay.nonsquare.split(",")
            rules = rules * kg.ndim if len(rules) == 1 else rules
            cell = []
            for c, rule, side, qside in zip(qg.cell(x), rules, kg.shape, qg.shape):
                cell.append(c % side if rule == "tile" else c * side // qside)
            y = kg.position(*cell)
        return int(key_rank[y]), full(kg, y)

    out = np.zeros(masks.shape, dtype=bool)
    for x in range(qg.size):
        q, qc = query_view(x)
        for y in range(kg.size):
            kc = full(kg, y)
            env = {**scalars, "q": q, "k": int(key_rank[y])}
            env.update({"q" + a: qc[a] for a in AXIS_NAMES})
            env.update({"k" + a: kc[a] for a in AXIS_NAMES})
            for step, expr in enumerate(masks.exprs):
                out[step, x, y] = bool(expr.evaluate(env))
    return out


# -- grids and orders ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shape"),
    [("64", (64,)), ("3x4", (3, 4)), ("16x32x32", (16, 32, 32)), (" 2 X 3 ", (2, 3))],
)
def test_grids_are_written_with_one_to_three_sides(text: str, shape: tuple[int, ...]) -> None:
    grid = Grid.parse(text)
    assert grid.shape == shape and str(Grid.parse(str(grid))) == str(grid)
    assert grid.size == int(np.prod(shape))


def test_cells_and_positions_round_trip_on_a_video_grid() -> None:
    grid = Grid(2, 3, 4)
    for position in range(grid.size):
        assert grid.position(*grid.cell(position)) == position
    assert grid.parse_cells("1,2,3; 0") == [23, 0]
    with pytest.raises(PatternError, match="outside"):
        grid.position(2, 0, 0)
    with pytest.raises(PatternError, match="needs a 2-D grid"):
        _ = grid.height


@settings(max_examples=60, deadline=None)
@given(shape=SHAPES, order=st.sampled_from(sorted(ORDERS)))
def test_every_order_is_a_permutation_on_any_grid(shape: tuple[int, ...], order: str) -> None:
    pi = enumeration(order, shape)
    assert sorted(pi.tolist()) == list(range(int(np.prod(shape))))
    assert ranks(order, shape)[pi].tolist() == list(range(pi.size))


@settings(max_examples=40, deadline=None)
@given(shape=st.tuples(st.integers(1, 5), st.integers(1, 5)), order=st.sampled_from(sorted(ORDERS)))
def test_sides_of_one_leave_the_order_unchanged(shape: tuple[int, int], order: str) -> None:
    assert enumeration(order, (1, *shape)).tolist() == enumeration(order, shape).tolist()
    assert (
        enumeration(order, (shape[0], 1, shape[1])).tolist() == enumeration(order, shape).tolist()
    )


@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(1, 5), min_size=3, max_size=3).map(tuple))
def test_esa_sorts_by_manhattan_distance_then_coordinates(shape: tuple[int, ...]) -> None:
    cells = [np.unravel_index(p, shape) for p in enumeration("esa", shape)]
    keys = [(sum(map(int, c)), *map(int, c)) for c in cells]
    assert keys == sorted(keys)


@pytest.mark.parametrize("shape", [(3, 4, 5), (2, 2, 2), (4, 1, 3), (5,)])
def test_snake_moves_to_a_neighbour_every_step(shape: tuple[int, ...]) -> None:
    cells = np.array(np.unravel_index(enumeration("snake", shape), shape))
    assert np.abs(np.diff(cells, axis=1)).sum(axis=0).max() == 1


@pytest.mark.parametrize("side", [2, 4, 8])
def test_hilbert_3d_moves_to_a_neighbour_every_step_on_power_of_two_cubes(side: int) -> None:
    shape = (side, side, side)
    cells = np.array(np.unravel_index(enumeration("hilbert", shape), shape))
    assert np.abs(np.diff(cells, axis=1)).sum(axis=0).max() == 1


def test_zorder_3d_visits_each_octant_in_turn() -> None:
    shape = (4, 4, 4)
    cells = np.array(np.unravel_index(enumeration("zorder", shape), shape))
    octants = (cells // 2).T
    # The first 8 cells fill the first 2x2x2 octant, the next 8 the second, and so on.
    for start in range(0, 64, 8):
        assert len({tuple(o) for o in octants[start : start + 8]}) == 1


# -- masks ---------------------------------------------------------------------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    step=bool_terms(),
    shape=SHAPES,
    order=st.sampled_from(sorted(ORDERS)),
)
def test_masks_on_any_grid_match_the_pair_by_pair_definition(
    step: str, shape: tuple[int, ...], order: str
) -> None:
    pattern = Pattern("random", "", (step,))
    layout = Layout(shape, order=order)
    try:
        fast = raw(pattern.on(layout))
    except PatternError:  # a zero divisor: the slow path refuses too
        with pytest.raises(PatternError):
            slow_masks(pattern, layout)
        return
    assert np.array_equal(fast, slow_masks(pattern, layout))


@settings(max_examples=30, deadline=None)
@given(
    shape=st.lists(st.integers(1, 3), min_size=1, max_size=3).map(tuple),
    factor=st.lists(st.integers(1, 2), min_size=3, max_size=3),
    rule=st.sampled_from(["repeat", "tile", "spatial", "direct", "per-axis"]),
    data=st.data(),
)
def test_non_square_rules_per_axis_match_the_definition(
    shape: tuple[int, ...], factor: list[int], rule: str, data: st.DataObject
) -> None:
    query = tuple(side * f for side, f in zip(shape, factor))
    if rule == "per-axis":
        rule = ",".join(data.draw(st.sampled_from(["tile", "spatial"])) for _ in shape)
    pattern = Pattern("box", "", ("abs(qt - kt) + abs(qi - ki) + abs(qj - kj) <= 1 or k == q",))
    layout = Layout(shape, query_grid=query, nonsquare=rule, order="esa")
    assert np.array_equal(raw(pattern.on(layout)), slow_masks(pattern, layout))


def test_an_image_pattern_runs_on_every_frame_and_a_video_pattern_on_images() -> None:
    video = load_pattern("ltr").on("1x4x4", order="esa")
    image = load_pattern("ltr").on("4x4", order="esa")
    assert np.array_equal(video.dense(), image.dense())
    local = Pattern("local", "", ("abs(qt - kt) <= 1 and abs(qi - ki) <= 1 and abs(qj - kj) <= 1",))
    assert local.on("1x3x3").counts() == local.on("3x3").counts() == [49]


# -- parameters ------------------------------------------------------------------------


def test_parameters_are_read_written_and_changed() -> None:
    text = 'name = "band"\nsteps = ["abs(qj - kj) <= r"]\n[params]\nr = 1\n'
    pattern = Pattern.from_toml(text)
    assert pattern.params == {"r": 1}
    assert Pattern.from_toml(pattern.to_toml()) == pattern
    assert pattern.with_params(r=2).on("7").counts() == [7 + 2 * 6 + 2 * 5]
    assert "r=2" in pattern.with_params({"r": 2}).on("7").describe()
    with pytest.raises(PatternError, match="no parameter 'x'"):
        pattern.with_params(x=3)
    with pytest.raises(PatternError, match="unknown variable|not allowed|unknown name"):
        Pattern("bad", "", ("abs(qj - kj) <= r",))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"k": 1}, "step variable"),
        ({"R": 1}, "lower-case"),
        ({"r": 1.5}, "integer"),
        ({"r": True}, "integer"),
    ],
)
def test_bad_parameters_are_refused(params: dict, message: str) -> None:
    with pytest.raises(PatternError, match=message):
        Pattern("bad", "", ("k == q",), params=params)


# -- separable steps ---------------------------------------------------------------------

AXIS_CLAUSES = {
    axis: [
        f"abs(q{axis} - k{axis}) <= 1",
        f"k{axis} <= q{axis}",
        f"k{axis} % 2 == q{axis} % 2",
        f"max(0, min(q{axis} - 1, {SIDE_NAMES[axis]} - 3)) <= k{axis}",
        f"q{axis} // 2 == k{axis} // 2",
    ]
    for axis in AXIS_NAMES
}


@settings(max_examples=60, deadline=None)
@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple),
    picks=st.lists(
        st.tuples(st.sampled_from(AXIS_NAMES), st.integers(0, 4)), min_size=1, max_size=4
    ),
    nonsquare=st.sampled_from(["square", "tile", "spatial", "direct"]),
)
def test_separable_steps_factor_exactly(
    shape: tuple[int, ...], picks: list[tuple[str, int]], nonsquare: str
) -> None:
    step = " and ".join(AXIS_CLAUSES[axis][i] for axis, i in picks) + " and s > 0"
    pattern = Pattern("sep", "", (step,))
    query = shape if nonsquare == "square" else tuple(2 * side for side in shape)
    layout = Layout(shape, query_grid=query, nonsquare=None if nonsquare == "square" else nonsquare)
    masks = pattern.on(layout)
    try:
        dense = masks.dense(0)
    except PatternError:
        with pytest.raises(PatternError, match="no key"):
            masks.axis_factors(0)
        return
    factors = masks.axis_factors(0)
    assert factors is not None
    product = factors[0]
    for f in factors[1:]:
        product = sp.kron(product, f)
    assert np.array_equal(sp.csr_array(product).toarray(), dense)


@pytest.mark.parametrize(
    "step",
    ["k <= q", "abs(qi - kj) <= 1", "abs(qi - ki) <= 1 or abs(qj - kj) <= 1", "qi + qj == ki + kj"],
)
def test_steps_that_mix_axes_or_use_the_order_do_not_factor(step: str) -> None:
    assert Pattern("x", "", (step,)).on("3x3").axis_factors(0) is None


def test_repeat_on_a_non_square_layout_does_not_factor() -> None:
    masks = Pattern("x", "", ("abs(qi - ki) <= 1",)).on("3x3", query_grid="6x6")
    assert masks.nonsquare == "repeat" and masks.axis_factors(0) is None


def test_a_neighborhood_on_a_video_grid_factors_into_three_windows() -> None:
    step = " and ".join(f"abs(q{a} - k{a}) <= 1" for a in AXIS_NAMES)
    masks = Pattern("na", "", (step,)).on("4x5x6")
    factors = masks.axis_factors(0)
    assert [f.shape for f in factors] == [(4, 4), (5, 5), (6, 6)]
    counts = np.ones(1, dtype=np.int64)
    for f in factors:
        counts = np.multiply.outer(counts, f.sum(axis=1)).reshape(-1)
    assert np.array_equal(counts, masks.keys_per_query(0))
    assert masks.counts() == [int(np.prod([f.sum() for f in factors]))]
    assert list(itertools.chain.from_iterable(f.sum(axis=1).tolist() for f in factors[:1])) == [
        2,
        3,
        3,
        2,
    ]
