"""``make gpu-check``: ylg's CUDA path checked and timed on one GPU, in one command.

a. every CUDA backend against float64 dense attention computed on the GPU, forward and
   gradients: SAGAN's layout (32x32 queries over 16x16 keys, 4-channel heads), 64x64
   and 128x128 grids with 64-channel heads; fp32 and bf16;
b. forward+backward of ylg's fused flex vs SDPA without a mask (FlashAttention) vs SDPA
   with the boolean mask at 64x64, 128x128 and 256x256 tokens (8 heads, d = 64, bf16,
   batch 4): CUDA events, median of many runs after warm-up, and peak memory;
c. a 128 px YLG-SAGAN train step against SAGAN's (batch 32, bf16 autocast, compiled and
   not), and a few steps of ``ylg train`` end to end;
d. the tables (device, torch version) into docs/benchmarks.md (and ``--out-dir``), and a
   short summary printed last;
o. (if time is left) FlexAttention on a video pattern (``na`` on 16x32x32) with the
   tokens laid in each order and with ylg's tile planner: does the share of tiles
   visited predict the kernel's time?
t. (if time is left) a video transformer's attention layer, ``SparseSelfAttention``
   (512 channels, 8 heads of 64, ``na`` 3x7x7 on 8x32x32 tokens, batch 1, bf16
   autocast): its output and gradients against the same layer in float64 through the
   dense backend, and forward+backward eager, compiled, and with plain SDPA (no mask:
   FlashAttention over all 8192 tokens) in its place.

It needs CUDA (without it, it exits 1 with one line saying so) and runs from a source
tree without installing ylg's dependencies' exact versions::

    PYTHONPATH=. python3 benchmarks/gpu_check.py [--out-dir DIR] [--budget-s 420]

``--cpu-smoke`` runs every part at toy sizes on the CPU (fused flex forward only, no
compilation of the models) so the script itself is tested where no GPU is; it writes
only to ``--out-dir``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from ylg.attention import dense as dense_backend  # noqa: E402
from ylg.attention import flex as flex_backend  # noqa: E402
from ylg.attention import head_masks, sparse_attention  # noqa: E402

GOALS = {"fp32": 1e-5, "bf16": 2e-2}
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


@dataclass
class Report:
    """Markdown lines per part, summary lines, and every number as JSON."""

    device: str
    parts: dict[str, list[str]] = field(default_factory=dict)
    summary: list[str] = field(default_factory=list)
    data: dict[str, object] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


class Budget:
    """Seconds left of the whole run; parts ask before starting heavy work."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_ms(
    fn: Callable[[], None],
    device: torch.device,
    *,
    warmup: int = 3,
    runs: int = 30,
    max_s: float = 3.0,
) -> list[float]:
    """Milliseconds of each run after ``warmup`` runs (CUDA events on a GPU)."""
    for _ in range(warmup):
        fn()
    _sync(device)
    out: list[float] = []
    spent = time.monotonic()
    for _ in range(runs):
        if device.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            out.append(start.elapsed_time(end))
        else:
            t = time.perf_counter()
            fn()
            out.append((time.perf_counter() - t) * 1000)
        if len(out) >= 5 and time.monotonic() - spent > max_s:
            break
    return out


def peak_mib(fn: Callable[[], None], device: torch.device) -> float | None:
    """Peak GPU memory above what was allocated before one run (MiB)."""
    if device.type != "cuda":
        fn()
        return None
    _sync(device)
    torch.cuda.reset_peak_memory_stats(device)
    base = torch.cuda.memory_allocated(device)
    fn()
    _sync(device)
    return (torch.cuda.max_memory_allocated(device) - base) / 2**20


def _is_oom(exc: BaseException) -> bool:
    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower()


def _free() -> None:
    import gc

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


# -- a. correctness --------------------------------------------------------------------
@dataclass(frozen=True)
class Layout:
    label: str
    grid: str
    query_grid: str | None
    d: int
    dv: int
    batch: int
    scale: bool
    pattern: str = "ylg"
    nonsquare: str | None = None


