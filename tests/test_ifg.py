"""ylg.ifg: the graph, reachability and Full Information (fast path against references)."""

from __future__ import annotations

import itertools
import json

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from test_ifg_strategies import random_masks

from ylg.ifg import build_graph, full_information, reach_matrices, reachability
from ylg.ifg.bits import pack, popcount, propagate, same_lists, unpack
from ylg.ifg.layers import layer_grids, step_matrices
from ylg.ifg.reach import full_information_networkx
from ylg.patterns import Masks, Pattern, load_pattern


def dense_reach(masks: Masks) -> np.ndarray:
    """The obviously-correct reference: the boolean product of dense step matrices."""
    mats = [m.toarray().astype(np.int64) for m in step_matrices(masks)]
    out = mats[0]
    for m in mats[1:]:
        out = np.minimum(m @ out, 1)
    return out.astype(bool)


# -- the graph -------------------------------------------------------------------------


def test_graph_has_a_layer_per_step_and_an_edge_per_attended_pair() -> None:
    masks = load_pattern("ltr").on("4x4")
    graph = build_graph(masks)
    assert graph.number_of_nodes() == 3 * 16
    assert graph.number_of_edges() == sum(masks.counts())
    dense = masks.dense()
    for (layer, k), (layer2, q) in graph.edges:
        assert layer2 == layer + 1
        assert dense[layer, q, k]
    assert graph.nodes[(1, 6)] == {"layer": 1, "cell": (1, 2)}
    assert nx.is_directed_acyclic_graph(graph)


def test_graph_of_a_nonsquare_layout_ends_on_the_query_grid() -> None:
    masks = load_pattern("rtl").on("2x2", query_grid="4x4")
    graph = build_graph(masks)
    assert [str(g) for g in layer_grids(masks)] == ["2x2", "2x2", "4x4"]
    assert graph.number_of_nodes() == 4 + 4 + 16
    assert graph.nodes[(2, 15)]["cell"] == (3, 3)
    inner = masks.square_on_keys().dense(0)
    assert graph.number_of_edges() == int(inner.sum()) + int(masks.dense(1).sum())


# -- the paper's examples -------------------------------------------------------------


def test_fixed_at_n9_misses_the_pairs_the_paper_names() -> None:
    # Figure 2d: "no path from node 1 of V0 to node 2 of V2" and from node 0 to node 1.
    # The paper draws an edge from the attending token to the attended one, so in
    # ylg's orientation (information flows from the attended key to the query) these
    # are output 1 not reading input 2, and output 0 not reading input 1.
    masks = load_pattern("fixed").on("3x3", order="rowmajor")
    reach = reachability(masks)
    assert not reach[1, 2] and not reach[0, 1]
    # Fixed is causal: output o reads exactly the inputs i <= o.
    assert (reach == np.tril(np.ones((9, 9), dtype=bool))).all()
    fi = full_information(masks)
    assert not fi.holds and fi.missing == 36
    assert fi.examples[0] == (1, (0, 1), 0, (0, 0))


def test_fixed_lacks_full_information_under_esa_too() -> None:
    masks = load_pattern("fixed").on("3x3")
    pi = masks.enumeration()
    reach = reachability(masks)
    # In enumeration space it is the same causal pattern.
    assert (reach[np.ix_(pi, pi)] == np.tril(np.ones((9, 9), dtype=bool))).all()


@pytest.mark.parametrize("name", ["ltr", "rtl"])
@pytest.mark.parametrize("order", ["esa", "rowmajor", "hilbert", "zorder", "snake"])
def test_ltr_and_rtl_have_full_information_on_square_grids(name: str, order: str) -> None:
    for side in (1, 2, 3, 4, 5, 7, 8, 9, 16, 32, 64):
        fi = full_information(load_pattern(name).on((side, side), order=order))
        assert fi.holds and fi.missing == 0, (name, order, side)


