"""SparseSelfAttention: a transformer block's attention over grid tokens, checked against
a hand-written float64 reference and against torch's own nn.MultiheadAttention."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from ylg.attention import SparseSelfAttention
from ylg.errors import YlgError
from ylg.patterns import Pattern, load_pattern

NA3 = load_pattern("na").with_params(win_t=3, win_i=3, win_j=3)


def reference(
    layer: SparseSelfAttention, x: torch.Tensor, grid: object = None, rope: object = None
) -> torch.Tensor:
    """The block written out: linear map, per-head masked softmax over the dense masks
    (float64), linear map back."""
    heads = layer.masks_for(layer.grid if grid is None else grid)
    masks = torch.from_numpy(np.stack([s.dense() for s in heads.last_steps()]))
    b, n, c = x.shape
    h, d = layer.num_heads, layer.head_dim
    w = layer.qkv.weight.double()
    bias = layer.qkv.bias.double() if layer.qkv.bias is not None else 0
    qkv = (x.double() @ w.T + bias).view(b, n, 3, h, d)
    q, k, v = (qkv[:, :, i].transpose(1, 2) for i in range(3))
    if not isinstance(layer.q_norm, nn.Identity):
        q = torch.nn.functional.layer_norm(
            q, (d,), layer.q_norm.weight.double(), layer.q_norm.bias.double()
        )
        k = torch.nn.functional.layer_norm(
            k, (d,), layer.k_norm.weight.double(), layer.k_norm.bias.double()
        )
    if rope is not None:
        q, k = rope(q, k)
    logits = q @ k.transpose(-1, -2) / (math.sqrt(d) if layer.scale else 1.0)
    weights = torch.softmax(logits.masked_fill(~masks, float("-inf")), -1)
    out = (weights @ v).transpose(1, 2).reshape(b, n, c)
    proj_bias = layer.proj.bias.double() if layer.proj.bias is not None else 0
    return out @ layer.proj.weight.double().T + proj_bias


CASES = [
    ("na3 on 4x8x8", NA3, "4x8x8", 4),
    ("ltr on 8x8", "ltr", "8x8", 2),
    ("rtl + ltr on 6x6", ["rtl", "ltr"], "6x6", 4),
    ("sta on 32", "sta", "32", 2),
]


@pytest.mark.parametrize("backend", ["dense", "grouped", "sdpa"])
@pytest.mark.parametrize(("label", "pattern", "grid", "heads"), CASES, ids=[c[0] for c in CASES])
def test_equals_the_written_out_block_forward_and_backward(
    label: str, pattern: object, grid: str, heads: int, backend: str
) -> None:
    torch.manual_seed(0)
    layer = SparseSelfAttention(
        32, pattern, grid=grid, num_heads=heads, backend=backend, verify=False
    ).double()
    n = layer.masks_for(grid).nq
    x = torch.randn(2, n, 32, dtype=torch.float64, requires_grad=True)
    out = layer(x)
    want = reference(layer, x)
    torch.testing.assert_close(out, want, rtol=1e-10, atol=1e-10)
    weight = torch.randn_like(out)
    got = torch.autograd.grad((out * weight).sum(), [x, *layer.parameters()])
    exp = torch.autograd.grad((want * weight).sum(), [x, *layer.parameters()])
    for a, b in zip(got, exp):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9)
    assert layer.last_backend == backend


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sides=st.lists(st.integers(1, 5), min_size=1, max_size=3),
    radius=st.integers(0, 2),
    heads=st.sampled_from([1, 2, 4]),
    qk_norm=st.booleans(),
    scale=st.booleans(),
    bias=st.booleans(),
)
def test_random_local_patterns_on_random_grids_equal_the_reference(
    sides: list[int], radius: int, heads: int, qk_norm: bool, scale: bool, bias: bool
) -> None:
    axes = ("j",) if len(sides) == 1 else ("i", "j") if len(sides) == 2 else ("t", "i", "j")
    step = " and ".join(f"abs(q{a} - k{a}) <= {radius}" for a in axes)
    pattern = Pattern("box", "", (step,))
    grid = "x".join(map(str, sides))
    torch.manual_seed(1)
    layer = SparseSelfAttention(
        8 * heads, pattern, grid=grid, num_heads=heads, qk_norm=qk_norm, scale=scale,
        qkv_bias=bias, proj_bias=bias, verify=False,
    ).double()  # fmt: skip
    if qk_norm:  # LayerNorm starts as the identity: move it off, so the test sees it
        with torch.no_grad():
            for norm in (layer.q_norm, layer.k_norm):
                norm.weight.uniform_(0.5, 1.5)
                norm.bias.uniform_(-0.5, 0.5)
    x = torch.randn(2, math.prod(sides), 8 * heads, dtype=torch.float64)
    torch.testing.assert_close(layer(x), reference(layer, x), rtol=1e-10, atol=1e-10)


def rotary(grid: tuple[int, ...], head_dim: int):  # noqa: ANN201
    """A 2-D rotary embedding as video and image DiTs use it: half of each head's
    channels rotate with the token's row, half with its column."""
    rows, cols = torch.meshgrid(
        *(torch.arange(s, dtype=torch.float64) for s in grid), indexing="ij"
    )
    quarter = head_dim // 4
    freqs = 1.0 / 100.0 ** (torch.arange(quarter, dtype=torch.float64) / quarter)
    angles = torch.cat([rows.reshape(-1, 1) * freqs, cols.reshape(-1, 1) * freqs], -1)
    cos, sin = angles.cos(), angles.sin()

    def rotate(t: torch.Tensor) -> torch.Tensor:
        a, b = t[..., : head_dim // 2], t[..., head_dim // 2 :]
        c, s = cos.to(t.dtype), sin.to(t.dtype)
        return torch.cat([a * c - b * s, a * s + b * c], -1)

    return lambda q, k: (rotate(q), rotate(k))


@pytest.mark.parametrize("backend", ["grouped", "dense"])
def test_rotary_positions_enter_the_logits_and_the_pattern_the_keys(backend: str) -> None:
    torch.manual_seed(0)
    layer = SparseSelfAttention(
        32, "na", grid="6x6", num_heads=2, backend=backend, verify=False
    ).double()
    rope = rotary((6, 6), 16)
    x = torch.randn(2, 36, 32, dtype=torch.float64)
    got = layer(x, rope=rope)
    torch.testing.assert_close(got, reference(layer, x, rope=rope), rtol=1e-10, atol=1e-10)
    assert (got - layer(x)).abs().max() > 1e-3  # the rotation changed what heads read
    with pytest.raises(YlgError, match=r"rope\(q, k\) must return \(q, k\) as tensors"):
        layer(x, rope=lambda q, k: q)


def test_the_dense_pattern_is_torchs_multihead_attention() -> None:
    """An independent implementation: torch's nn.MultiheadAttention with the same weights."""
    torch.manual_seed(0)
    layer = SparseSelfAttention(64, "dense", grid="6x6", num_heads=4).double()
    mha = nn.MultiheadAttention(64, 4, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        mha.in_proj_weight.copy_(layer.qkv.weight)
        mha.in_proj_bias.copy_(layer.qkv.bias)
        mha.out_proj.weight.copy_(layer.proj.weight)
        mha.out_proj.bias.copy_(layer.proj.bias)
    x = torch.randn(3, 36, 64, dtype=torch.float64)
    want, weights = mha(x, x, x, average_attn_weights=False)
    got, maps = layer(x, return_attention=True)
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(maps, weights, rtol=1e-10, atol=1e-10)


def test_attention_weights_live_on_the_mask_and_sum_to_one() -> None:
    layer = SparseSelfAttention(32, NA3, grid="3x6x6", num_heads=2, verify=False)
    _, maps = layer(torch.randn(1, 108, 32), return_attention=True)
    mask = torch.from_numpy(layer.masks_for("3x6x6").last_steps()[0].dense())
    assert torch.all(maps[..., ~mask] == 0)
    torch.testing.assert_close(maps.sum(-1), torch.ones(1, 2, 108))
    assert (mask.sum(-1) == 27).all()  # NATTEN's shifted windows: 3x3x3 keys each


def test_verify_checks_the_depth_of_the_stack_and_names_the_one_that_would_do() -> None:
    with pytest.raises(YlgError, match=r"after 4 layers on 4x8x8.*6 stacked layers have it"):
        SparseSelfAttention(64, NA3, grid="4x8x8", num_heads=4, verify=4)
    layer = SparseSelfAttention(64, NA3, grid="4x8x8", num_heads=4, verify=6)
    with pytest.raises(YlgError, match=r"after 6 layers on 8x16x16"):
        layer(torch.randn(1, 8 * 16 * 16, 64), grid="8x16x16")  # a larger grid, checked too
    SparseSelfAttention(64, NA3, grid="4x8x8", num_heads=4, verify=False)


def test_other_grids_are_built_once_and_wrong_token_counts_are_named() -> None:
    layer = SparseSelfAttention(32, "ltr", grid="8x8", num_heads=2, verify=2)
    assert layer(torch.randn(2, 256, 32), grid=(16, 16)).shape == (2, 256, 32)
    assert layer.masks_for("16x16") is layer.masks_for((16, 16))
    with pytest.raises(YlgError, match=r"100 tokens do not fill the 8x8 grid \(64 tokens\)"):
        layer(torch.randn(1, 100, 32))
    with pytest.raises(YlgError, match=r"expected tokens \[batch, tokens, 32\], got \(1, 64\)"):
        layer(torch.randn(1, 64))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dim": 30, "num_heads": 4}, "dim 30 does not split into 4 heads"),
        ({"dim": 0}, "dim must be a positive integer"),
        ({"qk_norm": "yes"}, "qk_norm is True or False, not 'yes'"),
        ({"backend": "cuda"}, "unknown backend 'cuda'"),
        ({"pattern": 3}, "pattern must be a library name"),
        ({"verify": -1}, "verify must be True, False or a number"),
        ({"step_mode": "both"}, "step_mode must be one of"),
        ({"grid": "8x"}, "grid"),
    ],
)
def test_bad_arguments_are_one_clear_error(kwargs: dict, message: str) -> None:
    args = {"dim": 32, "pattern": "ltr", "grid": "8x8", "num_heads": 2, "verify": 2, **kwargs}
    with pytest.raises(YlgError, match=message):
        SparseSelfAttention(args.pop("dim"), args.pop("pattern"), **args)


