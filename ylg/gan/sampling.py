"""Latents (with the truncation trick), the EMA of the generator, and sample grids.

The truncation trick (the paper's appendix 9.2, from BigGAN): latent entries beyond the
threshold ``T`` are replaced by draws of the normal truncated to ``[-T, T]``, the
distribution resampling them until they fall inside would give, but drawn by the
inverse CDF in bounded time.

>>> import torch
>>> z = latents(1000, 8, generator=torch.Generator().manual_seed(0), truncation=0.5)
>>> bool(z.abs().max() <= 0.5), tuple(z.shape)
(True, (1000, 8))
>>> grid = image_grid(torch.zeros(5, 3, 4, 4)); grid.shape, grid.dtype
((8, 12, 3), dtype('uint8'))
"""

from __future__ import annotations

import copy
import io
import math
import os

import numpy as np
import torch
from torch import nn

from ylg.errors import YlgError
from ylg.fileio import write_atomic


def truncated_normal(
    count: int, truncation: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``count`` draws of a standard normal conditioned on ``|z| <= truncation``, by its
    inverse CDF: one uniform number each, so any positive, finite threshold takes the
    same time.

    >>> z = truncated_normal(10_000, 1e-9, torch.Generator().manual_seed(0))
    >>> bool(z.abs().max() <= 1e-9), bool(z.abs().max() > 0)
    (True, True)
    """
    t = torch.tensor(float(truncation), dtype=torch.float64)
    half = torch.special.ndtr(t) - 0.5  # P(0 < z <= T)
    if float(half) <= 0:  # T below float64 resolution: P(0 < z <= T) ~ T phi(0)
        half = t * 0.3989422804014327
    u = torch.rand(count, generator=generator, dtype=torch.float64) * 2.0 - 1.0
    return torch.special.ndtri(0.5 + u * half).clamp(-t, t).to(torch.float32)


def latents(
    n: int, dim: int, generator: torch.Generator | None = None, truncation: float | None = None
) -> torch.Tensor:
    """``n`` standard normal latents of size ``dim`` on the CPU, optionally truncated.

    With ``truncation`` T, the entries beyond T are replaced by draws of the normal
    truncated to ``[-T, T]`` (:func:`truncated_normal`): the distribution resampling
    them until they fall inside would give, in bounded time. Entries inside are kept.
    Non-finite or non-positive thresholds are refused.
    """
    if truncation is not None:
        if isinstance(truncation, bool) or not isinstance(truncation, (int, float)):
            raise YlgError(f"truncation must be a number, not {truncation!r}")
        if not math.isfinite(truncation) or truncation <= 0:
            raise YlgError(f"truncation must be a positive, finite number, not {truncation}")
    z = torch.randn(n, dim, generator=generator)
    if truncation is None:
        return z
    outside = z.abs() > truncation
    count = int(outside.sum())
    if count:
        z[outside] = truncated_normal(count, truncation, generator)
    return z


class EMA:
    """Exponential moving average of a model's parameters; buffers are copied.

    Until ``start`` steps have passed, the average simply copies the model.

    >>> m = nn.Linear(1, 1, bias=False); ema = EMA(m, decay=0.5, start=0)
    >>> with torch.no_grad(): _ = m.weight.fill_(1.0)
    >>> _ = nn.init.zeros_(ema.model.weight); ema.update(m, step=1); ema.model.weight.item()
    0.5
    """

    def __init__(self, model: nn.Module, decay: float, start: int) -> None:
        self.model = copy.deepcopy(model).eval()
        self.model.requires_grad_(False)
        self.decay, self.start = decay, start

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        decay = self.decay if step >= self.start else 0.0
        ema_params = dict(self.model.named_parameters())
        for name, param in model.named_parameters():
            ema_params[name].lerp_(param.detach(), 1.0 - decay)
        ema_buffers = dict(self.model.named_buffers())
        for name, buf in model.named_buffers():
            ema_buffers[name].copy_(buf)


def class_rows(num_classes: int, count: int) -> tuple[torch.Tensor, int]:
    """Labels for a sample grid of a conditional model with one row per class, and its width.

    With at most ``count // 2`` classes every class gets a row of ``count // num_classes``
    samples; with more (ImageNet), ``isqrt(count)`` classes spread evenly over all of them
    get a row each.

    >>> labels, columns = class_rows(10, 64); columns, labels[:8].tolist()
    (6, [0, 0, 0, 0, 0, 0, 1, 1])
    >>> labels, columns = class_rows(1000, 64); columns, labels[::8].tolist()
    (8, [0, 125, 250, 375, 500, 625, 750, 875])
    """
    if num_classes < 1 or count < 1:
        raise YlgError(f"a class grid needs classes and samples, not {num_classes}, {count}")
    if num_classes <= count // 2:
        classes, columns = torch.arange(num_classes), count // num_classes
    else:
        rows = max(1, min(num_classes, math.isqrt(count)))
        classes = torch.arange(rows) * num_classes // rows
        columns = max(1, count // rows)
    return classes.repeat_interleave(columns), columns


def image_grid(images: torch.Tensor, columns: int | None = None) -> np.ndarray:
    """Images in [-1, 1], ``[N, 3, H, W]``, tiled into one ``uint8 [rows*H, cols*W, 3]``."""
    n, c, h, w = images.shape
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    x = ((images.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    canvas = torch.zeros(rows * columns, c, h, w, dtype=torch.uint8)
    canvas[:n] = x
    canvas = canvas.view(rows, columns, c, h, w).permute(0, 3, 1, 4, 2)
    return canvas.reshape(rows * h, columns * w, c).numpy()


def save_png(path: str | os.PathLike[str], grid: np.ndarray) -> None:
    """Write a ``uint8 [H, W, 3]`` array as a PNG file, atomically."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(grid).save(buffer, format="PNG")
    write_atomic(path, buffer.getvalue())
