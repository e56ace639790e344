"""What a trained layer attends: the generator's layer while it makes an image, or the
discriminator's layer while it looks at one.

>>> import torch
>>> from ylg.attention import YLGAttention2d
>>> from ylg.gan.models import Discriminator, Generator
>>> from ylg.gan.generate import LoadedGenerator
>>> from ylg.gan.config import TrainConfig
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
"""

from __future__ import annotations

import torch
from torch import Tensor

from ylg.errors import YlgError
from ylg.gan.invert.loading import InversionModels
from ylg.gan.invert.taps import LayerAttention, discriminator_attention, generator_attention

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
