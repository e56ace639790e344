"""Figures: masks, information flow graphs, enumerations and one query's attention.

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot
(no display needed); :func:`save_figure` writes it as PNG, SVG or PDF, picked from
the file name, reproducibly.

>>> from ylg.patterns import load_pattern
>>> masks = load_pattern("ltr").on("3x3", order="rowmajor")
>>> figures = [draw_masks(masks), draw_ifg(masks), draw_orders("3x3"), draw_query(masks, (1, 1))]
>>> [len(f.axes) > 0 for f in figures]
[True, True, True, True]
"""

from ylg.figures.ifg import draw_ifg
from ylg.figures.masks import draw_masks
from ylg.figures.orders import draw_orders
from ylg.figures.query import draw_query
from ylg.figures.save import figure_bytes, figure_format, save_figure
from ylg.figures.tiles import draw_order_tiles, draw_tiles

__all__ = [
    "draw_ifg",
    "draw_masks",
    "draw_order_tiles",
    "draw_orders",
    "draw_query",
    "draw_tiles",
    "figure_bytes",
    "figure_format",
    "save_figure",
]
