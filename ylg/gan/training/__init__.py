"""Train SAGAN or YLG-SAGAN.

* :mod:`~ylg.gan.training.trainer`: :func:`train` and the :class:`Trainer` (hinge loss,
  two learning rates, checkpoints, resuming bit for bit);
* :mod:`~ylg.gan.training.resume`: the config a new run, or a resumed one, trains with;
* :mod:`~ylg.gan.training.runtime`: the device (CPU, CUDA, XLA), torchrun's processes,
  mixed precision;
* :mod:`~ylg.gan.training.data`: the training images (a folder, digits, photos) and
  the batches of each step;
* :mod:`~ylg.gan.training.ema`: the moving average of G that samples are drawn from;
* :mod:`~ylg.gan.training.quality`: KID and digit recognisability while it trains.
"""
