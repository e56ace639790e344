"""Exports: NATTEN arguments of a pattern's masks (checked against NATTEN's semantics
written independently from its documentation, tests/natten_reference.py), FlexAttention
BlockMasks on any layout, ``ylg export --format natten``, and the docs' examples."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from natten_reference import natten_reference_mask

from ylg.attention.export import (
    block_mask,
    mask_mod,
    tile_counts,
    tile_occupancy,
    token_permutation,
)
from ylg.errors import PatternError
from ylg.patterns import Pattern, load_npz, load_pattern
from ylg.patterns.natten import natten_arguments, natten_function, natten_mask

AXES = ("t", "i", "j")
DOC = Path(__file__).resolve().parent.parent / "docs" / "patterns.md"


def params_for(ndim: int, **per_axis: list[int]) -> dict[str, int]:
    return {
        f"{name}_{axis}": int(value)
        for name, values in per_axis.items()
        for axis, value in zip(AXES[3 - ndim :], values)
    }


@st.composite
def natten_problems(draw):
    """A token layout of 1 to 3 axes and arguments NATTEN accepts on it."""
    ndim = draw(st.integers(1, 3))
    shape, kernel, stride, dilation, causal = [], [], [], [], []
    for _ in range(ndim):
        n = draw(st.integers(1, 9 if ndim < 3 else 5))
        d = draw(st.integers(1, n))
        k = draw(st.integers(1, n // d))
        shape.append(n)
        dilation.append(d)
        kernel.append(k)
        stride.append(draw(st.integers(1, k)))
        causal.append(draw(st.booleans()))
    return tuple(shape), kernel, stride, dilation, causal


# -- NATTEN semantics ---------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(problem=natten_problems())
def test_gna_masks_equal_nattens_and_the_arguments_come_back(problem):
    shape, kernel, stride, dilation, causal = problem
    ndim = len(shape)
    params = params_for(
        ndim, win=kernel, stride=stride, dil=dilation, causal=[int(c) for c in causal]
    )
    masks = load_pattern("gna").with_params(params).on(shape)
    expected = natten_reference_mask(shape, kernel, stride, dilation, causal)
    assert np.array_equal(masks.dense(0), expected)
    args = natten_arguments(masks)
    assert set(args) == {"kernel_size", "stride", "dilation", "is_causal"}
    assert all(len(v) == ndim for v in args.values())
    # The arguments found give the same mask (several may: the smallest stride and
    # bidirectional are preferred), and the kernel size is always the pattern's.
    assert np.array_equal(natten_reference_mask(shape, **args), expected)
    assert list(args["kernel_size"]) == kernel
    assert natten_function(masks) == f"na{ndim}d"


@settings(max_examples=100, deadline=None)
@given(problem=natten_problems())
def test_ylg_natten_mask_is_the_reference(problem):
    shape, kernel, stride, dilation, causal = problem
    assert np.array_equal(
        natten_mask(shape, kernel, stride, dilation, causal),
        natten_reference_mask(shape, kernel, stride, dilation, causal),
    )


def bidirectional(*kernel: int, stride=None, dilation=None) -> tuple[tuple, ...]:
    ones = (1,) * len(kernel)
    return (kernel, stride or ones, dilation or ones, (False,) * len(kernel))


@pytest.mark.parametrize(
    ("name", "grid", "params", "expected"),
    [
        ("na", "9x11", {"win_i": 3, "win_j": 4}, bidirectional(3, 4)),
        ("na", "4x6x6", {"win_t": 3, "win_i": 5, "win_j": 5}, bidirectional(3, 5, 5)),
        ("dilated-na", "12", {"win_j": 3, "dil_j": 4}, bidirectional(3, dilation=(4,))),
        (
            "dilated-na",
            "9x10",
            {"win_i": 3, "win_j": 2, "dil_i": 3, "dil_j": 4},
            bidirectional(3, 2, dilation=(3, 4)),
        ),
        (
            "gna",
            "8x12",
            {"win_i": 4, "win_j": 6, "stride_i": 2, "stride_j": 3},
            bidirectional(4, 6, stride=(2, 3)),
        ),
        ("gna", "10", {"win_j": 5, "stride_j": 2, "causal_j": 1}, ((5,), (2,), (1,), (True,))),
        (
            "sta",
            "12x16",
            {"tile_i": 4, "tile_j": 4, "win_i": 1, "win_j": 3},
            bidirectional(4, 12, stride=(4, 4)),
        ),
        ("dense", "3x5", {}, bidirectional(3, 5)),
        ("axial", "1x5", {}, bidirectional(1, 5)),
    ],
)
def test_library_patterns_give_their_natten_arguments(name, grid, params, expected):
    masks = load_pattern(name).with_params(params).on(grid)
    args = natten_arguments(masks)
    assert tuple(args.values()) == expected
    assert np.array_equal(natten_reference_mask(masks.grid.shape, *expected), masks.dense(0))


def test_a_step_written_on_the_enumeration_is_checked_pair_by_pair():
    # 1-D NA written with q and k (row-major): not an 'and' of one-axis clauses
    p = Pattern("na1d-by-rank", "", ("0 <= k - max(0, min(q - 2, n - 5)) < 5",))
    assert natten_arguments(p.on("12"))["kernel_size"] == (5,)
    assert natten_arguments(p.on("12", order="snake"))["kernel_size"] == (5,)  # 1 row


def test_refusals_say_why_in_one_line():
    na = load_pattern("na").with_params(win_i=3, win_j=3)
    cases = [
        (na.on("8x8", query_grid="16x16", nonsquare="spatial"), "not one"),
        (load_pattern("ltr").on("4x4"), "no NATTEN arguments give this mask"),
        (load_pattern("window").on("8x8"), "no kernel_size, stride and is_causal give"),
        (load_pattern("radial").with_params(radius=2, min_radius=0).on("4x7x7"), "no NATTEN"),
        (load_pattern("block-global").with_params(block_i=4, block_j=4).on("8x8"), "no NATTEN"),
        (load_pattern("dilated-na").with_params(win_j=3, dil_j=3).on("7"), "dilation * kernel"),
    ]  # fmt: skip
    for masks, words in cases:
        with pytest.raises(PatternError, match=re.escape(words)) as info:
            natten_arguments(masks)
        assert "\n" not in str(info.value)
    # projections that are NATTEN windows, but no product of them: checked and refused
    na_i = "0 <= ki - max(0, min(qi - 1, h - 3)) < 3"
    na_j = "0 <= kj - max(0, min(qj - 1, w - 3)) < 3"
    tricky = Pattern(
        "tricky", "", (f"{na_i} and {na_j} and (qi == 0 or qj == 0 or ki != qi or kj == qj)",)
    )
    with pytest.raises(PatternError, match="not a product of one window per axis"):
        natten_arguments(tricky.on("5x5"))
    with pytest.raises(PatternError, match="no step 2"):
        natten_arguments(na.on("4x4"), step=1)


# -- FlexAttention --------------------------------------------------------------------


LAYOUTS = [
    ("na", {"win_j": 5}, "37", None, 16),
    ("na", {"win_i": 3, "win_j": 3}, "10x10", None, 16),
    ("gna", {"win_t": 2, "win_i": 4, "stride_i": 2, "causal_j": 1}, "3x6x7", None, (32, 16)),
    ("ltr", {}, "6x6", "12x12", 32),
    ("block-global", {"globals": 3}, "4x8x8", None, 64),
    ("radial", {"radius": 2}, "5x4x4", None, 24),
]


def padded_occupancy(dense: np.ndarray, tq: int, tk: int) -> np.ndarray:
    nq, nk = dense.shape
    pad = np.zeros((-(-nq // tq) * tq, -(-nk // tk) * tk), dtype=np.int64)
    pad[:nq, :nk] = dense
    return pad.reshape(pad.shape[0] // tq, tq, pad.shape[1] // tk, tk).sum(axis=(1, 3))


@pytest.mark.parametrize(("name", "params", "grid", "query_grid", "tile"), LAYOUTS)
def test_block_mask_tables_are_the_masks_tiles(name, params, grid, query_grid, tile):
    masks = load_pattern(name).with_params(params).on(grid, query_grid=query_grid)
    step = masks.num_steps - 1
    dense = masks.dense(step)
    tq, tk = (tile, tile) if isinstance(tile, int) else tile
    bm = block_mask(masks, step, tile=tile)
    assert bm.seq_lengths == (masks.nq, masks.nk) and tuple(bm.BLOCK_SIZE) == (tq, tk)
    used = padded_occupancy(dense, tq, tk)
    held = padded_occupancy(np.ones_like(dense), tq, tk)
    partial = np.zeros_like(used, dtype=bool)
    full = np.zeros_like(used, dtype=bool)
    for row in range(used.shape[0]):
        partial[row, bm.kv_indices[0, 0, row, : bm.kv_num_blocks[0, 0, row]].numpy()] = True
        n_full = bm.full_kv_num_blocks[0, 0, row]
        full[row, bm.full_kv_indices[0, 0, row, :n_full].numpy()] = True
    assert not (partial & full).any()
    assert np.array_equal(partial | full, used > 0)  # every tile with a pair, no other
    assert np.array_equal(full, (used == held) & (used > 0))  # full: no mask_mod needed
    assert np.array_equal(tile_occupancy(masks, step, tile)[0], used)
    counts = tile_counts(masks, step, tile)
    assert counts == {"tiles": used.size, "partial": int(partial.sum()), "full": int(full.sum())}
    # the predicate, pair by pair, and false past the token counts
    f = mask_mod(masks, step)
    q = torch.arange(masks.nq + 3)[:, None]
    k = torch.arange(masks.nk + 2)[None, :]
    got = f(0, 0, q, k).numpy()
    assert np.array_equal(got[: masks.nq, : masks.nk], dense)
    assert not got[masks.nq :].any() and not got[:, masks.nk :].any()


def dense_attention(q, k, v, mask):
    scores = (q @ k.transpose(-1, -2)) * q.shape[-1] ** -0.5
    scores = scores.masked_fill(~torch.from_numpy(mask), float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


@pytest.mark.parametrize(("name", "params", "grid", "query_grid", "tile"), LAYOUTS[:4])
def test_flex_attention_with_the_block_mask_is_masked_attention(
    name, params, grid, query_grid, tile
):
    from torch.nn.attention.flex_attention import flex_attention

    masks = load_pattern(name).with_params(params).on(grid, query_grid=query_grid)
    gen = torch.Generator().manual_seed(0)
    q = torch.randn(2, 3, masks.nq, 8, generator=gen, dtype=torch.float64)
    k = torch.randn(2, 3, masks.nk, 8, generator=gen, dtype=torch.float64)
    v = torch.randn(2, 3, masks.nk, 4, generator=gen, dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # eager: the unfused reference path
        out = flex_attention(q, k, v, block_mask=block_mask(masks, tile=tile))
    torch.testing.assert_close(out, dense_attention(q, k, v, masks.dense(0)))


@pytest.mark.slow
def test_compiled_flex_skips_only_empty_tiles():
    """The compiled kernel reads the block tables (the eager path ignores them): a tile
    wrongly left out, or wrongly marked full, would change the output."""
    from torch.nn.attention.flex_attention import flex_attention

    masks = load_pattern("block-global").with_params(block_j=16, globals=2).on("70")
    bm = block_mask(masks, tile=16)
    assert tile_counts(masks, tile=16) == {"tiles": 25, "partial": 8, "full": 5}
    gen = torch.Generator().manual_seed(1)
    q, k, v = (torch.randn(1, 2, 70, 16, generator=gen) for _ in range(3))
    out = torch.compile(flex_attention, dynamic=False)(q, k, v, block_mask=bm)
    expected = dense_attention(q.double(), k.double(), v.double(), masks.dense(0))
    torch.testing.assert_close(out.double(), expected, atol=1e-5, rtol=1e-5)


def test_block_mask_takes_an_exported_file_and_refuses_bad_tiles(tmp_path):
    masks = load_pattern("sta").with_params(tile_i=2, tile_j=2).on("6x6")
    path = tmp_path / "sta.npz"
    masks.save_npz(path)
    from_file = block_mask(load_npz(path), tile=8)
    direct = block_mask(masks, tile=8)
    assert torch.equal(from_file.to_dense(), direct.to_dense())
    for bad in (0, -4, (8,), (8, 0), 2.5, True):
        with pytest.raises(PatternError, match="the tile is a positive integer"):
            block_mask(masks, tile=bad)
    with pytest.raises(PatternError, match="give the masks of a pattern"):
        block_mask("sta")


# -- the command line ---------------------------------------------------------------------


def ylg(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ylg", *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )


def test_export_format_natten_prints_the_call(tmp_path):
    out = ylg(
        "export", "gna", "--grid", "8x16x16", "--param", "win_t=3", "--param", "stride_t=1",
        "--param", "causal_t=1", "--format", "natten",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["function"] == "na3d" and report["token_layout"] == [8, 16, 16]
    assert report["steps"] == [
        {
            "kernel_size": [3, 8, 8],
            "stride": [1, 4, 4],
            "dilation": [1, 1, 1],
            "is_causal": [True, False, False],
        }
    ]
    assert '"kernel_size": [3, 8, 8]' in out.stdout  # lists of numbers on one line
    path = tmp_path / "na.json"
    written = ylg("export", "na", "-g", "20", "--format", "natten", "-o", str(path))
    assert written.returncode == 0 and json.loads(path.read_text())["steps"][0] == {
        "kernel_size": [7], "stride": [1], "dilation": [1], "is_causal": [False]
    }  # fmt: skip
    assert not list(tmp_path.glob("*.npz"))


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["ltr", "-g", "4x4"], "no NATTEN arguments give this mask"),
        (["na", "-g", "4x4", "--query-grid", "8x8"], "NATTEN attends within one token layout"),
        (["gna", "-g", "8", "--param", "stride_j=0"], "division by zero"),
        (["na", "-g", "8", "--param", "kernel=3"], "has no parameter 'kernel'"),
    ],
)
def test_export_format_natten_refuses_in_one_line(args, words):
    out = ylg("export", *args, "--format", "natten")
    assert out.returncode == 2
    assert words in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert out.stdout == ""


def test_export_npz_is_unchanged_by_the_format_option(tmp_path):
    out = ylg("export", "na", "-g", "4x4", "--format", "npz", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    exported = load_npz(tmp_path / "na-4x4-rowmajor.npz")
    assert np.array_equal(exported.masks, load_pattern("na").on("4x4").dense())


# -- the docs ----------------------------------------------------------------------------


def section_blocks(title: str) -> list[str]:
    """The python blocks of one '## ' section of docs/patterns.md."""
    text = DOC.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return re.findall(r"```python\n(.*?)```", text[start : end if end > 0 else None], flags=re.S)


@pytest.mark.parametrize("title", ["Local and video patterns", "Exports: FlexAttention and NATTEN"])
def test_the_docs_examples_run(tmp_path, title):
    blocks = section_blocks(title)
    assert blocks
    script = tmp_path / "example.py"
    script.write_text("\n".join(blocks))
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("order", ["hilbert", "snake", "zorder", "esa"])
@pytest.mark.parametrize(("grid", "query_grid"), [("4x6x6", None), ("3x4", "6x8"), ("20", None)])
def test_a_block_mask_in_another_token_order_is_the_permuted_mask(order, grid, query_grid):
    masks = (
        load_pattern("na").with_params(win_t=3, win_i=3, win_j=3).on(grid, query_grid=query_grid)
    )
    perm_q, perm_k = token_permutation(masks, order)
    permuted = masks.dense(0)[np.ix_(perm_q, perm_k)]
    bm = block_mask(masks, tile=16, token_order=order)
    dense = bm.to_dense()[0, 0].numpy().astype(bool)  # tiles visited, [q tiles, k tiles]
    nq, nk = permuted.shape
    for a in range(dense.shape[0]):
        for b in range(dense.shape[1]):
            block = permuted[a * 16 : (a + 1) * 16, b * 16 : (b + 1) * 16]
            assert dense[a, b] == block.any()
    f = bm.mask_mod
    q = torch.arange(nq)[:, None]
    k = torch.arange(nk)[None, :]
    assert np.array_equal(f(0, 0, q, k).numpy(), permuted)
    counts = tile_counts(masks, tile=16, token_order=order)
    assert counts["partial"] + counts["full"] == int(dense.sum())
