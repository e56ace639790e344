"""Sparse attention in PyTorch: verified patterns as attention layers.

* :class:`YLGAttention2d`: the paper's layer (any pattern, any head count), and
  :class:`SAGANAttention2d`, SAGAN's dense layer beside it for ablations;
  :class:`YLGAttention3d` (videos) and :class:`YLGAttention1d` (sequences) beside it.
* :class:`SparseSelfAttention`: the attention of a vision / video / diffusion
  transformer block (tokens ``[B, N, C]`` on a grid) through a verified pattern.
* :func:`verify_model`: Full Information across a model's ``SparseSelfAttention``
  layers, read from the model itself.
* :func:`head_masks` + :func:`sparse_attention`: the functional core over
  ``q [B, H, nq, d]``, ``k, v [B, H, nk, d]`` with one pattern step per head.
* Backends (``dense``, ``grouped``, ``flex``, ``auto``) give the same result.

>>> import torch
>>> from ylg.attention import YLGAttention2d
>>> layer = YLGAttention2d(64, "ylg", backend="grouped")
>>> layer(torch.randn(1, 64, 8, 8)).shape
torch.Size([1, 64, 8, 8])
"""

from ylg.attention.functional import (
    BACKEND_CHOICES,
    BACKENDS,
    attention_maps,
    pick_backend,
    sparse_attention,
)
from ylg.attention.heads import YLG_PATTERNS, Head, assign_heads, explicit_heads
from ylg.attention.layers import (
    Attention,
    Attention1d,
    Attention2d,
    Attention3d,
    SAGANAttention2d,
    YLGAttention,
    YLGAttention1d,
    YLGAttention2d,
    YLGAttention3d,
)
from ylg.attention.masksets import STEP_MODES, HeadMasks, StepMask, head_masks
from ylg.attention.tokens import SparseSelfAttention
from ylg.attention.verification import model_layers, verify_model

__all__ = [
    "Attention",
    "Attention1d",
    "Attention2d",
    "Attention3d",
    "BACKENDS",
    "BACKEND_CHOICES",
    "STEP_MODES",
    "YLG_PATTERNS",
    "Head",
    "HeadMasks",
    "SAGANAttention2d",
    "SparseSelfAttention",
    "StepMask",
    "YLGAttention",
    "YLGAttention1d",
    "YLGAttention2d",
    "YLGAttention3d",
    "assign_heads",
    "attention_maps",
    "explicit_heads",
    "head_masks",
    "model_layers",
    "pick_backend",
    "sparse_attention",
    "verify_model",
]
