"""A checkpoint's generator and discriminator, ready for inversion (eval mode, no grads).

Inversion needs both networks: the generator to invert (its EMA, the one ``ylg
sample`` draws from) and the discriminator whose features and attention define the
loss. In eval mode spectral normalisation stops its power iterations and batch norm
uses its running statistics, so the seeds of one batch never influence each other.

>>> import tempfile
>>> from ylg.gan.run.config import TrainConfig
>>> from ylg.gan.training.trainer import train
>>> cfg = TrainConfig(data="digits", attention="none", g_channels=8, d_channels=8, z_dim=8,
...                   batch_size=4, iterations=1, tensorboard=False, sample_count=4)
>>> models = load_models(train(cfg, tempfile.mkdtemp(), progress=False).checkpoint)
>>> models.generator.step, models.resolution, models.discriminator.training
(1, 32, False)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from ylg.errors import YlgError
from ylg.gan.models import Discriminator
from ylg.gan.run.checkpoint import latest_checkpoint, load_checkpoint
from ylg.gan.run.config import TrainConfig
from ylg.gan.sampling.generate import LoadedGenerator


@dataclass
class InversionModels:
    """The generator (with its checkpoint's facts) and the discriminator of one run."""

    generator: LoadedGenerator
    discriminator: Discriminator

    @property
    def resolution(self) -> int:
        return self.generator.config.resolution

    def to(self, device: torch.device | str) -> InversionModels:
        """Move both networks to ``device`` (in place) and return self."""
        self.generator.model.to(device)
        self.discriminator.to(device)
        return self


def checkpoint_path(path: str | os.PathLike[str]) -> Path:
    """A checkpoint file, or the latest checkpoint of a run folder."""
    path = Path(path)
    if path.is_dir():
        found = latest_checkpoint(path)
        if found is None:
            raise YlgError(f"no checkpoint in {path}")
        return found
    return path


def load_models(path: str | os.PathLike[str], ema: bool = True) -> InversionModels:
    """G (its EMA unless ``ema`` is False) and D of a checkpoint, frozen, in eval mode."""
    from ylg.gan.models.slots import build_models
    from ylg.gan.run.checkpoint import CHECKPOINT_FORMAT

    path = checkpoint_path(path)
    state = load_checkpoint(path)
    if state.get("format") != CHECKPOINT_FORMAT:
        raise YlgError(f"{path} is not a ylg training checkpoint")
    cfg = TrainConfig.from_dict(state["config"])
    num_classes = int(state["num_classes"])
    g, d = build_models(cfg, num_classes)
    g.load_state_dict(state["G_ema" if ema else "G"])
    d.load_state_dict(state["D"])
    for model in (g, d):
        model.eval().requires_grad_(False)
    loaded = LoadedGenerator(g, cfg, int(state["step"]), list(state["classes"]), num_classes, path)
    return InversionModels(loaded, d)
