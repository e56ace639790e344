"""Redraw every image of docs/gallery.md and rewrite the page.

Run from anywhere: ``.venv/bin/python docs/make_gallery.py``. Each image is made by
the ``ylg`` command printed next to it on the page (run in the repository root), so
the page and the pictures cannot drift apart; the one figure made through the API
shows the function that made it.
"""

from __future__ import annotations

import inspect
import os
import shlex
from pathlib import Path

from tqdm import tqdm

from ylg.cli.main import cli
from ylg.fileio import write_atomic

ROOT = Path(__file__).resolve().parent.parent
IMG = "docs/img"
#: Writes the Full-Information extension of Strided drawn in Figure 10 (b, d).
REPAIR = (
    f"repair strided --grid 3x3 --order rowmajor --check 3x3,8x8,16x16 -o {IMG}/strided-fi.toml"
)

#: (section, text, [(caption, command, image name)]): each command writes docs/img/NAME.png.
SECTIONS: list[tuple[str, str, list[tuple[str, str, str]]]] = [
    (
        "Figure 2: the paper's two-step patterns on 9 tokens",
        "The paper draws the 1-D patterns on n = 9 tokens (s = 3), without ESA: a 3x3 grid in"
        " row-major order. Masks: dark blue = attended in both steps, light blue = step 1 only,"
        " green = step 2 only, yellow = neither. Graphs: `--missing` marks every (input, output)"
        " pair without a path (dashed red) and lists, right of each output, the inputs it misses.",
        [
            (
                "(a) Fixed (Sparse Transformers)",
                "draw mask fixed --grid 3x3 --order rowmajor",
                "fig2a-fixed-mask",
            ),
            (
                "(b) Left To Right (LTR)",
                "draw mask ltr --grid 3x3 --order rowmajor",
                "fig2b-ltr-mask",
            ),
            (
                "(c) Right To Left (RTL)",
                "draw mask rtl --grid 3x3 --order rowmajor",
                "fig2c-rtl-mask",
            ),
            (
                "(d) Fixed: no Full Information",
                "draw ifg fixed --grid 3x3 --order rowmajor --missing",
                "fig2d-fixed-ifg",
            ),
            (
                "(e) LTR: Full Information",
                "draw ifg ltr --grid 3x3 --order rowmajor --missing",
                "fig2e-ltr-ifg",
            ),
            (
                "(f) RTL: Full Information",
                "draw ifg rtl --grid 3x3 --order rowmajor --missing",
                "fig2f-rtl-ifg",
            ),
        ],
    ),
    (
        "Figure 3: row-major and ESA enumerations of an 8x8 grid",
        "Each cell holds its number in the order; the line follows the order from the first"
        " cell (outlined in red).",
        [("Row-major (left) and ESA (right)", "draw order --grid 8x8", "fig3-orders")],
    ),
    (
        "Figure 10: Strided and a Full-Information extension of it",
        "The authors' Strided pattern lacks Full Information. The paper's YLG - Strided"
        " (its Fig. 10b, 10d) cannot be recovered from the authors' code, so the extension"
        " drawn here is the one `ylg repair` finds: it adds 3 positions to step 1 on 9 tokens."
        " The pattern file it writes is committed next to the images:",
        [
            (
                "(a) Strided masks",
                "draw mask strided --grid 3x3 --order rowmajor",
                "fig10a-strided-mask",
            ),
            (
                "(b) Strided extended to Full Information by `ylg repair`",
                f"draw mask {IMG}/strided-fi.toml --grid 3x3 --order rowmajor",
                "fig10b-strided-fi-mask",
            ),
            (
                "(c) Strided: no Full Information",
                "draw ifg strided --grid 3x3 --order rowmajor --missing",
                "fig10c-strided-ifg",
            ),
            (
                "(d) The extension: Full Information",
                f"draw ifg {IMG}/strided-fi.toml --grid 3x3 --order rowmajor --missing",
                "fig10d-strided-fi-ifg",
            ),
        ],
    ),
    (
        "Beyond the paper",
        "The same figures for the layouts the model uses, and the attention of one query.",
        [
            (
                "The paths that reach output 1 of Fixed (the rest greyed out)",
                "draw ifg fixed --grid 3x3 --order rowmajor --paths-to 1",
                "fixed-ifg-paths-to-1",
            ),
            (
                "LTR with ESA on a 128x128 grid (16384 x 16384 masks, one pixel per 32x32"
                " block, row-major positions)",
                "draw mask ltr --grid 128x128",
                "ltr-128x128-mask",
            ),
            (
                "The same masks with rows and columns in ESA order: the 1-D pattern ESA shifts",
                "draw mask ltr --grid 128x128 --by-order",
                "ltr-128x128-mask-by-order",
            ),
            (
                "RTL in SAGAN's layer: 32x32 queries over 16x16 keys (the authors' repeat rule),"
                " one panel per step",
                "draw mask rtl --grid 16x16 --query-grid 32x32 --per-step",
                "rtl-16x16-q32x32-mask",
            ),
            (
                "One query of RTL on 16x16: the keys of each step and the inputs it reaches",
                "draw query rtl --grid 16x16 --query 6,7",
                "rtl-16x16-query",
            ),
            (
                "The same query under Fixed: it reaches only part of the grid",
                "draw query fixed --grid 16x16 --query 6,7",
                "fixed-16x16-query",
            ),
            (
                "Hilbert, Z-order and snake enumerations",
                "draw order --grid 8x8 --order hilbert --order zorder --order snake",
                "more-orders",
            ),
            (
                "The 128 x 128 tiles a block-sparse kernel visits for LTR on 64x64 (4096"
                " tokens): ESA order (left), the tile planner's orders (right)",
                "draw tiles ltr --grid 64x64",
                "ltr-64x64-tiles",
            ),
        ],
    ),
    (
        "Videos and sequences",
        "Every figure takes grids of 1, 2 or 3 axes. A video (`TxHxW`) is drawn as its"
        " frames side by side, labelled t=0, t=1, ...; a sequence as one row of cells;"
        " graphs number a video's tokens frame after frame.",
        [
            (
                "ESA and the 3-D Hilbert curve on a 3x4x4 video: solid between touching cells"
                " of a frame, dotted for a longer step inside one, dotted arcs to another frame",
                "draw order --grid 3x4x4 --order esa --order hilbert",
                "video-3x4x4-orders",
            ),
            (
                "One query of neighborhood attention (`na`, window 3x5x5) on a 6x12x12 video:"
                " at the top border its window is shifted inwards, as NATTEN does",
                "draw query na --grid 6x12x12 --param win_t=3 --param win_i=5 --param win_j=5"
                " --query 2,1,6",
                "video-na-query",
            ),
            (
                "LTR on a 2x2x3 video (12 tokens a layer, frame after frame)",
                "draw ifg ltr --grid 2x2x3 --order rowmajor --missing",
                "video-2x2x3-ltr-ifg",
            ),
            (
                "Which order of the tokens makes a block-sparse kernel fastest: the library's"
                " video patterns on 16x32x32 (16,384 tokens), 128 x 128 tiles (`ylg compare"
                " --tiles` prints the numbers)",
                "compare na dilated-na gna sta radial block-global --grid 16x32x32 --tiles",
                "video-tiles-by-order",
            ),
        ],
    ),
]


