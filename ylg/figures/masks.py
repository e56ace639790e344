"""Mask figures (the paper's Figures 2a-c and 10a-b): query rows, key columns.

A two-step pattern is drawn in one panel: positions attended in both steps in dark
blue, in step 1 only in light blue, in step 2 only in green, in neither in yellow. A
one-step pattern has two colours (attended, not). With ``per_step=True``, and always
for three steps or more, each step gets its own panel.

Small masks (up to 64 positions a side) show cell borders, and up to 32 every
position's index. Larger ones are drawn as an image of at most ``resolution`` pixels
a side: each pixel stands for a square block of positions and a step counts as
attending the block when it attends any position in it, so that sparse structure
stays visible (the 16384 x 16384 masks of a 128x128 grid are pooled by 32).

Positions are row-major on any grid; on a video layout (``TxHxW``) dashed rules
separate the frames of the queries and of the keys (unless ``by_order``).

>>> from ylg.patterns import load_pattern
>>> fig = draw_masks(load_pattern("ltr").on("3x3", order="rowmajor"))
>>> [ax.get_title() for ax in fig.axes]
['steps 1 and 2']
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from ylg.errors import YlgError
from ylg.figures.style import DARK_BLUE, GRID_LINE, YELLOW, new_figure, rgb, step_colour
from ylg.patterns import Masks
from ylg.progress import progress as progress_bar

#: Positions a side up to which cell borders are drawn.
BORDER_LIMIT = 64
#: Positions a side up to which every index is written on the axes.
INDEX_LIMIT = 32
#: Query rows times keys evaluated at once while pooling.
_BLOCK_ELEMENTS = 1 << 22
#: Most (query, key) pairs a mask figure evaluates: two 256x256 grids (seconds a step).
MAX_PAIRS = 1 << 32
#: Pairs (all steps) from which ``progress=True`` shows a bar.
PROGRESS_PAIRS = 1 << 28
#: Most frames of a video layout whose boundaries are ruled on a mask figure.
MAX_FRAME_RULES = 64


def _as_steps(source: "Masks | np.ndarray") -> "Masks | np.ndarray":
    if isinstance(source, Masks):
        return source
    arr = np.asarray(source)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or 0 in arr.shape:
        raise YlgError(f"masks must be an array [steps, nq, nk] or [nq, nk], got shape {arr.shape}")
    return arr.astype(bool, copy=False)


def pool_factor(nq: int, nk: int, resolution: int) -> int:
    """Positions per pixel side so that neither side exceeds ``resolution`` pixels.

    >>> pool_factor(16384, 16384, 512), pool_factor(9, 9, 512)
    (32, 1)
    """
    if resolution < 1:
        raise YlgError(f"the resolution must be at least 1 pixel, got {resolution}")
    return max(1, math.ceil(max(nq, nk) / resolution))


def axis_orders(masks: Masks) -> tuple[np.ndarray, np.ndarray]:
    """Row-major positions of the query rows and key columns in enumeration order.

    Keys follow the pattern's enumeration ``pi``; queries are sorted (stably) by the
    rank of the key cell they behave as, so an ESA mask shows its 1-D form.

    >>> from ylg.patterns import load_pattern
    >>> rows, cols = axis_orders(load_pattern("ltr").on("3x3"))
    >>> cols.tolist(), (rows == cols).all()
    ([0, 1, 3, 2, 4, 6, 5, 7, 8], np.True_)
    """
    return np.argsort(masks.query_rank, kind="stable"), np.asarray(masks.enumeration())


def check_size(nq: int, nk: int) -> None:
    """Refuse masks with more (query, key) pairs than :data:`MAX_PAIRS`.

    >>> check_size(65536, 65536)
    >>> check_size(65537, 65536)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ylg.errors.YlgError: 65537 x 65536 (query, key) pairs are too many for a figure ...
    """
    if nq * nk > MAX_PAIRS:
        raise YlgError(
            f"{nq} x {nk} (query, key) pairs are too many for a figure (at most 2**32,"
            " two 256x256 grids: every pair is evaluated)"
        )


def pooled_masks(
    source: "Masks | np.ndarray",
    resolution: int = 512,
    *,
    by_order: bool = False,
    progress: bool = False,
) -> tuple[np.ndarray, int]:
    """The masks at most ``resolution`` pixels a side, and the pooling factor ``b``.

    Pixel ``[t, r, c]`` is true when step ``t`` attends any position of the block of
    queries ``r*b : (r+1)*b`` and keys ``c*b : (c+1)*b`` (in enumeration order with
    ``by_order``, see :func:`axis_orders`). Masks are evaluated a block of query rows
    at a time, never held whole; ``progress`` shows a bar for large masks.

    >>> import numpy as np
    >>> pooled, b = pooled_masks(np.eye(4, dtype=bool), resolution=2)
    >>> b, pooled.astype(int).tolist()
    (2, [[[1, 0], [0, 1]]])
    """
    masks = _as_steps(source)
    steps, nq, nk = masks.shape
    check_size(nq, nk)
    b = pool_factor(nq, nk, resolution)
    row_order = col_order = None
    if by_order:
        if not isinstance(masks, Masks):
            raise YlgError("by_order needs a pattern's masks (an array has no enumeration)")
        row_order, col_order = axis_orders(masks)
    col_starts = np.arange(0, nk, b)
    rows_per_block = max(1, _BLOCK_ELEMENTS // nk)
    out = np.zeros((steps, math.ceil(nq / b), col_starts.size), dtype=bool)
    columns = np.empty((nq, col_starts.size), dtype=bool)
    bar = progress_bar(
        total=steps * nq,
        desc="mask",
        unit="row",
        mininterval=1.0,
        disable=not progress or steps * nq * nk < PROGRESS_PAIRS,
    )
    for t in range(steps):
        for start in range(0, nq, rows_per_block):
            stop = min(nq, start + rows_per_block)
            block = (
                masks.checked_rows(t, start, stop)
                if isinstance(masks, Masks)
                else masks[t, start:stop]
            )
            if col_order is not None:
                block = np.take(block, col_order, axis=1)  # several times faster than [:, order]
            columns[start:stop] = np.logical_or.reduceat(block, col_starts, axis=1)
            bar.update(stop - start)
        rows = columns if row_order is None else columns[row_order]
        out[t] = np.logical_or.reduceat(rows, np.arange(0, nq, b), axis=0)
    bar.close()
    return out, b


def mask_categories(pooled: np.ndarray) -> np.ndarray:
    """Colour of each cell of a one- or two-step mask as an RGB uint8 image.

    Two steps: both -> dark blue, step 1 only -> light blue, step 2 only -> green,
    none -> yellow. One step: attended -> dark blue, else yellow.

    >>> both = np.ones((2, 1, 1), dtype=bool)
    >>> mask_categories(both)[0, 0].tolist() == rgb(DARK_BLUE).tolist()
    True
    """
    steps = pooled.shape[0]
    if steps == 1:
        palette = np.stack([rgb(YELLOW), rgb(DARK_BLUE)])
        code = pooled[0].astype(np.uint8)
    elif steps == 2:
        palette = np.stack([rgb(YELLOW), rgb(step_colour(0)), rgb(step_colour(1)), rgb(DARK_BLUE)])
        code = pooled[0].astype(np.uint8) + 2 * pooled[1].astype(np.uint8)
    else:
        raise YlgError(f"one panel shows one or two steps, not {steps}; draw one panel per step")
    return palette[code]


def step_image(pooled_step: np.ndarray, step: int) -> np.ndarray:
    """One step's mask as an RGB uint8 image: the step's colour where attended, else yellow.

    >>> step_image(np.array([[True, False]]), 1).tolist()  # green, yellow
    [[[63, 163, 77], [246, 226, 122]]]
    """
    palette = np.stack([rgb(YELLOW), rgb(step_colour(step))])
    return palette[pooled_step.astype(np.uint8)]


def _legend_handles(steps: int, per_step: bool) -> list[Patch]:
    """The legend entries of a mask figure."""
    if per_step:
        handles = [
            Patch(color=step_colour(t), label=f"attended in step {t + 1}") for t in range(steps)
        ]
    elif steps == 1:
        handles = [Patch(color=DARK_BLUE, label="attended")]
    else:
        handles = [
            Patch(color=DARK_BLUE, label="both steps"),
            Patch(color=step_colour(0), label="step 1 only"),
            Patch(color=step_colour(1), label="step 2 only"),
        ]
    return [*handles, Patch(color=YELLOW, label="not attended")]


def _axes_style(ax: Axes, nq: int, nk: int, b: int, labels: tuple[str, str]) -> None:
    """Ticks, labels and (small masks) cell borders of one mask panel."""
    if max(nq, nk) <= INDEX_LIMIT:
        size = 8 if max(nq, nk) <= 16 else 6
        ax.set_xticks(range(nk), [str(k) for k in range(nk)], fontsize=size)
        ax.set_yticks(range(nq), [str(q) for q in range(nq)], fontsize=size)
    else:
        ax.xaxis.set_major_locator(MaxNLocator(8, integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(8, integer=True))
        ax.tick_params(labelsize=7)
    if b == 1 and max(nq, nk) <= BORDER_LIMIT:
        ax.set_xticks(np.arange(nk + 1) - 0.5, minor=True)
        ax.set_yticks(np.arange(nq + 1) - 0.5, minor=True)
        width = 0.8 if max(nq, nk) <= INDEX_LIMIT else 0.4
        ax.grid(which="minor", color=GRID_LINE, linewidth=width)
        ax.tick_params(which="minor", length=0)
    ax.xaxis.set_ticks_position("top")
    ax.xaxis.set_label_position("top")
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])


def _frame_rules(ax: Axes, masks: Masks) -> None:
    """On a video layout, dashed rules between the frames of the queries (rows) and of
    the keys (columns): row-major positions run frame after frame."""
    for grid, rule in ((masks.grid, ax.axvline), (masks.query_grid, ax.axhline)):
        frames = grid.full_shape()[0]
        if grid.ndim != 3 or not 1 < frames <= MAX_FRAME_RULES:
            continue
        per = grid.size // frames
        for f in range(1, frames):  # white under black dashes: seen on every colour
            rule(f * per - 0.5, color="white", lw=1.4, zorder=3)
            rule(f * per - 0.5, color="black", lw=0.7, ls=(0, (3, 3)), zorder=3)


def draw_masks(
    masks: "Masks | np.ndarray",
    *,
    per_step: bool = False,
    resolution: int = 512,
    by_order: bool = False,
    title: str | None = None,
    progress: bool = False,
) -> Figure:
    """Draw a pattern's masks (rows: queries, columns: keys) and return the Figure.

    ``masks`` is a :class:`~ylg.patterns.Masks` or a bool array ``[steps, nq, nk]``.
    ``per_step`` draws one panel per step (always done for three steps or more);
    ``resolution`` caps the pixels a side of large masks (see the module docs);
    ``by_order`` puts rows and columns in the pattern's enumeration order instead of
    row-major positions, so that an ESA pattern shows the 1-D pattern it shifts;
    ``progress`` shows a progress bar while large masks are evaluated.

    >>> import numpy as np
    >>> fig = draw_masks(np.tril(np.ones((4, 4), dtype=bool)), title="causal")
    >>> fig.get_suptitle(), [t.get_text() for t in fig.legends[0].get_texts()]
    ('causal', ['attended', 'not attended'])
    """
    source = _as_steps(masks)
    steps, nq, nk = source.shape
    pooled, b = pooled_masks(source, resolution, by_order=by_order, progress=progress)
    per_step = per_step or steps > 2
    if per_step:
        images = [(f"step {t + 1}", step_image(pooled[t], t)) for t in range(steps)]
    else:
        label = "step 1" if steps == 1 else "steps 1 and 2"
        images = [(label, mask_categories(pooled))]

    side = 7.0 if b > 1 or max(nq, nk) > INDEX_LIMIT else max(3.0, 0.26 * max(nq, nk))
    panel_w, panel_h = side * nk / max(nq, nk), side * nq / max(nq, nk)
    # Every pooled pixel gets at least two device pixels.
    dpi = max(100, math.ceil(2.2 * max(pooled.shape[1:]) / side))
    fig = new_figure(len(images) * (panel_w + 0.9) + 1.9, panel_h + 1.4, dpi=dpi)
    labels = ("key position", "query position")
    if by_order:
        rank = f"rank in the {source.order} order"
        square = source.square
        query = f"query {rank}" if square else "query, by its key cell's rank"
        if not square and source.nonsquare == "direct":  # queries ranked on their own grid
            query = f"query {rank} of the query grid"
        labels = (f"key {rank}", query)
    for i, (label, image) in enumerate(images):
        ax = fig.add_subplot(1, len(images), i + 1)
        rows, cols = image.shape[:2]
        ax.imshow(  # each pixel covers b positions (the last block may run past the end)
            image,
            extent=(-0.5, cols * b - 0.5, rows * b - 0.5, -0.5),
            interpolation="nearest",
            aspect="equal",
        )
        ax.set_xlim(-0.5, nk - 0.5)
        ax.set_ylim(nq - 0.5, -0.5)
        _axes_style(ax, nq, nk, b, labels)
        if isinstance(source, Masks) and not by_order:
            _frame_rules(ax, source)
        ax.set_title(label, fontsize=10)
    if title is None and isinstance(source, Masks):
        title = f"{source.pattern.name}: {source.describe()}"
    if title:
        fig.suptitle(title, fontsize=11)
    pooling = f"one pixel: {b}x{b} positions,\ncoloured by a step that\nattends any of them"
    fig.legend(
        handles=_legend_handles(steps, per_step),
        loc="outside right center",
        fontsize=8,
        title=None if b == 1 else pooling,
        title_fontsize=7,
        frameon=False,
    )
    return fig
