"""Patterns: named lists of steps, read from and written to small TOML files.

A pattern is everything needed to build masks on a grid except the grid itself:
its steps (boolean expressions over query and key positions), the enumeration of
the grid cells, the stride rule and the rule for non-square query/key grids.

>>> p = Pattern.from_toml('''
... name = "my-ltr"
... description = "LTR written by hand"
... steps = ["q // s == k // s and k <= q", "k == q or k % s == s - 1"]
... ''')
>>> p.name, len(p.steps), p.order, p.nonsquare
('my-ltr', 2, 'rowmajor', 'repeat')
>>> int(p.on("3x3").dense().sum())
51
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from ylg.errors import PatternError
from ylg.patterns.enumerations import ORDERS
from ylg.patterns.expr import (
    INT,
    STEP_VARIABLES,
    STRIDE_FUNCTIONS,
    STRIDE_VARIABLES,
    Expr,
    parse_expr,
)
from ylg.patterns.grid import NONSQUARE_RULES, Grid
from ylg.patterns.masks import Masks

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

DEFAULT_STRIDE = "isqrt(n)"
_KEYS = ("name", "description", "steps", "order", "stride", "nonsquare", "notes", "meta")


@dataclass(frozen=True)
class Pattern:
    """A sparse attention pattern: ordered steps plus the rules to lay them on a grid.

    >>> p = Pattern("axial", "row then column", ("qi == ki", "qj == kj"))
    >>> p.on("2x2").dense().astype(int).tolist()[0]
    [[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1], [0, 0, 1, 1]]
    """

    name: str
    description: str
    steps: tuple[str, ...]
    order: str = "rowmajor"
    stride: "int | str" = DEFAULT_STRIDE
    nonsquare: str = "repeat"
    notes: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise PatternError("a pattern needs a non-empty name")
        if not isinstance(self.description, str):
            raise PatternError(f"pattern {self.name!r}: description must be a string")
        steps = self.steps
        if isinstance(steps, str) or not isinstance(steps, (list, tuple)) or not steps:
            raise PatternError(f"pattern {self.name!r}: steps must be a non-empty list of strings")
        object.__setattr__(self, "steps", tuple(steps))
        if self.order not in ORDERS:
            raise PatternError(
                f"pattern {self.name!r}: unknown order {self.order!r} (known: {', '.join(ORDERS)})"
            )
        if not isinstance(self.meta, Mapping) or not all(isinstance(k, str) for k in self.meta):
            raise PatternError(f"pattern {self.name!r}: meta must be a table with string keys")
        if self.nonsquare not in NONSQUARE_RULES:
            raise PatternError(
                f"pattern {self.name!r}: unknown nonsquare rule {self.nonsquare!r}"
                f" (known: {', '.join(NONSQUARE_RULES)})"
            )
        # Parse now so that a bad pattern fails when it is read, not when it is used.
        _ = (self.step_exprs, self.stride_expr)

    @cached_property
    def step_exprs(self) -> tuple[Expr, ...]:
        """The parsed steps."""
        out = []
        for i, text in enumerate(self.steps, 1):
            try:
                out.append(parse_expr(text, STEP_VARIABLES))
            except PatternError as exc:
                raise PatternError(f"pattern {self.name!r}, step {i}: {exc}") from None
        return tuple(out)

    @cached_property
    def stride_expr(self) -> Expr:
        """The parsed stride rule (an integer expression over n, nq, h, w, hq, wq)."""
        stride = self.stride
        if isinstance(stride, bool) or not isinstance(stride, (int, str)):
            raise PatternError(f"pattern {self.name!r}: stride must be an integer or an expression")
        try:
            return parse_expr(str(stride), STRIDE_VARIABLES, want=INT, functions=STRIDE_FUNCTIONS)
        except PatternError as exc:
            raise PatternError(f"pattern {self.name!r}, stride: {exc}") from None

    # -- building masks ----------------------------------------------------------
    def on(
        self,
        grid: "str | Grid | tuple[int, int]",
        *,
        query_grid: "str | Grid | tuple[int, int] | None" = None,
        order: str | None = None,
        nonsquare: str | None = None,
        stride: int | None = None,
    ) -> "Masks":
        """Lay the pattern on a key grid (and optionally a different query grid).

        >>> m = Pattern.from_toml('name="x"\\ndescription=""\\nsteps=["k <= q"]').on("2x2")
        >>> m.counts()
        [10]
        """
        return Masks(
            self,
            Grid.parse(grid),
            Grid.parse(query_grid) if query_grid is not None else None,
            order=order or self.order,
            nonsquare=nonsquare or self.nonsquare,
            stride=stride,
        )

    def with_steps(self, steps: "tuple[str, ...] | list[str]", **changes: Any) -> "Pattern":
        """A copy with other steps (and any other field changed).

        >>> Pattern("a", "", ("k == q",)).with_steps(["k <= q"], name="b").steps
        ('k <= q',)
        """
        return replace(self, steps=tuple(steps), **changes)

    # -- TOML ----------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], origin: str = "pattern") -> "Pattern":
        """Build from the keys of a pattern file (see :meth:`from_toml`)."""
        unknown = sorted(set(data) - set(_KEYS))
        if unknown:
            raise PatternError(
                f"{origin}: unknown key(s) {', '.join(unknown)} (known: {', '.join(_KEYS)})"
            )
        for key in ("name", "steps"):
            if key not in data:
                raise PatternError(f"{origin}: missing required key {key!r}")
        steps = data["steps"]
        if not isinstance(steps, list) or not all(isinstance(s, str) for s in steps):
            raise PatternError(f"{origin}: steps must be a list of strings")
        meta = data.get("meta", {})
        if not isinstance(meta, dict):
            raise PatternError(f"{origin}: meta must be a table")
        for key in ("name", "description", "order", "nonsquare", "notes"):
            if key in data and not isinstance(data[key], str):
                raise PatternError(f"{origin}: {key} must be a string")
        return cls(
            name=data["name"],
            description=data.get("description", ""),
            steps=tuple(steps),
            order=data.get("order", "rowmajor"),
            stride=data.get("stride", DEFAULT_STRIDE),
            nonsquare=data.get("nonsquare", "repeat"),
            notes=data.get("notes", ""),
            meta=meta,
        )

    @classmethod
    def from_toml(cls, text: str, origin: str = "pattern") -> "Pattern":
        """Read a pattern file. Required: ``name`` and ``steps``; optional: ``description``,
        ``order``, ``stride``, ``nonsquare``, ``notes`` and a free-form ``[meta]`` table.
        """
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise PatternError(f"{origin}: not valid TOML: {exc}") from None
        return cls.from_dict(data, origin)

    def to_toml(self) -> str:
        """Write the pattern as a file every ylg command accepts (with tomli-w, so that
        everything TOML holds comes back as it was: nested tables, arrays of tables,
        dates and times, any Unicode text).

        >>> import datetime
        >>> p = Pattern("a", "one step", ("k <= q",), meta={"made": datetime.date(2020, 3, 1)})
        >>> Pattern.from_toml(p.to_toml()) == p
        True
        >>> print(Pattern("b", "", ("k == q",)).to_toml())
        name = "b"
        description = ""
        steps = [
            "k == q",
        ]
        order = "rowmajor"
        stride = "isqrt(n)"
        nonsquare = "repeat"
        <BLANKLINE>
        """
        import tomli_w

        data: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "steps": list(self.steps),
            "order": self.order,
            "stride": self.stride,
            "nonsquare": self.nonsquare,
        }
        if self.notes:
            data["notes"] = self.notes
        if self.meta:
            data["meta"] = dict(self.meta)
        try:
            text = tomli_w.dumps(data, multiline_strings=False)
            text.encode("utf-8")
        except (TypeError, ValueError) as exc:  # UnicodeEncodeError is a ValueError
            raise PatternError(
                f"pattern {self.name!r} cannot be written as TOML: {' '.join(str(exc).split())}"
            ) from None
        return text
