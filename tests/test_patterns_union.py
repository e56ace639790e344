"""Writing an expression back as text with some variables as integers, and the union of
steps built on it: each checked against the obviously correct answer (the original
expression evaluated with those values; the OR of the steps' own masks)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import bool_terms, grids, int_terms, orders

from ylg.errors import PatternError
from ylg.patterns import STEP_VARIABLES, Layout, Pattern, load_pattern, parse_expr
from ylg.patterns.expr import Node
from ylg.patterns.union import step_union

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def shape(node: Node) -> tuple:
    """The tree without source columns."""
    return (node.op, tuple(shape(a) if isinstance(a, Node) else a for a in node.args))


#: Chained comparisons (``0 <= x < 7``), which parse as an ``and`` of comparisons.
chains = st.lists(int_terms(max_leaves=3), min_size=3, max_size=4).flatmap(
    lambda terms: st.lists(
        st.sampled_from(["<", "<=", ">", ">=", "==", "!="]),
        min_size=len(terms) - 1,
        max_size=len(terms) - 1,
    ).map(lambda ops: " ".join(t + f" {o}" for t, o in zip(terms, ops)) + f" {terms[-1]}")
)
written = st.one_of(
    bool_terms(max_leaves=6),
    chains,
    st.tuples(bool_terms(max_leaves=2), chains, st.sampled_from(["and", "or"])).map(
        lambda t: f"not {t[0]} {t[2]} {t[1]}"
    ),
)


@SETTINGS
@given(written)
def test_written_back_an_expression_parses_to_the_same_tree(text: str) -> None:
    expr = parse_expr(text, STEP_VARIABLES)
    again = parse_expr(expr.substitute({}), STEP_VARIABLES)
    assert shape(again.root) == shape(expr.root)


@SETTINGS
@given(
    st.one_of(written, int_terms().map(lambda t: f"{t} >= 0")),
    st.integers(1, 9),
    st.integers(-5, 5),
)
def test_substituted_variables_evaluate_as_their_values(text: str, s: int, w: int) -> None:
    """``s`` stays a positive divisor in the strategy; ``w`` may be negative or zero,
    which only a literal written with the right parentheses keeps right (``-(-3)``)."""
    text = text.replace("w", "ww")  # free "w" for a value that is not a grid width
    variables = {**STEP_VARIABLES, "ww": "test"}
    expr = parse_expr(text, variables)
    rng = np.random.default_rng(0)
    env = {name: rng.integers(-6, 7, size=(5, 1)) for name in STEP_VARIABLES}
    for name in ("n", "h"):  # divisors in the strategy: positive
        env[name] = rng.integers(1, 7, size=(1, 4))
    env.update(s=s, ww=w)
    try:
        want = expr.evaluate(env)
    except PatternError:
        return  # a division by zero where w reaches a divisor: nothing to compare
    written = expr.substitute({"s": s, "ww": w})
    assert "ww" not in written
    got = parse_expr(written, variables).evaluate({k: v for k, v in env.items() if k != "ww"})
    got, want = np.broadcast_arrays(got, want)  # a short-circuit may leave a side out
    assert np.array_equal(got, want)


def test_substitute_refuses_a_value_that_is_not_an_integer() -> None:
    with pytest.raises(PatternError, match="s must be an integer to substitute, not 1.5"):
        parse_expr("k == s", STEP_VARIABLES).substitute({"s": 1.5})  # type: ignore[dict-item]


#: Patterns of one order (rowmajor) with parameters of the same names at other values,
#: and patterns of the ESA order: the union is checked within each family.
ROWMAJOR = {
    "na": lambda r: load_pattern("na").with_params(win_i=r, win_j=r + 1),
    "dilated-na": lambda r: load_pattern("dilated-na").with_params(
        win_i=2, win_j=r, dil_i=r, dil_j=2
    ),
    "axial": lambda r: load_pattern("axial"),
    "window": lambda r: load_pattern("window"),
    "blocks": lambda r: Pattern("blocks", "", ("q // s == k // s",), stride=r),
}
ESA = {
    "ltr": lambda r: load_pattern("ltr"),
    "rtl": lambda r: load_pattern("rtl"),
    "strided": lambda r: load_pattern("strided").with_stride(r),
    "fixed-fi": lambda r: load_pattern("fixed-fi"),
}


LIBRARY = {**ROWMAJOR, **ESA}


@SETTINGS
@given(
    st.lists(
        st.tuples(
            st.sampled_from(sorted(LIBRARY)),
            st.integers(1, 4),
            st.integers(0, 1),
            st.sampled_from([None, None, "rowmajor", "esa", "snake"]),
            st.sampled_from([None, None, 2, 3]),
        ),
        min_size=1,
        max_size=4,
    ),
    grids,
    st.sampled_from([None, "2x3", "6x6"]),
)
def test_the_union_is_the_or_of_the_steps(parts: list, grid: tuple, query_grid: str | None) -> None:
    """Steps of any library patterns, each laid with its own order and stride or the
    pattern's: the union is the OR of their masks on the bare layout (its own order and
    stride) and on the parts' layout where they share one; refused only where the
    parts' orders differ."""
    on = "x".join(map(str, grid))
    laid = []
    for name, r, step, order, stride in parts:
        pattern = LIBRARY[name](r)
        try:
            masks = pattern.on(Layout(on, query_grid, order, "repeat", stride))
            laid.append((masks, step % masks.num_steps))
            masks.dense()
        except PatternError:
            return  # a step with an empty row here: no mask to join
    want = np.zeros((laid[0][0].nq, laid[0][0].nk), dtype=bool)
    for masks, step in laid:
        want |= masks.dense(step)
    try:
        union = step_union(laid)
    except PatternError as exc:
        assert "number the cells in different orders" in str(exc)
        assert len({m.order for m, _ in laid}) > 1
        return
    layouts = [Layout(on, query_grid, None, "repeat")]
    if len({m.layout for m, _ in laid}) == 1:  # the parts' one layout, complete
        layouts.append(laid[0][0].layout)
    for layout in layouts:
        got = union.on(layout)
        assert got.num_steps == 1 and np.array_equal(got.dense(0), want)
        assert np.array_equal(got.csr(0).toarray(), want)


