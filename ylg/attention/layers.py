"""SAGAN-style attention blocks for sequences, images and videos.

Every block follows the spec of the published model: spectrally normalised 1x1 convs
to queries (C/8 channels), keys (C/8) and values (C/2); keys and values max-pooled by
``key_pool`` along each axis (so queries live on the input's grid and keys on a smaller
one); the heads' outputs go through a spectrally normalised 1x1 conv back to C
channels, and the block returns ``x + gamma * out`` with ``gamma`` a learned scalar that
starts at 0. Attention runs on the flattened tokens (row-major, the first axis slowest).

* :class:`YLGAttention2d` (``[B, C, H, W]``) attends through a verified sparse pattern;
  :class:`SAGANAttention2d` is SAGAN's dense layer, so ablations swap one for the other.
* :class:`YLGAttention3d` (videos, ``[B, C, T, H, W]``) and :class:`YLGAttention1d`
  (sequences, ``[B, C, L]``) are the same block on 3-D and 1-D grids.
* :class:`Attention` is the base of every block (``Attention1d``, ``Attention2d``,
  ``Attention3d`` by number of axes); :class:`YLGAttention` the base of the sparse ones.

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
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ylg.attention.functional import attention_maps, pick_backend, sparse_attention
from ylg.attention.heads import PatternLike, check_pattern_argument, positive_int
from ylg.attention.masksets import (
    STEP_MODES,
    HeadMasks,
    LRUCache,
    head_masks,
    is_exported_path,
    verify_layers,
)
from ylg.attention.spectral_norm import spectral_norm
from ylg.deprecation import renamed_keywords, warn_renamed
from ylg.errors import YlgError
from ylg.patterns import Grid, Layout, load_npz

#: The layout the pattern is verified on when a 2-D layer is built: the published
#: model's 32x32 feature maps (keys pooled to 16x16 by the default key_pool of 2).
CHECK_SIZE = 32
#: The input size each block checks its pattern on when it is built, per number of
#: axes (each side rounded up to a multiple of ``key_pool``). 1-D: 512 tokens (256
#: keys, a square number, as RTL and LTR need); 2-D: the published 32x32; 3-D: 4
#: frames of 16x16 (1024 tokens; 256 keys with the default pooling of (1, 2, 2)).
CHECK_SIZES: dict[int, tuple[int, ...]] = {1: (512,), 2: (CHECK_SIZE, CHECK_SIZE), 3: (4, 16, 16)}

#: Per number of axes: the names of the input's sides and what the input is called.
_SIDES = {1: "length", 2: "height, width", 3: "frames, height, width"}
_NOUNS = {1: "sequence", 2: "feature map", 3: "video"}
_CONVS: dict[int, type[nn.Module]] = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
_POOLS = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}


def _conv(cin: int, cout: int, ndim: int = 2) -> nn.Module:
    return spectral_norm(_CONVS[ndim](cin, cout, kernel_size=1, bias=False))


def pool_sizes(key_pool: object, ndim: int) -> tuple[int, ...]:
    """``key_pool`` as one pooling factor per axis, checked.

    >>> pool_sizes(2, 3), pool_sizes((1, 2, 2), 3)
    ((2, 2, 2), (1, 2, 2))
    >>> pool_sizes((2, 2), 3)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ylg.errors.YlgError: key_pool must be a positive integer or 3 of them (frames, ...), got (2, 2)
    """

    def positive(v: object) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and v >= 1

    if positive(key_pool):
        return (int(key_pool),) * ndim  # type: ignore[call-overload]
    sequence = isinstance(key_pool, (tuple, list))
    if sequence and len(key_pool) == ndim and all(positive(v) for v in key_pool):  # type: ignore[arg-type]
        return tuple(int(v) for v in key_pool)  # type: ignore[union-attr]
    if ndim == 1 or not sequence:
        raise YlgError(f"key_pool must be a positive integer, got {key_pool!r:.60}")
    raise YlgError(
        f"key_pool must be a positive integer or {ndim} of them ({_SIDES[ndim]}),"
        f" got {key_pool!r:.60}"
    )


def check_flag(name: str, value: object) -> bool:
    """A yes/no argument, refused unless it is a bool: ``scale=2.0`` reads as a factor
    but would only switch the 1/sqrt(d) scaling on.

    >>> check_flag("scale", True)
    True
    >>> check_flag("scale", 2.0)
    Traceback (most recent call last):
    ...
    ylg.errors.YlgError: scale is True or False (whether logits are scaled by 1/sqrt(d)), not 2.0
    """
    if not isinstance(value, bool):
        meaning = f" ({_FLAG_MEANINGS[name]})" if name in _FLAG_MEANINGS else ""
        raise YlgError(f"{name} is True or False{meaning}, not {value!r}")
    return value


#: What the yes/no arguments :func:`check_flag` names mean, where the name alone is vague.
_FLAG_MEANINGS = {
    "scale": "whether logits are scaled by 1/sqrt(d)",
    "paper_compat": "whether masked logits are -1000 as in the paper's code",
}


#: What a layer keeps per layout: the head masks of this many layouts, and this many of
#: what its backends build on a device (a run on ever new sizes does not grow without end).
LAYOUT_ENTRIES = 32
PREPARED_ENTRIES = 64


class KeepsPrepared(nn.Module):
    """What a sparse layer's backends build on a device (masks, block masks, indices),
    per layout, backend, device and dtype, in ``_prepared``: on the layer, so deleting
    the model frees it; ``.to()``, ``.cuda()`` and ``.half()`` clear it. It keeps the
    :data:`PREPARED_ENTRIES` most recently used."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._prepared: LRUCache = LRUCache(PREPARED_ENTRIES)

    def _apply(self, fn, recurse=True):  # type: ignore[no-untyped-def]
        self._prepared.clear()  # what was built for the old device or dtype goes
        return super()._apply(fn, recurse)

    def __getstate__(self) -> dict[str, Any]:
        # What the backends built is rebuilt on use: a saved or copied layer leaves it
        # (some of it, like FlexAttention's mask functions, cannot be pickled at all).
        state = dict(self.__dict__)
        state["_prepared"] = LRUCache(self._prepared.max_entries)
        return state


