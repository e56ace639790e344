"""The ``flex`` backends: PyTorch FlexAttention over tile-planned token orders.

A block-sparse kernel visits every ``128 x 128`` tile of the score matrix that holds at
least one attended pair. Each head's queries and keys are therefore first put in the
orders :func:`ylg.patterns.tiles.plan_tiles` picks for its step (with padding slots
where they pay), so that few tiles are non-empty, and the ``BlockMask`` is built
exactly from the plan: tiles with no attended pair are skipped, tiles whose every
pair is attended are marked full (no mask evaluated there), the rest evaluate the
pattern's own torch predicate (:meth:`ylg.patterns.Masks.mask_mod`) through the
reordering.

* ``flex``: ``flex_attention`` compiled once per process (``torch.compile``): the fused
  kernel on CUDA (forward and backward), a fused forward on CPU.
* ``flex-eager``: the same call without compilation: PyTorch's unfused reference path,
  which materialises the whole score matrix. Only a fallback for debugging, picked by
  name, never by ``auto``.

Head dimensions are padded with zeros up to what the fused kernel takes (a power of two,
at least 16) and the padding is sliced off the output; zeros change no dot product.

>>> import torch
>>> from ylg.attention import head_masks
>>> hm = head_masks("ylg", grid="4x4")
>>> plan = prepare(hm.last_steps(), torch.device("cpu"), torch.float32)
>>> tuple(plan.query_index.shape)                  # 8 heads, 16 tokens in one tile
(8, 128)
>>> kernel_dim(4), kernel_dim(64), kernel_dim(80)
(16, 64, 128)
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ylg.attention.masksets import StepMask
from ylg.errors import YlgError
from ylg.patterns.tiles import DEFAULT_TILE, PAD, TilePlan, order_slots, plan_step

#: Smallest head dimension the fused kernels take (Triton's ``tl.dot`` needs 16).
MIN_KERNEL_DIM = 16
#: The dtypes the fused kernel takes.
KERNEL_DTYPES = (torch.float32, torch.float16, torch.bfloat16)
_compiled: Callable[..., Tensor] | None = None


def available() -> bool:
    """Whether this torch has FlexAttention.

    >>> available()
    True
    """
    try:
        import torch.nn.attention.flex_attention  # noqa: F401
    except ImportError:
        return False
    return True


def fused_available(device: "torch.device | str") -> bool:
    """Whether the compiled (fused) kernel can run on a device: FlexAttention, and on
    CUDA a Triton install for Inductor.

    >>> fused_available("cpu") == available()
    True
    """
    if not available():
        return False
    if torch.device(device).type == "cuda":
        try:
            from torch.utils._triton import has_triton
        except ImportError:  # pragma: no cover - very old torch
            return False
        return bool(has_triton())
    return True


def kernel_dim(d: int) -> int:
    """The head dimension the fused kernel runs ``d`` at: the next power of two, >= 16."""
    return max(MIN_KERNEL_DIM, 1 << max(0, int(d) - 1).bit_length())


def step_plan(step: StepMask, tile: int = DEFAULT_TILE) -> TilePlan:
    """The tile plan of one step mask (computed once, kept on the step: numpy only)."""
    key = ("tiles", tile)
    if key not in step.cache:
        step.cache[key] = plan_step(step.masks, step.step, tile)
    return step.cache[key]


@dataclass(frozen=True)
class FlexPlan:
    """What the flex backends need on a device for one list of heads.

    ``query_index[h, i]``: the query at slot ``i`` of head ``h`` (``nq``: a zero padding
    row), likewise ``key_index``; ``query_slot[h, x]``: the slot of query ``x``.
    """

    query_index: Tensor  # [H, Lq]
    key_index: Tensor  # [H, Lk]
    query_slot: Tensor  # [H, nq]
    block_mask: Any
    plans: tuple[TilePlan, ...]


def _extend(order: np.ndarray, length: int) -> np.ndarray:
    return np.concatenate([order, np.full(length - len(order), PAD, dtype=np.int64)])


def _blocks(flags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``[H, tq, tk]`` tile flags as FlexAttention's (counts ``[H, tq]``, indices
    ``[H, tq, tk]``, the flagged tiles first)."""
    counts = flags.sum(axis=-1).astype(np.int32)
    indices = np.argsort(~flags, axis=-1, kind="stable").astype(np.int32)
    return counts, indices


