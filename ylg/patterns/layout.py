"""Layouts: where a pattern is laid. A key grid, a query grid, an order, a rule for
queries on a grid other than the key grid, and a stride.

A :class:`Layout` is a frozen value: built once (from the CLI's ``--grid``,
``--query-grid``, ``--order``, ``--nonsquare`` and ``--stride``, or in code), passed
around whole, compared and hashed. Fields left ``None`` mean "the pattern's own"
(its order, its non-square rule, its stride rule); :meth:`Pattern.on` fills them in, so
``Masks.layout`` is always complete.

>>> lay = Layout("16x16", query_grid="32x32", order="esa")
>>> lay.nq, lay.nk, lay.square
(1024, 256, False)
>>> lay.describe()
'16x16 keys, 32x32 queries, esa'
>>> lay.square_on_keys().describe()
'16x16, esa'
>>> Layout("16x32x32").ndim
3
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from ylg.errors import PatternError
from ylg.patterns.enumerations import ORDERS
from ylg.patterns.grid import AXIS_RULES, NONSQUARE_RULES, Grid

GridLike = "str | int | Grid | tuple[int, ...]"


def check_nonsquare(rule: str, ndim: int | None = None) -> str:
    """A non-square rule, checked for a grid of ``ndim`` axes (any number when ``None``):
    one of :data:`NONSQUARE_RULES`, or one of ``tile`` / ``spatial`` per axis, comma
    separated.

    >>> check_nonsquare("tile, spatial", 2)
    'tile,spatial'
    >>> check_nonsquare("tile,spatial", 3)
    Traceback (most recent call last):
    ...
    ylg.errors.PatternError: per-axis non-square rules: give 3 (tile or spatial), not 'tile,spatial'
    """
    if not isinstance(rule, str):
        raise PatternError(f"a non-square rule is text, not {type(rule).__name__}")
    parts = [part.strip() for part in rule.split(",")]
    if len(parts) == 1:
        if parts[0] not in NONSQUARE_RULES:
            raise PatternError(
                f"unknown nonsquare rule {rule!r} (known: {', '.join(NONSQUARE_RULES)},"
                " or tile/spatial per axis like tile,spatial)"
            )
        return parts[0]
    if len(parts) != (ndim or len(parts)) or not all(part in AXIS_RULES for part in parts):
        raise PatternError(
            f"per-axis non-square rules: give {ndim or len(parts)} (tile or spatial), not {rule!r}"
        )
    return ",".join(parts)


def axis_rules(rule: str, ndim: int) -> tuple[str, ...] | None:
    """The rule of each axis when the rule acts axis by axis (``tile``, ``spatial`` or a
    list of them); ``None`` for ``repeat`` and ``direct``.

    >>> axis_rules("tile", 2), axis_rules("tile,spatial", 2), axis_rules("repeat", 2)
    (('tile', 'tile'), ('tile', 'spatial'), None)
    """
    parts = tuple(check_nonsquare(rule, ndim).split(","))
    if parts[0] not in AXIS_RULES:
        return None
    return parts * ndim if len(parts) == 1 else parts


def check_stride(stride: "int | str") -> "int | str":
    """A stride, checked: a positive integer, or a stride rule (an integer expression
    over the layout's sizes, :data:`~ylg.patterns.expr.STRIDE_VARIABLES`, with ``isqrt``
    and ``divisor``), kept as text. Text that is a number is that number.

    >>> check_stride("16"), check_stride("divisor(n,  isqrt(n))")
    (16, 'divisor(n,  isqrt(n))')
    >>> check_stride("n>1")
    Traceback (most recent call last):
    ...
    ylg.errors.PatternError: stride rule 'n>1': expression must be an integer, got a boolean: n>1
    """
    from ylg.patterns.expr import (
        INT,
        STRIDE_FUNCTIONS,
        STRIDE_VARIABLES,
        integer_literal,
        parse_expr,
    )

    if isinstance(stride, str):
        text = stride.strip()
        number = integer_literal(text)
        if number is not None:
            stride = number
        else:
            try:
                parse_expr(text, STRIDE_VARIABLES, want=INT, functions=STRIDE_FUNCTIONS)
            except PatternError as exc:
                raise PatternError(f"stride rule {stride!r:.60}: {exc}") from None
            return stride
    if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride < 1:
        raise PatternError(
            f"the stride must be a positive integer or a stride rule, got {stride!r:.60}"
        )
    return int(stride)


@dataclass(frozen=True)
class Layout:
    """Key grid, query grid (default: the key grid), order, non-square rule and stride
    (a positive integer, or a stride rule evaluated on the grids when the pattern is laid,
    like ``"divisor(n, isqrt(n))"``).

    >>> Layout((4, 4), stride=2)
    Layout(grid=Grid(4, 4), query_grid=Grid(4, 4), order=None, nonsquare=None, stride=2)
    """

    grid: Grid
    query_grid: Grid = None  # type: ignore[assignment]  # None: the key grid
    order: str | None = None
    nonsquare: str | None = None
    stride: int | str | None = None

    def __post_init__(self) -> None:
        grid = Grid.parse(self.grid)  # type: ignore[arg-type]
        query = grid if self.query_grid is None else Grid.parse(self.query_grid)  # type: ignore[arg-type]
        if query.ndim != grid.ndim:
            raise PatternError(
                f"the query grid {query} and the key grid {grid} must have the same number of axes"
            )
        object.__setattr__(self, "grid", grid)
        object.__setattr__(self, "query_grid", query)
        if self.order is not None and (not isinstance(self.order, str) or self.order not in ORDERS):
            raise PatternError(f"unknown order {self.order!r} (known: {', '.join(ORDERS)})")
        if self.nonsquare is not None:
            object.__setattr__(self, "nonsquare", check_nonsquare(self.nonsquare, grid.ndim))
        if self.stride is not None:
            object.__setattr__(self, "stride", check_stride(self.stride))

    @classmethod
    def of(cls, layout: "Layout | str | int | Grid | tuple[int, ...]", **changes: Any) -> "Layout":
        """A layout from a layout or a key grid, with the fields in ``changes`` that are
        not ``None`` replaced.

        >>> Layout.of("8x8", order="esa", stride=None)
        Layout(grid=Grid(8, 8), query_grid=Grid(8, 8), order='esa', nonsquare=None, stride=None)
        """
        base = layout if isinstance(layout, Layout) else cls(layout)  # type: ignore[arg-type]
        given = {name: value for name, value in changes.items() if value is not None}
        unknown = sorted(set(given) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise PatternError(f"a layout has no field(s) {', '.join(unknown)}")
        return dataclasses.replace(base, **given) if given else base

    # -- derived ---------------------------------------------------------------------
    @property
    def nq(self) -> int:
        """Number of query positions."""
        return self.query_grid.size

    @property
    def nk(self) -> int:
        """Number of key positions."""
        return self.grid.size

    @property
    def ndim(self) -> int:
        """Number of grid axes (1, 2 or 3)."""
        return self.grid.ndim

    @property
    def square(self) -> bool:
        """Whether queries and keys live on the same grid."""
        return self.query_grid == self.grid

    def square_on_keys(self) -> "Layout":
        """The same layout with queries on the key grid (the inner layers of an IFG)."""
        return dataclasses.replace(self, query_grid=self.grid)

    def describe(self) -> str:
        """A short text, like ``16x16 keys, 32x32 queries (repeat), esa, s=16`` (parts
        left to the pattern are left out).

        >>> Layout("4x4", order="snake", stride=2).describe()
        '4x4, snake, s=2'
        """
        text = f"{self.grid}"
        if not self.square:
            rule = f" ({self.nonsquare})" if self.nonsquare else ""
            text += f" keys, {self.query_grid} queries{rule}"
        if self.order:
            text += f", {self.order}"
        if self.stride is not None:
            text += f", s={self.stride}"
        return text


class OnLayout:
    """What everything laid on a layout (masks, step masks, head sets) says about it:
    a mixin for classes with a ``layout`` attribute.

    >>> class Thing(OnLayout):
    ...     layout = Layout("4x4", query_grid="8x8")
    >>> Thing().nq, Thing().nk, Thing().square, Thing().grid
    (64, 16, False, Grid(4, 4))
    """

    layout: Layout

    @property
    def grid(self) -> Grid:
        """The key grid."""
        return self.layout.grid

    @property
    def query_grid(self) -> Grid:
        """The query grid (the key grid on a square layout)."""
        return self.layout.query_grid

    @property
    def nq(self) -> int:
        """Number of query positions (row-major on the query grid)."""
        return self.layout.nq

    @property
    def nk(self) -> int:
        """Number of key positions (row-major on the key grid)."""
        return self.layout.nk

    @property
    def square(self) -> bool:
        """Whether queries and keys share one grid."""
        return self.layout.square
