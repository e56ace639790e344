"""Every backend computes the same attention as the dense reference, with gradients."""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ylg.attention import attention_maps, grouped, head_masks, sparse_attention
from ylg.attention import plan as planner
from ylg.attention.masksets import StepMask
from ylg.attention.plan import make_plan
from ylg.errors import YlgError
from ylg.patterns import Pattern, load_pattern

PAPER = ["ltr", "rtl", "fixed", "strided"]
LIBRARY = ["axial", "window", "star", "dense"]


def _inputs(masks, batch, dim=4, dtype=torch.float64, seed=0, dv=None):
    g = torch.Generator().manual_seed(seed)
    h = masks.num_heads

    def make(n, d):
        return torch.randn(batch, h, n, d, generator=g, dtype=dtype).requires_grad_()

    return make(masks.nq, dim), make(masks.nk, dim), make(masks.nk, dv or dim)


def _compare(masks, backend, *, batch=2, dtype=torch.float64, tol=1e-10, **options):
    q, k, v = _inputs(masks, batch, dtype=dtype, dv=3)
    weight = torch.randn(batch, masks.num_heads, masks.nq, 3, dtype=dtype)
    ref = sparse_attention(q, k, v, masks, backend="dense", **options)
    ref_grads = torch.autograd.grad((ref * weight).sum(), (q, k, v))
    out = sparse_attention(q, k, v, masks, backend=backend, **options)
    assert not torch.isnan(out).any()
    torch.testing.assert_close(out, ref, rtol=tol, atol=tol)
    grads = torch.autograd.grad((out * weight).sum(), (q, k, v))
    for got, want in zip(grads, ref_grads):
        assert not torch.isnan(got).any()
        torch.testing.assert_close(got, want, rtol=tol, atol=tol)


@pytest.mark.parametrize("name", PAPER + LIBRARY)
@pytest.mark.parametrize("layout", [("6x6", None), ("4x4", "8x8"), ("5x7", None)])
def test_grouped_equals_dense_for_library_patterns(name, layout):
    grid, query_grid = layout
    pattern = load_pattern(name)
    masks = head_masks(
        name, grid=grid, query_grid=query_grid, num_heads=2 * len(pattern.steps), verify=False
    )
    _compare(masks, "grouped")


@pytest.mark.parametrize("heads", [1, 2, 4, 8])
@pytest.mark.parametrize("batch", [1, 3])
def test_grouped_equals_dense_for_every_head_count(heads, batch):
    pattern = "ylg" if heads >= 4 else "axial" if heads == 2 else "dense"
    masks = head_masks(pattern, grid="8x8", query_grid="16x16", num_heads=heads)
    _compare(masks, "grouped", batch=batch)


@pytest.mark.parametrize("nonsquare", ["repeat", "tile", "spatial"])
@pytest.mark.parametrize("order", ["esa", "rowmajor", "snake"])
def test_grouped_equals_dense_on_nonsquare_rules_and_orders(nonsquare, order):
    masks = head_masks(
        "ylg", grid="4x6", query_grid="8x12", order=order, nonsquare=nonsquare, num_heads=4
    )
    _compare(masks, "grouped")


@pytest.mark.parametrize("options", [{"scale": True}, {"paper_compat": True}])
def test_options_agree_across_backends(options):
    _compare(head_masks("ylg", grid="6x6", query_grid="12x12"), "grouped", **options)


def test_float32_agrees_within_float_tolerance():
    masks = head_masks("ylg", grid="16x16", query_grid="32x32")
    _compare(masks, "grouped", dtype=torch.float32, tol=2e-5)


@pytest.mark.parametrize("tile", [1, 200, 5000])
def test_grouped_tiles_of_every_size_agree(monkeypatch, tile):
    monkeypatch.setattr(grouped, "TILE_ELEMENTS", tile)
    _compare(head_masks("ylg", grid="8x8", query_grid="16x16"), "grouped", batch=2)


@pytest.mark.parametrize("layout", [("4x4", None), ("6x6", "12x12")])
def test_sequential_steps_agree_and_compose(layout):
    grid, query_grid = layout
    masks = head_masks("ylg", grid=grid, query_grid=query_grid, step_mode="sequential")
    q, k, v = _inputs(masks, 2, dv=3)
    q_inner = None if masks.square else torch.randn(2, 8, masks.nk, 4, dtype=torch.float64)
    ref = sparse_attention(q, k, v, masks, backend="dense", q_inner=q_inner)
    out = sparse_attention(q, k, v, masks, backend="grouped", q_inner=q_inner)
    torch.testing.assert_close(out, ref)
    # The output is the product of the steps' attention maps applied to the values.
    maps = attention_maps(q, k, masks, q_inner=q_inner)
    torch.testing.assert_close(torch.matmul(maps, v), ref)
    ref_grads = torch.autograd.grad(ref.sum(), (q, k, v))
    grads = torch.autograd.grad(out.sum(), (q, k, v))
    for got, want in zip(grads, ref_grads):
        torch.testing.assert_close(got, want)


