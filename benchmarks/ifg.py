"""Information Flow Graph speed: the Full-Information check from 16x16 to 128x128.

For LTR with ESA: the time to build the step matrices, the time of the check on them
(packed-bit products), the whole ``full_information`` call and its peak memory, beside
the same verdict by networkx graph search where that finishes in reasonable time. Then
the other library patterns at 128x128, and max-flow queries at 128x128.

Run: .venv/bin/python benchmarks/ifg.py   (rewrites its section of docs/benchmarks.md)
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from _report import machine, write_section
from tqdm import tqdm

from ylg.ifg import full_information, full_information_networkx, reach_matrices
from ylg.ifg.flow import FlowNetwork
from ylg.ifg.layers import step_matrices
from ylg.patterns import load_pattern

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


def main() -> None:
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


if __name__ == "__main__":
    main()
