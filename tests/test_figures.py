"""ylg.figures: the images are read back and checked for what they show."""

from __future__ import annotations

import io
import os
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib import image as mpimg
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from scipy import ndimage

from ylg.errors import YlgError
from ylg.figures import draw_ifg, draw_masks, draw_orders, draw_query, figure_bytes, save_figure
from ylg.figures.ifg import reaching_nodes
from ylg.figures.masks import pooled_masks
from ylg.figures.query import query_reach
from ylg.figures.style import DARK_BLUE, NODE_FACE, RED, YELLOW, new_figure, step_colour
from ylg.ifg import build_graph, full_information, reachability
from ylg.ifg.layers import step_matrices
from ylg.patterns import Pattern, enumeration, load_pattern, ranks

# -- reading images back ----------------------------------------------------------------


def render(fig: Figure) -> np.ndarray:
    """The figure as PNG, read back: float RGB ``[H, W, 3]`` in [0, 1]."""
    return mpimg.imread(io.BytesIO(figure_bytes(fig, "png")))[..., :3]


def assert_drawn(im: np.ndarray) -> None:
    """Fail on a blank or near one-colour image."""
    rgb = np.round(im.reshape(-1, 3) * 255).astype(np.int32)
    flat = (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]
    colours, counts = np.unique(flat, return_counts=True)
    assert len(colours) >= 3, "the image has fewer than 3 colours"
    assert counts.max() < 0.97 * len(flat), "one colour covers almost the whole image"


def pixel(fig: Figure, ax: Axes, im: np.ndarray, x: float, y: float) -> np.ndarray:
    """Colour of the rendered image at data point ``(x, y)`` of ``ax`` (after render)."""
    px, py = ax.transData.transform((x, y))
    row, col = int(im.shape[0] - py), int(px)
    return im[row, col]


def near(fig: Figure, ax: Axes, im: np.ndarray, x: float, y: float, colour: str) -> bool:
    """Whether ``colour`` is within two pixels of data point ``(x, y)``: thin lines."""
    px, py = ax.transData.transform((x, y))
    row, col = int(im.shape[0] - py), int(px)
    patch = im[max(0, row - 2) : row + 3, max(0, col - 2) : col + 3].reshape(-1, 3)
    return any(close(c, colour, tol=0.1) for c in patch)


def close(colour: np.ndarray, name: str, tol: float = 0.03) -> bool:
    return bool(np.abs(colour - np.array(to_rgb(name))).max() <= tol)


def count_markers(im: np.ndarray, colour: str) -> int:
    """Blobs of ``colour`` about as large as the typical blob: the node markers."""
    mask = np.abs(im - np.array(to_rgb(colour))).max(axis=2) < 0.06
    labels, n = ndimage.label(mask)
    if n == 0:
        return 0
    sizes = np.asarray(ndimage.sum(mask, labels, range(1, n + 1)))
    typical = np.median(sizes[sizes > 0.2 * sizes.max()])
    return int((sizes >= 0.5 * typical).sum())


def test_blank_and_one_colour_images_fail_the_check() -> None:
    with pytest.raises(AssertionError):
        assert_drawn(render(new_figure(2, 2)))
    one = np.zeros((50, 50, 3))
    one[0, :3] = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    with pytest.raises(AssertionError):
        assert_drawn(one)


# -- masks ----------------------------------------------------------------------------


