"""Attention on 1-D, 2-D and 3-D layouts: every backend against a float64 reference
computed from the dense masks, and the sequence and video layers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ylg.attention import (
    Attention,
    Attention2d,
    YLGAttention1d,
    YLGAttention2d,
    YLGAttention3d,
    attention_maps,
    flex,
    head_masks,
    sparse_attention,
)
from ylg.errors import YlgError
from ylg.patterns import Layout, Pattern, load_pattern

#: A 3x3x3 neighbourhood (written inline until the library's ``na`` lands).
NA3 = Pattern("na3", "", ("abs(qt - kt) <= 1 and abs(qi - ki) <= 1 and abs(qj - kj) <= 1",))
#: Two steps: a local window, then every key of the query's frame and row (axial-like).
#: Each query reads one key, also off the key grid (the ``direct`` rule).
SELF = Pattern("self", "", ("k == q % n",))
LOCAL2 = Pattern(
    "local2", "", ("abs(qt - kt) + abs(qi - ki) + abs(qj - kj) <= 1", "qt == kt and qi == ki")
)


def reference(q, k, v, masks, *, scale=False, paper_compat=False, q_inner=None):
    """Masked softmax attention per head, from each head's pattern laid on the layout
    afresh (``Pattern.on(...).dense(step)``): the spec, independent of every backend."""
    outs = []
    factor = 1.0 / math.sqrt(q.shape[-1]) if scale else 1.0
    for h, head in enumerate(masks.heads):
        steps = [head.step] if head.step is not None else list(range(len(head.pattern.steps)))
        values = v[:, h]
        for i, s in enumerate(steps):
            last = i == len(steps) - 1
            layout = masks.layout if last else masks.layout.square_on_keys()
            mask = torch.from_numpy(head.pattern.on(layout).dense(s))
            queries = (q if last or q_inner is None else q_inner)[:, h]
            logits = queries @ k[:, h].transpose(-1, -2) * factor
            if paper_compat:
                logits = torch.where(mask, logits, logits - 1000.0)
            else:
                logits = logits.masked_fill(~mask, float("-inf"))
            values = torch.softmax(logits, dim=-1) @ values
        outs.append(values)
    return torch.stack(outs, dim=1)


def _inputs(masks, batch=2, d=4, dv=3, dtype=torch.float64, seed=0, grad=True):
    g = torch.Generator().manual_seed(seed)

    def make(n, dim):
        t = torch.randn(batch, masks.num_heads, n, dim, generator=g, dtype=dtype)
        return t.requires_grad_(grad)

    return make(masks.nq, d), make(masks.nk, d), make(masks.nk, dv)


def _check_backend(masks, backend, *, backward=True, tol=1e-10, seed=0, **options):
    q, k, v = _inputs(masks, seed=seed, grad=backward)
    want = reference(q, k, v, masks, **options)
    if backward:
        out = sparse_attention(q, k, v, masks, backend=backend, **options)
    else:
        with torch.no_grad():
            out = sparse_attention(q, k, v, masks, backend=backend, **options)
    torch.testing.assert_close(out, want.detach(), rtol=tol, atol=tol)
    if backward:
        weight = torch.randn(out.shape, generator=torch.Generator().manual_seed(1), dtype=q.dtype)
        got = torch.autograd.grad((out * weight).sum(), (q, k, v))
        ref = torch.autograd.grad((want * weight).sum(), (q, k, v))
        for a, b in zip(got, ref):
            torch.testing.assert_close(a, b, rtol=tol, atol=tol)


# -- random layouts, patterns and heads -------------------------------------------------
AXES = {1: ("j",), 2: ("i", "j"), 3: ("t", "i", "j")}
MAX_SIDE = {1: 12, 2: 5, 3: 3}
ORDERS = ["rowmajor", "esa", "snake", "zorder", "hilbert"]


@st.composite
def layouts(draw):
    """Small layouts of 1-3 axes: the query grid a multiple (1-3) of the key grid per
    axis, any order, any non-square rule (also one per axis)."""
    ndim = draw(st.integers(1, 3))
    grid = tuple(draw(st.integers(1, MAX_SIDE[ndim])) for _ in range(ndim))
    grid = grid if math.prod(grid) > 1 else (*grid[:-1], 2)
    factors = tuple(draw(st.sampled_from([1, 1, 2, 3])) for _ in range(ndim))
    query = tuple(g * f for g, f in zip(grid, factors))
    rule = draw(st.sampled_from(["repeat", "tile", "spatial", "axes", "direct"]))
    if rule == "axes":
        rule = ",".join(draw(st.sampled_from(["tile", "spatial"])) for _ in range(ndim))
    return Layout(grid, query, draw(st.sampled_from(ORDERS)), rule)


def _clauses(ndim):
    """Clauses every key-grid query satisfies for its own cell (so no row is empty)."""
    out = ["k <= q", "abs(q - k) % s == 0", "q // s == k // s", "(q - k) % 2 == 0"]
    for a in AXES[ndim]:
        out += [f"abs(q{a} - k{a}) <= 1", f"q{a} == k{a}", f"(q{a} - k{a}) % 2 == 0"]
    return out


@st.composite
def patterns(draw, ndim):
    """A random pattern of 1-2 steps: clauses joined by and/or, sometimes with the
    summary keys of LTR (``k % s == s - 1``); ``k == q % n`` keeps rows of the
    ``direct`` rule (queries off the key grid) from being empty."""
    steps = []
    for _ in range(draw(st.integers(1, 2))):
        parts = draw(st.lists(st.sampled_from(_clauses(ndim)), min_size=1, max_size=3))
        expr = parts[0]
        for part in parts[1:]:
            expr = f"({expr}) {draw(st.sampled_from(['and', 'or']))} ({part})"
        if draw(st.booleans()):
            expr = f"({expr}) or k % s == s - 1"
        steps.append(f"k == q % n or ({expr})")
    return Pattern("random", "", tuple(steps))


LIBRARY = ["ltr", "rtl", "strided", "axial", "window"]


@st.composite
def head_sets(draw):
    """A layout and 1-4 heads, each a (pattern, step) of random or library patterns."""
    layout = draw(layouts())
    pool = [draw(patterns(layout.ndim)) for _ in range(2)]
    pool += [load_pattern(name) for name in draw(st.lists(st.sampled_from(LIBRARY), max_size=2))]
    heads = []
    for _ in range(draw(st.integers(1, 4))):
        p = draw(st.sampled_from(pool))
        heads.append((p, draw(st.integers(0, len(p.steps) - 1))))
    try:
        masks = head_masks(heads=heads, layout=layout, verify=False)
    except YlgError as exc:  # a library step that leaves a 'direct' query keyless
        assert "no key to attend" in str(exc)
        masks = head_masks(SELF, layout=layout, num_heads=len(heads), verify=False)
    return masks


SETTINGS = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@SETTINGS
@given(masks=head_sets(), backend=st.sampled_from(["dense", "grouped", "sdpa", "auto"]))
def test_backends_equal_the_reference_on_nd_layouts(masks, backend):
    _check_backend(masks, backend)


@SETTINGS
@given(masks=head_sets(), scale=st.booleans(), paper_compat=st.booleans())
def test_grouped_options_on_nd_layouts(masks, scale, paper_compat):
    _check_backend(masks, "grouped", scale=scale, paper_compat=paper_compat)


def _check_block_mask(masks, tile):
    """The flex block mask covers every attended pair, and a tile it marks full (no
    mask evaluated) holds only real, attended pairs: no padding slot of a short last
    tile (a padding key would then be attended)."""
    from torch.nn.attention.flex_attention import BlockMask

    plan = flex.prepare(masks.last_steps(), torch.device("cpu"), torch.float32, tile=tile)
    bm = plan.block_mask
    some = bm.to_dense()[0].numpy().astype(bool)
    only_full = BlockMask.from_kv_blocks(
        bm.full_kv_num_blocks, bm.full_kv_indices, BLOCK_SIZE=tile, seq_lengths=bm.seq_lengths
    )
    full = only_full.to_dense()[0].numpy().astype(bool)
    for h, step in enumerate(masks.last_steps()):
        qo, ko = plan.query_index[h].numpy(), plan.key_index[h].numpy()
        real_q, real_k = qo < masks.nq, ko < masks.nk
        pairs = np.zeros((len(qo), len(ko)), dtype=bool)
        pairs[np.ix_(real_q, real_k)] = step.dense()[np.ix_(qo[real_q], ko[real_k])]
        blocks = pairs.reshape(len(qo) // tile, tile, len(ko) // tile, tile)
        assert ((some[h] | full[h]) >= blocks.any(axis=(1, 3))).all()
        assert (blocks.all(axis=(1, 3)) >= full[h]).all()


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(masks=head_sets(), tile=st.sampled_from([4, 8]))
def test_flex_eager_forward_and_block_masks_on_nd_layouts(masks, tile):
    _check_backend(masks, "flex-eager", backward=False)
    _check_block_mask(masks, tile)


def test_a_short_last_tile_is_never_full():
    """All keys attended on 6 tokens: the one 128-tile holds 122 padding slots, so the
    compiled kernel must evaluate the mask there (it attended the padding before)."""
    masks = head_masks(Pattern("all", "", ("k >= 0",)), layout=Layout("6"), num_heads=1)
    plan = flex.prepare(masks.last_steps(), torch.device("cpu"), torch.float32)
    assert int(plan.block_mask.full_kv_num_blocks.sum()) == 0
    _check_block_mask(masks, 4)


@pytest.mark.slow
def test_compiled_flex_forward_on_nd_layouts():
    """The fused kernel on a 1-D and a 3-D non-square layout (one compiled shape: both
    fit one 128-tile), with an all-keys step whose one tile is short (padding)."""
    for layout in (
        Layout("6", query_grid="12", order="esa", nonsquare="spatial"),
        Layout("2x3x3", query_grid="4x6x4", order="rowmajor", nonsquare="tile,spatial,tile"),
    ):
        masks = head_masks(LOCAL2, layout=layout, num_heads=2, verify=False)
        q, k, v = _inputs(masks, dtype=torch.float32, grad=False, dv=4)
        with torch.no_grad():
            out = sparse_attention(q, k, v, masks, backend="flex")
        want = reference(q.double(), k.double(), v.double(), masks)
        torch.testing.assert_close(out.double(), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "layout",
    [
        Layout("8", query_grid="16", nonsquare="spatial"),
        Layout("3x4", query_grid="6x8", nonsquare="tile,spatial"),
        Layout("2x2x3", query_grid="2x4x6", nonsquare="spatial"),
        Layout("2x3x2", query_grid="4x3x4", nonsquare="repeat", order="hilbert"),
    ],
)
@pytest.mark.parametrize("backend", ["dense", "grouped", "sdpa"])
def test_sequential_steps_on_nd_layouts(layout, backend):
    masks = head_masks(LOCAL2, layout=layout, num_heads=2, step_mode="sequential", verify=False)
    q, k, v = _inputs(masks)
    q_inner = torch.randn(q.shape[0], 2, masks.nk, q.shape[-1], dtype=q.dtype)
    q_inner.requires_grad_()
    want = reference(q, k, v, masks, q_inner=q_inner)
    out = sparse_attention(q, k, v, masks, backend=backend, q_inner=q_inner)
    torch.testing.assert_close(out, want)
    got = torch.autograd.grad(out.sum(), (q, k, v, q_inner))
    ref = torch.autograd.grad(want.sum(), (q, k, v, q_inner))
    for a, b in zip(got, ref):
        torch.testing.assert_close(a, b)
    weights = attention_maps(q, k, masks, q_inner=q_inner)  # the chain's product
    torch.testing.assert_close(weights @ v, want)


def test_ylg_patterns_keep_full_information_on_a_video_grid():
    """RTL and LTR on 3-D grids (ESA as the N-D Manhattan order) verify when the key
    count is a square, as in 2-D; the masks then run through every backend."""
    masks = head_masks("ylg", layout=Layout("4x4x4", query_grid="4x8x8", nonsquare="spatial"))
    assert masks.labels[:2] == ("rtl/1", "rtl/2") and masks.nk == 64
    for backend in ("grouped", "sdpa"):
        _check_backend(masks, backend)


def test_bad_functional_input_is_one_line():
    masks = head_masks(NA3, layout=Layout("2x2x2"), num_heads=2, verify=False)
    q = torch.randn(1, 2, 8, 4)
    errors = []
    with pytest.raises(YlgError, match=r"\[batch, heads, tokens, dim\]") as e:
        sparse_attention(q[0], q[0], q[0], masks)
    errors.append(e)
    with pytest.raises(YlgError, match="27, 4.*8 queries on 2x2x2, 8 keys on 2x2x2") as e:
        sparse_attention(torch.randn(1, 2, 27, 4), q, q, masks)  # a 3x3x3 input on 2x2x2 masks
    errors.append(e)
    with pytest.raises(YlgError, match="same number of axes") as e:
        head_masks(NA3, layout=Layout("2x2x2", query_grid="4x4"))
    errors.append(e)
    for e in errors:
        assert "\n" not in str(e.value)


# -- the video layer -----------------------------------------------------------------
def _video(c=32, t=2, h=4, w=4, batch=2, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, c, t, h, w, generator=g, dtype=dtype)


def _by_hand(layer, x):
    """The video layer computed step by step in float64: 1x1x1 convs, max-pooled keys
    and values, tokens flattened frame by frame, the reference attention, output conv."""
    b, c = x.shape[:2]
    heads = layer.num_heads
    sides = tuple(x.shape[2:])
    masks = layer.masks_for(*sides) if sides else None

    def split(t):
        return t.reshape(b, heads, t.shape[1] // heads, -1).transpose(-1, -2)

    pool = {3: F.max_pool3d, 1: F.max_pool1d}[x.dim() - 2]
    q = split(layer.query(x))
    k = split(pool(layer.key(x), layer.pool))
    v = split(pool(layer.value(x), layer.pool))
    out = reference(q, k, v, masks)
    merged = out.transpose(-1, -2).reshape(b, c // 2, *sides)
    return x + layer.gamma * layer.out(merged), masks


@pytest.mark.parametrize("backend", ["dense", "grouped", "sdpa"])
@pytest.mark.parametrize("key_pool", [(1, 2, 2), 2, 1])
def test_video_layer_is_the_reference_attention_on_flattened_tokens(backend, key_pool):
    layer = YLGAttention3d(32, NA3, num_heads=2, key_pool=key_pool, backend=backend, verify=False)
    layer = layer.double().eval()  # eval: spectral norm keeps its vectors
    with torch.no_grad():
        layer.gamma.fill_(1.0)
    x = _video(t=2, h=4, w=4).requires_grad_()
    y = layer(x)
    want, masks = _by_hand(layer, x)
    assert masks.grid.shape == tuple(s // p for s, p in zip((2, 4, 4), layer.pool))
    assert masks.query_grid.shape == (2, 4, 4) and layer.last_backend == backend
    torch.testing.assert_close(y, want)
    gx, gw = torch.autograd.grad(y.square().sum(), (x, layer.gamma))
    wx, ww = torch.autograd.grad(want.square().sum(), (x, layer.gamma))
    torch.testing.assert_close(gx, wx)
    torch.testing.assert_close(gw, ww)


def test_sequential_video_layer_backends_agree():
    """Each head runs both steps of its pattern, the inner one on the key grid with the
    queries pooled like the keys; the maps are the product of the steps' weights."""
    layer = YLGAttention3d(32, LOCAL2, num_heads=2, step_mode="sequential", verify=False)
    layer = layer.double().eval()
    with torch.no_grad():
        layer.gamma.fill_(1.0)
    x = _video(t=2, h=4, w=6)
    outs = []
    for backend in ("dense", "grouped", "sdpa"):
        layer.backend = backend
        outs.append(layer(x, return_attention=True))
    for y, maps in outs[1:]:
        torch.testing.assert_close(y, outs[0][0])
        torch.testing.assert_close(maps, outs[0][1])
    assert outs[0][1].shape == (2, 2, 48, 12)
    torch.testing.assert_close(outs[0][1].sum(-1), torch.ones(2, 2, 48, dtype=torch.float64))