def test_sequential_nonsquare_needs_inner_queries():
    masks = head_masks("ylg", grid="4x4", query_grid="8x8", step_mode="sequential")
    q, k, v = _inputs(masks, 1)
    with pytest.raises(YlgError, match="q_inner"):
        sparse_attention(q, k, v, masks)


@pytest.mark.parametrize(
    ("name", "layout"),
    [("ylg", ("4x4", None)), ("ylg", ("4x4", "8x8")), ("strided", ("5x3", None))],
)
def test_flex_eager_forward_equals_dense_on_cpu(name, layout):
    grid, query_grid = layout
    masks = head_masks(name, grid=grid, query_grid=query_grid, num_heads=8, verify=False)
    q, k, v = _inputs(masks, 2)
    with torch.no_grad():
        ref = sparse_attention(q, k, v, masks, backend="dense")
        out = sparse_attention(q, k, v, masks, backend="flex-eager")
    torch.testing.assert_close(out, ref)


@pytest.mark.parametrize("backend", ["flex", "flex-eager"])
def test_flex_refuses_training_on_cpu_clearly(backend):
    masks = head_masks("ylg", grid="4x4")
    q, k, v = _inputs(masks, 1, dtype=torch.float32)
    with pytest.raises(YlgError, match="no backward pass on CPU"):
        sparse_attention(q, k, v, masks, backend=backend)


@pytest.mark.parametrize("layout", [("6x6", None), ("4x4", "8x8"), ("5x7", None)])
def test_sdpa_equals_dense_with_gradients(layout):
    grid, query_grid = layout
    masks = head_masks("ylg", grid=grid, query_grid=query_grid)
    _compare(masks, "sdpa")
    _compare(masks, "sdpa", paper_compat=True, scale=True)


def test_attention_maps_are_distributions_on_the_mask():
    masks = head_masks("ylg", grid="4x4", query_grid="8x8")
    q, k, _ = _inputs(masks, 2)
    maps = attention_maps(q, k, masks)
    torch.testing.assert_close(maps.sum(-1), torch.ones(2, 8, 64, dtype=torch.float64))
    allowed = torch.stack([torch.from_numpy(s.dense()) for s in masks.last_steps()])
    assert (maps[:, ~allowed] == 0).all()


def test_no_nan_with_extreme_logits():
    masks = head_masks("ylg", grid="8x8")
    q, k, v = _inputs(masks, 1, dtype=torch.float32)
    with torch.no_grad():
        q.mul_(1e4)
    for backend in ("dense", "grouped"):
        out = sparse_attention(q, k, v, masks, backend=backend)
        assert torch.isfinite(out).all()


def test_a_step_leaving_a_query_without_keys_is_refused():
    lonely = Pattern("lonely", "", ("k == q or q > 0", "k == 0 and q > 0"))
    with pytest.raises(YlgError, match="leaves query 0 .* with no key"):
        head_masks(lonely, grid="3x3", num_heads=2, verify=False)


def test_paper_compat_adds_minus_1000_in_dense():
    masks = head_masks("ltr", grid="3x3", num_heads=2)
    q = torch.zeros(1, 2, 9, 1, dtype=torch.float64)
    k = torch.zeros(1, 2, 9, 1, dtype=torch.float64)
    maps_inf = attention_maps(q, k, masks)
    maps_1000 = attention_maps(
        q + 1, k + torch.arange(9.0).view(1, 1, 9, 1) * 200, masks, paper_compat=True
    )
    assert (maps_inf[0, 0][~torch.from_numpy(masks.last_steps()[0].dense())] == 0).all()
    # Logits 1600 above the allowed ones outweigh the -1000 penalty: keys leak in.
    assert maps_1000[0, 0, 0, 8] > 0.99


def test_bad_shapes_and_backend_names_are_user_errors():
    masks = head_masks("ylg", grid="4x4")
    q, k, v = _inputs(masks, 1)
    with pytest.raises(YlgError, match="shape"):
        sparse_attention(q[:, :4], k, v, masks)
    with pytest.raises(YlgError, match="unknown backend"):
        sparse_attention(q, k, v, masks, backend="fast")


@pytest.fixture
def free_pieces(monkeypatch):
    """Plans split into pieces whenever that saves any work."""
    monkeypatch.setattr(planner, "PIECE_COST", 0.0)


@pytest.mark.parametrize("name", ["ylg", "fixed", "strided"])
def test_plans_in_several_pieces_agree(free_pieces, name):
    pattern = load_pattern("ltr" if name == "ylg" else name)
    fresh = pattern.with_steps(pattern.steps, name=f"{name}-pieces")  # not in any cache
    masks = head_masks(fresh, grid="8x8", query_grid="16x16", num_heads=4, verify=False)
    assert any(len(make_plan(s).pieces) > 1 for s in masks.last_steps())
    _compare(masks, "grouped", batch=2)


def test_plan_of_ltr_is_the_papers_structure():
    m = load_pattern("ltr").on("16x16")
    first, second = make_plan(StepMask(m, 0)), make_plan(StepMask(m, 1))
    assert (first.group, first.width) == (16, 16)  # the diagonal blocks
    assert second.width <= 16 + second.group  # every block's last element + the diagonal
    assert first.cost < m.nq * m.nk / 8 and second.cost < m.nq * m.nk / 4