def test_ltr_9_tokens_every_cell_has_the_papers_colour() -> None:
    masks = load_pattern("ltr").on("3x3", order="rowmajor")
    m1, m2 = masks.dense()
    fig = draw_masks(masks)
    im = render(fig)
    assert_drawn(im)
    ax = fig.axes[0]
    expected = {(1, 1): DARK_BLUE, (1, 0): step_colour(0), (0, 1): step_colour(1), (0, 0): YELLOW}
    for q in range(9):
        for k in range(9):
            assert close(pixel(fig, ax, im, k, q), expected[(m1[q, k], m2[q, k])]), (q, k)
    # the cells the paper's Fig. 2b shows, by name
    assert close(pixel(fig, ax, im, 0, 0), DARK_BLUE)  # 0 attends 0 in both steps
    assert close(pixel(fig, ax, im, 0, 1), step_colour(0))  # 1 attends 0 in step 1 only
    assert close(pixel(fig, ax, im, 8, 0), step_colour(1))  # 0 attends 8 in step 2 only
    assert close(pixel(fig, ax, im, 1, 0), YELLOW)  # 0 never attends 1
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["both steps", "step 1 only", "step 2 only", "not attended"]


def test_per_step_panels_use_each_steps_colour() -> None:
    masks = load_pattern("fixed").on("4x4")
    dense = masks.dense()
    fig = draw_masks(masks, per_step=True)
    im = render(fig)
    assert_drawn(im)
    assert [ax.get_title() for ax in fig.axes] == ["step 1", "step 2"]
    for t, ax in enumerate(fig.axes):
        for q, k in [(0, 0), (5, 3), (15, 15), (15, 0), (2, 14)]:
            want = step_colour(t) if dense[t, q, k] else YELLOW
            assert close(pixel(fig, ax, im, k, q), want), (t, q, k)


def test_three_steps_get_three_panels() -> None:
    p = Pattern("three", "", ("qi == ki", "qj == kj", "k == q"))
    fig = draw_masks(p.on("3x3"))
    assert [ax.get_title() for ax in fig.axes] == ["step 1", "step 2", "step 3"]
    im = render(fig)
    assert close(pixel(fig, fig.axes[2], im, 4, 4), step_colour(2))


