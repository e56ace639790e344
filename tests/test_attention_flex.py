"""The flex backends and the device-side cache: exact block masks, padding, the policy."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest
import torch

from ylg.attention import YLGAttention2d, flex, head_masks, sparse_attention
from ylg.attention.functional import BACKENDS, SDPA_MAX_PAIRS, auto_choice, pick_backend
from ylg.errors import YlgError


def _inputs(masks, batch, d=4, dv=6, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    h = masks.num_heads
    return (
        torch.randn(batch, h, masks.nq, d, generator=g, dtype=dtype),
        torch.randn(batch, h, masks.nk, d, generator=g, dtype=dtype),
        torch.randn(batch, h, masks.nk, dv, generator=g, dtype=dtype),
    )


def _reference_tiles(masks, h, plan, tile):
    """Which tiles of head ``h`` hold a pair and which are all attended, from the dense
    mask permuted by the plan's orders (padding attends nothing)."""
    dense = masks.last_steps()[h].dense()
    qo = plan.query_index[h].numpy()
    ko = plan.key_index[h].numpy()
    big = np.zeros((len(qo), len(ko)), dtype=bool)
    real_q, real_k = qo < masks.nq, ko < masks.nk
    big[np.ix_(real_q, real_k)] = dense[np.ix_(qo[real_q], ko[real_k])]
    tq, tk = len(qo) // tile, len(ko) // tile
    blocks = big.reshape(tq, tile, tk, tile)
    pads = ~real_q.reshape(tq, tile).all(1)[:, None] | ~real_k.reshape(tk, tile).all(1)[None, :]
    return blocks.any(axis=(1, 3)), blocks.all(axis=(1, 3)) & ~pads


@pytest.mark.parametrize("layout", [("16x16", None), ("24x24", None), ("8x8", "16x16")])
def test_block_mask_is_exactly_the_planned_tiles(layout):
    grid, query_grid = layout
    masks = head_masks("ylg", grid=grid, query_grid=query_grid)
    plan = flex.prepare(masks.last_steps(), torch.device("cpu"), torch.float32)
    bm = plan.block_mask
    tile = flex.DEFAULT_TILE
    partial = bm.to_dense()[0].numpy().astype(bool)  # [H, tq, tk]
    from torch.nn.attention.flex_attention import BlockMask

    full_only = BlockMask.from_kv_blocks(
        bm.full_kv_num_blocks, bm.full_kv_indices, BLOCK_SIZE=tile, seq_lengths=bm.seq_lengths
    )
    full = full_only.to_dense()[0].numpy().astype(bool)
    for h in range(masks.num_heads):
        want_any, want_full = _reference_tiles(masks, h, plan, tile)
        assert ((partial[h] | full[h]) == want_any).all()
        assert (full[h] == (want_full & want_any)).all()
        assert not (partial[h] & full[h]).any()


@pytest.mark.parametrize("layout", [("4x4", None), ("5x3", None), ("8x8", "16x16")])
def test_flex_eager_equals_dense_in_float64_with_odd_head_dims(layout):
    grid, query_grid = layout
    masks = head_masks("ylg", grid=grid, query_grid=query_grid, verify=False)
    q, k, v = _inputs(masks, 2, d=5, dv=3, dtype=torch.float64)
    with torch.no_grad():
        ref = sparse_attention(q, k, v, masks, backend="dense")
        out = sparse_attention(q, k, v, masks, backend="flex-eager", scale=True)
        ref_scaled = sparse_attention(q, k, v, masks, backend="dense", scale=True)
    assert not torch.equal(ref, ref_scaled)
    torch.testing.assert_close(out, ref_scaled, rtol=1e-10, atol=1e-10)


@pytest.mark.slow
def test_compiled_flex_forward_equals_float64_dense_on_cpu():
    """The fused kernel (Inductor's CPU FlexAttention) over planned orders with padding:
    several tiles, skipped and full tiles, 4-channel heads padded to 16."""
    for grid, query_grid in (("16x16", "32x32"), ("24x24", None)):
        masks = head_masks("ylg", grid=grid, query_grid=query_grid)
        q, k, v = _inputs(masks, 2)
        with torch.no_grad():
            ref = sparse_attention(q.double(), k.double(), v.double(), masks, backend="dense")
            out = sparse_attention(q, k, v, masks, backend="flex")
        assert out.dtype == torch.float32
        err = ((out.double() - ref).norm() / ref.norm()).item()
        assert err <= 1e-5, err


