"""``ylg export``: masks to an ``.npz`` file."""

from __future__ import annotations

from pathlib import Path

import click

from ylg.cli.describe import default_npz_name
from ylg.cli.options import layout_options, pattern_argument
from ylg.patterns import Layout, Pattern


@click.command("export")
@pattern_argument
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
    layout: Layout,
    output: Path | None,
) -> None:
    """Write a pattern's masks to an .npz: `masks` (bool [steps, nq, nk], M[q, k] = query
    q may attend key k, row-major positions) and `meta` (JSON: pattern source, grids,
    order, stride, ylg version, sha256 of the masks).

    \b
    Example:
      ylg export ltr --grid 16x16 --query-grid 32x32 --order esa -o ltr.npz
    """
    masks = pattern.on(layout)
    path = output or Path(default_npz_name(masks))
    meta = masks.save_npz(path)
    click.echo(f"wrote {path}  masks {tuple(meta['shape'])}  sha256 {meta['sha256'][:16]}")


COMMANDS = [export]
