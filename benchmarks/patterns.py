"""Mask building speed: every step of each paper pattern, dense and CSR, up to 128x128;
and CSR masks built by tiles (interval arithmetic deciding whole tiles) against every
pair evaluated, on images and videos.

Run: .venv/bin/python benchmarks/patterns.py   (rewrites its section of docs/benchmarks.md)
"""

from __future__ import annotations

import time
from functools import partial

from _report import arguments, machine, write_section

from ylg.patterns import Masks, load_pattern

GRIDS = ["16x16", "32x32", "64x64", "128x128"]
PATTERNS = ["ltr", "rtl", "fixed", "strided"]
REPEATS = 3
#: (pattern, grid, order) built by tiles and pair by pair, side by side.
TILED = [
    ("ltr", "128x128", "esa"),
    ("rtl", "128x128", "rowmajor"),
    ("window", "128x128", "rowmajor"),
    ("na", "16x32x32", "rowmajor"),
    ("sta", "16x32x32", "rowmajor"),
    ("radial", "16x32x32", "rowmajor"),
    ("radial", "16x32x32", "hilbert"),
    ("radial", "30x45x80", "rowmajor"),
]


def best_of(fn, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
        del out
    return min(times)


def every_pair(masks: Masks, step: int) -> object:
    """The CSR of one step with every pair evaluated (one tile of the whole layout)."""
    return masks.csr_tiled(step, max(1, (1 << 17) // masks.nk), masks.nk)


def tiled_rows() -> list[str]:
    rows = []
    for name, grid, order in TILED:
        masks = load_pattern(name).on(grid, order=order)
        repeats = 1 if masks.nk > 50_000 else REPEATS
        steps = range(masks.num_steps)
        plain = sum(best_of(partial(every_pair, masks, t), repeats) for t in steps)
        tiled = sum(best_of(partial(masks.csr, t), repeats) for t in steps)
        share = sum(masks.csr(t).nnz for t in steps) / (len(steps) * masks.nq * masks.nk)
        print(f"{name} {grid} {order}: every pair {plain:.2f} s, tiles {tiled:.2f} s", flush=True)
        rows.append(
            f"| {name} | {grid} | {order} | {masks.nk} | {share:.1%} | {plain:.2f} | {tiled:.2f}"
            f" | {plain / tiled:.1f} |"
        )
    return rows


def main() -> None:
    arguments(__doc__)
    tiled = tiled_rows()
    rows = []
    for name in PATTERNS:
        for grid in GRIDS:
            masks = load_pattern(name).on(grid, order="esa")
            dense = best_of(masks.dense)
            csr = best_of(masks.csr_all)
            rows.append((name, grid, masks.nk, dense, csr))
            print(
                f"{name:8} {grid:8} dense {dense * 1e3:8.1f} ms  csr {csr * 1e3:8.1f} ms",
                flush=True,
            )
    lines = [
        "## Building masks (`benchmarks/patterns.py`)",
        "",
        f"Machine: {machine()}.",
        "",
        f"All steps of each pattern with ESA; best of {REPEATS} runs. Dense is the bool array",
        "`[steps, n, n]` (at 128x128: 2 x 16384 x 16384, 512 MiB, a good part of it the",
        "operating system's first-touch page faults); CSR is one scipy matrix per step, built",
        "block by block without the dense array.",
        "",
        "| pattern | grid | tokens | dense (ms) | CSR (ms) |",
        "|---|---|---|---|---|",
        *(f"| {n} | {g} | {t} | {d * 1e3:.1f} | {c * 1e3:.1f} |" for n, g, t, d, c in rows),
        "",
        "CSR by tiles: layouts of 4096 keys or more are built in tiles of 32 queries by 32",
        "keys; interval arithmetic over each tile's ranges of `q, k, qt, kt, ...` marks it all",
        "attended, none attended, or undecided, and only undecided tiles are evaluated pair by",
        "pair (`Masks.csr_tiled`). Against every pair evaluated, all steps, best of",
        f"{REPEATS} runs (one above 50,000 keys), side by side in one run:",
        "",
        "| pattern | grid | order | keys | attended | every pair (s) | by tiles (s) | ratio |",
        "|---|---|---|---|---|---|---|---|",
        *tiled,
    ]
    write_section("patterns", "\n".join(lines))


if __name__ == "__main__":
    main()