def test_ltr_with_esa_has_full_information_at_128x128() -> None:
    fi = full_information(load_pattern("ltr").on("128x128"))
    assert fi.holds and fi.pairs == 16384**2


@pytest.mark.parametrize("rule", ["repeat", "tile", "spatial"])
def test_ltr_and_rtl_have_full_information_on_the_sagan_layout(rule: str) -> None:
    for name in ("ltr", "rtl"):
        masks = load_pattern(name).on("16x16", query_grid="32x32", nonsquare=rule)
        assert full_information(masks).holds


def test_ltr_and_rtl_lack_full_information_when_the_last_block_is_partial() -> None:
    # s = isqrt(10) = 3 does not divide n = 10: the lone token 9 is nobody's block end.
    for name in ("ltr", "rtl"):
        masks = load_pattern(name).on("2x5", order="rowmajor")
        fi = full_information(masks)
        assert not fi.holds and fi.missing == 9
        assert {ex[0] for ex in fi.examples} == {9}


def test_one_step_patterns() -> None:
    assert full_information(load_pattern("dense").on("8x8")).holds
    masks = load_pattern("window").on("8x8")
    fi = full_information(masks)
    assert fi.missing == int((~masks.dense(0)).sum())


def test_patterns_of_more_than_two_steps() -> None:
    # Three causal-ish steps: block, block ends, then a shift that wraps around.
    pattern = Pattern(
        "three",
        "",
        ("q // s == k // s and k <= q", "k == q or k % s == s - 1", "k == (q + 1) % n"),
    )
    masks = pattern.on("4x4")
    assert (reachability(masks) == dense_reach(masks)).all()
    assert full_information(masks).holds
    four = pattern.with_steps([*pattern.steps, "k == q"]).on("3x5", order="hilbert")
    assert (reachability(four) == dense_reach(four)).all()


def test_verdict_serialises_to_json() -> None:
    fi = full_information(load_pattern("strided").on("4x4"), examples=2)
    data = json.loads(json.dumps(fi.to_dict()))
    assert data["holds"] is False and data["property"] == "full information"
    assert data["examples"][0]["input_cell"] == list(fi.examples[0][1])
    assert data["missing"] == fi.missing and data["pairs"] == 256


# -- fast path against the references ----------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(random_masks())
def test_fast_full_information_equals_networkx(masks: Masks) -> None:
    fast = full_information(masks, examples=4)
    slow = full_information_networkx(masks, examples=4)
    assert (fast.holds, fast.missing, fast.examples) == (slow.holds, slow.missing, slow.examples)
    assert fast.pairs == slow.pairs == masks.nq * masks.nk


@settings(max_examples=60, deadline=None)
@given(random_masks())
def test_reachability_equals_the_dense_product(masks: Masks) -> None:
    assert (reachability(masks) == dense_reach(masks)).all()


@st.composite
def chains(draw: st.DrawFn) -> list[sp.csr_array]:
    """Random boolean matrix chains, widths crossing 64-bit word boundaries."""
    sizes = draw(st.lists(st.integers(1, 140), min_size=2, max_size=4))
    seed = draw(st.integers(0, 2**16))
    density = draw(st.sampled_from([0.0, 0.01, 0.05, 0.3, 1.0]))
    rng = np.random.default_rng(seed)
    return [
        sp.csr_array(rng.random((sizes[i + 1], sizes[i])) < density) for i in range(len(sizes) - 1)
    ]


@settings(max_examples=60, deadline=None)
@given(chains())
def test_packed_products_equal_dense_products(mats: list[sp.csr_array]) -> None:
    expected = mats[0].toarray().astype(np.int64)
    for m in mats[1:]:
        expected = np.minimum(m.toarray().astype(np.int64) @ expected, 1)
    reach = reach_matrices(mats)
    assert (reach.dense() == expected.astype(bool)).all()
    assert reach.count() == int(expected.sum())
    missing = [(int(i), int(o)) for o, i in zip(*np.nonzero(expected == 0))][:7]
    assert reach.missing_pairs(7) == missing