def slow_pool(dense: np.ndarray, b: int) -> np.ndarray:
    steps, nq, nk = dense.shape
    out = np.zeros((steps, -(-nq // b), -(-nk // b)), dtype=bool)
    for t in range(steps):
        for r in range(out.shape[1]):
            for c in range(out.shape[2]):
                out[t, r, c] = dense[t, r * b : (r + 1) * b, c * b : (c + 1) * b].any()
    return out


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 3),
    st.integers(1, 40),
    st.integers(1, 40),
    st.integers(1, 20),
    st.integers(0, 2**32 - 1),
)
def test_pooling_matches_a_block_by_block_any(
    steps: int, nq: int, nk: int, resolution: int, seed: int
) -> None:
    dense = np.random.default_rng(seed).random((steps, nq, nk)) < 0.05
    pooled, b = pooled_masks(dense, resolution)
    assert max(pooled.shape[1:]) <= resolution
    assert np.array_equal(pooled, slow_pool(dense, b))


@pytest.mark.parametrize(
    "name, grid, query_grid",
    [("ltr", "8x8", None), ("rtl", "4x4", "8x8"), ("strided", "5x7", None)],
)
def test_pooling_a_pattern_and_its_enumeration_order(name: str, grid: str, query_grid: str) -> None:
    masks = load_pattern(name).on(grid, query_grid=query_grid)
    dense = masks.dense()
    for resolution in (3, 16, 1000):
        assert np.array_equal(
            pooled_masks(masks, resolution)[0], pooled_masks(dense, resolution)[0]
        )
    rows = np.argsort(masks.query_rank, kind="stable")
    cols = masks.enumeration()
    ordered = dense[:, rows][:, :, cols]
    by_order, b = pooled_masks(masks, 5, by_order=True)
    assert np.array_equal(by_order, slow_pool(ordered, b))
    if masks.square:  # an ESA mask in ESA order is the 1-D pattern
        one_d = load_pattern(name).on(grid, order="rowmajor").dense()
        assert np.array_equal(pooled_masks(masks, 1000, by_order=True)[0], one_d)


def test_a_128x128_mask_is_pooled_to_a_readable_image() -> None:
    masks = load_pattern("ltr").on("128x128")
    fig = draw_masks(masks, by_order=True)
    im = render(fig)
    assert_drawn(im)
    ax = fig.axes[0]
    assert ax.get_images()[0].get_array().shape[:2] == (512, 512)
    assert "32x32 positions" in fig.legends[0].get_title().get_text()
    # in ESA order LTR is its 1-D form: the diagonal block is attended in both steps
    assert close(pixel(fig, ax, im, 600, 600), DARK_BLUE)
    assert close(pixel(fig, ax, im, 16383 - 300, 300), YELLOW)


def test_mask_input_errors() -> None:
    with pytest.raises(YlgError, match="steps, nq, nk"):
        draw_masks(np.zeros((2, 2, 2, 2), dtype=bool))
    with pytest.raises(YlgError, match="resolution"):
        draw_masks(np.eye(3, dtype=bool), resolution=0)
    with pytest.raises(YlgError, match="enumeration"):
        draw_masks(np.eye(3, dtype=bool), by_order=True)


# -- information flow graphs ----------------------------------------------------------


@pytest.mark.parametrize(
    "name, grid, query_grid, nodes",
    [("fixed", "3x3", None, 27), ("window", "4x4", None, 32), ("ltr", "2x2", "4x4", 24)],
)
def test_ifg_draws_one_marker_per_token_and_layer(
    name: str, grid: str, query_grid: str | None, nodes: int
) -> None:
    masks = load_pattern(name).on(grid, query_grid=query_grid, order="rowmajor")
    fig = draw_ifg(masks)
    im = render(fig)
    assert_drawn(im)
    assert count_markers(im, NODE_FACE) == nodes
    edges = [c for c in fig.axes[0].collections if isinstance(c, LineCollection)]
    assert [len(c.get_segments()) for c in edges] == [m.nnz for m in step_matrices(masks)]


def test_ifg_missing_marks_every_pair_without_a_path() -> None:
    masks = load_pattern("fixed").on("3x3", order="rowmajor")
    fig = draw_ifg(masks, missing=True)
    ax = fig.axes[0]
    fi = full_information(masks)
    assert ax.get_title().endswith(f"{fi.missing} of 81 pairs have no path")
    red = [
        c
        for c in ax.collections
        if isinstance(c, LineCollection) and close(c.get_color()[0][:3], RED)
    ]
    assert len(red) == 1
    lost = ~reachability(masks)
    drawn = {(round(s[0][1], 6), round(s[1][1], 6)) for s in red[0].get_segments()}
    assert drawn == {(-float(i), -float(o)) for o, i in zip(*np.nonzero(lost))}
    notes = {t.get_text() for t in ax.texts if t.get_text().startswith("misses")}
    assert "misses 8: 1-8" in notes and "misses 1: 8" in notes
    assert_drawn(render(fig))


def test_ifg_full_information_says_so() -> None:
    fig = draw_ifg(load_pattern("rtl").on("3x3"), missing=True)
    assert fig.axes[0].get_title().endswith("Full Information")
    assert "every input reaches every output" in [
        t.get_text() for t in fig.axes[0].get_legend().get_texts()
    ]


@pytest.mark.parametrize(
    "name, grid, query_grid",
    [("fixed", "3x3", None), ("ltr", "2x3", None), ("strided", "3x3", None), ("rtl", "2x2", "4x4")],
)
def test_paths_to_an_output_match_a_graph_search(name: str, grid: str, query_grid: str) -> None:
    import networkx as nx

    masks = load_pattern(name).on(grid, query_grid=query_grid)
    graph = build_graph(masks)
    last = masks.num_steps
    for output in range(masks.nq):
        reach = reaching_nodes(step_matrices(masks), output)
        ancestors = nx.ancestors(graph, (last, output)) | {(last, output)}
        for layer, nodes in enumerate(reach):
            assert set(np.flatnonzero(nodes)) == {p for lay, p in ancestors if lay == layer}


def test_ifg_paths_to_highlights_and_fades() -> None:
    masks = load_pattern("fixed").on("3x3", order="rowmajor")
    fig = draw_ifg(masks, paths_to=1)
    ax = fig.axes[0]
    assert "paths to output 1 reach 2 of 9 inputs" in ax.get_title()
    widths = sorted(
        {float(c.get_linewidth()[0]) for c in ax.collections if isinstance(c, LineCollection)}
    )
    assert len(widths) == 2  # faded and highlighted edges
    im = render(fig)
    assert count_markers(im, NODE_FACE) == 27


def test_ifg_refuses_large_graphs_and_bad_outputs() -> None:
    with pytest.raises(YlgError, match="draw mask"):
        draw_ifg(load_pattern("ltr").on("9x9"))
    with pytest.raises(YlgError, match="not a node of the last layer"):
        draw_ifg(load_pattern("ltr").on("3x3"), paths_to=9)


# -- enumerations ---------------------------------------------------------------------


@pytest.mark.parametrize("orders", [("rowmajor", "esa"), ("hilbert", "zorder", "snake")])
def test_orders_write_each_cells_rank_and_draw_the_path(orders: tuple[str, ...]) -> None:
    fig = draw_orders("8x8", orders)
    im = render(fig)
    assert_drawn(im)
    for ax, order in zip(fig.axes, orders):
        numbers = {
            (round(t.get_position()[1]), round(t.get_position()[0])): int(t.get_text())
            for t in ax.texts
        }
        rank = ranks(order, 8, 8).reshape(8, 8)
        assert numbers == {(i, j): int(rank[i, j]) for i in range(8) for j in range(8)}
        path = ax.get_lines()[0]
        assert np.array_equal(path.get_ydata() * 8 + path.get_xdata(), enumeration(order, 8, 8))
        start = enumeration(order, 8, 8)[0]
        # the first cell's outline is red
        assert near(fig, ax, im, start % 8 - 0.5, start // 8, RED)


def test_large_orders_have_no_numbers_but_a_colour_bar() -> None:
    fig = draw_orders("40x40", ["esa"])
    assert len(fig.axes[0].texts) == 0 and len(fig.axes) == 2
    assert_drawn(render(fig))


def test_order_errors() -> None:
    with pytest.raises(YlgError, match="unknown order"):
        draw_orders("3x3", ["spiral"])
    with pytest.raises(YlgError, match="at least one"):
        draw_orders("3x3", [])


# -- one query --------------------------------------------------------------------------


def test_query_panels_show_the_masks_row_and_the_reach() -> None:
    masks = load_pattern("fixed").on("4x4", order="rowmajor")
    q = masks.grid.position(1, 2)
    fig = draw_query(masks, (1, 2))
    im = render(fig)
    assert_drawn(im)
    dense = masks.dense()
    reach = reachability(masks)[q]
    for t, ax in enumerate(fig.axes):
        row = dense[t, q] if t < 2 else reach
        colour = step_colour(t) if t < 2 else DARK_BLUE
        for k in range(16):
            i, j = divmod(k, 4)
            if (i, j) == (1, 2):
                continue  # the red outline covers part of the query cell
            assert close(pixel(fig, ax, im, j, i), colour if row[k] else YELLOW), (t, k)
        # the query cell's outline
        assert near(fig, ax, im, 1.5, 1, RED)
    assert fig.axes[2].get_title().endswith(f"reaches {int(reach.sum())} of 16 inputs")


@pytest.mark.parametrize(
    "name, grid, query_grid",
    [("fixed", "4x4", None), ("ltr", "3x5", None), ("strided", "4x4", None), ("rtl", "3x3", "6x6")],
)
def test_query_reach_matches_reachability(name: str, grid: str, query_grid: str | None) -> None:
    masks = load_pattern(name).on(grid, query_grid=query_grid)
    full = reachability(masks)
    for q in range(masks.nq):
        assert np.array_equal(query_reach(masks, q), full[q])


def test_query_reach_of_three_steps() -> None:
    masks = Pattern("three", "", ("k <= q and q - k < 2", "k == q or k % 3 == 0", "k <= q")).on(
        "3x3"
    )
    full = reachability(masks)
    assert all(np.array_equal(query_reach(masks, q), full[q]) for q in range(9))


def test_query_on_a_non_square_layout_marks_its_place_in_the_image() -> None:
    masks = load_pattern("rtl").on("4x4", query_grid="8x8")
    fig = draw_query(masks, (6, 2), reach=False)
    im = render(fig)
    assert len(fig.axes) == 2
    # query cell (6, 2) of the 8x8 grid covers key-grid cell (3, 1)'s lower-left quarter
    ax = fig.axes[0]
    assert near(fig, ax, im, 0.5, 2.5, RED) and near(fig, ax, im, 0.75, 3.0, RED)
    assert not near(fig, ax, im, 1.5, 2.5, RED)


def test_query_weights_over_an_image() -> None:
    weights = np.zeros((2, 16))
    weights[0, 5] = 1.0
    weights[1, 15] = 0.25
    red = np.zeros((40, 40, 3), dtype=np.uint8)
    red[..., 0] = 255
    fig = draw_query(weights, grid="4x4", image=red, labels=["head 1", "head 2"], query=(0, 0))
    im = render(fig)
    assert_drawn(im)
    ax1, ax2 = fig.axes[:2]
    assert close(pixel(fig, ax1, im, 3, 3), "#ff0000", tol=0.05)  # weight 0: the image shows
    assert not close(pixel(fig, ax1, im, 1, 1), "#ff0000", tol=0.2)  # the top weight covers it
    assert not close(pixel(fig, ax2, im, 3, 3), "#ff0000", tol=0.2)
    assert [ax.get_title() for ax in (ax1, ax2)] == ["head 1", "head 2"]


def test_a_wide_image_is_cropped_to_the_grid_not_stretched() -> None:
    """A 40x120 picture (blue, red, green thirds) under a 4x4 grid: its red centre fills
    the grid; stretched, the grid's outer columns would show blue and green."""
    thirds = np.zeros((40, 120, 3), dtype=np.uint8)
    thirds[:, :40, 2] = thirds[:, 40:80, 0] = thirds[:, 80:, 1] = 255
    weights = np.zeros((1, 16))
    weights[0, 15] = 1.0  # cell (3, 3); the rest show the image
    fig = draw_query(weights, grid="4x4", image=thirds)
    im = render(fig)
    for x in (0, 3):
        assert close(pixel(fig, fig.axes[0], im, x, 1), "#ff0000", tol=0.05)
    tall = draw_query(weights[:, :4], grid="2x2", image=thirds.transpose(1, 0, 2))
    im = render(tall)
    for y in (0, 1):
        assert close(pixel(tall, tall.axes[0], im, 0, y), "#ff0000", tol=0.05)


@pytest.mark.parametrize(
    "weights, grid, panels",
    [
        (np.ones(16), "4x4", 1),
        (np.ones((3, 16)), "4x4", 3),
        (np.ones((2, 4, 4)), None, 2),
        (np.ones((4, 4)), None, 1),
        (np.ones((4, 4)), "4x4", 1),
    ],
)
def test_query_weight_shapes(weights: np.ndarray, grid: str | None, panels: int) -> None:
    fig = draw_query(weights, grid=grid)
    assert len(fig.axes) == 2 * panels  # a colour bar for each panel


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"attention": np.ones(16)}, "give the key grid"),
        ({"attention": np.ones((2, 15)), "grid": "4x4"}, "do not fit"),
        ({"attention": -np.ones((4, 4))}, "non-negative"),
        ({"attention": np.full((4, 4), np.nan)}, "finite"),
        ({"attention": np.ones((4, 4)), "labels": ["a", "b"]}, r"one label per panel \(1\), not 2"),
        ({"attention": np.ones((4, 4)), "image": np.ones((4, 4))}, "H x W x 3"),
        ({"attention": np.ones((4, 4)), "query": "9,9"}, "outside"),
    ],
)
def test_query_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(YlgError, match=message):
        draw_query(**kwargs)


