"""The exact 2-token flow check by one-token cuts, against the general exact check
(every cut set), brute force max flows, and the witnesses' own max flows."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

import networkx as nx
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from test_ifg_strategies import random_masks

from ylg.errors import YlgError
from ylg.ifg import build_graph, kflow
from ylg.ifg.flow import FlowNetwork, split_graph
from ylg.ifg.kflow import KFlow, k_flow
from ylg.ifg.layers import layer_grids
from ylg.patterns import ORDERS, Masks, Pattern, load_pattern

#: The smallest 2-token flow of the library patterns from 8x8 up (ordered as in
#: docs/information-flow.md: only dense carries 2; Fixed, Strided, window lack Full
#: Information and carry 0 for some pairs).
LIBRARY = {
    "ltr": 1,
    "rtl": 1,
    "axial": 1,
    "star": 1,
    "strided-fi": 1,
    "fixed-fi": 1,
    "dense": 2,
    "fixed": 0,
    "strided": 0,
    "window": 0,
}
#: Clauses of the library's patterns: or-ed into steps, they often give Full
#: Information, with and without 2-token flow (random_masks mostly lack it).
STRUCTURED = [
    "k // s == q // s",
    "k // s == q // s and k <= q",
    "k % s == q % s",
    "k % s == s - 1",
    "k % s == 0",
    "k == 0",
    "q == 0",
    "k <= q",
    "abs(q - k) <= 1",
    "qi == ki",
    "qj == kj",
    "abs(qi - ki) <= 1 and abs(qj - kj) <= 1",
]


@st.composite
def structured_masks(draw: st.DrawFn, max_side: int = 4) -> Masks:
    """A 2- or 3-step pattern, each step a key for every query or-ed with up to 2
    library clauses, on a small square or non-square layout."""
    steps = []
    for _ in range(draw(st.integers(2, 3))):
        base = draw(st.sampled_from(["k == q", "k == 0", "k == (q + 1) % n"]))
        clauses = draw(st.lists(st.sampled_from(STRUCTURED), max_size=2, unique=True))
        steps.append(" or ".join([base, *(f"({c})" for c in clauses)]))
    h, w = draw(st.integers(1, max_side)), draw(st.integers(2, max_side))
    pattern = Pattern("structured", "library clauses", tuple(steps))
    order = draw(st.sampled_from(sorted(ORDERS)))
    if draw(st.booleans()):
        query = (h * draw(st.integers(1, 2)), w * draw(st.integers(1, 2)))
        return pattern.on((h, w), query_grid=query, order=order, nonsquare="repeat")
    return pattern.on((h, w), order=order)


#: Ways to run the fast check: as chosen (dense float products on small graphs), with
#: sparse integer products only, with dense ones only, and with every token's pairs
#: gathered in one pass over the labels (not read off its block).
ROUTES = {
    "auto": {"SPARSE_COST": kflow.SPARSE_COST},
    "sparse": {"DENSE_COST": 10**30},
    "dense": {"SPARSE_COST": 10**30},
    "grouped": {"GATHER_RATIO": -1, "GATHER_MIN": -1},
}


@contextmanager
def route(name: str) -> Iterator[None]:
    with mock.patch.multiple(kflow, **ROUTES[name]):
        yield


def general_exact(masks: Masks, examples: int = 3) -> tuple[int, list[kflow.Witness]]:
    """The general exact check (every set of fewer than 2 tokens) for k = 2."""
    return kflow._exact(masks, 2, layer_grids(masks), examples, False)


def separated(masks: Masks, inputs: list[int], outputs: list[int], cut: list) -> bool:
    """Whether no path from ``inputs`` to ``outputs`` avoids the ``cut`` tokens."""
    graph = build_graph(masks)
    graph.remove_nodes_from((layer, pos) for layer, pos, _ in cut)
    last = masks.num_steps
    starts = [(0, a) for a in inputs if (0, a) in graph]
    reached = set().union(*(nx.descendants(graph, s) for s in starts)) if starts else set()
    return not any((last, b) in reached for b in outputs)


def assert_real_witnesses(
    masks: Masks, min_flow: int, worst: list[kflow.Witness], examples: int
) -> None:
    """Every witness carries what it says, its bottleneck cuts it, none repeats."""
    grids = layer_grids(masks)
    net = FlowNetwork(masks)
    keys = set()
    for w in worst:
        inputs, outputs = [p for p, _ in w.inputs], [p for p, _ in w.outputs]
        assert len(set(inputs)) == 2 and len(set(outputs)) == 2
        assert [c for _, c in w.inputs] == [grids[0].cell(p) for p in inputs]
        assert [c for _, c in w.outputs] == [grids[-1].cell(p) for p in outputs]
        assert w.flow == min_flow < 2
        assert net.max_flow(inputs, outputs).value == w.flow
        assert len(w.bottleneck) == w.flow
        for layer, pos, cell in w.bottleneck:
            assert grids[layer].cell(pos) == cell
        assert separated(masks, inputs, outputs, w.bottleneck)
        keys.add((tuple(inputs), tuple(outputs)))
    assert len(keys) == len(worst) <= examples
    if min_flow < 2 and examples:
        assert worst


def assert_real(masks: Masks, result: KFlow, examples: int = 3) -> None:
    """:func:`assert_real_witnesses` of an exact verdict, which holds at flow 2."""
    assert result.exact and result.holds == (result.min_flow == 2)
    assert_real_witnesses(masks, result.min_flow, result.worst, examples)


def networkx_min_flow(masks: Masks) -> int:
    """Smallest max flow (capped at 2) over all pairs of 2-sets, by networkx."""
    graph = split_graph(masks)
    last = masks.num_steps
    for a in range(masks.nk):
        graph.add_edge("source", (0, a, "in"), capacity=0)
    for b in range(masks.nq):
        graph.add_edge((last, b, "out"), "sink", capacity=0)
    best = 2
    for sources in itertools.combinations(range(masks.nk), 2):
        for sinks in itertools.combinations(range(masks.nq), 2):
            edges = [("source", (0, a, "in")) for a in sources]
            edges += [((last, b, "out"), "sink") for b in sinks]
            for u, v in edges:
                graph[u][v]["capacity"] = 2
            best = min(best, int(nx.maximum_flow_value(graph, "source", "sink")))
            for u, v in edges:
                graph[u][v]["capacity"] = 0
            if best == 0:
                return 0
    return best


# -- against the general exact check and brute force ----------------------------------


@settings(max_examples=150, deadline=None)
@given(
    st.one_of(random_masks(max_side=3), structured_masks(max_side=3)),
    st.sampled_from(sorted(ROUTES)),
    st.integers(0, 4),
)
def test_fast_two_flow_equals_the_general_exact_check(
    masks: Masks, way: str, examples: int
) -> None:
    assume(min(masks.nk, masks.nq) >= 2)
    with route(way):
        flow, worst = kflow._exact_two(masks, examples=examples)
    assert flow == general_exact(masks, examples)[0]
    assert_real_witnesses(masks, flow, worst, examples)


@settings(max_examples=40, deadline=None)
@given(st.one_of(random_masks(max_side=2), structured_masks(max_side=2)))
def test_fast_two_flow_equals_brute_force_with_networkx(masks: Masks) -> None:
    assume(min(masks.nk, masks.nq) >= 2)
    result = k_flow(masks, 2, exact=True)
    assert result.min_flow == networkx_min_flow(masks)
    assert_real(masks, result)


# -- the library patterns ---------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(LIBRARY))
def test_library_patterns_at_8x8_match_the_general_check(name: str) -> None:
    masks = load_pattern(name).on("8x8")
    result = k_flow(masks, 2, examples=4)
    slow_flow, slow_worst = general_exact(masks, 4)
    assert result.exact and result.min_flow == slow_flow == LIBRARY[name]
    assert result.verdict == ("holds" if LIBRARY[name] == 2 else "does not hold")
    assert len(result.worst) == len(slow_worst)
    assert_real(masks, result, 4)


@pytest.mark.parametrize("name", sorted(LIBRARY))
def test_library_patterns_at_16x16_are_exact(name: str) -> None:
    masks = load_pattern(name).on("16x16")
    result = k_flow(masks, 2)
    assert result.exact and result.samples is None
    assert result.min_flow == LIBRARY[name]
    assert_real(masks, result)


def test_star_witnesses_are_the_general_checks_and_the_docs() -> None:
    masks = load_pattern("star").on("8x8")
    result = k_flow(masks, 2, examples=2)
    assert result.worst == general_exact(masks, 2)[1]
    assert [(w.inputs, w.outputs, w.bottleneck) for w in result.worst] == [
        ([(0, (0, 0)), (1, (0, 1))], [(0, (0, 0)), (1, (0, 1))], [(1, 0, (0, 0))]),
        ([(0, (0, 0)), (2, (0, 2))], [(0, (0, 0)), (1, (0, 1))], [(1, 0, (0, 0))]),
    ]


def test_non_square_layout_is_exact_and_matches_the_general_check() -> None:
    masks = load_pattern("ltr").on("4x4", query_grid="8x8")
    result = k_flow(masks, 2)
    assert result.exact and result.min_flow == general_exact(masks)[0] == 1
    assert_real(masks, result)


@pytest.mark.parametrize(
    ("step", "cut_layer"),
    [
        ("k <= 1 or k == q", 0),  # input 2 reaches only output 2: cut input 0 or 1
        ("q <= 1 or k == q", 1),  # output 2 reads only input 2: cut output 0 or 1
    ],
)
def test_pairs_cut_only_by_one_of_their_own_tokens(step: str, cut_layer: int) -> None:
    masks = Pattern("ends", "", (step,)).on("1x3")
    result = k_flow(masks, 2, examples=10)
    assert result.min_flow == general_exact(masks)[0] == networkx_min_flow(masks) == 1
    assert {layer for w in result.worst for layer, _, _ in w.bottleneck} == {cut_layer}
    assert_real(masks, result, 10)


def test_no_witnesses_asked_still_decides() -> None:
    result = k_flow(load_pattern("axial").on("6x6"), 2, examples=0, progress=True)
    assert result.exact and result.min_flow == 1 and not result.holds and result.worst == []
    fixed = k_flow(load_pattern("fixed").on("6x6"), 2, examples=1)
    assert fixed.min_flow == 0 and fixed.worst[0].bottleneck == []
    assert fixed.to_dict()["worst"][0]["bottleneck"] == []


# -- when the automatic choice is exact -----------------------------------------------


@pytest.mark.parametrize("name", ["ltr", "axial", "star", "strided-fi", "fixed-fi"])
def test_auto_mode_is_exact_for_two_step_patterns_to_64x64_and_samples_beyond(name: str) -> None:
    pattern = load_pattern(name)
    for grid in ("16x16", "32x32", "64x64"):
        assert kflow.exact_work(pattern.on(grid), 2) <= kflow.TWO_FLOW_BUDGET
    big = pattern.on("128x128")
    assert kflow.TWO_FLOW_BUDGET < kflow.exact_work(big, 2) <= kflow.TWO_FLOW_LIMIT


def test_exact_refuses_an_absurd_two_token_check_in_one_line() -> None:
    masks = load_pattern("star").on("256x256")
    with pytest.raises(YlgError, match="too large") as info:
        k_flow(masks, 2, exact=True)
    assert "\n" not in str(info.value)
    sampled = k_flow(masks, 2, samples=2)
    assert not sampled.exact and sampled.samples == 2


@pytest.mark.parametrize("grid, samples", [("1x2", 200), ("2x2", 36), ("2x2", 35)])
def test_a_sample_as_large_as_the_pairs_is_the_exact_check(grid: str, samples: int) -> None:
    """Asked to sample more pairs of 2-sets than there are (1 on 1x2, 36 on 2x2), every
    pair is checked instead: a decided answer, not "undecided" from repeated draws."""
    masks = load_pattern("ltr").on(grid)
    sampled = k_flow(masks, 2, exact=False, samples=samples)
    exact = k_flow(masks, 2, exact=True)
    assert sampled.pairs == math.comb(masks.nk, 2) ** 2
    if samples >= sampled.pairs:
        assert sampled.exact and sampled.holds == exact.holds is not None
        assert sampled.min_flow == exact.min_flow
    else:
        assert not sampled.exact and sampled.samples == samples


# -- the parts ------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(arrays(bool, st.tuples(st.integers(0, 7), st.integers(0, 7))))
def test_rectangles_are_the_all_true_2x2_submatrices(block: np.ndarray) -> None:
    found = kflow._rectangles(block, limit=10**6)
    for r1, r2, c1, c2 in found:
        assert r1 < r2 and c1 < c2 and block[np.ix_([r1, r2], [c1, c2])].all()
    rows, cols = block.shape
    expected = sorted(
        (r1, r2)
        for r1, r2 in itertools.combinations(range(rows), 2)
        if np.count_nonzero(block[r1] & block[r2]) >= 2
    )
    assert sorted((r1, r2) for r1, r2, _, _ in found) == expected
    assert kflow._rectangles(block, limit=1) == found[:1]


@settings(max_examples=100, deadline=None)
@given(
    st.integers(1, 6).flatmap(
        lambda mid: st.tuples(
            arrays(bool, st.tuples(st.just(mid), st.integers(1, 6))),
            arrays(bool, st.tuples(st.integers(1, 6), st.just(mid))),
        )
    ),
    st.sampled_from(sorted(ROUTES)),
)
def test_single_tokens_are_the_only_middle_token_of_a_pair(
    mats: tuple[np.ndarray, np.ndarray], way: str
) -> None:
    into, out = mats
    with route(way):
        labels, counts = kflow._single_tokens(into, out)
    n_mid = into.shape[0]
    for o, i in np.ndindex(labels.shape):
        middle = np.flatnonzero(out[o] & into[:, i])
        assert labels[o, i] == (middle[0] if middle.size == 1 else n_mid)
    assert counts.tolist() == [int(np.count_nonzero(labels == t)) for t in range(n_mid)]
