"""Timing and peak memory of attention implementations, side by side.

Used by ``ylg bench attention`` (one size) and ``benchmarks/attention.py`` (the
table in ``docs/benchmarks.md``). Every method gets the same random inputs and runs
in this process one after the other; times are the minimum of several runs after a
warm-up run (which also builds and caches masks and plans); peak memory is the rise of
the process's resident set during one forward+backward run (Linux), so it counts every
buffer, inputs and their gradients included.

>>> rows = run_case(Case("4x4"), methods=("sdpa", "grouped"), repeats=1)
>>> [r.method for r in rows]
['sdpa', 'grouped']
>>> rows[1].forward_ms > 0
True
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from ylg.attention.functional import prepare, sparse_attention
from ylg.attention.masksets import HeadMasks, head_masks
from ylg.errors import YlgError
from ylg.patterns import Layout

#: Methods: PyTorch's SDPA without and with the boolean mask, then ylg's backends.
METHODS = ("sdpa", "sdpa+mask", "dense", "grouped", "flex", "flex-eager")
#: Methods that hold full ``[B, H, nq, nk]`` float tensors, and about how many at once.
FULL_LOGITS = {"sdpa+mask": 4, "dense": 4, "flex-eager": 3}
#: A method whose warm-up run takes longer than this (seconds) is timed once more only.
SLOW_S = 3.0
#: Faster methods run again while their runs add up to less than this (seconds).
BUDGET_S = 1.0
MAX_RUNS = 20


@dataclass(frozen=True)
class Case:
    """One size: key grid, query grid (default: the key grid), heads, head dim, batch."""

    grid: str
    query_grid: str | None = None
    heads: int = 8
    head_dim: int = 8
    batch: int = 1
    pattern: str = "ylg"
    verify: bool = True

    @property
    def label(self) -> str:
        """``32x32 q / 16x16 k, d=8`` or ``64x64, d=64``."""
        grids = self.grid if self.query_grid is None else f"{self.query_grid} q / {self.grid} k"
        return f"{grids}, d={self.head_dim}"

    def masks(self) -> HeadMasks:
        """The head masks of the case (the published YLG heads by default)."""
        return head_masks(
            self.pattern,
            layout=Layout(self.grid, self.query_grid),
            num_heads=self.heads,
            verify=self.verify,
        )


@dataclass
class Row:
    """One method on one case: times in ms (``None``: not run) and peak memory in MiB."""

    case: Case
    method: str
    forward_ms: float | None = None
    backward_ms: float | None = None
    peak_mib: float | None = None
    note: str = ""
    extra: dict[str, float] = field(default_factory=dict)


def _available_bytes() -> int:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 1 << 62


def _rss_reset() -> int | None:
    """Reset the peak resident set to the current one; return it (bytes), if Linux lets us."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # hand freed heap back (glibc)
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return _status("VmRSS")
    except OSError:
        return None


def _status(key: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _method(method: str, heads: HeadMasks, q: torch.Tensor) -> Callable[..., torch.Tensor]:
    if method == "sdpa":
        return lambda q, k, v: F.scaled_dot_product_attention(q, k, v, scale=1.0)
    if method == "sdpa+mask":
        mask = prepare("dense", heads.last_steps(), q)
        return lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=1.0)
    if method in ("dense", "grouped", "flex", "flex-eager"):
        cache: dict = {}  # what the backend builds on the device, kept between runs
        return lambda q, k, v: sparse_attention(q, k, v, heads, backend=method, cache=cache)
    raise YlgError(f"unknown method {method!r} (choose from {', '.join(METHODS)})")


def _single_head(heads: HeadMasks, h: int, verify: bool) -> HeadMasks:
    head = heads.heads[h]
    return head_masks(
        heads=[(head.pattern, head.step)],
        layout=heads.layout,
        step_mode="sequential" if heads.sequential else "parallel",
        verify=verify,
    )


def _runners(
    fns: list[Callable[..., torch.Tensor]], inputs: tuple, leaves: list
) -> tuple[Callable[[], None], Callable[[], None]]:
    """Forward and forward+backward over all heads (one function) or head by head."""

    def parts(tensors: tuple | list) -> list[tuple]:
        if len(fns) == 1:
            return [tuple(tensors)]
        return [tuple(t[:, h : h + 1] for t in tensors) for h in range(len(fns))]

    def forward() -> None:
        with torch.no_grad():
            for fn, args in zip(fns, parts(inputs)):
                fn(*args)

    def both() -> None:
        for fn, args in zip(fns, parts(leaves)):
            out = fn(*args)
            out.backward(torch.ones_like(out))

    return forward, both


