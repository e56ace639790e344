"""Invert a generator: find the ``z`` whose image matches a target, several seeds at once.

All seeds start from a truncated normal (entries past ``truncation`` resampled, the
paper's appendix 9.2) and run as one batch through Adam wrapped in Lookahead; each
seed keeps the ``z`` with its lowest loss so far, and the seed whose best loss is
lowest wins. The models are in eval mode, so the seeds are independent: running
them together gives what running them one by one would. The loop stops after
``iterations`` steps, or earlier once no seed has improved its best loss by 0.1% for
``patience`` steps.

>>> import torch
>>> from ylg.gan.models import Discriminator, Generator
>>> torch.manual_seed(0)  # doctest: +ELLIPSIS
<torch._C.Generator object at ...>
>>> g = Generator(32, 8, 8, 0, attn_resolution=16).eval().requires_grad_(False)
>>> d = Discriminator(32, 8, 0, attn_resolution=16).eval().requires_grad_(False)
>>> target = g(torch.zeros(1, 8))[0]
>>> run = invert_image(g, d, target, "dfeat", Settings(seeds=2, iterations=30), progress=False)
>>> run.z.shape, run.losses.shape, bool(run.losses[-1].min() < run.losses[0].min())
(torch.Size([2, 8]), (30, 2), True)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from ylg.errors import YlgError
from ylg.gan.invert.lookahead import Lookahead
from ylg.gan.invert.losses import METHODS, dfeat_loss, pixel_loss, ylg_loss
from ylg.gan.invert.saliency_maps import project, saliency
from ylg.gan.invert.settings import Settings
from ylg.gan.invert.taps import LayerAttention, d0, discriminator_attention, has_attention
from ylg.gan.models import Discriminator, Generator
from ylg.gan.sampling.latents import latents
from ylg.progress import progress as progress_bar

#: A seed "improves" when its best loss falls by more than this fraction.
IMPROVEMENT = 1e-3


@dataclass
class Target:
    """The real image with what the losses compare against: ``D0(x)`` and ``S'``."""

    image: Tensor  # [1, 3, R, R] in [-1, 1]
    features: Tensor  # D0(x), [1, C, H, W]
    attention: LayerAttention | None  # D's attention on x; None without attention
    maps: Tensor | None  # projected saliency S' [1, heads, H, W]

    @classmethod
    @torch.no_grad()
    def of(cls, d: Discriminator, image: Tensor) -> Target:
        """Features and saliency of ``image [3, R, R]`` (values in [-1, 1])."""
        x = image[None] if image.dim() == 3 else image
        features = d0(d, x)
        if not has_attention(d):
            return cls(x, features, None, None)
        attn = discriminator_attention(d, x)
        maps = project(saliency(attn.weights), attn.key_grid, tuple(features.shape[-2:]))
        return cls(x, features, attn, maps)

    def losses(self, d: Discriminator, images: Tensor) -> dict[str, Tensor]:
        """Every loss this target defines, per image ``[B]``."""
        out = {"pixel": pixel_loss(images, self.image)}
        features = d0(d, images)
        out["dfeat"] = dfeat_loss(features, self.features)
        if self.maps is not None:
            out["ylg"] = ylg_loss(features, self.features, self.maps)
        return out

    def loss(self, d: Discriminator, images: Tensor, method: str) -> Tensor:
        """The loss of ``method`` per image ``[B]`` (computing only what it needs)."""
        if method == "pixel":
            return pixel_loss(images, self.image)
        features = d0(d, images)
        if method == "dfeat":
            return dfeat_loss(features, self.features)
        if self.maps is None:
            raise YlgError(
                "the ylg method weighs D's features by its attention, and this model has no "
                "attention layer; use --method pixel or dfeat"
            )
        return ylg_loss(features, self.features, self.maps)


@dataclass
class Inversion:
    """One method's inversion of one image."""

    method: str
    z: Tensor  # [seeds, z_dim]: each seed's best latent
    class_index: int | None
    losses: np.ndarray  # [steps run, seeds]: the method's loss at every step
    best_steps: list[int]  # the step of each seed's best latent (0-based)
    metrics: list[dict[str, float]] = field(default_factory=list)  # per seed, all losses
    images: Tensor | None = None  # [seeds, 3, R, R] from the best latents

    @property
    def best_seed(self) -> int:
        """The seed with the lowest final loss of its own method."""
        return int(np.argmin([m[self.method] for m in self.metrics]))

    @property
    def image(self) -> Tensor:
        """The best seed's image ``[3, R, R]``."""
        assert self.images is not None
        return self.images[self.best_seed]


def invert_image(
    g: Generator,
    d: Discriminator,
    image: Tensor,
    method: str = "ylg",
    settings: Settings | None = None,
    *,
    class_index: int | None = None,
    target: Target | None = None,
    start: Tensor | None = None,
    progress: bool = True,
    label: str = "",
) -> Inversion:
    """Invert ``image [3, R, R]`` (in [-1, 1]) with ``method``: ``ylg``, ``pixel``, ``dfeat``.

    ``g`` and ``d`` must be in eval mode on the image's device. ``class_index`` is
    the class of a conditional generator. ``settings.patience`` 0 never stops early.
    ``target`` reuses features and saliency already computed for the image;
    ``start [seeds, z_dim]`` replaces the truncated-normal starting latents (e.g. to
    refine an earlier inversion).
    """
    if method not in METHODS:
        raise YlgError(f"unknown method {method!r} (choose from {', '.join(METHODS)})")
    s = settings or Settings()
    device = image.device
    target = target or Target.of(d, image)
    if start is None:
        start = latents(s.seeds, g.z_dim, torch.Generator().manual_seed(s.seed), s.truncation)
    elif tuple(start.shape) != (s.seeds, g.z_dim):
        raise YlgError(f"start latents must be [{s.seeds}, {g.z_dim}], not {list(start.shape)}")
    z = start.detach().clone().to(device).requires_grad_(True)
    y = None
    if g.num_classes:
        if class_index is None:
            raise YlgError("this generator is conditional: give the class of the image")
        y = torch.full((s.seeds,), class_index, dtype=torch.long, device=device)
    opt = Lookahead(torch.optim.Adam([z], lr=s.lr), k=s.k, alpha=s.alpha)
    best = torch.full((s.seeds,), float("inf"), device=device)
    best_z = z.detach().clone()
    best_steps = [0] * s.seeds
    history: list[np.ndarray] = []
    last_gain = 0
    bar = progress_bar(
        total=s.iterations, desc=label or f"invert ({method})", disable=not progress, unit="step"
    )
    try:
        for step in range(s.iterations):
            opt.zero_grad()
            loss = target.loss(d, g(z, y), method)
            loss.sum().backward()
            values = loss.detach()
            better = values < best
            if bool((values < best * (1 - IMPROVEMENT)).any()):
                last_gain = step
            best_z[better] = z.detach()[better]
            best = torch.where(better, values, best)
            for i in torch.nonzero(better).flatten().tolist():
                best_steps[i] = step
            history.append(values.cpu().numpy())
            opt.step()
            bar.update(1)
            bar.set_postfix(best=f"{float(best.min()):.4g}", refresh=False)
            if s.patience and step - last_gain >= s.patience:
                break
    finally:
        bar.close()
    run = Inversion(method, best_z, class_index, np.stack(history), best_steps)
    with torch.no_grad():
        run.images = g(best_z, y)
        metrics = target.losses(d, run.images)
    run.metrics = [
        {name: float(values[i]) for name, values in metrics.items()} for i in range(s.seeds)
    ]
    return run
