"""Step expressions made once per layout (Expr.compile): the same masks and errors as a
plain evaluation, whatever is settled before the blocks of rows are seen."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import grids, int_terms, orders
from test_patterns_properties import python_mask

from ylg.errors import PatternError
from ylg.patterns import Pattern, load_pattern
from ylg.patterns.expr import STEP_VARIABLES, parse_expr

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def divisions() -> st.SearchStrategy[str]:
    """Comparisons of divisions by constants (powers of two or not) of any sign of dividend."""
    divisor = st.sampled_from(["1", "2", "4", "8", "3", "6", "s", "w", "max(1, s // 4)", "s - 1"])
    dividend = st.one_of(int_terms(3), st.sampled_from(["k - q", "q - 7 * k", "-k", "kj - qj"]))
    return st.tuples(
        dividend,
        st.sampled_from(["//", "%"]),
        divisor,
        st.sampled_from(["<", "==", ">="]),
        int_terms(2),
    ).map(lambda t: f"({t[0]}) {t[1]} ({t[2]}) {t[3]} {t[4]}")


@given(divisions(), grids, orders)
@SETTINGS
def test_divisions_by_constants_match_python(
    source: str, grid: tuple[int, int], order: str
) -> None:
    h, w = grid
    masks = Pattern("d", "", (source,), order=order).on(grid)
    if masks.stride == 1 and "s - 1" in source:
        with pytest.raises(PatternError, match="by zero"):
            masks.rows(0, 0, masks.nq)
        return
    expected = python_mask(source, h, w, order, masks.stride)
    assert np.array_equal(masks.rows(0, 0, masks.nq), expected)
    mod = masks.mask_mod(0)
    q, k = torch.arange(masks.nq)[:, None], torch.arange(masks.nk)[None, :]
    assert np.array_equal(mod(0, 0, q, k).numpy(), expected)


def test_compiled_and_plain_evaluation_agree_with_a_range_that_excludes_zero() -> None:
    expr = parse_expr("k > 5 or q // (k + 1) % 3 == 1", STEP_VARIABLES)
    q, k = np.arange(10)[:, None], np.arange(10)[None, :]
    fn = expr.compile({"q": (0, 9), "k": (0, 9)}, {"k": k})
    assert np.array_equal(fn({"q": q}), expr.evaluate({"q": q, "k": k}))


def test_a_zero_scalar_divisor_in_a_dead_branch_is_no_error_for_torch() -> None:
    source = "(k > 0 and -5 >= 2) and (q // 0) < q"
    masks = Pattern("dead", "", (source,)).on((1, 1))
    q, k = torch.arange(1)[:, None], torch.arange(1)[None, :]
    assert not masks.mask_mod(0)(0, 0, q, k).any()
    assert not masks.rows(0, 0, 1).any()
    live = Pattern("live", "", ("q // 0 < q",)).on((2, 2))
    with pytest.raises(PatternError, match="division by zero"):
        live.rows(0, 0, 4)
    with pytest.raises(PatternError, match="division by zero"):
        live.mask_mod(0)(0, 0, torch.arange(4)[:, None], torch.arange(4)[None, :])


def test_rows_computed_once_are_still_a_new_array_each_call() -> None:
    masks = Pattern("keys", "", ("k % s == s - 1",)).on((1, 4), query_grid=(1, 4))
    first = masks.rows(0, 0, 1)
    first[...] = True
    assert masks.rows(0, 0, 1).tolist() == [[False, True, False, True]]


def test_masks_and_patterns_pickle_after_use() -> None:
    masks = load_pattern("strided").on("8x8")
    dense = masks.dense()
    again = pickle.loads(pickle.dumps(masks))
    assert np.array_equal(again.dense(), dense)
    expr = pickle.loads(pickle.dumps(masks.pattern)).step_exprs[1]
    assert expr.evaluate({"q": 3, "k": 5, "s": 2}) is True
