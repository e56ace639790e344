"""``ylg flow``: the max flow between two sets of tokens, and its bottleneck."""

from __future__ import annotations

import json

import click

from ylg.cli.options import layout_options, pattern_argument
from ylg.patterns import Layout, Pattern


@click.command("flow")
@pattern_argument
@layout_options
@click.option(
    "--from",
    "sources",
    required=True,
    help="Input cells (key grid), written i,j;i,j (or positions 5;7).",
)
@click.option(
    "--to",
    "sinks",
    required=True,
    help="Output cells (query grid), written i,j;i,j (or positions 5;7).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
def flow(
    pattern: Pattern,
    layout: Layout,
    sources: str,
    sinks: str,
    as_json: bool,
) -> None:
    """Max flow from input cells to output cells of PATTERN, one unit per token per layer.

    The bottleneck is a minimum cut: the fewest tokens whose removal disconnects the
    inputs from the outputs.

    \b
    Example:
      ylg flow star --grid 4x4 --from "0,1;0,2" --to "3,0;3,3"
    """
    from ylg.ifg.flow import max_flow
    from ylg.ifg.report import max_flow_lines

    masks = pattern.on(layout)
    result = max_flow(masks, masks.grid.parse_cells(sources), masks.query_grid.parse_cells(sinks))
    if as_json:
        click.echo(json.dumps(result.to_dict()))
    else:
        click.echo("\n".join(max_flow_lines(result)))


COMMANDS = [flow]
