"""``ylg patterns list`` and ``ylg patterns show``."""

from __future__ import annotations

import click
import numpy as np

from ylg.cli.describe import describe_masks
from ylg.cli.options import layout_options, pattern_argument
from ylg.patterns import Layout, Pattern, library

TEXT_MASK_LIMIT = 256


@click.group("patterns")
def patterns() -> None:
    """List the pattern library and show patterns on a grid.

    \b
    Examples:
      ylg patterns list
      ylg patterns show ltr --grid 3x3 --order rowmajor
      ylg patterns show my-pattern.toml --grid 16x16 --query-grid 32x32
    """


@patterns.command("list")
def list_patterns() -> None:
    """Name, number of steps and description of every library pattern.

    \b
    Example:
      ylg patterns list
    """
    entries = library()
    width = max(len(name) for name in entries)
    click.echo(f"{'name':<{width}}  steps  order     description")
    for name, pattern in entries.items():
        click.echo(
            f"{name:<{width}}  {len(pattern.steps):>5}  {pattern.order:<8}  {pattern.description}"
        )


def text_mask(mask: np.ndarray) -> list[str]:
    """One line per query row, ``#`` for an attended key and ``.`` otherwise."""
    return ["".join("#" if v else "." for v in row) for row in mask]


@patterns.command("show")
@pattern_argument
@layout_options
def show(
    pattern: Pattern,
    layout: Layout,
) -> None:
    """Steps, counts of ones, attended keys per query, and (small grids) the masks as text.

    PATTERN is a library name or a pattern TOML file.

    \b
    Example:
      ylg patterns show ltr --grid 3x3 --order rowmajor
    """
    masks = pattern.on(layout)
    masks.validate(progress=True)
    for line in describe_masks(masks):
        click.echo(line)
    if masks.nk <= TEXT_MASK_LIMIT and masks.nq <= TEXT_MASK_LIMIT:
        dense = masks.dense()
        click.echo("masks: rows are queries, columns keys (row-major positions); # = attended")
        for i in range(masks.num_steps):
            click.echo(f"step {i + 1}")
            for line in text_mask(dense[i]):
                click.echo(line)


COMMANDS = [patterns]
