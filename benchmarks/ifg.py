"""Information Flow Graph speed: the Full-Information check from 16x16 to 128x128.

For LTR with ESA: the time to build the step matrices, the time of the check on them
(packed-bit products), the whole ``full_information`` call and its peak memory, beside
the same verdict by networkx graph search where that finishes in reasonable time. Then
the other library patterns at 128x128, and max-flow queries at 128x128.

Verification across layers (its own section, ``ifg-stack``): four layers of a 7x7x7
neighbourhood on video grids up to 16x32x32, by the Kronecker fast path, by packed bits
on the whole grid and by networkx; the 3-D library patterns stacked at 16x32x32; max flow
across layers.

Exact 2-token flow (its own section, ``ifg-kflow``): the one-token-cut check against the
general walk over token cuts, side by side in one run.

Run: .venv/bin/python benchmarks/ifg.py   (rewrites its sections of docs/benchmarks.md;
``benchmarks/ifg.py stack`` or ``benchmarks/ifg.py kflow`` runs that section only)
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from _report import arguments, machine, write_section
from tqdm import tqdm

from ylg.ifg import full_information, reach_matrices
from ylg.ifg.flow import FlowNetwork
from ylg.ifg.layers import step_matrices
from ylg.ifg.reach import full_information_networkx
from ylg.ifg.stack import (
    Stack,
    layers_needed,
    stack_flow_network,
    stack_full_information_networkx,
    verify_stack,
)
from ylg.patterns import load_pattern
from ylg.patterns.union import step_union

REPEATS = 3
SIDES = (16, 32, 64, 128)
#: networkx runs at a size only while the previous size took less than this.
NETWORKX_SECONDS = 20.0


def best(fn: Callable[[], Any], repeats: int = REPEATS) -> tuple[float, Any]:
    """Fastest of ``repeats`` runs, and the last result."""
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def peak_mib(fn: Callable[[], Any]) -> float:
    """Peak traced memory (numpy and scipy allocations included) of one call, MiB."""
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def ltr_rows() -> list[str]:
    rows = []
    networkx_ok = True
    for side in tqdm(SIDES, desc="ltr+esa", unit="grid"):
        masks = load_pattern("ltr").on((side, side))
        build, mats = best(lambda m=masks: step_matrices(m))
        check, _ = best(lambda mats=mats: reach_matrices(mats).count())
        total, fi = best(lambda m=masks: full_information(m))
        memory = peak_mib(lambda m=masks: full_information(m))
        edges = sum(m.nnz for m in mats)
        slow = "not run"
        if networkx_ok:
            seconds, ref = best(lambda m=masks: full_information_networkx(m), repeats=1)
            assert ref.holds == fi.holds and ref.missing == fi.missing
            slow = f"{1e3 * seconds:.0f}"
            networkx_ok = seconds < NETWORKX_SECONDS
        rows.append(
            f"| {side}x{side} | {side * side} | {edges} | {1e3 * build:.1f} | {1e3 * check:.1f} |"
            f" {1e3 * total:.1f} | {memory:.0f} | {slow} | {'yes' if fi.holds else 'no'} |"
        )
    return rows


def pattern_rows() -> list[str]:
    rows = []
    names = ("ltr", "rtl", "fixed", "fixed-fi", "strided", "strided-fi", "axial", "star")
    for name in tqdm(names, desc="patterns at 128x128", unit="pattern"):
        masks = load_pattern(name).on("128x128")
        mats = step_matrices(masks)
        check, reach = best(lambda mats=mats: reach_matrices(mats))
        total, fi = best(lambda m=masks: full_information(m))
        way = "outputs" if reach.rows_are_outputs else "inputs"
        rows.append(
            f"| {name} | {masks.order} | {fi.missing} | {1e3 * check:.1f} | {1e3 * total:.1f} |"
            f" {way} |"
        )
    return rows


def flow_rows() -> list[str]:
    masks = load_pattern("ltr").on("128x128")
    build, net = best(lambda: FlowNetwork(masks), repeats=1)
    vertices, arcs = net.graph.shape[0], net.graph.nnz
    rows = [f"| build the split graph ({vertices} vertices, {arcs} arcs) | {1e3 * build:.1f} | |"]
    for k in (2, 16, 128):
        sources = list(range(0, 16384, 16384 // k))[:k]
        sinks = list(range(7, 16384, 16384 // k))[:k]
        seconds, flow = best(lambda s=sources, t=sinks: net.max_flow(s, t))
        rows.append(f"| max flow, {k} inputs to {k} outputs | {1e3 * seconds:.1f} | {flow.value} |")
    return rows


#: Video grids of the stack benchmark, and its depth.
VIDEO_GRIDS = ("2x4x4", "4x8x8", "8x16x16", "16x32x32")
DEPTH = 4
#: The general path runs once where one run takes longer than this.
ONCE_SECONDS = 5.0
#: networkx checks stacks of at most this many tokens a layer (a graph search from
#: every input: 256 tokens take about 25 s, 2048 would take hours).
NETWORKX_TOKENS = 256


def maybe_best(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Best of :data:`REPEATS` runs, or the one run when it took over ONCE_SECONDS."""
    start = time.perf_counter()
    out = fn()
    first = time.perf_counter() - start
    if first > ONCE_SECONDS:
        return first, out
    seconds, out = best(fn, REPEATS - 1)
    return min(first, seconds), out


