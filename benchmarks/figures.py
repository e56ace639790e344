"""Figure speed: drawing and writing each kind of figure, up to the masks of a 128x128 grid.

Run: .venv/bin/python benchmarks/figures.py   (rewrites its section of docs/benchmarks.md)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
from _report import arguments, machine, write_section
from matplotlib import cbook
from matplotlib import image as mpimg

from ylg.figures import draw_ifg, draw_masks, draw_orders, draw_query, figure_bytes
from ylg.patterns import load_pattern

REPEATS = 3


def case(label: str, draw: Callable[[], Any]) -> tuple[str, float, float, int]:
    """Best of REPEATS: seconds to draw, seconds to write the PNG, PNG bytes."""
    draws, writes = [], []
    size = 0
    for _ in range(REPEATS):
        start = time.perf_counter()
        fig = draw()
        middle = time.perf_counter()
        size = len(figure_bytes(fig, "png"))
        draws.append(middle - start)
        writes.append(time.perf_counter() - middle)
    print(f"{label:60} draw {min(draws):7.3f} s  png {min(writes):7.3f} s", flush=True)
    return label, min(draws), min(writes), size


def main() -> None:
    arguments(__doc__)
    ltr = load_pattern("ltr")
    with cbook.get_sample_data("grace_hopper.jpg") as fh:  # a 512 x 600 photograph
        image = mpimg.imread(fh)
    weights = np.random.default_rng(1).random((8, 256))
    cases = [
        (
            "mask, LTR 3x3 (the paper's Fig. 2b)",
            lambda: draw_masks(ltr.on("3x3", order="rowmajor")),
        ),
        ("mask, LTR 32x32", lambda: draw_masks(ltr.on("32x32"))),
        ("mask, LTR 64x64", lambda: draw_masks(ltr.on("64x64"))),
        ("mask, LTR 128x128", lambda: draw_masks(ltr.on("128x128"))),
        ("mask, LTR 128x128, by order", lambda: draw_masks(ltr.on("128x128"), by_order=True)),
        (
            "mask, Strided 128x128, per step",
            lambda: draw_masks(load_pattern("strided").on("128x128"), per_step=True),
        ),
        (
            "mask, dense 128x128 (every cell attended)",
            lambda: draw_masks(load_pattern("dense").on("128x128")),
        ),
        (
            "mask, RTL 16x16 keys, 32x32 queries",
            lambda: draw_masks(load_pattern("rtl").on("16x16", query_grid="32x32")),
        ),
        (
            "ifg, Fixed 3x3, missing pairs (Fig. 2d)",
            lambda: draw_ifg(load_pattern("fixed").on("3x3", order="rowmajor"), missing=True),
        ),
        ("ifg, LTR 8x8 (64 tokens), missing pairs", lambda: draw_ifg(ltr.on("8x8"), missing=True)),
        ("order, 8x8 row-major and ESA (Fig. 3)", lambda: draw_orders("8x8")),
        ("order, 64x64 row-major and ESA", lambda: draw_orders("64x64")),
        ("query, LTR 128x128, steps and reach", lambda: draw_query(ltr.on("128x128"), (60, 70))),
        (
            "query, 8 heads on 16x16 over a 600x512 photograph",
            lambda: draw_query(weights, (5, 9), grid="16x16", image=image),
        ),
    ]
    rows = [case(label, draw) for label, draw in cases]
    lines = [
        "## Drawing figures (`benchmarks/figures.py`)",
        "",
        f"Machine: {machine()}.",
        "",
        f"Best of {REPEATS} runs. *Draw* builds the matplotlib Figure (for masks: evaluating",
        "and pooling every step, a block of query rows at a time); *PNG* renders it with Agg",
        "at the figure's own dpi. Masks larger than 512 positions a side are pooled to at most",
        "512 x 512 pixels (a pixel is coloured when a step attends any position in its block).",
        "",
        "| figure | draw (s) | PNG (s) | PNG size (KiB) |",
        "|---|---|---|---|",
        *(f"| {label} | {d:.3f} | {w:.3f} | {size / 1024:.0f} |" for label, d, w, size in rows),
    ]
    write_section("figures", "\n".join(lines))


if __name__ == "__main__":
    main()
