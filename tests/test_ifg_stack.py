"""ylg.ifg.stack and ylg.ifg.kron: verification across layers, the Kronecker fast path
and the packed-bit path against dense products and networkx."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from test_ifg_strategies import random_masks, separable_masks

from ylg.errors import YlgError
from ylg.ifg.bits import pack, propagate, unpack
from ylg.ifg.flow import max_flow_networkx_of_steps
from ylg.ifg.kron import factors, kron_all, separable_cuts
from ylg.ifg.layers import step_matrices
from ylg.ifg.metrics import hops_to_full_information, metrics
from ylg.ifg.stack import (
    Stack,
    _reached_networkx,
    check_layers,
    layers_needed,
    layers_needed_networkx,
    output_reach,
    receptive_field,
    receptive_field_networkx,
    stack_full_information,
    stack_full_information_networkx,
    stack_max_flow,
    stack_max_flow_networkx,
    stack_reach,
    verify_stack,
)
from ylg.patterns import Grid, Layout, Masks, Pattern, load_pattern


def dense_stack_reach(layers: list[Masks]) -> np.ndarray:
    """The obviously-correct reference: boolean products of the dense step matrices,
    each evaluated by the masks themselves (no factors, no packed bits)."""
    out = None
    for masks in layers:
        for mat in step_matrices(masks):
            m = mat.toarray().astype(np.int64)
            out = m if out is None else np.minimum(m @ out, 1)
    assert out is not None
    return out.astype(bool)


# -- random separable patterns --------------------------------------------------------


@st.composite
def separable_stacks(draw: st.DrawFn, max_cells: int = 48) -> list[Masks]:
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.integers(1, 4)) for _ in range(ndim))
    while math.prod(shape) > max_cells:
        shape = shape[1:]
    kinds = draw(st.lists(separable_masks(shape), min_size=1, max_size=2))
    order = draw(st.lists(st.integers(0, len(kinds) - 1), min_size=1, max_size=4))
    return [kinds[i] for i in order]


@st.composite
def square_stacks(draw: st.DrawFn) -> list[Masks]:
    """Stacks of 1..3 random (not separable) patterns on one square layout."""
    first = draw(random_masks(max_side=4, max_steps=2, nonsquare=False))
    more = draw(st.lists(st.integers(0, 5), max_size=2))
    layers = [first]
    for seed in more:
        rng = np.random.default_rng(seed)
        a, b = int(rng.integers(0, 5)), int(rng.integers(0, 5))
        pattern = Pattern("r", "", (f"k == (q * {a} + {b}) % n or k <= q // 2",))
        layers.append(pattern.on(first.layout))
    return [layers[i] for i in draw(st.permutations(range(len(layers))))]


# -- the Kronecker fast path -----------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(separable_stacks())
def test_separable_stacks_match_the_dense_reference_and_networkx(layers: list[Masks]) -> None:
    stack = Stack(layers)
    plan = stack.plan()
    if stack.grids[0].ndim > 1 and any(s > 1 for s in stack.grids[0].shape):
        assert len(plan.bounds) == stack.grids[0].ndim + 1  # split on every axis
    reference = dense_stack_reach(layers)
    fast = stack_reach(stack)
    assert (fast.dense() == reference).all()
    assert (stack_reach(layers, method="bitsets").dense() == reference).all()
    assert (receptive_field(stack) == reference.sum(axis=1)).all()
    fi, slow = (
        stack_full_information(stack, examples=4),
        stack_full_information_networkx(layers, examples=4),
    )
    assert (fi.holds, fi.missing, fi.pairs, fi.examples) == (
        slow.holds,
        slow.missing,
        slow.pairs,
        slow.examples,
    )
    assert fi.missing == int((~reference).sum())


@settings(max_examples=40, deadline=None)
@given(separable_stacks(max_cells=27), st.integers(0, 26))
def test_output_reach_layer_by_layer(layers: list[Masks], output: int) -> None:
    grid = layers[0].grid
    output %= grid.size
    rows = output_reach(layers, output)
    assert rows.shape == (len(layers), grid.size)
    for depth in range(1, len(layers) + 1):
        assert (rows[depth - 1] == dense_stack_reach(layers[:depth])[output]).all()
    assert (output_reach(layers, output, method="bitsets") == rows).all()


@settings(max_examples=40, deadline=None)
@given(separable_stacks(max_cells=24))
def test_layers_needed_fast_path_matches_networkx(layers: list[Masks]) -> None:
    cycle = layers[:2]
    fast = layers_needed(cycle, max_layers=12)
    assert layers_needed(cycle, max_layers=12, method="bitsets").layers == fast.layers
    assert fast.layers == layers_needed_networkx(cycle, max_layers=12)
    if fast.layers is not None:
        assert fast.reached[-1] == fast.pairs
        assert all(r < fast.pairs for r in fast.reached[:-1])


def test_auto_detected_cuts_split_a_step_the_masks_do_not_factor() -> None:
    # A Chebyshev ball is a box (separable) though written as one clause on two axes;
    # a diamond in space with a window in time splits only between time and space.
    box = Pattern("box", "", ("max(abs(qi - ki), abs(qj - kj)) <= 1",)).on("5x6")
    assert box.axis_factors(0) is None
    assert Stack([box] * 2).plan().bounds == (0, 1, 2)
    diamond = Pattern("d", "", ("abs(qt - kt) <= 1 and abs(qi - ki) + abs(qj - kj) <= 2",))
    layers = [diamond.on("3x4x5")] * 2
    plan = Stack(layers).plan()
    assert plan.bounds == (0, 1, 3) and plan.method == "kronecker"
    assert (stack_reach(layers).dense() == dense_stack_reach(layers)).all()
    causal = load_pattern("fixed").on("4x4")
    assert Stack([causal]).plan().method == "bitsets"


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_separable_cuts_are_exactly_the_kronecker_splits(data: st.DataObject) -> None:
    ndim = data.draw(st.integers(2, 3))
    q_sides = tuple(data.draw(st.integers(1, 3)) for _ in range(ndim))
    k_sides = tuple(data.draw(st.integers(1, 3)) for _ in range(ndim))

    def draw_matrix(rows: int, cols: int) -> np.ndarray:
        dense = data.draw(st.lists(st.booleans(), min_size=rows * cols, max_size=rows * cols))
        return np.array(dense, dtype=bool).reshape(rows, cols)

    if data.draw(st.booleans()):  # a Kronecker product at some cut (the sampled rows
        c = data.draw(st.integers(1, ndim - 1))  # must never rule it out)
        q0, k0 = math.prod(q_sides[:c]), math.prod(k_sides[:c])
        q1, k1 = math.prod(q_sides[c:]), math.prod(k_sides[c:])
        mat = np.kron(draw_matrix(q0, k0), draw_matrix(q1, k1)).astype(bool)
    else:
        mat = draw_matrix(math.prod(q_sides), math.prod(k_sides))
    if not mat.any():
        mat[0, 0] = True
    m = sp.csr_array(mat)
    cuts = separable_cuts(m, q_sides, k_sides)
    for c in range(1, ndim):
        left, right = factors(m, q_sides, k_sides, (0, c, ndim))
        splits = bool((kron_all([left, right]).toarray() == mat).all())
        assert splits == (c in cuts), c
    bounds = (0, *cuts, ndim)
    assert (kron_all(factors(m, q_sides, k_sides, bounds)).toarray() == mat).all()


# -- the general path ------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(square_stacks())
def test_random_stacks_match_networkx(layers: list[Masks]) -> None:
    reference = dense_stack_reach(layers)
    fi = stack_full_information(layers, examples=3)
    slow = stack_full_information_networkx(layers, examples=3)
    assert (fi.holds, fi.missing, fi.examples) == (slow.holds, slow.missing, slow.examples)
    assert fi.missing == int((~reference).sum())
    assert (receptive_field(layers) == receptive_field_networkx(layers)).all()
    assert (stack_reach(layers, method="bitsets").dense() == reference).all()


@settings(max_examples=40, deadline=None)
@given(random_masks(max_side=4, max_steps=3, nonsquare=False))
def test_layers_needed_agrees_with_the_hop_count(masks: Masks) -> None:
    hops, why = hops_to_full_information(step_matrices(masks), max_rounds=16)
    needed = layers_needed(masks, max_layers=16)
    packed = layers_needed(masks, max_layers=16, method="bitsets")
    assert (packed.layers, packed.reason) == (needed.layers, needed.reason)
    # A split stack may prove "never" a layer sooner (one group of axes stuck is enough);
    # the layers both counted agree.
    common = min(len(packed.reached), len(needed.reached))
    assert packed.reached[:common] == needed.reached[:common]
    if needed.reason != "never":
        assert packed.reached == needed.reached
    if hops is not None:
        assert needed.layers == math.ceil(hops / masks.num_steps)
    else:
        assert needed.layers is None
        assert needed.reason == ("never" if why == "never" else "limit")
    assert needed.layers == layers_needed_networkx(masks, max_layers=16)


def test_layers_needed_proves_never_and_counts_reach() -> None:
    fixed = layers_needed(load_pattern("fixed").on("4x4"))
    assert (fixed.layers, fixed.reason) == (None, "never")
    assert fixed.reached == [136, 136]  # causal: the lower triangle, then nothing new
    window = layers_needed(load_pattern("window").on("9x9"))  # radius 2
    assert window.layers == 4 and window.reached == sorted(window.reached)
    assert layers_needed(load_pattern("window").on("9x9"), max_layers=2).reason == "limit"


def test_a_stack_deeper_than_max_layers_counts_the_layers_it_laid() -> None:
    """``verify --layers 6 --max-layers 2``: the walk laid 6 layers for the stack and saw
    Full Information at 4, yet said 'more than 2'."""
    window = load_pattern("window").on("9x9")
    deep = verify_stack([window] * 6, cycle=window, max_layers=2)
    assert deep.holds and deep.needed.layers == layers_needed(window).layers == 4
    shallow = verify_stack([window] * 3, cycle=window, max_layers=2).needed
    assert (shallow.layers, shallow.reason, shallow.max_layers) == (None, "limit", 3)


def test_alternating_dilations_need_fewer_layers_than_either() -> None:
    def band(d: int) -> Pattern:
        return Pattern(f"d{d}", "", (f"abs(qj - kj) <= {d} and (qj - kj) % {d} == 0",))

    near, far = band(1).on("30"), band(5).on("30")
    assert layers_needed(far).reason == "never"  # a dilation alone never leaves its class
    alternating = layers_needed([near, far])
    assert alternating.layers is not None and alternating.layers < layers_needed(near).layers
    assert alternating.layers == layers_needed_networkx([near, far], max_layers=20)


def test_a_stack_chains_grids_and_may_end_on_another_query_grid() -> None:
    inner = load_pattern("rtl").on("4x4")
    last = load_pattern("rtl").on("4x4", query_grid="8x8")
    layers = [inner, last]
    reference = dense_stack_reach(layers)
    assert reference.shape == (64, 16)
    fi = stack_full_information(layers)
    assert fi.holds == bool(reference.all()) and fi.pairs == 64 * 16
    with pytest.raises(YlgError, match="cannot be repeated"):
        layers_needed(layers)
    verdict = verify_stack(layers)
    assert verdict.needed is None and "cannot be repeated" in verdict.needed_note
    with pytest.raises(YlgError, match="layer 2 reads the 4x4 grid but layer 1 writes the 8x8"):
        check_layers([last, inner])


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        ([], "at least one layer"),
        ("ltr", "expected a stack of layers"),
        ([load_pattern("ltr")], "layer 1 is a Pattern"),
    ],
)
def test_bad_stacks_are_one_line_errors(layers: object, message: str) -> None:
    with pytest.raises(YlgError, match=message):
        stack_full_information(layers)  # type: ignore[arg-type]


def test_bad_arguments_are_one_line_errors() -> None:
    window = load_pattern("window").on("4x4")
    with pytest.raises(YlgError, match="examples must be"):
        stack_full_information([window], examples=-1)
    with pytest.raises(YlgError, match="max_layers must be"):
        layers_needed(window, max_layers=0)
    with pytest.raises(YlgError, match="outside the 4x4 grid"):
        output_reach([window], 16)
    with pytest.raises(YlgError, match="unknown method"):
        stack_reach([window], method="fast")


# -- max flow across layers ------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(square_stacks(), st.data())
def test_stack_max_flow_matches_networkx(layers: list[Masks], data: st.DataObject) -> None:
    n = layers[0].nk
    sources = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=3))
    sinks = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=3))
    fast, slow = (
        stack_max_flow(layers, sources, sinks),
        stack_max_flow_networkx(layers, sources, sinks),
    )
    assert fast.value == slow.value == len(fast.bottleneck)


def test_star_stacked_still_carries_one_unit() -> None:
    star = load_pattern("star").on("4x4")
    flow = stack_max_flow([star] * 3, [1, 2], [5, 6])
    assert flow.value == 1 and flow.bottleneck[0][1] == 0  # the hub token
    mats = [m for layer in [star] * 3 for m in step_matrices(layer)]
    assert max_flow_networkx_of_steps(mats, [star.grid] * 7, [1, 2], [5, 6]).value == 1


# -- packed bits on wide rows (the band path of propagate) -----------------------------


@st.composite
def banded(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    rows, mid, cols = (
        draw(st.integers(1, 300)),
        draw(st.integers(1, 300)),
        draw(st.integers(200, 900)),
    )
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    width = draw(st.integers(1, 60))
    bits = np.zeros((mid, cols), dtype=bool)
    for r in range(mid):
        lo = int(rng.integers(0, cols))
        bits[r, lo : lo + int(rng.integers(0, 4 * width))] = True
    mat = np.zeros((rows, mid), dtype=bool)
    for r in range(rows):
        centre = r * mid // rows
        mat[r, np.clip(centre + rng.integers(-width, width + 1, size=5), 0, mid - 1)] = True
    if draw(st.booleans()):
        bits[int(rng.integers(0, mid))] = True  # a full row: its readers are full at once
    return mat, bits


@settings(max_examples=60, deadline=None)
@given(banded())
def test_propagate_on_wide_banded_rows(case: tuple[np.ndarray, np.ndarray]) -> None:
    mat, bits = case
    out = unpack(
        propagate(sp.csr_array(mat), pack(sp.csr_array(bits)), bits.shape[1]), bits.shape[1]
    )
    assert (out == ((mat.astype(np.int64) @ bits.astype(np.int64)) > 0)).all()


# -- speed at video size ------------------------------------------------------------------

NA7 = " and ".join(
    f"max(0, min(q{a} - 3, {side} - 7)) <= k{a} and k{a} < max(0, min(q{a} - 3, {side} - 7)) + 7"
    for a, side in (("t", "t"), ("i", "h"), ("j", "w"))
)


@settings(max_examples=50, deadline=None)
@given(random_masks(max_side=4, max_steps=2, nonsquare=False), st.integers(1, 4), st.data())
def test_verify_stack_of_a_repeated_cycle_matches_graph_search(
    first: Masks, depth: int, data: st.DataObject
) -> None:
    """A stack that repeats its cycle takes its verdict from the repeats of the layers
    needed (no second reach), full within its depth or not, and whatever the limit on
    the layers needed: the same verdict, receptive field and layers needed as graph
    search."""
    other = Pattern("r", "", ("k == (q * 3 + 1) % n or k <= q // 2",)).on(first.layout)
    cycle = [first, other][: data.draw(st.integers(1, 2))]
    layers = [cycle[i % len(cycle)] for i in range(depth)]
    max_layers = data.draw(st.sampled_from([1, 2, 64]))
    verdict = verify_stack(layers, cycle=cycle, examples=3, max_layers=max_layers)
    slow = stack_full_information_networkx(layers, examples=3)
    fi = verdict.full_information
    assert (fi.holds, fi.missing, fi.pairs, fi.examples) == (
        slow.holds, slow.missing, slow.pairs, slow.examples,
    )  # fmt: skip
    field = receptive_field_networkx(layers)
    assert (verdict.receptive.min, verdict.receptive.max) == (field.min(), field.max())
    assert verdict.receptive.full_outputs == int((field == first.nk).sum())
    assert verdict.needed is not None
    tried = max(max_layers, depth)  # the layers laid for the stack are tried as well
    assert verdict.needed.layers == layers_needed_networkx(cycle, max_layers=tried)
    # Laying the repeats on to the stack's depth (one pass) gives the answer of the
    # layers needed alone, tried as deep.
    alone = layers_needed(cycle, max_layers=tried)
    assert (verdict.needed.reason, verdict.needed.reached) == (alone.reason, alone.reached)


def test_video_grid_four_layers_of_a_7x7x7_neighbourhood_is_fast() -> None:
    """The goal of issue 15: 16x32x32 (16,384 tokens), 4 layers of a 7x7x7 neighbourhood,
    Full Information + layers needed + receptive field in under 2 s on 2 cores (about
    0.05 s measured; the bound leaves room for a loaded test machine)."""
    start = time.perf_counter()
    na = Pattern("na7", "", (NA7,)).on("16x32x32")
    verdict = verify_stack([na] * 4, cycle=na)
    seconds = time.perf_counter() - start
    assert not verdict.holds and verdict.full_information.method == "kronecker"
    assert verdict.needed is not None and verdict.needed.layers == 10
    assert (verdict.receptive.min, verdict.receptive.max) == (4096, 16 * 25 * 25)
    assert seconds < 6.0, seconds


def test_layout_of_a_stack_is_described_once() -> None:
    a = load_pattern("ltr").on(Layout("4x4", order="rowmajor"))
    stack = Stack([a, a])
    assert stack.layout == "4x4, rowmajor, s=4" and stack.name == "ltr x2"
    assert [str(g) for g in stack.grids] == ["4x4"] * 5
    assert stack.grids[0] == Grid(4, 4)


@settings(max_examples=40, deadline=None)
@given(
    random_masks(max_side=3, max_steps=2, nonsquare=False),
    st.sampled_from(["direct", "spatial", "tile", "repeat"]),
    st.integers(1, 16),
    st.integers(1, 3),
    st.booleans(),
)
def test_layers_needed_count_the_last_layer_on_its_own_queries(
    first: Masks, rule: str, queries: int, depth: int, flat: bool
) -> None:
    """``PATTERN --layers N --query-grid Q``: the layers needed are those of the stack
    as laid (inner layers on the key grid, the last on the query grid), also when the
    last layer's rows are not the key grid's (the direct rule, a smaller query grid),
    as graph search on each stack finds them."""
    if flat:  # a sequence: the direct rule's extra queries wrap around the keys
        grid, query = (first.nk,), (queries,)
    else:
        grid, query = first.grid.shape, (queries % 5 + 1, queries // 5 + 1)
    last = first.pattern.on(grid, query_grid=query, order=first.order, nonsquare=rule)
    inner = last.square_on_keys()
    stack = [inner] * (depth - 1) + [last]
    verdict = verify_stack(stack, cycle=[inner], examples=0)
    assert verdict.needed is not None
    # Each layer's reach by graph search, composed layer after layer. Powers of an
    # n-token layer's reach repeat from the (n - 1)^2 + 1-th on (Schwarz's bound on a
    # Boolean matrix's index) with a period of at most Landau's g(n) <= 20 for n <= 9
    # tokens: a stack not full within 2 n^2 layers never is.
    step = _reached_networkx(Stack([inner])).astype(np.int64)
    reach = _reached_networkx(Stack([last])).astype(np.int64)  # queries x keys
    slow = None
    for d in range(1, 2 * inner.nk**2 + 1):
        if reach.all():
            slow = d
            break
        reach = np.minimum(reach @ step, 1)
    assert verdict.needed.layers == slow
    assert verdict.holds == stack_full_information_networkx(stack).holds


@pytest.mark.parametrize(
    "step, grid, query, needed",
    [
        ("abs(qj - kj) <= wq // w", "8", "16", 6),
        ("abs(qi - ki) <= hq // h - 1 and abs(qj - kj) <= wq // w - 1", "4x4", "16x16", 1),
        ("abs(q - k) <= nq // n", "9", "18", 7),
    ],
)
def test_layers_needed_and_hops_of_a_step_that_reads_the_query_grids_sizes(
    step: str, grid: str, query: str, needed: int
) -> None:
    """On the square version of a layer the query sizes (nq, hq, wq) are the key grid's,
    so such a last layer is not the inner one repeated: it was counted as if it were
    (7 layers for a band that 6 make full; "never" for one full in 1)."""
    last = Pattern("band", "", (step,), nonsquare="spatial").on(grid, query_grid=query)
    inner = last.square_on_keys()
    step_reach = _reached_networkx(Stack([inner])).astype(np.int64)
    reach = _reached_networkx(Stack([last])).astype(np.int64)  # queries x keys
    slow = 1
    while not reach.all() and slow < 40:
        reach, slow = np.minimum(reach @ step_reach, 1), slow + 1
    assert slow == needed
    verdict = verify_stack([inner] * (needed - 1) + [last], cycle=[inner], examples=0)
    assert verdict.holds and verdict.needed is not None and verdict.needed.layers == needed
    assert metrics(last).hops == needed


def test_layers_needed_of_a_direct_last_layer_on_more_queries() -> None:
    """A cycle over 5 keys read by 10 queries (the direct rule): the key grid needs 4
    layers, the stack with that last layer 5 (queries 5..9 wrap further)."""
    cyc = Pattern("cyc", "", ("k == q or k == (q + 1) % n",), nonsquare="direct")
    last = cyc.on("5", query_grid="10")
    inner = last.square_on_keys()
    assert layers_needed(inner).layers == 4
    for depth, holds in ((4, False), (5, True)):
        verdict = verify_stack([inner] * (depth - 1) + [last], cycle=[inner])
        assert verdict.holds is holds and verdict.needed is not None
        assert verdict.needed.layers == 5 and verdict.needed.reached[-1] == 50


def test_output_reach_refuses_layers_that_end_on_other_grids() -> None:
    """One output position named a different cell on each layer's grid."""
    window = load_pattern("window")
    stack = [window.on("4x4"), window.on("4x4", query_grid="8x8", nonsquare="spatial")]
    with pytest.raises(YlgError, match="layer 1 ends on the 4x4 grid, the last on 8x8"):
        output_reach(stack, 5)


def test_a_stack_flow_network_too_large_to_build_is_refused_before_it_is_built() -> None:
    from ylg.ifg.stack import stack_max_flow

    na = load_pattern("na").on("8x16x16")  # 343 keys a query: 702,464 pairs a layer
    with pytest.raises(YlgError, match="1024 steps has 719,323,136 attended pairs"):
        stack_max_flow([na] * 1024, [0], [2047])