def ylg(command: str) -> None:
    """Run one ``ylg`` command in-process, from the repository root."""
    cli.main(args=shlex.split(command), prog_name="ylg", standalone_mode=False)


def query_over_a_photograph(path: str) -> None:
    """The attention of one query over a photograph, as a trained layer will be drawn."""
    import numpy as np
    from matplotlib import cbook
    from matplotlib import image as mpimg

    from ylg.figures import draw_query, save_figure
    from ylg.patterns import load_pattern

    with cbook.get_sample_data("grace_hopper.jpg") as fh:  # shipped with matplotlib
        photo = mpimg.imread(fh)[:512]  # 512 x 512: the grid is square
    masks = load_pattern("rtl").on("16x16")
    query = masks.grid.position(6, 7)
    # stand-in attention weights: random logits, softmax over each step's allowed keys
    logits = np.random.default_rng(0).normal(size=(2, masks.nk))
    weights = np.exp(logits) * masks.dense()[:, query]
    weights /= weights.sum(axis=1, keepdims=True)
    fig = draw_query(
        weights, (6, 7), grid="16x16", image=photo, labels=["RTL step 1", "RTL step 2"]
    )
    save_figure(fig, path, dpi=100)


def page(rows: list[tuple[str, str, list[tuple[str, str, str]]]], api_image: str) -> str:
    lines = [
        "# Gallery",
        "",
        "The paper's Figures 2, 3 and 10 redrawn by ylg, and a few more. Every image is",
        "made by the command above it (run in the repository root); "
        "`.venv/bin/python docs/make_gallery.py` redraws them all and rewrites this page.",
        "",
        "ylg draws Information Flow Graphs the way information flows: an edge from key `k`",
        "of layer V(t-1) to query `q` of layer Vt wherever step t lets `q` attend `k`, so",
        "output `o` reaches input `i` when `(M2 @ M1)[o, i]` holds. The paper's captions read",
        'the edges the other way (from the attending node), so its "no path from node 0 of',
        'V0 to node 1 of V2" for Fixed is ylg\'s "input 1 does not reach output 0": the same',
        "missing pairs, with inputs and outputs swapped.",
        "",
    ]
    for section, text, figures in rows:
        lines += [f"## {section}", "", text, ""]
        if any(IMG + "/strided-fi.toml" in command for _, command, _ in figures):
            lines += ["```", f"ylg {REPAIR}", "```", ""]
        for caption, command, name in figures:
            lines += [
                f"### {caption}",
                "",
                "```",
                f"ylg {command} -o {IMG}/{name}",
                "```",
                "",
                f"![{caption}](img/{name})",
                "",
            ]
    lines += [
        "## Attention over an image, from the API",
        "",
        "`draw_query` also takes attention weights (one row per step or head) and a picture",
        "to draw the key grid over; here stand-in weights over a photograph shipped with",
        "matplotlib:",
        "",
        "```python",
        inspect.getsource(query_over_a_photograph).rstrip(),
        "```",
        "",
        f"![One query's attention over a photograph](img/{api_image})",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    os.chdir(ROOT)
    (ROOT / IMG).mkdir(parents=True, exist_ok=True)
    ylg(REPAIR)
    rows = []
    jobs = [(s, t, f) for s, t, figures in SECTIONS for f in figures]
    for section, text, (caption, command, stem) in tqdm(jobs, desc="gallery", unit="image"):
        name = f"{stem}.png"
        ylg(f"{command} -o {IMG}/{name}")
        if not rows or rows[-1][0] != section:
            rows.append((section, text, []))
        rows[-1][2].append((caption, command, name))
    api_image = "query-rtl-16x16-photograph.png"
    query_over_a_photograph(f"{IMG}/{api_image}")
    write_atomic(ROOT / "docs" / "gallery.md", page(rows, api_image).encode())
    total = sum(p.stat().st_size for p in (ROOT / IMG).iterdir())
    print(f"wrote docs/gallery.md and {IMG}/ ({total / 2**20:.1f} MiB)")


if __name__ == "__main__":
    main()
