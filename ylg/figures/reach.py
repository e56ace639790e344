"""Reach across layers: receptive-field maps, and one output's reach layer by layer.

The first panel is the *receptive-field map* of a stack of attention layers: each
output cell shaded by how many inputs reach it after all the layers (dark: few, bright:
many, the colour bar in inputs). With ``query``, one more panel per depth shows the
inputs that one output reads after 1, 2, ... layers (dark blue) and the rest (yellow),
the output's cell outlined in red. How a grid is drawn follows its axes:

- 2-D (``HxW``): one image per panel;
- 3-D (``TxHxW``, a video): the frames side by side, like a film strip, at most
  at most :data:`~ylg.figures.cells.FRAMES_PER_ROW` to a row (:class:`~ylg.figures.cells.Canvas`);
- 1-D (a sequence): the map is a curve over the positions, and the reach of the output
  one row of cells per depth.

>>> from ylg.patterns import load_pattern
>>> window = load_pattern("window").on("8x8")
>>> fig = draw_reach([window] * 2, query=(0, 0))
>>> [ax.get_title().splitlines()[0] for ax in fig.axes if ax.get_title()]
['receptive field after 2 layers', 'after 1 layer', 'after 2 layers']
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from ylg.errors import YlgError
from ylg.figures.cells import Canvas
from ylg.figures.query import query_position
from ylg.figures.style import DARK_BLUE, RED, YELLOW, new_figure, rgb
from ylg.ifg.report import plural
from ylg.ifg.stack import Stack, as_stack, output_reach, receptive_field
from ylg.patterns import Grid, Masks

#: Most cells a drawn grid may have (a 128x128x128 video).
MAX_CELLS = 1 << 21
#: Most depths drawn for one output's reach.
MAX_DEPTHS = 16
#: Colour map of the receptive-field counts.
COUNT_CMAP = colormaps["viridis"]


def output_position(grid: Grid, query: "int | tuple[int, ...] | str | None") -> int:
    """An output given as a position, a cell (``(i, j)``, ``(t, i, j)``) or text
    (``"i,j"``, ``"t,i,j"`` or ``"5"``); ``None`` is the centre cell.

    >>> g = Grid(2, 4, 4)
    >>> [output_position(g, q) for q in [(1, 2, 3), "0,1,1", 7, None]]
    [27, 5, 7, 26]
    """
    return query_position(grid, query, what="output")


def frames(values: np.ndarray, grid: Grid) -> np.ndarray:
    """Values over a 2-D or 3-D grid as one image, laid out by
    :class:`~ylg.figures.cells.Canvas` (a video's frames side by side, NaN between them).

    >>> frames(np.arange(8.0), Grid(2, 2, 2)).tolist()[0]
    [0.0, 1.0, nan, 4.0, 5.0]
    """
    return Canvas(grid).image(np.asarray(values, dtype=np.float64))


def _reach_image(reached: np.ndarray, grid: Grid) -> np.ndarray:
    """RGBA image of a bool map: dark blue reached, yellow not, white between frames."""
    img = frames(reached.astype(np.float64), grid)
    out = np.ones(img.shape + (4,))
    out[img == 1, :3] = rgb(DARK_BLUE) / 255
    out[img == 0, :3] = rgb(YELLOW) / 255
    out[np.isnan(img), 3] = 0.0
    return out


def draw_reach(
    layers: "Stack | Masks | Sequence[Masks]",
    *,
    query: "int | tuple[int, ...] | str | None" = None,
    title: str | None = None,
    method: str = "auto",
    progress: bool = False,
) -> Figure:
    """The receptive-field map of a stack (a :class:`~ylg.ifg.stack.Stack` or a list of
    masks) and, with ``query`` (an output: a position, a cell or ``"t,i,j"`` text), that
    output's reach after 1, 2, ... layers (at most :data:`MAX_DEPTHS` of them, spread
    from the first layer to the last).

    >>> from ylg.patterns import load_pattern
    >>> fig = draw_reach([load_pattern("window").on("2x4x4")] * 3)
    >>> fig.axes[0].get_title().splitlines()[1:]
    ['min 32, mean 32.0, max 32 of 32 inputs', '32 of 32 outputs read every input']
    """
    stack = as_stack(layers)
    grid = stack.grids[-1]
    source = stack.grids[0]
    if max(grid.size, source.size) > MAX_CELLS:
        raise YlgError(f"a reach figure draws grids of at most {MAX_CELLS} cells, not {grid}")
    counts = receptive_field(stack, method=method, progress=progress)
    depth = len(stack.layers)
    reach = None
    position = None
    if query is not None:
        if source != grid:
            raise YlgError(
                f"one output's reach is drawn on one grid; the stack reads {source} and"
                f" writes {grid}"
            )
        position = output_position(grid, query)
        reach = output_reach(stack, position, method=method)
    # At most MAX_DEPTHS depths, spread from the first to the last (where the reach
    # grows most and where it ends).
    depths = np.unique(np.linspace(1, depth, min(depth, MAX_DEPTHS)).round().astype(int))
    if reach is not None:
        reach = reach[depths - 1]
    panels = 1 + (0 if reach is None else reach.shape[0])
    if grid.ndim == 1:
        fig = _draw_line(stack, counts, reach, position, depths)
    else:
        fig = _draw_maps(stack, grid, counts, reach, position, depths, panels)
    fig.suptitle(title or f"{stack.name} on {stack.layout}", fontsize=10)
    return fig


def _summary(counts: np.ndarray, inputs: int) -> str:
    full = int((counts == inputs).sum())
    return (
        f"min {int(counts.min())}, mean {counts.mean():.1f}, max {int(counts.max())} of"
        f" {inputs} inputs\n{full} of {counts.size} outputs read every input"
    )


def _draw_maps(
    stack: Stack,
    grid: Grid,
    counts: np.ndarray,
    reach: np.ndarray | None,
    position: int | None,
    depths: np.ndarray,
    panels: int,
) -> Figure:
    inputs = stack.grids[0].size
    image = frames(counts, grid)
    rows_px, cols_px = image.shape
    wide = cols_px > 2 * rows_px
    cols = 1 if wide else min(4, panels)
    rows = math.ceil(panels / cols)
    side = 9.0 if wide else 3.4
    pw, ph = side, side * rows_px / cols_px
    if not wide and ph > side:
        pw, ph = side * cols_px / rows_px, side
    dpi = min(200, max(100, math.ceil(3 * cols_px / pw)))
    fig = new_figure(cols * (pw + 0.6) + 0.8, rows * (ph + 0.75) + 0.5, dpi=dpi)
    pad = 10 if grid.ndim == 3 else 4
    axes = [fig.add_subplot(rows, cols, i + 1) for i in range(panels)]
    ax = axes[0]
    norm = Normalize(0, max(1, int(counts.max())))
    cmap = COUNT_CMAP.with_extremes(bad=(1, 1, 1, 0))
    canvas = Canvas(grid)
    ax.imshow(
        np.ma.masked_invalid(image),
        cmap=cmap,
        norm=norm,
        interpolation="nearest",
        extent=canvas.extent(),
    )
    canvas.style(ax, borders=False)
    bar = fig.colorbar(ScalarMappable(norm, cmap), ax=ax, shrink=0.9, aspect=12, pad=0.02)
    bar.set_label("inputs reaching the output", fontsize=7)
    bar.ax.tick_params(labelsize=7)
    depth = len(stack.layers)
    ax.set_title(
        f"receptive field after {plural(depth, 'layer')}\n{_summary(counts, inputs)}",
        fontsize=8,
        pad=pad,
    )
    if reach is not None and position is not None:
        for offset, (ax, row) in enumerate(zip(axes[1:], reach)):
            ax.imshow(_reach_image(row, grid), interpolation="nearest", extent=canvas.extent())
            canvas.style(ax, borders=False)
            canvas.mark(ax, grid, position, lw=2)
            ax.set_title(
                f"after {plural(int(depths[offset]), 'layer')}\noutput {grid.cell(position)}"
                f" reads {int(row.sum())} of {inputs} inputs",
                fontsize=8,
                pad=pad,
            )
        fig.legend(
            handles=[
                Patch(color=DARK_BLUE, label="reaches the output"),
                Patch(color=YELLOW, label="does not"),
                Patch(fill=False, ec=RED, lw=2, label="the output"),
            ],
            loc="outside lower center",
            ncol=3,
            fontsize=7,
            frameon=False,
        )
    return fig


def _draw_line(
    stack: Stack,
    counts: np.ndarray,
    reach: np.ndarray | None,
    position: int | None,
    depths: np.ndarray,
) -> Figure:
    inputs = stack.grids[0].size
    depth = len(stack.layers)
    rows = 1 if reach is None else 2
    fig = new_figure(7.5, 2.6 * rows + 0.4, dpi=120)
    ax = fig.add_subplot(rows, 1, 1)
    ax.plot(np.arange(counts.size), counts, drawstyle="steps-mid", color=DARK_BLUE, lw=1.2)
    ax.axhline(inputs, color=RED, ls="--", lw=0.8, label=f"every input ({inputs})")
    ax.set_ylim(0, inputs * 1.08)
    ax.set_xlim(-0.5, counts.size - 0.5)
    ax.set_xlabel("output position", fontsize=8)
    ax.set_ylabel("inputs reaching it", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(
        f"receptive field after {plural(depth, 'layer')}\n{_summary(counts, inputs)}", fontsize=8
    )
    if reach is not None and position is not None:
        ax2 = fig.add_subplot(rows, 1, 2)
        img = np.where(reach[..., None], rgb(DARK_BLUE), rgb(YELLOW)).astype(np.uint8)
        ax2.imshow(img, aspect="auto", interpolation="nearest")
        ax2.add_patch(
            Rectangle(
                (position - 0.5, -0.5), 1, reach.shape[0], fill=False, ec=RED, lw=1.5, zorder=5
            )
        )
        labels = [str(d) for d in depths]
        ax2.set_yticks(np.arange(reach.shape[0]), labels)
        ax2.set_ylabel("layers", fontsize=8)
        ax2.set_xlabel("input position", fontsize=8)
        ax2.tick_params(labelsize=7)
        ax2.set_title(f"inputs that output {position} reads, layer by layer", fontsize=8)
    return fig