class Attention(nn.Module):
    """The contract of ylg's attention blocks on inputs with 1, 2 or 3 axes, and what
    they share: projections, pooling, head split, output conv, ``gamma``.

    Every block takes ``x [B, C, *sides]`` (``ndim`` sides) and returns ``x + gamma *
    out`` (with ``return_attention=True`` also the weights ``[B, heads, nq, nk]``), and
    has ``channels``, ``num_heads``, ``key_pool`` (as given), ``pool`` (one factor per
    axis), ``labels`` (one name per head) and the learned scalar ``gamma``. Subclass
    :class:`Attention1d`, :class:`Attention2d` or :class:`Attention3d`; find every
    block of a model with ``isinstance(module, Attention)``.

    >>> isinstance(YLGAttention3d(32, num_heads=4), Attention), Attention3d.ndim
    (True, 3)
    """

    #: Number of axes of the input (1: sequences, 2: images, 3: videos).
    ndim: ClassVar[int] = 0
    #: Whether ``key_pool`` may give one factor per axis (the 2-D blocks keep the
    #: published single factor, which code around them reads as an int).
    pool_per_axis: ClassVar[bool] = True
    #: One name per head (``rtl/1``, ... for YLG heads; ``dense`` for SAGAN's).
    labels: tuple[str, ...]

    def __init__(self, channels: int, num_heads: int, key_pool: Any) -> None:
        if self.ndim not in _CONVS:
            raise TypeError(
                f"{type(self).__name__} has no number of axes: subclass Attention1d,"
                " Attention2d or Attention3d"
            )
        super().__init__()
        channels = positive_int("channels", channels)
        num_heads = positive_int("num_heads", num_heads)
        if not self.pool_per_axis and not isinstance(key_pool, int):
            raise YlgError(f"key_pool must be a positive integer, got {key_pool!r:.60}")
        pool = pool_sizes(key_pool, self.ndim)
        if channels % (8 * num_heads):
            raise YlgError(
                f"{channels} channels do not split into {num_heads} heads: queries and keys"
                f" get channels/8 and each head an equal share, so channels must be a"
                f" multiple of {8 * num_heads}"
            )
        self.channels = channels
        self.num_heads = num_heads
        self.key_pool = key_pool if isinstance(key_pool, int) else pool
        self.pool = pool
        self.query = _conv(channels, channels // 8, self.ndim)
        self.key = _conv(channels, channels // 8, self.ndim)
        self.value = _conv(channels, channels // 2, self.ndim)
        self.out = _conv(channels // 2, channels, self.ndim)
        self.gamma = nn.Parameter(torch.zeros(()))

    def _pool(self, t: Tensor) -> Tensor:
        if all(p == 1 for p in self.pool):
            return t
        return _POOLS[self.ndim](t, self.pool)

    def _heads(self, t: Tensor) -> Tensor:
        b, c = t.shape[:2]
        tokens = t.shape[2:].numel()  # not -1: an empty batch leaves -1 undetermined
        return t.reshape(b, self.num_heads, c // self.num_heads, tokens).transpose(-1, -2)

    def _pool_text(self) -> str:
        """The pooling as the user gave it: ``2``, or ``1x2x2`` for one factor per axis."""
        if isinstance(self.key_pool, tuple):
            return "x".join(map(str, self.pool))
        return str(self.key_pool)

    def _check_sides(self, sides: tuple[int, ...]) -> None:
        if any(s % p for s, p in zip(sides, self.pool)):
            size = "x".join(map(str, sides))
            raise YlgError(
                f"a {size} {_NOUNS[self.ndim]} does not pool by {self._pool_text()}; use sizes"
                f" divisible by key_pool={self.key_pool}"
            )

    def _check_input(self, x: Tensor) -> tuple[int, ...]:
        if not isinstance(x, Tensor):
            raise YlgError(f"expected a tensor, got {type(x).__name__}")
        if x.dim() != self.ndim + 2 or x.shape[1] != self.channels:
            raise YlgError(
                f"expected a [batch, {self.channels}, {_SIDES[self.ndim]}] input,"
                f" got {tuple(x.shape)}"
            )
        sides = tuple(int(s) for s in x.shape[2:])
        self._check_sides(sides)
        return sides

    def _project(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Queries, keys, values per head, and the queries pooled onto the key grid."""
        q = self.query(x)
        k, v = self._pool(self.key(x)), self._pool(self.value(x))
        return self._heads(q), self._heads(k), self._heads(v), self._pool(q)

    def _finish(self, x: Tensor, out: Tensor) -> Tensor:
        merged = out.transpose(-1, -2).reshape(x.shape[0], self.channels // 2, *x.shape[2:])
        return x + self.gamma * self.out(merged)


class Attention1d(Attention):
    """Base of the blocks on sequences ``[B, C, L]``."""

    ndim = 1


class Attention2d(Attention):
    """The contract of ylg's 2-D attention blocks: ``x [B, C, H, W]`` in, ``x + gamma *
    out`` out (with ``return_attention=True`` also the weights ``[B, heads, H*W,
    H*W/key_pool^2]``). Models, inversion and figures find their attention layers with
    ``isinstance(module, Attention2d)``.

    >>> isinstance(SAGANAttention2d(32), Attention2d), SAGANAttention2d(32, 2).labels
    (True, ('dense', 'dense'))
    """

    ndim = 2
    pool_per_axis = False


class Attention3d(Attention):
    """Base of the blocks on videos ``[B, C, T, H, W]`` (frames, height, width)."""

    ndim = 3


class _Default:
    """The marker of an argument left out (``None`` is a value some arguments take)."""

    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT = _Default()


class YLGAttention(KeepsPrepared, Attention):
    """Sparse attention block on any number of axes: each head attends through one step
    of a verified pattern. Build :class:`YLGAttention1d`, :class:`YLGAttention2d` or
    :class:`YLGAttention3d`; this class holds what they share.

    Masks are built for each input size the first time it is seen (:meth:`masks_for`,
    cached for the process in :data:`ylg.attention.masksets.REGISTRY`); what the
    backends put on a device is kept on the layer (``.to()`` and ``.half()`` clear it).
    """

    #: The non-square rule and key pooling a layer of this kind uses unless told.
    default_nonsquare: str | None = None
    default_key_pool: Any = 2

    @renamed_keywords(steps="step_mode")
    def __init__(
        self,
        channels: int,
        pattern: "PatternLike | Sequence[PatternLike] | None" = None,
        *,
        heads: Sequence[object] | None = None,
        num_heads: int | None = None,
        order: str | None = None,
        nonsquare: "str | None | _Default" = DEFAULT,
        key_pool: Any = DEFAULT,
        backend: str = "auto",
        paper_compat: bool = False,
        scale: bool = False,
        step_mode: str = "parallel",
        verify: bool | int = True,
        stride: int | str | None = None,
    ) -> None:
        if not self.ndim:
            raise YlgError("build YLGAttention1d, YLGAttention2d or YLGAttention3d")
        pattern = check_pattern_argument(pattern, heads, "ylg")
        if nonsquare is DEFAULT:  # an exported file keeps the rule it was made with
            nonsquare = None if is_exported_path(pattern) else self.default_nonsquare
        if key_pool is DEFAULT:
            key_pool = self.default_key_pool
        if num_heads is not None:
            count = num_heads  # checked below: 0 is refused, never read as "the default"
        else:
            count = len(heads) if heads is not None else 8
        super().__init__(channels, count, key_pool)
        pick_backend(backend, "cpu")  # rejects unknown names now
        if step_mode not in STEP_MODES:
            raise YlgError(f"step_mode must be one of {', '.join(STEP_MODES)}, got {step_mode!r}")
        self.pattern = pattern
        self.heads_spec = heads
        self.order = order
        self.nonsquare = nonsquare
        self.backend = backend
        self.paper_compat = check_flag("paper_compat", paper_compat)
        self.scale = check_flag("scale", scale)
        self.step_mode = step_mode
        #: Stacked layers the pattern is verified across (0: not verified).
        self.verify = verify_layers(verify)
        #: The stride rule every head's pattern uses instead of its own (``None``: its own).
        self.stride = stride
        self.last_backend: str | None = None
        self._layouts: LRUCache = LRUCache(LAYOUT_ENTRIES)
        if is_exported_path(pattern):
            qg = load_npz(pattern).layout.query_grid  # type: ignore[arg-type]
            if qg.ndim != self.ndim:
                raise YlgError(
                    f"{os.fspath(pattern)} holds masks for a {qg.ndim}-D grid ({qg} queries);"  # type: ignore[arg-type]
                    f" {type(self).__name__} takes {self.ndim}-D inputs"
                )
            first = self._masks(qg.shape)
        else:
            first = self._masks(self.check_size())
        self.labels = first.labels

    @property
    def steps(self) -> str:
        """Deprecated: :attr:`step_mode` (``steps`` is a pattern's steps)."""
        warn_renamed(f"{type(self).__name__}.steps", f"{type(self).__name__}.step_mode")
        return self.step_mode

    def check_size(self) -> tuple[int, ...]:
        """The input size the pattern is verified on when the layer is built:
        :data:`CHECK_SIZES` for the layer's number of axes, each side rounded up to a
        multiple of its pooling factor.

        >>> YLGAttention3d(32, num_heads=4, key_pool=(1, 3, 3), verify=False).check_size()
        (4, 18, 18)
        """
        return tuple(-(-c // p) * p for c, p in zip(CHECK_SIZES[self.ndim], self.pool))

    @torch.compiler.disable
    def _masks(self, sides: tuple[int, ...]) -> HeadMasks:
        """The head masks for an input of these sides (built once, then cached)."""
        key = tuple(int(s) for s in sides)
        found = self._layouts.get(key)
        if found is None:
            if len(key) != self.ndim:
                raise YlgError(
                    f"{type(self).__name__} takes {self.ndim} side(s) ({_SIDES[self.ndim]}),"
                    f" got {len(key)}: {key}"
                )
            if any(s % p for s, p in zip(key, self.pool)):
                size = "x".join(map(str, key))
                raise YlgError(f"a {size} {_NOUNS[self.ndim]} does not pool by {self._pool_text()}")
            grid = Grid(*(s // p for s, p in zip(key, self.pool)))
            found = self._layouts[key] = head_masks(
                self.pattern,
                layout=Layout(grid, Grid(*key)),
                heads=self.heads_spec,
                num_heads=self.num_heads,
                order=self.order,
                nonsquare=self.nonsquare,
                step_mode=self.step_mode,
                verify=self.verify,
                stride=self.stride,
            )
        return found

    def forward(
        self, x: Tensor, return_attention: bool = False
    ) -> "Tensor | tuple[Tensor, Tensor]":
        """``x [B, C, *sides]`` -> ``x + gamma * out`` (and the weights ``[B, heads, nq, nk]``)."""
        sides = self._check_input(x)
        heads = self._masks(sides)
        q, k, v, pooled = self._project(x)
        q_inner = self._heads(pooled) if self.step_mode == "sequential" else None
        self.last_backend = pick_backend(self.backend, x.device, heads, batch=x.shape[0])
        options = {
            "paper_compat": self.paper_compat,
            "scale": self.scale,
            "q_inner": q_inner,
            "cache": self._prepared,
        }
        out = sparse_attention(q, k, v, heads, backend=self.last_backend, **options)
        y = self._finish(x, out)
        if not return_attention:
            return y
        return y, attention_maps(q, k, heads, **options)

    def extra_repr(self) -> str:
        return (
            f"channels={self.channels}, heads={list(self.labels)}, step_mode={self.step_mode!r},"
            f" backend={self.backend!r}, key_pool={self.key_pool}, scale={self.scale},"
            f" paper_compat={self.paper_compat}"
            + ("" if self.stride is None else f", stride={self.stride!r}")
        )


class YLGAttention2d(YLGAttention, Attention2d):
    """Sparse attention block: each head attends through one step of a verified pattern.

    ``pattern``: ``"ylg"`` (the default: RTL and LTR; heads RTL1, RTL2, RTL1, RTL2, LTR1,
    LTR2, LTR1, LTR2 as published), a library name, a TOML path, a Pattern, a list of
    them, or an ``.npz`` from ``ylg export`` (the layer then runs on that file's layout
    only). ``heads``: explicit ``(pattern, step)`` pairs (0-based steps) instead, not
    beside ``pattern``. ``order``:
    ``None`` keeps each pattern's enumeration, ``"rowmajor"`` gives "YLG - No ESA".
    ``backend``: ``auto``, ``dense``, ``grouped`` or ``flex`` (the same function; see
    :mod:`ylg.attention.functional`); ``last_backend`` tells which one ran.
    ``step_mode="sequential"``: each head runs all its pattern's steps in turn (the full
    multi-hop flow of the IFG in one layer; inner steps use the queries pooled onto the
    key grid). ``verify``: refuse patterns without Full Information, checked at build
    on the published 32x32 layout and at every new feature-map size (cached); ``True``
    asks it of one layer, ``N`` of ``N`` such layers stacked (what ``ylg verify PATTERN
    --layers N`` checks), ``False`` nothing. ``stride``: every head pattern's stride rule
    instead of its own, an integer or a rule evaluated at each input size; RTL and LTR
    have Full Information only where the stride divides the key count, which the
    default ``isqrt(n)`` does on square maps, and ``"divisor(n, isqrt(n))"`` on any.

    >>> import torch
    >>> layer = YLGAttention2d(32, num_heads=4, stride="divisor(n, isqrt(n))")
    >>> layer(torch.randn(1, 32, 32, 64)).shape             # 16x32 keys: s = 16, not 22
    torch.Size([1, 32, 32, 64])
    """

    def masks_for(self, height: int, width: int) -> HeadMasks:
        """The head masks for an ``height x width`` feature map (built once, then cached)."""
        return self._masks((height, width))


class YLGAttention3d(YLGAttention, Attention3d):
    """:class:`YLGAttention2d` for videos: ``x [B, C, T, H, W]`` (frames, height, width),
    attention over the ``T*H*W`` flattened tokens through a verified pattern on the 3-D
    grid (patterns see frame coordinates ``qt``, ``kt`` besides ``qi, qj, ki, kj``).

    Options as :class:`YLGAttention2d`, with two defaults of their own:

    * ``key_pool=(1, 2, 2)``: keys and values pooled 2x2 within each frame, not across
      frames. Videos have few frames (4 to 16 here, against 16 to 64 rows), motion
      between neighbouring frames is what video attention is for, and pooling time by 2
      would also require an even frame count. An int pools every axis alike.
    * ``nonsquare="spatial"``: a query behaves as the key cell under it (frame ``t``, row
      ``i//2``, column ``j//2``), which keeps local patterns local. The 2-D layer keeps
      the pattern's own rule (``repeat``, the authors' code), which on a video would map
      a query onto a key of another frame; ``None`` asks for the pattern's own rule.

    The pattern is verified for Full Information at build on 4x16x16 inputs (keys
    4x8x8 with the default pooling; each side rounded up to a multiple of ``key_pool``)
    and at every new input size. A purely local pattern (a 3x3x3 neighbourhood) never
    has Full Information in one layer: pass the number of such layers your model stacks
    (``verify=4``), and the layer checks Full Information across that many (the refusal
    says how many layers would do).

    >>> import torch
    >>> layer = YLGAttention3d(32, num_heads=4)                  # RTL1, RTL2, LTR1, LTR2
    >>> y, attn = layer(torch.randn(1, 32, 4, 8, 8), return_attention=True)
    >>> y.shape, attn.shape                                      # keys 4x4x4
    (torch.Size([1, 32, 4, 8, 8]), torch.Size([1, 4, 256, 64]))
    """

    default_nonsquare = "spatial"
    default_key_pool = (1, 2, 2)

    def masks_for(self, frames: int, height: int, width: int) -> HeadMasks:
        """The head masks for a ``frames x height x width`` video (built once, then cached)."""
        return self._masks((frames, height, width))


class YLGAttention1d(YLGAttention, Attention1d):
    """:class:`YLGAttention2d` for sequences: ``x [B, C, L]``, attention through a verified
    pattern on the 1-D grid of ``L`` tokens (patterns see ``qj``, ``kj``; ``qi = ki = 0``).

    Defaults as :class:`YLGAttention3d`: ``key_pool=2``, ``nonsquare="spatial"`` (query
    ``x`` behaves as key ``x // 2``). Verified at build on 512 tokens (256 keys: RTL and
    LTR have Full Information when the key count is a square, their stride being its
    square root) and at every new length.

    >>> import torch
    >>> layer = YLGAttention1d(32, num_heads=4)
    >>> layer(torch.randn(2, 32, 512)).shape
    torch.Size([2, 32, 512])
    """

    default_nonsquare = "spatial"

    def masks_for(self, length: int) -> HeadMasks:
        """The head masks for a sequence of ``length`` tokens (built once, then cached)."""
        return self._masks((length,))


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
        self.paper_compat = check_flag("paper_compat", paper_compat)
        self.scale = check_flag("scale", scale)
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
