"""Benchmark: ylg's sparse attention against PyTorch's SDPA, dense and masked.

Times forward and forward+backward, and records peak memory, for unmasked SDPA, SDPA
with the pattern's boolean mask, and each ylg backend, at 16x16 to 128x128 token
grids, head dims 8 and 64, 8 heads (the published YLG heads), batch 1, plus the SAGAN
case (32x32 queries over 16x16 keys), and the video layer (``YLGAttention3d``, 4x16x16,
a 3x3x3 neighbourhood, ``dense`` against ``grouped``). Runs at 1 thread (the issue's
reference) and at every thread of the machine, then writes the ``attention`` section
of ``docs/benchmarks.md``.

    python benchmarks/attention.py            # the full run (several minutes)
    python benchmarks/attention.py --quick    # 16x16 and 32x32 only, not written
    python benchmarks/attention.py --video    # the video layer only, not written
    python benchmarks/attention.py --layer    # the SAGAN layer in bf16 and under an R1
                                              # penalty (its own section)
"""

from __future__ import annotations

import argparse
import os

import torch
from _report import machine, write_section
from tqdm import tqdm

from ylg.attention import YLGAttention2d, YLGAttention3d
from ylg.attention.bench import Case, Row, _time, run_case, table
from ylg.patterns import Pattern

GRIDS = ("16x16", "32x32", "64x64", "128x128")
HEAD_DIMS = (8, 64)
#: FlexAttention's CPU path is PyTorch's unfused reference: only on small grids.
FLEX_UP_TO = 32 * 32


def cases(quick: bool) -> list[Case]:
    """Every case of the run, smallest first."""
    grids = GRIDS[:2] if quick else GRIDS
    out = [Case(g, head_dim=d) for g in grids for d in HEAD_DIMS]
    out += [Case("16x16", "32x32", head_dim=d) for d in HEAD_DIMS]
    return sorted(out, key=lambda c: (c.masks().nq * c.masks().nk, c.head_dim))


def methods(case: Case) -> tuple[str, ...]:
    """The methods timed on a case."""
    base = ("sdpa", "sdpa+mask", "dense", "grouped")
    return base + ("flex",) if case.masks().nq <= FLEX_UP_TO else base


#: A hand-written PyTorch prototype of the LTR step pair, timed once, 1 thread, 16384
#: tokens, 8 heads, head dim 8, batch 1: forward and forward+backward ms.
PROTOTYPE_MS = (357.0, 850.0)


def run(threads: int, quick: bool) -> tuple[list[Row], str]:
    """All cases at one thread count, and the machine's load average around the run."""
    torch.set_num_threads(threads)
    rows: list[Row] = []
    todo = cases(quick)
    before = os.getloadavg()[0]
    for case in tqdm(todo, desc=f"attention, {threads} thread(s)", unit="case"):
        rows += run_case(case, methods(case))
    load = f"1-minute load average {before:.1f} when this run started, {os.getloadavg()[0]:.1f}"
    return rows, f"{load} when it ended (this run's own threads included)."


#: The video case: 4 frames of 16x16 (1024 tokens), a 3x3x3 neighbourhood, 8 heads of
#: 256 channels (head dims 4 for queries and keys, 16 for values), batch 1.
VIDEO = (4, 16, 16)
VIDEO_CHANNELS = 256
NA3 = Pattern(
    "na3", "3x3x3 neighbourhood", ("abs(qt - kt) <= 1 and abs(qi - ki) <= 1 and abs(qj - kj) <= 1",)
)


