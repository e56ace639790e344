"""ylg.ifg.metrics: counts, locality and hops against plain loops."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_ifg_strategies import random_masks, separable_masks

from ylg.ifg import full_information
from ylg.ifg.layers import step_matrices
from ylg.ifg.metrics import (
    format_table,
    hops_by_axis_groups,
    hops_to_full_information,
    metrics,
    step_metrics,
)
from ylg.patterns import Masks, Pattern, load_pattern


def slow_step_metrics(masks: Masks, step: int) -> tuple:
    dense = masks.dense(step)
    hq, wq = masks.query_grid.height, masks.query_grid.width
    h, w = masks.grid.height, masks.grid.width
    dists = []
    for q in range(masks.nq):
        qi, qj = divmod(q, wq)
        for k in np.flatnonzero(dense[q]):
            ki, kj = divmod(int(k), w)
            dists.append(math.hypot(qi * h / hq - ki, qj * w / wq - kj))
    per = dense.sum(axis=1)
    return (
        int(dense.sum()),
        per.min(),
        per.mean(),
        per.max(),
        float(np.mean(dists)),
        float(np.max(dists)),
    )


@settings(max_examples=40, deadline=None)
@given(random_masks())
def test_step_metrics_equal_plain_loops(masks: Masks) -> None:
    for step in range(masks.num_steps):
        got = step_metrics(masks, step)
        ones, kmin, kmean, kmax, dmean, dmax = slow_step_metrics(masks, step)
        assert (got.ones, got.keys_min, got.keys_max) == (ones, kmin, kmax)
        assert got.keys_mean == pytest.approx(kmean)
        assert got.density == pytest.approx(ones / (masks.nq * masks.nk))
        assert got.distance_mean == pytest.approx(dmean)
        assert got.distance_max == pytest.approx(dmax)


def slow_hops(masks: Masks, limit: int = 400) -> int | None:
    mats = [m.toarray().astype(np.int64) for m in step_matrices(masks.square_on_keys())]
    reach = mats[0]
    for hop in range(1, limit + 1):
        if hop > 1:
            reach = np.minimum(mats[(hop - 1) % len(mats)] @ reach, 1)
        if reach.all():
            return hop
    return None


@settings(max_examples=40, deadline=None)
@given(random_masks())
def test_hops_equal_repeated_dense_products(masks: Masks) -> None:
    hops, why = hops_to_full_information(step_matrices(masks.square_on_keys()))
    expected = slow_hops(masks)
    assert hops == expected
    assert (why == "") == (hops is not None)
    if hops is None:
        assert why == "never"


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_hops_by_axis_groups_equal_repeated_dense_products(data: st.DataObject) -> None:
    """Per group of axes (separable steps) or whole (any other pattern): the same hops."""
    if data.draw(st.booleans()):
        shape = tuple(data.draw(st.integers(1, 4)) for _ in range(data.draw(st.integers(1, 3))))
        masks = data.draw(separable_masks(shape))
    else:
        masks = data.draw(random_masks(nonsquare=False))
    hops, why = hops_by_axis_groups(masks)
    assert hops == slow_hops(masks)
    assert why == ("" if hops is not None else "never")


def test_hops_of_a_video_window_are_counted_per_axis() -> None:
    """16x32x32 has 27.6 million pairs in its one step: too much work for the hops on the
    whole grid, little per axis (radius 4 in time, 8 in space: 4 hops to cross)."""
    m = metrics(load_pattern("window").on("16x32x32"))
    assert (m.hops, m.hops_note, m.full_information) == (4, "", False)

    def band(side: int, r: int) -> int:
        return sum(min(side - 1, x + r) - max(0, x - r) + 1 for x in range(side))

    assert m.steps[0].ones == band(16, 4) * band(32, 8) ** 2


def test_hops_of_library_patterns() -> None:
    hops = {
        name: metrics(load_pattern(name).on("8x8")).hops
        for name in ("dense", "ltr", "rtl", "axial", "star", "fixed", "window", "strided")
    }
    # window: radius max(1, 8 // 4) = 2 cells a hop, 7 cells to cross.
    assert hops == {
        "dense": 1, "ltr": 2, "rtl": 2, "axial": 2, "star": 2,
        "fixed": None, "window": 4, "strided": 4,
    }  # fmt: skip


def test_metrics_report_full_information_and_serialise() -> None:
    for name in ("ltr", "fixed", "strided-fi"):
        masks = load_pattern(name).on("8x8")
        m = metrics(masks)
        assert m.full_information == full_information(masks).holds
        assert json.loads(json.dumps(m.to_dict()))["steps"][0]["step"] == 1
    sagan = metrics(load_pattern("ltr").on("8x8", query_grid="16x16"))
    assert sagan.full_information and sagan.steps[0].ones == 4 * 288


def test_compact_enumerations_make_the_first_step_local() -> None:
    # The paper's Fig. 3 argument in numbers: the same counts, shorter distances.
    rows = {
        o: metrics(load_pattern("ltr").on("32x32", order=o))
        for o in ("rowmajor", "esa", "hilbert", "zorder")
    }
    ones = {o: [s.ones for s in m.steps] for o, m in rows.items()}
    assert len({tuple(v) for v in ones.values()}) == 1
    first = {o: m.steps[0].distance_mean for o, m in rows.items()}
    assert first["hilbert"] < first["esa"] < first["rowmajor"]
    assert first["hilbert"] < 0.4 * first["rowmajor"]
    assert rows["hilbert"].steps[0].distance_max < rows["esa"].steps[0].distance_max


def test_table_lists_every_step() -> None:
    results = [metrics(load_pattern(p).on("4x4")) for p in ("ltr", "window")]
    text = format_table(results)
    lines = text.splitlines()
    assert len(lines) == 1 + 3 and lines[0].startswith("pattern")
    assert "never" not in text and lines[1].split()[:3] == ["ltr", "esa", "1"]
    md = format_table(results, markdown=True).splitlines()
    assert md[0].startswith("| pattern |") and md[1].startswith("|---|") and len(md) == 5


def test_hops_give_up_on_work_and_rounds() -> None:
    mats = step_matrices(Pattern("shift", "", ("k == (q + 1) % n or k == q",)).on("4x4"))
    assert hops_to_full_information(mats) == (15, "")
    assert hops_to_full_information(mats, max_rounds=5) == (None, "more than 5")
    assert hops_to_full_information(mats, max_work=1) == (None, "too large")
    hop = mats[0].nnz  # word operations of one hop on 16 tokens (one word a row)
    assert hops_to_full_information(mats, max_work=14 * hop) == (15, "")  # hops 2..15
    assert hops_to_full_information(mats, max_work=13 * hop) == (None, "too large")  # in all


def hops_by_dense_products(masks: Masks, limit: int = 40) -> int | None:
    """The reference: the first hop h whose reach (h - 1 steps on the key grid, cycled,
    then step h laid on the layout) is full, by dense integer products."""
    inner = [m.toarray().astype(np.int64) for m in step_matrices(masks.square_on_keys())]
    laid = [masks.csr(t).toarray().astype(np.int64) for t in range(masks.num_steps)]
    reach = np.eye(masks.nk, dtype=np.int64)
    for hop in range(1, limit + 1):
        if ((laid[(hop - 1) % len(laid)] @ reach) > 0).all():
            return hop
        reach = (inner[(hop - 1) % len(inner)] @ reach > 0).astype(np.int64)
    return None


@settings(max_examples=60, deadline=None)
@given(
    random_masks(max_side=3, max_steps=2, nonsquare=False),
    st.sampled_from(["direct", "spatial", "tile", "repeat"]),
    st.integers(1, 16),
)
def test_hops_count_the_last_hop_on_the_layout(first: Masks, rule: str, queries: int) -> None:
    masks = first.pattern.on((first.nk,), query_grid=(queries,), order="rowmajor", nonsquare=rule)
    found = metrics(masks)
    assert found.hops == hops_by_dense_products(masks)
    assert found.full_information == full_information(masks).holds
