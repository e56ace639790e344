"""The tiles a block-sparse kernel visits, before and after the tile planner, and
under each order (:func:`draw_order_tiles`).

Each panel is the step's score matrix cut into ``tile x tile`` tiles (query tiles down,
key tiles across): a tile with no attended pair is yellow (skipped by the kernel),
one with pairs is blue, darker the fuller it is, and dark blue when every pair is
attended (no mask evaluated there). The left panel keeps the pattern's enumeration
order, the right one uses the planner's query and key orders.

>>> from ylg.patterns import load_pattern
>>> from ylg.patterns.tiles import enumeration_orders, plan_step, tile_plan
>>> m = load_pattern("ltr").on("32x32")
>>> before = tile_plan(m.csr(1), 64, *enumeration_orders(m), strategy="esa")
>>> fig = draw_tiles([[before, plan_step(m, 1, 64)]], [["ESA order", "planned"]])
>>> [ax.get_title().splitlines()[0] for ax in fig.axes[:2]]
['ESA order', 'planned']
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from ylg.errors import YlgError
from ylg.figures.style import DARK_BLUE, LIGHT_BLUE, RED, YELLOW, new_figure, rgb
from ylg.patterns.tiles import OrderTiles, TilePlan

#: Most tiles a side drawn one pixel block each (larger plans are pooled).
MAX_SIDE = 512


def tile_image(plan: TilePlan) -> np.ndarray:
    """RGB ``[query tiles, key tiles, 3]``: yellow empty, light to dark blue by fill.

    >>> import numpy as np, scipy.sparse as sp
    >>> from ylg.patterns.tiles import tile_plan
    >>> eye = sp.csr_array(np.eye(4, dtype=bool))
    >>> img = tile_image(tile_plan(eye, 2, np.arange(4), np.arange(4)))
    >>> img.shape, img[0, 1].tolist() == rgb(YELLOW).tolist()
    ((2, 2, 3), True)
    """
    fill = np.divide(plan.occupancy, np.maximum(plan.capacity, 1), dtype=np.float64)
    ramp = LinearSegmentedColormap.from_list("fill", [LIGHT_BLUE, DARK_BLUE])
    img = (ramp(np.clip(fill, 0.0, 1.0))[..., :3] * 255).round().astype(np.uint8)
    img[plan.occupancy == 0] = rgb(YELLOW)
    img[plan.full_tiles()] = rgb(DARK_BLUE)
    return img


def draw_tiles(
    rows: Sequence[Sequence[TilePlan]], titles: Sequence[Sequence[str]] | None = None
) -> Figure:
    """A panel per plan, a row per step (``rows[i][j]``: step ``i`` under orders ``j``),
    each titled with its counts."""
    rows = [list(r) for r in rows]
    if not rows or not all(rows) or len({len(r) for r in rows}) != 1:
        raise YlgError("draw_tiles needs rows of plans, every row as long as the first")
    names = (
        [list(t) for t in titles] if titles is not None else [[p.strategy for p in r] for r in rows]
    )
    if [len(t) for t in names] != [len(r) for r in rows]:
        raise YlgError("draw_tiles needs one title per plan")
    side = max(max(p.occupancy.shape) for r in rows for p in r)
    if side > MAX_SIDE:
        raise YlgError(
            f"{side} tiles a side is too many to draw; use a larger --tile (at most"
            f" {MAX_SIDE} tiles a side)"
        )
    ncols = len(rows[0])
    fig = new_figure(4.2 * ncols, 4.6 * len(rows) + 0.7, dpi=120)
    axes = fig.subplots(len(rows), ncols, squeeze=False)
    for ax_row, plan_row, title_row in zip(axes, rows, names):
        for ax, plan, title in zip(ax_row, plan_row, title_row):
            tq, tk = plan.occupancy.shape
            # Square tiles unless the plan is much taller than wide (or the reverse):
            # then a panel would shrink to a strip under its title.
            aspect = "equal" if max(tq, tk) <= 2 * min(tq, tk) else "auto"
            ax.imshow(tile_image(plan), interpolation="nearest", aspect=aspect)
            ax.set_title(
                f"{title}\n{plan.nonempty} of {plan.tiles_total} tiles"
                f" ({100 * plan.tile_share:.2f}%)\npairs {100 * plan.pair_share:.2f}%",
                fontsize=9,
            )
            ax.set_xlabel(f"key tiles ({tk} x {plan.tile})", fontsize=8)
            ax.set_ylabel(f"query tiles ({tq} x {plan.tile})", fontsize=8)
            ax.tick_params(labelsize=7)
            ax.xaxis.set_major_locator(MaxNLocator(8, integer=True, min_n_ticks=1))
            ax.yaxis.set_major_locator(MaxNLocator(8, integer=True, min_n_ticks=1))
    fig.legend(
        handles=[
            Patch(color=YELLOW, label="skipped (no pair)"),
            Patch(color=LIGHT_BLUE, label="partly attended (darker: more of its pairs)"),
            Patch(color=DARK_BLUE, label="fully attended"),
        ],
        loc="outside lower center",
        ncol=3,
        fontsize=8,
        frameon=False,
    )
    return fig


#: One colour per order in the tile-share chart.
ORDER_COLOURS = {
    "rowmajor": "#4c78a8",
    "esa": "#f58518",
    "hilbert": "#54a24b",
    "zorder": "#b279a2",
    "snake": "#9d755d",
}


def draw_order_tiles(
    reports: Sequence[tuple[str, Sequence[OrderTiles]]], *, title: str | None = None
) -> Figure:
    """A bar chart of the tiles a block-sparse kernel visits under each order: a group
    of bars per step of each ``(label, report)`` (:func:`~ylg.patterns.tiles.order_tiles`
    of a pattern on a layout), a bar per order.

    Each wide, light bar is the share of dense attention's tiles that are non-empty
    with queries and keys laid in that order (its value written above it, ``*`` on the
    order the pattern is laid in); the narrow dark bar inside it the same after the
    tile planner rearranged them starting from that order. A black line across the
    group marks the planner's best plan (what ylg's FlexAttention backend runs), a red
    dotted one the attended pairs (the floor of any sparse kernel).

    >>> from ylg.patterns import load_pattern
    >>> from ylg.patterns.tiles import order_tiles
    >>> fig = draw_order_tiles([("ltr", order_tiles(load_pattern("ltr").on("2x16x16"), 64))])
    >>> [t.get_text() for t in fig.axes[0].get_xticklabels()]
    ['ltr\\nstep 1', 'ltr\\nstep 2']
    """
    groups = [(label, entry, len(report)) for label, report in reports for entry in report]
    if not groups:
        raise YlgError("draw_order_tiles needs at least one report with at least one step")
    orders = list(groups[0][1].laid)
    tiles = {entry.best.tile for _, entry, _ in groups}
    fig = new_figure(max(5.5, 1.4 + 1.25 * len(groups)), 4.4, dpi=120)
    ax = fig.add_subplot()
    width = 0.8 / len(orders)
    top = 0.0
    for g, (_, entry, _) in enumerate(groups):
        left = g - 0.4
        for k, order in enumerate(orders):
            x = left + (k + 0.5) * width
            colour = ORDER_COLOURS.get(order, "#888888")
            laid = 100 * entry.laid[order].work_share
            planned = 100 * entry.planned[order].work_share
            ax.bar(x, laid, width * 0.92, color=colour, alpha=0.35, ec=colour, lw=0.8)
            ax.bar(x, planned, width * 0.4, color=colour)
            mark = "*" if order == entry.pattern_order else ""
            ax.text(x, laid, f"{laid:.3g}{mark}", ha="center", va="bottom", fontsize=6)
            top = max(top, laid)
        ax.hlines(100 * entry.best.work_share, left, left + 0.8, color="black", lw=1.6, zorder=3)
        floor = 100 * entry.best.pair_share
        ax.hlines(floor, left, left + 0.8, color=RED, lw=1.2, linestyles=":", zorder=3)
    names = [
        label if steps == 1 else f"{label}\nstep {entry.step + 1}" for label, entry, steps in groups
    ]
    ax.set_xticks(range(len(groups)), names, fontsize=8)
    ax.set_xlim(-0.55, len(groups) - 0.45)
    ax.set_ylim(0, top * 1.12 if top * 1.12 <= 100 else top * 1.06)  # room for the values
    ax.set_ylabel("% of dense attention's tiles visited", fontsize=8)
    ax.tick_params(axis="y", labelsize=7)
    side = " / ".join(f"{t} x {t}" for t in sorted(tiles))
    ax.set_title(
        f"non-empty {side} tiles per order; * the order the pattern is laid in", fontsize=9
    )
    handles = [Patch(color=ORDER_COLOURS.get(o, "#888888"), label=o) for o in orders]
    handles += [
        Patch(fc="#dddddd", ec="#888888", label="laid in the order"),
        Patch(color="#555555", label="planned from it"),
        Line2D([], [], color="black", lw=1.6, label="planner's best"),
        Line2D([], [], color=RED, lw=1.2, ls=":", label="attended pairs"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncol=5, fontsize=7, frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
