"""Enumeration figures (the paper's Figure 3): each cell's number in an order, and the path.

Every panel shows one enumeration of the grid: cells shaded from the first to the
last, each cell's rank written in it (grids up to 16 cells a side) and the order
drawn as a path through the cell centres (up to 64 a side) from the first cell,
outlined in red. Row-major and ESA side by side are the default, as in the paper.

>>> fig = draw_orders("4x4")
>>> [ax.get_title() for ax in fig.axes]
['row-major (reshape)', 'ESA (Manhattan distance)']
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ylg.errors import YlgError
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
#: Grid sides up to which the path is drawn.
PATH_LIMIT = 64
#: Largest grid side drawn.
MAX_SIDE = 1024
#: Light shades from the first cell to the last (viridis mixed with white).
RANK_CMAP = ListedColormap(0.5 + 0.5 * colormaps["viridis"](np.linspace(0, 1, 256))[:, :3])


def _panel(ax: Axes, grid: Grid, order: str) -> None:
    h, w = grid.height, grid.width
    rank = ranks(order, h, w).reshape(h, w)
    image = ax.imshow(
        rank,
        cmap=RANK_CMAP,
        vmin=0,
        vmax=max(1, grid.size - 1),
        interpolation="nearest",
        extent=(-0.5, w - 0.5, h - 0.5, -0.5),
    )
    side = max(h, w)
    first_row, first_col = divmod(int(enumeration(order, h, w)[0]), w)
    ax.add_patch(
        Rectangle((first_col - 0.5, first_row - 0.5), 1, 1, fill=False, ec=RED, lw=2.5, zorder=4)
    )
    if side <= PATH_LIMIT:
        rows, cols = np.divmod(enumeration(order, h, w), w)
        width = 2.0 if side <= NUMBER_LIMIT else 1.0
        ax.plot(cols, rows, color="#222222", linewidth=width, alpha=0.75, zorder=2)
    if side <= NUMBER_LIMIT:
        size = 11 if side <= 8 else (9 if side <= 12 else 7)
        for (i, j), value in np.ndenumerate(rank):
            ax.text(
                j,
                i,
                str(value),
                ha="center",
                va="center",
                fontsize=size,
                zorder=3,
                bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8},
            )
        ax.set_xticks(np.arange(w + 1) - 0.5, minor=True)
        ax.set_yticks(np.arange(h + 1) - 0.5, minor=True)
        ax.grid(which="minor", color=GRID_LINE, linewidth=0.6)
        ax.tick_params(which="minor", length=0)
        ax.set_xticks(range(w))
        ax.set_yticks(range(h))
    else:
        ax.figure.colorbar(image, ax=ax, shrink=0.7, label="rank in the order")
    ax.tick_params(labelsize=8)
    ax.set_xlabel("column j")
    ax.set_ylabel("row i")
    ax.set_title(ORDER_TITLES.get(order, order), fontsize=10)


def draw_orders(
    grid: "Grid | str",
    orders: Sequence[str] = ("rowmajor", "esa"),
    *,
    title: str | None = None,
) -> Figure:
    """Draw one panel per enumeration of ``grid`` (``"HxW"``) and return the Figure.

    >>> fig = draw_orders("3x5", ["hilbert"], title="Hilbert")
    >>> fig.get_suptitle()
    'Hilbert'
    """
    grid = Grid.parse(grid)
    if max(grid.height, grid.width) > MAX_SIDE:
        raise YlgError(
            f"an enumeration figure of a {grid} grid is unreadable (at most {MAX_SIDE} a side)"
        )
    orders = list(orders)
    if not orders:
        raise YlgError("name at least one order to draw")
    unknown = [o for o in orders if o not in ORDERS]
    if unknown:
        raise YlgError(f"unknown order {unknown[0]!r} (known: {', '.join(ORDERS)})")
    numbered = max(grid.height, grid.width) <= NUMBER_LIMIT
    side = 4.5 if numbered else 5.0
    panel_w = side * grid.width / max(grid.height, grid.width)
    panel_h = side * grid.height / max(grid.height, grid.width)
    extra = 0.8 if numbered else 1.8  # room for the colour bar
    fig = new_figure(len(orders) * (panel_w + extra) + 0.4, panel_h + 1.0, dpi=110)
    for i, order in enumerate(orders):
        _panel(fig.add_subplot(1, len(orders), i + 1), grid, order)
    fig.suptitle(title or f"Enumerations of the {grid} grid", fontsize=11)
    return fig
