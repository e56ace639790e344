"""GAN inversion with the discriminator's attention (the paper's section 5, appendix 9.1).

* :func:`invert_image`: find ``z`` with ``G(z)`` close to an image, by the paper's
  method (``ylg``: D0 features weighted by each discriminator head's saliency, Eq. 3)
  or a baseline (``pixel``: ``||G(z) - x||^2``; ``dfeat``: unweighted D0 features),
  several seeds in one batch, Adam wrapped in :class:`Lookahead`;
* :func:`saliency`, :func:`project`: attention -> per-head saliency distributions;
* :func:`invert_one`, :func:`write_outputs`: what ``ylg invert`` runs per image;
* :func:`layer_view`: a trained layer's attention on a generated or real image;
  :func:`query_view`, :func:`view_figure` and the sources (:func:`seed_source`,
  :func:`inversion_source`, :func:`image_source`): what ``ylg draw attention`` draws.

>>> import torch
>>> from ylg.gan.invert import Settings, invert_image
>>> from ylg.gan.models import Discriminator, Generator
>>> g = Generator(32, 8, 8, 0, attn_resolution=16).eval().requires_grad_(False)
>>> d = Discriminator(32, 8, 0, attn_resolution=16).eval().requires_grad_(False)
>>> run = invert_image(g, d, torch.zeros(3, 32, 32), "pixel", Settings(seeds=2, iterations=5),
...                    progress=False)
>>> run.image.shape, sorted(run.metrics[run.best_seed])
(torch.Size([3, 32, 32]), ['dfeat', 'pixel'])
"""

from __future__ import annotations

from ylg.lazy import lazy_exports

#: The modules of the inversion's public names, and those names (imported when first
#: used, so that the command line can read :mod:`ylg.gan.invert.settings` without torch).
EXPORTS = {
    "ylg.gan.invert.classes": ("auto_class", "choose_class"),
    "ylg.gan.invert.loading": ("InversionModels", "load_models"),
    "ylg.gan.invert.lookahead": ("Lookahead",),
    "ylg.gan.invert.loop": ("Inversion", "Target", "invert_image"),
    "ylg.gan.invert.settings": ("Settings",),
    "ylg.gan.invert.losses": ("METHODS", "dfeat_loss", "pixel_loss", "ylg_loss"),
    "ylg.gan.invert.outputs": ("ImageInversion", "invert_one", "load_image", "write_outputs"),
    "ylg.gan.invert.saliency_maps": ("project", "saliency"),
    "ylg.gan.invert.sources": ("Source", "image_source", "inversion_source", "seed_source"),
    "ylg.gan.invert.taps": (
        "LayerAttention",
        "d0",
        "discriminator_attention",
        "generator_attention",
    ),
    "ylg.gan.invert.views": ("QueryView", "layer_view", "query_view", "view_figure"),
}

__all__ = sorted(name for names in EXPORTS.values() for name in names)


__getattr__, __dir__ = lazy_exports(__name__, EXPORTS, globals())
