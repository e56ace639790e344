"""The attention of one query, drawn on the key grid (the 2-D view of the paper's 5.1).

Two sources, one figure:

- a pattern's :class:`~ylg.patterns.Masks` and a query cell: one panel per step with
  the key cells the query attends in that step, and one with the input cells it
  reaches through all the steps (its row of the Information Flow Graph's
  reachability);
- attention weights over the key grid, ``[panels, nk]`` or ``[panels, h, w]`` (one
  panel per step or head, e.g. a trained layer's attention for one query), shaded
  from 0 to each panel's largest weight.

Either can be drawn over a background image (``H x W x 3`` at any resolution, the
key grid stretched over it), and the query's cell is outlined in red wherever it
lies on the query grid (on a non-square layout, at its place in the image).

>>> from ylg.patterns import load_pattern
>>> fig = draw_query(load_pattern("ltr").on("4x4"), (1, 2))
>>> [ax.get_title().splitlines()[0] for ax in fig.axes]
['step 1', 'step 2', 'through steps 1-2']
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ylg.errors import YlgError
from ylg.figures.masks import check_size
from ylg.figures.style import DARK_BLUE, GRID_LINE, RED, YELLOW, new_figure, rgb, step_colour
from ylg.ifg import reach_matrices
from ylg.patterns import Grid, Masks

#: Key-grid sides up to which cell borders are drawn.
BORDER_LIMIT = 32
#: Panels per row.
COLUMNS = 4
#: Colour map of attention weights: dark is high on a plain panel; over an image,
#: bright is high and low weights fade to transparent.
WEIGHT_CMAP = colormaps["magma_r"]
IMAGE_CMAP = colormaps["inferno"]


def query_position(grid: Grid, query: "int | tuple[int, int] | str | None") -> int:
    """A query given as a position, an ``(i, j)`` cell or text (``"i,j"`` or ``"5"``);
    ``None`` is the centre cell.

    >>> g = Grid(4, 4)
    >>> [query_position(g, q) for q in [(1, 2), "3,0", 5, None]]
    [6, 12, 5, 10]
    """
    if query is None:
        return grid.position(grid.height // 2, grid.width // 2)
    if isinstance(query, str):
        cells = grid.parse_cells(query)
        if len(cells) != 1:
            raise YlgError(f"give one query cell, not {len(cells)} ({query!r})")
        return cells[0]
    if isinstance(query, tuple):
        if len(query) != 2:
            raise YlgError(f"a query cell is (row, column), not {query!r}")
        return grid.position(int(query[0]), int(query[1]))
    if isinstance(query, (int, np.integer)) and not isinstance(query, bool):
        grid.cell(int(query))
        return int(query)
    raise YlgError(f"cannot read the query {query!r}: give a position, (i, j) or 'i,j'")


def query_reach(masks: Masks, position: int) -> np.ndarray:
    """Bool ``[nk]``: the input tokens whose information reaches output ``position``.

    The steps' matrices are laid out as :func:`ylg.ifg.layers.step_matrices` lays
    them (inner steps on the key grid), with the last step reduced to the query's
    row, so large grids cost one product chain of a single row.

    >>> from ylg.patterns import load_pattern
    >>> query_reach(load_pattern("fixed").on("3x3", order="rowmajor"), 1).astype(int).tolist()
    [1, 1, 0, 0, 0, 0, 0, 0, 0]
    """
    inner = masks.square_on_keys()
    mats = [inner.csr(t) for t in range(masks.num_steps - 1)]
    last = masks.rows(masks.num_steps - 1, position, position + 1)
    mats.append(sp.csr_array(np.ascontiguousarray(last)))
    return reach_matrices(mats).dense()[0]


def _check_image(image: np.ndarray | None) -> np.ndarray | None:
    if image is None:
        return None
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4) or 0 in arr.shape[:2]:
        raise YlgError(f"the background image must be H x W x 3 (or x 4), got shape {arr.shape}")
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise YlgError("the background image has NaN or infinite values")
        return np.clip(arr, 0.0, 1.0)
    if arr.dtype.kind in "ui":
        return np.clip(arr, 0, 255).astype(np.uint8)
    raise YlgError(f"the background image must hold numbers, not {arr.dtype}")


def _weight_panels(weights: np.ndarray, grid: Grid | None) -> tuple[np.ndarray, Grid]:
    """Weights as ``[panels, h, w]`` floats, and the key grid."""
    arr = np.asarray(weights)
    if arr.dtype.kind not in "biuf":
        raise YlgError(f"attention weights must be numbers, not {arr.dtype}")
    arr = arr.astype(np.float64)
    if grid is None:
        if arr.ndim == 2:
            arr = arr[None]
        if arr.ndim != 3:
            raise YlgError(
                "give the key grid for weights of shape"
                f" {arr.shape}, or weights shaped [h, w] or [panels, h, w]"
            )
        grid = Grid(arr.shape[1], arr.shape[2])
    else:
        flat = arr.ndim in (1, 2) and arr.shape[-1] == grid.size
        square = arr.ndim in (2, 3) and arr.shape[-2:] == (grid.height, grid.width)
        if flat or square:
            arr = arr.reshape(-1, grid.height, grid.width)
        else:
            raise YlgError(
                f"attention weights of shape {arr.shape} do not fit the {grid} key grid:"
                f" give [panels, {grid.size}] or [panels, {grid.height}, {grid.width}]"
            )
    if arr.shape[0] == 0:
        raise YlgError("no attention weights to draw")
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise YlgError("attention weights must be finite and non-negative")
    return arr, grid


def _mark_query(ax: Axes, grid: Grid, query_grid: Grid, position: int) -> None:
    """Outline the query's cell, scaled from the query grid onto the key grid."""
    qi, qj = query_grid.cell(position)
    sy, sx = grid.height / query_grid.height, grid.width / query_grid.width
    ax.add_patch(
        Rectangle((qj * sx - 0.5, qi * sy - 0.5), sx, sy, fill=False, ec=RED, lw=2.5, zorder=5)
    )