def video() -> list[str]:
    """Forward time of the video layer, ``dense`` and ``grouped``, with keys pooled
    (1, 2, 2) (the default) and not pooled: markdown table rows."""
    x = torch.randn(1, VIDEO_CHANNELS, *VIDEO, generator=torch.Generator().manual_seed(0))
    lines = []
    for key_pool in ((1, 2, 2), 1):
        ms = {}
        for backend in ("dense", "grouped"):
            layer = YLGAttention3d(
                VIDEO_CHANNELS, NA3, key_pool=key_pool, backend=backend, verify=False
            ).eval()
            masks = layer.masks_for(*VIDEO)

            def forward(layer: YLGAttention3d = layer) -> None:
                with torch.no_grad():
                    layer(x)

            ms[backend] = _time(forward, 5)
        size = "x".join(map(str, VIDEO))
        pool = "x".join(map(str, key_pool)) if isinstance(key_pool, tuple) else str(key_pool)
        lines.append(
            f"| {size} ({masks.nq} tokens) | {pool} ({masks.nk} keys) | {ms['dense']:.1f}"
            f" | {ms['grouped']:.1f} | {ms['dense'] / ms['grouped']:.1f}x |"
        )
    return [
        "| video | key_pool | dense ms | grouped ms | dense / grouped |",
        "|---|---|---:|---:|---:|",
        *lines,
    ]


#: The layer case: the published discriminator's attention (128 channels at 32x32,
#: keys pooled to 16x16), batch 8.
LAYER = (8, 128, 32, 32)
LAYER_BACKENDS = ("grouped", "dense", "sdpa")


