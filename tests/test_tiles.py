"""The tile planner: exact counts against a slow reference, valid orders, the paper's goal."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from ylg.errors import PatternError
from ylg.patterns import load_pattern
from ylg.patterns.tiles import (
    MAX_GROWTH,
    PAD,
    enumeration_orders,
    order_bases,
    plan_step,
    plan_tiles,
    tile_plan,
)


def reference_tiles(dense: np.ndarray, qo: np.ndarray, ko: np.ndarray, t: int):
    """Permute the dense mask (padding rows and columns attend nothing), then look at
    every tile: (non-empty tiles, full tiles)."""
    lq, lk = len(qo), len(ko)
    big = np.zeros((lq, lk), dtype=bool)
    for i, a in enumerate(qo):
        for j, b in enumerate(ko):
            if a >= 0 and b >= 0:
                big[i, j] = dense[a, b]
    nonempty = full = 0
    for r in range(0, lq, t):
        for c in range(0, lk, t):
            block = big[r : r + t, c : c + t]
            nonempty += bool(block.any())
            no_pad = (qo[r : r + t] >= 0).all() and (ko[c : c + t] >= 0).all()
            full += bool(block.all() and no_pad)
    return nonempty, full


@st.composite
def masks_and_orders(draw):
    nq, nk = draw(st.integers(1, 14)), draw(st.integers(1, 14))
    bits = draw(st.lists(st.booleans(), min_size=nq * nk, max_size=nq * nk))
    dense = np.array(bits, dtype=bool).reshape(nq, nk)
    dense[np.arange(nq), draw(st.lists(st.integers(0, nk - 1), min_size=nq, max_size=nq))] = True
    t = draw(st.integers(1, 6))

    def order(n):
        perm = list(draw(st.permutations(range(n))))
        for _ in range(draw(st.integers(0, 4))):
            perm.insert(draw(st.integers(0, len(perm))), PAD)
        return np.array(perm, dtype=np.int64)

    return dense, order(nq), order(nk), t


@settings(max_examples=150, deadline=None)
@given(masks_and_orders())
def test_tile_counts_equal_the_reference(case):
    dense, qo, ko, t = case
    plan = tile_plan(sp.csr_array(dense), t, qo, ko)
    assert (plan.nonempty, plan.full) == reference_tiles(dense, qo, ko, t)
    assert plan.pairs == dense.sum()
    assert plan.occupancy.sum() == dense.sum()


@settings(max_examples=80, deadline=None)
@given(masks_and_orders())
def test_planned_orders_are_valid_and_never_worse(case):
    dense, qo, ko, t = case
    csr = sp.csr_array(dense)
    plan = plan_tiles(csr, t, bases={"given": (qo, ko)})
    nq, nk = dense.shape
    for order, start, n in ((plan.query_order, qo, nq), (plan.key_order, ko, nk)):
        assert sorted(order[order >= 0].tolist()) == list(range(n))
        # the planner pads by at most MAX_GROWTH; a given start may be kept as it is
        assert len(order) <= max(n, MAX_GROWTH * n, len(start))
    assert plan.nonempty == reference_tiles(dense, plan.query_order, plan.key_order, t)[0]
    assert plan.nonempty <= tile_plan(csr, t, qo, ko).nonempty
    assert plan.nonempty <= tile_plan(csr, t, np.arange(nq), np.arange(nk)).nonempty
    # the slots invert the orders
    assert (plan.query_order[plan.query_slot()] == np.arange(nq)).all()
    assert (plan.key_order[plan.key_slot()] == np.arange(nk)).all()


@pytest.mark.parametrize("name", ["ltr", "rtl"])
def test_paper_goal_at_128x128_every_step_within_3x_of_its_pairs(name):
    masks = load_pattern(name).on("128x128")
    for step in range(masks.num_steps):
        plan = plan_step(masks, step, 128)
        assert plan.tile_share <= 3 * plan.pair_share, (step, plan.summary())
        before = tile_plan(masks.csr(step), 128, *enumeration_orders(masks))
        assert plan.nonempty <= before.nonempty


def test_ltr_step2_in_esa_order_touches_every_tile_until_planned():
    masks = load_pattern("ltr").on("64x64")
    before = tile_plan(masks.csr(1), 128, *enumeration_orders(masks))
    assert before.tile_share == 1.0  # a summary key in every block of keys
    after = plan_step(masks, 1, 128)
    assert after.tile_share < 0.1


def test_axial_columns_are_found_without_being_told():
    masks = load_pattern("axial").on("32x32", order="rowmajor")
    plan = plan_step(masks, 1, 32)  # k % w == q % w: every tile in row-major order
    assert plan.nonempty == 32  # one tile per column: the block diagonal


def test_order_bases_cover_every_enumeration_on_nonsquare_layouts():
    masks = load_pattern("ltr").on("4x4", query_grid="8x8")
    bases = order_bases(masks)
    assert list(bases)[0] == "esa"
    for qo, ko in bases.values():
        assert sorted(qo.tolist()) == list(range(64)) and sorted(ko.tolist()) == list(range(16))


def test_bad_orders_and_tiles_are_errors():
    eye = sp.csr_array(np.eye(3, dtype=bool))
    with pytest.raises(PatternError, match="each of the 3 queries once"):
        tile_plan(eye, 2, np.array([0, 0, 1]), np.arange(3))
    with pytest.raises(PatternError, match="tile size"):
        tile_plan(eye, 0, np.arange(3), np.arange(3))
    with pytest.raises(PatternError, match="tile size"):
        plan_tiles(eye, True)