def test_video_layer_defaults_shapes_and_maps():
    layer = YLGAttention3d(64)
    assert layer.labels == ("rtl/1", "rtl/2", "rtl/1", "rtl/2", "ltr/1", "ltr/2", "ltr/1", "ltr/2")
    assert layer.pool == (1, 2, 2) and layer.key_pool == (1, 2, 2)
    assert list(layer._layouts) == [(4, 16, 16)]  # verified at build on 4x16x16
    masks = layer.masks_for(4, 16, 16)
    assert masks.grid.shape == (4, 8, 8) and masks.layout.nonsquare == "spatial"
    x = _video(c=64, t=4, h=8, w=8, dtype=torch.float32)
    y, attn = layer(x, return_attention=True)
    assert torch.equal(y, x)  # gamma starts at 0
    assert attn.shape == (2, 8, 256, 64)
    torch.testing.assert_close(attn.sum(-1), torch.ones(2, 8, 256))
    assert isinstance(layer, Attention) and not isinstance(layer, Attention2d)
    assert isinstance(YLGAttention2d(64), Attention2d)


def test_video_layer_verifies_and_caches_per_size():
    with pytest.raises(YlgError, match="lacks Full Information on 4x8x8 keys.*verify=False"):
        YLGAttention3d(32, NA3, num_heads=2)
    a = YLGAttention3d(32, NA3, num_heads=2, verify=False)
    b = YLGAttention3d(64, NA3, num_heads=2, verify=False)
    assert a.masks_for(2, 6, 6) is b.masks_for(2, 6, 6)  # one registry entry
    assert a.masks_for(2, 6, 6).nq == 72 and a.masks_for(2, 6, 6).nk == 18
    assert YLGAttention3d(32, NA3, num_heads=2, key_pool=3, verify=False).check_size() == (
        6,
        18,
        18,
    )
    layer = YLGAttention3d(32, "ylg", num_heads=4)
    with pytest.raises(YlgError, match="lacks Full Information on 2x4x4 keys"):
        layer(_video(c=32, t=2, h=8, w=8, dtype=torch.float32))  # 32 keys: not a square


