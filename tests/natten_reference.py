"""Brute-force references for the tests: NATTEN's neighborhoods, written from NATTEN's
documentation (natten.org: na1d/na2d/na3d, kernel_size / stride / dilation / is_causal)
and the generalized neighborhood attention paper (arXiv:2504.16922), with loops over
cells and lists of positions, independently of ``ylg.patterns.natten``.

Along one axis of side ``n``:

* dilation ``d`` splits the axis into ``d`` interleaved groups (same ``x % d``); a query
  only sees its own group, listed in order;
* stride ``s`` groups the queries of that list ``s`` at a time; all of a group use the
  window of its leader: the middle query (right of centre for an even ``s``), the last
  one when causal; a group cut by the end of the list has its leader at the list's end
  at the latest;
* not causal: ``kernel_size`` consecutive members, centred on the leader
  (``kernel_size // 2`` before it), slid back inside the list when they stick out;
* causal: the members from ``kernel_size - 1`` before the leader up to the query itself.

``strict=False`` also takes what NATTEN refuses (a window longer than the list): the
window is then the whole list, which is what ylg's library patterns do.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np


def neighbours_1d(
    x: int, n: int, kernel: int, stride: int = 1, dilation: int = 1, causal: bool = False
) -> list[int]:
    """The positions along one axis that position ``x`` attends."""
    members = [y for y in range(n) if y % dilation == x % dilation]
    me = members.index(x)
    group_start = (me // stride) * stride
    if causal:
        leader = min(group_start + stride - 1, len(members) - 1)
        chosen = [j for j in range(len(members)) if leader - kernel < j <= me]
    else:
        leader = min(group_start + stride // 2, len(members) - 1)
        lo = leader - kernel // 2
        while lo + kernel > len(members) and lo > 0:  # slide back inside the list
            lo -= 1
        lo = max(lo, 0)
        chosen = [j for j in range(lo, lo + kernel) if j < len(members)]
    return [members[j] for j in chosen]


def check_arguments(
    shape: Sequence[int], kernel_size, stride, dilation
) -> None:  # NATTEN's documented limits
    for n, k, s, d in zip(shape, kernel_size, stride, dilation):
        if not (1 <= k <= n and 1 <= s <= k and d >= 1 and d * k <= n):
            raise ValueError(f"NATTEN refuses side {n}, kernel {k}, stride {s}, dilation {d}")


def natten_reference_mask(
    shape: Sequence[int],
    kernel_size: Sequence[int],
    stride: Sequence[int] | None = None,
    dilation: Sequence[int] | None = None,
    is_causal: Sequence[bool] | None = None,
    *,
    strict: bool = True,
) -> np.ndarray:
    """NATTEN's mask on a token layout of ``shape`` (row-major positions), ``[n, n]``."""
    ndim = len(shape)
    stride = tuple(stride or (1,) * ndim)
    dilation = tuple(dilation or (1,) * ndim)
    is_causal = tuple(is_causal or (False,) * ndim)
    if strict:
        check_arguments(shape, kernel_size, stride, dilation)
    cells = list(itertools.product(*(range(n) for n in shape)))
    index = {cell: i for i, cell in enumerate(cells)}
    out = np.zeros((len(cells), len(cells)), dtype=bool)
    for cell in cells:
        per_axis = [
            neighbours_1d(x, n, k, s, d, c)
            for x, n, k, s, d, c in zip(cell, shape, kernel_size, stride, dilation, is_causal)
        ]
        for key in itertools.product(*per_axis):
            out[index[cell], index[key]] = True
    return out
