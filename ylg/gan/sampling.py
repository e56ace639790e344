"""Latents (with the truncation trick), the EMA of the generator, and sample grids.

The truncation trick (the paper's appendix 9.2, from BigGAN): latent entries whose
magnitude exceeds the threshold are resampled until they fall inside it.

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


def latents(
    n: int, dim: int, generator: torch.Generator | None = None, truncation: float | None = None
) -> torch.Tensor:
    """``n`` standard normal latents of size ``dim`` on the CPU, optionally truncated."""
    z = torch.randn(n, dim, generator=generator)
    if truncation is None:
        return z
    if truncation <= 0:
        raise YlgError(f"truncation must be positive, not {truncation}")
    outside = z.abs() > truncation
    while bool(outside.any()):
        z[outside] = torch.randn(int(outside.sum()), generator=generator)
        outside = z.abs() > truncation
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
