"""ylg.gan: SAGAN and YLG-SAGAN, from a run's config to trained models, samples and inversions.

Its parts, each using only those above it:

* :mod:`ylg.gan.run`: what a run is and what it leaves in its folder (the config,
  presets, checkpoints, the log and its curves);
* :mod:`ylg.gan.models`: the generator, the discriminator, their layers and the
  attention slot;
* :mod:`ylg.gan.sampling`: latents, a trained generator loaded from a checkpoint, its
  samples and sample grids;
* :mod:`ylg.gan.training`: the trainer, its devices, data, EMA and quality checks;
* :mod:`ylg.gan.invert`: inversion with the discriminator's attention, and views of
  what a trained layer attends.

The names used most are here too (imported when first used, so ``import ylg.gan``
stays light):

>>> from ylg.gan import Generator, TrainConfig, preset
>>> preset("digits").resolution, TrainConfig().lr_g, Generator.__module__
(32, 0.0001, 'ylg.gan.models.networks')
"""

from __future__ import annotations

from ylg.lazy import lazy_exports

#: The modules of the public names re-exported here.
EXPORTS = {
    "ylg.gan.models.networks": ("Generator", "Discriminator"),
    "ylg.gan.models.slots": ("build_models",),
    "ylg.gan.run.config": ("TrainConfig",),
    "ylg.gan.run.presets": ("load_config", "preset"),
    "ylg.gan.training.trainer": ("train",),
    "ylg.gan.sampling.generate": ("load_generator", "sample_images"),
}

__all__ = sorted(name for names in EXPORTS.values() for name in names)


__getattr__, __dir__ = lazy_exports(__name__, EXPORTS, globals())