def test_query_masks_take_their_grids_from_the_masks() -> None:
    with pytest.raises(YlgError, match="come from its masks"):
        draw_query(load_pattern("ltr").on("3x3"), grid="3x3")


# -- files ------------------------------------------------------------------------------


@pytest.mark.parametrize("ext", ["png", "svg", "pdf"])
def test_files_are_valid_and_reproducible(tmp_path: os.PathLike, ext: str) -> None:
    masks = load_pattern("rtl").on("3x3")
    paths = []
    for i in range(2):
        path = tmp_path / f"f{i}.{ext}"
        assert save_figure(draw_ifg(masks, missing=True), path) == path
        paths.append(path)
    data = paths[0].read_bytes()
    assert data == paths[1].read_bytes()
    if ext == "png":
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        assert_drawn(mpimg.imread(paths[0])[..., :3])
    elif ext == "svg":
        root = ET.fromstring(data)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert len(list(root.iter())) > 100
    else:
        assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert sorted(os.listdir(tmp_path)) == [f"f0.{ext}", f"f1.{ext}"]  # no temporary left


def test_unknown_extension_is_refused(tmp_path: os.PathLike) -> None:
    with pytest.raises(YlgError, match=r"\.png, \.svg or \.pdf"):
        save_figure(new_figure(1, 1), tmp_path / "x.gif")
    assert os.listdir(tmp_path) == []


