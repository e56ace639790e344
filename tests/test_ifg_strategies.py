"""Random layouts for the Information Flow Graph tests (imported by the other
``test_ifg*`` modules), and a check that they are what the tests assume."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ylg.ifg.templates import clause_family
from ylg.patterns import ORDERS, Masks, Pattern

CLAUSES = clause_family()


@st.composite
def random_masks(
    draw: st.DrawFn, max_side: int = 4, max_steps: int = 3, nonsquare: bool = True
) -> Masks:
    """A random pattern of 1..max_steps steps on a small layout.

    Each step is ``k == (q * a + b) % n`` (so no query is left without a key) or-ed
    with up to two clauses of the repair family: sparse, structured, varied.
    """
    steps = []
    for _ in range(draw(st.integers(1, max_steps))):
        a, b = draw(st.integers(0, 5)), draw(st.integers(0, 5))
        extra = draw(st.lists(st.sampled_from(CLAUSES), max_size=2))
        steps.append(" or ".join([f"k == (q * {a} + {b}) % n", *(f"({c})" for c in extra)]))
    h, w = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    pattern = Pattern("random", "a random test pattern", tuple(steps))
    order = draw(st.sampled_from(sorted(ORDERS)))
    if nonsquare and draw(st.booleans()):
        query = (h * draw(st.integers(1, 2)), w * draw(st.integers(1, 2)))
        rule = draw(st.sampled_from(["repeat", "tile", "spatial"]))
        return pattern.on((h, w), query_grid=query, order=order, nonsquare=rule)
    return pattern.on((h, w), order=order)


AXES = ("t", "i", "j")


@st.composite
def axis_clause(draw: st.DrawFn, axis: str) -> str:
    """A clause on one axis that leaves no query without a key."""
    q, k = f"q{axis}", f"k{axis}"
    r, c = draw(st.integers(0, 3)), draw(st.integers(1, 4))
    d, b = draw(st.integers(1, 3)), draw(st.integers(0, 3))
    return draw(
        st.sampled_from(
            [
                f"abs({q} - {k}) <= {r}",
                f"{k} <= {q}",
                f"{k} >= {q}",
                f"{q} // {c} == {k} // {c}",
                f"{k} == max(0, {q} - {d})",
                f"abs({q} - {k}) <= {r} * {d} and ({q} - {k}) % {d} == 0",
                f"({k} == {q} or ({q} + {b}) % {c} == {k} % {c})",
            ]
        )
    )


@st.composite
def separable_masks(draw: st.DrawFn, shape: tuple[int, ...]) -> Masks:
    """A random one- or two-step pattern whose every step is an ``and`` of per-axis
    clauses (so ``Masks.axis_factors`` splits it), on a grid of ``shape``."""
    axes = AXES[3 - len(shape) :]
    steps = []
    for _ in range(draw(st.integers(1, 2))):
        used = draw(st.lists(st.sampled_from(axes), min_size=1, max_size=len(axes), unique=True))
        steps.append(" and ".join(f"({draw(axis_clause(a))})" for a in used))
    return Pattern("sep", "random separable", tuple(steps)).on(shape)


@settings(max_examples=30, deadline=None)
@given(random_masks())
def test_random_masks_are_valid_layouts(masks: Masks) -> None:
    masks.validate()
    dense = masks.dense()
    assert dense.shape == (masks.num_steps, masks.nq, masks.nk)
    assert dense.any(axis=2).all()
    assert masks.nq >= masks.nk
    assert 1 <= masks.num_steps <= 3
    assert np.isin(masks.order, list(ORDERS))
