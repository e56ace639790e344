"""The ``grouped`` backend: each step as small dense products, tile by tile.

Per head the :mod:`~ylg.attention.plan` lists shared key columns and groups of
queries with the keys each group gathers; heads whose plans have the same shape run
in one batch. All heads' tokens are flattened into one axis, and the rows every batch
reads are gathered at once: one ``index_select`` each for queries, keys and values.

The attention itself is a hand-written autograd function that walks the rows in
tiles small enough to stay in cache, like FlashAttention: a tile's logits are
computed, masked, exponentiated and multiplied with the values while they are hot,
and only the output and one log-sum-exp per row are kept; the backward pass
recomputes each tile's weights. Memory is linear in the number of tokens, and no
pass ever streams a full logits tensor through main memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ylg.attention.masksets import StepMask
from ylg.attention.plan import make_plan
from ylg.errors import YlgError

#: Logits per tile (batch x rows x keys): 1 MiB of float32, about a core's L2.
TILE_ELEMENTS = 1 << 18
LN2 = math.log(2.0)
LOG2E = 1.0 / LN2
#: A tile: heads ``h0:h1`` and query groups ``c0:c1`` of a batch.
Tile = tuple[int, int, int, int]


class _Gather(torch.autograd.Function):
    """``x.index_select(1, index)`` for ``x [B, N, d]``, with a backward pass that adds
    rows along the first axis (several times faster on CPU than along the second). The
    backward pass is plain differentiable torch, so second derivatives pass through."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, index: Tensor) -> Tensor:
        ctx.save_for_backward(index)
        ctx.tokens = x.shape[1]
        return x.index_select(1, index)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        (index,) = ctx.saved_tensors
        b, _, d = grad.shape
        out = grad.new_zeros(ctx.tokens, b, d)
        out.index_add_(0, index, grad.transpose(0, 1).contiguous())
        return out.transpose(0, 1), None


def gather(x: Tensor, index: Tensor) -> Tensor:
    """Rows ``index`` of ``x [B, N, d]`` along ``N``."""
    return _Gather.apply(x, index)


@dataclass(frozen=True)
class Batch:
    """Heads sharing one plan shape, and where their rows sit in the gathered inputs.

    Masks are additive biases (0 or ``-inf``; adding floats is many times faster on
    CPU than filling through a bool mask), one per distinct step (``unique[h]``).
    """

    heads: int
    rows: int
    group: int
    width: int
    num_columns: int
    unique: tuple[int, ...]
    query_offset: int  # first row of the batch's queries in the gathered queries
    key_offset: int  # first row of its keys: heads x columns, then heads x chunks x width
    column_bias: Tensor | None  # [distinct, rows, C], None when nothing is masked
    bias: Tensor | None  # [distinct, chunks, group, width], None when nothing is masked

    @property
    def chunks(self) -> int:
        """Query groups per head."""
        return self.rows // self.group

    def views(
        self, q: Tensor, k: Tensor, v: Tensor
    ) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        """The batch's queries ``[b, heads, rows, d]``, columns ``[b, heads, C, d]`` and
        group keys ``[b, heads, chunks, W, d]`` (and values) inside gathered rows."""
        b, hs, c, w = q.shape[0], self.heads, self.num_columns, self.width
        qo, ko = self.query_offset, self.key_offset
        kw = ko + hs * c
        end = kw + hs * self.chunks * w
        return (
            q[:, qo : qo + hs * self.rows].view(b, hs, self.rows, q.shape[-1]),
            k[:, ko:kw].view(b, hs, c, k.shape[-1]),
            v[:, ko:kw].view(b, hs, c, v.shape[-1]),
            k[:, kw:end].view(b, hs, self.chunks, w, k.shape[-1]),
            v[:, kw:end].view(b, hs, self.chunks, w, v.shape[-1]),
        )


@dataclass(frozen=True)
class GatherPlan:
    """All batches of one head list: the rows to gather, and where each output lands."""

    batches: tuple[Batch, ...]
    queries: Tensor  # flat (head, query) index of every query row
    keys: Tensor  # flat (head, key) index of every key row
    slots: Tensor  # [H * nq]: the row holding each (head, query)'s output


