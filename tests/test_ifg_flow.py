"""ylg.ifg max flow and k-token flow, against networkx and brute force."""

from __future__ import annotations

import itertools
import json

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_ifg_strategies import random_masks

from ylg.errors import YlgError
from ylg.ifg import build_graph, full_information
from ylg.ifg.flow import FlowNetwork, max_flow, max_flow_networkx, split_graph
from ylg.ifg.kflow import k_flow
from ylg.patterns import Masks, Pattern, load_pattern


def separates(masks: Masks, sources: list[int], sinks: list[int], cut: list) -> bool:
    """Whether removing the cut tokens leaves no path from a source to a sink."""
    graph = build_graph(masks)
    graph.remove_nodes_from((layer, pos) for layer, pos, _ in cut)
    last = masks.num_steps
    for s in sources:
        if (0, s) not in graph:
            continue
        reached = nx.descendants(graph, (0, s))
        if any((last, t) in reached for t in sinks):
            return False
    return True


@st.composite
def flow_cases(draw: st.DrawFn) -> tuple[Masks, list[int], list[int]]:
    masks = draw(random_masks(max_side=3))
    sources = draw(st.lists(st.integers(0, masks.nk - 1), min_size=1, max_size=4))
    sinks = draw(st.lists(st.integers(0, masks.nq - 1), min_size=1, max_size=4))
    return masks, sources, sinks


@settings(max_examples=60, deadline=None)
@given(flow_cases())
def test_max_flow_equals_networkx_on_the_split_graph(case: tuple) -> None:
    masks, sources, sinks = case
    fast = max_flow(masks, sources, sinks)
    slow = max_flow_networkx(masks, sources, sinks)
    graph = split_graph(masks)
    for s in set(sources):
        graph.add_edge("source", (0, s, "in"))
    for t in set(sinks):
        graph.add_edge((masks.num_steps, t, "out"), "sink")
    assert fast.value == slow.value == nx.maximum_flow_value(graph, "source", "sink")
    assert len(fast.bottleneck) == fast.value
    assert separates(masks, fast.sources, fast.sinks, fast.bottleneck)


def test_star_bottleneck_is_the_hub() -> None:
    masks = load_pattern("star").on("4x4")
    result = max_flow(masks, [1, 2, 3], [5, 6, 7])
    assert result.value == 1
    assert result.bottleneck == [(1, 0, (0, 0))]
    assert json.loads(json.dumps(result.to_dict()))["bottleneck"][0]["cell"] == [0, 0]


def test_dense_carries_as_many_units_as_tokens() -> None:
    masks = load_pattern("dense").on("3x3")
    assert max_flow(masks, range(9), range(9)).value == 9
    net = FlowNetwork(masks)
    assert [net.max_flow(range(k), range(9 - k, 9)).value for k in (1, 4, 9)] == [1, 4, 9]


def test_flow_network_answers_queries_independently() -> None:
    net = FlowNetwork(load_pattern("axial").on("3x3"))
    first = net.max_flow([0, 1], [0, 3])
    assert net.max_flow([0, 4, 8], [0, 4, 8]).value == 3
    again = net.max_flow([0, 1], [0, 3])
    assert (again.value, again.bottleneck) == (first.value, first.bottleneck)
    assert first.value == 1 and first.bottleneck == [(1, 0, (0, 0))]


def test_flow_rejects_bad_token_sets() -> None:
    masks = load_pattern("ltr").on("3x3")
    with pytest.raises(YlgError, match="outside the 3x3 grid"):
        max_flow(masks, [9], [0])
    with pytest.raises(YlgError, match="no sink tokens"):
        max_flow(masks, [0], [])


# -- k-token flow --------------------------------------------------------------------


@pytest.mark.parametrize("grid", ["3x3", "4x4", "8x8"])
def test_star_has_full_information_but_not_two_token_flow(grid: str) -> None:
    # Paper, section 9.5: every path goes through the hub, so no pair carries 2 units.
    masks = load_pattern("star").on(grid)
    assert full_information(masks).holds
    assert k_flow(masks, 1).holds
    two = k_flow(masks, 2)
    assert two.exact and not two.holds and two.min_flow == 1
    assert all(w.bottleneck == [(1, 0, (0, 0))] for w in two.worst)


def test_dense_has_k_token_flow() -> None:
    masks = load_pattern("dense").on("3x3")
    for k in (1, 2, 3):
        result = k_flow(masks, k)
        assert result.holds and result.exact and result.min_flow == k and not result.worst


def test_ltr_and_rtl_do_not_carry_two_tokens() -> None:
    # Two inputs of one block leave it only through the block's summary token.
    for name in ("ltr", "rtl"):
        result = k_flow(load_pattern(name).on("4x4"), 2)
        assert result.exact and not result.holds and result.min_flow == 1
        w = result.worst[0]
        assert len(w.bottleneck) == 1 and w.bottleneck[0][0] == 1


def brute_force_min_flow(masks: Masks, k: int) -> int:
    net = FlowNetwork(masks)
    return min(
        net.max_flow(a, b).value
        for a in itertools.combinations(range(masks.nk), k)
        for b in itertools.combinations(range(masks.nq), k)
    )


@settings(max_examples=25, deadline=None)
@given(random_masks(max_side=2, max_steps=2, nonsquare=False), st.integers(1, 2))
def test_exact_k_flow_equals_brute_force(masks: Masks, k: int) -> None:
    if k > masks.nk:
        return
    result = k_flow(masks, k, exact=True)
    expected = brute_force_min_flow(masks, k)
    assert result.min_flow == min(expected, k)
    assert result.holds == (expected >= k)
    net = FlowNetwork(masks)
    for w in result.worst:
        flow = net.max_flow([p for p, _ in w.inputs], [p for p, _ in w.outputs])
        assert flow.value == w.flow == result.min_flow


def test_three_token_flow_exact_on_a_tiny_grid() -> None:
    masks = Pattern("two-hubs", "", ("k == q or q < 2", "k < 2")).on("2x3")
    result = k_flow(masks, 3, exact=True)
    assert not result.holds and result.min_flow == 2
    assert brute_force_min_flow(masks, 3) == 2


def test_sampled_k_flow_states_its_sample_and_is_reproducible() -> None:
    masks = load_pattern("star").on("16x16")
    a = k_flow(masks, 2, exact=False, samples=12, seed=7)
    b = k_flow(masks, 2, exact=False, samples=12, seed=7)
    assert not a.exact and (a.samples, a.seed) == (12, 7)
    assert a.failing == 12 and not a.holds and a.min_flow == 1
    assert [w.inputs for w in a.worst] == [w.inputs for w in b.worst]
    dense = k_flow(load_pattern("dense").on("8x8"), 2, exact=False, samples=10)
    # No failure in a sample proves nothing: undecided, not "holds".
    assert dense.holds is None and dense.failing == 0 and dense.min_flow == 2
    assert dense.verdict == "undecided" and dense.to_dict()["holds"] is None
    data = json.loads(json.dumps(a.to_dict()))
    assert data["samples"] == 12 and data["seed"] == 7 and data["exact"] is False


def test_k_flow_rejects_bad_k_and_exact_checks_too_large_to_finish() -> None:
    masks = load_pattern("ltr").on("2x2")
    for k in (0, 5, True):
        with pytest.raises(YlgError):
            k_flow(masks, k)
    with pytest.raises(YlgError, match="too large"):
        k_flow(load_pattern("ltr").on("32x32"), 3, exact=True)
