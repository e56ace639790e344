"""The figures of an inversion: side by side, loss curves, saliency, query attention.

Saliency and query panels are drawn by :func:`ylg.figures.draw_query` (attention
weights over the key grid, on top of the image).

>>> import torch
>>> fig = comparison_figure(torch.zeros(3, 8, 8), [("pixel", torch.ones(3, 8, 8))])
>>> [ax.get_title() for ax in fig.axes]
['real', 'pixel']
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

from ylg.figures import draw_query
from ylg.figures.style import new_figure
from ylg.gan.invert.loop import Inversion
from ylg.gan.invert.taps import LayerAttention
from ylg.gan.sampling.grids import image_grid

#: The order methods appear in, left to right.
METHOD_ORDER = ("pixel", "dfeat", "ylg")
METHOD_NAMES = {
    "pixel": "pixel loss (standard)",
    "dfeat": "D features",
    "ylg": "D features x saliency (ylg)",
}


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """An image ``[3, R, R]`` in [-1, 1] as ``uint8 [R, R, 3]``."""
    return image_grid(image[None].detach().cpu(), columns=1)


def comparison_figure(real: torch.Tensor, panels: list[tuple[str, torch.Tensor]]) -> Figure:
    """The real image and each labelled inversion, side by side."""
    fig = new_figure(2.6 * (1 + len(panels)), 3.0, dpi=100)
    for i, (title, image) in enumerate([("real", real), *panels]):
        ax = fig.add_subplot(1, 1 + len(panels), i + 1)
        ax.imshow(to_uint8(image), interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.set_axis_off()
    return fig


def loss_figure(runs: dict[str, Inversion]) -> Figure:
    """Each method's loss per step and seed (log scale); the winning seed drawn bold."""
    methods = [m for m in METHOD_ORDER if m in runs]
    fig = new_figure(4.2 * len(methods), 3.2, dpi=100)
    for i, method in enumerate(methods):
        run = runs[method]
        ax = fig.add_subplot(1, len(methods), i + 1)
        steps = np.arange(1, len(run.losses) + 1)
        for seed in range(run.losses.shape[1]):
            best = seed == run.best_seed
            ax.plot(
                steps,
                run.losses[:, seed],
                lw=1.8 if best else 0.8,
                alpha=1.0 if best else 0.6,
                label=f"seed {seed}" + (" (kept)" if best else ""),
            )
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel(f"{method} loss")
        ax.set_title(METHOD_NAMES[method], fontsize=9)
        ax.legend(fontsize=7)
    return fig


def saliency_figure(maps: torch.Tensor, attn: LayerAttention, image: torch.Tensor, title: str):
    """Each head's saliency ``[heads, nk]`` over ``image`` (the paper's Fig. 5d-e)."""
    grid = attn.key_grid
    weights = maps.detach().cpu().numpy().reshape(-1, grid.height, grid.width)
    return draw_query(weights, image=to_uint8(image), labels=attn.labels, title=title)


def query_figure(
    attn: LayerAttention,
    position: int,
    image: torch.Tensor,
    title: str,
    heads: Sequence[int] | None = None,
) -> Figure:
    """Each head's attention (``heads``; default: all) from the query at ``position``
    over ``image`` (the paper's Fig. 6d-f)."""
    chosen = list(range(len(attn.labels))) if heads is None else list(heads)
    weights = attn.weights[0, chosen, position].detach().cpu().numpy()
    return draw_query(
        weights,
        position,
        grid=attn.key_grid,
        query_grid=attn.query_grid,
        image=to_uint8(image),
        labels=[attn.labels[h] for h in chosen],
        title=title,
    )