def layer_rows() -> list[str]:
    """``YLGAttention2d`` forward+backward in float32 and under bf16 autocast, and one
    step of an R1 penalty through it (``create_graph=True``, then backward), per
    backend: markdown table rows."""
    x = torch.randn(*LAYER, generator=torch.Generator().manual_seed(0)).requires_grad_()
    torch.manual_seed(0)
    reference = YLGAttention2d(LAYER[1])
    with torch.no_grad():
        reference.gamma.fill_(0.5)
    ms: dict[str, dict[str, float]] = {}
    for backend in LAYER_BACKENDS:
        layer = YLGAttention2d(LAYER[1], backend=backend)
        layer.load_state_dict(reference.state_dict())

        def step(dtype: torch.dtype | None, layer: YLGAttention2d = layer) -> None:
            with torch.autocast("cpu", dtype=dtype or torch.bfloat16, enabled=dtype is not None):
                out = layer(x)
            out.float().square().sum().backward()

        def r1(layer: YLGAttention2d = layer) -> None:
            (g,) = torch.autograd.grad(layer(x).square().sum(), x, create_graph=True)
            g.square().sum().backward()

        ms[backend] = {
            "fp32": _time(lambda: step(None), 5),
            "bf16": _time(lambda: step(torch.bfloat16), 5),
            "r1": _time(r1, 3),
        }
    base = ms["grouped"]
    lines = [
        "| backend | fp32 fwd+bwd ms | bf16 fwd+bwd ms | bf16 / fp32 | R1 step ms"
        " | R1 / grouped's |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for backend, row in ms.items():
        lines.append(
            f"| {backend} | {row['fp32']:.1f} | {row['bf16']:.1f} | {row['bf16'] / row['fp32']:.2f}"
            f" | {row['r1']:.1f} | {row['r1'] / base['r1']:.1f}x |"
        )
    return lines


def layer_section(counts: list[int]) -> None:
    """Run :func:`layer_rows` at each thread count and write the ``attention-layer`` section."""
    md = [
        "## The SAGAN layer in bf16 and under an R1 penalty (`benchmarks/attention.py --layer`)",
        "",
        "`YLGAttention2d(128)` as in the published discriminator (32x32 queries over 16x16"
        f" keys, 8 heads), batch {LAYER[0]}, projections included: forward+backward in"
        " float32 and under bf16 autocast, and one R1 step (the input gradient with"
        " `create_graph=True`, then the penalty's backward pass). Best of at least 5 runs"
        " (R1: 3) after a warm-up.",
        "",
        f"Machine: {machine().rsplit(' (', 1)[0]}.",
        "",
    ]
    for threads in counts:
        torch.set_num_threads(threads)
        rows = layer_rows()
        print(f"\n{threads} thread(s)\n" + "\n".join(rows))
        md += [f"### {threads} thread(s)", "", *rows, ""]
    write_section("attention-layer", "\n".join(md))


def summary(rows: list[Row]) -> list[str]:
    """The issue's targets at 128x128 and head dim 8, met or not."""
    got = {(r.case.grid, r.case.query_grid, r.case.head_dim, r.method): r for r in rows}
    lines = []
    for d in HEAD_DIMS:
        mine = got.get(("128x128", None, d, "grouped"))
        masked = got.get(("128x128", None, d, "sdpa+mask"))
        plain = got.get(("128x128", None, d, "sdpa"))
        if not (mine and masked and plain and mine.backward_ms and masked.backward_ms):
            continue
        fast_masked = masked.backward_ms / mine.backward_ms
        fast_plain = plain.backward_ms / mine.backward_ms if plain.backward_ms else 0.0
        memory = (
            mine.peak_mib / masked.peak_mib if mine.peak_mib and masked.peak_mib else float("nan")
        )
        if d == 8:
            lines.append(
                f"- 128x128, head dim 8: grouped {mine.forward_ms:.0f} ms forward,"
                f" {mine.backward_ms:.0f} ms forward+backward; a hand-written PyTorch"
                " prototype of the LTR step pair (1 thread):"
                f" {PROTOTYPE_MS[0]:.0f} and {PROTOTYPE_MS[1]:.0f} ms."
            )
        lines.append(
            f"- 128x128, head dim {d}: grouped forward+backward is {fast_masked:.1f}x faster"
            f" than masked SDPA (target 10x: {'met' if fast_masked >= 10 else 'missed'}),"
            f" {fast_plain:.1f}x faster than unmasked SDPA (target 6x:"
            f" {'met' if fast_plain >= 6 else 'missed'}), peak memory {memory:.3f} of masked"
            f" SDPA's (target at most 0.25: {'met' if memory <= 0.25 else 'missed'})."
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small grids only; no report")
    parser.add_argument("--video", action="store_true", help="the video layer only; no report")
    parser.add_argument(
        "--layer", action="store_true", help="the SAGAN layer in bf16 and under R1 only"
    )
    args = parser.parse_args()
    counts = sorted({1, os.cpu_count() or 1})
    if args.layer:
        layer_section(counts)
        return
    if args.video:
        for threads in counts:
            torch.set_num_threads(threads)
            print(f"\n{threads} thread(s)\n" + "\n".join(video()))
        return
    sections = []
    for threads in counts:
        rows, load = run(threads, args.quick)
        text = table(rows)
        videos = video()
        print(f"\n{threads} thread(s); {load}\n{text}\n\n" + "\n".join(videos))
        sections.append((threads, rows, text, load, videos))
    if args.quick:
        return
    md = [
        "## Sparse attention (`benchmarks/attention.py`)",
        "",
        "Sparse attention of the published YLG heads (RTL1, RTL2, RTL1, RTL2, LTR1, LTR2, LTR1,"
        " LTR2; ESA order), 8 heads, batch 1, float32, against PyTorch's"
        " `scaled_dot_product_attention` without a mask (`sdpa`) and with the pattern's"
        " boolean mask (`sdpa+mask`). `dense`, `grouped` and `flex` are ylg's backends"
        " (`flex` only on small grids: its CPU path is PyTorch's unfused reference, forward"
        " only). Times are the best of at least 3 runs after a warm-up (up to 20 while they"
        " take under 1 s; methods slower than 3 s: the better of the warm-up and one run);"
        " peak MiB is the rise of the resident set during one forward+backward run."
        " Ratios: how many times faster than masked and unmasked SDPA (forward+backward)."
        " Methods whose full `[B, H, nq, nk]` tensors do not fit in memory run head by"
        " head (times summed; peak memory: one head's times 8). The video layer"
        " (`YLGAttention3d`, 256 channels, 8 heads, a 3x3x3 neighbourhood) is timed whole"
        " (projections included), forward only.",
        "",
        f"Machine: {machine().rsplit(' (', 1)[0]}; thread counts below.",
        "",
    ]
    for threads, rows, text, load, videos in sections:
        md += [f"### {threads} thread(s)", "", load, "", *summary(rows), "", text, ""]
        md += ["Video layer:", "", *videos, ""]
    write_section("attention", "\n".join(md))
    layer_section(counts)


if __name__ == "__main__":
    main()