def _cells(ax: Axes, grid: Grid, image: np.ndarray | None) -> None:
    """The key grid's extent, borders (small grids) and background image."""
    h, w = grid.height, grid.width
    extent = (-0.5, w - 0.5, h - 0.5, -0.5)
    if image is not None:
        ax.imshow(image, extent=extent, interpolation="antialiased", zorder=0)
    if max(h, w) <= BORDER_LIMIT:
        ax.set_xticks(np.arange(w + 1) - 0.5, minor=True)
        ax.set_yticks(np.arange(h + 1) - 0.5, minor=True)
        colour = "white" if image is not None else GRID_LINE
        ax.grid(which="minor", color=colour, linewidth=0.5, alpha=0.7)
        ax.tick_params(which="minor", length=0)
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    ax.tick_params(labelsize=7)


def _cell_image(selected: np.ndarray, colour: str, image: np.ndarray | None) -> np.ndarray:
    """RGBA ``[h, w, 4]``: ``colour`` on selected cells; elsewhere yellow, or (over an
    image) a veil that dims it."""
    out = np.zeros(selected.shape + (4,))
    out[selected, :3] = rgb(colour) / 255
    out[selected, 3] = 1.0 if image is None else 0.6
    if image is None:
        out[~selected, :3] = rgb(YELLOW) / 255
        out[~selected, 3] = 1.0
    else:
        out[~selected, 3] = 0.45
    return out


def _figure(panels: int, grid: Grid, image: np.ndarray | None) -> tuple[Figure, list[Axes]]:
    cols = min(COLUMNS, panels)
    rows = math.ceil(panels / cols)
    side = 3.4
    pw = side * grid.width / max(grid.height, grid.width)
    ph = side * grid.height / max(grid.height, grid.width)
    pixels = max(grid.height, grid.width) if image is None else max(image.shape[:2])
    dpi = min(150, max(100, math.ceil(1.2 * pixels / side)))
    fig = new_figure(cols * (pw + 1.1), rows * (ph + 0.9) + 0.5, dpi=dpi)
    return fig, [fig.add_subplot(rows, cols, i + 1) for i in range(panels)]


def _overlay(ax: Axes, grid: Grid, rgba: np.ndarray) -> None:
    """An RGBA ``[h, w, 4]`` image over the key grid's cells."""
    extent = (-0.5, grid.width - 0.5, grid.height - 0.5, -0.5)
    ax.imshow(rgba, extent=extent, interpolation="nearest", zorder=1)


