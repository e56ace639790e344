"""Mask building speed: every step of each paper pattern, dense and CSR, up to 128x128.

Run: .venv/bin/python benchmarks/patterns.py   (rewrites its section of docs/benchmarks.md)
"""

from __future__ import annotations

import time

from _report import machine, write_section

from ylg.patterns import load_pattern

GRIDS = ["16x16", "32x32", "64x64", "128x128"]
PATTERNS = ["ltr", "rtl", "fixed", "strided"]
REPEATS = 3


def best_of(fn, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
        del out
    return min(times)


def main() -> None:
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
    ]
    write_section("patterns", "\n".join(lines))


if __name__ == "__main__":
    main()
