"""GAN inversion with the discriminator's attention (the paper's section 5, appendix 9.1).

* :func:`invert_image`: find ``z`` with ``G(z)`` close to an image, by the paper's
  method (``ylg``: D0 features weighted by each discriminator head's saliency, Eq. 3)
  or a baseline (``pixel``: ``||G(z) - x||^2``; ``dfeat``: unweighted D0 features),
  several seeds in one batch, Adam wrapped in :class:`Lookahead`;
* :func:`saliency`, :func:`project`: attention -> per-head saliency distributions;
* :func:`invert_one`, :func:`write_outputs`: what ``ylg invert`` runs per image;
* :func:`layer_view`: a trained layer's attention on a generated or real image.

>>> import torch
>>> from ylg.gan.models import Discriminator, Generator
>>> g = Generator(32, 8, 8, 0, attn_resolution=16).eval().requires_grad_(False)
>>> d = Discriminator(32, 8, 0, attn_resolution=16).eval().requires_grad_(False)
>>> run = invert_image(g, d, torch.zeros(3, 32, 32), "pixel", Settings(seeds=2, steps=5),
...                    progress=False)
>>> run.image.shape, sorted(run.metrics[run.best_seed])
(torch.Size([3, 32, 32]), ['dfeat', 'pixel'])
"""

from ylg.gan.invert.classes import auto_class, choose_class
from ylg.gan.invert.loading import InversionModels, load_models
from ylg.gan.invert.lookahead import Lookahead
from ylg.gan.invert.loop import Inversion, Settings, Target, invert_image
from ylg.gan.invert.losses import METHODS, dfeat_loss, pixel_loss, ylg_loss
from ylg.gan.invert.outputs import ImageInversion, invert_one, load_image, write_outputs
from ylg.gan.invert.saliency import project, saliency
from ylg.gan.invert.taps import LayerAttention, d0, discriminator_attention, generator_attention
from ylg.gan.invert.views import layer_view

__all__ = [
    "METHODS",
    "ImageInversion",
    "Inversion",
    "InversionModels",
    "LayerAttention",
    "Lookahead",
    "Settings",
    "Target",
    "auto_class",
    "choose_class",
    "d0",
    "dfeat_loss",
    "discriminator_attention",
    "generator_attention",
    "invert_image",
    "invert_one",
    "layer_view",
    "load_image",
    "load_models",
    "pixel_loss",
    "project",
    "saliency",
    "write_outputs",
    "ylg_loss",
]
