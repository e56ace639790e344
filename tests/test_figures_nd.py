"""Figures of sequences and videos: the images are read back and checked cell by cell
against the masks, enumerations and graphs they show."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from clirun import run
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib import image as mpimg
from matplotlib.patches import FancyArrowPatch
from test_figures import assert_drawn, close, count_markers, near, pixel, render

from ylg.errors import YlgError
from ylg.figures import draw_ifg, draw_masks, draw_orders, draw_query
from ylg.figures.cells import Canvas
from ylg.figures.orders import numbered
from ylg.figures.style import DARK_BLUE, NODE_FACE, RED, YELLOW, step_colour
from ylg.ifg import reachability
from ylg.patterns import Grid, Pattern, enumeration, load_pattern, ranks

CUBE = Pattern("cube", "", ("abs(qt - kt) <= 1 and abs(qi - ki) <= 1 and abs(qj - kj) <= 1",))


# -- the canvas ---------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 6), min_size=1, max_size=3), st.integers(1, 5))
def test_the_canvas_puts_every_cell_once_inside_its_frame(sides: list[int], per_row: int) -> None:
    grid = Grid(*sides)
    canvas = Canvas(grid, per_row)
    x, y = canvas.xy(np.arange(grid.size))
    rows, cols = canvas.shape
    assert (x >= 0).all() and (x < cols).all() and (y >= 0).all() and (y < rows).all()
    assert len(set(zip(x.tolist(), y.tolist()))) == grid.size
    image = canvas.image(np.arange(grid.size, dtype=float))
    assert np.array_equal(image[y.astype(int), x.astype(int)], np.arange(grid.size))
    assert np.isnan(image).sum() == rows * cols - grid.size  # the rest is the gaps
    t, h, w = grid.full_shape()
    for f, top, left in canvas.frame_boxes():
        cells = np.arange(f * h * w, (f + 1) * h * w)
        fx, fy = canvas.xy(cells)
        assert fx.min() == left and fy.min() == top and fx.max() == left + w - 1


# -- enumerations ---------------------------------------------------------------------------


@pytest.mark.parametrize("grid, orders", [("3x4x4", ("esa", "hilbert")), ("2x3x5", ("snake",))])
def test_video_orders_write_each_cells_rank_in_its_frame(grid: str, orders: tuple) -> None:
    g = Grid.parse(grid)
    fig = draw_orders(g, orders)
    im = render(fig)
    assert_drawn(im)
    canvas = Canvas(g)
    x, y = canvas.xy(np.arange(g.size))
    where = {(int(a), int(b)): p for p, (a, b) in enumerate(zip(x, y))}
    for ax, order in zip(fig.axes, orders):
        rank = ranks(order, g.shape)
        numbers = {}
        labels = []
        for text in ax.texts:
            if text.get_text().startswith("t="):
                labels.append(text.get_text())
                continue
            px, py = text.get_position()
            numbers[where[(round(px), round(py))]] = int(text.get_text())
        assert labels == [f"t={f}" for f in range(g.shape[0])]
        assert numbers == {p: int(rank[p]) for p in range(g.size)}
        # The solid path joins touching cells of a frame, a dotted one longer steps
        # inside a frame, and a dotted arc each move to another frame.
        path = enumeration(order, g.shape)
        t, i, j = np.unravel_index(path, g.shape)
        same = t[1:] == t[:-1]
        touching = same & (np.maximum(np.abs(np.diff(i)), np.abs(np.diff(j))) == 1)
        px, py = canvas.xy(path)
        lines = ax.get_lines()
        xs, ys = lines[0].get_xdata(), lines[0].get_ydata()
        drawn = {
            ((xs[k], ys[k]), (xs[k + 1], ys[k + 1]))
            for k in range(len(xs) - 1)
            if not (np.isnan(xs[k]) or np.isnan(xs[k + 1]))
        }
        wanted = {((px[k], py[k]), (px[k + 1], py[k + 1])) for k in np.flatnonzero(touching)}
        assert drawn == wanted and lines[0].get_linestyle() == "-"
        if (same & ~touching).any():
            assert lines[1].get_linestyle() != "-"
        arcs = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
        assert len(arcs) == int((~same).sum())
        first_x, first_y = canvas.xy(path[:1])
        assert near(fig, ax, im, first_x[0] - 0.5, first_y[0], RED)


def test_a_sequence_is_one_row_and_a_large_video_has_a_colour_bar() -> None:
    fig = draw_orders("9", ["rowmajor"])
    numbers = sorted(
        (round(t.get_position()[0]), round(t.get_position()[1]), t.get_text())
        for t in fig.axes[0].texts
    )
    assert numbers == [(j, 0, str(j)) for j in range(9)]
    assert fig.get_suptitle() == "Enumerations of a sequence of 9 tokens"
    big = draw_orders("16x32x32", ["hilbert"])
    assert not numbered(Grid(16, 32, 32)) and len(big.axes) == 2  # panel and colour bar
    assert [t.get_text() for t in big.axes[0].texts] == [f"t={f}" for f in range(16)]
    assert_drawn(render(big))
    with pytest.raises(YlgError, match="unreadable"):
        draw_orders("32x256x256")


# -- one query ------------------------------------------------------------------------------


def _cell_colours(fig, ax, im, canvas: Canvas) -> np.ndarray:  # noqa: ANN001
    x, y = canvas.xy(np.arange(canvas.grid.size))
    return np.array([pixel(fig, ax, im, a + 0.25, b + 0.25) for a, b in zip(x, y)])


@pytest.mark.parametrize(
    "pattern, grid, query",
    [(CUBE, "3x5x5", (1, 2, 3)), (load_pattern("ltr"), "2x4x4", (1, 0, 3)), (CUBE, "12", (7,))],
)
def test_query_panels_colour_every_key_of_every_frame(pattern, grid, query) -> None:  # noqa: ANN001
    masks = pattern.on(grid)
    fig = draw_query(masks, query)
    im = render(fig)
    assert_drawn(im)
    position = masks.query_grid.position(*query)
    canvas = Canvas(masks.grid)
    dense = masks.dense()
    reach = reachability(masks)[position] if masks.num_steps > 1 else None
    for t, ax in enumerate(fig.axes):
        row = dense[t, position] if t < masks.num_steps else reach
        colour = step_colour(t) if t < masks.num_steps else DARK_BLUE
        colours = _cell_colours(fig, ax, im, canvas)
        for k in range(masks.nk):
            assert close(colours[k], colour if row[k] else YELLOW), (t, k)
        qx, qy = canvas.xy(np.array([position]))
        assert near(fig, ax, im, qx[0] - 0.5, qy[0], RED)
    frames = [t.get_text() for t in fig.axes[0].texts]
    assert frames == (
        [f"t={f}" for f in range(masks.grid.shape[0])] if masks.grid.ndim == 3 else []
    )


def test_a_video_query_on_a_finer_query_grid_marks_its_share_of_the_frame() -> None:
    masks = CUBE.on("2x4x4", query_grid="4x8x8", nonsquare="spatial")
    fig = draw_query(masks, (3, 5, 2), reach=False)
    ax = fig.axes[0]
    [mark] = [
        p
        for p in ax.patches
        if p.get_edgecolor()[:3] == pytest.approx((0.839, 0.153, 0.157), abs=0.01)
    ]
    canvas = Canvas(masks.grid)
    top, left = canvas.origin(1)  # query frame 3 of 4 lies in key frame 1 of 2
    assert mark.get_xy() == (left + 1 - 0.5, top + 2.5 - 0.5)
    assert (mark.get_width(), mark.get_height()) == (0.5, 0.5)


def test_video_weights_and_their_errors() -> None:
    weights = np.zeros((2, 2, 3, 3))
    weights[0, 1, 2, 2] = 1.0
    fig = draw_query(weights, grid="2x3x3", query=(1, 2, 2))
    im = render(fig)
    canvas = Canvas(Grid(2, 3, 3))
    colours = _cell_colours(fig, fig.axes[0], im, canvas)
    assert not close(colours[17], colours[0], tol=0.3)  # the one weight shows
    assert len(fig.axes) == 4  # two panels and their colour bars
    with pytest.raises(YlgError, match="do not fit"):
        draw_query(np.ones((2, 17)), grid="2x3x3")
    with pytest.raises(YlgError, match="2-D key grid"):
        draw_query(np.ones((1, 18)), grid="2x3x3", image=np.ones((8, 8, 3)))
    with pytest.raises(YlgError, match=r"\(frame, row, column\)"):
        draw_query(CUBE.on("2x3x3"), (1, 1))
    with pytest.raises(YlgError, match="as many axes"):
        draw_query(np.ones((1, 18)), grid="2x3x3", query_grid="6x6", query=0)


# -- masks and graphs ---------------------------------------------------------------------


def test_video_masks_rule_the_frames() -> None:
    masks = CUBE.on("3x4x4", query_grid="6x4x4", nonsquare="spatial")
    fig = draw_masks(masks)
    lines = fig.axes[0].get_lines()
    vertical = sorted(
        {line.get_xdata()[0] for line in lines if line.get_xdata()[0] == line.get_xdata()[1]}
    )
    horizontal = sorted(
        {line.get_ydata()[0] for line in lines if line.get_ydata()[0] == line.get_ydata()[1]}
    )
    assert vertical == [15.5, 31.5]  # key frames of 16 cells
    assert horizontal == [15.5, 31.5, 47.5, 63.5, 79.5]  # six query frames
    assert_drawn(render(fig))
    assert not draw_masks(masks, by_order=True).axes[0].get_lines()


def test_a_small_video_graph_groups_its_nodes_by_frame() -> None:
    masks = load_pattern("ltr").on("2x2x3", order="rowmajor")
    fig = draw_ifg(masks, missing=True)
    im = render(fig)
    assert count_markers(im, NODE_FACE) == 3 * 12
    labels = [t.get_text() for t in fig.axes[0].texts if t.get_text().startswith("t=")]
    assert labels == ["t=0", "t=1"]
    with pytest.raises(YlgError, match="unreadable"):
        draw_ifg(CUBE.on("4x8x8"))


# -- the command line -----------------------------------------------------------------------


def test_draw_commands_on_videos_and_sequences(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for args, name in [
        (("order", "--grid", "2x4x4", "--order", "hilbert"), "orders-2x4x4-hilbert-order.png"),
        (
            ("query", "window", "--grid", "2x8x8", "--query", "1,4,4"),
            "window-2x8x8-rowmajor-query.png",
        ),
        (("query", "ltr", "--grid", "64", "--query", "40"), "ltr-64-esa-query.png"),
        (("mask", "ltr", "--grid", "2x4x4"), "ltr-2x4x4-esa-mask.png"),
        (("ifg", "ltr", "--grid", "2x2x2"), "ltr-2x2x2-esa-ifg.png"),
        (("tiles", "na", "--grid", "4x8x8", "--tile", "32"), "na-4x8x8-rowmajor-tiles.png"),
    ]:
        code, out, err = run(capsys, "draw", *args)
        assert code == 0, err
        assert out.strip() == f"wrote {name}"
        assert_drawn(mpimg.imread(tmp_path / name)[..., :3])


@pytest.mark.parametrize(
    "args, message",
    [
        (("ifg", "ltr", "--grid", "4x8x8"), "unreadable (at most 64)"),
        (("query", "ltr", "--grid", "4x8x8", "--query", "1,2"), "t,i,j"),
        (("order", "--grid", "64x256x256"), "unreadable"),
    ],
)
def test_draw_bad_video_input_is_one_line(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple,
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "draw", *args)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert message in err and not list(tmp_path.iterdir())