def _time(fn: Callable[[], object], repeats: int) -> float:
    """Best run in ms, after a warm-up run: at least ``repeats`` runs, more (up to
    ``MAX_RUNS``) while they add up to less than ``BUDGET_S``, since the best of many
    is what survives other work on the machine; a slow method runs once more only."""
    start = time.perf_counter()
    fn()
    best = time.perf_counter() - start
    if best >= SLOW_S:
        repeats = 1
    spent, runs = 0.0, 0
    while runs < repeats or (spent < BUDGET_S and runs < MAX_RUNS and best < SLOW_S):
        start = time.perf_counter()
        fn()
        took = time.perf_counter() - start
        best, spent, runs = min(best, took), spent + took, runs + 1
    return best * 1000


def run_case(
    case: Case,
    methods: tuple[str, ...] = METHODS,
    *,
    backward: bool = True,
    repeats: int = 3,
) -> list[Row]:
    """Time every method on one case (forward, and forward+backward when asked).

    A method that would hold full ``[B, H, nq, nk]`` tensors beyond the memory here
    runs head by head (its time is the sum; its peak memory, one head's times ``H``);
    if even one head does not fit, it is skipped.
    """
    masks = case.masks()
    gen = torch.Generator().manual_seed(0)
    shape = (case.batch, case.heads)
    q = torch.randn(*shape, masks.nq, case.head_dim, generator=gen)
    k = torch.randn(*shape, masks.nk, case.head_dim, generator=gen)
    v = torch.randn(*shape, masks.nk, case.head_dim, generator=gen)
    full = 4 * case.batch * case.heads * masks.nq * masks.nk
    rows = []
    for method in methods:
        row = Row(case, method)
        rows.append(row)
        need = full * FULL_LOGITS.get(method, 0) * (2 if backward else 1)
        room = 0.7 * _available_bytes()
        if need > room * case.heads:
            row.note = f"skipped: needs about {need / 2**30:.0f} GiB"
            continue
        if need > room:
            fns = [
                _method(method, _single_head(masks, h, case.verify), q) for h in range(case.heads)
            ]
            row.note = f"run head by head (all {case.heads} need {need / 2**30:.0f} GiB)"
        else:
            fns = [_method(method, masks, q)]
        leaves = [t.detach().requires_grad_() for t in (q, k, v)]
        trains = backward and not (method.startswith("flex") and q.device.type == "cpu")
        forward, both = _runners(fns, (q, k, v), leaves)
        row.forward_ms = _time(forward, repeats)
        if trains:
            row.backward_ms = _time(both, repeats)
        elif backward:
            row.note = "no backward on CPU"
        before = _rss_reset()
        both() if trains else forward()
        peak = _status("VmHWM")
        if before is not None and peak is not None:
            row.peak_mib = max(0, peak - before) / 2**20 * (case.heads if len(fns) > 1 else 1)
    return rows


def ratio(a: float | None, b: float | None) -> str:
    """``b / a`` as ``12.3x``, or ``-``."""
    return "-" if a is None or b is None or a == 0 else f"{b / a:.1f}x"


def table(rows: list[Row], *, backward: bool = True) -> str:
    """A markdown table: times, peak memory and speed-ups over masked and plain SDPA."""
    head = "| case | method | forward ms |"
    rule = "|---|---|---:|"
    if backward:
        head += " fwd+bwd ms |"
        rule += "---:|"
    head += " peak MiB | vs SDPA+mask | vs SDPA | note |"
    rule += "---:|---:|---:|---|"
    lines = [head, rule]
    by_case: dict[Case, dict[str, Row]] = {}
    for r in rows:
        by_case.setdefault(r.case, {})[r.method] = r
    for case, methods in by_case.items():
        masked, plain = methods.get("sdpa+mask"), methods.get("sdpa")
        for r in methods.values():
            key = "backward_ms" if backward else "forward_ms"
            mine = getattr(r, key)
            vs_masked = ratio(mine, getattr(masked, key) if masked else None)
            vs_plain = ratio(mine, getattr(plain, key) if plain else None)
            cells = [case.label, r.method, _ms(r.forward_ms)]
            if backward:
                cells.append(_ms(r.backward_ms))
            cells += [
                "-" if r.peak_mib is None else f"{r.peak_mib:.0f}",
                vs_masked,
                vs_plain,
                r.note,
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
