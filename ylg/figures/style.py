"""Colours and figure scaffolding shared by every ylg figure.

The mask colours are the paper's (Figures 2 and 10): dark blue for positions attended
in both steps, light blue for step 1 only, green for step 2 only, yellow for none.
Step ``t`` is drawn in ``step_colour(t)`` everywhere: mask panels, IFG edges, query
panels. Figures are built on :class:`matplotlib.figure.Figure` directly, never through
pyplot, so drawing needs no display and leaves pyplot's state alone.

>>> step_colour(0) == LIGHT_BLUE and step_colour(1) == GREEN
True
>>> rgb("#ff0000").tolist()
[255, 0, 0]
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

DARK_BLUE = "#1f3f8f"
LIGHT_BLUE = "#7cc0f2"
GREEN = "#3fa34d"
YELLOW = "#f6e27a"
#: Outline of the chosen query cell, missing IFG pairs and highlighted paths.
RED = "#d62728"
#: Face colour of IFG nodes: used by nothing else, so nodes can be counted in a PNG.
NODE_FACE = "#f2a65a"
GRID_LINE = "#555555"

#: Colours of steps 3, 4, ... (steps 1 and 2 use the paper's light blue and green).
_MORE_STEPS = ("#b279a2", "#e45756", "#9d755d", "#72b7b2", "#54a24b", "#bab0ac")


def step_colour(step: int) -> str:
    """The colour of step ``step`` (0-based).

    >>> step_colour(2)
    '#b279a2'
    """
    if step == 0:
        return LIGHT_BLUE
    if step == 1:
        return GREEN
    return _MORE_STEPS[(step - 2) % len(_MORE_STEPS)]


def rgb(colour: str) -> np.ndarray:
    """A colour as a uint8 ``[3]`` array."""
    return np.round(np.array(to_rgb(colour)) * 255).astype(np.uint8)


def new_figure(width: float, height: float, dpi: float = 100) -> Figure:
    """A figure of ``width x height`` inches with constrained layout, outside pyplot.

    >>> new_figure(2, 1).get_size_inches().tolist()
    [2.0, 1.0]
    """
    return Figure(figsize=(width, height), dpi=dpi, layout="compressed")
