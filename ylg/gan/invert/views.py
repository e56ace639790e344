"""What a trained layer attends: the generator's layer while it makes an image, or the
discriminator's layer while it looks at one; and the figure of it from one query cell
(what ``ylg draw attention`` draws).

>>> import torch
>>> from ylg.attention import YLGAttention2d
>>> from ylg.gan.models import Discriminator, Generator
>>> from ylg.gan.sampling.generate import LoadedGenerator
>>> from ylg.gan.run.config import TrainConfig
>>> from ylg.gan.invert.loading import InversionModels
>>> ylg = lambda c: YLGAttention2d(c, num_heads=8)
>>> g = Generator(32, 8, 32, 0, ylg, 16).eval()
>>> d = Discriminator(32, 64, 0, ylg, 16).eval()
>>> from pathlib import Path
>>> models = InversionModels(LoadedGenerator(g, TrainConfig(), 0, [], 0, Path("untrained")), d)
>>> picture, attn = layer_view(models, "generator", z=torch.zeros(8))
>>> picture.shape, attn.weights.shape
(torch.Size([3, 32, 32]), torch.Size([1, 8, 256, 64]))
>>> layer_view(models, "discriminator", image=picture)[1].weights.shape
torch.Size([1, 8, 256, 64])
>>> from ylg.gan.invert.sources import Source
>>> view = query_view(models, "generator", heads=(0, 4), query="0,0")
>>> fig, name = view_figure(models, view, Source("seed0", {"z": torch.zeros(8)}))
>>> len(fig.axes) >= 2, name
(True, 'attention-seed0-generator-q0-0.png')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from ylg.errors import YlgError
from ylg.figures.query import query_position
from ylg.gan.invert.figures import query_figure
from ylg.gan.invert.loading import InversionModels
from ylg.gan.invert.taps import (
    LayerAttention,
    discriminator_attention,
    generator_attention,
    has_attention,
)
from ylg.patterns import Grid

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ylg.gan.invert.sources import Source

LAYERS = ("generator", "discriminator")


@torch.no_grad()
def layer_view(
    models: InversionModels,
    layer: str,
    *,
    z: Tensor | None = None,
    class_index: int | None = None,
    image: Tensor | None = None,
) -> tuple[Tensor, LayerAttention]:
    """The picture ``[3, R, R]`` and one layer's attention ``[1, heads, nq, nk]`` on it.

    Give a latent ``z [z_dim]`` (and the class of a conditional model): the image is
    ``G(z)``. Or give ``image [3, R, R]`` in [-1, 1]: only the discriminator can look
    at it (invert it first to see the generator's attention).
    """
    if layer not in LAYERS:
        raise YlgError(f"unknown layer {layer!r} (choose from {', '.join(LAYERS)})")
    g, d = models.generator.model, models.discriminator
    device = next(d.parameters()).device
    if (z is None) == (image is None):
        raise YlgError("give either a latent or an image")
    if image is not None:
        if layer == "generator":
            raise YlgError("the generator's attention needs a latent: invert the image first")
        picture = image.to(device)
        return picture.cpu(), discriminator_attention(d, picture[None])
    y = None
    if models.generator.num_classes:
        if class_index is None:
            raise YlgError("this generator is conditional: give a class")
        y = torch.tensor([class_index], device=device)
    made, attn = generator_attention(g, z.reshape(1, -1).to(device), y)
    if layer == "discriminator":
        attn = discriminator_attention(d, made)
    return made[0].cpu(), attn


@dataclass(frozen=True)
class QueryView:
    """What to draw of a trained model's attention: whose ``layer``, which ``heads``,
    and the query cell at ``position`` on the layer's query grid."""

    layer: str
    heads: tuple[int, ...]
    position: int


def query_view(
    models: InversionModels,
    layer: str,
    heads: Sequence[int] = (),
    query: "int | tuple[int, int] | str | None" = None,
) -> QueryView:
    """Check what to draw before any work is done: ``layer`` holds an attention layer,
    the ``heads`` exist (default: all of them), and ``query`` (``"i,j"``, ``(i, j)``, a
    position; default: the centre) lies on the layer's query grid."""
    if layer not in LAYERS:
        raise YlgError(f"unknown layer {layer!r} (choose from {', '.join(LAYERS)})")
    loaded = models.generator
    side = loaded.config.attn_resolution
    position = query_position(Grid(side, side), query)
    net = loaded.model if layer == "generator" else models.discriminator
    if not has_attention(net):
        raise YlgError(f"the {layer} of {loaded.path} has no attention layer")
    count = net.attention.num_heads
    for h in heads:
        if not 0 <= h < count:
            raise YlgError(f"head {h}: the {layer}'s layer has heads 0 to {count - 1}")
    if len(set(heads)) != len(heads):
        twice = sorted({h for h in heads if list(heads).count(h) > 1})
        raise YlgError(f"head {twice[0]} is given twice; give each head once")
    return QueryView(layer, tuple(heads) or tuple(range(count)), position)


def view_figure(models: InversionModels, view: QueryView, source: Source) -> tuple[Figure, str]:
    """The chosen heads' attention from the query cell over the picture ``source``
    gives, titled with where it came from; and the figure's default file name."""
    picture, attn = layer_view(models, view.layer, **source.view)
    i, j = attn.query_grid.cell(view.position)
    step = models.generator.step
    title = f"{source.name}: {view.layer} attention of query ({i}, {j}), step {step}"
    fig = query_figure(attn, view.position, picture, title, heads=view.heads)
    return fig, f"attention-{source.name}-{view.layer}-q{i}-{j}.png"
