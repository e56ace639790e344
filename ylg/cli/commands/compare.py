"""``ylg compare``: metrics of several patterns or enumerations side by side, and (with
``--tiles``) the tiles a block-sparse kernel visits under each order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ylg.cli.common_options import OutputPath, given
from ylg.cli.drawing import check_figure_path, write_figure
from ylg.cli.options import (
    GRID,
    NONSQUARE,
    PARAM,
    PATTERN,
    STRIDE,
    STRIDE_HELP,
    check_nonsquare_use,
    check_param_names,
    grid_option,
    orders_option,
    tile_option,
)
from ylg.errors import YlgError
from ylg.patterns import Grid, Layout, Pattern
from ylg.progress import progress as progress_bar


@click.command("compare")
@click.argument("patterns", type=PATTERN, nargs=-1, required=True)
@grid_option("Key grid: 64, HxW (32x32) or TxHxW (16x32x32).")
@click.option("--query-grid", type=GRID, default=None, help="Query grid, when it differs.")
@orders_option(
    "Enumeration(s) to lay the patterns in; repeat the option (default: each pattern's own)."
)
@click.option(
    "--nonsquare",
    type=NONSQUARE,
    default=None,
    help="How queries map onto a different key grid (default: the pattern's).",
)
@click.option("--stride", type=STRIDE, default=None, help=STRIDE_HELP)
@click.option(
    "--param",
    "params",
    type=PARAM,
    multiple=True,
    help="Set a parameter, NAME=INT, of every pattern that has it (repeat for several).",
)
@click.option(
    "--tiles",
    is_flag=True,
    help="Also report, per step, the non-empty tiles a block-sparse kernel (FlexAttention)"
    " visits with the tokens in each order, laid and planned, and the planner's best.",
)
@tile_option
@click.option(
    "--figure",
    "-o",
    type=OutputPath(dir_okay=False, path_type=Path),
    default=None,
    callback=check_figure_path,
    help="Draw the tile shares per order as a bar chart (.png, .svg or .pdf; implies --tiles).",
)
@click.option("--markdown", is_flag=True, help="Print markdown tables.")
@click.option("--json", "as_json", is_flag=True, help="Print everything as one JSON object.")
@click.pass_context
def compare(
    ctx: click.Context,
    patterns: tuple[Pattern, ...],
    grid: Grid,
    query_grid: Grid | None,
    orders: tuple[str, ...],
    nonsquare: str | None,
    stride: int | str | None,
    params: tuple[tuple[str, int], ...],
    tiles: bool,
    tile: int,
    figure: Path | None,
    markdown: bool,
    as_json: bool,
) -> None:
    """Keys per query, density, locality and hops of PATTERNS, one row per step; with
    --tiles, which order of the tokens makes a block-sparse kernel fastest.

    Distances are Euclidean, in cells, between a query and each key it attends;
    hops is the number of steps, repeated in order, until every input reaches every
    output ("never" when repeating cannot get there).

    --tiles counts the non-empty TILE x TILE tiles of each step (what FlexAttention
    visits), as a share of the tiles dense attention visits, with queries and keys
    laid in each order (laid), after the tile planner rearranged them starting from
    that order (planned), and the planner's best plan (what ylg's flex backend runs);
    "fastest" is the order with the fewest laid tiles.

    \b
    Examples:
      ylg compare ltr --grid 32x32 --order rowmajor --order esa --order hilbert --order zorder
      ylg compare fixed ltr strided strided-fi --grid 16x16 --markdown
      ylg compare na sta --grid 16x32x32 --tiles -o tiles.png
    """
    from ylg.ifg.metrics import format_table, metrics
    from ylg.patterns.tiles import format_order_tiles, order_tiles

    if as_json and markdown:
        raise YlgError("--json and --markdown are two formats; choose one")
    check_nonsquare_use(query_grid, nonsquare)
    if given(ctx, "tile") and not tiles and figure is None:
        raise YlgError("--tile goes with --tiles or --figure; it would be ignored here")
    patterns = _with_params(patterns, dict(check_param_names(params)))
    layouts = [Layout(grid, query_grid, order, nonsquare, stride) for order in (orders or (None,))]
    jobs = [(p, layout) for p in patterns for layout in layouts]
    tiles = tiles or figure is not None
    bar = progress_bar(
        jobs, desc="patterns", unit="pattern", leave=False, disable=len(jobs) < 2 or tiles
    )
    results, reports, rules = [], [], {}
    for pattern, layout in bar:
        masks = pattern.on(layout)
        rules.setdefault(masks.nonsquare, []).append(masks.pattern.name)
        results.append(metrics(masks))
        if tiles:
            reports.append((masks, order_tiles(masks, tile, progress=True)))
    if as_json:
        out: dict[str, Any] = {"grid": str(grid), "metrics": [m.to_dict() for m in results]}
        if tiles:
            out["tiles"] = [
                {
                    "pattern": masks.pattern.name,
                    "layout": masks.describe(),
                    "steps": [entry.summary() for entry in report],
                }
                for masks, report in reports
            ]
        click.echo(json.dumps(out))
    else:
        if query_grid is not None and query_grid != grid:
            named = "; ".join(
                f"{rule} ({', '.join(dict.fromkeys(n))})" for rule, n in rules.items()
            )
            click.echo(f"{query_grid} queries over {grid} keys, non-square rule: {named}\n")
        click.echo(format_table(results, markdown=markdown))
        if tiles:
            click.echo(
                f"\nnon-empty {tile} x {tile} tiles (% of the tiles dense attention visits);"
                " laid: tokens in the order, planned: the tile planner started from it"
            )
            rows = [(m.pattern.name, m.order, report) for m, report in reports]
            click.echo(format_order_tiles(rows, markdown=markdown))
    if figure is not None:
        from ylg.figures import draw_order_tiles, save_figure

        named = [(m.pattern.name + (f", {m.order}" if orders else ""), r) for m, r in reports]
        where = layouts[0].describe() if not orders else Layout(grid, query_grid).describe()
        fig = draw_order_tiles(named, title=f"Tiles a block-sparse kernel visits on {where}")
        if as_json:
            save_figure(fig, figure)  # stdout holds the JSON alone
        else:
            write_figure(fig, figure, str(figure), err=markdown)


def _with_params(patterns: tuple[Pattern, ...], params: dict[str, int]) -> tuple[Pattern, ...]:
    """Each pattern with the parameters it has; a parameter no pattern has is an error."""
    for name in params:
        if not any(name in p.params for p in patterns):
            have = "; ".join(f"{p.name}: {', '.join(p.params) or 'none'}" for p in patterns)
            raise YlgError(f"no pattern here has a parameter {name!r} ({have})")
    return tuple(
        p.with_params({k: v for k, v in params.items() if k in p.params}) for p in patterns
    )


COMMANDS = [compare]
