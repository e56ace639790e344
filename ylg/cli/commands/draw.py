"""``ylg draw mask|ifg|order|query``: the paper's figures for any pattern.

Each subcommand writes one figure, in the format its file name ends with (``.png``,
``.svg``, ``.pdf``); without ``-o`` a ``.png`` named after the pattern lands in the
current folder. matplotlib is imported only when a figure is drawn, so that the
other ``ylg`` commands start fast. The group and its shared options live in
:mod:`ylg.cli.drawing`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ylg.cli.drawing import draw, figure_name, output_option, write_figure
from ylg.cli.options import (
    PATTERN,
    chosen_steps,
    grid_option,
    layout_options,
    orders_option,
    pattern_argument,
    step_option,
    tile_option,
)
from ylg.errors import YlgError
from ylg.fileio import safe_stem
from ylg.patterns import Grid, Layout, Pattern

if TYPE_CHECKING:
    import numpy as np


@draw.command("mask")
@pattern_argument
@layout_options
@click.option("--per-step", is_flag=True, help="One panel per step instead of one for both.")
@click.option(
    "--by-order",
    is_flag=True,
    help="Rows and columns in the enumeration order (an ESA mask shows its 1-D form).",
)
@click.option(
    "--resolution",
    type=click.IntRange(min=16, max=4096),
    default=512,
    show_default=True,
    help="Most pixels a side; larger masks are pooled (a pixel is coloured if any cell is).",
)
@output_option
def mask(
    pattern: Pattern,
    layout: Layout,
    per_step: bool,
    by_order: bool,
    resolution: int,
    output: Path | None,
) -> None:
    """The masks: query rows, key columns; both steps, step 1 only, step 2 only, none.

    \b
    Example:
      ylg draw mask ltr --grid 128x128 --by-order -o ltr-128.png
    """
    from ylg.figures import draw_masks

    masks = pattern.on(layout)
    fig = draw_masks(
        masks, per_step=per_step, by_order=by_order, resolution=resolution, progress=True
    )
    write_figure(fig, output, figure_name(masks, "mask"))


@draw.command("ifg")
@pattern_argument
@layout_options
@click.option("--missing", is_flag=True, help="Mark the (input, output) pairs with no path.")
@click.option(
    "--paths-to",
    type=click.IntRange(min=0),
    default=None,
    metavar="OUTPUT",
    help="Highlight the paths that reach this output node (a position of the last layer).",
)
@output_option
def ifg(
    pattern: Pattern,
    layout: Layout,
    missing: bool,
    paths_to: int | None,
    output: Path | None,
) -> None:
    """The Information Flow Graph: layers V0..Vp, one edge per attended pair (up to 64
    tokens a layer, on any grid: a video's tokens frame after frame).

    \b
    Example:
      ylg draw ifg fixed --grid 3x3 --order rowmajor --missing --paths-to 1
    """
    from ylg.figures import draw_ifg

    masks = pattern.on(layout)
    fig = draw_ifg(masks, missing=missing, paths_to=paths_to)
    write_figure(fig, output, figure_name(masks, "ifg"))


@draw.command("order")
@click.argument("pattern", type=PATTERN, required=False)
@grid_option("The grid: 64, HxW (8x8) or TxHxW (4x8x8).")
@orders_option(
    "An order to draw (repeat for several; default: rowmajor and esa, and the pattern's own)."
)
@output_option
def order(
    pattern: Pattern | None, grid: Grid, orders: tuple[str, ...], output: Path | None
) -> None:
    """Enumerations: each cell's number in the order, and the order as a path.

    PATTERN is optional: its own order joins row-major and ESA. A video grid (TxHxW)
    is drawn frame by frame, a sequence as one row.

    \b
    Examples:
      ylg draw order --grid 8x8 --order rowmajor --order esa --order hilbert
      ylg draw order --grid 4x8x8 --order hilbert --order snake
    """
    from ylg.figures import draw_orders

    chosen = list(orders) or ["rowmajor", "esa"]
    if not orders and pattern is not None and pattern.order not in chosen:
        chosen.append(pattern.order)
    stem = safe_stem(pattern.name) if pattern is not None else "orders"
    fig = draw_orders(grid, chosen)
    write_figure(fig, output, f"{stem}-{grid}-{'-'.join(chosen)}-order.png")


def read_image(path: Path) -> np.ndarray:
    """An image file as ``H x W x 3`` (or 4) numbers; :class:`YlgError` if unreadable."""
    import numpy as np
    from matplotlib import image

    try:
        picture = image.imread(path)
    except (OSError, ValueError, SyntaxError) as exc:
        raise YlgError(f"cannot read the image {path}: {exc}") from None
    if picture.ndim == 2:
        picture = np.stack([picture] * 3, axis=-1)
    return picture


@draw.command("query")
@pattern_argument
@layout_options
@click.option(
    "--query",
    "-q",
    "query",
    default=None,
    metavar="CELL",
    help="The query cell, i,j (t,i,j on a video) or a position on the query grid"
    " (default: the centre).",
)
@click.option("--no-reach", is_flag=True, help="Leave out the panel of cells reached in all steps.")
@click.option(
    "--image",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A picture (PNG) to draw the key grid over; its centre is cropped to the key"
    " grid's aspect, never stretched.",
)
@output_option
def query(
    pattern: Pattern,
    layout: Layout,
    query: str | None,
    no_reach: bool,
    image: Path | None,
    output: Path | None,
) -> None:
    """One query's attention on the key grid: each step's keys and the cells reached.
    A video's key grid (TxHxW) is drawn frame by frame, a sequence as one row.

    \b
    Examples:
      ylg draw query rtl --grid 16x16 --query-grid 32x32 --query 20,5
      ylg draw query window --grid 4x16x16 --query 2,8,8
    """
    from ylg.figures import draw_query

    masks = pattern.on(layout)
    picture = None if image is None else read_image(image)
    fig = draw_query(masks, query, image=picture, reach=not no_reach)
    write_figure(fig, output, figure_name(masks, "query"))


@draw.command("tiles")
@pattern_argument
@layout_options
@tile_option
@step_option
@output_option
def tiles(
    pattern: Pattern,
    layout: Layout,
    tile: int,
    steps: tuple[int, ...],
    output: Path | None,
) -> None:
    """The tiles a block-sparse kernel visits, per step: in the pattern's enumeration
    order (left) and under the tile planner's orders (right).

    \b
    Example:
      ylg draw tiles ltr --grid 64x64 --tile 128 -o ltr-tiles.png
    """
    from ylg.figures import draw_tiles
    from ylg.patterns.tiles import tile_report

    masks = pattern.on(layout)
    chosen = chosen_steps(masks, steps)
    report = tile_report(masks, tile, chosen)
    titles = [[f"step {s + 1}, {masks.order} order", f"step {s + 1}, planned"] for s in chosen]
    fig = draw_tiles([list(pair) for pair in report], titles)
    write_figure(fig, output, figure_name(masks, "tiles"))


COMMANDS = [draw]
