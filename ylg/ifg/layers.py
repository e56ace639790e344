"""The layers of an Information Flow Graph and the matrices between them.

A pattern of ``p`` steps has layers ``V0 .. Vp``. On a square layout every layer is
the grid. On a non-square one (more queries than keys) the inputs ``V0`` and the
inner layers live on the key grid, where the inner steps run (the pattern laid on
the key grid alone), and only the last step maps key tokens to the query grid ``Vp``.
Step ``i`` is the boolean matrix ``M_i`` from layer ``i-1`` (its columns, keys) to
layer ``i`` (its rows, queries).

>>> from ylg.patterns import load_pattern
>>> m = load_pattern("ltr").on("2x2", query_grid="4x4")
>>> [a.shape for a in step_matrices(m)]
[(4, 4), (16, 4)]
>>> [str(g) for g in layer_grids(m)]
['2x2', '2x2', '4x4']
"""

from __future__ import annotations

import scipy.sparse as sp

from ylg.patterns import Grid, Masks


def step_matrices(masks: Masks) -> list[sp.csr_array]:
    """``[M_1, ..., M_p]`` as CSR bool arrays: inner steps on the key grid, the last one
    from the key grid to the query grid."""
    inner = masks.square_on_keys()
    mats = [inner.csr(t) for t in range(masks.num_steps - 1)]
    mats.append(masks.csr(masks.num_steps - 1))
    return mats


def layer_grids(masks: Masks) -> list[Grid]:
    """The grid of each layer ``V0 .. Vp``."""
    return [masks.grid] * masks.num_steps + [masks.query_grid]
