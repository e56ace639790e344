"""Issue 12, item 10: the attention API refuses nonsense with a YlgError that says what
is wrong, and an empty batch is an empty answer on every backend."""

from __future__ import annotations

import pytest
import torch

from ylg.attention import YLGAttention2d, head_masks
from ylg.attention.functional import sparse_attention
from ylg.errors import YlgError


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pattern": None}, "pattern must be a library name"),
        ({"pattern": []}, "pattern must be a library name"),
        ({"pattern": 5}, "pattern must be a library name"),
        ({"pattern": ["ltr", None]}, "pattern must be a library name"),
        ({"num_heads": 0}, "num_heads must be a positive integer, got 0"),
        ({"num_heads": -1}, "num_heads must be a positive integer, got -1"),
        ({"heads": []}, "heads must be a non-empty list of"),
        ({"heads": "ltr"}, "heads must be a non-empty list of"),
    ],
)
def test_layer_arguments_that_make_no_sense(kwargs: dict, message: str) -> None:
    with pytest.raises(YlgError, match=message):
        YLGAttention2d(64, **kwargs)


def test_sparse_attention_wants_head_masks() -> None:
    q = torch.randn(1, 8, 256, 8)
    k = v = torch.randn(1, 8, 64, 8)
    with pytest.raises(YlgError, match="heads must come from head_masks"):
        sparse_attention(q, k, v, torch.ones(8, 256, 64, dtype=torch.bool))  # type: ignore


@pytest.mark.parametrize("backend", ["auto", "dense", "grouped"])
def test_an_empty_batch_gives_an_empty_answer(backend: str) -> None:
    masks = head_masks("ylg", grid="8x8", query_grid="16x16")
    q = torch.randn(0, 8, 256, 8, requires_grad=True)
    k, v = torch.randn(0, 8, 64, 8), torch.randn(0, 8, 64, 16)
    out = sparse_attention(q, k, v, masks, backend=backend)
    assert out.shape == (0, 8, 256, 16)
    out.sum().backward()
    assert q.grad is not None and q.grad.shape == q.shape
    layer = YLGAttention2d(64, backend=backend)
    assert layer(torch.randn(0, 64, 16, 16)).shape == (0, 64, 16, 16)
