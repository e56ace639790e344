"""Tiles on layouts of 1 and 3 axes: the planner and the per-order report against the
slow reference that permutes the dense mask, `ylg compare --tiles` and `ylg bench
tiles` on sequences and videos."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matplotlib import image as mpimg
from test_tiles import reference_tiles

from ylg.cli.main import main
from ylg.errors import PatternError
from ylg.figures import draw_order_tiles
from ylg.patterns import ORDERS, Layout, Pattern, load_pattern, ranks
from ylg.patterns.tiles import (
    PAD,
    _Coo,
    format_order_tiles,
    order_bases,
    order_slots,
    order_tiles,
    plan_step,
    tile_plan,
)

#: Steps that read the coordinates of every axis (t, i, j) or the enumeration (q, k).
STEPS = [
    "abs(qt - kt) <= 1 and abs(qi - ki) <= 1 and abs(qj - kj) <= 2",
    "k <= q and q - k < 5",
    "q // s == k // s or k % s == s - 1",
    "(qt + qi + qj) % 2 == (kt + ki + kj) % 2",
    "qt == kt or k == 0",
    "kj <= qj and abs(qt - kt) <= 1",
]


@st.composite
def nd_layouts(draw: st.DrawFn) -> Layout:
    """A small 1-D or 3-D layout, sometimes with a larger query grid."""
    if draw(st.booleans()):
        grid = (draw(st.integers(1, 30)),)
    else:
        grid = tuple(draw(st.integers(1, 4)) for _ in range(3))
    query = None
    if draw(st.booleans()):
        query = tuple(side * draw(st.integers(1, 2)) for side in grid)
    rule = draw(st.sampled_from(["repeat", "tile", "spatial"]))
    return Layout(grid, query, draw(st.sampled_from(list(ORDERS))), rule)


@st.composite
def cases(draw: st.DrawFn) -> tuple:
    layout = draw(nd_layouts())
    pattern = Pattern("p", "", (draw(st.sampled_from(STEPS)),))
    masks = pattern.on(layout)
    dense = masks.rows(0, 0, masks.nq)
    if not dense.any(axis=1).all():  # an empty softmax row: not a pattern ylg lays out
        dense[np.arange(masks.nq), 0] = True
    return masks, dense, draw(st.integers(1, 9))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_every_order_counts_the_tiles_the_reference_counts(case: tuple) -> None:
    masks, dense, t = case
    csr = sp.csr_array(dense)
    for name, (qo, ko) in order_bases(masks).items():
        plan = tile_plan(csr, t, qo, ko, name)
        assert (plan.nonempty, plan.full) == reference_tiles(dense, qo, ko, t), name
        # the order lays the tokens by their rank in it
        key_rank = ranks(name, masks.grid.shape)
        assert (np.diff(key_rank[ko]) > 0).all()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_the_planner_on_1d_and_3d_layouts_is_valid_and_never_worse(data: st.DataObject) -> None:
    layout = data.draw(nd_layouts())
    step = data.draw(st.sampled_from(STEPS))
    masks = Pattern("p", "", (step,)).on(layout)
    if not masks.keys_per_query(0).all():
        return  # a step with an empty row cannot be laid out
    t = data.draw(st.integers(1, 9))
    dense = masks.dense(0)
    plan = plan_step(masks, 0, t)
    for order, n in ((plan.query_order, masks.nq), (plan.key_order, masks.nk)):
        assert sorted(order[order >= 0].tolist()) == list(range(n))
    assert (plan.nonempty, plan.full) == reference_tiles(dense, plan.query_order, plan.key_order, t)
    [report] = order_tiles(masks, t, [0])
    assert report.best.nonempty == plan.nonempty  # the report's planner is the backend's
    for name in ORDERS:
        laid, planned = report.laid[name], report.planned[name]
        assert laid.nonempty == reference_tiles(dense, laid.query_order, laid.key_order, t)[0]
        assert (
            planned.nonempty == reference_tiles(dense, planned.query_order, planned.key_order, t)[0]
        )
        assert report.best.nonempty <= planned.nonempty <= laid.nonempty
        assert laid.padding == (0, 0)
    assert report.laid[report.fastest_order].nonempty == min(
        p.nonempty for p in report.laid.values()
    )


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_kept_products_count_what_a_fresh_count_does(data: st.DataObject) -> None:
    """The planner's cache of Tq @ M and M @ Tk: counts in any sequence of orders, with
    one side repeated or not, equal the reference."""
    nq, nk = data.draw(st.integers(1, 12)), data.draw(st.integers(1, 12))
    bits = data.draw(st.lists(st.booleans(), min_size=nq * nk, max_size=nq * nk))
    dense = np.array(bits, dtype=bool).reshape(nq, nk)
    coo = _Coo(sp.csr_array(dense))
    t = data.draw(st.integers(1, 5))

    def order(n: int) -> np.ndarray:
        perm = list(data.draw(st.permutations(range(n))))
        for _ in range(data.draw(st.integers(0, 3))):
            perm.insert(data.draw(st.integers(0, len(perm))), PAD)
        return np.array(perm, dtype=np.int64)

    qo, ko = order(nq), order(nk)
    for _ in range(6):
        move = data.draw(st.sampled_from(["q", "k", "both", "none"]))
        if move in ("q", "both"):
            qo = order(nq)
        if move in ("k", "both"):
            ko = order(nk)
        occupancy = coo.occupancy(order_slots(qo, nq), order_slots(ko, nk), len(qo), len(ko), t)
        assert int(np.count_nonzero(occupancy)) == reference_tiles(dense, qo, ko, t)[0]
        assert occupancy.sum() == dense.sum()


def test_video_neighbourhood_7x7x7_on_16x32x32() -> None:
    """The measured numbers of docs/patterns.md: NA 7x7x7 (NATTEN's clamped borders) on
    16,384 tokens, 128 x 128 tiles."""
    masks = load_pattern("na").on("16x32x32")
    [report] = order_tiles(masks, 128)
    laid = {o: p.nonempty for o, p in report.laid.items()}
    assert laid == {"rowmajor": 2464, "esa": 6872, "hilbert": 1978, "zorder": 2200, "snake": 2464}
    assert report.fastest_order == "hilbert" and report.best.nonempty == 1978
    assert report.best.dense_tiles == 128 * 128
    # a kernel cannot skip more than the pairs allow
    assert report.best.work_share >= report.best.pair_share


def test_a_1d_band_is_a_band_of_tiles_in_every_order() -> None:
    masks = Pattern("band", "", ("abs(qj - kj) <= 3",)).on("1024")
    [report] = order_tiles(masks, 128)
    assert {p.nonempty for p in report.laid.values()} == {8 + 2 * 7}  # 1-D orders coincide
    assert report.best.nonempty == 22


def test_report_errors() -> None:
    masks = load_pattern("ltr").on("4x4x4")
    with pytest.raises(PatternError, match="has 2 step"):
        order_tiles(masks, 16, [2])
    with pytest.raises(PatternError, match="tile size"):
        order_tiles(masks, 0)
    with pytest.raises(PatternError, match="at most"):
        order_tiles(load_pattern("na").on("64x64x64"), 128)


def test_the_table_puts_orders_side_by_side() -> None:
    masks = load_pattern("na").on("4x8x8", order="hilbert")
    report = order_tiles(masks, 32)
    text = format_order_tiles([("na", "hilbert", report)]).splitlines()
    assert text[0].split()[:9] == ["pattern", "order", "step", "tiles", *ORDERS]
    assert text[1].split()[:4] == ["na", "hilbert", "1", "laid"]
    assert text[2].split()[0] == "planned"
    md = format_order_tiles([("na", "hilbert", report)], markdown=True).splitlines()
    assert md[0].startswith("| pattern |") and len(md) == 4


# -- the command line ---------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def test_compare_tiles_json_and_figure(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    png = tmp_path / "tiles.png"
    args = ("compare", "na", "block-global", "--grid", "4x8x8", "--tiles", "--tile", "32")
    code, out, err = run(capsys, *args, "--json", "--figure", str(png))
    assert code == 0, err
    data = json.loads(out)  # stdout is the JSON alone
    assert [t["pattern"] for t in data["tiles"]] == ["na", "block-global"]
    step = data["tiles"][0]["steps"][0]
    masks = load_pattern("na").on("4x8x8")
    [report] = order_tiles(masks, 32)
    assert step["orders"]["hilbert"]["nonempty_tiles"] == report.laid["hilbert"].nonempty
    assert step["planner"]["nonempty_tiles"] == plan_step(masks, 0, 32).nonempty
    assert step["fastest_order"] == report.fastest_order and step["dense_tiles"] == 64
    assert set(step["orders"]) == set(ORDERS)
    assert mpimg.imread(png).shape[0] > 300


def test_compare_tiles_text_and_markdown(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "compare", "ltr", "--grid", "64", "--tiles", "--tile", "16")
    assert code == 0
    lines = out.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("non-empty 16 x 16 tiles"))
    assert lines[head + 1].split()[:4] == ["pattern", "order", "step", "tiles"]
    assert len(lines) == head + 2 + 4  # two steps, laid and planned each
    code, out, _ = run(capsys, "compare", "ltr", "--grid", "64", "--tiles", "--markdown")
    assert code == 0 and out.count("| pattern |") == 2


def test_compare_markdown_with_a_figure_keeps_stdout_to_the_tables(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``compare --markdown -o F.png > tables.md``: the path written goes to stderr."""
    png = tmp_path / "tiles.png"
    code, out, err = run(capsys, "compare", "ltr", "--grid", "64", "--markdown", "-o", str(png))
    assert code == 0 and png.is_file()
    assert "wrote" not in out and out.rstrip().endswith("|")
    assert err.strip() == f"wrote {png}"
    code, out, _ = run(capsys, "compare", "ltr", "--grid", "4x4x4")
    assert code == 0 and "non-empty" not in out  # no tiles unless asked


@pytest.mark.parametrize(
    "args, message",
    [
        (["--figure", "x.jpg"], ".png, .svg or .pdf"),
        (["--tiles", "--tile", "0"], "0"),
        (["--grid", "4x4x4x4", "--tiles"], "at most 3 axes"),
    ],
)
def test_compare_tiles_bad_input_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], message: str
) -> None:
    grid = [] if "--grid" in args else ["--grid", "4x4x4"]
    code, out, err = run(capsys, "compare", "na", *grid, *args)
    assert code == 2 and len(err.strip().splitlines()) == 1 and message in err
    assert "Traceback" not in err and not list(tmp_path.iterdir())