def _bias(allowed: list[np.ndarray], device: torch.device, dtype: torch.dtype) -> Tensor | None:
    if all(a.all() for a in allowed):
        return None
    bias = np.where(np.stack(allowed), 0.0, -np.inf).astype(np.float32)
    return torch.from_numpy(bias).to(device=device, dtype=dtype)


def prepare(steps: tuple[StepMask, ...], device: torch.device, dtype: torch.dtype) -> GatherPlan:
    """The gather plan of a head list for tensors of a device and dtype.

    Every piece of every head's plan is an item; items of equal shape form a batch
    (its ``heads`` are items: one head's piece each).
    """
    nq, nk = steps[0].nq, steps[0].nk
    plans = [make_plan(s) for s in steps]
    by_shape: dict[tuple[int, int, int, int], list[tuple[int, int]]] = {}
    for h, plan in enumerate(plans):
        for i, piece in enumerate(plan.pieces):
            by_shape.setdefault(piece.shape, []).append((h, i))
    row_of: dict[tuple[int, int], int] = {}  # first gathered row of each item
    batches = []
    queries: list[np.ndarray] = []
    keys: list[np.ndarray] = []
    q_rows = k_rows = 0
    for (rows, columns, group, width), items in by_shape.items():
        distinct = list(dict.fromkeys((steps[h], i) for h, i in items))
        first = [plans[items[[(steps[h], i) for h, i in items].index(d)][0]] for d in distinct]
        first_pieces = [f.pieces[d[1]] for f, d in zip(first, distinct)]
        batches.append(
            Batch(
                heads=len(items),
                rows=rows,
                group=group,
                width=width,
                num_columns=columns,
                unique=tuple(distinct.index((steps[h], i)) for h, i in items),
                query_offset=q_rows,
                key_offset=k_rows,
                column_bias=_bias([p.column_mask for p in first_pieces], device, dtype),
                bias=_bias([p.mask for p in first_pieces], device, dtype),
            )
        )
        for n, (h, i) in enumerate(items):
            row_of[h, i] = q_rows + n * rows
            piece = plans[h].pieces[i]
            queries.append(h * nq + piece.queries)
            keys.append(h * nk + plans[h].columns)
        keys += [h * nk + plans[h].pieces[i].keys.ravel() for h, i in items]
        q_rows += rows * len(items)
        k_rows += len(items) * (columns + rows // group * width)
    slots = np.empty(len(steps) * nq, dtype=np.int64)
    for h, plan in enumerate(plans):
        sizes = [p.shape[0] for p in plan.pieces]
        starts = np.concatenate([[0], np.cumsum(sizes)])
        piece = np.searchsorted(starts, plan.slot, side="right") - 1
        first_row = np.array([row_of[h, i] for i in range(len(sizes))])
        slots[h * nq : (h + 1) * nq] = first_row[piece] + plan.slot - starts[piece]
    return GatherPlan(
        tuple(batches),
        torch.from_numpy(np.concatenate(queries)).to(device),
        torch.from_numpy(np.concatenate(keys)).to(device),
        torch.from_numpy(slots).to(device),
    )


class _Tiles:
    """The tiles of one batch: runs of whole query groups of one head, or whole heads."""

    def __init__(self, bt: Batch, batch_size: int) -> None:
        self.bt = bt
        chunks = bt.chunks
        per_chunk = batch_size * bt.group * (bt.num_columns + bt.width)
        step = max(1, TILE_ELEMENTS // max(1, per_chunk))
        if step >= chunks:  # whole heads per tile
            per = max(1, step // chunks)
            starts = range(0, bt.heads, per)
            self.ranges = [(h, min(bt.heads, h + per), 0, chunks) for h in starts]
        else:
            starts = range(0, chunks, step)
            self.ranges = [
                (h, h + 1, c0, min(chunks, c0 + step)) for h in range(bt.heads) for c0 in starts
            ]

    def _bias(self, bias: Tensor, h0: int, h1: int) -> Tensor:
        """The distinct-step biases of heads ``h0:h1`` (a view when they are consecutive)."""
        u = self.bt.unique[h0:h1]
        if u == tuple(range(u[0], u[0] + len(u))):
            return bias[u[0] : u[0] + len(u)]
        return bias[list(u)]

    def weights(
        self,
        qt: Tensor,
        kc: Tensor,
        kg: Tensor,
        tile: Tile,
        shift: Tensor | None,
        finite: bool = True,
    ) -> tuple[list[Tensor], Tensor]:
        """One tile's weights ``2**(logits - shift)`` from its queries ``qt [b, heads, R,
        d]`` (scaled to base-2 logits): ``[b, heads, R, C]`` for the columns and
        ``[b, heads, chunks, g, W]`` for the groups. Without ``shift``, the rows'
        maxima are used and returned. ``finite=False`` (some key is not finite): masked
        logits are set to ``-inf`` rather than offset, so that a NaN or infinite key
        reaches only the queries that attend it."""
        bt = self.bt
        h0, h1, c0, c1 = tile
        b, nh, rows, d = qt.shape
        parts = []
        if bt.num_columns:
            lc = torch.matmul(qt, kc[:, h0:h1].transpose(-1, -2))
            if bt.column_bias is not None:
                bias = self._bias(bt.column_bias, h0, h1)[:, c0 * bt.group : c1 * bt.group]
                lc.add_(bias)
                if not finite:
                    lc.masked_fill_(bias.isneginf(), float("-inf"))
            parts.append(lc)
        if bt.width:
            qg = qt.reshape(b, nh, c1 - c0, bt.group, d)
            lg = torch.matmul(qg, kg[:, h0:h1, c0:c1].transpose(-1, -2))
            if bt.bias is not None:
                bias = self._bias(bt.bias, h0, h1)[:, c0:c1]
                lg.add_(bias)
                if not finite:
                    lg.masked_fill_(bias.isneginf(), float("-inf"))
            parts.append(lg)
        if shift is None:
            peaks = [p.reshape(b, nh, rows, -1).amax(-1) for p in parts]
            shift = peaks[0] if len(peaks) == 1 else torch.maximum(peaks[0], peaks[1])
        for p in parts:
            p.sub_(shift.view(p.shape[:-1] + (1,))).exp2_()
        return parts, shift

    def values(self, vc: Tensor, vg: Tensor, tile: Tile) -> list[Tensor]:
        """The values each part of a tile reads."""
        h0, h1, c0, c1 = tile
        out = []
        if self.bt.num_columns:
            out.append(vc[:, h0:h1])
        if self.bt.width:
            out.append(vg[:, h0:h1, c0:c1])
        return out


def _rows(t: Tensor, shape: tuple[int, ...]) -> Tensor:
    """A tile part's per-row tensor ``[b, heads, ..., x]`` as ``[b, heads, R, x]``."""
    return t.reshape(*shape, t.shape[-1])


def _forward(
    bt: Batch,
    views: tuple[Tensor, ...],
    out: Tensor,
    lse: Tensor,
    factor: float,
    finite: bool = True,
) -> None:
    """One batch's outputs ``out [b, heads, rows, dv]`` and base-2 log-sum-exps ``lse``."""
    q, kc, vc, kg, vg = views
    tiles = _Tiles(bt, q.shape[0])
    g = bt.group
    for tile in tiles.ranges:
        h0, h1, c0, c1 = tile
        qt = q[:, h0:h1, c0 * g : c1 * g] * factor
        parts, peak = tiles.weights(qt, kc, kg, tile, None, finite)
        total = acc = None
        for p, values in zip(parts, tiles.values(vc, vg, tile)):
            s = _rows(p, qt.shape[:3])
            o = _rows(torch.matmul(p, values), qt.shape[:3])
            total = s.sum(-1) if total is None else total.add_(s.sum(-1))
            acc = o if acc is None else acc.add_(o)
        assert acc is not None and total is not None
        torch.div(acc, total.unsqueeze(-1), out=out[:, h0:h1, c0 * g : c1 * g])
        lse[:, h0:h1, c0 * g : c1 * g] = peak + total.log2_()


def _backward(bt: Batch, saved: tuple, grads: tuple, factor: float, finite: bool = True) -> None:
    """Accumulate one batch's input gradients (``grads``: dq, dkc, dvc, dkg, dvg views)
    from the output gradient ``grad`` (already times ln 2) and ``delta``."""
    q, kc, vc, kg, vg, grad, delta, lse = saved
    dq, dkc, dvc, dkg, dvg = grads
    tiles = _Tiles(bt, q.shape[0])
    g = bt.group
    for tile in tiles.ranges:
        h0, h1, c0, c1 = tile
        hl, sl = slice(h0, h1), slice(c0 * g, c1 * g)
        qt = q[:, hl, sl] * factor
        parts, _ = tiles.weights(qt, kc, kg, tile, lse[:, hl, sl], finite)
        gt, d_t = grad[:, hl, sl], delta[:, hl, sl]
        for p, values in zip(parts, tiles.values(vc, vg, tile)):
            view = p.shape[:-1] + (1,)
            if p.dim() == 4:  # shared columns
                dp = torch.matmul(gt, values.transpose(-1, -2))
                dvc[:, hl] += torch.matmul(p.transpose(-1, -2), gt)
                ds = dp.sub_(d_t.reshape(view)).mul_(p)
                dq[:, hl, sl] += torch.matmul(ds, kc[:, hl]).mul_(factor)
                dkc[:, hl] += torch.matmul(ds.transpose(-1, -2), qt)
            else:  # query groups
                b, nh, r, _ = qt.shape
                gg = gt.reshape(b, nh, c1 - c0, g, gt.shape[-1])
                qg = qt.reshape(b, nh, c1 - c0, g, qt.shape[-1])
                dp = torch.matmul(gg, values.transpose(-1, -2))
                dvg[:, hl, c0:c1] += torch.matmul(p.transpose(-1, -2), gg)
                ds = dp.sub_(d_t.reshape(view)).mul_(p)
                dq[:, hl, sl] += _rows(torch.matmul(ds, kg[:, hl, c0:c1]), (b, nh, r)).mul_(factor)
                dkg[:, hl, c0:c1] += torch.matmul(ds.transpose(-1, -2), qg)


def _differentiable(q: Tensor, k: Tensor, v: Tensor, plan: GatherPlan, factor: float) -> Tensor:
    """The gathered rows' outputs as :class:`_GroupedAttention` computes them, in plain
    differentiable torch, each batch's logits at once (memory: the attended pairs, as
    gathered). Its backward pass is recorded by autograd, so it gives the second
    derivative (``create_graph=True``); the fast path never runs it."""
    b = q.shape[0]
    outs = []
    for bt in plan.batches:
        qb, kc, vc, kg, vg = bt.views(q, k, v)
        hs, chunks, g, c = bt.heads, bt.chunks, bt.group, bt.num_columns
        qg = (qb * factor).reshape(b, hs, chunks, g, qb.shape[-1])
        parts = []
        if c:
            logits = torch.matmul(qg, kc.unsqueeze(2).transpose(-1, -2))  # [b, hs, ch, g, C]
            if bt.column_bias is not None:
                bias = bt.column_bias[list(bt.unique)].view(hs, chunks, g, c)
                logits = logits.masked_fill(bias.isneginf(), float("-inf"))
            parts.append(logits)
        if bt.width:
            logits = torch.matmul(qg, kg.transpose(-1, -2))  # [b, hs, chunks, g, W]
            if bt.bias is not None:
                bias = bt.bias[list(bt.unique)]
                logits = logits.masked_fill(bias.isneginf(), float("-inf"))
            parts.append(logits)
        weights = torch.softmax(torch.cat(parts, -1) * LN2, -1)  # base-2 logits
        products = []
        if c:
            products.append(torch.matmul(weights[..., :c], vc.unsqueeze(2)))
        if bt.width:
            products.append(torch.matmul(weights[..., c:], vg))
        outs.append(sum(products[1:], products[0]).reshape(b, hs * bt.rows, -1))
    return torch.cat(outs, 1)


class _GroupedAttention(torch.autograd.Function):
    """Joint softmax attention of each row over its shared columns and its group's
    keys, for every batch of a gather plan, tile by tile, with a recomputing backward pass
    (FlashAttention identities: ``dS = P * (dP - rowsum(dO * O))``; masked pairs have
    ``P = 0``, so they need no pass of their own).

    Logits are taken in base 2 (the queries of each tile are multiplied by ``factor =
    scale * log2(e)``), so that ``exp2`` does the exponentials: it stays fast where
    masked logits are ``-inf``, where ``exp`` is several times slower on CPU.
    """

    @staticmethod
    def forward(
        ctx: Any, q: Tensor, k: Tensor, v: Tensor, plan: GatherPlan, factor: float, finite: bool
    ) -> Tensor:
        b = q.shape[0]
        out = q.new_empty(b, q.shape[1], v.shape[-1])
        lse = q.new_empty(b, q.shape[1])
        for bt in plan.batches:
            views = bt.views(q, k, v)
            qo, n = bt.query_offset, bt.heads * bt.rows
            out_b = out[:, qo : qo + n].view(b, bt.heads, bt.rows, -1)
            lse_b = lse[:, qo : qo + n].view(b, bt.heads, bt.rows)
            _forward(bt, views, out_b, lse_b, factor, finite)
        ctx.plan, ctx.factor, ctx.finite = plan, factor, finite
        ctx.save_for_backward(q, k, v, out, lse)
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple:
        plan: GatherPlan = ctx.plan
        if torch.is_grad_enabled():  # create_graph=True: an R1 or gradient penalty
            inputs = ctx.saved_tensors[:3]
            wanted = [t for t, need in zip(inputs, ctx.needs_input_grad) if need]
            out = _differentiable(*inputs, plan, ctx.factor)
            found = iter(torch.autograd.grad(out, wanted, grad, create_graph=True))
            grads = [next(found) if need else None for need in ctx.needs_input_grad[:3]]
            return (*grads, None, None, None)
        q, k, v, out, lse = ctx.saved_tensors
        b = q.shape[0]
        # Gradients reach the base-2 logits times ln 2; fold that into dO and
        # rowsum(dO * O), which are small, instead of the weights; undo it for dV.
        grad = grad * LN2
        delta = (grad * out).sum(-1)
        dq, dk, dv = torch.zeros_like(q), torch.zeros_like(k), torch.zeros_like(v)
        for bt in plan.batches:
            qo, n = bt.query_offset, bt.heads * bt.rows

            def rows(t: Tensor, qo: int = qo, n: int = n, bt: Batch = bt) -> Tensor:
                return t[:, qo : qo + n].view(b, bt.heads, bt.rows, *t.shape[2:])

            q_b, kc, vc, kg, vg = bt.views(q, k, v)
            saved = (q_b, kc, vc, kg, vg, rows(grad), rows(delta), rows(lse))
            _backward(bt, saved, bt.views(dq, dk, dv), ctx.factor, ctx.finite)
        return dq, dk, dv.div_(LN2), None, None, None


@torch.compiler.disable  # tiles in Python loops: traced, they unroll, and a second
# query count (sequential mode, another map size) sent Dynamo into minutes of symbolic
# shape work; eager, this is already the fast CPU path
def run(
    q: Tensor, k: Tensor, v: Tensor, plan: GatherPlan, *, scale: float, paper_compat: bool
) -> Tensor:
    """Attention of ``q [B, H, nq, d]`` over ``k, v [B, H, nk, d|dv]`` by the grouped
    gather plan from :func:`prepare`.

    Masked pairs are never computed, so ``paper_compat`` (``-1000`` instead of ``-inf``)
    changes nothing here beyond rounding. A non-finite key reaches only the queries that
    attend it, as in the dense reference.
    """
    del paper_compat
    if q.dtype in (torch.bfloat16, torch.float16):  # weights and sums in float32, as
        # FlashAttention keeps them; cast back at the end (CPU matmuls gain nothing in bf16)
        low = q.dtype
        return run(q.float(), k.float(), v.float(), plan, scale=scale, paper_compat=False).to(low)
    b, h, nq, d = q.shape
    nk, dv = k.shape[2], v.shape[-1]
    qf, kf, vf = q.reshape(b, h * nq, d), k.reshape(b, h * nk, d), v.reshape(b, h * nk, dv)
    try:
        rows = _GroupedAttention.apply(
            gather(qf, plan.queries),
            gather(kf, plan.keys),
            gather(vf, plan.keys),
            plan,
            scale * LOG2E,
            bool(torch.isfinite(k).all()),
        )
    except RuntimeError as exc:
        if "functorch transforms" not in str(exc):
            raise
        raise YlgError(
            "the grouped backend does not run under torch.func transforms (grad, vmap,"
            " jvp, ...); use backend='dense' or 'sdpa' there, or torch.autograd"
        ) from None
    return gather(rows, plan.slots).view(b, h, nq, dv)