def test_compiled_flex_names_the_dtypes_it_takes():
    masks = head_masks("ylg", grid="4x4")
    q, k, v = _inputs(masks, 1, dtype=torch.float64)
    with torch.no_grad(), pytest.raises(YlgError, match="float32, float16 and bfloat16"):
        sparse_attention(q, k, v, masks, backend="flex")


def test_kernel_dim_pads_to_a_power_of_two_of_at_least_16():
    assert [flex.kernel_dim(d) for d in (1, 4, 15, 16, 17, 64, 80, 128)] == [
        16,
        16,
        16,
        16,
        32,
        64,
        128,
        128,
    ]


@pytest.mark.parametrize("device", ["cpu", "cuda", "meta", "xla", "mps"])
def test_auto_never_picks_the_unfused_path(device):
    small = head_masks("ylg", grid="16x16", query_grid="32x32")
    large = head_masks("ylg", grid="64x64")
    for masks in (None, small, large):
        chosen, why = auto_choice(device, masks)
        assert chosen in BACKENDS and chosen != "flex-eager" and why
    if device == "cuda":
        assert small.nq * small.nk <= SDPA_MAX_PAIRS < large.nq * large.nk
        assert auto_choice(device, small)[0] == "sdpa"
        want = "flex" if flex.fused_available("cuda") else "sdpa"
        assert auto_choice(device, large)[0] == want


def test_auto_logs_its_pick_and_why(caplog):
    masks = head_masks("ylg", grid="8x8", query_grid="16x16")
    with caplog.at_level("INFO", logger="ylg.attention"):
        assert pick_backend("auto", "cuda", masks) == "sdpa"
    said = [r.getMessage() for r in caplog.records]
    assert any("'sdpa'" in m and "256x64" in m and "(" in m for m in said), said


def test_a_layer_keeps_device_state_on_itself_and_frees_it():
    layer = YLGAttention2d(64, backend="sdpa")
    with torch.no_grad():
        layer(torch.randn(1, 64, 8, 8))
    assert layer._prepared
    held = next(iter(layer._prepared.values()))
    ref = weakref.ref(held)
    del held
    layer.double()  # a new dtype: what was built for float32 goes
    assert not layer._prepared
    gc.collect()
    assert ref() is None
    with torch.no_grad():
        layer(torch.randn(1, 64, 8, 8, dtype=torch.float64))
    ref = weakref.ref(next(iter(layer._prepared.values())))
    del layer
    gc.collect()
    assert ref() is None


def test_functional_cache_is_the_callers():
    masks = head_masks("ylg", grid="4x4")
    q, k, v = _inputs(masks, 1)
    cache: dict = {}
    a = sparse_attention(q, k, v, masks, backend="dense", cache=cache)
    assert len(cache) == 1
    b = sparse_attention(q, k, v, masks, backend="dense", cache=cache)
    assert len(cache) == 1 and torch.equal(a, b)


def test_nan_in_one_key_stays_where_the_masks_send_it():
    """A non-finite key reaches exactly the queries that attend it, in every backend."""
    masks = head_masks("ylg", grid="8x8", query_grid="16x16")
    q, k, v = _inputs(masks, 1)
    k[0, :, 5] = float("nan")
    with torch.no_grad():
        ref = sparse_attention(q, k, v, masks, backend="dense")
        bad = torch.isnan(ref).any(-1)
        attends = torch.from_numpy(np.stack([s.dense()[:, 5] for s in masks.last_steps()]))
        assert torch.equal(bad[0], attends)
        for backend in ("grouped", "sdpa", "flex-eager"):
            out = sparse_attention(q, k, v, masks, backend=backend)
            assert torch.equal(torch.isnan(out).any(-1), bad), backend