@pytest.mark.parametrize("grid", ["256", "4x16x16"])
def test_bench_tiles_on_sequences_and_videos(capsys: pytest.CaptureFixture[str], grid: str) -> None:
    code, out, err = run(capsys, "bench", "tiles", "na", "--grid", grid, "--tile", "64", "--json")
    assert code == 0, err
    [step] = json.loads(out)["steps"]
    masks = load_pattern("na").on(grid)
    assert step["nonempty_tiles"] == plan_step(masks, 0, 64).nonempty
    assert step["pair_share"] <= step["work_share"] <= 1


def test_bench_tiles_refuses_a_video_too_large_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "bench", "tiles", "na", "--grid", "64x64x64")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "at most" in err and "16x64x64 video" in err


def test_draw_order_tiles_bars_are_the_shares() -> None:
    masks = load_pattern("ltr").on("2x8x8")
    report = order_tiles(masks, 32)
    fig = draw_order_tiles([("ltr", report)])
    ax = fig.axes[0]
    wide = [p for p in ax.patches if p.get_width() > 0.1]
    narrow = [p for p in ax.patches if p.get_width() <= 0.1]
    expect_laid = [100 * e.laid[o].work_share for e in report for o in ORDERS]
    expect_planned = [100 * e.planned[o].work_share for e in report for o in ORDERS]
    assert np.allclose([p.get_height() for p in wide], expect_laid)
    assert np.allclose([p.get_height() for p in narrow], expect_planned)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels[: len(ORDERS)] == list(ORDERS)
    with pytest.raises(Exception, match="at least one report"):
        draw_order_tiles([])
