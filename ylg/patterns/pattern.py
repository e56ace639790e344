"""Patterns: named lists of steps, read from and written to small TOML files.

A pattern is everything needed to build masks on a grid except the grid itself:
its steps (boolean expressions over query and key positions), the enumeration of
the grid cells, the stride rule, the rule for non-square query/key grids and its
parameters (named integers the steps use, like a window size, changed with
:meth:`Pattern.with_params` or ``--param`` on the command line).

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

import keyword
import re
import sys
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from ylg.errors import PatternError
from ylg.patterns.enumerations import ORDERS
from ylg.patterns.expr import (
    INT,
    MAX_LITERAL,
    STEP_VARIABLES,
    STRIDE_FUNCTIONS,
    STRIDE_VARIABLES,
    Expr,
    parse_expr,
)
from ylg.patterns.grid import Grid
from ylg.patterns.layout import Layout, check_nonsquare
from ylg.patterns.masks import Masks

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

import numpy as np

DEFAULT_STRIDE = "isqrt(n)"
_KEYS = (
    "name",
    "description",
    "steps",
    "order",
    "stride",
    "nonsquare",
    "params",
    "notes",
    "meta",
)
_PARAM_RE = re.compile(r"^[a-z_][a-z0-9_]{0,31}$")
_RESERVED = set(STEP_VARIABLES) | set(STRIDE_FUNCTIONS)


def check_params(values: Mapping[str, Any], origin: str = "pattern") -> dict[str, int]:
    """Pattern parameters, checked: lower-case names that are not step variables, with
    integer values.

    >>> check_params({"r": 3})
    {'r': 3}
    >>> check_params({"k": 3})
    Traceback (most recent call last):
    ...
    ylg.errors.PatternError: pattern: parameter 'k' is a step variable; pick another name
    """
    if not isinstance(values, Mapping):
        raise PatternError(f"{origin}: params must be a table of integers")
    out = {}
    for name, value in values.items():
        if not isinstance(name, str) or not _PARAM_RE.match(name) or keyword.iskeyword(name):
            raise PatternError(
                f"{origin}: parameter names are lower-case identifiers (a-z, 0-9, _), not {name!r}"
            )
        if name in _RESERVED:
            kind = (
                "a function of the expressions" if name in STRIDE_FUNCTIONS else "a step variable"
            )
            raise PatternError(f"{origin}: parameter {name!r} is {kind}; pick another name")
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise PatternError(f"{origin}: parameter {name!r} must be an integer, not {value!r}")
        if abs(int(value)) > MAX_LITERAL:
            raise PatternError(f"{origin}: parameter {name!r} is too large ({value})")
        out[name] = int(value)
    return out


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
    params: Mapping[str, int] = field(default_factory=dict, hash=False)
    #: The parameters as the pattern was written (file or constructor), before any
    #: :meth:`with_params`: descriptions name only the values set away from them.
    own_params: Mapping[str, int] | None = field(
        default=None, compare=False, hash=False, repr=False
    )

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise PatternError("a pattern needs a non-empty name")
        if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in self.name):
            raise PatternError(f"a pattern's name is one line of text, not {self.name!r}")
        if isinstance(self.stride, np.integer):
            object.__setattr__(self, "stride", int(self.stride))
        if isinstance(self.stride, int) and not isinstance(self.stride, bool) and self.stride < 1:
            raise PatternError(
                f"pattern {self.name!r}: the stride must be a positive integer or a rule,"
                f" not {self.stride}"
            )
        if not isinstance(self.description, str):
            raise PatternError(f"pattern {self.name!r}: description must be a string")
        steps = self.steps
        if isinstance(steps, str) or not isinstance(steps, (list, tuple)) or not steps:
            raise PatternError(f"pattern {self.name!r}: steps must be a non-empty list of strings")
        object.__setattr__(self, "steps", tuple(steps))
        if not isinstance(self.order, str) or self.order not in ORDERS:
            raise PatternError(
                f"pattern {self.name!r}: unknown order {self.order!r} (known: {', '.join(ORDERS)})"
            )
        if not isinstance(self.meta, Mapping) or not all(isinstance(k, str) for k in self.meta):
            raise PatternError(f"pattern {self.name!r}: meta must be a table with string keys")
        try:
            check_nonsquare(self.nonsquare)
        except PatternError as exc:
            raise PatternError(f"pattern {self.name!r}: {exc}") from None
        object.__setattr__(self, "params", check_params(self.params, f"pattern {self.name!r}"))
        if self.own_params is None:
            object.__setattr__(self, "own_params", dict(self.params))
        # Parse now so that a bad pattern fails when it is read, not when it is used.
        _ = (self.step_exprs, self.stride_expr)

    @property
    def variables(self) -> dict[str, str]:
        """What the steps may use: :data:`STEP_VARIABLES` and the pattern's parameters."""
        return {**STEP_VARIABLES, **{name: "parameter" for name in self.params}}

    def with_params(self, values: Mapping[str, int] | None = None, **more: int) -> "Pattern":
        """A copy with some parameters set (only the pattern's own parameters exist).

        >>> p = Pattern("band", "", ("abs(qj - kj) <= r",), params={"r": 1})
        >>> p.on("1x5").counts(), p.with_params(r=2).on("1x5").counts()
        ([13], [19])
        >>> p.with_params(x=1)
        Traceback (most recent call last):
        ...
        ylg.errors.PatternError: pattern 'band' has no parameter 'x' (its parameters: r)
        """
        given = {**(values or {}), **more}
        for name in given:
            if name not in self.params:
                known = ", ".join(self.params) or "none"
                raise PatternError(
                    f"pattern {self.name!r} has no parameter {name!r} (its parameters: {known})"
                )
        if not given:
            return self
        return replace(
            self, params={**self.params, **check_params(given, f"pattern {self.name!r}")}
        )

    @cached_property
    def step_exprs(self) -> tuple[Expr, ...]:
        """The parsed steps."""
        out = []
        for i, text in enumerate(self.steps, 1):
            try:
                out.append(parse_expr(text, self.variables))
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
            variables = {**STRIDE_VARIABLES, **{name: "parameter" for name in self.params}}
            return parse_expr(str(stride), variables, want=INT, functions=STRIDE_FUNCTIONS)
        except PatternError as exc:
            raise PatternError(f"pattern {self.name!r}, stride: {exc}") from None

    # -- building masks ----------------------------------------------------------
    def on(
        self,
        layout: "Layout | str | int | Grid | tuple[int, ...]",
        *,
        query_grid: "str | int | Grid | tuple[int, ...] | None" = None,
        order: str | None = None,
        nonsquare: str | None = None,
        stride: int | str | None = None,
    ) -> "Masks":
        """Lay the pattern on a layout, or on a key grid with the layout's other fields
        given as keywords (fields left out are the pattern's own).

        >>> m = Pattern.from_toml('name="x"\\ndescription=""\\nsteps=["k <= q"]').on("2x2")
        >>> m.counts()
        [10]
        >>> m.layout.describe()
        '2x2, rowmajor, s=2'
        """
        return Masks(
            self,
            Layout.of(
                layout, query_grid=query_grid, order=order, nonsquare=nonsquare, stride=stride
            ),
        )

    def with_stride(self, stride: "int | str") -> "Pattern":
        """A copy with another stride rule: a positive integer, or an integer expression
        over the layout's sizes (:data:`STRIDE_VARIABLES`, with ``isqrt`` and ``divisor``).

        >>> blocks = Pattern("b", "", ("q // s == k // s",))
        >>> blocks.with_stride("divisor(n, isqrt(n))").on("24x32").stride
        24
        >>> Pattern("b", "", ("k == q",)).with_stride(0)
        Traceback (most recent call last):
        ...
        ylg.errors.PatternError: stride must be a positive integer or a stride rule (text), got 0
        """
        if (
            isinstance(stride, bool)
            or not isinstance(stride, (int, np.integer, str))
            or (not isinstance(stride, str) and stride < 1)
        ):
            raise PatternError(
                f"stride must be a positive integer or a stride rule (text), got {stride!r:.60}"
            )
        return replace(self, stride=stride if isinstance(stride, str) else int(stride))

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
        params = data.get("params", {})
        if not isinstance(params, dict):
            raise PatternError(f"{origin}: params must be a table of integers")
        return cls(
            name=data["name"],
            description=data.get("description", ""),
            steps=tuple(steps),
            order=data.get("order", "rowmajor"),
            stride=data.get("stride", DEFAULT_STRIDE),
            nonsquare=data.get("nonsquare", "repeat"),
            notes=data.get("notes", ""),
            meta=meta,
            params=params,
        )

    @classmethod
    def from_toml(cls, text: str, origin: str = "pattern") -> "Pattern":
        """Read a pattern file. Required: ``name`` and ``steps``; optional: ``description``,
        ``order``, ``stride``, ``nonsquare``, ``notes``, a ``[params]`` table of named
        integers the steps use and a free-form ``[meta]`` table.
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
        if self.params:
            data["params"] = dict(self.params)
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