def video_rows() -> list[str]:
    """na (7x7x7) x4 on video grids: fast path, packed bits on the whole grid, networkx."""
    rows = []
    for grid in tqdm(VIDEO_GRIDS, desc="na x4", unit="grid"):

        def fast(grid: str = grid) -> Any:
            na = load_pattern("na").on(grid)
            return verify_stack([na] * DEPTH, cycle=na)

        fast_s, verdict = best(fast)
        na = load_pattern("na").on(grid)
        build_s, _ = maybe_best(lambda na=na: na.csr(0))
        general = Stack([na] * DEPTH)
        general.csr(0)  # the same matrix (from the factors), kept for the runs below
        check_s, slow = maybe_best(
            lambda g=general: verify_stack(g, method="bitsets", needed=False)
        )
        needed_s, needed = maybe_best(
            lambda na=na, g=general: layers_needed(Stack([na], share=g), method="bitsets")
        )
        assert slow.full_information.missing == verdict.full_information.missing
        assert needed.layers == verdict.needed.layers
        keys = na.csr(0).nnz / na.nk
        networkx = "not run"
        if na.nk <= NETWORKX_TOKENS:
            seconds, ref = best(
                lambda na=na: stack_full_information_networkx([na] * DEPTH), repeats=1
            )
            assert ref.missing == verdict.full_information.missing
            networkx = f"{1e3 * seconds:.0f}"
        rf = verdict.receptive
        rows.append(
            f"| {grid} | {na.nk} | {keys:.0f} | {1e3 * fast_s:.1f} | {1e3 * build_s:.0f} |"
            f" {1e3 * check_s:.0f} | {1e3 * needed_s:.0f} | {networkx} |"
            f" {'yes' if verdict.holds else 'no'} | {verdict.needed.layers} |"
            f" {rf.min} / {rf.mean:.0f} / {rf.max} |"
        )
    return rows