def _draw_masks(
    axes: list[Axes],
    masks: Masks,
    position: int,
    reach: bool,
    image: np.ndarray | None,
    labels: Sequence[str] | None,
) -> None:
    grid = masks.grid
    shape = (grid.height, grid.width)
    for t in range(masks.num_steps):
        keys = masks.rows(t, position, position + 1)[0]
        _cells(axes[t], grid, image)
        _overlay(axes[t], grid, _cell_image(keys.reshape(shape), step_colour(t), image))
        label = labels[t] if labels else f"step {t + 1}"
        axes[t].set_title(f"{label}\nattends {int(keys.sum())} of {masks.nk} keys", fontsize=9)
    if reach:
        reached = query_reach(masks, position)
        ax = axes[masks.num_steps]
        _cells(ax, grid, image)
        _overlay(ax, grid, _cell_image(reached.reshape(shape), DARK_BLUE, image))
        label = labels[-1] if labels else f"through steps 1-{masks.num_steps}"
        ax.set_title(f"{label}\nreaches {int(reached.sum())} of {masks.nk} inputs", fontsize=9)


def _draw_weights(
    fig: Figure,
    axes: list[Axes],
    weights: np.ndarray,
    grid: Grid,
    image: np.ndarray | None,
    labels: Sequence[str] | None,
) -> None:
    cmap = WEIGHT_CMAP if image is None else IMAGE_CMAP
    for t, (ax, panel) in enumerate(zip(axes, weights)):
        _cells(ax, grid, image)
        norm = Normalize(0.0, float(panel.max()) or 1.0)
        colours = cmap(norm(panel))
        if image is not None:
            colours[..., 3] = 0.9 * norm(panel)
        _overlay(ax, grid, colours)
        fig.colorbar(ScalarMappable(norm, cmap), ax=ax, shrink=0.8).ax.tick_params(labelsize=7)
        ax.set_title(labels[t] if labels else f"head {t + 1}", fontsize=9)


def draw_query(
    attention: "Masks | np.ndarray",
    query: "int | tuple[int, int] | str | None" = None,
    *,
    grid: "Grid | str | None" = None,
    query_grid: "Grid | str | None" = None,
    image: np.ndarray | None = None,
    labels: Sequence[str] | None = None,
    reach: bool = True,
    title: str | None = None,
) -> Figure:
    """Draw what one query attends on the key grid and return the Figure.

    ``attention`` is a pattern's Masks (``query`` on its query grid, default the
    centre cell; ``grid`` and ``query_grid`` come from the masks; the reach panel
    is left out for one step, where it would repeat the step) or non-negative
    weights ``[panels, nk]``/``[panels, h, w]`` over the key ``grid`` (inferred from
    a 3-D array); ``query`` then only marks a cell of ``query_grid`` (default: the
    key grid) and may be left out. ``image`` (``H x W x 3``, uint8 or floats in
    [0, 1]) is drawn under the key grid. ``labels`` name the panels (with Masks:
    one per step, plus one for the reach panel when ``reach``).

    >>> import numpy as np
    >>> w = np.zeros((2, 4, 4)); w[0, 0, 0] = 1; w[1, 3, 3] = 0.5
    >>> fig = draw_query(w, labels=["RTL step 1", "RTL step 2"], image=np.ones((64, 64, 3)))
    >>> [ax.get_title() for ax in fig.axes[:2]]
    ['RTL step 1', 'RTL step 2']
    """
    picture = _check_image(image)
    position = None
    if isinstance(attention, Masks):
        if grid is not None or query_grid is not None:
            raise YlgError("the grids of a pattern's query figure come from its masks")
        check_size(attention.nk, attention.nk)  # the inner steps run on the key grid
        key_grid, q_grid = attention.grid, attention.query_grid
        reach = reach and attention.num_steps > 1
        panels = attention.num_steps + (1 if reach else 0)
        position = query_position(q_grid, query)
    else:
        weights, key_grid = _weight_panels(attention, None if grid is None else Grid.parse(grid))
        q_grid = key_grid if query_grid is None else Grid.parse(query_grid)
        panels = weights.shape[0]
        if query is not None:
            position = query_position(q_grid, query)
    if labels is not None and len(labels) != panels:
        raise YlgError(f"give one label per panel ({panels}), not {len(labels)}")
    fig, axes = _figure(panels, key_grid, picture)
    if isinstance(attention, Masks):
        _draw_masks(axes, attention, position, reach, picture, labels)
        cell = q_grid.cell(position)
        title = title or f"{attention.pattern.name}: query {cell} ({attention.describe()})"
    else:
        _draw_weights(fig, axes, weights, key_grid, picture, labels)
    if position is not None:
        for ax in axes:
            _mark_query(ax, key_grid, q_grid, position)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
