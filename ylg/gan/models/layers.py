"""The building blocks of SAGAN: spectrally normalised layers and class-conditional batch norm.

Spectral norm is :func:`ylg.attention.spectral_norm.spectral_norm` (XLA-safe, the same
one the attention blocks use), applied when a layer is built, on the CPU, before the
model moves to its device.

>>> import torch
>>> conv = sn_conv(3, 8, 3)
>>> conv(torch.zeros(1, 3, 4, 4)).shape
torch.Size([1, 8, 4, 4])
>>> bn = ClassBatchNorm(8, num_classes=10)
>>> bn(torch.randn(4, 8, 2, 2), torch.tensor([0, 1, 2, 3])).shape
torch.Size([4, 8, 2, 2])
"""

from __future__ import annotations

import torch
from torch import nn

from ylg.attention.spectral_norm import SpectralNorm, spectral_norm

__all__ = [
    "ClassBatchNorm",
    "SpectralNorm",
    "sn_conv",
    "sn_embedding",
    "sn_linear",
    "spectral_norm",
]


def _init(layer: nn.Module) -> nn.Module:
    """Glorot-uniform weights and zero biases, as the tensorflow-gan SAGAN example."""
    nn.init.xavier_uniform_(layer.weight)
    if getattr(layer, "bias", None) is not None:
        nn.init.zeros_(layer.bias)
    return layer


def sn_conv(c_in: int, c_out: int, kernel: int, bias: bool = True) -> nn.Module:
    """A spectrally normalised ``kernel x kernel`` convolution with 'same' padding."""
    return spectral_norm(_init(nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=bias)))


def sn_linear(d_in: int, d_out: int, bias: bool = True) -> nn.Module:
    """A spectrally normalised linear layer."""
    return spectral_norm(_init(nn.Linear(d_in, d_out, bias=bias)))


def sn_embedding(num: int, dim: int) -> nn.Module:
    """A spectrally normalised embedding (the projection discriminator's class vectors)."""
    return spectral_norm(_init(nn.Embedding(num, dim)))


class ClassBatchNorm(nn.Module):
    """Batch norm whose gain and bias depend on the class.

    ``table`` mode (SAGAN): each class has its own gain and bias in every layer,
    starting at 1 and 0. ``shared`` mode (BigGAN): the generator's shared class
    embedding, passed in instead of the labels, is projected to gain and bias.
    Without classes it is ordinary affine batch norm.
    """

    def __init__(self, channels: int, num_classes: int = 0, shared_dim: int = 0) -> None:
        super().__init__()
        self.mode = "shared" if shared_dim else ("table" if num_classes else "plain")
        self.bn = nn.BatchNorm2d(channels, affine=self.mode == "plain", eps=1e-5)
        if self.mode == "table":
            self.gain = nn.Embedding(num_classes, channels)
            self.bias = nn.Embedding(num_classes, channels)
            nn.init.ones_(self.gain.weight)
            nn.init.zeros_(self.bias.weight)
        elif self.mode == "shared":
            self.gain = sn_linear(shared_dim, channels, bias=False)
            self.bias = sn_linear(shared_dim, channels, bias=False)

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        out = self.bn(x)
        if self.mode == "plain":
            return out
        gain = self.gain(cond)
        if self.mode == "shared":
            gain = 1 + gain
        return out * gain[:, :, None, None] + self.bias(cond)[:, :, None, None]


class MinibatchStd(nn.Module):
    """ProGAN's minibatch standard deviation: one channel more, holding how much the
    features vary across each group of ``group`` consecutive images (the mean over
    features of their standard deviation in the group). A discriminator that sees it
    can tell a batch of near-identical samples from real images, which pushes the
    generator towards variety. Groups are consecutive, so a batch of reals followed by
    fakes never mixes the two when the halves divide by ``group``; a batch that does not
    divide by it is one group.

    >>> x = torch.randn(8, 3, 4, 4)
    >>> out = MinibatchStd(4)(x); out.shape
    torch.Size([8, 4, 4, 4])
    >>> float(MinibatchStd(4)(torch.ones(8, 3, 4, 4))[:, 3].abs().max()) < 1e-3
    True
    """

    def __init__(self, group: int = 4) -> None:
        super().__init__()
        self.group = group

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        g = self.group if b % self.group == 0 else b
        y = x.float().reshape(b // g, g, -1)
        std = (y.var(dim=1, unbiased=False) + 1e-8).sqrt().mean(dim=1)  # [b // g]
        feature = std.repeat_interleave(g).reshape(b, 1, 1, 1).expand(b, 1, h, w)
        return torch.cat([x, feature.to(x.dtype)], dim=1)
