"""``ylg bench attention``: ylg's attention against PyTorch's SDPA on this machine."""

from __future__ import annotations

import click

from ylg.cli.options import GRID
from ylg.errors import YlgError
from ylg.patterns import Grid


@click.group("bench")
def bench() -> None:
    """Measure ylg on this machine.

    \b
    Example:
      ylg bench attention --grid 64x64 --backward
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
    help="Comma-separated, from: sdpa, sdpa+mask, dense, grouped, flex (default: all but flex).",
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
        methods = ",".join(m for m in METHODS if m != "flex")
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


COMMANDS = [bench]
