"""``ylg bench attention``: ylg's attention against PyTorch's SDPA on this machine."""

from __future__ import annotations

import click

from ylg.cli.options import (
    GRID,
    chosen_steps,
    layout_options,
    pattern_argument,
    step_option,
    tile_option,
)
from ylg.errors import YlgError
from ylg.patterns import Grid, Layout, Pattern


@click.group("bench")
def bench() -> None:
    """Measure ylg on this machine.

    \b
    Examples:
      ylg bench attention --grid 64x64 --backward
      ylg bench tiles ltr --grid 128x128
    """


@bench.command("attention")
@click.option("--grid", "-g", type=GRID, default="32x32", show_default=True, help="Key grid, HxW.")
@click.option(
    "--query-grid", type=GRID, default=None, help="Query grid, if not the key grid (SAGAN: 32x32)."
)
@click.option("--pattern", default="ylg", show_default=True, help="Pattern name or TOML file.")
@click.option("--heads", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--head-dim", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--backward", is_flag=True, help="Also time forward+backward.")
@click.option(
    "--methods",
    default=None,
    help="Comma-separated, from: sdpa, sdpa+mask, dense, grouped, flex, flex-eager"
    " (default: all but the flex ones).",
)
@click.option("--threads", type=click.IntRange(min=1), default=None, help="torch threads.")
@click.option("--repeats", type=click.IntRange(min=1), default=3, show_default=True)
@click.option("--no-verify", is_flag=True, help="Accept a pattern without Full Information.")
def attention(
    grid: Grid,
    query_grid: Grid | None,
    pattern: str,
    heads: int,
    head_dim: int,
    batch: int,
    backward: bool,
    methods: str | None,
    threads: int | None,
    repeats: int,
    no_verify: bool,
) -> None:
    """Time the sparse attention of a pattern (default: the published YLG heads) with
    each ylg backend, against PyTorch's scaled_dot_product_attention without a mask
    and with the pattern's boolean mask. Prints times (best of --repeats), peak
    memory and speed-ups over both.

    \b
    Example:
      ylg bench attention --grid 64x64 --heads 8 --head-dim 8 --backward
    """
    import torch  # here, not at import: every ylg command would pay for torch otherwise

    from ylg.attention.bench import METHODS, Case, run_case, table

    if methods is None:
        methods = ",".join(m for m in METHODS if not m.startswith("flex"))
    chosen = tuple(m.strip() for m in methods.split(",") if m.strip())
    unknown = [m for m in chosen if m not in METHODS]
    if unknown or not chosen:
        raise YlgError(f"unknown method(s) {', '.join(unknown)} (choose from {', '.join(METHODS)})")
    if threads is not None:
        torch.set_num_threads(threads)
    case = Case(
        str(grid),
        None if query_grid is None else str(query_grid),
        heads=heads,
        head_dim=head_dim,
        batch=batch,
        pattern=pattern,
        verify=not no_verify,
    )
    masks = case.masks()
    click.echo(
        f"{masks.nq} queries, {masks.nk} keys, heads {', '.join(masks.labels)};"
        f" head dim {head_dim}, batch {batch}, torch {torch.__version__},"
        f" {torch.get_num_threads()} thread(s)"
    )
    rows = run_case(case, chosen, backward=backward, repeats=repeats)
    click.echo(table(rows, backward=backward))


@bench.command("tiles")
@pattern_argument
@layout_options
@tile_option
@step_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def tiles(
    pattern: Pattern,
    layout: Layout,
    tile: int,
    steps: tuple[int, ...],
    as_json: bool,
) -> None:
    """How many tiles a block-sparse kernel (FlexAttention) visits per step: in the
    pattern's enumeration order, and under the tile planner's query and key orders.

    pair_share = attended pairs / all pairs (the floor of any sparse kernel);
    tile_share = non-empty tiles / all tiles under the planner's orders.

    \b
    Example:
      ylg bench tiles ltr --grid 128x128
      ylg bench tiles ylg-heads.toml --grid 16x16 --query-grid 32x32 --tile 64 --json
    """
    import json

    from ylg.patterns.tiles import tile_report

    masks = pattern.on(layout)
    report = tile_report(masks, tile, chosen_steps(masks, steps))
    rows = []
    for step, (before, after) in zip(chosen_steps(masks, steps), report):
        row = {"step": step + 1, **after.summary()}
        row["before_nonempty_tiles"] = before.nonempty
        row["before_tile_share"] = before.tile_share
        rows.append(row)
    if as_json:
        layout = {"layout": masks.describe(), "pattern": masks.pattern.name, "tile": tile}
        click.echo(json.dumps({**layout, "steps": rows}, indent=2))
        return
    click.echo(f"{masks.pattern.name} on {masks.describe()}, {tile} x {tile} tiles")
    head = ("step", "pairs", f"tiles ({masks.order})", "tiles (planned)", "x pairs", "padding q/k")
    click.echo("  ".join(f"{h:>16}" for h in head))
    for r in rows:
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}"
        cells = (
            str(r["step"]),
            f"{100 * r['pair_share']:.3f}%",
            f"{r['before_nonempty_tiles']} ({100 * r['before_tile_share']:.2f}%)",
            f"{r['nonempty_tiles']} ({100 * r['tile_share']:.2f}%)",
            ratio,
            f"{r['query_padding']}/{r['key_padding']}",
        )
        click.echo("  ".join(f"{c:>16}" for c in cells))


COMMANDS = [bench]