def test_video_layer_device_cache_is_cleared_by_to_and_half():
    layer = YLGAttention3d(32, NA3, num_heads=2, backend="grouped", verify=False)
    layer(_video(dtype=torch.float32))
    assert layer._prepared
    layer.double()
    assert not layer._prepared
    layer(_video())
    assert layer._prepared
    layer.half()
    assert not layer._prepared
    layer.to(torch.float64)(_video())  # rebuilt for the dtype it runs in
    assert layer._prepared
    layer.to(torch.float32)
    assert not layer._prepared


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: YLGAttention3d(32, NA3, num_heads=2, key_pool=(2, 2), verify=False), "3 of them"),
        (lambda: YLGAttention3d(32, NA3, num_heads=2, key_pool=0, verify=False), "key_pool"),
        (lambda: YLGAttention3d(32, NA3, num_heads=2, key_pool=(1, 0, 2)), "key_pool"),
        (lambda: YLGAttention3d(30, NA3, num_heads=2), "multiple of 16"),
        (lambda: YLGAttention3d(32, NA3, num_heads=2, backend="fast"), "unknown backend"),
        (lambda: YLGAttention3d(32, NA3, num_heads=2, nonsquare="tile,tile"), "give 3"),
        (lambda: YLGAttention1d(32, NA3, num_heads=2, key_pool=(2, 2)), "positive integer"),
    ],
)
def test_bad_layer_arguments_are_one_line(make, match):
    with pytest.raises(YlgError, match=match) as e:
        make()
    assert "\n" not in str(e.value)