def test_steps_laid_with_other_strides_keep_each_its_own() -> None:
    """One pattern on two strides: each step keeps its ``s`` (it was laid with s=2)."""
    ltr = load_pattern("ltr")
    a, b = ltr.on(Layout("8x8", stride=2)), ltr.on(Layout("8x8", stride=4))
    union = step_union([(a, 0), (b, 1)])
    assert np.array_equal(union.on("8x8").dense(0), a.dense(0) | b.dense(1))


def test_orders_that_number_the_cells_alike_or_steps_that_read_no_numbers_join() -> None:
    up, down = Pattern("up", "", ("k >= q",), order="esa"), Pattern("down", "", ("k <= q",))
    line = step_union([(up.on("8"), 0), (down.on("8"), 0)])  # on a line every order is 0..n-1
    assert line.on("8").dense(0).all()
    na, ltr = load_pattern("na").with_params(win_i=3, win_j=3), load_pattern("ltr")
    mixed = step_union([(na.on("6x6"), 0), (ltr.on("6x6"), 1)])
    assert mixed.order == "esa"
    assert np.array_equal(mixed.on("6x6").dense(0), na.on("6x6").dense(0) | ltr.on("6x6").dense(1))


def test_a_step_with_a_comment_joins() -> None:
    commented = Pattern("c", "", ("k <= q  # the past", "k % s == s - 1 or k == q"))
    masks = commented.on("4x4")
    union = step_union([(masks, 0), (masks, 1)])
    assert "#" not in union.steps[0]
    assert np.array_equal(union.on("4x4").dense(0), masks.dense(0) | masks.dense(1))


def test_a_long_union_of_parametrised_heads_is_written_out() -> None:
    """Sixteen dilations of GNA: far longer than any hand-written step."""
    gna = load_pattern("gna").with_params(win_t=1, stride_t=1, stride_i=1, stride_j=1)
    parts = [
        (gna.with_params(win_i=3, win_j=3, dil_i=d, dil_j=d).on("16x16"), 0) for d in range(1, 17)
    ]
    union = step_union(parts)
    assert len(union.steps[0]) > 10_000
    want = np.zeros((256, 256), dtype=bool)
    for masks, step in parts:
        want |= masks.dense(step)
    assert np.array_equal(union.on("16x16").dense(0), want)


@SETTINGS
@given(grids, orders, st.sampled_from(["ltr", "rtl", "strided", "fixed"]))
def test_one_patterns_steps_keep_its_stride_rule_and_parameters(
    grid: tuple, order: str, name: str
) -> None:
    """Steps of one pattern: the union holds on every layout, so it keeps ``s`` and the
    pattern's own stride rule; laid on another layout it is still the OR there."""
    pattern = load_pattern(name)
    masks = pattern.on("4x4", order=order)
    union = step_union([(masks, 0), (masks, 1)])
    assert union.stride == pattern.stride and "s" in union.step_exprs[0].variables
    other = "x".join(map(str, grid))
    try:
        want = pattern.on(other, order=order).dense()
    except PatternError:
        return
    assert np.array_equal(union.on(other, order=order).dense(0), want[0] | want[1])


def test_what_no_one_step_can_join_is_refused_by_name() -> None:
    ltr, na, rtl = load_pattern("ltr"), load_pattern("na"), load_pattern("rtl")
    with pytest.raises(PatternError, match=r"ltr \(esa\) and rtl \(rowmajor\) number the cells"):
        step_union([(ltr.on("4x4"), 0), (rtl.on("4x4", order="rowmajor"), 0)])
    tiled = na.on("2x2", query_grid="4x4", nonsquare="tile")
    spatial = load_pattern("axial").on("2x2", query_grid="4x4", nonsquare="spatial")
    with pytest.raises(PatternError, match="by different non-square rules"):
        step_union([(tiled, 0), (spatial, 0)])
    with pytest.raises(PatternError, match="different layouts"):
        step_union([(na.on("4x4"), 0), (na.on("4x5"), 0)])
    with pytest.raises(PatternError, match="no steps"):
        step_union([])
    with pytest.raises(PatternError, match="has 1 step"):
        step_union([(na.on("4x4"), 1)])
    with pytest.raises(PatternError, match=r"each part is \(Masks, step\)"):
        step_union([("na", 0)])  # type: ignore[list-item]
