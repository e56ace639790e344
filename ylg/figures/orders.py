"""Enumeration figures (the paper's Figure 3): each cell's number in an order, and the path.

Every panel shows one enumeration of the grid: cells shaded from the first to the
last, each cell's rank written in it (up to :data:`NUMBER_LIMIT` cells a side and
:data:`NUMBER_CELLS` cells in all) and the order drawn as a path through the cell
centres (up to :data:`PATH_LIMIT` a side) from the first cell, outlined in red.
Row-major and ESA side by side are the default, as in the paper.

Grids of any number of axes are drawn the way :mod:`ylg.figures.cells` lays them out:
a sequence as one row of cells, a video (``TxHxW``) as its frames side by side,
labelled ``t=0``, ``t=1``, ..., one row of panels per order. On a video the path is
solid between touching cells of a frame, dotted for a longer step inside a frame
and a dotted arc where the order moves on to another frame.

>>> fig = draw_orders("4x4")
>>> [ax.get_title() for ax in fig.axes]
['row-major (reshape)', 'ESA (Manhattan distance)']
>>> fig = draw_orders("2x3x3", ["snake"])
>>> sorted({t.get_text() for t in fig.axes[0].texts if t.get_text().startswith("t=")})
['t=0', 't=1']
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle

from ylg.errors import YlgError
from ylg.figures.cells import Canvas
from ylg.figures.style import GRID_LINE, RED, new_figure
from ylg.patterns import ORDERS, Grid, enumeration, ranks

#: Readable names of the orders, for panel titles.
ORDER_TITLES = {
    "rowmajor": "row-major (reshape)",
    "esa": "ESA (Manhattan distance)",
    "hilbert": "Hilbert curve",
    "zorder": "Z-order (Morton)",
    "snake": "snake (boustrophedon)",
}
#: Grid sides up to which ranks are written in the cells.
NUMBER_LIMIT = 16
#: Most cells whose ranks are written (a 4x16x16 video, 64 ranks a frame).
NUMBER_CELLS = 1024
#: Grid sides up to which the path is drawn.
PATH_LIMIT = 64
#: Narrowest cell (inches) through which the path is drawn.
PATH_CELL = 0.07
#: Largest grid side drawn.
MAX_SIDE = 1024
#: Most cells drawn (a 16x256x256 video).
MAX_CELLS = 1 << 20
#: Light shades from the first cell to the last (viridis mixed with white).
RANK_CMAP = ListedColormap(0.5 + 0.5 * colormaps["viridis"](np.linspace(0, 1, 256))[:, :3])


def numbered(grid: Grid) -> bool:
    """Whether an enumeration figure of ``grid`` writes every cell's rank.

    >>> numbered(Grid(16, 16)), numbered(Grid(4, 16, 16)), numbered(Grid(5, 16, 16))
    (True, True, False)
    """
    _, h, w = grid.full_shape()
    return max(h, w) <= NUMBER_LIMIT and grid.size <= NUMBER_CELLS


def _font(canvas: Canvas, panel_w: float, digits: int) -> float:
    """Rank font size: the 2-D sizes of the paper's figures, smaller cells on a strip."""
    side = max(canvas.h, canvas.w)
    if not canvas.video and canvas.grid.ndim == 2:
        return 11 if side <= 8 else (9 if side <= 12 else 7)
    cell_points = 72 * panel_w / canvas.shape[1]
    return float(max(4.0, min(11.0, 0.8 * cell_points / max(1.0, 0.6 * digits + 0.4))))


def _path(ax: Axes, canvas: Canvas, order: np.ndarray, width: float) -> None:
    """The order as a line through the cell centres. On a video a step to a touching
    cell of the same frame is solid, a longer step inside a frame dotted, and a move
    to another frame a dotted arc (a straight line would run through the cells between
    the frames and read as steps through them)."""
    x, y = canvas.xy(order)
    if not canvas.video:
        ax.plot(x, y, color="#222222", linewidth=width, alpha=0.75, zorder=2)
        return
    t, i, j = np.unravel_index(order, canvas.grid.shape)
    same = t[1:] == t[:-1]
    touching = same & (np.maximum(np.abs(np.diff(i)), np.abs(np.diff(j))) == 1)
    style = {"color": "#222222", "zorder": 2, "linestyle": (0, (1, 2)), "alpha": 0.6}
    for keep, solid in ((touching, True), (same & ~touching, False)):
        breaks = np.flatnonzero(~keep)
        xs, ys = np.insert(x, breaks + 1, np.nan), np.insert(y, breaks + 1, np.nan)
        if solid:
            ax.plot(xs, ys, color="#222222", linewidth=width, alpha=0.75, zorder=2)
        elif keep.any():
            ax.plot(xs, ys, linewidth=0.7 * width, **style)
    for k in np.flatnonzero(~same).tolist():
        ax.add_patch(
            FancyArrowPatch(
                (x[k], y[k]),
                (x[k + 1], y[k + 1]),
                connectionstyle="arc3,rad=0.3",
                arrowstyle="-",
                linewidth=0.7 * width,
                **style,
            )
        )


