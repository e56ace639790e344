"""``ylg stack`` and ``ylg draw reach``: verification across layers.

A stack is a pattern repeated (``PATTERN --layers N``) or a model file (``--model``).
``ylg stack`` prints Full Information across the whole stack, the receptive fields of
its outputs (how many inputs reach each one), the layers Full Information needs and,
with ``--from``/``--to``, the max flow between two token sets across every layer.
``ylg draw reach`` draws the receptive-field map and one output's reach layer by layer.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from ylg.cli.drawing import draw, output_option, write_figure
from ylg.cli.stacking import StackChoice, stack_options
from ylg.fileio import safe_stem

#: The same as ylg.ifg.stack's (importing it here would load scipy whenever ylg starts).
DEFAULT_MAX_LAYERS = 256
MAX_LAYERS = 1 << 16
METHODS = ("auto", "bitsets")


@click.command("stack")
@stack_options
@click.option(
    "--max-layers",
    type=click.IntRange(1, MAX_LAYERS),
    default=DEFAULT_MAX_LAYERS,
    show_default=True,
    help="Most layers tried when counting the layers Full Information needs.",
)
@click.option(
    "--needed/--no-needed",
    default=True,
    show_default=True,
    help="Count the layers Full Information needs (the pattern, or the model's layers, repeated).",
)
@click.option(
    "--from",
    "sources",
    default=None,
    help="Input cells for a max flow across the stack, written i,j;i,j (or positions 5;7).",
)
@click.option(
    "--to",
    "sinks",
    default=None,
    help="Output cells for the max flow, written i,j;i,j (or positions 5;7).",
)
@click.option(
    "--examples",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    help="Missing (input, output) pairs to show when Full Information fails.",
)
@click.option(
    "--method",
    type=click.Choice(METHODS),
    default="auto",
    show_default=True,
    help="auto: per group of grid axes where the steps allow it; bitsets: the whole grid.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as one JSON object.")
@click.pass_context
def stack(
    ctx: click.Context,
    choice: StackChoice,
    max_layers: int,
    needed: bool,
    sources: str | None,
    sinks: str | None,
    examples: int,
    method: str,
    as_json: bool,
) -> None:
    """Check a stack of attention layers: Full Information across all of them, the
    receptive field of each output, and how many layers Full Information needs.

    The stack is PATTERN (a library name or a pattern TOML file) repeated --layers
    times, or the layers of a model file (--model). Exit code 0: every input reaches
    every output after the stack; 1: not; 2: bad input.

    \b
    Examples:
      ylg stack window --layers 4 --grid 32x32
      ylg stack na --layers 4 --grid 16x32x32 --json
      ylg stack na --layers 2 --grid 16x32x32 --param win_t=3 --param win_i=9
      ylg stack --model video.toml --grid 16x32x32
      ylg stack star --layers 2 --grid 8x8 --from "0,0;0,1" --to "7,7;7,6"
    """
    from ylg.errors import YlgError
    from ylg.ifg.report import max_flow_lines, stack_lines
    from ylg.ifg.stack import Stack, stack_max_flow, verify_stack

    if (sources is None) != (sinks is None):
        raise YlgError("give both --from and --to for a max flow across the stack")
    layers = Stack(choice.layers, name=choice.name)
    verdict = verify_stack(
        layers,
        cycle=choice.cycle,
        examples=examples,
        needed=needed,
        max_layers=max_layers,
        method=method,
        progress=True,
    )
    flow = None
    if sources is not None and sinks is not None:
        first, last = layers.grids[0], layers.grids[-1]
        flow = stack_max_flow(layers, first.parse_cells(sources), last.parse_cells(sinks))
    if as_json:
        data = verdict.to_dict()
        if flow is not None:
            data["max_flow"] = flow.to_dict()
        click.echo(json.dumps(data))
    else:
        lines = stack_lines(verdict)
        if flow is not None:
            lines += max_flow_lines(flow)
        click.echo("\n".join(lines))
    ctx.exit(0 if verdict.holds else 1)


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
      ylg draw reach --model video.toml --grid 8x16x16 -o video-reach.png
    """
    from ylg.figures.reach import draw_reach
    from ylg.ifg.stack import Stack

    fig = draw_reach(Stack(choice.layers, name=choice.name), query=query, progress=True)
    grid = choice.output_grid
    write_figure(fig, output, f"{safe_stem(choice.name)}-{grid}-reach.png")


COMMANDS = [stack]
