"""``ylg flow``: the max flow between two sets of tokens, and its bottleneck."""

from __future__ import annotations

import json

import click

from ylg.cli.stacking import StackChoice, stack_options


@click.command("flow")
@stack_options
@click.option(
    "--from",
    "sources",
    required=True,
    help="Input cells (key grid), written i,j;i,j or t,i,j (or positions 5;7).",
)
@click.option(
    "--to",
    "sinks",
    required=True,
    help="Output cells (query grid), written i,j;i,j or t,i,j (or positions 5;7).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
def flow(choice: StackChoice, sources: str, sinks: str, as_json: bool) -> None:
    """Max flow from input cells to output cells of PATTERN, or across a stack of layers
    (--layers N, --model FILE), one unit per token per layer.

    The bottleneck is a minimum cut: the fewest tokens whose removal disconnects the
    inputs from the outputs.

    \b
    Examples:
      ylg flow star --grid 4x4 --from "0,1;0,2" --to "3,0;3,3"
      ylg flow star --layers 2 --grid 8x8 --from "0,0;0,1" --to "7,7;7,6"
    """
    from ylg.ifg.report import max_flow_lines

    if choice.stacked:
        from ylg.ifg.stack import Stack, stack_max_flow

        layers = Stack(choice.layers, name=choice.name)
        first, last = layers.grids[0], layers.grids[-1]
        result = stack_max_flow(layers, first.parse_cells(sources), last.parse_cells(sinks))
    else:
        from ylg.ifg.flow import max_flow

        masks = choice.layers[0]
        result = max_flow(
            masks, masks.grid.parse_cells(sources), masks.query_grid.parse_cells(sinks)
        )
    if as_json:
        click.echo(json.dumps(result.to_dict()))
    else:
        click.echo("\n".join(max_flow_lines(result)))


COMMANDS = [flow]
