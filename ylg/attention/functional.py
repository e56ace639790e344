"""The functional core: sparse multi-head attention with one pattern step per head.

``q [B, H, nq, d]``, ``k [B, H, nk, d]``, ``v [B, H, nk, dv]`` (positions row-major on
the query and key grids of a :class:`~ylg.attention.masksets.HeadMasks`, which may have
1, 2 or 3 axes: attention on the flattened tokens) give ``[B, H, nq, dv]``. Every
backend computes the same function:

* ``dense``: full logits and the mask; the reference, and the path for XLA/TPU.
* ``grouped``: queries grouped by the keys they share, dense batched matmuls per group
  (the fast CPU path, any pattern).
* ``sdpa``: PyTorch's ``scaled_dot_product_attention`` with the boolean mask (one fused
  dense call on CUDA; wins on small layouts).
* ``flex``: compiled FlexAttention over tile-planned token orders (the fused sparse
  kernel for CUDA); ``flex-eager``: the same uncompiled, PyTorch's unfused reference
  path, a named fallback only.

What a backend derives on a device (masks, block masks, index tensors) is kept in the
``cache`` dict the caller passes (a layer passes its own, so deleting the model frees
it); without one it is rebuilt on every call.

>>> import torch
>>> from ylg.attention import head_masks, sparse_attention
>>> hm = head_masks("ylg", grid="4x4")
>>> q, k, v = (torch.randn(2, 8, 16, 4, dtype=torch.float64) for _ in range(3))
>>> out = sparse_attention(q, k, v, hm, backend="grouped")
>>> out.shape
torch.Size([2, 8, 16, 4])
>>> torch.allclose(out, sparse_attention(q, k, v, hm, backend="dense"))
True
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, MutableMapping, Sequence
from typing import Any

import torch
from torch import Tensor

from ylg.attention import dense, flex, grouped, sdpa
from ylg.attention.masksets import HeadMasks, StepMask
from ylg.deprecation import renamed_keywords
from ylg.errors import YlgError

log = logging.getLogger("ylg.attention")

#: Backend name -> object with ``prepare(steps, device, dtype)`` and
#: ``run(q, k, v, prepared, *, scale, paper_compat)``.
BACKENDS: dict[str, Any] = {
    "dense": dense,
    "grouped": grouped,
    "sdpa": sdpa,
    "flex": flex.FUSED,
    "flex-eager": flex.EAGER,
}
BACKEND_CHOICES = ("auto", *BACKENDS)
#: On CUDA, ``auto`` runs layouts of at most this many (query, key) pairs per head with
#: ``sdpa`` (one fused dense call), larger ones with ``flex``. SAGAN's 1024 x 256 layout
#: has 262,144; a 64x64 grid 16.8 million. See docs/attention.md for the measurements.
SDPA_MAX_PAIRS = 1 << 20
_announced: set[tuple[str, str, str]] = set()


def auto_choice(device: "torch.device | str", heads: HeadMasks | None = None) -> tuple[str, str]:
    """The backend ``auto`` picks for a device (and layout), and why.

    >>> auto_choice("cpu")[0]
    'grouped'
    >>> auto_choice("meta")
    ('dense', 'static shapes only (XLA/TPU, MPS, other devices): the masked reference')
    """
    kind = torch.device(device).type
    if kind == "cpu":
        return "grouped", "CPU: dense matmuls per group of queries that share keys"
    if kind != "cuda":
        return "dense", "static shapes only (XLA/TPU, MPS, other devices): the masked reference"
    if not flex.fused_available(device):
        return "sdpa", "compiled FlexAttention is unavailable here (it needs Triton)"
    if heads is not None and heads.nq * heads.nk <= SDPA_MAX_PAIRS:
        return "sdpa", (
            f"{heads.nq} x {heads.nk} pairs per head <= {SDPA_MAX_PAIRS}: one fused masked"
            " SDPA call beats the block-sparse kernel's fixed costs at this size"
        )
    return "flex", "CUDA, large layout: the fused block-sparse kernel skips empty tiles"


@renamed_keywords(masks="heads")
def pick_backend(
    backend: str,
    device: "torch.device | str",
    heads: HeadMasks | None = None,
    *,
    batch: int | None = None,
) -> str:
    """The backend to run: ``backend`` itself, or what ``auto`` means on a device for a
    layout (:func:`auto_choice`; logged once per device kind, layout and pick), and
    ``dense`` for an empty ``batch`` (the one backend that needs no per-batch layout).

    >>> pick_backend("auto", "cpu"), pick_backend("dense", "cpu")
    ('grouped', 'dense')
    >>> pick_backend("sdpa", "cpu", batch=0)
    'dense'
    """
    if backend not in BACKEND_CHOICES:
        raise YlgError(f"unknown backend {backend!r} (choose from {', '.join(BACKEND_CHOICES)})")
    if batch == 0:
        return "dense"
    if backend != "auto":
        return backend
    chosen, why = auto_choice(device, heads)
    layout = "" if heads is None else f"{heads.nq}x{heads.nk}"
    kind = torch.device(device).type
    if (kind, layout, chosen) not in _announced:
        _announced.add((kind, layout, chosen))
        log.info("ylg attention: 'auto' picked %r for %s %s (%s)", chosen, kind, layout, why)
    return chosen


def _check_shapes(
    q: Tensor, k: Tensor, v: Tensor, heads: HeadMasks, q_inner: Tensor | None
) -> None:
    if q.dim() != 4 or k.dim() != 4 or v.dim() != 4:
        raise YlgError("q, k and v must be [batch, heads, tokens, dim]")
    b = q.shape[0]
    want = {
        "q": (q, heads.nq, q.shape[-1]),
        "k": (k, heads.nk, q.shape[-1]),
        "v": (v, heads.nk, v.shape[-1]),
    }
    if q_inner is not None:
        want["q_inner"] = (q_inner, heads.nk, q.shape[-1])
    for name, (t, tokens, dim) in want.items():
        if not t.is_floating_point() or t.dtype != q.dtype:
            raise YlgError(
                f"q, k and v must be floating point of one dtype; {name} is {t.dtype}"
                + ("" if name == "q" else f" beside q's {q.dtype}")
            )
        if tuple(t.shape) != (b, heads.num_heads, tokens, dim):
            raise YlgError(
                f"{name} has shape {tuple(t.shape)}; the head masks want"
                f" [{b}, {heads.num_heads}, {tokens}, {dim}] ({heads.num_heads} heads,"
                f" {heads.nq} queries on {heads.query_grid}, {heads.nk} keys on {heads.grid},"
                " row-major)"
            )


@torch.compiler.disable
def prepare(
    backend: str,
    steps: Sequence[StepMask],
    like: Tensor,
    cache: MutableMapping[Any, Any] | None = None,
) -> Any:
    """What a backend derives from the heads' step masks for tensors like ``like``:
    looked up in (and added to) ``cache`` when one is given, else built afresh.

    Kept out of ``torch.compile`` graphs: it is numpy work whose tensors the graph reads.
    """
    key = (backend, tuple(steps), like.device, like.dtype)
    found = None if cache is None else cache.get(key)
    if found is not None:
        return found
    prepared = BACKENDS[backend].prepare(tuple(steps), like.device, like.dtype)
    if cache is not None:
        cache[key] = prepared
    return prepared


def _scale(q: Tensor, scale: bool) -> float:
    return 1.0 / math.sqrt(q.shape[-1]) if scale else 1.0


def _inner_queries(q: Tensor, heads: HeadMasks, q_inner: Tensor | None) -> Tensor:
    if q_inner is not None:
        return q_inner
    if not heads.square:
        raise YlgError(
            "step_mode='sequential' on a non-square layout runs the inner steps on the key grid;"
            " pass q_inner, the queries on the key grid"
        )
    return q


@renamed_keywords(masks="heads")
def sparse_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    heads: HeadMasks,
    *,
    backend: str = "auto",
    paper_compat: bool = False,
    scale: bool = False,
    q_inner: Tensor | None = None,
    cache: MutableMapping[Any, Any] | None = None,
) -> Tensor:
    """Attention of each head through its step(s) of the pattern: ``[B, H, nq, dv]``.

    ``heads``: the :class:`HeadMasks` of :func:`head_masks` (``masks=`` is its old,
    deprecated keyword). ``paper_compat``: masked logits get ``-1000`` added (the
    authors' code) instead of ``-inf``; the sparse backends never compute masked logits,
    which is the same up to rounding unless a row's logits span more than about 700.
    ``scale``: multiply logits by ``1/sqrt(d)`` (the authors' code does not). In
    sequential mode on a non-square layout, ``q_inner [B, H, nk, d]`` are the queries of
    the inner steps (key grid).
    ``cache``: a dict that keeps what the backend builds on the device between calls.
    """
    if not isinstance(heads, HeadMasks):
        raise YlgError(f"heads must come from head_masks(...), not a {type(heads).__name__}")
    _check_shapes(q, k, v, heads, q_inner)
    name = pick_backend(backend, q.device, heads, batch=q.shape[0])
    run = BACKENDS[name].run
    options = {"scale": _scale(q, scale), "paper_compat": paper_compat}
    if not heads.sequential:
        return run(q, k, v, prepare(name, heads.last_steps(), q, cache), **options)
    inner_q = _inner_queries(q, heads, q_inner)

    def chain(sub: Tensor, stage: tuple[StepMask, ...]) -> Tensor:
        values, keys = v.index_select(1, sub), k.index_select(1, sub)
        for t, step in enumerate(stage):
            queries = (q if t == len(stage) - 1 else inner_q).index_select(1, sub)
            prepared = prepare(name, [step] * sub.numel(), q, cache)
            values = run(queries, keys, values, prepared, **options)
        return values

    return _per_chain(heads, q, chain)


@renamed_keywords(masks="heads")
def attention_maps(
    q: Tensor,
    k: Tensor,
    heads: HeadMasks,
    *,
    paper_compat: bool = False,
    scale: bool = False,
    q_inner: Tensor | None = None,
    cache: MutableMapping[Any, Any] | None = None,
) -> Tensor:
    """The attention weights ``[B, H, nq, nk]`` (dense; for visualisation and inversion).

    In sequential mode, the product of the steps' weights: how much output ``q`` reads
    from input ``k`` through the whole chain.
    """
    _check_shapes(q, k, k, heads, q_inner)
    options = {"scale": _scale(q, scale), "paper_compat": paper_compat}
    if not heads.sequential:
        mask = prepare("dense", heads.last_steps(), q, cache)
        logits = dense.masked_logits(q, k, mask, **options)
        return torch.softmax(logits, dim=-1)
    inner_q = _inner_queries(q, heads, q_inner)

    def chain(sub: Tensor, stage: tuple[StepMask, ...]) -> Tensor:
        keys, total = k.index_select(1, sub), None
        for t, step in enumerate(stage):
            queries = (q if t == len(stage) - 1 else inner_q).index_select(1, sub)
            mask = prepare("dense", [step] * sub.numel(), q, cache)
            weights = torch.softmax(dense.masked_logits(queries, keys, mask, **options), dim=-1)
            total = weights if total is None else torch.matmul(weights, total)
        assert total is not None
        return total

    return _per_chain(heads, q, chain)


def _per_chain(
    heads: HeadMasks, q: Tensor, fn: Callable[[Tensor, tuple[StepMask, ...]], Tensor]
) -> Tensor:
    """``fn(heads, chain)`` for each set of heads with the same chain of step heads (in
    order of first appearance), the results put back in head order."""
    outs: list[Tensor] = []
    order: list[int] = []
    for stage, idx in _groups(heads).items():
        outs.append(fn(torch.tensor(idx, device=q.device), stage))
        order += idx
    out = torch.cat(outs, dim=1)
    if order != sorted(order):
        out = out.index_select(1, torch.tensor(_inverse(order), device=q.device))
    return out


def _groups(heads: HeadMasks) -> dict[tuple, list[int]]:
    """Heads with the same chain of step heads, in order of first appearance."""
    groups: dict[tuple, list[int]] = {}
    for h, stage in enumerate(heads.stages):
        groups.setdefault(stage, []).append(h)
    return groups


def _inverse(order: list[int]) -> list[int]:
    inv = [0] * len(order)
    for i, h in enumerate(order):
        inv[h] = i
    return inv
