"""Properties of the pattern language, each fast path against a slow obvious one.

The slow reference evaluates a step with Python itself, pair by pair: the language is a
strict subset of Python's integer/boolean expressions with the same semantics (floor
division and modulo included), so Python's evaluation is the obviously correct answer.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import any_tokens, bool_terms, grids, orders

from ylg.errors import PatternError
from ylg.patterns import (
    STEP_VARIABLES,
    Grid,
    Pattern,
    enumeration,
    load_pattern,
    parse_expr,
    ranks,
)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def python_mask(source: str, h: int, w: int, order: str, s: int) -> np.ndarray:
    """M[pi[a], pi[b]] = step(a, b), evaluated by Python one pair at a time."""
    code = compile(source, "<step>", "eval")
    pi = enumeration(order, h, w)
    n = h * w
    m1d = np.zeros((n, n), dtype=bool)
    for a in range(n):
        qi, qj = divmod(int(pi[a]), w)
        for b in range(n):
            ki, kj = divmod(int(pi[b]), w)
            env = dict(
                q=a,
                k=b,
                n=n,
                nq=n,
                s=s,
                qi=qi,
                qj=qj,
                ki=ki,
                kj=kj,
                h=h,
                w=w,
                hq=h,
                wq=w,
                qt=0,
                kt=0,
                t=1,
                tq=1,
                abs=abs,
                min=min,
                max=max,
            )
            m1d[a, b] = bool(eval(code, {"__builtins__": {}}, env))  # the reference
    out = np.zeros_like(m1d)
    out[np.ix_(pi, pi)] = m1d
    return out


@given(st.integers(1, 24), st.integers(1, 24), orders)
@SETTINGS
def test_every_enumeration_is_a_permutation(h: int, w: int, order: str) -> None:
    pi = enumeration(order, h, w)
    assert sorted(pi.tolist()) == list(range(h * w))
    assert ranks(order, h, w)[pi].tolist() == list(range(h * w))


@pytest.mark.parametrize("side", [1, 2, 4, 8, 16, 32])
def test_hilbert_and_snake_take_unit_steps(side: int) -> None:
    for order in ("hilbert", "snake"):
        pi = enumeration(order, side, side)
        i, j = np.divmod(pi, side)
        assert (np.abs(np.diff(i)) + np.abs(np.diff(j)) == 1).all()


@given(st.integers(1, 20), st.integers(1, 20))
@SETTINGS
def test_esa_orders_by_manhattan_distance_then_row(h: int, w: int) -> None:
    i, j = np.divmod(enumeration("esa", h, w), w)
    keys = list(zip(i + j, i))
    assert keys == sorted(keys)


@given(bool_terms(), grids, orders)
@SETTINGS
def test_masks_equal_the_python_reference(source: str, grid: tuple[int, int], order: str) -> None:
    h, w = grid
    pattern = Pattern("random", "", (source,), order=order)
    masks = pattern.on(grid)
    fast = masks.rows(0, 0, masks.nq)
    assert np.array_equal(fast, python_mask(source, h, w, order, masks.stride))


@given(bool_terms(), grids, orders)
@SETTINGS
def test_masks_are_permuted_rowmajor_masks(source: str, grid: tuple[int, int], order: str) -> None:
    """M_order = P M1d P^T, where M1d is the step on positions (no coordinates)."""
    step = parse_expr(source, STEP_VARIABLES)
    if step.variables & {"qi", "qj", "ki", "kj"}:
        return  # coordinates follow the cell, not the position: not a pure 1-D step
    h, w = grid
    m1d = Pattern("p", "", (source,)).on(grid).rows(0, 0, h * w)
    pi = enumeration(order, h, w)
    perm = np.zeros((h * w, h * w), dtype=int)
    perm[pi, np.arange(h * w)] = 1  # P e_a = e_{pi[a]}
    expected = (perm @ m1d.astype(int) @ perm.T).astype(bool)
    assert np.array_equal(
        Pattern("p", "", (source,), order=order).on(grid).rows(0, 0, h * w), expected
    )


@given(st.integers(1, 12), st.integers(1, 12), orders)
@SETTINGS
def test_rtl_step1_is_ltr_step1_transposed(h: int, w: int, order: str) -> None:
    ltr = load_pattern("ltr").on((h, w), order=order).dense(0)
    rtl = load_pattern("rtl").on((h, w), order=order).dense(0)
    assert np.array_equal(rtl, ltr.T)


@given(
    bool_terms(),
    grids,
    st.tuples(st.integers(1, 3), st.integers(1, 3)),
    orders,
    st.sampled_from(["repeat", "tile", "spatial", "direct"]),
)
@SETTINGS
def test_numpy_and_torch_evaluations_agree(
    source: str, grid: tuple[int, int], scale: tuple[int, int], order: str, rule: str
) -> None:
    query = (grid[0] * scale[0], grid[1] * scale[1])
    masks = Pattern("p", "", (source,)).on(grid, query_grid=query, order=order, nonsquare=rule)
    fn = masks.mask_mod(0)
    q = torch.arange(masks.nq)[:, None]
    k = torch.arange(masks.nk)[None, :]
    assert np.array_equal(fn(0, 0, q, k).numpy(), masks.rows(0, 0, masks.nq))


@given(
    st.sampled_from(["ltr", "rtl", "fixed", "strided", "axial"]),
    st.integers(1, 6),
    st.integers(1, 6),
    st.integers(1, 3),
    orders,
)
@SETTINGS
def test_repeat_blocks_equal_the_square_mask(
    name: str, h: int, w: int, mult: int, order: str
) -> None:
    """Queries on a grid `mult` times taller: every block of n query rows is the square mask."""
    square = load_pattern(name).on((h, w), order=order).dense()
    tall = load_pattern(name).on((h, w), query_grid=(h * mult, w), order=order, nonsquare="repeat")
    dense = tall.dense()
    n = h * w
    for block in range(mult):
        assert np.array_equal(dense[:, block * n : (block + 1) * n], square)


@given(st.sampled_from(["ltr", "rtl", "axial"]), grids, st.integers(1, 3), orders)
@SETTINGS
def test_spatial_and_tile_rows_are_square_rows(
    name: str, grid: tuple[int, int], f: int, order: str
) -> None:
    h, w = grid
    square = load_pattern(name).on(grid, order=order).dense()
    qg = Grid(h * f, w * f)
    for rule, under in (
        ("spatial", lambda i, j: (i // f, j // f)),
        ("tile", lambda i, j: (i % h, j % w)),
    ):
        dense = load_pattern(name).on(grid, query_grid=qg, order=order, nonsquare=rule).dense()
        for x in range(qg.size):
            i, j = qg.cell(x)
            assert np.array_equal(dense[:, x], square[:, Grid(h, w).position(*under(i, j))])


@given(any_tokens())
@settings(max_examples=400, deadline=None)
def test_random_text_raises_only_pattern_errors(text: str) -> None:
    try:
        expr = parse_expr(text, STEP_VARIABLES)
    except PatternError:
        return
    assert expr.type == "bool"


@given(any_tokens(), grids)
@settings(max_examples=300, deadline=None)
def test_random_patterns_build_or_raise_pattern_errors(text: str, grid: tuple[int, int]) -> None:
    with contextlib.suppress(PatternError):
        Pattern("fuzz", "", (text,)).on(grid).dense()


@given(bool_terms(max_leaves=8), grids)
@settings(max_examples=150, deadline=None)
def test_random_well_typed_patterns_build_or_raise_pattern_errors(
    source: str, grid: tuple[int, int]
) -> None:
    try:
        masks = Pattern("fuzz", "", (source,)).on(grid)
        masks.dense()
        masks.csr(0)
    except PatternError:
        pass


@given(bool_terms(), st.sampled_from(["rowmajor", "esa"]), st.integers(1, 9))
@SETTINGS
def test_toml_round_trip(source: str, order: str, stride: int) -> None:
    p = Pattern(
        "x",
        'a "quoted" description',
        (source, "k == q"),
        order=order,
        stride=stride,
        notes="n",
        meta={"reference": "r", "added": [1, 2]},
    )
    assert Pattern.from_toml(p.to_toml()) == p


@given(bool_terms(), grids)
@SETTINGS
def test_csr_equals_dense(source: str, grid: tuple[int, int]) -> None:
    masks = Pattern("p", "", (source, "k == q")).on(grid)
    try:
        dense = masks.dense()
    except PatternError:
        return
    for step in range(2):
        assert np.array_equal(masks.csr(step).toarray(), dense[step])
        assert masks.keys_per_query(step).tolist() == dense[step].sum(axis=1).tolist()
