"""Saliency maps from attention (the paper's section 5 and appendix 9.1).

The saliency of head ``h`` is the attention each key receives, averaged over all
queries: a distribution over the key grid (every query's attention sums to 1, so
their mean does too). :func:`project` spreads it onto the grid of the
discriminator's features ``D0(x)`` (the paper's ``S'``): each key cell covers the
block of feature cells it was pooled from, and the result again sums to 1.

>>> import torch
>>> attn = torch.softmax(torch.randn(1, 2, 16, 4), dim=-1)   # 2 heads, 4x4 -> 2x2 keys
>>> s = saliency(attn); s.shape, torch.allclose(s.sum(-1), torch.ones(1, 2))
(torch.Size([1, 2, 4]), True)
>>> p = project(s, Grid(2, 2), (4, 4)); p.shape, torch.allclose(p.sum((-2, -1)), torch.ones(1, 2))
(torch.Size([1, 2, 4, 4]), True)
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from ylg.patterns import Grid


def saliency(weights: Tensor) -> Tensor:
    """``[B, heads, nq, nk]`` attention -> ``[B, heads, nk]``: the mean over queries."""
    return weights.mean(dim=2)


def project(maps: Tensor, key_grid: Grid, size: tuple[int, int]) -> Tensor:
    """``[B, heads, nk]`` maps on ``key_grid`` -> ``[B, heads, H, W]`` summing to 1 each."""
    b, heads, _ = maps.shape
    grid = maps.reshape(b, heads, key_grid.height, key_grid.width)
    spread = F.interpolate(grid, size=size, mode="nearest")
    return spread / spread.sum(dim=(-2, -1), keepdim=True)
