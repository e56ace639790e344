"""Reading inside the networks from outside: D0, and the attention maps of a layer.

``D0`` is the discriminator up to, not including, its attention layer (the paper's
section 5): its residual blocks up to ``attn_after``. The attention of a layer is
recomputed from the layer's own input with ``return_attention=True``; the
generator's input to its layer is caught with a forward pre-hook, so the generator's
forward runs unchanged.

>>> import torch
>>> from ylg.attention import YLGAttention2d
>>> from ylg.gan.models import Discriminator
>>> d = Discriminator(32, 64, 0, lambda c: YLGAttention2d(c, num_heads=8), 16).eval()
>>> x = torch.zeros(2, 3, 32, 32)
>>> d0(d, x).shape
torch.Size([2, 64, 16, 16])
>>> a = discriminator_attention(d, x); a.weights.shape, str(a.query_grid), str(a.key_grid)
(torch.Size([2, 8, 256, 64]), '16x16', '8x8')
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ylg.attention.layers import Attention2d
from ylg.errors import YlgError
from ylg.gan.models import Discriminator, Generator
from ylg.patterns import Grid


@dataclass
class LayerAttention:
    """Attention weights ``[B, heads, nq, nk]`` of a layer, its grids and head names."""

    weights: Tensor
    query_grid: Grid
    key_grid: Grid
    labels: list[str]


def d0(d: Discriminator, x: Tensor) -> Tensor:
    """The discriminator's features just before its attention layer."""
    h = x
    for block in d.blocks[: d.attn_after + 1]:
        h = block(h)
    return h


def has_attention(model: nn.Module) -> bool:
    """True when the model's attention slot holds an attention layer (not ``none``)."""
    return isinstance(model.attention, Attention2d)


def layer_attention(layer: nn.Module, h: Tensor) -> LayerAttention:
    """The attention of ``layer`` on its input ``h [B, C, H, W]``."""
    if not isinstance(layer, Attention2d):
        raise YlgError(
            "this model has no attention layer (it was trained with attention = none); "
            "saliency and attention maps need one"
        )
    _, weights = layer(h, return_attention=True)
    height, width = int(h.shape[2]), int(h.shape[3])
    pool = int(layer.key_pool)
    labels = [f"head {i} ({name})" for i, name in enumerate(layer.labels)]
    return LayerAttention(weights, Grid(height, width), Grid(height // pool, width // pool), labels)


def discriminator_attention(d: Discriminator, x: Tensor) -> LayerAttention:
    """The discriminator's attention on images ``x``."""
    return layer_attention(d.attention, d0(d, x))


def generator_attention(g: Generator, z: Tensor, y: Tensor | None) -> tuple[Tensor, LayerAttention]:
    """``G(z, y)`` and the generator's attention while making it."""
    caught: list[Tensor] = []
    hook = g.attention.register_forward_pre_hook(lambda module, args: caught.append(args[0]))
    try:
        images = g(z, y)
    finally:
        hook.remove()
    return images, layer_attention(g.attention, caught[0])


@torch.no_grad()
def class_scores(d: Discriminator, x: Tensor) -> Tensor:
    """``[B, classes]``: the discriminator's logit ``D(x, y)`` for every class ``y``.

    A projection discriminator's logit is ``linear(h) + embed(y) . h`` with ``h`` its
    pooled features; ``h`` is caught once and the projection taken for all classes.
    """
    if d.embed is None:
        raise YlgError("this model is unconditional; it has no classes to score")
    caught: list[Tensor] = []
    hook = d.linear.register_forward_pre_hook(lambda module, args: caught.append(args[0]))
    try:
        d(x, torch.zeros(len(x), dtype=torch.long, device=x.device))
    finally:
        hook.remove()
    h = caught[0]
    return d.linear(h) + h @ d.embed.weight.T
