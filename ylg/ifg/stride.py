"""A stride that tiles the keys: the one-number repair of block patterns.

RTL, LTR and every pattern built on blocks of ``s`` keys (``q // s == k // s``, a block's
first or last key) lose Full Information where ``s`` does not divide the key count:
the last, partial block has no complete first element and no block end for the summary
step to read, however many layers are stacked. The paper's stride ``isqrt(n)`` divides
``n`` on square grids only (16x32 keys: ``s = 22``, a partial block of 6 keys). The
stride rule :data:`TILING_STRIDE` takes the largest divisor of ``n`` not above
``isqrt(n)`` instead (16 there): the same blocks wherever ``isqrt(n)`` already divides
``n``, whole blocks everywhere else.

>>> from ylg.patterns import load_pattern
>>> tiling_stride(load_pattern("rtl").on("16x32")).describe()
'16x32, esa, s=16'
>>> tiling_stride(load_pattern("rtl").on("16x16")) is None   # s = 16 tiles 256 keys
True
"""

from __future__ import annotations

from dataclasses import replace

from ylg.ifg.stack import full_information_after
from ylg.patterns import Masks

#: The stride rule that tiles any key count: the largest divisor of ``n`` at most
#: ``isqrt(n)`` (``divisor`` is a function of the stride language).
TILING_STRIDE = "divisor(n, isqrt(n))"


def tiling_stride(masks: Masks, layers: int = 1) -> Masks | None:
    """``masks`` laid again with the stride rule :data:`TILING_STRIDE`, when that helps:
    its steps use the stride, its stride leaves a partial block of keys, and the
    re-laid pattern has Full Information after ``layers`` stacked layers (the inner ones
    on the key grid, as :func:`~ylg.ifg.stack_full_information` stacks them). ``None``
    otherwise.

    >>> from ylg.patterns import load_pattern
    >>> m = load_pattern("ltr").on("500", order="rowmajor")   # s = 22: 500 = 22 * 22 + 16
    >>> tiling_stride(m).stride, 500 % 20
    (20, 0)
    """
    if masks.nk % masks.stride == 0 or not any("s" in e.variables for e in masks.exprs):
        return None
    tiled = masks.pattern.with_stride(TILING_STRIDE).on(replace(masks.layout, stride=None))
    if tiled.stride == masks.stride:
        return None
    return tiled if full_information_after(tiled, layers).holds else None
