"""Where the picture comes from that a trained attention layer is drawn over.

Three sources, each a :class:`Source`: the keyword arguments that
:func:`~ylg.gan.invert.views.layer_view` takes, and a short name for titles and files.

* :func:`seed_source`: the image the generator makes from a seeded latent (the class
  given, or drawn from the seed);
* :func:`inversion_source`: the latent and class an inversion kept (its ``result.json``);
* :func:`image_source`: a real image, as the discriminator sees it, or, for the
  generator's layer, inverted first with the ylg method.

>>> import torch
>>> from pathlib import Path
>>> from ylg.gan.invert.loading import InversionModels
>>> from ylg.gan.models import Discriminator, Generator
>>> from ylg.gan.run.config import TrainConfig
>>> from ylg.gan.sampling.generate import LoadedGenerator
>>> g = Generator(32, 8, 8, 3, attn_resolution=16).eval()
>>> loaded = LoadedGenerator(g, TrainConfig(z_dim=8), 0, ["a", "b", "c"], 3, Path("untrained"))
>>> models = InversionModels(loaded, Discriminator(32, 8, 3, attn_resolution=16).eval())
>>> source = seed_source(models, 7, label="b")
>>> source.name, source.view["z"].shape, source.view["class_index"]
('seed7', torch.Size([8]), 1)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ylg.errors import YlgError
from ylg.gan.invert.classes import choose_class
from ylg.gan.invert.loading import InversionModels
from ylg.gan.invert.loop import Settings, invert_image
from ylg.gan.invert.outputs import load_image, read_result
from ylg.gan.run.checkpoint import weights_digest
from ylg.gan.sampling.generate import class_index
from ylg.gan.sampling.latents import latents


@dataclass(frozen=True)
class Source:
    """A picture to look at: ``view`` holds ``z`` and ``class_index``, or ``image``
    (the keyword arguments of :func:`~ylg.gan.invert.views.layer_view`); ``name`` says
    where it came from (``seed3``, the inversion's folder, the image's stem)."""

    name: str
    view: dict[str, Any]


def seed_source(
    models: InversionModels, seed: int, label: str | None = None, truncation: float = 2.0
) -> Source:
    """A truncated-normal latent from ``seed``; the class ``label`` (name or index), or,
    for a conditional model without one, a class drawn from the seed."""
    loaded = models.generator
    gen = torch.Generator().manual_seed(seed)
    index = None
    if label is not None:
        index = class_index(loaded, label)
    elif loaded.num_classes:
        index = int(torch.randint(loaded.num_classes, (1,), generator=gen))
    z = latents(1, loaded.config.z_dim, gen, truncation)[0]
    return Source(f"seed{seed}", {"z": z, "class_index": index})


def inversion_source(models: InversionModels, path: str | os.PathLike[str]) -> Source:
    """The latent and class that ``ylg invert`` kept in ``path`` (a ``result.json``),
    checked against the model: another model's result is refused."""
    path = Path(path)
    z, index, record = read_result(path)
    loaded = models.generator
    if loaded.num_classes:
        fits_class = index is not None and 0 <= index < loaded.num_classes
    else:
        fits_class = index is None
    digest = record.get("generator_sha256")
    same = digest == weights_digest(loaded.model) if digest else True
    if (
        z.numel() != loaded.config.z_dim
        or not fits_class
        or not same
        or record.get("resolution", models.resolution) != models.resolution
    ):
        raise YlgError(
            f"{path} was written for another generator ({record.get('checkpoint', '?')},"
            f" step {record.get('checkpoint_step', '?')}), not {loaded.path}"
            f" (step {loaded.step}); draw it with the model it was inverted with"
        )
    return Source(path.parent.name or "inversion", {"z": z, "class_index": index})


def image_source(
    models: InversionModels,
    path: str | os.PathLike[str],
    layer: str,
    label: str | None = None,
    settings: Settings | None = None,
    progress: bool = False,
) -> Source:
    """A real image file: as it is for the discriminator's layer; for the generator's,
    its ylg inversion (``settings``; the class ``label``, or the one D scores highest)."""
    path = Path(path)
    device = next(models.discriminator.parameters()).device
    real = load_image(path, models.resolution).to(device)
    if layer == "discriminator":
        return Source(path.stem, {"image": real})
    index, _ = choose_class(models, label, real)
    g, d = models.generator.model, models.discriminator
    run = invert_image(
        g,
        d,
        real,
        "ylg",
        settings or Settings(),
        class_index=index,
        progress=progress,
        label=f"{path.name}: ylg",
    )
    return Source(path.stem, {"z": run.z[run.best_seed], "class_index": index})