def _panel(ax: Axes, canvas: Canvas, order: str, panel_w: float) -> None:
    grid = canvas.grid
    rank = ranks(order, grid.shape)
    path = enumeration(order, grid.shape)
    image = ax.imshow(
        np.ma.masked_invalid(canvas.image(rank.astype(np.float64))),
        cmap=RANK_CMAP,
        vmin=0,
        vmax=max(1, grid.size - 1),
        interpolation="nearest",
        extent=canvas.extent(),
        aspect="equal" if grid.ndim > 1 else "auto",
    )
    side = max(canvas.h, canvas.w)
    fx, fy = canvas.xy(path[:1])
    ax.add_patch(Rectangle((fx[0] - 0.5, fy[0] - 0.5), 1, 1, fill=False, ec=RED, lw=2.5, zorder=4))
    numbers = numbered(grid)
    if side <= PATH_LIMIT and panel_w / canvas.shape[1] >= PATH_CELL:
        _path(ax, canvas, path, 2.0 if numbers else 1.0)
    if numbers:
        size = _font(canvas, panel_w, len(str(grid.size - 1)))
        xs, ys = canvas.xy(np.arange(grid.size))
        for x, y, value in zip(xs, ys, rank):
            ax.text(
                x,
                y,
                str(value),
                ha="center",
                va="center",
                fontsize=size,
                zorder=3,
                bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8},
            )
    if grid.ndim == 2 and numbers:
        h, w = canvas.h, canvas.w
        ax.set_xticks(np.arange(w + 1) - 0.5, minor=True)
        ax.set_yticks(np.arange(h + 1) - 0.5, minor=True)
        ax.grid(which="minor", color=GRID_LINE, linewidth=0.6)
        ax.tick_params(which="minor", length=0)
        ax.set_xticks(range(w))
        ax.set_yticks(range(h))
    elif grid.ndim != 2:
        canvas.style(ax, borders=numbers, font=7)
    if not numbers:
        shrink, aspect = (1.0, 4) if grid.ndim == 1 else (0.7, 20)
        ax.figure.colorbar(image, ax=ax, shrink=shrink, aspect=aspect, label="rank in the order")
    ax.tick_params(labelsize=8)
    if grid.ndim == 2:
        ax.set_xlabel("column j")
        ax.set_ylabel("row i")
    title = ORDER_TITLES.get(order, order)
    ax.set_title(title, fontsize=10, pad=16 if canvas.video else 6)


def draw_orders(
    grid: "Grid | str",
    orders: Sequence[str] = ("rowmajor", "esa"),
    *,
    title: str | None = None,
) -> Figure:
    """Draw one panel per enumeration of ``grid`` (``"W"``, ``"HxW"`` or ``"TxHxW"``)
    and return the Figure: panels side by side on a 2-D grid, one above the other on a
    sequence or a video.

    >>> fig = draw_orders("3x5", ["hilbert"], title="Hilbert")
    >>> fig.get_suptitle()
    'Hilbert'
    """
    grid = Grid.parse(grid)
    if max(grid.shape) > MAX_SIDE or grid.size > MAX_CELLS:
        raise YlgError(
            f"an enumeration figure of a {grid} grid is unreadable (at most {MAX_SIDE} a side"
            f" and {MAX_CELLS:,} cells)"
        )
    orders = list(orders)
    if not orders:
        raise YlgError("name at least one order to draw")
    unknown = [o for o in orders if o not in ORDERS]
    if unknown:
        raise YlgError(f"unknown order {unknown[0]!r} (known: {', '.join(ORDERS)})")
    canvas = Canvas(grid)
    numbers = numbered(grid)
    extra = 0.8 if numbers else 1.8  # room for the colour bar
    if grid.ndim == 2:
        panel_w, panel_h = canvas.panel_size(4.5 if numbers else 5.0)
        fig = new_figure(len(orders) * (panel_w + extra) + 0.4, panel_h + 1.0, dpi=110)
        axes = [fig.add_subplot(1, len(orders), i + 1) for i in range(len(orders))]
    else:
        rows, cols = canvas.shape
        panel_w, panel_h = canvas.panel_size(min(11.0, max(4.0, 0.5 * cols)))
        fig = new_figure(panel_w + extra + 0.4, len(orders) * (panel_h + 0.9) + 0.6, dpi=110)
        axes = [fig.add_subplot(len(orders), 1, i + 1) for i in range(len(orders))]
    for ax, order in zip(axes, orders):
        _panel(ax, canvas, order, panel_w)
    what = f"a sequence of {grid.size} tokens" if grid.ndim == 1 else f"the {grid} grid"
    fig.suptitle(title or f"Enumerations of {what}", fontsize=11)
    return fig
