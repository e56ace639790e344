"""The three inversion losses, one value per image of a batch (per seed).

* ``pixel``: ``||G(z) - x||^2``, the standard method (Bora et al., the paper's Eq. 1);
* ``dfeat``: ``||D0(G(z)) - D0(x)||^2``, unweighted discriminator features;
* ``ylg``: ``sum_h ||(D0(G(z)) - D0(x)) * S'_h||^2``, features weighted by each head's
  saliency on the real image (the paper's Eq. 3).

Every loss is a mean over its elements, so the three read in comparable units: the
``ylg`` loss scales each head's map by the number of feature cells (a uniform map
weighs every cell 1, making ``ylg`` equal ``dfeat``) and averages the heads. These
are the paper's sums divided by constants, which leave Adam's steps unchanged.

>>> import torch
>>> fake, real = torch.ones(2, 3, 4, 4), torch.zeros(1, 3, 4, 4)
>>> pixel_loss(fake, real).tolist()
[1.0, 1.0]
>>> uniform = torch.full((1, 8, 4, 4), 1 / 16)
>>> ylg_loss(fake, real, uniform).tolist() == dfeat_loss(fake, real).tolist()
True
"""

from __future__ import annotations

from torch import Tensor

METHODS = ("ylg", "pixel", "dfeat")


def pixel_loss(fake: Tensor, real: Tensor) -> Tensor:
    """Mean squared pixel error per image, ``[B]`` (images in [-1, 1])."""
    return (fake - real).pow(2).flatten(1).mean(1)


def dfeat_loss(fake_features: Tensor, real_features: Tensor) -> Tensor:
    """Mean squared distance of D0 features per image, ``[B]``."""
    return (fake_features - real_features).pow(2).flatten(1).mean(1)


def ylg_loss(fake_features: Tensor, real_features: Tensor, maps: Tensor) -> Tensor:
    """Saliency-weighted D0 distance per image, ``[B]``.

    ``maps [1 or B, heads, H, W]`` are the projected saliency maps (each summing to 1)
    on the ``H x W`` grid of the features ``[B, C, H, W]``.
    """
    channels, height, width = fake_features.shape[1:]
    error = (fake_features - real_features).pow(2).sum(1)  # [B, H, W]
    weights = (maps * (height * width)).pow(2)  # [1 or B, heads, H, W]
    per_head = (error[:, None] * weights).flatten(2).sum(2) / (channels * height * width)
    return per_head.mean(1)
