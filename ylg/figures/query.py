"""The attention of one query, drawn on the key grid (the 2-D view of the paper's 5.1).

Two sources, one figure:

- a pattern's :class:`~ylg.patterns.Masks` and a query cell: one panel per step with
  the key cells the query attends in that step, and one with the input cells it
  reaches through all the steps (its row of the Information Flow Graph's
  reachability);
- attention weights over the key grid, ``[panels, nk]`` or ``[panels, *grid.shape]``
  (one panel per step or head, e.g. a trained layer's attention for one query),
  shaded from 0 to each panel's largest weight.

Either can be drawn over a background image (``H x W x 3`` at any resolution, its
centre cropped to the key grid's aspect and the grid laid over it; 2-D grids only),
and the query's cell is outlined in red wherever it lies on the query grid (on a
non-square layout, at its place in the image).

Grids of any number of axes are laid out by :class:`~ylg.figures.cells.Canvas`: a
video's key grid (``TxHxW``) as its frames side by side, labelled ``t=0``, ``t=1``, ...,
so each panel shows the query's keys in every frame; a sequence as one row of cells.
Such wide panels are stacked one above the other.

>>> from ylg.patterns import load_pattern
>>> fig = draw_query(load_pattern("ltr").on("4x4"), (1, 2))
>>> [ax.get_title().splitlines()[0] for ax in fig.axes]
['step 1', 'step 2', 'through steps 1-2']
>>> fig = draw_query(load_pattern("window").on("3x4x4"), (1, 2, 2))
>>> fig.axes[0].get_title().splitlines()[1]
'attends 27 of 48 keys'
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

from ylg.errors import YlgError
from ylg.figures.cells import Canvas
from ylg.figures.masks import check_size
from ylg.figures.style import DARK_BLUE, YELLOW, new_figure, rgb, step_colour
from ylg.ifg import reach_matrices
from ylg.patterns import Grid, Masks

#: Most key cells a query figure draws (a 32x256x256 video).
MAX_CELLS = 1 << 21
#: Narrowest cell (inches) that gets borders (a 32x32 grid on a 3.4 inch panel has them).
BORDER_CELL = 0.06
#: Panels per row (2-D grids; the wide panels of sequences and videos get a row each).
COLUMNS = 4
#: Colour map of attention weights: dark is high on a plain panel; over an image,
#: bright is high and low weights fade to transparent.
WEIGHT_CMAP = colormaps["magma_r"]
IMAGE_CMAP = colormaps["inferno"]


def query_position(
    grid: Grid, query: "int | tuple[int, ...] | str | None", what: str = "query"
) -> int:
    """A query given as a position, a cell (one index per axis: ``(i, j)``, ``(t, i, j)``)
    or text (``"i,j"``, ``"t,i,j"`` or ``"5"``); ``None`` is the centre cell. ``what``
    names the token in messages (``"output"`` for a stack's output).

    >>> g = Grid(4, 4)
    >>> [query_position(g, q) for q in [(1, 2), "3,0", 5, None]]
    [6, 12, 5, 10]
    >>> query_position(Grid(2, 4, 4), (1, 0, 3)), query_position(Grid(2, 4, 4), None)
    (19, 26)
    """
    if query is None:
        return grid.position(*(side // 2 for side in grid.shape))
    if isinstance(query, str):
        cells = grid.parse_cells(query)
        if len(cells) != 1:
            raise YlgError(f"give one {what} cell, not {len(cells)} ({query!r})")
        return cells[0]
    if isinstance(query, tuple):
        names = {1: "(j,)", 2: "(row, column)", 3: "(frame, row, column)"}[grid.ndim]
        if len(query) != grid.ndim or not all(
            isinstance(c, (int, np.integer)) and not isinstance(c, bool) for c in query
        ):
            article = "an" if what[0] in "aeiou" else "a"
            raise YlgError(f"{article} {what} cell of the {grid} grid is {names}, not {query!r}")
        return grid.position(*(int(c) for c in query))
    if isinstance(query, (int, np.integer)) and not isinstance(query, bool):
        grid.cell(int(query))
        return int(query)
    raise YlgError(f"cannot read the {what} {query!r}: give a position, a cell or 'i,j'")


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


def crop_to_aspect(image: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The centre of ``image`` with the aspect of a ``rows x cols`` grid (the longer side
    cut, never stretched): what a query figure draws under its key grid.

    >>> import numpy as np
    >>> crop_to_aspect(np.zeros((480, 640, 3)), (16, 16)).shape
    (480, 480, 3)
    >>> crop_to_aspect(np.zeros((480, 640, 3)), (8, 32)).shape
    (160, 640, 3)
    """
    rows, cols = shape
    height, width = image.shape[:2]
    if height * cols > width * rows:  # too tall: keep the middle rows
        keep = max(1, round(width * rows / cols))
        top = (height - keep) // 2
        return image[top : top + keep]
    keep = max(1, round(height * cols / rows))
    left = (width - keep) // 2
    return image[:, left : left + keep]


def _weight_panels(weights: np.ndarray, grid: Grid | None) -> tuple[np.ndarray, Grid]:
    """Weights as ``[panels, nk]`` floats, and the key grid."""
    arr = np.asarray(weights)
    if arr.dtype.kind not in "biuf":
        raise YlgError(f"attention weights must be numbers, not {arr.dtype}")
    arr = arr.astype(np.float64)
    if grid is None:
        if arr.ndim == 2:
            arr = arr[None]
        if arr.ndim != 3 or 0 in arr.shape:
            raise YlgError(
                "give the key grid for weights of shape"
                f" {arr.shape}, or weights shaped [h, w] or [panels, h, w]"
            )
        grid = Grid(arr.shape[1], arr.shape[2])
    else:
        flat = arr.ndim in (1, 2) and arr.shape[-1] == grid.size
        shaped = arr.ndim in (grid.ndim, grid.ndim + 1) and arr.shape[-grid.ndim :] == grid.shape
        if not (flat or shaped):
            shape = ", ".join(map(str, grid.shape))
            raise YlgError(
                f"attention weights of shape {arr.shape} do not fit the {grid} key grid:"
                f" give [panels, {grid.size}] or [panels, {shape}]"
            )
    arr = arr.reshape(-1, grid.size)
    if arr.shape[0] == 0:
        raise YlgError("no attention weights to draw")
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise YlgError("attention weights must be finite and non-negative")
    return arr, grid


def _cells(ax: Axes, canvas: Canvas, image: np.ndarray | None, borders: bool) -> None:
    """The key grid's extent, borders (cells large enough) and background image."""
    if image is not None:
        ax.imshow(image, extent=canvas.extent(), interpolation="antialiased", zorder=0)
    canvas.style(ax, borders=borders, light=image is not None)


def _cell_image(selected: np.ndarray, colour: str, image: np.ndarray | None) -> np.ndarray:
    """RGBA ``[nk, 4]``: ``colour`` on selected cells; elsewhere yellow, or (over an
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


def _figure(
    panels: int, canvas: Canvas, image: np.ndarray | None
) -> tuple[Figure, list[Axes], bool]:
    """A figure of ``panels`` panels: up to :data:`COLUMNS` a row for a 2-D grid, one a
    row for the wide strips of sequences and videos; and whether the cells are large
    enough for borders."""
    wide = canvas.grid.ndim != 2
    cols = 1 if wide else min(COLUMNS, panels)
    rows = math.ceil(panels / cols)
    side = min(10.0, max(4.0, 0.3 * canvas.shape[1])) if wide else 3.4
    pw, ph = canvas.panel_size(side)
    pixels = max(canvas.shape) if image is None else max(image.shape[:2])
    dpi = min(150, max(100, math.ceil(1.2 * pixels / side)))
    extra = 0.2 if canvas.video else 0.0  # room for the frame labels
    fig = new_figure(cols * (pw + 1.1), rows * (ph + 0.9 + extra) + 0.5, dpi=dpi)
    borders = pw / canvas.shape[1] >= BORDER_CELL
    return fig, [fig.add_subplot(rows, cols, i + 1) for i in range(panels)], borders


def _overlay(ax: Axes, canvas: Canvas, rgba: np.ndarray) -> None:
    """An RGBA ``[nk, 4]`` colour per key cell, drawn over the cells."""
    aspect = "auto" if canvas.grid.ndim == 1 else "equal"
    ax.imshow(
        canvas.image(rgba, fill=(0.0, 0.0, 0.0, 0.0)),
        extent=canvas.extent(),
        interpolation="nearest",
        aspect=aspect,
        zorder=1,
    )


def _title(ax: Axes, canvas: Canvas, text: str) -> None:
    ax.set_title(text, fontsize=9, pad=14 if canvas.video else 6)


def _draw_masks(
    axes: list[Axes],
    masks: Masks,
    position: int,
    reach: bool,
    image: np.ndarray | None,
    labels: Sequence[str] | None,
    borders: bool,
) -> None:
    canvas = Canvas(masks.grid)
    for t in range(masks.num_steps):
        keys = masks.rows(t, position, position + 1)[0]
        _cells(axes[t], canvas, image, borders)
        _overlay(axes[t], canvas, _cell_image(keys, step_colour(t), image))
        label = labels[t] if labels else f"step {t + 1}"
        _title(axes[t], canvas, f"{label}\nattends {int(keys.sum())} of {masks.nk} keys")
    if reach:
        reached = query_reach(masks, position)
        ax = axes[masks.num_steps]
        _cells(ax, canvas, image, borders)
        _overlay(ax, canvas, _cell_image(reached, DARK_BLUE, image))
        label = labels[-1] if labels else f"through steps 1-{masks.num_steps}"
        _title(ax, canvas, f"{label}\nreaches {int(reached.sum())} of {masks.nk} inputs")


def _draw_weights(
    fig: Figure,
    axes: list[Axes],
    weights: np.ndarray,
    canvas: Canvas,
    image: np.ndarray | None,
    labels: Sequence[str] | None,
    borders: bool,
) -> None:
    cmap = WEIGHT_CMAP if image is None else IMAGE_CMAP
    for t, (ax, panel) in enumerate(zip(axes, weights)):
        _cells(ax, canvas, image, borders)
        norm = Normalize(0.0, float(panel.max()) or 1.0)
        colours = cmap(norm(panel))
        if image is not None:
            colours[..., 3] = 0.9 * norm(panel)
        _overlay(ax, canvas, colours)
        fig.colorbar(ScalarMappable(norm, cmap), ax=ax, shrink=0.8).ax.tick_params(labelsize=7)
        _title(ax, canvas, labels[t] if labels else f"head {t + 1}")


def draw_query(
    attention: "Masks | np.ndarray",
    query: "int | tuple[int, ...] | str | None" = None,
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
    weights ``[panels, nk]``/``[panels, *grid.shape]`` over the key ``grid`` (inferred
    from a ``[panels, h, w]`` array); ``query`` then only marks a cell of
    ``query_grid`` (default: the key grid) and may be left out. ``image``
    (``H x W x 3``, uint8 or floats in [0, 1]) is drawn under a 2-D key grid.
    ``labels`` name the panels (with Masks: one per step, plus one for the reach
    panel when ``reach``).

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
        if q_grid.ndim != key_grid.ndim:
            raise YlgError(
                f"the query grid {q_grid} and the key grid {key_grid} must have as many axes"
            )
        panels = weights.shape[0]
        if query is not None:
            position = query_position(q_grid, query)
    if picture is not None:
        if key_grid.ndim != 2:
            raise YlgError(f"a background image goes under a 2-D key grid, not the {key_grid} grid")
        picture = crop_to_aspect(picture, key_grid.shape)
    if key_grid.size > MAX_CELLS:
        raise YlgError(
            f"a query figure draws key grids of at most {MAX_CELLS:,} cells, not {key_grid}"
        )
    if labels is not None and len(labels) != panels:
        raise YlgError(f"give one label per panel ({panels}), not {len(labels)}")
    canvas = Canvas(key_grid)
    fig, axes, borders = _figure(panels, canvas, picture)
    if isinstance(attention, Masks):
        _draw_masks(axes, attention, position, reach, picture, labels, borders)
        cell = position if q_grid.ndim == 1 else q_grid.cell(position)
        title = title or f"{attention.pattern.name}: query {cell} ({attention.describe()})"
    else:
        _draw_weights(fig, axes, weights, canvas, picture, labels, borders)
    if position is not None:
        for ax in axes:
            canvas.mark(ax, q_grid, position)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