def test_the_whole_module_saves_and_loads_and_moves_between_dtypes() -> None:
    """No parametrizations here: torch.save of the module itself works, and .to() drops
    what the backends built for the old dtype."""
    layer = SparseSelfAttention(32, "ltr", grid="8x8", num_heads=2, backend="grouped", verify=2)
    x = torch.randn(2, 64, 32)
    before = layer(x)
    assert layer._prepared
    buffer = io.BytesIO()
    torch.save(layer, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    torch.testing.assert_close(loaded(x), before)
    layer.double()
    assert not layer._prepared
    torch.testing.assert_close(layer(x.double()).float(), before, rtol=1e-5, atol=1e-5)


def test_a_stack_of_blocks_compiles_and_trains() -> None:
    """A small DiT-like stack: pre-norm blocks around the attention, compiled with
    torch.compile, the same output as eager, and gradients to every parameter."""

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.norm = nn.LayerNorm(32)
            self.attn = SparseSelfAttention(32, NA3, grid="4x4x4", num_heads=2, verify=3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + self.attn(self.norm(x))

    torch.manual_seed(0)
    model = nn.Sequential(*(Block() for _ in range(3)))
    x = torch.randn(2, 64, 32)
    eager = model(x)
    compiled = torch.compile(model, dynamic=False)
    torch.testing.assert_close(compiled(x), eager, rtol=1e-5, atol=1e-5)
    compiled(x).square().mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_a_wrong_grid_is_named_before_any_mask_is_built() -> None:
    """grid= given by mistake (an image's size for its patch grid) was built and
    verified first: a Full Information refusal, or 35 s of masks at 1000x1000."""
    layer = SparseSelfAttention(16, "na", grid="16x16", num_heads=2, verify=4)
    x = torch.randn(1, 256, 16)
    for wrong in ("256x256", "1000x1000"):
        with pytest.raises(YlgError, match=f"256 tokens do not fill the {wrong} grid"):
            layer(x, grid=wrong)
    assert list(layer._grids) == [layer.grid]


def test_rope_is_checked_and_follows_the_values_dtype_under_autocast() -> None:
    layer = SparseSelfAttention(32, "na", grid="4x4", num_heads=2, verify=False)
    table = torch.arange(16.0)[:, None] * torch.ones(16) / 16  # float32, as usual

    def turn(t: torch.Tensor) -> torch.Tensor:
        return t * table.cos() + t.flip(-1) * table.sin()

    def rope(q: torch.Tensor, k: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return turn(q), turn(k)

    x = torch.randn(2, 16, 32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = layer(x, rope=rope)
    torch.testing.assert_close(low.float(), layer(x, rope=rope), rtol=0.05, atol=0.05)
    for bad in (3, "rope", lambda q: q):
        with pytest.raises(YlgError, match=r"rope must be a function \(q, k\) -> \(q, k\)"):
            layer(x, rope=bad)


def test_inputs_of_another_dtype_or_flags_of_another_kind_are_named() -> None:
    layer = SparseSelfAttention(16, "na", grid="4x4", num_heads=2, verify=False)
    for dtype in (torch.float64, torch.int64):
        with pytest.raises(YlgError, match=f"the tokens are {dtype}, the layer's weights"):
            layer(torch.zeros(1, 16, 16, dtype=dtype))
    with pytest.raises(YlgError, match="return_attention is True or False, not 'no'"):
        layer(torch.zeros(1, 16, 16), return_attention="no")


def test_the_grouped_backend_names_torch_func_and_the_backends_that_run_there() -> None:
    """torch.func.grad through the CPU's default backend was a raw RuntimeError about
    setup_context; dense runs there and gives torch.autograd's gradient of grouped."""
    x = torch.randn(2, 9, 8)
    grouped = SparseSelfAttention(8, "na", grid="3x3", num_heads=2, backend="grouped")
    with pytest.raises(YlgError, match="does not run under torch.func transforms"):
        torch.func.grad(lambda t: grouped(t).square().sum())(x)
    dense = SparseSelfAttention(8, "na", grid="3x3", num_heads=2, backend="dense")
    dense.load_state_dict(grouped.state_dict())
    got = torch.func.grad(lambda t: dense(t).square().sum())(x)
    xg = x.clone().requires_grad_()
    (want,) = torch.autograd.grad(grouped(xg).square().sum(), xg)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
