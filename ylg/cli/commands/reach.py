"""``ylg draw reach``: the receptive-field map of a stack of layers, and one output's
reach layer by layer.

A stack is a pattern repeated (``PATTERN --layers N``) or a model file (``--model``);
``ylg verify`` and ``ylg flow`` check the same stacks.
"""

from __future__ import annotations

from pathlib import Path

import click

from ylg.cli.drawing import draw, output_option, write_figure
from ylg.cli.stacking import StackChoice, stack_options
from ylg.fileio import safe_stem


@draw.command("reach")
@stack_options
@click.option(
    "--query",
    default=None,
    help="An output cell (i,j or t,i,j, or a position) whose reach to draw after 1, 2, ... layers.",
)
@output_option
def reach(choice: StackChoice, query: str | None, output: Path | None) -> None:
    """The receptive-field map of a stack (how many inputs reach each output), and with
    --query one output's reach layer by layer. A 3-D grid is drawn frame by frame.

    \b
    Examples:
      ylg draw reach window --layers 3 --grid 16x16 --query 2,3 -o reach.png
      ylg draw reach --model video-dit.toml --grid 8x16x16 -o video-reach.png
    """
    from ylg.figures.reach import draw_reach
    from ylg.ifg.stack import Stack

    fig = draw_reach(Stack(choice.layers, name=choice.name), query=query, progress=True)
    grid = choice.output_grid
    write_figure(fig, output, f"{safe_stem(choice.name)}-{grid}-reach.png")


COMMANDS: list[click.Command] = []  # draw reach joins the draw group