def correctness_layouts(smoke: bool) -> list[Layout]:
    if smoke:
        return [
            Layout("SAGAN-like 8x8 q / 4x4 k, d=4", "4x4", "8x8", 4, 16, 2, False),
            Layout("16x16, d=16", "16x16", None, 16, 16, 1, True),
            Layout(
                "video 2x8x8 q / 2x4x4 k, na, d=16",
                "2x4x4",
                "2x8x8",
                16,
                16,
                1,
                True,
                "na",
                "spatial",
            ),
        ]
    return [
        Layout("SAGAN 32x32 q / 16x16 k, d=4", "16x16", "32x32", 4, 16, 4, False),
        Layout("64x64, d=64", "64x64", None, 64, 64, 1, True),
        Layout("128x128, d=64", "128x128", None, 64, 64, 1, True),
        Layout(
            "video 8x32x32 q / 8x16x16 k, na, d=64",
            "8x16x16",
            "8x32x32",
            64,
            64,
            1,
            True,
            "na",
            "spatial",
        ),
        Layout("video 16x32x32, gna, d=64", "16x32x32", None, 64, 64, 1, True, "gna"),
    ]


def _rel(got: torch.Tensor, want: torch.Tensor) -> float:
    got, want = got.double(), want.double()
    if not torch.isfinite(got).all():
        return math.inf
    return float((got - want).norm() / want.norm().clamp_min(1e-300))


def reference(q, k, v, w, masks, scale: bool):  # type: ignore[no-untyped-def]
    """float64 dense attention and its gradients, head by head (bounded memory)."""
    mask = dense_backend.prepare(masks.last_steps(), q.device, torch.float64)
    factor = 1.0 / math.sqrt(q.shape[-1]) if scale else 1.0
    outs, grads = [], ([], [], [])
    for h in range(q.shape[1]):
        qh, kh, vh = (t[:, h : h + 1].double().detach().requires_grad_() for t in (q, k, v))
        logits = torch.matmul(qh, kh.transpose(-1, -2)) * factor
        logits = logits.masked_fill(~mask[h : h + 1], float("-inf"))
        out = torch.matmul(torch.softmax(logits, -1), vh)
        gq, gk, gv = torch.autograd.grad((out * w[:, h : h + 1].double()).sum(), (qh, kh, vh))
        outs.append(out.detach())
        for acc, g in zip(grads, (gq, gk, gv)):
            acc.append(g)
        del logits, out
    return torch.cat(outs, 1), tuple(torch.cat(g, 1) for g in grads)


