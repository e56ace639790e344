"""What a training run is and what it leaves in its folder.

* :mod:`~ylg.gan.run.config`: :class:`TrainConfig`, one flat validated record, and
  ``config.toml`` written from it;
* :mod:`~ylg.gan.run.presets`: named configs and config files (:func:`preset`,
  :func:`load_config`);
* :mod:`~ylg.gan.run.checkpoint`: ``checkpoints/step-N.ckpt``, written atomically and
  checked by a digest;
* :mod:`~ylg.gan.run.monitor`: ``log.jsonl`` and TensorBoard;
* :mod:`~ylg.gan.run.curves`: ``curves.png``.

Nothing here builds a model, so the command line reads configs without importing torch.
"""
