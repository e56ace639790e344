"""Use a trained generator: rebuild it from a checkpoint and draw samples from it
(a batch, or an image set the metrics read batch by batch).

>>> import tempfile
>>> from ylg.gan.run.config import TrainConfig
>>> from ylg.gan.training.trainer import train
>>> cfg = TrainConfig(data="digits", attention="none", g_channels=8, d_channels=8, z_dim=8,
...                   batch_size=4, iterations=1, tensorboard=False, sample_count=4)
>>> run = train(cfg, tempfile.mkdtemp(), progress=False)
>>> loaded = load_generator(run.checkpoint)
>>> loaded.step, loaded.classes[:3]
(1, ['0', '1', '2'])
>>> sample_images(loaded, 6, class_label="3", truncation=1.0).shape
torch.Size([6, 3, 32, 32])
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from ylg.errors import YlgError
from ylg.gan.models import Generator
from ylg.gan.models.slots import build_models
from ylg.gan.run.checkpoint import CHECKPOINT_FORMAT, latest_checkpoint, load_checkpoint
from ylg.gan.run.config import TrainConfig
from ylg.gan.sampling.latents import latents
from ylg.metrics.images import SampledImages

#: The most memory ``sample_images`` fills at once (latents, images and their grid).
MAX_SAMPLE_BYTES = 4 * 2**30


@dataclass
class LoadedGenerator:
    """A generator in eval mode with what its checkpoint says about it."""

    model: Generator
    config: TrainConfig
    step: int
    classes: list[str]
    num_classes: int
    path: Path


def load_generator(path: str | os.PathLike[str], ema: bool = True) -> LoadedGenerator:
    """The (EMA, by default) generator of a checkpoint file, or of a run folder's latest."""
    path = Path(path)
    if path.is_dir():
        found = latest_checkpoint(path)
        if found is None:
            raise YlgError(f"no checkpoint in {path}")
        path = found
    state = load_checkpoint(path)
    if state.get("format") != CHECKPOINT_FORMAT:
        raise YlgError(f"{path} is not a ylg training checkpoint")
    cfg = TrainConfig.from_dict(state["config"])
    g, _ = build_models(cfg, int(state["num_classes"]))
    g.load_state_dict(state["G_ema" if ema else "G"])
    return LoadedGenerator(
        g.eval(), cfg, int(state["step"]), list(state["classes"]), int(state["num_classes"]), path
    )


def class_index(loaded: LoadedGenerator, label: str) -> int:
    """A class given by its name or its index."""
    if not loaded.num_classes:
        raise YlgError("this generator is unconditional; it takes no --class")
    if label in loaded.classes:
        return loaded.classes.index(label)
    try:
        index = int(label)
    except ValueError:
        index = -1
    if not 0 <= index < loaded.num_classes:
        shown = ", ".join(loaded.classes[:10]) + (", ..." if loaded.num_classes > 10 else "")
        raise YlgError(
            f"unknown class {label!r}: give a name ({shown}) or an index below {loaded.num_classes}"
        )
    return index


@torch.no_grad()
def check_sample_count(loaded: LoadedGenerator, n: int) -> None:
    """Refuse a sample count below 1 or beyond what fits in memory at once."""
    if n < 1:
        raise YlgError(f"--n must be at least 1, not {n}")
    side = loaded.config.resolution
    need = n * (loaded.config.z_dim * 4 + 3 * side * side * (4 + 1))  # z, images, the grid
    if need > MAX_SAMPLE_BYTES:
        raise YlgError(
            f"{n} samples of {side}x{side} need about {need / 2**30:.1f} GiB; at most "
            f"{MAX_SAMPLE_BYTES // 2**30} GiB is drawn at once (ask for fewer, or sample "
            "in parts with different --seed)"
        )


def sample_images(
    loaded: LoadedGenerator,
    n: int,
    class_label: str | None = None,
    truncation: float | None = None,
    seed: int = 0,
    batch: int = 64,
    device: str | torch.device = "cpu",
    labels: torch.Tensor | None = None,
) -> torch.Tensor:
    """``n`` images in [-1, 1] on the CPU: one class, the given ``labels`` (``[n]``), or
    classes cycling through all."""
    check_sample_count(loaded, n)
    gen = torch.Generator().manual_seed(seed)
    z = latents(n, loaded.config.z_dim, gen, truncation)
    y = None
    if labels is not None:
        if not loaded.num_classes or labels.shape != (n,):
            raise YlgError(f"labels must be [{n}] class indices of a conditional model")
        y = labels.long()
    elif class_label is not None:
        y = torch.full((n,), class_index(loaded, class_label), dtype=torch.long)
    elif loaded.num_classes:
        y = torch.arange(n) % loaded.num_classes
    model = loaded.model.to(device)
    out = []
    with torch.no_grad():  # a graph kept across batches would grow with n
        for i in range(0, n, batch):
            yi = y[i : i + batch].to(device) if y is not None else None
            out.append(model(z[i : i + batch].to(device), yi).float().cpu())
    return torch.cat(out)


def checkpoint_images(
    checkpoint: str | Path,
    count: int,
    device: str | torch.device = "cpu",
    seed: int = 0,
    ema: bool = True,
) -> SampledImages:
    """``count`` samples of a training checkpoint's generator (its EMA by default; a run
    folder means its latest checkpoint), drawn batch by batch on ``device`` from latents
    seeded by ``seed``, the classes cycling through all of them as in ``ylg sample``:
    the generated side of ``ylg eval --checkpoint`` (:func:`ylg.metrics.evaluate`).
    """
    loaded = load_generator(checkpoint, ema=ema)
    model = loaded.model.to(device)
    noise = torch.Generator().manual_seed(seed)
    drawn = 0

    def sample(size: int) -> torch.Tensor:
        nonlocal drawn
        z = latents(size, loaded.config.z_dim, noise).to(device)
        labels = None
        if loaded.num_classes:
            labels = (torch.arange(drawn, drawn + size) % loaded.num_classes).to(device)
        drawn += size
        return model(z, labels)

    return SampledImages(sample, count, f"{loaded.path} (step {loaded.step})")