# -- random user patterns -------------------------------------------------------------
ATOMS = [
    "q // s == k // s",
    "k <= q",
    "k >= q",
    "k % s == s - 1",
    "k % s == 0",
    "abs(q - k) <= 2",
    "qi == ki",
    "qj == kj",
    "(q + k) % 3 == 0",
    "k == 0",
    "abs(qi - ki) + abs(qj - kj) <= 1",
    "abs(q - k) % s == 0",
]


@st.composite
def steps(draw):
    parts = draw(st.lists(st.sampled_from(ATOMS), min_size=1, max_size=3))
    joins = [draw(st.sampled_from([" and ", " or "])) for _ in parts[1:]]
    expr = parts[0]
    for join, part in zip(joins, parts[1:]):
        expr = f"({expr}){join}({part})"
    return f"k == q or ({expr})"


#: Hypothesis settings of the random-layout comparisons (slow examples, a monkeypatch).
RANDOM_LAYOUTS = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@settings(RANDOM_LAYOUTS, max_examples=25)
@given(
    step_list=st.lists(steps(), min_size=1, max_size=3),
    h=st.integers(2, 6),
    w=st.integers(2, 6),
    scale_q=st.sampled_from([1, 2]),
    order=st.sampled_from(["esa", "rowmajor", "snake"]),
    nonsquare=st.sampled_from(["repeat", "tile", "spatial"]),
    batch=st.sampled_from([1, 2]),
    tile=st.sampled_from([16, 1 << 18]),
)
def test_grouped_equals_dense_for_random_patterns(
    monkeypatch, step_list, h, w, scale_q, order, nonsquare, batch, tile
):
    # Small tiles split heads into several runs of query groups, large ones join heads.
    monkeypatch.setattr(grouped, "TILE_ELEMENTS", tile)
    monkeypatch.setattr(planner, "PIECE_COST", 0.0 if tile == 16 else planner.PIECE_COST)
    pattern = Pattern("random", "", tuple(step_list), order=order, nonsquare=nonsquare)
    masks = head_masks(
        pattern,
        grid=(h, w),
        query_grid=(h * scale_q, w * scale_q),
        num_heads=len(step_list),
        verify=False,
    )
    _compare(masks, "grouped", batch=batch)


def _penalty_grads(masks, backend, inputs, weight):
    """Gradients of a gradient penalty (the square norm of d<out, weight>/d(q, k, v))."""
    out = sparse_attention(*inputs, masks, backend=backend)
    first = torch.autograd.grad((out * weight).sum(), inputs, create_graph=True)
    return torch.autograd.grad(sum(g.square().sum() for g in first), inputs)


@settings(RANDOM_LAYOUTS, max_examples=20)
@given(
    step_list=st.lists(steps(), min_size=1, max_size=3),
    h=st.integers(2, 5),
    w=st.integers(2, 5),
    scale_q=st.sampled_from([1, 2]),
    order=st.sampled_from(["esa", "rowmajor"]),
    free=st.booleans(),
)
def test_grouped_second_derivative_equals_dense_for_random_patterns(
    monkeypatch, step_list, h, w, scale_q, order, free
):
    monkeypatch.setattr(planner, "PIECE_COST", 0.0 if free else planner.PIECE_COST)
    pattern = Pattern("random", "", tuple(step_list), order=order)
    masks = head_masks(
        pattern,
        grid=(h, w),
        query_grid=(h * scale_q, w * scale_q),
        num_heads=len(step_list),
        verify=False,
    )
    inputs = _inputs(masks, 2, dv=3)
    weight = torch.randn(2, masks.num_heads, masks.nq, 3, dtype=torch.float64)
    want = _penalty_grads(masks, "dense", inputs, weight)
    got = _penalty_grads(masks, "grouped", inputs, weight)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", ["ylg", "strided", "axial"])
def test_grouped_second_derivative_passes_gradgradcheck(name):
    """Against finite differences of the first derivative, not another backend."""
    heads = 4 if name == "ylg" else 2
    masks = head_masks(name, grid="4x4", query_grid="8x8", num_heads=heads, verify=False)
    q, k, v = _inputs(masks, 1, dim=2, dv=2)
    fn = lambda q, k, v: sparse_attention(q, k, v, masks, backend="grouped", scale=True)  # noqa: E731
    assert torch.autograd.gradgradcheck(fn, (q, k, v))


def test_grouped_second_derivative_through_some_inputs_only():
    """Only the keys need gradients (queries and values fixed): the others stay None."""
    masks = head_masks("ylg", grid="4x4", num_heads=4)
    q, k, v = (t.detach() for t in _inputs(masks, 1))
    k.requires_grad_()
    results = []
    for backend in ("grouped", "dense"):
        out = sparse_attention(q, k, v, masks, backend=backend)
        (gk,) = torch.autograd.grad(out.square().sum(), k, create_graph=True)
        results.append(torch.autograd.grad(gk.square().sum(), k)[0])
    torch.testing.assert_close(results[0], results[1], rtol=1e-10, atol=1e-10)