def test_bad_video_inputs_are_one_line(tmp_path):
    layer = YLGAttention3d(32, NA3, num_heads=2, verify=False)
    cases = [
        (torch.randn(2, 32, 4, 4), r"expected a \[batch, 32, frames, height, width\] input"),
        (torch.randn(2, 16, 2, 4, 4), "expected"),
        (torch.randn(2, 32, 2, 5, 4), "a 2x5x4 video does not pool by 1x2x2"),
    ]
    for x, match in cases:
        with pytest.raises(YlgError, match=match) as e:
            layer(x)
        assert "\n" not in str(e.value)
    with pytest.raises(YlgError, match="takes 3 side"):
        layer._masks((4, 4))
    path = tmp_path / "ltr.npz"
    load_pattern("ltr").on("4x4", query_grid="8x8").save_npz(path)
    with pytest.raises(YlgError, match="2-D grid.*takes 3-D inputs"):
        YLGAttention3d(32, str(path), num_heads=2)


def test_video_layer_takes_exported_3d_masks(tmp_path):
    path = tmp_path / "na3.npz"
    NA3.on("2x2x2", query_grid="2x4x4", nonsquare="spatial").save_npz(path)
    layer = YLGAttention3d(32, str(path), num_heads=2, verify=False)
    assert list(layer._layouts) == [(2, 4, 4)]
    assert layer(_video(dtype=torch.float32)).shape == (2, 32, 2, 4, 4)


