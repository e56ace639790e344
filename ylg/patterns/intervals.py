"""Interval evaluation of a step: what a whole tile of (query, key) pairs can give.

Every variable of a step is given as an interval, ``lo <= x <= hi`` (numpy arrays, one
entry per tile, or scalars), and the step's expression tree is walked once with
interval arithmetic. An integer node gives the interval of its values; a boolean
node gives ``(lo, hi)`` in ``{0, 1}``: ``lo = 1`` when every pair of the tile is
attended, ``hi = 0`` when none is, otherwise the tile must be evaluated pair by pair.
The bounds are sound (they contain every value a pair of the tile can take), so a
decided tile is exact; they may be loose, which only leaves a tile undecided.

A tile where evaluation might raise (a division whose divisor's interval holds 0) is
never decided: pair-by-pair evaluation raises there exactly as before.

>>> import numpy as np
>>> from ylg.patterns.expr import STEP_VARIABLES, parse_expr
>>> e = parse_expr("abs(qi - ki) <= 2", STEP_VARIABLES)
>>> ki = (np.array([0, 4, 8]), np.array([3, 7, 11]))     # three tiles of key rows
>>> always, never = decide(e, {"qi": (5, 5), "ki": ki})
>>> always.tolist(), never.tolist()    # rows 4-7 are all near row 5, rows 8-11 all far
([False, True, False], [False, False, True])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ylg.patterns.expr import Expr, Node

Interval = tuple[Any, Any]


def decide(expr: Expr, ranges: Mapping[str, Interval]) -> tuple[np.ndarray, np.ndarray]:
    """Per tile, whether the boolean ``expr`` is true for every pair (``always``) and
    whether it is false for every pair (``never``), given each variable's interval.

    >>> from ylg.patterns.expr import STEP_VARIABLES, parse_expr
    >>> e = parse_expr("qt == kt or k // 0 == 1", STEP_VARIABLES)  # may divide by zero
    >>> [a.tolist() for a in decide(e, {"qt": (1, 1), "kt": (1, 1), "k": (0, 9)})]
    [False, False]
    """
    lo, hi, risky = _walk(expr.root, ranges)
    safe = ~np.asarray(risky, dtype=bool)
    return np.asarray(lo == 1) & safe, np.asarray(hi == 0) & safe


def _walk(node: Node, ranges: Mapping[str, Interval]) -> tuple[Any, Any, Any]:
    """``(lo, hi, risky)`` of a node: its interval, and where evaluating it may raise."""
    op = node.op
    if op == "const":
        value = node.args[0]
        return value, value, False
    if op == "var":
        lo, hi = ranges[node.args[0]]
        return lo, hi, False
    parts = [_walk(a, ranges) for a in node.args]
    risky = parts[0][2]
    for p in parts[1:]:
        risky = risky | p[2]
    if op in ("and", "or", "not"):
        return (*_logic(op, parts), risky)
    if op in _COMPARE:
        (a0, a1, _), (b0, b1, _) = parts
        return (*_COMPARE[op](a0, a1, b0, b1), risky)
    lo, hi, more = _arith(op, parts)
    return lo, hi, risky | more


def _logic(op: str, parts: list[tuple[Any, Any, Any]]) -> Interval:
    if op == "not":
        lo, hi, _ = parts[0]
        return 1 - hi, 1 - lo
    los, his = [p[0] for p in parts], [p[1] for p in parts]
    pick = np.minimum if op == "and" else np.maximum
    lo, hi = los[0], his[0]
    for a, b in zip(los[1:], his[1:]):
        lo, hi = pick(lo, a), pick(hi, b)
    return lo, hi


def _bool(true: Any, false: Any) -> Interval:
    """``(lo, hi)`` of a comparison from where it surely holds and surely fails."""
    return np.where(true, 1, 0), np.where(false, 0, 1)


_COMPARE = {
    "<": lambda a0, a1, b0, b1: _bool(a1 < b0, a0 >= b1),
    "<=": lambda a0, a1, b0, b1: _bool(a1 <= b0, a0 > b1),
    ">": lambda a0, a1, b0, b1: _bool(a0 > b1, a1 <= b0),
    ">=": lambda a0, a1, b0, b1: _bool(a0 >= b1, a1 < b0),
    "==": lambda a0, a1, b0, b1: _bool((a0 == a1) & (b0 == b1) & (a0 == b0), (a1 < b0) | (b1 < a0)),
    "!=": lambda a0, a1, b0, b1: _bool((a1 < b0) | (b1 < a0), (a0 == a1) & (b0 == b1) & (a0 == b0)),
}


def _arith(op: str, parts: list[tuple[Any, Any, Any]]) -> tuple[Any, Any, Any]:
    """``(lo, hi, risky)`` of an integer operator over its operands' intervals."""
    if op == "neg":
        lo, hi, _ = parts[0]
        return -hi, -lo, False
    if op == "abs":
        lo, hi, _ = parts[0]
        spans_zero = (lo <= 0) & (hi >= 0)
        low = np.where(spans_zero, 0, np.minimum(abs(lo), abs(hi)))
        return low, np.maximum(abs(lo), abs(hi)), False
    if op in ("min", "max"):
        pick = np.minimum if op == "min" else np.maximum
        lo, hi = parts[0][0], parts[0][1]
        for p in parts[1:]:
            lo, hi = pick(lo, p[0]), pick(hi, p[1])
        return lo, hi, False
    (a0, a1, _), (b0, b1, _) = parts
    if op == "+":
        return a0 + b0, a1 + b1, False
    if op == "-":
        return a0 - b1, a1 - b0, False
    if op == "*":
        corners = (a0 * b0, a0 * b1, a1 * b0, a1 * b1)
        return _least(corners), _most(corners), False
    zero = (b0 <= 0) & (b1 >= 0)  # the divisor may be 0: never decided
    one = np.where(zero, 1, b0), np.where(zero, 1, b1)  # any non-zero stand-in
    if op == "//":
        # Floor division is monotone in each operand while the divisor keeps its sign,
        # so its extremes over the box are at the corners.
        corners = tuple(a // b for a in (a0, a1) for b in one)
        return _least(corners), _most(corners), zero
    # %: Python's remainder takes the divisor's sign and is smaller than it; a
    # non-negative dividend below a positive divisor is its own remainder.
    d0, d1 = one
    positive = d0 > 0
    own = positive & (a0 >= 0) & (a1 < d0)
    lo = np.where(own, a0, np.where(positive, 0, d0 + 1))
    hi = np.where(own, a1, np.where(positive, d1 - 1, 0))
    return lo, hi, zero


def _least(values: tuple[Any, ...]) -> Any:
    out = values[0]
    for v in values[1:]:
        out = np.minimum(out, v)
    return out


def _most(values: tuple[Any, ...]) -> Any:
    out = values[0]
    for v in values[1:]:
        out = np.maximum(out, v)
    return out
