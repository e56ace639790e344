"""Hypothesis feeds the public pattern and IFG functions arguments of any type and value
(issue 12, "past the list"): each either answers or raises YlgError, never another
exception, and answers fast on small inputs."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ylg.attention import head_masks
from ylg.errors import YlgError
from ylg.ifg import full_information, max_flow
from ylg.patterns import Masks, Pattern, load_pattern

CASES = int(os.environ.get("YLG_FUZZ_CASES", "100"))
SETTINGS = settings(max_examples=CASES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
STATS: dict[str, dict[str, int]] = {}

anything = st.deferred(
    lambda: st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(),
        st.text(max_size=12),
        st.binary(max_size=8),
        st.sampled_from(["ltr", "rtl", "ylg", "4x4", "3x3", "k <= q", "esa", "", "nan"]),
        st.just(math.nan),
        st.just(np.int64(3)),
        st.just(np.array([1, 2])),
        st.just(torch.tensor([1.0])),
        st.lists(anything, max_size=3),
        st.tuples(anything, anything),
        st.dictionaries(st.text(max_size=4), anything, max_size=2),
    )
)
small_grid = st.tuples(st.integers(1, 4), st.integers(1, 4))
grid_like = st.one_of(small_grid, small_grid.map(lambda t: f"{t[0]}x{t[1]}"), anything)
steps_like = st.one_of(
    st.lists(
        st.sampled_from(["k <= q", "k == q or k % s == 0", "qi == ki", "k < q"]),
        min_size=1,
        max_size=2,
    ),
    st.lists(st.text(max_size=10), max_size=2),
    anything,
)


def record(name: str, outcome: str) -> None:
    counts = STATS.setdefault(name, {})
    counts[outcome] = counts.get(outcome, 0) + 1


def call(name: str, fn, *args, **kwargs) -> object:  # noqa: ANN001
    try:
        out = fn(*args, **kwargs)
    except YlgError:
        record(name, "YlgError")
        return None
    record(name, "answered")
    return out


@pytest.fixture(scope="module", autouse=True)
def report() -> object:
    yield
    print(f"\nAPI fuzzer: {STATS}")


@given(anything)
@SETTINGS
def test_load_pattern(value: object) -> None:
    out = call("load_pattern", load_pattern, value)
    assert out is None or isinstance(out, Pattern)


@given(
    name=st.one_of(st.text(max_size=8), anything),
    description=st.one_of(st.just(""), anything),
    steps=steps_like,
    order=st.one_of(st.sampled_from(["esa", "rowmajor", "hilbert"]), anything),
    stride=st.one_of(st.just("isqrt(n)"), st.integers(-2, 5), anything),
    nonsquare=st.one_of(st.sampled_from(["repeat", "spatial", "direct"]), anything),
    meta=st.one_of(st.just({}), anything),
    grid=grid_like,
    query_grid=st.one_of(st.none(), grid_like),
)
@SETTINGS
def test_pattern_and_its_masks(
    name: object,
    description: object,
    steps: object,
    order: object,
    stride: object,
    nonsquare: object,
    meta: object,
    grid: object,
    query_grid: object,
) -> None:
    pattern = call("Pattern", Pattern, name, description, steps, order, stride, nonsquare, "", meta)
    if pattern is None:
        return
    text = call("Pattern.to_toml", pattern.to_toml)
    if text is not None:
        assert Pattern.from_toml(text).steps == pattern.steps
    masks = call("Pattern.on", pattern.on, grid, query_grid=query_grid)
    if masks is not None:
        call("Masks.dense", masks.dense)


def masks_strategy() -> st.SearchStrategy[Masks]:
    return st.builds(
        lambda name, grid, order: load_pattern(name).on(grid, order=order),
        st.sampled_from(["ltr", "rtl", "fixed", "strided", "axial", "star", "window", "dense"]),
        small_grid,
        st.sampled_from(["esa", "rowmajor", "hilbert", "zorder", "snake"]),
    )


@given(masks=st.one_of(masks_strategy(), anything), examples=st.one_of(st.integers(0, 5), anything))
@SETTINGS
def test_full_information(masks: object, examples: object) -> None:
    call("full_information", full_information, masks, examples=examples)


@given(
    masks=st.one_of(masks_strategy(), masks_strategy(), anything),
    sources=st.one_of(st.lists(st.integers(-1, 17), max_size=3), anything),
    sinks=st.one_of(st.lists(st.integers(-1, 17), max_size=3), anything),
)
@SETTINGS
def test_max_flow(masks: object, sources: object, sinks: object) -> None:
    out = call("max_flow", max_flow, masks, sources, sinks)
    if out is not None:
        assert out.value == len(out.bottleneck)


@given(
    pattern=st.one_of(
        st.sampled_from(["ylg", "ltr", "rtl", "star", "fixed"]),
        st.lists(st.sampled_from(["ltr", "rtl"]), min_size=1, max_size=2),
        st.text(max_size=8),
        anything,
    ),
    grid=grid_like,
    query_grid=st.one_of(st.none(), grid_like),
    heads=st.one_of(
        st.none(),
        st.lists(st.tuples(st.sampled_from(["ltr", "rtl"]), st.integers(-1, 2)), max_size=3),
        anything,
    ),
    num_heads=st.one_of(st.none(), st.integers(-1, 9), anything),
    order=st.one_of(st.none(), st.sampled_from(["esa", "rowmajor"]), st.text(max_size=6), anything),
    step_mode=st.one_of(st.sampled_from(["parallel", "sequential"]), st.text(max_size=8), anything),
    verify=st.one_of(st.booleans(), anything),
)
@SETTINGS
def test_head_masks(
    pattern: object,
    grid: object,
    query_grid: object,
    heads: object,
    num_heads: object,
    order: object,
    step_mode: object,
    verify: object,
) -> None:
    call(
        "head_masks",
        head_masks,
        pattern,
        grid=grid,
        query_grid=query_grid,
        heads=heads,
        num_heads=num_heads,
        order=order,
        step_mode=step_mode,
        verify=verify,
    )


@pytest.mark.parametrize("pattern", [5, [None], np.array([1]), {"ltr": 1}])
def test_head_masks_refuses_a_pattern_of_the_wrong_type(pattern: object) -> None:
    with pytest.raises(YlgError):
        head_masks(pattern, grid="4x4")  # type: ignore[arg-type]
