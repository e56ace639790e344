"""SAGAN's generator and projection discriminator, with a slot for any attention layer.

At 128 px these are the networks of the tensorflow-gan SAGAN example that the paper
modified (gf_dim = df_dim = 64): the generator goes 4 -> 128 px through five
up-sampling residual blocks (channels 1024, 1024, 512, 256, 128, 64) with the attention
layer after the 32x32 block (256 channels); the discriminator goes down through an
optimised block and four residual blocks (64 ... 1024 channels) plus one more block at
4x4, with the attention layer after its 32x32 block (128 channels), and ends with
ReLU, a sum over positions, a linear output and a class projection. At 32 and 64 px
the same blocks are used, fewer of them.

>>> import torch
>>> g = Generator(resolution=32, z_dim=16, channels=16, num_classes=10, attn_resolution=16)
>>> d = Discriminator(resolution=32, channels=16, num_classes=10, attn_resolution=16)
>>> y = torch.tensor([1, 2])
>>> x = g(torch.randn(2, 16), y); x.shape
torch.Size([2, 3, 32, 32])
>>> d(x, y).shape
torch.Size([2])
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ylg.attention.layers import Attention2d
from ylg.gan.models.layers import (
    ClassBatchNorm,
    MinibatchStd,
    sn_conv,
    sn_embedding,
    sn_linear,
)

AttentionFactory = Callable[[int], nn.Module]

# Channel multipliers of the 128 px networks (tensorflow-gan SAGAN example).
G_MULTS = (16, 16, 8, 4, 2, 1)
D_MULTS = (1, 2, 4, 8, 16)


def _no_attention(channels: int) -> nn.Module:
    return nn.Identity()


def upsample2(x: torch.Tensor) -> torch.Tensor:
    """Nearest-neighbour x2 up-sampling by broadcasting (XLA has no host fallback for it).

    >>> upsample2(torch.arange(4.0).view(1, 1, 2, 2))[0, 0].tolist()[1]
    [0.0, 0.0, 1.0, 1.0]
    """
    b, c, h, w = x.shape
    return x[:, :, :, None, :, None].expand(b, c, h, 2, w, 2).reshape(b, c, 2 * h, 2 * w)


class GBlock(nn.Module):
    """Up-sampling residual block: CBN, ReLU, up x2, conv3x3, CBN, ReLU, conv3x3 (+ 1x1 skip)."""

    def __init__(self, c_in: int, c_out: int, num_classes: int, shared_dim: int) -> None:
        super().__init__()
        self.bn0 = ClassBatchNorm(c_in, num_classes, shared_dim)
        self.bn1 = ClassBatchNorm(c_out, num_classes, shared_dim)
        self.conv1 = sn_conv(c_in, c_out, 3)
        self.conv2 = sn_conv(c_out, c_out, 3)
        self.skip = sn_conv(c_in, c_out, 1)

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        h = upsample2(F.relu(self.bn0(x, cond)))
        h = self.conv2(F.relu(self.bn1(self.conv1(h), cond)))
        return h + self.skip(upsample2(x))


class DBlock(nn.Module):
    """Residual block: (ReLU,) conv3x3, ReLU, conv3x3, (avg-pool); 1x1 skip when needed.

    ``first`` is SAGAN's optimised first block (no leading ReLU, pool before the skip conv).
    """

    def __init__(self, c_in: int, c_out: int, down: bool = True, first: bool = False) -> None:
        super().__init__()
        self.first, self.down = first, down
        self.conv1 = sn_conv(c_in, c_out, 3)
        self.conv2 = sn_conv(c_out, c_out, 3)
        self.skip = sn_conv(c_in, c_out, 1) if (down or c_in != c_out) else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x if self.first else F.relu(x)
        h = self.conv2(F.relu(self.conv1(h)))
        if self.down:
            h = F.avg_pool2d(h, 2)
        skip = x
        if self.first:
            skip = self.skip(F.avg_pool2d(x, 2))
        elif self.skip is not None:
            skip = self.skip(x)
            if self.down:
                skip = F.avg_pool2d(skip, 2)
        return h + skip


def _levels(resolution: int) -> int:
    levels = int(math.log2(resolution // 4))
    if 4 * 2**levels != resolution:
        raise ValueError(f"resolution must be 4 times a power of two, not {resolution}")
    return levels


class Generator(nn.Module):
    """SAGAN's generator: ``G(z, y)`` -> images in [-1, 1], ``[B, 3, R, R]``.

    ``num_classes = 0`` makes it unconditional; ``shared_dim > 0`` uses one shared
    class embedding instead of per-layer class tables.
    """

    def __init__(
        self,
        resolution: int = 128,
        z_dim: int = 128,
        channels: int = 64,
        num_classes: int = 1000,
        attention: AttentionFactory = _no_attention,
        attn_resolution: int = 32,
        shared_dim: int = 0,
    ) -> None:
        super().__init__()
        levels = _levels(resolution)
        mults = G_MULTS[len(G_MULTS) - levels - 1 :]
        self.z_dim, self.num_classes, self.resolution = z_dim, num_classes, resolution
        self.shared = (
            nn.Embedding(num_classes, shared_dim) if (shared_dim and num_classes) else None
        )
        cond_classes = num_classes if not self.shared else 0
        cond_dim = shared_dim if self.shared else 0
        self.c0 = channels * mults[0]
        self.linear = sn_linear(z_dim, self.c0 * 16)
        self.blocks = nn.ModuleList()
        self.attn_after = -1
        for i in range(levels):
            c_in, c_out = channels * mults[i], channels * mults[i + 1]
            self.blocks.append(GBlock(c_in, c_out, cond_classes, cond_dim))
            if 8 * 2**i == attn_resolution:
                self.attn_after, attn_channels = i, c_out
        if self.attn_after < 0:
            raise ValueError(f"no generator block at {attn_resolution}x{attn_resolution}")
        self.attention = attention(attn_channels)
        self.bn = nn.BatchNorm2d(channels * mults[-1], eps=1e-5)
        self.out = sn_conv(channels * mults[-1], 3, 3)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        cond = y
        if self.shared is not None:
            cond = self.shared(y)
        h = self.linear(z).view(z.shape[0], self.c0, 4, 4)
        for i, block in enumerate(self.blocks):
            h = block(h, cond)
            if i == self.attn_after:
                h = self.attention(h)
        return torch.tanh(self.out(F.relu(self.bn(h))))


class Discriminator(nn.Module):
    """SAGAN's projection discriminator: ``D(x, y)`` -> one logit per image, ``[B]``.

    ``minibatch_std``: a group size (0: off, SAGAN) for :class:`MinibatchStd` before the
    last block, so that D sees how much each group of images varies.
    """

    def __init__(
        self,
        resolution: int = 128,
        channels: int = 64,
        num_classes: int = 1000,
        attention: AttentionFactory = _no_attention,
        attn_resolution: int = 32,
        minibatch_std: int = 0,
    ) -> None:
        super().__init__()
        levels = _levels(resolution)
        mults = D_MULTS[:levels]
        self.blocks = nn.ModuleList()
        self.attn_after = -1
        c_in, size = 3, resolution
        for i, mult in enumerate(mults):
            self.blocks.append(DBlock(c_in, channels * mult, down=True, first=i == 0))
            c_in, size = channels * mult, size // 2
            if size == attn_resolution:
                self.attn_after, attn_channels = i, c_in
        if self.attn_after < 0:
            raise ValueError(f"no discriminator block at {attn_resolution}x{attn_resolution}")
        self.attention = attention(attn_channels)
        self.minibatch_std = MinibatchStd(minibatch_std) if minibatch_std else None
        self.final = DBlock(c_in + (1 if minibatch_std else 0), c_in, down=False)
        self.linear = sn_linear(c_in, 1)
        self.embed = sn_embedding(num_classes, c_in) if num_classes else None

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = x
        for i, block in enumerate(self.blocks):
            h = block(h)
            if i == self.attn_after:
                h = self.attention(h)
        if self.minibatch_std is not None:
            h = self.minibatch_std(h)
        h = F.relu(self.final(h)).sum(dim=(2, 3))
        out = self.linear(h).squeeze(1)
        if self.embed is not None:
            out = out + (self.embed(y) * h).sum(dim=1)
        return out


def attention_layers(model: nn.Module) -> dict[str, Attention2d]:
    """The attention layers of a model, by name."""
    return {name: m for name, m in model.named_modules() if isinstance(m, Attention2d)}


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters (spectral norm's vectors are buffers, not counted).

    >>> count_parameters(nn.Linear(3, 2))
    8
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
