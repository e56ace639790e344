"""Masks built by tiles (whole tiles of pairs decided by interval arithmetic) against
every pair evaluated: the same CSR arrays, the same errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_ifg_strategies import random_masks, separable_masks

from ylg.errors import PatternError
from ylg.patterns import Masks, Pattern, load_pattern
from ylg.patterns.expr import STEP_VARIABLES, parse_expr
from ylg.patterns.intervals import decide
from ylg.patterns.masks import TILED_MIN_KEYS


def every_pair(masks: Masks, step: int) -> np.ndarray:
    """The reference: every pair evaluated, one query row at a time."""
    return np.stack([masks.rows(step, q, q + 1)[0] for q in range(masks.nq)])


def assert_same_tiled(masks: Masks, query_tile: int, key_tile: int) -> None:
    for step in range(masks.num_steps):
        reference = every_pair(masks, step)
        # Keys per query counted by the same tiles (decided tiles never evaluated).
        counted = [t.count(masks, step) for t in masks._tiles(step, query_tile, key_tile)]
        assert (np.concatenate(counted) == reference.sum(axis=1)).all()
        if not reference.any(axis=1).all():
            first = int(np.argmin(reference.any(axis=1)))
            with pytest.raises(PatternError, match=f"leaves query {first} .* with no key"):
                masks.csr_tiled(step, query_tile, key_tile)
            continue
        tiled = masks.csr_tiled(step, query_tile, key_tile)
        assert tiled.has_sorted_indices
        assert (tiled.toarray() == reference).all()


tiles = st.tuples(st.integers(1, 9), st.integers(1, 20))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_masks(), tiles)
def test_random_patterns_by_tiles_equal_every_pair(masks: Masks, tile: tuple[int, int]) -> None:
    assert_same_tiled(masks, *tile)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), tiles)
def test_separable_patterns_by_tiles_equal_every_pair(
    data: st.DataObject, tile: tuple[int, int]
) -> None:
    shape = tuple(data.draw(st.integers(1, 5)) for _ in range(data.draw(st.integers(1, 3))))
    assert_same_tiled(data.draw(separable_masks(shape)), *tile)


VIDEO = ["radial", "na", "dilated-na", "gna", "sta", "window", "axial", "ltr", "rtl", "star"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(VIDEO),
    st.tuples(st.integers(1, 5), st.integers(2, 6), st.integers(2, 6)),
    st.sampled_from(["rowmajor", "esa", "hilbert", "zorder"]),
    tiles,
    st.data(),
)
def test_library_video_patterns_by_tiles_equal_every_pair(
    name: str, shape: tuple[int, int, int], order: str, tile: tuple[int, int], data: st.DataObject
) -> None:
    pattern = load_pattern(name)
    small = {k: data.draw(st.integers(1, 4), label=k) for k in pattern.params}
    if name in ("na", "dilated-na", "gna", "sta"):
        small = {k: (v | 1 if k.startswith("win") else v) for k, v in small.items()}
        small = {k: (min(v, 1) if k.startswith("causal") else v) for k, v in small.items()}
    try:
        masks = pattern.with_params(small).on(shape, order=order)
    except PatternError:
        return  # parameters this grid refuses
    assert_same_tiled(masks, *tile)


def test_a_division_by_zero_raises_the_same_error_by_tiles() -> None:
    masks = Pattern("d", "", ("k == q or q // (k - 3) >= 0",)).on("8x8")
    with pytest.raises(PatternError) as plain:
        every_pair(masks, 0)
    with pytest.raises(PatternError) as tiled:
        masks.csr_tiled(0, 4, 8)
    assert str(tiled.value) == str(plain.value)


def test_a_query_without_keys_is_refused_by_tiles() -> None:
    masks = Pattern("gap", "", ("qi > 0 and abs(qi - ki) <= 1",)).on("8x8")
    with pytest.raises(PatternError, match="leaves query 0 .* with no key"):
        masks.csr_tiled(0, 4, 8)


def test_large_layouts_build_by_tiles_and_decide_most_of_a_video() -> None:
    """radial at 4x32x32 (4096 keys, the threshold): far frames' far rows are decided
    without a pair evaluated; the CSR equals the one with no tile decided."""
    masks = load_pattern("radial").on("4x32x32")
    assert masks.nk >= TILED_MIN_KEYS
    whole = masks.csr_tiled(0, masks.nq, masks.nk)  # one tile: nothing decided
    assert (masks.csr(0) != whole).nnz == 0
    e = masks.exprs[0]
    ranges = {k: (v, v) for k, v in masks.scalars.items()}
    ranges.update({"q": (0, 31), "qt": (0, 0), "qi": (0, 0), "qj": (0, 31)})
    starts = np.arange(0, masks.nk, 32)  # one key row per tile
    for name in ("k", "kt", "ki", "kj"):
        table = masks.table(name).astype(np.int64).ravel()
        ranges[name] = (np.minimum.reduceat(table, starts), np.maximum.reduceat(table, starts))
    always, never = decide(e, ranges)
    assert always[:32].all()  # the query's own frame
    assert never.sum() > len(starts) // 2  # most rows of other frames are out of reach


TEMPLATES = [
    "(q {a} k) {c} {v}",
    "q {c} k",
    "abs(q - k) {a} 3 {c} {v}",
    "min(q, k - 2) {a} max(q, 1) {c} {v}",
    "not (q {c} k) or abs(q - k) % 3 == 1",
    "(q - k) // (k + 3) {c} {v} and k {a} 2 != 0",
    "-q {a} (k % (q - 1)) {c} {v}",
]


@given(
    st.integers(-20, 20), st.integers(0, 8), st.integers(-20, 20), st.integers(0, 8),
    st.sampled_from(TEMPLATES), st.sampled_from(["+", "-", "*", "//", "%"]),
    st.sampled_from(["<", "<=", "==", "!=", ">", ">="]), st.integers(-30, 30),
)  # fmt: skip
def test_interval_decisions_hold_for_every_pair_of_the_box(
    a: int, da: int, b: int, db: int, template: str, arith: str, cmp: str, v: int
) -> None:
    """A tile decided true (false) has every pair true (false), and none that raises."""
    expr = parse_expr(template.format(a=arith, c=cmp, v=v), STEP_VARIABLES)
    always, never = decide(expr, {"q": (a, a + da), "k": (b, b + db)})
    values = set()
    for q, k in itertools.product(range(a, a + da + 1), range(b, b + db + 1)):
        try:
            values.add(bool(expr.evaluate({"q": q, "k": k})))
        except PatternError:
            values.add("raises")
    assert not (bool(always) and bool(never))
    if bool(always):
        assert values == {True}
    if bool(never):
        assert values == {False}


def test_keys_per_query_of_a_large_layout_are_counted_by_tiles_and_kept() -> None:
    masks = load_pattern("radial").on("4x32x32")
    assert masks.nk >= TILED_MIN_KEYS
    for step in range(masks.num_steps):
        per = masks.keys_per_query(step)
        assert (per == np.diff(masks.csr(step).indptr)).all()
        assert masks.keys_per_query(step) is per and not per.flags.writeable


def test_a_mask_too_large_for_memory_is_refused_before_it_is_built(tmp_path) -> None:
    """Under a 2.5 GB address-space limit, dense attention on 128x128 (268 million pairs)
    is refused at once with the estimate, not after filling the memory."""
    import resource
    import subprocess
    import sys

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2500 << 20, 2500 << 20))

    done = subprocess.run(
        [sys.executable, "-m", "ylg", "verify", "dense", "--grid", "128x128"],
        capture_output=True,
        text=True,
        preexec_fn=limit,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "attends about 2.68e+08 (query, key) pairs; its sparse mask needs" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
