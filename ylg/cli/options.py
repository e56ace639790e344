"""Parameter types and option sets shared by the ``ylg`` commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from ylg.cli.params import POSITIVE
from ylg.errors import YlgError
from ylg.patterns import NONSQUARE_RULES, ORDERS, Grid, Masks, Pattern, load_pattern


class GridType(click.ParamType):
    """``HxW`` on the command line, a :class:`Grid` in the program."""

    name = "HxW"

    def convert(self, value: Any, param: Any, ctx: Any) -> Grid:
        try:
            return Grid.parse(value)
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


GRID = GridType()
PATTERN = PatternType()


def layout_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--grid``, ``--query-grid``, ``--order``, ``--nonsquare``, ``--stride``."""
    options = [
        click.option("--grid", "-g", type=GRID, required=True, help="Key grid, HxW (e.g. 32x32)."),
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
            type=click.Choice(list(NONSQUARE_RULES)),
            default=None,
            help="How queries map onto a different key grid (default: the pattern's).",
        ),
        click.option("--stride", type=click.IntRange(min=1), default=None, help="Override s."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def build_masks(
    pattern: Pattern,
    grid: Grid,
    query_grid: Grid | None,
    order: str | None,
    nonsquare: str | None,
    stride: int | None,
) -> Masks:
    """The masks the layout options describe."""
    return pattern.on(grid, query_grid=query_grid, order=order, nonsquare=nonsquare, stride=stride)


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


def inversion_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The settings of an inversion, shared by ``ylg invert`` and ``ylg draw attention``."""
    options = [
        click.option(
            "--seeds",
            type=click.IntRange(1, 4096),
            default=4,
            show_default=True,
            help="Starting latents, optimised together as one batch; the best is kept.",
        ),
        click.option(
            "--steps",
            type=click.IntRange(min=1),
            default=1500,
            show_default=True,
            help="Most optimisation steps (the paper: at most 1500).",
        ),
        click.option("--lr", type=POSITIVE, default=0.05, show_default=True),
        click.option(
            "--truncation",
            type=POSITIVE,
            default=2.0,
            show_default=True,
            help="Starting latents are a normal truncated here (entries beyond resampled).",
        ),
        click.option(
            "--class",
            "class_label",
            default="auto",
            show_default=True,
            help="Class of a conditional model (name or index), or 'auto': the class the "
            "discriminator scores highest for the image.",
        ),
        click.option(
            "--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:1, ..."
        ),
        click.option(
            "--progress/--no-progress", default=True, help="Show a progress bar on stderr."
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn
