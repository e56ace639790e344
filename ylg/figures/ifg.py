"""Information Flow Graph figures (the paper's Figures 2d-f and 10c-d).

Layers ``V0 .. Vp`` are columns of numbered nodes (row-major positions on the
layer's grid: the key grid for the inputs and inner layers, the query grid for the
outputs); an edge from node ``k`` of ``V(t-1)`` to node ``q`` of ``Vt`` wherever step
``t`` lets query ``q`` attend key ``k``, in the step's colour.

``missing=True`` marks every (input, output) pair without a path: a dashed red line
between them (up to :data:`MISSING_LINES` pairs) and, right of each output, the
inputs it misses (long lists cut with "..."). ``paths_to=o`` highlights the edges
on paths that reach output ``o`` and greys the rest. Graphs of more than
:data:`MAX_TOKENS` tokens a layer are refused: draw the masks instead.

Nodes are row-major positions on any grid: a sequence's tokens in order, a video's
(``TxHxW``) frame after frame, with a grey rule between frames and ``t=0``, ``t=1``,
... written left of the inputs, so a small video (``2x3x3``: 18 tokens a layer) is
drawn like an image of 18 cells.

>>> from ylg.patterns import load_pattern
>>> fig = draw_ifg(load_pattern("ltr").on("3x3", order="rowmajor"))
>>> fig.axes[0].get_title()
'ltr: 3x3, rowmajor, s=3: Full Information'
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ylg.errors import YlgError
from ylg.figures.style import NODE_FACE, RED, new_figure, step_colour
from ylg.ifg import reach_matrices, reachability
from ylg.ifg.layers import layer_grids, step_matrices
from ylg.patterns import Grid, Masks

#: Most tokens a layer for which a graph is drawn.
MAX_TOKENS = 64
#: Most missing pairs drawn as lines (all are always listed beside the outputs).
MISSING_LINES = 300
#: Longest list of missed inputs written beside an output.
MISSES_CHARS = 48
FADED = "#d0d0d0"


def ranges_text(values: "list[int] | np.ndarray") -> str:
    """Sorted integers written compactly.

    >>> ranges_text([0, 1, 2, 5, 7, 8])
    '0-2, 5, 7-8'
    """
    parts: list[str] = []
    run: list[int] = []
    for v in sorted(int(x) for x in values):
        if run and v != run[-1] + 1:
            parts.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
            run = []
        run.append(v)
    if run:
        parts.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
    return ", ".join(parts)


def reaching_nodes(mats: list[sp.csr_array], output: int) -> list[np.ndarray]:
    """For each layer ``V0 .. Vp``, the nodes with a path to node ``output`` of ``Vp``.

    >>> from ylg.patterns import load_pattern
    >>> m = load_pattern("fixed").on("3x3", order="rowmajor")
    >>> [np.flatnonzero(s).tolist() for s in reaching_nodes(step_matrices(m), 1)]
    [[0, 1], [1], [1]]
    """
    last = mats[-1]
    if not 0 <= output < last.shape[0]:
        raise YlgError(f"output {output} is not a node of the last layer (0-{last.shape[0] - 1})")
    row = last[[output]]
    layers = [np.arange(last.shape[0]) == output]
    for t in range(len(mats) - 1, -1, -1):
        layers.insert(0, reach_matrices([*mats[t:-1], row]).dense()[0])
    return layers


def _node_y(count: int, tallest: int) -> np.ndarray:
    """Vertical places of a layer's nodes, node 0 on top, spread over the tallest layer."""
    if count == 1:
        return np.array([-(tallest - 1) / 2])
    return -np.arange(count) * (tallest - 1) / (count - 1)


def _segments(x0: float, y0: np.ndarray, x1: float, y1: np.ndarray) -> np.ndarray:
    """Line segments ``[n, 2, 2]`` from ``(x0, y0[i])`` to ``(x1, y1[i])``."""
    start = np.stack([np.full(y0.size, x0, dtype=float), y0], axis=1)
    stop = np.stack([np.full(y1.size, x1, dtype=float), y1], axis=1)
    return np.stack([start, stop], axis=1)


def _mark_missing(
    ax: Axes, lost: np.ndarray, ys: list[np.ndarray], font: float, handles: list[Line2D]
) -> None:
    """Dashed red lines between the pairs without a path, and each output's missed inputs."""
    outputs, inputs = np.nonzero(lost)
    steps = len(ys) - 1
    if outputs.size == 0:
        handles.append(Line2D([], [], ls="", label="every input reaches every output"))
        return
    drawn = outputs.size <= MISSING_LINES
    if drawn:
        ax.add_collection(
            LineCollection(
                _segments(0, ys[0][inputs], steps, ys[-1][outputs]),
                colors=RED,
                linewidths=0.9,
                linestyles=(0, (4, 3)),
                alpha=0.7,
                zorder=3,
            )
        )
    for o in np.flatnonzero(lost.any(axis=1)):
        missed = np.flatnonzero(lost[o])
        text = f"misses {missed.size}: {ranges_text(missed)}"
        if len(text) > MISSES_CHARS:
            text = text[: MISSES_CHARS - 4].rsplit(",", 1)[0] + ", ..."
        ax.text(steps + 0.18, ys[-1][o], text, color=RED, fontsize=font, va="center", ha="left")
    label = f"no path ({outputs.size} pairs{'' if drawn else ', listed right'})"
    handles.append(Line2D([], [], color=RED, lw=1, ls=(0, (4, 3)) if drawn else "", label=label))


def _mark_frames(ax: Axes, grids: list[Grid], ys: list[np.ndarray], font: float) -> None:
    """On video layers, a grey rule between frames and each frame's ``t=`` left of V0."""
    for layer, (grid, y) in enumerate(zip(grids, ys)):
        if grid.ndim != 3 or grid.shape[0] < 2:
            continue
        per = grid.size // grid.shape[0]
        for f in range(grid.shape[0]):
            first, last = y[f * per], y[(f + 1) * per - 1]
            if f:
                rule = (y[f * per - 1] + first) / 2
                ax.plot([layer - 0.3, layer + 0.3], [rule, rule], color=FADED, lw=1.0, zorder=0)
            if layer == 0:
                ax.text(
                    -0.32,
                    (first + last) / 2,
                    f"t={f}",
                    ha="right",
                    va="center",
                    fontsize=font + 1,
                    color="#555555",
                )


def draw_ifg(
    masks: Masks,
    *,
    missing: bool = False,
    paths_to: int | None = None,
    title: str | None = None,
) -> Figure:
    """Draw the Information Flow Graph of ``masks`` and return the Figure.

    ``missing`` marks the pairs without a path (:func:`ylg.ifg.reachability`);
    ``paths_to`` (a node of the last layer) highlights the paths that reach it.

    >>> from ylg.patterns import load_pattern
    >>> fig = draw_ifg(load_pattern("fixed").on("3x3", order="rowmajor"), missing=True)
    >>> fig.axes[0].get_title().endswith("36 of 81 pairs have no path")
    True
    """
    grids = layer_grids(masks)
    sizes = [g.size for g in grids]
    if max(sizes) > MAX_TOKENS:
        raise YlgError(
            f"an information flow graph of {max(sizes)} tokens a layer is unreadable"
            f" (at most {MAX_TOKENS}); draw the mask figure instead (ylg draw mask,"
            " or draw_masks)"
        )
    mats = step_matrices(masks)
    steps = len(mats)
    tallest = max(sizes)
    ys = [_node_y(n, tallest) for n in sizes]
    on_path = None if paths_to is None else reaching_nodes(mats, paths_to)
    lost = ~reachability(masks)
    marks = missing and bool(lost.any())

    small = tallest <= 16
    marker, font, line = (17, 8.0, 1.2) if small else (11, 5.5, 0.6)
    width = 1.8 * steps + 1.6 + (2.4 if marks else 0.0)
    fig = new_figure(width, max(3.0, tallest * (0.32 if small else 0.22) + 1.2), dpi=110)
    ax = fig.add_subplot()
    handles: list[Line2D] = []
    for t, mat in enumerate(mats):
        coo = mat.tocoo()
        segments = _segments(t, ys[t][coo.col], t + 1, ys[t + 1][coo.row])
        colour = step_colour(t)
        if on_path is None:
            ax.add_collection(LineCollection(segments, colors=colour, linewidths=line, zorder=1))
        else:
            lit = on_path[t + 1][coo.row]
            faded = LineCollection(segments[~lit], colors=FADED, linewidths=0.6 * line, zorder=1)
            ax.add_collection(faded)
            ax.add_collection(
                LineCollection(segments[lit], colors=colour, linewidths=2 * line, zorder=2)
            )
        handles.append(Line2D([], [], color=colour, lw=2, label=f"step {t + 1} ({mat.nnz} edges)"))
    if on_path is not None:
        handles.append(
            Line2D(
                [],
                [],
                ls="",
                marker="o",
                mfc=NODE_FACE,
                mec=RED,
                ms=9,
                label=f"on a path to output {paths_to}",
            )
        )
    if missing:
        _mark_missing(ax, lost, ys, font, handles)
    _mark_frames(ax, grids, ys, font)

    for layer, y in enumerate(ys):
        edges = [
            RED if on_path is not None and on_path[layer][i] else "#333333" for i in range(y.size)
        ]
        ax.scatter(
            np.full(y.size, layer),
            y,
            s=marker**2,
            c=NODE_FACE,
            edgecolors=edges,
            linewidths=1.2,
            zorder=4,
        )
        for node, yy in enumerate(y):
            ax.text(layer, yy, str(node), ha="center", va="center", fontsize=font, zorder=5)
        ax.text(layer, 0.9, f"$V_{{{layer}}}$", ha="center", va="bottom", fontsize=11)

    if title is None:
        count = int(lost.sum())
        verdict = "Full Information" if count == 0 else f"{count} of {lost.size} pairs have no path"
        title = f"{masks.pattern.name}: {masks.describe()}: {verdict}"
        if on_path is not None:
            reached = int(on_path[0].sum())
            title += f"\npaths to output {paths_to} reach {reached} of {sizes[0]} inputs"
    ax.set_title(title, fontsize=10)
    ax.set_xlim(-0.8 if grids[0].ndim == 3 else -0.5, steps + (2.4 if marks else 0.5))
    ax.set_ylim(-(tallest - 1) - 0.8, 1.6)
    ax.axis("off")
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        ncol=legend_columns([str(h.get_label()) for h in handles], width),
        fontsize=8,
        frameon=False,
    )
    return fig


def legend_columns(labels: list[str], width: float, font: float = 8) -> int:
    """How many legend entries fit side by side in ``width`` inches at ``font`` points
    (a legend wider than its figure would squeeze the drawing to a strip).

    >>> legend_columns(["step 1 (36 edges)", "step 2 (48 edges)"], 5.2)
    2
    >>> legend_columns(["step 1 (36 edges)", "on a path to output 1"] * 2, 5.2)
    2
    """
    entry = max(len(label) for label in labels) * font * 0.55 / 72 + 0.6  # text and marker
    return max(1, min(len(labels), int(width // entry)))