def prepare(
    steps: tuple[StepMask, ...], device: torch.device, dtype: torch.dtype, tile: int = DEFAULT_TILE
) -> FlexPlan:
    """Token orders and the block mask of a list of heads on a device.

    Not cached here: the caller keeps the result (a layer keeps it on itself, so that
    deleting the model frees its device memory).
    """
    del dtype  # the block mask serves every dtype
    if not available():
        raise YlgError(f"the flex backend needs FlexAttention (torch {torch.__version__} lacks it)")
    from torch.nn.attention.flex_attention import BlockMask

    unique = list(dict.fromkeys(steps))
    plans = {s: step_plan(s, tile) for s in unique}
    nq, nk = steps[0].nq, steps[0].nk
    lq = -(-max(len(p.query_order) for p in plans.values()) // tile) * tile
    lk = -(-max(len(p.key_order) for p in plans.values()) // tile) * tile
    q_orders = np.stack([_extend(plans[s].query_order, lq) for s in steps])
    k_orders = np.stack([_extend(plans[s].key_order, lk) for s in steps])
    partial, full = [], []
    for s in steps:
        p = plans[s]
        occupied = np.zeros((lq // tile, lk // tile), dtype=bool)
        is_full = np.zeros_like(occupied)
        tq, tk = p.occupancy.shape
        occupied[:tq, :tk] = p.occupancy > 0
        # The plan's last tile may be short; here it is filled up with padding slots,
        # which only the mask keeps out: such a tile is never full (no mask evaluated).
        whole_q = (np.arange(tq) + 1) * tile <= len(p.query_order)
        whole_k = (np.arange(tk) + 1) * tile <= len(p.key_order)
        is_full[:tq, :tk] = p.full_tiles() & whole_q[:, None] & whole_k[None, :]
        partial.append(occupied & ~is_full)
        full.append(is_full)
    kv_num, kv_idx = _blocks(np.stack(partial))
    full_num, full_idx = _blocks(np.stack(full))

    head_kind = torch.tensor([unique.index(s) for s in steps], device=device)
    q_table = torch.from_numpy(q_orders).to(device)
    k_table = torch.from_numpy(k_orders).to(device)
    preds = [s.masks.mask_mod(s.step, device) for s in unique]

    def mask_mod(b: Tensor, h: Tensor, q_idx: Tensor, kv_idx: Tensor) -> Tensor:
        qt, kt = q_table[h, q_idx], k_table[h, kv_idx]
        out = preds[0](b, h, qt, kt)
        if len(preds) > 1:
            out = (head_kind[h] == 0) & out
            for u, pred in enumerate(preds[1:], 1):
                out = out | ((head_kind[h] == u) & pred(b, h, qt, kt))
        return out

    def on_device(a: np.ndarray) -> Tensor:
        return torch.from_numpy(np.ascontiguousarray(a[None])).to(device)

    block_mask = BlockMask.from_kv_blocks(
        on_device(kv_num),
        on_device(kv_idx),
        on_device(full_num),
        on_device(full_idx),
        BLOCK_SIZE=tile,
        mask_mod=mask_mod,
        seq_lengths=(lq, lk),
    )
    q_index = np.where(q_orders >= 0, q_orders, nq)
    k_index = np.where(k_orders >= 0, k_orders, nk)
    slots = np.stack([order_slots(q, nq) for q in q_orders])
    return FlexPlan(
        query_index=torch.from_numpy(q_index).to(device),
        key_index=torch.from_numpy(k_index).to(device),
        query_slot=torch.from_numpy(slots).to(device),
        block_mask=block_mask,
        plans=tuple(plans[s] for s in steps),
    )


def _take(x: Tensor, index: Tensor) -> Tensor:
    """``out[b, h, i] = x[b, h, index[h, i]]`` as one ``index_select`` (no index tensor
    the size of ``x``)."""
    b, h, n, d = x.shape
    flat = (index + torch.arange(h, device=index.device)[:, None] * n).reshape(-1)
    return x.reshape(b, h * n, d).index_select(1, flat).reshape(b, h, index.shape[1], d)


def _padded(x: Tensor, dim: int) -> Tensor:
    """``x`` with the head dimension zero-padded to ``dim`` and one zero token appended."""
    return torch.nn.functional.pad(x, (0, dim - x.shape[-1], 0, 1))


def _kernel(compiled: bool) -> Callable[..., Tensor]:
    from torch.nn.attention.flex_attention import flex_attention

    if not compiled:
        return flex_attention
    global _compiled
    if _compiled is None:
        _compiled = torch.compile(flex_attention, dynamic=False)
    return _compiled


class FlexBackend:
    """``prepare`` / ``run`` of one flex variant: compiled (``flex``) or eager."""

    def __init__(self, compiled: bool) -> None:
        self.compiled = compiled
        self.name = "flex" if compiled else "flex-eager"

    def prepare(self, steps: tuple[StepMask, ...], device: torch.device, dtype: torch.dtype):
        """See :func:`prepare`."""
        return prepare(steps, device, dtype)

    def run(
        self, q: Tensor, k: Tensor, v: Tensor, plan: FlexPlan, *, scale: float, paper_compat: bool
    ) -> Tensor:
        """Attention of ``q [B, H, nq, d]`` over ``k, v [B, H, nk, d|dv]``.

        Masked pairs are skipped, so ``paper_compat`` changes nothing beyond rounding.
        """
        del paper_compat
        if (
            q.device.type == "cpu"
            and torch.is_grad_enabled()
            and any(t.requires_grad for t in (q, k, v))
        ):
            raise YlgError(
                f"FlexAttention has no backward pass on CPU; use backend='grouped' for training"
                f" on CPU ({self.name} runs forward-only there, under torch.no_grad())"
            )
        if self.compiled and q.dtype not in KERNEL_DTYPES:
            raise YlgError(
                f"the fused flex kernel runs float32, float16 and bfloat16, not {q.dtype};"
                " use backend='dense' (or 'flex-eager') for other dtypes"
            )
        dim, dv = kernel_dim(q.shape[-1]), v.shape[-1]
        qs = _take(_padded(q, dim), plan.query_index)
        ks = _take(_padded(k, dim), plan.key_index)
        vs = _take(_padded(v, kernel_dim(dv)), plan.key_index)
        with warnings.catch_warnings():
            # Eager mode warns that it is the unfused reference path; that is its name.
            warnings.simplefilter("ignore", UserWarning)
            out = _kernel(self.compiled)(qs, ks, vs, block_mask=plan.block_mask, scale=scale)
        return _take(out[..., :dv], plan.query_slot)


#: The fused backend (``flex``) and the unfused reference (``flex-eager``).
FUSED = FlexBackend(compiled=True)
EAGER = FlexBackend(compiled=False)