def part_correctness(rep: Report, device: torch.device, budget: Budget, smoke: bool) -> None:
    backends = ["dense", "grouped", "sdpa", "flex", "flex-eager"]
    lines = [
        "| layout | dtype | backend | forward rel. error | gradient rel. error (q, k, v) | goal |",
        "|---|---|---|---|---|---|",
    ]
    results = []
    for lay in correctness_layouts(smoke):
        masks = head_masks(
            lay.pattern,
            grid=lay.grid,
            query_grid=lay.query_grid,
            nonsquare=lay.nonsquare,
            num_heads=8,
            verify=lay.pattern == "ylg",  # one layer of a local pattern never has it
        )
        g = torch.Generator(device="cpu").manual_seed(0)
        shapes = (
            (lay.batch, 8, masks.nq, lay.d),
            (lay.batch, 8, masks.nk, lay.d),
            (lay.batch, 8, masks.nk, lay.dv),
        )
        base = [torch.randn(s, generator=g).to(device) for s in shapes]
        w = torch.randn(lay.batch, 8, masks.nq, lay.dv, generator=g).to(device)
        for dname in ("fp32", "bf16") if not smoke else ("fp32",):
            if budget.left() < 60:
                rep.failures.append(f"a: stopped before {lay.label} {dname}: time budget")
                break
            dtype = DTYPES[dname]
            inputs = [t.to(dtype) for t in base]
            ref, ref_grads = reference(*inputs, w, masks, lay.scale)
            for backend in backends:
                if backend == "flex-eager" and masks.nq * masks.nk > 4096 * 4096:
                    continue  # the unfused path materialises every score: only small layouts
                row = {"layout": lay.label, "dtype": dname, "backend": backend}
                try:
                    q, k, v = (t.detach().clone().requires_grad_() for t in inputs)
                    backward = not (device.type == "cpu" and backend.startswith("flex"))
                    with torch.set_grad_enabled(backward):
                        out = sparse_attention(q, k, v, masks, backend=backend, scale=lay.scale)
                        row["forward"] = _rel(out, ref)
                        if backward:
                            grads = torch.autograd.grad((out * w.to(out.dtype)).sum(), (q, k, v))
                            row["grads"] = [_rel(a, b) for a, b in zip(grads, ref_grads)]
                    errs = [row["forward"], *row.get("grads", [])]
                    row["ok"] = all(e <= GOALS[dname] for e in errs)
                except Exception as exc:  # noqa: BLE001 - reported, and the check goes on
                    row["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
                    row["ok"] = False
                    if not _is_oom(exc):
                        traceback.print_exc()
                results.append(row)
                grads_txt = ", ".join(f"{e:.1e}" for e in row["grads"]) if "grads" in row else "-"
                fwd = row.get("error") or f"{row['forward']:.1e}"
                verdict = "ok" if row["ok"] else "**missed**"
                lines.append(
                    f"| {lay.label} | {dname} | {backend} | {fwd} | {grads_txt} |"
                    f" <= {GOALS[dname]:g}: {verdict} |"
                )
                print(f"a. {lay.label} {dname} {backend}: {fwd} / {grads_txt}", flush=True)
                _free()
            del ref, ref_grads
            _free()
    rep.parts["a"] = lines
    rep.data["correctness"] = results
    bad = [r for r in results if not r["ok"]]
    rep.summary.append(
        f"a. correctness: {len(results) - len(bad)} of {len(results)} backend checks within"
        f" goal" + ("" if not bad else f"; missed: {', '.join(_short(r) for r in bad[:6])}")
    )


def _short(r: dict) -> str:
    return f"{r['backend']} {r['dtype']} {r['layout'].split(',')[0]}"


# -- b. attention timing -------------------------------------------------------------
def _time_grid(
    grid: str,
    shape: tuple[int, int, int],
    dtype: torch.dtype,
    device: torch.device,
    total: int,
    smoke: bool,
) -> list[dict]:
    """Rows of part b for one square grid: flex, SDPA without and with the mask."""
    batch, heads, d = shape
    masks = head_masks("ylg", grid=grid)
    n = masks.nq
    leaves, grad_out = _qkv((batch, heads, n, d), dtype, device, seed=1)
    cache: dict = {}
    mask_bytes = heads * n * n
    methods: dict[str, Callable[[], torch.Tensor] | str] = {
        "flex (ylg)": lambda: sparse_attention(
            *leaves, masks, backend="flex", scale=True, cache=cache
        ),
        "SDPA, no mask": lambda: F.scaled_dot_product_attention(*leaves),
    }
    if device.type == "cuda" and mask_bytes * (1 + 2 * batch) > 0.9 * total:
        methods["SDPA + bool mask"] = (
            f"cannot run: the mask alone is {mask_bytes / 2**30:.0f} GiB, SDPA's bias"
            f" {batch * mask_bytes * 2 / 2**30:.0f} GiB (GPU: {total / 2**30:.0f} GiB)"
        )
    else:
        mask = dense_backend.prepare(masks.last_steps(), device, dtype)
        methods["SDPA + bool mask"] = lambda: F.scaled_dot_product_attention(
            *leaves, attn_mask=mask
        )
    plans = [flex_backend.step_plan(s) for s in masks.last_steps()]
    info = {
        "grid": grid,
        "tokens": n,
        "pair_share": sum(p.pairs for p in plans) / (len(plans) * n * n),
        "tile_share": sum(p.nonempty for p in plans) / sum(p.tiles_total for p in plans),
    }
    rows = []
    for name, fn in methods.items():
        row = dict(info, method=name)
        rows.append(row)
        if isinstance(fn, str):
            row["error"] = fn
            continue
        forward_only = device.type == "cpu" and name.startswith("flex")
        step = _fwd_bwd(fn, leaves, grad_out, forward_only)
        try:
            ms = time_ms(step, device, runs=5 if smoke else 40)
            row["median_ms"] = statistics.median(ms)
            row["runs"] = len(ms)
            row["peak_mib"] = peak_mib(step, device)
        except Exception as exc:  # noqa: BLE001 - reported
            oom = _is_oom(exc)
            row["error"] = "out of memory" if oom else f"{type(exc).__name__}: {exc}"[:160]
            if not oom:
                traceback.print_exc()
        _free()
    return rows


def _qkv(
    shape: tuple[int, int, int, int], dtype: torch.dtype, device: torch.device, seed: int
) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Queries, keys and values (leaves that take gradients) and an output gradient,
    drawn on the CPU from ``seed`` so every device sees the same numbers."""
    g = torch.Generator(device="cpu").manual_seed(seed)
    leaves = [torch.randn(shape, generator=g).to(device, dtype).requires_grad_() for _ in range(3)]
    return leaves, torch.randn(shape, generator=g).to(device, dtype)


def _fwd_bwd(
    fn: Callable[[], torch.Tensor],
    leaves: list[torch.Tensor],
    grad_out: torch.Tensor,
    forward_only: bool,
) -> Callable[[], None]:
    def step() -> None:
        for t in leaves:
            t.grad = None
        if forward_only:  # FlexAttention has no backward pass on the CPU
            with torch.no_grad():
                fn()
            return
        fn().backward(grad_out)

    return step


def part_attention(rep: Report, device: torch.device, budget: Budget, smoke: bool) -> None:
    grids = ["16x16", "32x32"] if smoke else ["64x64", "128x128", "256x256"]
    batch, heads, d = (1, 8, 16) if smoke else (4, 8, 64)
    dtype = torch.float32 if smoke else torch.bfloat16
    total = torch.cuda.get_device_properties(device).total_memory if device.type == "cuda" else 0
    lines = [
        f"Forward+backward, {heads} heads, d = {d}, batch {batch}, {str(dtype).split('.')[-1]},"
        " 1/sqrt(d) scaling; median of the runs after 3 warm-up runs (CUDA events); peak"
        " memory above the inputs.",
        "",
        "| tokens | method | median ms | peak MiB | pairs / tiles visited |",
        "|---|---|---|---|---|",
    ]
    results = []
    for grid in grids:
        if budget.left() < 45:
            rep.failures.append(f"b: stopped before {grid}: time budget")
            break
        shape = (batch, heads, d)
        for row in _time_grid(grid, shape, dtype, device, total, smoke):
            results.append(row)
            ms_txt = row.get("error") or f"{row['median_ms']:.2f}"
            peak = row.get("peak_mib")
            flex = row["method"].startswith("flex")
            share = f"{100 * row['pair_share']:.2f}% / {100 * row['tile_share']:.2f}%"
            peak_txt = "-" if peak is None else f"{peak:.0f}"
            lines.append(
                f"| {row['tokens']} ({grid}) | {row['method']} | {ms_txt} | {peak_txt} |"
                f" {share if flex else ''} |"
            )
            print(f"b. {grid} {row['method']}: {ms_txt} ms, peak {peak_txt} MiB", flush=True)
        _free()
    rep.parts["b"] = lines
    rep.data["attention"] = results
    for grid in grids:
        rows = {r["method"]: r for r in results if r["grid"] == grid}
        flex = rows.get("flex (ylg)", {}).get("median_ms")
        if flex is None:
            continue
        parts = []
        for other in ("SDPA, no mask", "SDPA + bool mask"):
            ms = rows.get(other, {}).get("median_ms")
            parts.append(
                f"{ms / flex:.1f}x vs {other}"
                if ms
                else f"{other}: {rows.get(other, {}).get('error', '-')[:40]}"
            )
        rep.summary.append(f"b. {grid}: flex {flex:.2f} ms; " + "; ".join(parts))


# -- o. token orders ----------------------------------------------------------------
ORDERS = ("rowmajor", "hilbert", "zorder", "esa")


def part_orders(rep: Report, device: torch.device, budget: Budget, smoke: bool) -> None:
    """FlexAttention on one video pattern with its tokens laid in each order, and with
    ylg's tile planner: does the share of tiles visited predict the kernel's time?"""
    from ylg.attention.export import block_mask
    from ylg.patterns import load_pattern

    if budget.left() < 100 and not smoke:
        rep.failures.append("o: not run: time budget")
        return
    grid, tile = ("4x8x8" if smoke else "16x32x32"), 128
    params = {"win_t": 3, "win_i": 3, "win_j": 3} if smoke else {}
    masks = load_pattern("na").with_params(params).on(grid)
    batch, heads, d = (1, 2, 16) if smoke else (1, 8, 64)
    dtype = torch.float32 if smoke else torch.bfloat16
    n = masks.nk
    leaves, grad_out = _qkv((batch, heads, n, d), dtype, device, seed=3)
    kernel = flex_backend._kernel(compiled=True)
    tiles_total = (-(-n // tile)) ** 2
    forward_only = device.type == "cpu"  # FlexAttention has no backward pass on the CPU
    if forward_only:
        leaves = [t.detach() for t in leaves]
    methods: list[tuple[str, float | None, Callable[[], torch.Tensor]]] = []
    for order in ORDERS:
        bm = block_mask(masks, tile=tile, device=device, token_order=order)
        visited = int(bm.kv_num_blocks.sum() + bm.full_kv_num_blocks.sum())
        methods.append((order, visited / tiles_total, lambda bm=bm: kernel(*leaves, block_mask=bm)))
    heads_masks = head_masks(masks.pattern, layout=masks.layout, num_heads=heads, verify=False)
    plans = [flex_backend.step_plan(s) for s in heads_masks.last_steps()]
    planned = sum(p.nonempty for p in plans) / sum(p.tiles_total for p in plans)
    cache: dict = {}
    methods.append(
        (
            "ylg's planner",
            planned,
            lambda: sparse_attention(*leaves, heads_masks, backend="flex", scale=True, cache=cache),
        )
    )
    methods.append(("SDPA, no mask", None, lambda: F.scaled_dot_product_attention(*leaves)))
    lines = [
        f"`na` (7x7x7 neighbourhood) on {grid} ({n} tokens), {heads} heads, d = {d}, batch"
        f" {batch}, {str(dtype).split('.')[-1]}, {tile}-tiles; forward"
        f"{'' if forward_only else '+backward'}, median after warm-up.",
        "",
        "| tokens laid in | tiles visited | median ms | ms / rowmajor's |",
        "|---|---|---|---|",
    ]
    rows = []
    for name, share, fn in methods:
        if budget.left() < 30 and not smoke:
            rep.failures.append(f"o: stopped before {name}: time budget")
            break
        row: dict[str, object] = {"order": name, "tile_share": share}
        try:
            ms = time_ms(
                _fwd_bwd(fn, leaves, grad_out, forward_only), device, runs=5 if smoke else 30
            )
            row["median_ms"] = statistics.median(ms)
        except Exception as exc:  # noqa: BLE001 - reported
            row["error"] = f"{type(exc).__name__}: {exc}"[:160]
            traceback.print_exc()
        rows.append(row)
        _free()
    base = next((r.get("median_ms") for r in rows if r["order"] == "rowmajor"), None)
    for row in rows:
        ms = row.get("median_ms")
        share = row["tile_share"]
        share_txt = "all (dense)" if share is None else f"{100 * float(share):.1f}%"
        ms_txt = row.get("error") or f"{ms:.2f}"
        ratio = f"{ms / base:.2f}" if ms and base else "-"
        lines.append(f"| {row['order']} | {share_txt} | {ms_txt} | {ratio} |")
        print(f"o. {row['order']}: {ms_txt} ms, tiles {share_txt}", flush=True)
    rep.parts["o"] = lines
    rep.data["orders"] = rows
    timed = {str(r["order"]): r["median_ms"] for r in rows if "median_ms" in r}
    if base and len(timed) > 1:
        best = min(timed, key=lambda k: timed[k])
        rep.summary.append(
            f"o. na on {grid}: fastest {best} ({timed[best]:.2f} ms, "
            f"{base / timed[best]:.2f}x rowmajor); "
            + ", ".join(f"{k} {v / base:.2f}" for k, v in timed.items() if k != "rowmajor")
            + " of rowmajor's time"
        )


# -- t. a transformer's attention layer --------------------------------------------
def part_tokens(rep: Report, device: torch.device, budget: Budget, smoke: bool) -> None:
    from ylg.attention import SparseSelfAttention
    from ylg.patterns import load_pattern

    dim, heads, grid, batch = (64, 4, "2x8x8", 1) if smoke else (512, 8, "8x32x32", 1)
    if budget.left() < 60:
        rep.failures.append("t: skipped: time budget")
        return
    na = load_pattern("na").with_params(win_t=3, win_i=7, win_j=7)
    torch.manual_seed(0)
    layer = SparseSelfAttention(dim, na, grid=grid, num_heads=heads, verify=False).to(device)
    tokens = layer.grid.size
    x = torch.randn(batch, tokens, dim, device=device)
    w = torch.randn(batch, tokens, dim, device=device)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=not smoke)

    def run(module: torch.nn.Module, inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        inputs = inputs.detach().requires_grad_()
        out = module(inputs)
        grads = torch.autograd.grad((out * w.to(out.dtype)).sum(), (inputs, module.qkv.weight))
        return (out, *grads)

    reference = SparseSelfAttention(
        dim, na, grid=grid, num_heads=heads, verify=False, backend="dense"
    ).to(device, torch.float64)
    reference.load_state_dict(layer.state_dict())
    want = run(reference, x.double())
    with autocast:
        got = run(layer, x)
    errors = [_rel(a, b) for a, b in zip(got, want)]
    goal = GOALS["fp32" if smoke else "bf16"]
    lines = [
        f"`SparseSelfAttention({dim}, na 3x7x7, grid={grid}, num_heads={heads})`, batch"
        f" {batch}, {'fp32' if smoke else 'bf16 autocast'}; backend picked:"
        f" `{layer.last_backend}`. Relative error against the same layer in float64"
        f" (dense backend): output {errors[0]:.1e}, input gradient {errors[1]:.1e}, weight"
        f" gradient {errors[2]:.1e} (goal <= {goal:g}: "
        f"{'met' if max(errors) <= goal else '**missed**'}).",
        "",
        "| layer | median ms (fwd+bwd) | warm-up s |",
        "|---|---|---|",
    ]
    del reference, want
    _free()

    class Dense(torch.nn.Module):  # the same projections, attention over every token
        def __init__(self, sparse: SparseSelfAttention) -> None:
            super().__init__()
            self.qkv, self.proj, self.heads = sparse.qkv, sparse.proj, sparse.num_heads

        def forward(self, t: torch.Tensor) -> torch.Tensor:
            b, n, c = t.shape
            qkv = self.qkv(t).view(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
            out = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])
            return self.proj(out.transpose(1, 2).reshape(b, n, c))

    variants = [("sparse, eager", layer), ("SDPA, no mask, eager", Dense(layer))]
    if not smoke:
        variants.append(("sparse, torch.compile", torch.compile(layer)))
    results = {}
    for label, module in variants:
        if budget.left() < 30:
            rep.failures.append(f"t: skipped {label}: time budget")
            continue
        try:
            t0 = time.monotonic()
            with autocast:
                run(module, x)
            _sync(device)
            warm = time.monotonic() - t0

            def step(module: torch.nn.Module = module) -> None:
                with autocast:
                    run(module, x)

            ms = statistics.median(time_ms(step, device, runs=20))
            results[label] = ms
            lines.append(f"| {label} | {ms:.2f} | {warm:.1f} |")
        except Exception as exc:  # noqa: BLE001 - reported
            traceback.print_exc()
            lines.append(f"| {label} | {type(exc).__name__}: {str(exc)[:80]} | |")
        print(f"t. {label}: {results.get(label, float('nan')):.2f} ms", flush=True)
        _free()
    rep.parts["t"] = lines
    rep.data["tokens"] = {"errors": errors, "ms": results, "backend": layer.last_backend}
    ratio = ""
    if "sparse, eager" in results and "SDPA, no mask, eager" in results:
        ratio = f"; SDPA/sparse {results['SDPA, no mask, eager'] / results['sparse, eager']:.2f}x"
    rep.summary.append(
        f"t. SparseSelfAttention ({layer.last_backend}): max rel. error {max(errors):.1e}{ratio}"
    )


# -- c. training step ---------------------------------------------------------------
class TrainStep:
    """One D step and one G step of a G/D pair, as ``ylg train`` takes them."""

    def __init__(
        self, attention: str, compiled: bool, batch: int, device: torch.device, smoke: bool
    ):
        from ylg.gan.models.slots import build_models
        from ylg.gan.run.presets import preset

        if smoke:
            cfg = preset("digits").replace(attention=attention)
            classes, res = 10, cfg.resolution
        else:
            cfg = preset(f"imagenet-{attention}")
            classes, res = 1000, 128
        torch.manual_seed(0)
        self.g, self.d = build_models(cfg, num_classes=classes)
        self.g.to(device)
        self.d.to(device)
        self.opt_g = torch.optim.Adam(self.g.parameters(), cfg.lr_g, betas=cfg.betas)
        self.opt_d = torch.optim.Adam(self.d.parameters(), cfg.lr_d, betas=cfg.betas)
        self.g_run = torch.compile(self.g, dynamic=False) if compiled else self.g
        self.d_run = torch.compile(self.d, dynamic=False) if compiled else self.d
        self.x = torch.rand(batch, 3, res, res, device=device) * 2 - 1
        self.y = torch.randint(classes, (batch,), device=device)
        self.batch, self.z_dim, self.device = batch, cfg.z_dim, device

    def _autocast(self):  # type: ignore[no-untyped-def]
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return torch.autocast("cpu", enabled=False)

    def __call__(self) -> None:
        from ylg.gan.training.trainer import hinge_d, hinge_g

        b, x, y = self.batch, self.x, self.y
        z = torch.randn(b, self.z_dim, device=self.device)
        self.opt_d.zero_grad(set_to_none=True)
        with self._autocast():
            with torch.no_grad():
                fake = self.g_run(z, y)
            logits = self.d_run(torch.cat([x, fake.to(x.dtype)]), torch.cat([y, y])).float()
            real, fake_loss = hinge_d(logits[:b], logits[b:])
        (real + fake_loss).backward()
        self.opt_d.step()
        self.opt_g.zero_grad(set_to_none=True)
        self.d.requires_grad_(False)
        with self._autocast():
            loss = hinge_g(self.d_run(self.g_run(z, y), y).float())
        loss.backward()
        self.d.requires_grad_(True)
        self.opt_g.step()


def _train_row(
    attention: str, compiled: bool, batch: int, device: torch.device, smoke: bool
) -> dict[str, float]:
    step = TrainStep(attention, compiled, batch, device, smoke)
    t0 = time.monotonic()
    step()
    _sync(device)
    warmup = time.monotonic() - t0
    ms = time_ms(step, device, warmup=2, runs=4 if smoke else 20, max_s=10)
    return {"warmup_s": warmup, "median_ms": statistics.median(ms)}


def part_train(rep: Report, device: torch.device, budget: Budget, smoke: bool) -> None:
    batch = 4 if smoke else 32
    lines = [
        f"One D step + one G step (hinge, Adam), batch {batch}, "
        + (
            "fp32, toy models on the CPU."
            if smoke
            else "bf16 autocast, SAGAN's 128 px ImageNet networks."
        )
        + " Median seconds per step after warm-up (compiled: after compilation).",
        "",
        "| attention | compiled | median ms/step | warm-up s (compile) |",
        "|---|---|---|---|",
    ]
    results = []
    for compiled in (False,) if smoke else (False, True):
        for attention in ("sagan", "ylg"):
            if budget.left() < (150 if compiled else 40):
                rep.failures.append(f"c: skipped {attention} compiled={compiled}: time budget")
                continue
            row = {"attention": attention, "compiled": compiled}
            try:
                row.update(_train_row(attention, compiled, batch, device, smoke))
            except Exception as exc:  # noqa: BLE001 - reported
                row["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
                traceback.print_exc()
            results.append(row)
            ms_txt = row.get("error") or f"{row['median_ms']:.1f}"
            lines.append(
                f"| {attention} | {'yes' if compiled else 'no'} | {ms_txt} |"
                f" {row.get('warmup_s', float('nan')):.1f} |"
            )
            print(f"c. {attention} compiled={compiled}: {ms_txt} ms/step", flush=True)
            _free()
    summary = []
    for compiled in (False, True):
        rows = {r["attention"]: r for r in results if r["compiled"] == compiled}
        if "median_ms" in rows.get("ylg", {}) and "median_ms" in rows.get("sagan", {}):
            ratio = rows["ylg"]["median_ms"] / rows["sagan"]["median_ms"]
            verdict = "met" if ratio <= 1.05 else "missed"
            tag = "compiled" if compiled else "eager"
            lines.append(
                f"\nYLG / SAGAN step time ({tag}): **{ratio:.3f}** (goal <= 1.05: {verdict})"
            )
            summary.append(f"{tag} YLG/SAGAN {ratio:.3f}")
    rows = {(r["attention"], r["compiled"]): r for r in results}
    for att in ("sagan", "ylg"):
        eager, comp = rows.get((att, False), {}), rows.get((att, True), {})
        if "median_ms" in eager and "median_ms" in comp:
            summary.append(f"compile speeds {att} up {eager['median_ms'] / comp['median_ms']:.2f}x")
    if not smoke and budget.left() > 60:
        lines += ["", *end_to_end(device, budget)]
    rep.parts["c"] = lines
    rep.data["train_step"] = results
    rep.summary.append("c. train step: " + ("; ".join(summary) or "no ratio measured"))


def end_to_end(device: torch.device, budget: Budget) -> list[str]:
    """``ylg train`` on the GPU end to end, and checkpoints across devices: a GPU run
    sampled and resumed on the CPU, a CPU run resumed on the GPU."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    import importlib.util

    missing = [m for m in ("tomli_w", "tensorboard", "PIL") if importlib.util.find_spec(m) is None]
    if missing:
        return [
            f"End to end: not run: `ylg train` needs {', '.join(missing)}, absent on this"
            " machine (install them, or carry their wheels into the call)"
        ]
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        steps = [
            (
                "train 30 steps on CUDA",
                [
                    "train",
                    "--preset",
                    "digits",
                    "--iterations",
                    "30",
                    "--device",
                    "cuda",
                    "--out",
                    "gpu",
                ],
            ),
            (
                "sample the CUDA run on the CPU",
                ["sample", "--checkpoint", "gpu", "--device", "cpu", "--n", "16", "-o", "gpu.png"],
            ),
            (
                "resume the CUDA run on the CPU",
                ["train", "--out", "gpu", "--resume", "--iterations", "31", "--device", "cpu"],
            ),
            (
                "train 2 steps on the CPU",
                [
                    "train",
                    "--preset",
                    "digits",
                    "--iterations",
                    "2",
                    "--device",
                    "cpu",
                    "--out",
                    "cpu",
                ],
            ),
            (
                "resume the CPU run on CUDA",
                ["train", "--out", "cpu", "--resume", "--iterations", "4", "--device", "cuda"],
            ),
        ]
        for what, args in steps:
            if budget.left() < 30:
                lines.append(f"- {what}: not run (time budget)")
                continue
            t0 = time.monotonic()
            try:
                done = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "ylg",
                        *args,
                        *(["--quiet"] if args[0] == "train" else []),
                    ],
                    capture_output=True,
                    text=True,
                    timeout=max(20, min(180, budget.left() - 20)),
                    env=env,
                    cwd=tmp,
                )
            except subprocess.TimeoutExpired:
                lines.append(f"- {what}: timed out")
                continue
            took = time.monotonic() - t0
            if done.returncode == 0:
                lines.append(f"- {what} (`ylg {' '.join(args)}`): ok, {took:.1f} s")
            else:
                tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1][:200]
                lines.append(
                    f"- {what} (`ylg {' '.join(args)}`): **exit {done.returncode}**: {tail}"
                )
            print(lines[-1], flush=True)
    return ["End to end (`ylg` commands in subprocesses):", "", *lines]


