"""SAGAN's networks with a slot for any attention layer.

* :mod:`~ylg.gan.models.networks`: :class:`Generator`, :class:`Discriminator` and their
  residual blocks;
* :mod:`~ylg.gan.models.layers`: spectrally normalised layers and class-conditional
  batch norm;
* :mod:`~ylg.gan.models.slots`: the attention slot (the rows of the paper's Table 1, or
  any pattern) and :func:`build_models`, G and D for a config.

>>> from ylg.gan.models import Generator
>>> Generator(resolution=32, z_dim=16, channels=16, num_classes=0, attn_resolution=16).resolution
32
"""

from ylg.gan.models.networks import (
    AttentionFactory,
    Discriminator,
    Generator,
    attention_layers,
    count_parameters,
    upsample2,
)
from ylg.gan.models.slots import attention_factory, build_models

__all__ = [
    "AttentionFactory",
    "Discriminator",
    "Generator",
    "attention_factory",
    "attention_layers",
    "build_models",
    "count_parameters",
    "upsample2",
]
