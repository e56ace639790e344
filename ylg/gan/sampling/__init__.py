"""Use a trained generator: latents, loading it from a checkpoint, samples and grids.

* :mod:`~ylg.gan.sampling.latents`: latents with the truncation trick;
* :mod:`~ylg.gan.sampling.generate`: :func:`load_generator`, :func:`sample_images`, and
  :func:`checkpoint_images` (samples as an image set for :mod:`ylg.metrics`);
* :mod:`~ylg.gan.sampling.grids`: one row per class, images tiled into a PNG.

>>> import torch
>>> from ylg.gan.sampling import image_grid, latents
>>> image_grid(latents(4, 3 * 2 * 2).view(4, 3, 2, 2)).shape
(4, 4, 3)
"""

from ylg.gan.sampling.generate import (
    LoadedGenerator,
    check_sample_count,
    checkpoint_images,
    class_index,
    load_generator,
    sample_images,
)
from ylg.gan.sampling.grids import class_rows, image_grid, save_png
from ylg.gan.sampling.latents import latents, truncated_normal

__all__ = [
    "LoadedGenerator",
    "check_sample_count",
    "checkpoint_images",
    "class_index",
    "class_rows",
    "image_grid",
    "latents",
    "load_generator",
    "sample_images",
    "save_png",
    "truncated_normal",
]
