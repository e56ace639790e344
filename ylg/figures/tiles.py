"""The tiles a block-sparse kernel visits, before and after the tile planner.

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
from matplotlib.patches import Patch

from ylg.errors import YlgError
from ylg.figures.style import DARK_BLUE, LIGHT_BLUE, YELLOW, new_figure, rgb
from ylg.patterns.tiles import TilePlan

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
    names = [list(t) for t in titles] if titles is not None else [
        [p.strategy for p in r] for r in rows
    ]
    if [len(t) for t in names] != [len(r) for r in rows]:
        raise YlgError("draw_tiles needs one title per plan")
    side = max(max(p.occupancy.shape) for r in rows for p in r)
    if side > MAX_SIDE:
        raise YlgError(
            f"{side} tiles a side is too many to draw; use a larger --tile (at most"
            f" {MAX_SIDE} tiles a side)"
        )
    ncols = len(rows[0])
    fig = new_figure(4.2 * ncols, 4.3 * len(rows) + 0.4, dpi=120)
    axes = fig.subplots(len(rows), ncols, squeeze=False)
    for ax_row, plan_row, title_row in zip(axes, rows, names):
        for ax, plan, title in zip(ax_row, plan_row, title_row):
            tq, tk = plan.occupancy.shape
            ax.imshow(tile_image(plan), interpolation="nearest", aspect="equal")
            ax.set_title(
                f"{title}\n{plan.nonempty} of {plan.tiles_total} tiles"
                f" ({100 * plan.tile_share:.2f}%), pairs {100 * plan.pair_share:.2f}%",
                fontsize=9,
            )
            ax.set_xlabel(f"key tiles ({tk} x {plan.tile})", fontsize=8)
            ax.set_ylabel(f"query tiles ({tq} x {plan.tile})", fontsize=8)
            ax.tick_params(labelsize=7)
    fig.legend(
        handles=[
            Patch(color=YELLOW, label="skipped (no pair)"),
            Patch(color=LIGHT_BLUE, label="partly attended"),
            Patch(color=DARK_BLUE, label="fully attended"),
        ],
        loc="outside lower center",
        ncol=3,
        fontsize=8,
        frameon=False,
    )
    return fig
