"""``ylg export``: masks to an ``.npz`` file."""

from __future__ import annotations

from pathlib import Path

import click

from ylg.cli.options import PATTERN, build_masks, layout_options
from ylg.fileio import safe_stem
from ylg.patterns import Grid, Masks, Pattern


def default_npz_name(masks: Masks) -> str:
    """``<pattern>-<grid>[-q<query grid>]-<order>.npz``, a name in the current folder
    whatever the pattern's name holds (see :func:`ylg.fileio.safe_stem`)."""
    name = f"{safe_stem(masks.pattern.name)}-{masks.grid}"
    if not masks.square:
        name += f"-q{masks.query_grid}-{masks.nonsquare}"
    return f"{name}-{masks.order}.npz"


@click.command("export")
@click.argument("pattern", type=PATTERN)
@layout_options
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The .npz to write (default: <pattern>-<grid>-<order>.npz here).",
)
def export(
    pattern: Pattern,
    grid: Grid,
    query_grid: Grid | None,
    order: str | None,
    nonsquare: str | None,
    stride: int | None,
    output: Path | None,
) -> None:
    """Write a pattern's masks to an .npz: `masks` (bool [steps, nq, nk], M[q, k] = query
    q may attend key k, row-major positions) and `meta` (JSON: pattern source, grids,
    order, stride, ylg version, sha256 of the masks).

    \b
    Example:
      ylg export ltr --grid 16x16 --query-grid 32x32 --order esa -o ltr.npz
    """
    masks = build_masks(pattern, grid, query_grid, order, nonsquare, stride)
    path = output or Path(default_npz_name(masks))
    meta = masks.save_npz(path)
    click.echo(f"wrote {path}  masks {tuple(meta['shape'])}  sha256 {meta['sha256'][:16]}")


COMMANDS = [export]
