"""Latents, with the truncation trick.

The truncation trick (the paper's appendix 9.2, from BigGAN): latent entries beyond the
threshold ``T`` are replaced by draws of the normal truncated to ``[-T, T]``, the
distribution resampling them until they fall inside would give, but drawn by the
inverse CDF in bounded time.

>>> import torch
>>> z = latents(1000, 8, generator=torch.Generator().manual_seed(0), truncation=0.5)
>>> bool(z.abs().max() <= 0.5), tuple(z.shape)
(True, (1000, 8))
"""

from __future__ import annotations

import math

import torch

from ylg.errors import YlgError


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