def video_pattern_rows() -> list[str]:
    """The 3-D library patterns, four layers each (and an alternating pair) at 16x32x32."""
    grid = "16x32x32"
    cases: list[tuple[str, Callable[[], tuple[list[Any], list[Any]]]]] = []
    for name in ("na", "dilated-na", "gna", "sta", "block-global", "radial"):

        def laid(name: str = name) -> tuple[list[Any], list[Any]]:
            masks = load_pattern(name).on(grid)
            return [masks] * DEPTH, [masks]

        cases.append((f"{name} x{DEPTH}", laid))

    def alternating() -> tuple[list[Any], list[Any]]:
        pair = [load_pattern("na").on(grid), load_pattern("dilated-na").on(grid)]
        return pair * (DEPTH // 2), pair

    def side_by_side() -> tuple[list[Any], list[Any]]:
        near, far = load_pattern("na").on(grid), load_pattern("dilated-na").on(grid)
        both = step_union([(near, 0), (far, 0)]).on(grid)
        return [both] * DEPTH, [both]

    cases.append(("na, dilated-na alternating", alternating))
    cases.append(("na + dilated-na side by side (their union)", side_by_side))
    rows = []
    for label, make in tqdm(cases, desc=f"3-D patterns at {grid}", unit="stack"):

        def run(make: Callable[[], tuple[list[Any], list[Any]]] = make) -> Any:
            layers, cycle = make()
            return verify_stack(layers, cycle=cycle, max_layers=64)

        seconds, verdict = maybe_best(run)
        needed = verdict.needed
        text = str(needed.layers) if needed.layers is not None else needed.reason
        rf = verdict.receptive
        rows.append(
            f"| {label} | {verdict.full_information.method} | {1e3 * seconds:.0f} |"
            f" {'yes' if verdict.holds else 'no'} | {text} | {rf.min} / {rf.mean:.0f} / {rf.max} |"
        )
    return rows


def stack_flow_rows() -> list[str]:
    na = load_pattern("na").on("8x16x16")
    build, net = best(lambda: stack_flow_network([na] * DEPTH), repeats=1)
    vertices, arcs = net.graph.shape[0], net.graph.nnz
    rows = [f"| build the split graph ({vertices} vertices, {arcs} arcs) | {1e3 * build:.1f} | |"]
    for k in (2, 16, 128):
        sources = list(range(0, 2048, 2048 // k))[:k]
        sinks = list(range(5, 2048, 2048 // k))[:k]
        seconds, flow = best(lambda s=sources, t=sinks: net.max_flow(s, t))
        rows.append(f"| max flow, {k} inputs to {k} outputs | {1e3 * seconds:.1f} | {flow.value} |")
    return rows


def stack_main() -> None:
    videos = video_rows()
    patterns = video_pattern_rows()
    flows = stack_flow_rows()
    text = "\n".join(
        [
            "## Verification across layers (`benchmarks/ifg.py`)",
            "",
            f"Machine: {machine()}. Best of {REPEATS} runs (one run where it took over"
            f" {ONCE_SECONDS:.0f} s).",
            "",
            f"{DEPTH} layers of `na` (NATTEN's neighbourhood, 7x7x7 cells, windows shifted"
            " inwards at the borders). *fast*: the whole `verify_stack` call from the"
            " pattern (Full Information, receptive fields and the layers needed), split per"
            " grid axis (Kronecker); the *general path* does the same on packed bits over"
            ' the whole grid (`method="bitsets"`): *masks* builds one step\'s CSR matrix'
            " from the pattern expression, *FI + RF* the reach through the 4 layers with"
            " the receptive fields, *needed* the layers needed (10 at 16x32x32, one reach"
            " per layer); *networkx*: Full Information by graph search (run up to"
            f" {NETWORKX_TOKENS} tokens; it grows with tokens times edges). *receptive field*:"
            " inputs reaching an output, min / mean / max.",
            "",
            "| grid | tokens | keys per query | fast (ms) | masks (ms) | FI + RF (ms) |"
            " needed (ms) | networkx (ms) | full information | layers needed |"
            " receptive field |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
            *videos,
            "",
            f"The 3-D library patterns at 16x32x32, {DEPTH} layers each (their default"
            " parameters), from the pattern name to the verdict: *path* `kronecker` where"
            " every step splits per axis (found from the masks' `axis_factors`, or from"
            " the stored entries), `bitsets` otherwise (the masks of 268M (query, key)"
            " pairs built by tiles, then the reach on packed bits). *layers needed*: the"
            " pattern repeated (the pair alternating), at most 64 layers tried; `never`:"
            " the reach comes back to an earlier state without being full. *side by side*:"
            " the two on heads of one layer, the union of their steps (`step_union`): it"
            " splits only between the frame axis (the same in both) and the frame's two"
            " axes, so the reach runs on 1024-cell frames.",
            "",
            "| stack | path | total (ms) | full information | layers needed | receptive field |",
            "|---|---|---|---|---|---|",
            *patterns,
            "",
            f"Max flow across {DEPTH} layers of `na` at 8x16x16 (2,048 tokens; the split"
            " graph of all 4 layers, built once and reused per query).",
            "",
            "| what | ms | flow |",
            "|---|---|---|",
            *flows,
        ]
    )
    print(text)
    write_section("ifg-stack", text)


#: Exact 2-token flow: (pattern, grids); the general walk runs while it took under
#: GENERAL_SECONDS at the size before.
KFLOW_CASES = (("ltr", (8, 16, 32, 64)), ("axial", (8, 16, 32, 64)), ("dense", (8, 16, 32)))
GENERAL_SECONDS = 5.0


def kflow_rows() -> list[str]:
    from ylg.ifg.kflow import _exact, _exact_two
    from ylg.ifg.layers import layer_grids

    rows = []
    for name, sides in KFLOW_CASES:
        general_ok = True
        for side in sides:
            masks = load_pattern(name).on(f"{side}x{side}")
            fast, (flow, _) = best(lambda m=masks: _exact_two(m, examples=3))
            general, ratio, same = "", "", ""
            if general_ok:
                grids = layer_grids(masks)
                seconds, (slow_flow, _) = best(
                    lambda m=masks, g=grids: _exact(m, 2, g, 3, False), repeats=1
                )
                general_ok = seconds < GENERAL_SECONDS
                general = f"{seconds:.3f}"
                ratio = f"{seconds / fast:.0f}x"
                same = "yes" if slow_flow == flow else "NO"
            rows.append(
                f"| {name} | {side}x{side} | {general} | {fast:.4f} | {ratio} | {flow} | {same} |"
            )
    return rows


def kflow_main() -> None:
    rows = kflow_rows()
    text = "\n".join(
        [
            "## Exact 2-token flow (`benchmarks/ifg.py kflow`)",
            "",
            f"Machine: {machine()}. Best of {REPEATS} runs for the one-token cuts; the"
            " general walk over token cuts (every cut of 0 or 1 token, reachability"
            f" without it) once, while it took under {GENERAL_SECONDS:.0f} s at the size"
            " before. *min flow*: the smallest flow of a pair of 2-sets (2: the property"
            " holds, which needs the whole search); *same*: both give it.",
            "",
            "| pattern | grid | general walk (s) | one-token cuts (s) | ratio | min flow | same |",
            "|---|---|---|---|---|---|---|",
            *rows,
        ]
    )
    print(text)
    write_section("ifg-kflow", text)


def main() -> None:
    part = arguments(__doc__, ("stack", "kflow"))
    if part == "stack":
        stack_main()
        return
    if part == "kflow":
        kflow_main()
        return
    ltr = ltr_rows()
    patterns = pattern_rows()
    flows = flow_rows()
    text = "\n".join(
        [
            "## Information Flow Graphs (`benchmarks/ifg.py`)",
            "",
            f"Machine: {machine()}. Best of {REPEATS} runs.",
            "",
            "Full Information of LTR with ESA. *build*: the CSR step matrices from the"
            " pattern expressions; *check*: the packed-bit products on them; *total*: the"
            " whole `full_information` call (build + check + counting); *peak*: traced"
            " peak memory of that call; *networkx*: the same verdict by graph search"
            f" (run while the previous size took under {NETWORKX_SECONDS:.0f} s).",
            "",
            "| grid | tokens | edges | build (ms) | check (ms) | total (ms) | peak MiB |"
            " networkx (ms) | holds |",
            "|---|---|---|---|---|---|---|---|---|",
            *ltr,
            "",
            "Other patterns at 128x128 (ESA where the pattern says so). *check* on built"
            " matrices, *total* with the build; *rows* is the end of the chain the"
            " products start from (outputs: backwards from step 1; inputs: forwards from"
            " the last step, transposed), chosen by fewer gathered words.",
            "",
            "| pattern | order | missing pairs | check (ms) | total (ms) | rows |",
            "|---|---|---|---|---|---|",
            *patterns,
            "",
            "Max flow on LTR at 128x128 (scipy's Dinic on the vertex-split graph, built"
            " once and reused per query; the time includes the minimum cut).",
            "",
            "| what | ms | flow |",
            "|---|---|---|",
            *flows,
        ]
    )
    print(text)
    write_section("ifg", text)
    stack_main()
    kflow_main()


if __name__ == "__main__":
    main()