def test_both_product_directions_are_exercised() -> None:
    rng = np.random.default_rng(3)
    light = sp.csr_array(rng.random((90, 90)) < 0.02)
    heavy = sp.csr_array(rng.random((90, 90)) < 0.6)
    for mats, rows_are_outputs in (([heavy, light], True), ([light, heavy], False)):
        reach = reach_matrices(mats)
        assert reach.rows_are_outputs is rows_are_outputs
        expected = (mats[1].toarray().astype(int) @ mats[0].toarray().astype(int)) > 0
        assert (reach.dense() == expected).all()
        missing = [(int(i), int(o)) for o, i in zip(*np.nonzero(~expected))][:5]
        assert reach.missing_pairs(5) == missing


def test_propagate_shortcuts_agree_with_plain_or() -> None:
    rng = np.random.default_rng(5)
    src = rng.random((70, 130)) < 0.05
    src[3] = True  # a full row: every row reading it is full without a gather
    src[4] = False  # an empty row: skipped
    mat = rng.random((50, 70)) < 0.1
    out = unpack(propagate(sp.csr_array(mat), pack(sp.csr_array(src)), 130), 130)
    expected = (mat.astype(int) @ src.astype(int)) > 0
    assert (out == expected).all()
    assert (popcount(pack(sp.csr_array(src))) == src.sum(axis=1)).all()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 5), max_size=4, unique=True), min_size=1, max_size=12))
def test_same_lists_give_equal_lists_one_id_even_when_hashes_collide(lists: list) -> None:
    """Ids are equal exactly when the lists are: with random weights, and with weights
    of all ones, under which every pair of lists of one length collides."""
    lists = [sorted(x) for x in lists]
    cols = np.array([c for x in lists for c in x], dtype=np.int32)
    degree = np.array([len(x) for x in lists])
    first = np.concatenate([[0], np.cumsum(degree)[:-1]]).astype(np.int64)
    for weights in (None, np.ones(6, dtype=np.uint64)):
        ids = same_lists(cols, first, degree, weights)
        assert sorted(set(ids.tolist())) == list(range(len(set(map(tuple, lists)))))
        for a, b in itertools.combinations(range(len(lists)), 2):
            assert (ids[a] == ids[b]) == (lists[a] == lists[b])


def test_propagate_in_small_chunks_agrees_with_plain_or(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunked passes over the entries (tiny chunks here) give the same product, with
    repeated rows (shared answers), a full source row and an empty one."""
    import ylg.ifg.bits as bits

    monkeypatch.setattr(bits, "CHUNK_ENTRIES", 7)
    rng = np.random.default_rng(9)
    src = rng.random((60, 200)) < 0.03
    src[7], src[8] = True, False
    mat = rng.random((40, 60)) < 0.15
    mat[10:20] = mat[3]  # ten rows with one neighbour list
    out = unpack(propagate(sp.csr_array(mat), pack(sp.csr_array(src)), 200), 200)
    assert (out == ((mat.astype(int) @ src.astype(int)) > 0)).all()


def test_the_package_exports_the_analyses_and_the_moved_names_warn() -> None:
    """``ylg.ifg`` exports the analyses; the reference implementations and the table
    formatting live in their modules, and the old imports warn until they go."""
    import ylg.ifg
    from ylg.ifg.metrics import format_table
    from ylg.ifg.reach import full_information_networkx
    from ylg.ifg.repair import check_grids

    moved = {
        "full_information_networkx": full_information_networkx,
        "format_table": format_table,
        "check_grids": check_grids,
    }
    assert not set(moved) & set(ylg.ifg.__all__)
    assert not [n for n in ylg.ifg.__all__ if n.endswith("_networkx")]
    for name, function in moved.items():
        with pytest.warns(DeprecationWarning, match=f"ylg.ifg.{name} moved to"):
            assert getattr(ylg.ifg, name) is function
    with pytest.raises(AttributeError):
        ylg.ifg.nothing_here  # noqa: B018