def test_sequence_layer_is_the_reference_attention():
    p = Pattern("band", "", ("abs(qj - kj) <= 1",))
    layer = YLGAttention1d(32, p, num_heads=2, verify=False).double().eval()
    with torch.no_grad():
        layer.gamma.fill_(1.0)
    x = torch.randn(3, 32, 10, dtype=torch.float64)
    want, masks = _by_hand(layer, x)
    assert masks.grid.shape == (5,) and masks.layout.nonsquare == "spatial"
    torch.testing.assert_close(layer(x), want)
    default = YLGAttention1d(32, num_heads=4)
    assert list(default._layouts) == [(512,)] and default.labels[0] == "rtl/1"
    with pytest.raises(YlgError, match=r"\[batch, 32, length\]"):
        default(torch.randn(1, 32, 4, 4))
    with pytest.raises(YlgError, match="a 9 sequence does not pool by 2"):
        default(torch.randn(1, 32, 9))


def test_two_d_layer_keeps_its_api():
    layer = YLGAttention2d(64)
    assert layer.key_pool == 2 and layer.pool == (2, 2)
    assert list(layer._layouts) == [(32, 32)]
    assert layer.masks_for(height=8, width=8).grid.shape == (4, 4)
    with pytest.raises(YlgError, match="a 9x9 feature map does not pool by 2"):
        layer(torch.randn(1, 64, 9, 9))
    with pytest.raises(YlgError, match=r"expected a \[batch, 64, height, width\] input"):
        layer(torch.randn(1, 64, 2, 8, 8))
    with pytest.raises(YlgError, match="key_pool must be a positive integer"):
        YLGAttention2d(64, key_pool=(1, 2))  # one factor, as published


