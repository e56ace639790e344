"""Where the cells of a grid of any number of axes are drawn in one panel.

A 2-D grid (``HxW``) is drawn as itself: cell ``(i, j)`` at ``x = j``, ``y = i`` (rows
down). A 3-D grid (``TxHxW``, a video) is drawn as its frames side by side, like a
film strip, :data:`FRAMES_PER_ROW` to a row, :data:`GAP` cells apart and each labelled
``t=0``, ``t=1``, ...; a 1-D grid (a sequence) as one row of cells. Every figure that
shows something per cell (enumerations, one query's keys) lays its grid out with a
:class:`Canvas`, so all of them read the same way.

>>> from ylg.patterns import Grid
>>> c = Canvas(Grid(2, 2, 3))
>>> c.shape, c.xy(np.array([0, 6, 11]))[0].tolist()
((2, 7), [0.0, 4.0, 6.0])
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

from ylg.figures.style import GRID_LINE, RED
from ylg.patterns import Grid

#: Frames of a 3-D grid drawn side by side before a new row of frames starts.
FRAMES_PER_ROW = 8
#: Cells between two frames side by side.
GAP = 1
#: Grid sides up to which cell borders are drawn.
BORDER_LIMIT = 32


class Canvas:
    """The place of every cell of ``grid`` in one panel (see the module docs).

    ``frames_per_row`` (3-D grids) defaults to :data:`FRAMES_PER_ROW`.

    >>> from ylg.patterns import Grid
    >>> Canvas(Grid(3, 4)).shape, Canvas(Grid(5)).shape, Canvas(Grid(3, 2, 2), 2).shape
    ((3, 4), (1, 5), (5, 5))
    """

    def __init__(self, grid: Grid, frames_per_row: int | None = None) -> None:
        self.grid = grid
        self.frames, self.h, self.w = grid.full_shape()
        per_row = FRAMES_PER_ROW if frames_per_row is None else frames_per_row
        self.cols = max(1, min(self.frames, per_row))
        self.rows = math.ceil(self.frames / self.cols)
        #: Cells between two rows of frames: room for the ``t=`` labels.
        self.row_gap = max(GAP, math.ceil(self.h / 8))

    @property
    def shape(self) -> tuple[int, int]:
        """Rows and columns of cells the canvas spans (gaps included)."""
        return (
            self.rows * (self.h + self.row_gap) - self.row_gap,
            self.cols * (self.w + GAP) - GAP,
        )

    @property
    def video(self) -> bool:
        """Whether the grid has frames (3 axes)."""
        return self.grid.ndim == 3

    def origin(self, frame: int) -> tuple[int, int]:
        """Canvas row and column of cell ``(0, 0)`` of a frame.

        >>> from ylg.patterns import Grid
        >>> Canvas(Grid(3, 2, 2), frames_per_row=2).origin(2)
        (3, 0)
        """
        return (frame // self.cols) * (self.h + self.row_gap), (frame % self.cols) * (self.w + GAP)

    def xy(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Canvas ``x`` (column) and ``y`` (row) of the centres of row-major positions.

        >>> from ylg.patterns import Grid
        >>> [a.tolist() for a in Canvas(Grid(2, 3)).xy(np.array([4]))]
        [[1.0], [1.0]]
        """
        frame, rest = np.divmod(np.asarray(positions, dtype=np.int64), self.h * self.w)
        i, j = np.divmod(rest, self.w)
        top, left = np.divmod(frame, self.cols)
        x = left * (self.w + GAP) + j
        return x.astype(float), (top * (self.h + self.row_gap) + i).astype(float)

    def image(self, values: np.ndarray, fill: float | tuple[float, ...] = np.nan) -> np.ndarray:
        """Per-cell values (``[size]`` or ``[size, channels]``) as a canvas image
        ``[rows, cols(, channels)]``, ``fill`` between frames.

        >>> from ylg.patterns import Grid
        >>> Canvas(Grid(2, 1, 2)).image(np.arange(4.0)).tolist()
        [[0.0, 1.0, nan, 2.0, 3.0]]
        """
        arr = np.asarray(values)
        channels = arr.shape[1:]
        out = np.empty(self.shape + channels, dtype=np.result_type(arr.dtype, np.float64))
        out[...] = fill
        cube = arr.reshape((self.frames, self.h, self.w) + channels)
        for f in range(self.frames):
            y, x = self.origin(f)
            out[y : y + self.h, x : x + self.w] = cube[f]
        return out

    def extent(self) -> tuple[float, float, float, float]:
        """The ``imshow`` extent that puts canvas cell ``(r, c)`` at ``x = c``, ``y = r``.

        >>> from ylg.patterns import Grid
        >>> Canvas(Grid(2, 3)).extent()
        (-0.5, 2.5, 1.5, -0.5)
        """
        rows, cols = self.shape
        return (-0.5, cols - 0.5, rows - 0.5, -0.5)

    def frame_boxes(self) -> Iterator[tuple[int, int, int]]:
        """``(frame, top row, left column)`` of every frame.

        >>> from ylg.patterns import Grid
        >>> list(Canvas(Grid(2, 3, 3)).frame_boxes())
        [(0, 0, 0), (1, 0, 4)]
        """
        for f in range(self.frames):
            yield (f, *self.origin(f))

    def style(
        self, ax: Axes, *, borders: bool = True, light: bool = False, font: float = 7
    ) -> None:
        """Limits, cell borders (sides up to :data:`BORDER_LIMIT`), axis labels and, on
        a 3-D grid, each frame's ``t=`` label; the frames of a video lose their ticks.

        ``light`` draws the borders in white (over a background picture).

        >>> from ylg.patterns import Grid
        >>> from ylg.figures.style import new_figure
        >>> ax = new_figure(4, 2).add_subplot()
        >>> Canvas(Grid(2, 3, 3)).style(ax)
        >>> [t.get_text() for t in ax.texts], [float(x) for x in ax.get_xlim()]
        (['t=0', 't=1'], [-1.0, 7.0])
        """
        rows, cols = self.shape
        pad = 0.5 if self.video else 0.0  # frame outlines stay inside the panel
        ax.set_xlim(-0.5 - pad, cols - 0.5 + pad)
        ax.set_ylim(rows - 0.5 + pad, -0.5 - pad)
        ax.tick_params(labelsize=font)
        show = borders and max(self.h, self.w) <= BORDER_LIMIT
        colour = "white" if light else GRID_LINE
        if not self.video:
            # Integer ticks only: a half-integer major tick (matplotlib's choice on a
            # side of 4 or less) would hide the cell border drawn at the same place.
            ax.xaxis.set_major_locator(MaxNLocator(8, integer=True, min_n_ticks=1))
            ax.yaxis.set_major_locator(MaxNLocator(8, integer=True, min_n_ticks=1))
            if show:
                ax.set_xticks(np.arange(cols + 1) - 0.5, minor=True)
                ax.set_yticks(np.arange(rows + 1) - 0.5, minor=True)
                ax.grid(which="minor", color=colour, linewidth=0.5, alpha=0.7)
                ax.tick_params(which="minor", length=0)
            if self.grid.ndim == 1:
                ax.set_yticks([])
                ax.set_xlabel("position j", fontsize=font + 1)
            return
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
        for f, y, x in self.frame_boxes():
            if show:  # the cell lines of the frame: columns, then rows
                style = {"color": colour, "lw": 0.4, "alpha": 0.7, "zorder": 3}
                ax.vlines(x - 0.5 + np.arange(self.w + 1), y - 0.5, y + self.h - 0.5, **style)
                ax.hlines(y - 0.5 + np.arange(self.h + 1), x - 0.5, x + self.w - 0.5, **style)
            else:
                ax.add_patch(
                    Rectangle(
                        (x - 0.5, y - 0.5),
                        self.w,
                        self.h,
                        fill=False,
                        ec=GRID_LINE,
                        lw=0.6,
                        zorder=3,
                    )
                )
            ax.text(
                x + (self.w - 1) / 2,
                y - 0.6,
                f"t={f}",
                ha="center",
                va="bottom",
                fontsize=font,
                zorder=3,
            )

    def mark(self, ax: Axes, query_grid: Grid, position: int, lw: float = 2.5) -> None:
        """Outline, in red, the place of cell ``position`` of ``query_grid`` (same axes
        as this canvas's grid, any sides) on this grid: its share of each frame it covers.

        >>> from ylg.patterns import Grid
        >>> from ylg.figures.style import new_figure
        >>> ax = new_figure(2, 2).add_subplot()
        >>> Canvas(Grid(2, 2, 2)).mark(ax, Grid(4, 4, 4), 63)
        >>> [p.get_xy() for p in ax.patches]
        [(4.0, 1.0)]
        """
        cell = (0,) * (3 - query_grid.ndim) + query_grid.cell(position)
        qt, qi, qj = cell
        tq, hq, wq = query_grid.full_shape()
        sy, sx = self.h / hq, self.w / wq
        first = qt * self.frames // tq
        last = max(first, -(-(qt + 1) * self.frames // tq) - 1)
        for f in range(first, last + 1):
            y, x = self.origin(f)
            ax.add_patch(
                Rectangle(
                    (x + qj * sx - 0.5, y + qi * sy - 0.5),
                    sx,
                    sy,
                    fill=False,
                    ec=RED,
                    lw=lw,
                    zorder=5,
                )
            )

    def panel_size(self, side: float) -> tuple[float, float]:
        """Inches ``(width, height)`` of a panel whose longer side is ``side`` (a 1-D
        row gets a strip at least a third of an inch tall).

        >>> from ylg.patterns import Grid
        >>> Canvas(Grid(2, 4)).panel_size(4.0), Canvas(Grid(64)).panel_size(4.0)
        ((4.0, 2.0), (4.0, 0.3333333333333333))
        """
        rows, cols = self.shape
        if self.grid.ndim == 1:
            return side, max(side / cols, 1 / 3)
        longest = max(rows, cols)
        return side * cols / longest, side * rows / longest
