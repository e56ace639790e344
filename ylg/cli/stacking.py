"""What the commands on stacks of layers share: choosing the layers and reporting them.

A stack is a pattern repeated (``PATTERN --layers N``) or a model file
(``--model FILE``, see :mod:`ylg.patterns.model`), laid on the layout the usual options
give (a model file may name its own grid). :func:`stack_options` declares those options
and hands the command one :class:`StackChoice`; ``ylg verify``, ``ylg flow`` and ``ylg draw reach``
use it, and so can any command that takes ``--layers`` or ``--model``. Nothing heavy is
imported here: the checks import :mod:`ylg.ifg` when they run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from ylg.cli.options import (
    LAYOUT_NAMES,
    PATTERN,
    check_nonsquare_use,
    check_param_names,
    layout_option_list,
    merge_options,
    param_option,
)
from ylg.errors import YlgError
from ylg.patterns import Grid, Layout, Masks, Pattern
from ylg.patterns.model import MAX_LAYERS, load_model


@dataclass(frozen=True)
class StackChoice:
    """The layers the options chose: ``layers`` in order, ``cycle`` the layers that
    repeat (the pattern's one layer, or the model's layers), ``name`` for the output."""

    layers: list[Masks]
    cycle: list[Masks]
    name: str
    #: Whether a stack was asked for (--layers or --model), not one pattern on its own.
    stacked: bool = True
    #: Whether the layers come from a model file (whose layers may fix their strides).
    model: bool = False

    @property
    def output_grid(self) -> Grid:
        """The grid of the last layer's outputs."""
        return self.layers[-1].query_grid


def choose_stack(
    pattern: Pattern | None,
    params: tuple[tuple[str, int], ...],
    layers: int | None,
    model: Path | None,
    grid: Grid | None,
    query_grid: Grid | None,
    order: str | None,
    nonsquare: str | None,
    stride: int | str | None,
) -> StackChoice:
    """The stack of ``PATTERN --layers N`` (every layer on the key grid, the last one
    on ``query_grid`` too) or of ``--model FILE``; a :class:`YlgError` for a choice that
    is not one of these.

    >>> from ylg.patterns import load_pattern
    >>> c = choose_stack(load_pattern("ltr"), (), 3, None, Grid(4, 4), None, None, None, None)
    >>> len(c.layers), c.name, c.layers[0] is c.layers[2]
    (3, 'ltr x3', True)
    """
    if (pattern is None) == (model is None):
        raise YlgError("give a PATTERN (with --layers N) or --model FILE, one of the two")
    check_nonsquare_use(query_grid, nonsquare)
    if model is not None:
        if layers is not None:
            raise YlgError("--layers goes with a PATTERN; a model file lists its own layers")
        if params:
            raise YlgError("--param goes with a PATTERN; a model file sets each layer's params")
        chosen = load_model(model)
        if grid is None and chosen.grid is None:
            raise YlgError(f"model {chosen.name!r} names no grid; give --grid")
        base = grid if grid is not None else chosen.grid
        layout = Layout(base, query_grid, None, nonsquare, None)
        stack = chosen.on(layout, order=order, stride=stride)
        return StackChoice(stack, stack, chosen.name, stacked=True, model=True)
    assert pattern is not None
    if grid is None:
        raise YlgError("give --grid (like --grid 32x32 or --grid 16x32x32)")
    depth = 1 if layers is None else layers
    laid = pattern.with_params(dict(check_param_names(params)))
    layout = Layout(grid, query_grid, order, nonsquare, stride)
    last = laid.on(layout)
    inner = last.square_on_keys()
    stack = [inner] * (depth - 1) + [last]
    name = f"{laid.name} x{depth}" if depth > 1 else laid.name
    return StackChoice(stack, [inner], name, stacked=layers is not None)


def stack_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``[PATTERN] [--param NAME=INT] [--layers N] [--model FILE]`` and the layout
    options (``--grid`` optional when the model names its grid), handed to the command
    as one :class:`StackChoice` named ``choice``."""
    options = [
        click.argument("pattern", type=PATTERN, required=False),
        param_option(),
        click.option(
            "--layers",
            type=click.IntRange(1, MAX_LAYERS),
            default=None,
            help="Layers of PATTERN stacked (default: one, checked on its own).",
        ),
        click.option(
            "--model",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="A model file (TOML): its [[layers]] in order, instead of a PATTERN.",
        ),
        *layout_option_list(required=False),
    ]

    def build(_: dict[str, Any], **values: Any) -> tuple[str, StackChoice]:
        return "choice", choose_stack(**values)

    return merge_options(
        fn, options, ("pattern", "params", "layers", "model", *LAYOUT_NAMES), build
    )
