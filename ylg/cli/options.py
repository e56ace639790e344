"""Parameter types and option sets shared by the ``ylg`` commands."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from ylg.errors import YlgError
from ylg.patterns import NONSQUARE_RULES, ORDERS, Grid, Layout, Masks, Pattern, load_pattern
from ylg.patterns.expr import integer_literal
from ylg.patterns.layout import check_nonsquare, check_stride


class GridType(click.ParamType):
    """``64``, ``32x32`` or ``16x32x32`` on the command line, a :class:`Grid` in the program."""

    name = "GRID"

    def convert(self, value: Any, param: Any, ctx: Any) -> Grid:
        try:
            return Grid.parse(value)
        except YlgError as exc:
            self.fail(str(exc), param, ctx)


class NonsquareType(click.ParamType):
    """A non-square rule: one of :data:`NONSQUARE_RULES`, or tile/spatial per axis."""

    name = "RULE"

    def convert(self, value: Any, param: Any, ctx: Any) -> str:
        try:
            return check_nonsquare(value)
        except YlgError as exc:
            self.fail(str(exc), param, ctx)


class StrideType(click.ParamType):
    """A stride: a positive integer, or a stride rule over the grid's sizes like
    ``divisor(n, isqrt(n))``."""

    name = "INT|RULE"

    def convert(self, value: Any, param: Any, ctx: Any) -> int | str:
        try:
            return check_stride(value)
        except YlgError as exc:
            self.fail(str(exc), param, ctx)


class PatternType(click.ParamType):
    """A library pattern name or the path of a pattern TOML file."""

    name = "NAME|FILE"

    def convert(self, value: Any, param: Any, ctx: Any) -> Pattern:
        if isinstance(value, Pattern):
            return value
        try:
            return load_pattern(value)
        except YlgError as exc:
            self.fail(str(exc), param, ctx)


class ParamAssignment(click.ParamType):
    """``NAME=VALUE`` with an integer value (a pattern parameter)."""

    name = "NAME=INT"

    def convert(self, value: Any, param: Any, ctx: Any) -> tuple[str, int]:
        if isinstance(value, tuple):
            return value
        name, sep, text = str(value).partition("=")
        number = integer_literal(text)
        if not sep or not name.strip() or number is None:
            self.fail(f"write a parameter as NAME=INTEGER, like r=3, not {value!r}", param, ctx)
        return name.strip(), number


GRID = GridType()
NONSQUARE = NonsquareType()
STRIDE = StrideType()
#: ``--stride``'s help, shared by every command that takes it.
STRIDE_HELP = (
    "Override s: an integer, or a rule over the grid's sizes like 'divisor(n, isqrt(n))'"
    " (the largest divisor of the key count up to its square root)."
)
PATTERN = PatternType()
PARAM = ParamAssignment()


def merge_options(
    fn: Callable[..., Any],
    options: list[Callable[[Callable[..., Any]], Callable[..., Any]]],
    names: tuple[str, ...],
    build: Callable[..., tuple[str, Any]],
) -> Callable[..., Any]:
    """Declare ``options`` on ``fn`` and hand it one value built from them."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        values = {name: kwargs.pop(name) for name in names}
        key, value = build(kwargs, **values)
        kwargs[key] = value
        return fn(*args, **kwargs)

    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


def grid_option(help: str, *, required: bool = True) -> Callable[[Callable[..., Any]], Any]:
    """``-g/--grid GRID``: ``64``, ``HxW`` or ``TxHxW``."""
    return click.option("--grid", "-g", type=GRID, required=required, help=help)


def orders_option(help: str) -> Callable[[Callable[..., Any]], Any]:
    """``--order NAME`` (repeatable), handed to the command as ``orders``."""
    return click.option(
        "--order", "orders", type=click.Choice(list(ORDERS)), multiple=True, help=help
    )


def layout_option_list(required: bool = True) -> list[Callable[[Callable[..., Any]], Any]]:
    """The click options of a layout: ``--grid`` (required or not), ``--query-grid``,
    ``--order``, ``--nonsquare``, ``--stride``."""
    grid_help = "Key grid: 64, HxW (32x32) or TxHxW (16x32x32)."
    if not required:
        grid_help += " A model file may name its own."
    return [
        grid_option(grid_help, required=required),
        click.option(
            "--query-grid",
            type=GRID,
            default=None,
            help="Query grid when it differs from the key grid (SAGAN: 32x32 over 16x16).",
        ),
        click.option(
            "--order",
            type=click.Choice(list(ORDERS)),
            default=None,
            help="Enumeration of the cells (default: the pattern's own).",
        ),
        click.option(
            "--nonsquare",
            type=NONSQUARE,
            default=None,
            help=f"How queries map onto a different key grid: {', '.join(NONSQUARE_RULES)}, or"
            " tile/spatial per axis like tile,spatial (default: the pattern's).",
        ),
        click.option("--stride", type=STRIDE, default=None, help=STRIDE_HELP),
    ]


def check_nonsquare_use(query_grid: Grid | None, nonsquare: str | None) -> None:
    """Refuse ``--nonsquare`` without ``--query-grid``: it says how queries map onto
    another key grid, and would be ignored.

    >>> check_nonsquare_use(None, "tile")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ylg.errors.YlgError: --nonsquare says how a --query-grid maps onto the key grid; ...
    """
    if nonsquare is not None and query_grid is None:
        raise YlgError(
            "--nonsquare says how a --query-grid maps onto the key grid; give --query-grid"
            " too (it would be ignored here)"
        )


#: The names the layout options hand to a command before they become one Layout.
LAYOUT_NAMES = ("grid", "query_grid", "order", "nonsquare", "stride")


def layout_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--grid``, ``--query-grid``, ``--order``, ``--nonsquare`` and ``--stride``, handed to
    the command as one :class:`~ylg.patterns.Layout` named ``layout``."""

    def build(_: dict[str, Any], **values: Any) -> tuple[str, Layout]:
        check_nonsquare_use(values["query_grid"], values["nonsquare"])
        return "layout", Layout(**values)

    return merge_options(fn, layout_option_list(), LAYOUT_NAMES, build)


def param_option() -> Callable[[Callable[..., Any]], Any]:
    """``--param NAME=INT`` (repeatable): the pattern's parameters."""
    return click.option(
        "--param",
        "params",
        type=PARAM,
        multiple=True,
        help="Set one of the pattern's parameters, NAME=INT (repeat for several).",
    )


def check_param_names(params: tuple[tuple[str, int], ...]) -> tuple[tuple[str, int], ...]:
    """``--param`` values, refused when one name is given twice.

    >>> check_param_names((("r", 1), ("r", 2)))
    Traceback (most recent call last):
    ...
    ylg.errors.YlgError: --param r is given twice (1 and 2); give each parameter once
    """
    seen: dict[str, int] = {}
    for name, value in params:
        if name in seen:
            raise YlgError(
                f"--param {name} is given twice ({seen[name]} and {value}); give each"
                " parameter once"
            )
        seen[name] = value
    return params


def pattern_argument(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``PATTERN`` (a library name or a TOML file) and ``--param NAME=INT`` (repeatable),
    handed to the command as one :class:`~ylg.patterns.Pattern` named ``pattern``."""
    options = [click.argument("pattern", type=PATTERN), param_option()]

    def build(
        kwargs: dict[str, Any], pattern: Pattern, params: tuple[tuple[str, int], ...]
    ) -> tuple[str, Pattern]:
        return "pattern", pattern.with_params(dict(check_param_names(params)))

    return merge_options(fn, options, ("pattern", "params"), build)


def int_option(
    name: str,
    default: int,
    help: str,
    *,
    low: int | None = None,
    high: int | None = None,
    dest: str | None = None,
) -> Callable[[Callable[..., Any]], Any]:
    """An integer option between ``low`` and ``high`` (either open), its default shown.

    >>> option = int_option("--examples", 5, "Witnesses.", low=0)(lambda examples: None)
    >>> option.__click_params__[0].opts, option.__click_params__[0].default
    (['--examples'], 5)
    """
    names = [name] if dest is None else [name, dest]
    return click.option(
        *names,
        type=click.IntRange(low, high),
        default=default,
        show_default=True,
        help=help,
    )


def tile_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--tile T``: the kernel's tile side (FlexAttention's default block is 128)."""
    return click.option(
        "--tile",
        type=click.IntRange(min=1, max=4096),
        default=128,
        show_default=True,
        help="Tile side of the block-sparse kernel (FlexAttention: 128).",
    )(fn)


def step_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--step N`` (1-based, repeatable): which steps; default every step."""
    return click.option(
        "--step",
        "steps",
        type=click.IntRange(min=1),
        multiple=True,
        help="A step to report (1-based; repeat for several; default: every step).",
    )(fn)


def chosen_steps(masks: Masks, steps: tuple[int, ...]) -> list[int]:
    """0-based steps from the 1-based ``--step`` values, checked against the pattern."""
    for s in steps:
        if s > masks.num_steps:
            name, count = masks.pattern.name, masks.num_steps
            raise YlgError(f"--step {s}: pattern {name!r} has {count} steps")
    return [s - 1 for s in dict.fromkeys(steps)] or list(range(masks.num_steps))
