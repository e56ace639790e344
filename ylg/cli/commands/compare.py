"""``ylg compare``: metrics of several patterns or enumerations side by side."""

from __future__ import annotations

import json

import click

from ylg.cli.options import GRID, PATTERN
from ylg.patterns import NONSQUARE_RULES, ORDERS, Grid, Pattern
from ylg.progress import progress as progress_bar


@click.command("compare")
@click.argument("patterns", type=PATTERN, nargs=-1, required=True)
@click.option("--grid", "-g", type=GRID, required=True, help="Key grid, HxW (e.g. 32x32).")
@click.option("--query-grid", type=GRID, default=None, help="Query grid, when it differs.")
@click.option(
    "--order",
    "orders",
    type=click.Choice(list(ORDERS)),
    multiple=True,
    help="Enumeration(s) to compare; repeat the option (default: each pattern's own).",
)
@click.option("--nonsquare", type=click.Choice(list(NONSQUARE_RULES)), default=None)
@click.option("--stride", type=click.IntRange(min=1), default=None, help="Override s.")
@click.option("--markdown", is_flag=True, help="Print a markdown table.")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as one JSON object.")
def compare(
    patterns: tuple[Pattern, ...],
    grid: Grid,
    query_grid: Grid | None,
    orders: tuple[str, ...],
    nonsquare: str | None,
    stride: int | None,
    markdown: bool,
    as_json: bool,
) -> None:
    """Keys per query, density, 2-D locality and hops of PATTERNS, one row per step.

    Distances are Euclidean, in cells, between a query and each key it attends;
    hops is the number of steps, repeated in order, until every input reaches every
    output ("never" when repeating cannot get there).

    \b
    Examples:
      ylg compare ltr --grid 32x32 --order rowmajor --order esa --order hilbert --order zorder
      ylg compare fixed ltr strided strided-fi --grid 16x16 --markdown
    """
    from ylg.ifg.metrics import format_table, metrics

    jobs = [(p, o) for p in patterns for o in (orders or (None,))]
    results = [
        metrics(p.on(grid, query_grid=query_grid, order=o, nonsquare=nonsquare, stride=stride))
        for p, o in progress_bar(
            jobs, desc="patterns", unit="pattern", leave=False, disable=len(jobs) < 2
        )
    ]
    if as_json:
        click.echo(json.dumps({"grid": str(grid), "metrics": [m.to_dict() for m in results]}))
    else:
        click.echo(format_table(results, markdown=markdown))


COMMANDS = [compare]
