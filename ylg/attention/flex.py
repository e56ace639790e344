"""The ``flex`` backend: PyTorch FlexAttention with a block mask, for CUDA.

Tokens are first put in each head's enumeration order (where the paper's patterns are
1-D structured: blocks of the diagonal, a few columns), so the ``BlockMask`` skips
most tiles. The mask predicate is the pattern's own torch expression
(:meth:`ylg.patterns.Masks.mask_mod`) composed with the reordering. Run it under
``torch.compile`` on CUDA for the fused kernel; eager mode (and CPU) is PyTorch's
unfused reference path, slow but the same function.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ylg.attention.masksets import StepMask
from ylg.errors import YlgError


def available() -> bool:
    """Whether this torch has FlexAttention."""
    try:
        import torch.nn.attention.flex_attention  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class Reordered:
    """Per head, the token orders and the block mask over the reordered tokens."""

    query_order: Tensor  # [H, nq]: the query at each reordered position
    key_order: Tensor  # [H, nk]
    query_slot: Tensor  # [H, nq]: reordered position of each query
    block_mask: Any


def _orders(step: StepMask) -> tuple[np.ndarray, np.ndarray]:
    masks = step.masks
    return np.argsort(masks.query_rank, kind="stable"), np.argsort(masks.key_rank, kind="stable")


@lru_cache(maxsize=16)
def prepare(steps: tuple[StepMask, ...], device: torch.device, dtype: torch.dtype) -> Reordered:
    """Orders and block mask for a head list on a device (cached)."""
    del dtype  # the block mask serves every dtype
    if not available():
        raise YlgError(f"the flex backend needs FlexAttention (torch {torch.__version__} lacks it)")
    from torch.nn.attention.flex_attention import create_block_mask

    unique = list(dict.fromkeys(steps))
    head_kind = torch.tensor([unique.index(s) for s in steps], device=device)
    preds: list[tuple[Callable[..., Tensor], Tensor, Tensor]] = []
    for s in unique:
        qo, ko = _orders(s)
        preds.append(
            (
                s.masks.mask_mod(s.step, device),
                torch.from_numpy(qo).to(device),
                torch.from_numpy(ko).to(device),
            )
        )

    def mask_mod(b: Tensor, h: Tensor, q_idx: Tensor, kv_idx: Tensor) -> Tensor:
        out = torch.zeros_like(q_idx, dtype=torch.bool)
        for u, (pred, qo, ko) in enumerate(preds):
            out = out | ((head_kind[h] == u) & pred(b, h, qo[q_idx], ko[kv_idx]))
        return out

    nq, nk = steps[0].nq, steps[0].nk
    block_mask = create_block_mask(mask_mod, None, len(steps), nq, nk, device=device)
    q_orders = np.stack([_orders(s)[0] for s in steps])
    k_orders = np.stack([_orders(s)[1] for s in steps])
    q_slots = np.argsort(q_orders, axis=1)
    return Reordered(
        query_order=torch.from_numpy(q_orders).to(device),
        key_order=torch.from_numpy(k_orders).to(device),
        query_slot=torch.from_numpy(q_slots).to(device),
        block_mask=block_mask,
    )


def _take(x: Tensor, order: Tensor) -> Tensor:
    index = order[None, :, :, None].expand(x.shape[0], -1, -1, x.shape[-1])
    return x.gather(2, index)


def run(
    q: Tensor, k: Tensor, v: Tensor, r: Reordered, *, scale: float, paper_compat: bool
) -> Tensor:
    """Attention of ``q [B, H, nq, d]`` over ``k, v [B, H, nk, d|dv]`` with FlexAttention
    and the block mask from :func:`prepare`.

    Masked pairs are skipped, so ``paper_compat`` changes nothing beyond rounding.
    """
    del paper_compat
    if (
        q.device.type == "cpu"
        and torch.is_grad_enabled()
        and any(t.requires_grad for t in (q, k, v))
    ):
        raise YlgError(
            "FlexAttention has no backward pass on CPU; use backend='grouped' for training"
            " on CPU (flex runs forward-only there, under torch.no_grad())"
        )
    from torch.nn.attention.flex_attention import flex_attention

    qs, ks, vs = _take(q, r.query_order), _take(k, r.key_order), _take(v, r.key_order)
    with warnings.catch_warnings():
        # Eager mode warns that it is the unfused reference path; that is documented.
        warnings.simplefilter("ignore", UserWarning)
        out = flex_attention(qs, ks, vs, block_mask=r.block_mask, scale=scale)
    return _take(out, r.query_slot)
