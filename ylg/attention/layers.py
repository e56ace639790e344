"""SAGAN-style attention blocks for ``[B, C, H, W]`` feature maps.

Both blocks follow the spec of the published model: spectrally normalised 1x1 convs
to queries (C/8 channels), keys (C/8) and values (C/2); keys and values max-pooled
``key_pool x key_pool`` (so queries live on H x W and keys on H/2 x W/2); the heads'
outputs go through a spectrally normalised 1x1 conv back to C channels, and the block
returns ``x + gamma * out`` with ``gamma`` a learned scalar that starts at 0.
:class:`YLGAttention2d` attends through a verified sparse pattern,
:class:`SAGANAttention2d` is SAGAN's dense layer, so ablations swap one for the other.

>>> import torch
>>> layer = YLGAttention2d(64)                     # 8 heads: RTL1, RTL2, ..., LTR2
>>> x = torch.randn(2, 64, 16, 16)
>>> y, attn = layer(x, return_attention=True)
>>> y.shape, attn.shape                            # queries 16x16, keys 8x8
(torch.Size([2, 64, 16, 16]), torch.Size([2, 8, 256, 64]))
>>> torch.equal(y, x)                              # gamma starts at 0
True
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ylg.attention.functional import attention_maps, pick_backend, sparse_attention
from ylg.attention.heads import PatternLike
from ylg.attention.masksets import (
    STEP_MODES,
    HeadMasks,
    head_masks,
    is_exported_path,
)
from ylg.attention.spectral_norm import spectral_norm
from ylg.errors import YlgError
from ylg.patterns import Grid, Layout, load_npz

#: The layout the pattern is verified on when the layer is built: the published
#: model's 32x32 feature maps (keys pooled to 16x16 by the default key_pool of 2).
CHECK_SIZE = 32


def _conv(cin: int, cout: int) -> nn.Module:
    return spectral_norm(nn.Conv2d(cin, cout, kernel_size=1, bias=False))


def _check_pattern_argument(pattern: object, heads: object) -> None:
    """Refuse, with a message about the argument given, what is not a pattern or heads."""
    from ylg.patterns import Pattern

    one = (str, os.PathLike, Pattern)
    if heads is not None:
        if isinstance(heads, (str, bytes)) or not isinstance(heads, Sequence) or not heads:
            raise YlgError(
                f"heads must be a non-empty list of (pattern, step) pairs, got {heads!r}"
            )
        return
    if isinstance(pattern, one):
        return
    if isinstance(pattern, Sequence) and pattern and all(isinstance(p, one) for p in pattern):
        return
    raise YlgError(
        "pattern must be a library name, a TOML or .npz path, a Pattern, or a non-empty list"
        f" of these, not {pattern!r}"
    )


class Attention2d(nn.Module):
    """The contract of ylg's attention blocks, and what they share: projections,
    pooling, head split, output conv, ``gamma``.

    Every block takes ``x [B, C, H, W]`` and returns ``x + gamma * out`` (with
    ``return_attention=True`` also the weights ``[B, heads, H*W, H*W/key_pool^2]``), and
    has ``channels``, ``num_heads``, ``key_pool``, ``labels`` (one name per head) and the
    learned scalar ``gamma``. Models, inversion and figures find attention layers with
    ``isinstance(module, Attention2d)``.

    >>> isinstance(SAGANAttention2d(32), Attention2d), SAGANAttention2d(32, 2).labels
    (True, ('dense', 'dense'))
    """

    #: One name per head (``rtl/1``, ... for YLG heads; ``dense`` for SAGAN's).
    labels: tuple[str, ...]

    def __init__(self, channels: int, num_heads: int, key_pool: int) -> None:
        super().__init__()
        for name, value in (("channels", channels), ("num_heads", num_heads)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise YlgError(f"{name} must be a positive integer, got {value!r}")
        if isinstance(key_pool, bool) or not isinstance(key_pool, int) or key_pool < 1:
            raise YlgError(f"key_pool must be a positive integer, got {key_pool!r}")
        if channels % (8 * num_heads):
            raise YlgError(
                f"{channels} channels do not split into {num_heads} heads: queries and keys"
                f" get channels/8 and each head an equal share, so channels must be a"
                f" multiple of {8 * num_heads}"
            )
        self.channels = channels
        self.num_heads = num_heads
        self.key_pool = key_pool
        self.query = _conv(channels, channels // 8)
        self.key = _conv(channels, channels // 8)
        self.value = _conv(channels, channels // 2)
        self.out = _conv(channels // 2, channels)
        self.gamma = nn.Parameter(torch.zeros(()))

    def _pool(self, t: Tensor) -> Tensor:
        return t if self.key_pool == 1 else F.max_pool2d(t, self.key_pool)

    def _heads(self, t: Tensor) -> Tensor:
        b, c, h, w = t.shape
        return t.reshape(b, self.num_heads, c // self.num_heads, h * w).transpose(-1, -2)

    def _check_input(self, x: Tensor) -> tuple[int, int]:
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise YlgError(
                f"expected a [batch, {self.channels}, height, width] input, got {tuple(x.shape)}"
            )
        h, w = int(x.shape[2]), int(x.shape[3])
        if h % self.key_pool or w % self.key_pool:
            raise YlgError(
                f"a {h}x{w} feature map does not pool by {self.key_pool}; use sizes divisible"
                f" by key_pool={self.key_pool}"
            )
        return h, w

    def _project(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Queries, keys, values per head, and the queries pooled onto the key grid."""
        q = self.query(x)
        k, v = self._pool(self.key(x)), self._pool(self.value(x))
        return self._heads(q), self._heads(k), self._heads(v), self._pool(q)

    def _finish(self, x: Tensor, out: Tensor) -> Tensor:
        b, _, h, w = x.shape
        merged = out.transpose(-1, -2).reshape(b, self.channels // 2, h, w)
        return x + self.gamma * self.out(merged)


class YLGAttention2d(Attention2d):
    """Sparse attention block: each head attends through one step of a verified pattern.

    ``pattern``: ``"ylg"`` (RTL and LTR; heads RTL1, RTL2, RTL1, RTL2, LTR1, LTR2, LTR1,
    LTR2 as published), a library name, a TOML path, a Pattern, a list of them, or an
    ``.npz`` from ``ylg export`` (the layer then runs on that file's layout only).
    ``heads``: explicit ``(pattern, step)`` pairs (0-based steps) instead. ``order``:
    ``None`` keeps each pattern's enumeration, ``"rowmajor"`` gives "YLG - No ESA".
    ``backend``: ``auto``, ``dense``, ``grouped`` or ``flex`` (the same function; see
    :mod:`ylg.attention.functional`); ``last_backend`` tells which one ran.
    ``steps="sequential"``: each head runs all its pattern's steps in turn (the full
    multi-hop flow of the IFG in one layer; inner steps use the queries pooled onto the
    key grid). ``verify``: refuse patterns without Full Information, checked at build
    on the published 32x32 layout and at every new feature-map size (cached).
    """

    def __init__(
        self,
        channels: int,
        pattern: "PatternLike | Sequence[PatternLike]" = "ylg",
        *,
        heads: Sequence[object] | None = None,
        num_heads: int | None = None,
        order: str | None = None,
        nonsquare: str | None = None,
        key_pool: int = 2,
        backend: str = "auto",
        paper_compat: bool = False,
        scale: bool = False,
        steps: str = "parallel",
        verify: bool = True,
    ) -> None:
        _check_pattern_argument(pattern, heads)
        if num_heads is not None:
            count = num_heads  # checked below: 0 is refused, never read as "the default"
        else:
            count = len(heads) if heads is not None else 8
        super().__init__(channels, count, key_pool)
        pick_backend(backend, "cpu")  # rejects unknown names now
        if steps not in STEP_MODES:
            raise YlgError(f"steps must be one of {', '.join(STEP_MODES)}, got {steps!r}")
        self.pattern = pattern
        self.heads_spec = heads
        self.order = order
        self.nonsquare = nonsquare
        self.backend = backend
        self.paper_compat = paper_compat
        self.scale = scale
        self.steps = steps
        self.verify = verify
        self.last_backend: str | None = None
        self._layouts: dict[tuple[int, int], HeadMasks] = {}
        # What the backends build on a device (masks, block masks, indices), per layout,
        # backend, device and dtype: it lives on the layer, so deleting the model frees it.
        self._prepared: dict[object, object] = {}
        if is_exported_path(pattern):
            qg = load_npz(pattern).layout.query_grid  # type: ignore[arg-type]
            self.masks_for(qg.height, qg.width)
        else:
            self.masks_for(CHECK_SIZE, CHECK_SIZE)
        self.labels = self._layouts[next(iter(self._layouts))].labels

    @torch.compiler.disable
    def masks_for(self, height: int, width: int) -> HeadMasks:
        """The head masks for an ``height x width`` feature map (built once, then cached)."""
        key = (height, width)
        if key not in self._layouts:
            if height % self.key_pool or width % self.key_pool:
                raise YlgError(f"a {height}x{width} map does not pool by {self.key_pool}")
            grid = Grid(height // self.key_pool, width // self.key_pool)
            self._layouts[key] = head_masks(
                self.pattern,
                layout=Layout(grid, Grid(height, width)),
                heads=self.heads_spec,
                num_heads=self.num_heads,
                order=self.order,
                nonsquare=self.nonsquare,
                steps=self.steps,
                verify=self.verify,
            )
        return self._layouts[key]

    def forward(
        self, x: Tensor, return_attention: bool = False
    ) -> "Tensor | tuple[Tensor, Tensor]":
        """``x [B, C, H, W]`` -> ``x + gamma * out`` (and the attention ``[B, heads, nq, nk]``)."""
        h, w = self._check_input(x)
        masks = self.masks_for(h, w)
        q, k, v, pooled = self._project(x)
        q_inner = self._heads(pooled) if self.steps == "sequential" else None
        self.last_backend = pick_backend(self.backend, x.device, masks)
        options = {
            "paper_compat": self.paper_compat,
            "scale": self.scale,
            "q_inner": q_inner,
            "cache": self._prepared,
        }
        out = sparse_attention(q, k, v, masks, backend=self.last_backend, **options)
        y = self._finish(x, out)
        if not return_attention:
            return y
        return y, attention_maps(q, k, masks, **options)

    def _apply(self, fn, recurse=True):  # type: ignore[no-untyped-def]
        # .to() / .cuda() / .half(): what was built for the old device or dtype goes.
        self._prepared.clear()
        return super()._apply(fn, recurse)

    def extra_repr(self) -> str:
        return (
            f"channels={self.channels}, heads={list(self.labels)}, steps={self.steps!r},"
            f" backend={self.backend!r}, key_pool={self.key_pool}, scale={self.scale},"
            f" paper_compat={self.paper_compat}"
        )


class SAGANAttention2d(Attention2d):
    """SAGAN's dense attention block (1 head as published, or 8 for the ablation).

    No position is masked, so ``paper_compat`` changes nothing; it is accepted so that
    this block and :class:`YLGAttention2d` take the same options.

    >>> import torch
    >>> layer = SAGANAttention2d(32, num_heads=1)
    >>> layer(torch.randn(1, 32, 8, 8), return_attention=True)[1].shape
    torch.Size([1, 1, 64, 16])
    """

    def __init__(
        self,
        channels: int,
        num_heads: int = 1,
        *,
        key_pool: int = 2,
        paper_compat: bool = False,
        scale: bool = False,
    ) -> None:
        super().__init__(channels, num_heads, key_pool)
        self.paper_compat = paper_compat
        self.scale = scale
        self.labels = ("dense",) * num_heads

    def forward(
        self, x: Tensor, return_attention: bool = False
    ) -> "Tensor | tuple[Tensor, Tensor]":
        """``x [B, C, H, W]`` -> ``x + gamma * out`` (and the attention ``[B, heads, nq, nk]``)."""
        self._check_input(x)
        q, k, v, _ = self._project(x)
        factor = None if self.scale else 1.0
        out = F.scaled_dot_product_attention(q, k, v, scale=factor)
        y = self._finish(x, out)
        if not return_attention:
            return y
        logits = torch.matmul(q, k.transpose(-1, -2))
        if self.scale:
            logits = logits / q.shape[-1] ** 0.5
        return y, torch.softmax(logits, dim=-1)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, heads={self.num_heads}, key_pool={self.key_pool}"
