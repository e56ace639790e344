"""Export a pattern to FlexAttention: a ``BlockMask`` for any pattern on any layout.

:func:`block_mask` turns one step of a pattern's masks (1-D, 2-D or 3-D grid, square or
not) into a ``torch.nn.attention.flex_attention.BlockMask`` over the tokens in
row-major order, the order of ``x.flatten(2)`` for a ``[B, C, (T,) H, W]`` feature map
and of every mask ylg writes. The block tables come exactly from the mask: tiles with
no attended pair are skipped, tiles whose every pair is attended are marked full (no
``mask_mod`` there), the rest evaluate the pattern's own predicate
(:meth:`ylg.patterns.Masks.mask_mod`).

>>> import torch
>>> from torch.nn.attention.flex_attention import flex_attention
>>> from ylg.patterns import load_pattern
>>> masks = load_pattern("na").with_params(win_t=3, win_i=3, win_j=3).on("4x8x8")
>>> bm = block_mask(masks, tile=64)
>>> bm.shape, tile_counts(masks, tile=64)
((1, 1, 256, 256), {'tiles': 16, 'partial': 12, 'full': 0})
>>> q = k = v = torch.randn(1, 2, 256, 16)
>>> flex_attention(q, k, v, block_mask=bm).shape
torch.Size([1, 2, 256, 16])

By default the tokens stay in row-major order, so the ``BlockMask`` drops into any
FlexAttention call. With ``token_order="hilbert"`` (any order of
:data:`ylg.patterns.ORDERS`; ``ylg compare --tiles`` says which visits fewest tiles) the
mask is for tokens laid in that order: gather them with :func:`token_permutation`
first (``x[..., perm, :]``) and scatter the output back. The attention layers'
``flex`` backend goes further: it reorders each head's tokens
(:func:`ylg.patterns.tiles.plan_tiles`) so that fewer tiles are visited.

>>> perm_q, perm_k = token_permutation(masks, "hilbert")
>>> tile_counts(masks, tile=64, token_order="hilbert")["tiles"], perm_k[:4].tolist()
(16, [0, 64, 65, 1])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ylg.errors import PatternError, YlgError
from ylg.patterns.enumerations import enumeration, ranks
from ylg.patterns.exported import Exported
from ylg.patterns.masks import Masks
from ylg.patterns.tiles import DEFAULT_TILE

if TYPE_CHECKING:
    import torch


def _tiles(tile: "int | tuple[int, int]") -> tuple[int, int]:
    sizes = tile if isinstance(tile, (tuple, list)) else (tile, tile)
    if len(sizes) != 2 or any(
        isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 1 for t in sizes
    ):
        raise PatternError(
            f"the tile is a positive integer or (query tile, key tile), not {tile!r}"
        )
    return int(sizes[0]), int(sizes[1])


def _masks(masks: "Masks | Exported") -> Masks:
    if isinstance(masks, Exported):
        return masks.pattern.on(masks.layout)
    if not isinstance(masks, Masks):
        raise PatternError(
            f"give the masks of a pattern (pattern.on(grid)) or a loaded .npz,"
            f" not {type(masks).__name__}"
        )
    return masks


def token_permutation(
    masks: "Masks | Exported", token_order: str | None
) -> tuple[np.ndarray, np.ndarray]:
    """Row-major positions of the query and key tokens laid in ``token_order``: slot
    ``a`` of the reordered sequence holds token ``perm[a]`` (``None``: row-major).

    >>> from ylg.patterns import load_pattern
    >>> token_permutation(load_pattern("ltr").on("2x2"), "snake")[1].tolist()
    [0, 1, 3, 2]
    """
    masks = _masks(masks)
    order = token_order or "rowmajor"
    return (  # copies: the cached enumerations are read-only
        np.array(enumeration(order, masks.query_grid.shape)),
        np.array(enumeration(order, masks.grid.shape)),
    )


def tile_occupancy(
    masks: "Masks | Exported",
    step: int = 0,
    tile: "int | tuple[int, int]" = DEFAULT_TILE,
    token_order: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per ``tile x tile`` block of the score matrix (row-major tokens): how many pairs
    are attended, and how many pairs it holds (smaller in the last row and column of
    tiles when the tile does not divide the token counts). int64 ``[query tiles, key
    tiles]`` each.

    >>> from ylg.patterns import load_pattern
    >>> used, held = tile_occupancy(load_pattern("dense").on("3x3"), tile=4)
    >>> used.tolist() == held.tolist() == [[16, 16, 4], [16, 16, 4], [4, 4, 1]]
    True
    """
    masks = _masks(masks)
    tq, tk = _tiles(tile)
    nq, nk = masks.nq, masks.nk
    rows_q, rows_k = -(-nq // tq), -(-nk // tk)
    csr = masks.csr(step)
    rows = np.repeat(np.arange(nq, dtype=np.int64), np.diff(csr.indptr))
    cols = csr.indices.astype(np.int64)
    if token_order is not None:  # the slot each token takes in that order
        rows = ranks(token_order, masks.query_grid.shape)[rows]
        cols = ranks(token_order, masks.grid.shape)[cols]
    used = np.bincount(rows // tq * rows_k + cols // tk, minlength=rows_q * rows_k)
    size_q = np.minimum(tq, nq - np.arange(rows_q) * tq)
    size_k = np.minimum(tk, nk - np.arange(rows_k) * tk)
    return used.reshape(rows_q, rows_k), np.outer(size_q, size_k)


def tile_counts(
    masks: "Masks | Exported",
    step: int = 0,
    tile: "int | tuple[int, int]" = DEFAULT_TILE,
    token_order: str | None = None,
) -> dict[str, int]:
    """How many tiles the ``BlockMask`` of :func:`block_mask` has: in all, partial ones
    (the kernel evaluates ``mask_mod`` there) and full ones (it does not).

    >>> from ylg.patterns import load_pattern
    >>> tile_counts(load_pattern("block-global").on("16x16"), tile=64)
    {'tiles': 16, 'partial': 12, 'full': 0}
    """
    used, held = tile_occupancy(masks, step, tile, token_order)
    full = int(((used == held) & (used > 0)).sum())
    return {"tiles": int(used.size), "partial": int((used > 0).sum()) - full, "full": full}


def mask_mod(
    masks: "Masks | Exported", step: int = 0, device: Any = None, token_order: str | None = None
) -> Callable[..., Any]:
    """The step as a FlexAttention ``mask_mod(b, h, q_idx, kv_idx)`` over row-major
    tokens (or tokens laid in ``token_order``), false for indices past the token counts
    (a kernel's last, partial tile).

    >>> import torch
    >>> from ylg.patterns import load_pattern
    >>> f = mask_mod(load_pattern("na").with_params(win_j=3).on("5"))
    >>> f(0, 0, torch.tensor([0, 4, 5]), torch.tensor([2, 2, 2])).tolist()
    [True, True, False]
    """
    import torch

    masks = _masks(masks)
    base = masks.mask_mod(step, device)
    nq, nk = masks.nq, masks.nk
    perm_q, perm_k = (
        torch.as_tensor(p, device=device) for p in token_permutation(masks, token_order)
    )

    def bounded(b: Any, h: Any, q_idx: Any, kv_idx: Any) -> Any:
        inside = (q_idx < nq) & (kv_idx < nk)
        q_in = perm_q[torch.clamp(q_idx, 0, nq - 1)]
        k_in = perm_k[torch.clamp(kv_idx, 0, nk - 1)]
        return inside & base(b, h, q_in, k_in)

    return bounded


def block_mask(
    masks: "Masks | Exported",
    step: int = 0,
    tile: "int | tuple[int, int]" = DEFAULT_TILE,
    device: "torch.device | str | None" = None,
    token_order: str | None = None,
) -> Any:
    """One step (0-based) of a pattern's masks as a FlexAttention ``BlockMask`` over the
    ``nq`` query and ``nk`` key tokens in row-major order, for every batch and head.

    ``tile``: FlexAttention's block size, one int or ``(query block, key block)``
    (default 128; the fused kernels want a multiple of 16). ``masks`` may be a loaded
    ``.npz`` (:func:`ylg.patterns.load_npz`); its pattern and layout are used.
    ``token_order``: the mask is for tokens laid in that order (see
    :func:`token_permutation`), which changes how many tiles are visited.

    >>> from ylg.patterns import load_pattern
    >>> bm = block_mask(load_pattern("ltr").on("16x16"), step=1, tile=32)
    >>> tuple(bm.kv_num_blocks.shape), int(bm.kv_num_blocks.sum() + bm.full_kv_num_blocks.sum())
    ((1, 1, 8), 64)
    """
    from ylg.attention.flex import available

    if not available():
        import torch

        raise YlgError(f"FlexAttention is missing from torch {torch.__version__}")
    import torch
    from torch.nn.attention.flex_attention import BlockMask

    masks = _masks(masks)
    tq, tk = _tiles(tile)
    used, held = tile_occupancy(masks, step, (tq, tk), token_order)
    full = (used == held) & (used > 0)
    partial = (used > 0) & ~full

    def tables(flags: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        counts = flags.sum(axis=1).astype(np.int32)
        order = np.argsort(~flags, axis=1, kind="stable").astype(np.int32)
        return (
            torch.from_numpy(counts[None, None]).to(device),
            torch.from_numpy(np.ascontiguousarray(order[None, None])).to(device),
        )

    kv_num, kv_idx = tables(partial)
    full_num, full_idx = tables(full)
    return BlockMask.from_kv_blocks(
        kv_num,
        kv_idx,
        full_num,
        full_idx,
        BLOCK_SIZE=(tq, tk),
        mask_mod=mask_mod(masks, step, device, token_order),
        seq_lengths=(masks.nq, masks.nk),
    )