# -- d. report ------------------------------------------------------------------------
def markdown(rep: Report) -> str:
    titles = {
        "a": "Correctness against float64 dense attention on the GPU",
        "b": "Attention forward+backward: ylg's flex vs SDPA",
        "c": "Training step, 128 px",
        "o": "FlexAttention per token order (video)",
        "t": "A video transformer's attention layer",
    }
    out = [
        "## GPU check (`make gpu-check`)",
        "",
        f"Device: {rep.device}.",
        "",
    ]
    for key, title in titles.items():
        if key in rep.parts:
            out += [f"### {title}", "", *rep.parts[key], ""]
    if rep.failures:
        out += ["Not run: " + "; ".join(rep.failures), ""]
    return "\n".join(out)


def describe(device: torch.device) -> str:
    if device.type != "cuda":
        return f"CPU smoke run, torch {torch.__version__}"
    props = torch.cuda.get_device_properties(device)
    triton = "unknown"
    try:
        import triton

        triton = triton.__version__
    except ImportError:
        triton = "absent"
    return (
        f"{props.name} ({props.total_memory / 2**30:.0f} GiB), torch {torch.__version__},"
        f" CUDA {torch.version.cuda}, Triton {triton}, Python {sys.version.split()[0]}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out-dir", type=Path, default=None, help="Also write gpu-check.md/.json here."
    )
    parser.add_argument(
        "--budget-s", type=float, default=420.0, help="Stop starting parts after this."
    )
    parser.add_argument(
        "--parts", default="abcot", help="Which parts to run, in order (default: abcot)."
    )
    parser.add_argument("--cpu-smoke", action="store_true", help="Toy sizes on the CPU.")
    parser.add_argument("--no-docs", action="store_true", help="Do not rewrite docs/benchmarks.md.")
    args = parser.parse_args(argv)
    if not args.cpu_smoke and not torch.cuda.is_available():
        print(
            "gpu-check: no CUDA device is visible to torch; run it on a machine with an NVIDIA GPU",
            file=sys.stderr,
        )
        return 1
    device = torch.device("cpu" if args.cpu_smoke else "cuda")
    for name in ("recompile_limit", "cache_size_limit"):  # one flex graph per shape and dtype
        if hasattr(torch._dynamo.config, name):
            setattr(torch._dynamo.config, name, 64)
    budget = Budget(args.budget_s)
    rep = Report(describe(device))
    print(f"gpu-check on {rep.device}", flush=True)
    parts = {
        "a": part_correctness,
        "b": part_attention,
        "c": part_train,
        "o": part_orders,
        "t": part_tokens,
    }
    for key in args.parts:
        t0 = time.monotonic()
        try:
            parts[key](rep, device, budget, args.cpu_smoke)
        except Exception as exc:  # noqa: BLE001 - a broken part is reported, the rest run
            traceback.print_exc()
            rep.failures.append(f"{key}: {type(exc).__name__}: {exc}"[:200])
        print(f"part {key}: {time.monotonic() - t0:.0f} s", flush=True)
        _free()
    text = markdown(rep)
    if args.out_dir is not None:
        args.out_dir.mkdir(parents=True, exist_ok=True)
        (args.out_dir / "gpu-check.md").write_text(text)
        blob = {"device": rep.device, "summary": rep.summary, "failures": rep.failures, **rep.data}
        (args.out_dir / "gpu-check.json").write_text(json.dumps(blob, indent=1, default=str))
    if not args.cpu_smoke and not args.no_docs:
        from _report import write_section

        write_section("gpu", text)
    print(text)
    print("== summary ==")
    for line in [f"device: {rep.device}", *rep.summary, *(f"not run: {f}" for f in rep.failures)]:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
