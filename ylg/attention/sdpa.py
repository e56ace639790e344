"""The ``sdpa`` backend: PyTorch's ``scaled_dot_product_attention`` with the boolean mask.

One call over all heads with the ``[heads, nq, nk]`` mask: on CUDA the memory-efficient
fused kernel, which visits every tile (its cost is that of dense attention) but in one
well-tuned launch, so it can beat a block-sparse kernel on small layouts such as
SAGAN's 1024 queries over 256 keys.

>>> import torch
>>> from ylg.attention import head_masks
>>> hm = head_masks("ylg", grid="4x4")
>>> prepared = prepare(hm.last_steps(), torch.device("cpu"), torch.float32)
>>> prepared.mask.shape, prepared.mask.dtype, prepared.weights.dtype
(torch.Size([8, 16, 16]), torch.bool, torch.float32)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from ylg.attention import dense
from ylg.attention.masksets import StepMask


@dataclass(frozen=True)
class Prepared:
    """The heads' masks ``[heads, nq, nk]``: bool for SDPA, and as 0/1 in the inputs'
    dtype to find the queries that read a non-finite key."""

    mask: Tensor
    weights: Tensor


def prepare(steps: tuple[StepMask, ...], device: torch.device, dtype: torch.dtype) -> Prepared:
    """The heads' masks on ``device``, bool and in ``dtype``."""
    mask = dense.prepare(steps, device, dtype)
    return Prepared(mask, mask.to(dtype))


def run(
    q: Tensor, k: Tensor, v: Tensor, prepared: Prepared, *, scale: float, paper_compat: bool
) -> Tensor:
    """Masked attention of ``q [B, H, nq, d]`` over ``k, v [B, H, nk, d|dv]``.

    SDPA adds the mask to the logits, so a NaN key would reach every query through
    ``NaN + (-inf)``. Non-finite keys are therefore zeroed before the call and the
    queries that attend one are set to NaN after it (without a host sync): a non-finite
    key reaches only the queries that attend it, and all of them (the other backends
    leave a query finite where its logit with that key is ``-inf``).
    """
    mask = prepared.mask
    bad_keys = ~torch.isfinite(k).all(-1, keepdim=True)  # [B, H, nk, 1]
    k = k.masked_fill(bad_keys, 0.0)
    if paper_compat:
        bias = torch.zeros(mask.shape, dtype=q.dtype, device=q.device)
        bias = bias.masked_fill(~mask, dense.PAPER_MASK_PENALTY)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=scale)
    else:
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=scale)
    weights = prepared.weights.to(q.dtype)  # a no-op unless autocast changed the dtype
    reads_bad = torch.matmul(weights, bad_keys.to(q.dtype)) > 0  # [B, H, nq, 1]
    return out.masked_fill(reads_bad, float("nan"))