def test_sizes_that_would_take_hours_are_refused() -> None:
    with pytest.raises(YlgError, match="too many for a figure"):
        draw_masks(load_pattern("ltr").on("257x256"))
    with pytest.raises(YlgError, match="too many for a figure"):
        draw_query(load_pattern("ltr").on("300x300"), (0, 0))
    with pytest.raises(YlgError, match="at most 1024 a side"):
        draw_orders("1025x2")


def test_weights_mark_a_query_of_a_larger_query_grid() -> None:
    fig = draw_query(np.ones((1, 16)), (7, 0), grid="4x4", query_grid="8x8")
    im = render(fig)
    ax = fig.axes[0]
    # query (7, 0) of 8x8 is the lower half of key-grid cell (3, 0)'s left half
    assert near(fig, ax, im, -0.25, 3.0, RED) and near(fig, ax, im, 0.0, 3.25, RED)
    assert not near(fig, ax, im, 0.0, 2.0, RED)


@pytest.mark.parametrize("grid", ["4x4", "3x7", "1x64"])
def test_small_grids_get_integer_ticks_and_every_cell_border(grid: str) -> None:
    """Sides of 4 or less once got half-integer ticks that hid the cell borders."""
    masks = load_pattern("rtl").on(grid)
    fig = draw_query(masks, 0)
    figure_bytes(fig, "png")  # lay it out, as saving does
    ax = fig.axes[0]
    h, w = masks.grid.shape[-2:] if masks.grid.ndim > 1 else (1, masks.nk)
    for ticks in (ax.get_xticks(), ax.get_yticks()):
        inside = ticks[(ticks >= 0) & (ticks <= max(h, w))]
        assert np.allclose(inside, np.round(inside))
    if max(h, w) <= 16:
        assert len(ax.xaxis.get_minorticklocs()) == w + 1
        assert len(ax.yaxis.get_minorticklocs()) == h + 1


def test_a_long_ifg_legend_leaves_the_graph_its_width() -> None:
    """Four legend entries side by side were wider than the figure and squeezed the
    three layers of the graph into a strip."""
    fig = draw_ifg(load_pattern("ltr").on("3x3", order="rowmajor"), missing=True, paths_to=1)
    figure_bytes(fig, "png")
    box = fig.axes[0].get_position()
    assert box.width > 0.7
    legend = fig.axes[0].get_legend()
    assert legend is not None and len(legend.get_texts()) == 4
