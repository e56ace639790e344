"""The ``dense`` backend: full logits, the mask applied, softmax; the reference.

Every shape is static (no data-dependent indexing), so the same code runs on XLA/TPU.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from ylg.attention.masksets import StepMask

#: What the authors' code adds to masked logits (``paper_compat=True``).
PAPER_MASK_PENALTY = -1000.0


def prepare(steps: tuple[StepMask, ...], device: torch.device, dtype: torch.dtype) -> Tensor:
    """The heads' masks as one bool tensor ``[heads, nq, nk]`` on ``device``."""
    del dtype  # a bool mask serves every dtype
    unique = list(dict.fromkeys(steps))
    if len(unique) == 1:
        return torch.from_numpy(unique[0].dense()).to(device).expand(len(steps), -1, -1)
    return torch.from_numpy(np.stack([s.dense() for s in steps])).to(device)


def masked_logits(
    q: Tensor, k: Tensor, mask: Tensor, *, scale: float, paper_compat: bool
) -> Tensor:
    """``q k^T`` times ``scale`` with masked entries at ``-inf`` (or ``-1000`` added)."""
    logits = torch.matmul(q, k.transpose(-1, -2))
    if scale != 1.0:
        logits = logits * scale
    if paper_compat:
        return torch.where(mask, logits, logits + PAPER_MASK_PENALTY)
    return logits.masked_fill(~mask, float("-inf"))


def run(
    q: Tensor, k: Tensor, v: Tensor, mask: Tensor, *, scale: float, paper_compat: bool
) -> Tensor:
    """Masked attention of ``q [B, H, nq, d]`` over ``k, v [B, H, nk, d|dv]`` with the
    heads' masks from :func:`prepare`."""
    logits = masked_logits(q, k, mask, scale=scale, paper_compat=paper_compat)
    return torch.matmul(torch.softmax(logits, dim=-1), v)
