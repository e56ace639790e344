"""Multi-head self-attention over the tokens of a grid, through a verified pattern: the
attention of a vision, video or diffusion transformer block.

:class:`SparseSelfAttention` takes tokens ``[B, N, C]`` laid row-major on a 1-, 2- or 3-D
grid (``N = T*H*W``, the first axis slowest, as a patch embedding flattens them) and is
the attention of a ViT / DiT block with its dense softmax replaced by a pattern: one
linear map to queries, keys and values, optional normalisation of queries and keys per
head, softmax attention scaled by ``1/sqrt(head_dim)``, one linear map back. Queries and
keys live on the same grid (no pooling, no ``gamma``): that is the SAGAN-style block of
:mod:`ylg.attention.layers`.

>>> import torch
>>> from ylg.patterns import load_pattern
>>> na = load_pattern("na").with_params(win_t=3, win_i=3, win_j=3)
>>> attn = SparseSelfAttention(64, na, grid="4x8x8", num_heads=4, verify=6)  # 6 layers
>>> attn(torch.randn(2, 256, 64)).shape
torch.Size([2, 256, 64])
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from ylg.attention.functional import attention_maps, pick_backend, sparse_attention
from ylg.attention.heads import PatternLike, check_pattern_argument, positive_int
from ylg.attention.layers import LAYOUT_ENTRIES, KeepsPrepared, check_flag
from ylg.attention.masksets import REGISTRY, HeadMasks, LRUCache, head_masks, verify_layers
from ylg.errors import PatternError, YlgError
from ylg.patterns import Grid, Pattern
from ylg.patterns.union import heads_union, own_token_needed, step_union


class SparseSelfAttention(KeepsPrepared):
    """Self-attention of tokens on a grid, each head through one step of a pattern.

    ``dim``: channels of a token (a multiple of ``num_heads``). ``pattern``: a library
    name (``"na"``, the default, ``"sta"``, ``"ltr"``, ...), a TOML path, a
    :class:`Pattern` or a list of them (the heads split evenly between them, each share
    cycling through its pattern's steps); ``heads``: explicit ``(pattern, step)`` pairs
    instead, not beside ``pattern``. ``grid``:
    the token grid, ``"16x32x32"`` or a tuple; ``forward(x, grid=...)`` runs on another
    (masks are built once per grid). ``verify``: refuse a layer that lacks Full
    Information after ``verify`` of it stacked (``True``: one; give the depth of your
    model), checked at build and on every new grid, on what the layer does: parallel
    heads read through the union of their steps (:func:`layer_patterns`); ``False``
    checks nothing.
    ``qkv_bias``, ``proj_bias``: biases of the two linear maps. ``qk_norm``: LayerNorm
    of queries and keys per head (as many recent DiTs do). ``scale``: ``1/sqrt(head_dim)``
    on the logits (the transformer default). ``order``, ``stride``, ``step_mode`` and
    ``backend`` as in :class:`~ylg.attention.YLGAttention2d`; ``last_backend`` tells
    which backend ran.

    >>> import torch
    >>> attn = SparseSelfAttention(32, "ltr", grid="8x8", num_heads=2, verify=2)
    >>> x = torch.randn(3, 64, 32)
    >>> y, weights = attn(x, return_attention=True)
    >>> y.shape, weights.shape, attn.labels
    (torch.Size([3, 64, 32]), torch.Size([3, 2, 64, 64]), ('ltr/1', 'ltr/2'))
    >>> attn(torch.randn(1, 256, 32), grid="16x16").shape          # another grid
    torch.Size([1, 256, 32])
    """

    def __init__(
        self,
        dim: int,
        pattern: PatternLike | Sequence[PatternLike] | None = None,
        *,
        grid: str | Grid | tuple[int, ...],
        num_heads: int | None = None,
        heads: Sequence[object] | None = None,
        qkv_bias: bool = True,
        proj_bias: bool = True,
        qk_norm: bool = False,
        scale: bool = True,
        order: str | None = None,
        stride: int | str | None = None,
        step_mode: str = "parallel",
        backend: str = "auto",
        verify: bool | int = True,
    ) -> None:
        super().__init__()
        pattern = check_pattern_argument(pattern, heads, "na")
        count = num_heads if num_heads is not None else len(heads) if heads is not None else 8
        dim, count = positive_int("dim", dim), positive_int("num_heads", count)
        if dim % count:
            raise YlgError(f"dim {dim} does not split into {count} heads of equal size")
        pick_backend(backend, "cpu")  # rejects unknown names now (head_masks, the rest)
        self.dim, self.num_heads, self.head_dim = dim, count, dim // count
        self.pattern, self.heads_spec = pattern, heads
        self.order, self.stride, self.step_mode, self.backend = order, stride, step_mode, backend
        self.scale = check_flag("scale", scale)
        #: Stacked layers the pattern is verified across (0: not verified).
        self.verify = verify_layers(verify)
        for name, flag in (("qkv_bias", qkv_bias), ("proj_bias", proj_bias), ("qk_norm", qk_norm)):
            check_flag(name, flag)
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.q_norm = nn.LayerNorm(self.head_dim) if qk_norm else nn.Identity()
        self.k_norm = nn.LayerNorm(self.head_dim) if qk_norm else nn.Identity()
        self.proj = nn.Linear(dim, dim, bias=proj_bias)
        self.last_backend: str | None = None
        self._grids: LRUCache = LRUCache(LAYOUT_ENTRIES)
        self.grid = Grid.parse(grid)
        #: One name per head (``na``, or ``ltr/1``, ``ltr/2`` for a pattern's steps).
        self.labels = self.masks_for(self.grid).labels

    @torch.compiler.disable
    def masks_for(self, grid: str | Grid | tuple[int, ...], verify: bool = True) -> HeadMasks:
        """The head masks on a token grid, built once (then cached on the layer) and
        checked as the layer's ``verify`` asks; ``verify=False``: the masks alone, without
        that check and not kept on the layer (what :func:`~ylg.attention.verify_model`
        reads)."""
        grid = Grid.parse(grid)
        found = self._grids.get(grid)
        if found is not None:
            return found
        heads = head_masks(
            self.pattern,
            grid=grid,
            order=self.order,
            heads=self.heads_spec,
            num_heads=self.num_heads,
            step_mode=self.step_mode,
            verify=False,
            stride=self.stride,
        )
        if not verify:
            return heads
        if self.verify:
            for pattern in layer_patterns(heads, reads_queries=self.reads_queries):
                REGISTRY.check_full_information(pattern, heads.layout, self.verify)
        self._grids[grid] = heads
        return heads

    def forward(
        self,
        x: Tensor,
        grid: str | Grid | tuple[int, ...] | None = None,
        return_attention: bool = False,
        rope: Callable[[Tensor, Tensor], tuple[Tensor, Tensor]] | None = None,
    ) -> Tensor | tuple[Tensor, Tensor]:
        """``x [B, N, dim]`` (``N`` tokens row-major on ``grid``, by default the layer's)
        -> ``[B, N, dim]`` (and the weights ``[B, heads, N, N]``, dense).

        ``rope``: positions for queries and keys, a function ``(q, k) -> (q, k)`` on
        ``[B, heads, N, head_dim]`` applied after ``qk_norm`` (the rotary embedding of
        your model, 1-D or per axis; the pattern decides who attends whom, the rotation
        what the logits see)."""
        check_flag("return_attention", return_attention)
        if not isinstance(x, Tensor) or x.dim() != 3 or x.shape[-1] != self.dim:
            got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise YlgError(f"expected tokens [batch, tokens, {self.dim}], got {got}")
        on = self.grid if grid is None else Grid.parse(grid)
        if x.shape[1] != on.size:  # before any mask is built for a grid given by mistake
            raise YlgError(
                f"{x.shape[1]} tokens do not fill the {on} grid ({on.size} tokens);"
                " pass grid= the grid they are laid on"
            )
        weight = self.qkv.weight
        if not x.is_floating_point() or (
            x.dtype != weight.dtype and not torch.is_autocast_enabled(x.device.type)
        ):
            raise YlgError(
                f"the tokens are {x.dtype}, the layer's weights {weight.dtype}: cast one to"
                " the other (or run under torch.autocast)"
            )
        if rope is not None and not _takes_two(rope):
            raise YlgError(f"rope must be a function (q, k) -> (q, k), not {rope!r:.60}")
        heads = self.masks_for(on)
        b, n, _ = x.shape
        qkv = self.qkv(x).view(b, n, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = self.q_norm(qkv[0]), self.k_norm(qkv[1]), qkv[2]
        if rope is not None:
            rotated = rope(q, k)
            if not (
                isinstance(rotated, tuple)
                and len(rotated) == 2
                and all(isinstance(t, Tensor) and t.shape == q.shape for t in rotated)
            ):
                raise YlgError(
                    f"rope(q, k) must return (q, k) as tensors of shape {tuple(q.shape)}"
                )
            # A rotation table in float32 under bf16 autocast gives float32: back to the
            # values' dtype, as rotary embeddings are usually applied (``type_as``).
            q, k = (t.to(v.dtype) for t in rotated)
        self.last_backend = pick_backend(self.backend, x.device, heads, batch=x.shape[0])
        options: dict[str, Any] = {"scale": self.scale, "cache": self._prepared}
        out = sparse_attention(q, k, v, heads, backend=self.last_backend, **options)
        y = self.proj(out.transpose(1, 2).reshape(b, n, self.dim))
        if not return_attention:
            return y
        return y, attention_maps(q, k, heads, **options)

    @property
    def reads_queries(self) -> bool:
        """Whether a head's output can depend on its query: not where ``qk_norm``
        normalises one channel per head (its LayerNorm then gives a constant)."""
        return not (isinstance(self.q_norm, nn.LayerNorm) and self.head_dim == 1)

    def extra_repr(self) -> str:
        return (
            f"dim={self.dim}, grid={self.grid}, heads={list(self.labels)},"
            f" backend={self.backend!r}, verify={self.verify}"
        )


def _takes_two(fn: object) -> bool:
    """Whether ``fn`` is a callable that takes two positional arguments."""
    if not callable(fn):
        return False
    try:
        inspect.signature(fn).bind(None, None)
    except TypeError:
        return False
    except ValueError:  # no signature to read (some builtins): let the call decide
        return True
    return True


def layer_patterns(
    heads: HeadMasks, *, strict: bool = False, reads_queries: bool = True
) -> list[Pattern]:
    """What one layer with these heads does, as patterns to verify: one pattern where
    that is exact, several (each to hold alone, which is sound but stricter) where not,
    or, ``strict``, a :class:`YlgError` that says why no one pattern is the layer.

    - Parallel heads: each output reads every key one of its heads reads, so the layer
      is one step, the union of the steps its heads attend through
      (:func:`~ylg.patterns.union.step_union`), whichever patterns they come from; and
      its own token, which its query reads where a head weighs two keys or more
      (:func:`~ylg.patterns.union.own_token_needed`; ``reads_queries=False``: a layer
      whose queries carry nothing, as ``qk_norm`` of one channel per head).
    - Sequential heads (each runs its pattern's steps in turn): the pattern itself, for
      one pattern.
    - Several patterns in sequential heads, or parallel heads whose patterns number the
      cells in different orders: each pattern as above, on its own. A layer whose every
      pattern holds alone holds; one that holds only as a whole is refused.

    >>> from ylg.attention import head_masks
    >>> [p.steps for p in layer_patterns(head_masks("ltr", grid="4x4", num_heads=2))]
    [('(q // s == k // s and k <= q) or (k == q or k % s == s - 1)',)]
    >>> layer_patterns(head_masks("na", grid="4x4", num_heads=2))[0].name
    'na'
    >>> mixed = head_masks(["na", "dilated-na"], grid="8x8", num_heads=2, verify=False)
    >>> [p.name for p in layer_patterns(mixed)]
    ['na + dilated-na']
    """
    patterns = list(dict.fromkeys(h.pattern for h in heads.heads))
    if not heads.sequential:
        steps = list(dict.fromkeys((m.masks, m.step) for m in heads.last_steps()))
        if (
            len(steps) == 1
            and len(patterns[0].steps) == 1
            and not (reads_queries and own_token_needed(steps))
        ):
            return patterns  # one step of one pattern: the pattern itself
        try:
            return [heads_union(steps, name=_union_name(heads), reads_queries=reads_queries)]
        except PatternError as exc:  # different orders: pattern by pattern
            if strict:
                raise YlgError(str(exc)) from None
    elif strict and len(patterns) > 1:
        shown = ", ".join(repr(p.name) for p in patterns)
        raise YlgError(
            f"heads that run their steps in turn mix the patterns {shown}: no one pattern is"
            " what the layer does (give each pattern layers of its own, or heads side by side)"
        )
    found = []
    for pattern in patterns:
        own = [m for h, m in zip(heads.heads, heads.last_steps()) if h.pattern == pattern]
        if heads.sequential or len(pattern.steps) == 1:
            found.append(pattern)  # steps in turn, or the only step
            continue
        parts = list(dict.fromkeys((m.masks, m.step) for m in own))
        found.append(step_union(parts, name=_steps_name(pattern, [s for _, s in parts])))
    return found


def _steps_name(pattern: Pattern, steps: Sequence[int]) -> str:
    """``ltr step 1`` or ``ltr (steps 1 and 2 side by side)``."""
    numbers = " and ".join(str(s + 1) for s in sorted(steps))
    if len(steps) == 1:
        return f"{pattern.name} step {numbers}"
    return f"{pattern.name} (steps {numbers} side by side)"


def _union_name(heads: HeadMasks) -> str:
    """The name of a parallel layer's union: its one pattern as :func:`_steps_name`
    writes it (the pattern's own name for a one-step pattern), or ``na + dilated-na``."""
    patterns = list(dict.fromkeys(h.pattern for h in heads.heads))
    if len(patterns) > 1:
        return " + ".join(dict.fromkeys(p.name for p in patterns))
    if len(patterns[0].steps) == 1:
        return patterns[0].name
    return _steps_name(patterns[0], sorted({h.step for h in heads.heads}))  # type: ignore[misc]