@pytest.mark.slow
def test_torch_compile_of_a_video_model():
    """Dense and grouped video layers in one compiled model (mask building stays out of
    the graph) give the eager output and gradients.

    ``dynamic=False`` and a reset around the test: the 2-D and 3-D layers share their
    ``forward``, and Dynamo would otherwise recompile the next model that runs it with
    dynamic shapes, which torch 2.13's Inductor fails on for any 1x1 convolution after
    a reshape and a graph break (ylg or not).
    """
    torch._dynamo.reset()
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv3d(3, 32, 1),
        YLGAttention3d(32, NA3, num_heads=2, backend="grouped", verify=False),
        YLGAttention3d(32, NA3, num_heads=2, backend="dense", verify=False),
    ).eval()
    with torch.no_grad():
        model[1].gamma.fill_(0.5)
        model[2].gamma.fill_(0.5)
    x = torch.randn(2, 3, 2, 4, 4)
    eager = model(x)
    try:
        out = torch.compile(model, dynamic=False)(x)
        torch.testing.assert_close(out, eager, rtol=1e-4, atol=1e-4)
        out.sum().backward()
    finally:
        torch._dynamo.reset()
    assert model[1].gamma.grad is not None and model[2].gamma.grad is not None


def test_flattened_order_is_frame_major():
    """Token ``t*H*W + i*W + j`` of the layer is cell ``(t, i, j)``: a pattern that only
    lets each query read its own frame mixes nothing across frames."""
    frame = Pattern("frame", "", ("qt == kt",))
    layer = YLGAttention3d(32, frame, num_heads=2, key_pool=1, verify=False).eval()
    with torch.no_grad():
        layer.gamma.fill_(1.0)
    x = _video(t=3, dtype=torch.float32)
    y = layer(x)
    x2 = x.clone()
    x2[:, :, 2] += 1.0  # change the last frame only
    y2 = layer(x2)
    assert torch.equal(y[:, :, :2], y2[:, :, :2])
    assert not torch.equal(y[:, :, 2], y2[:, :, 2])
    assert np.isfinite(y.detach().numpy()).all()
