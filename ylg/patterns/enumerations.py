"""Enumerations: orders in which the cells of a grid are numbered.

An enumeration of an ``H x W`` grid is a permutation ``pi`` of its row-major
positions: ``pi[a]`` is the row-major position of the ``a``-th cell in the order.
Applying a 1-D step under an enumeration is the paper's ESA "shift":
``M[pi[a], pi[b]] = M1d[a, b]``.

All orders are defined for every ``H x W`` grid:

- ``rowmajor``: the plain reshape, ``pi[a] = a``.
- ``esa``: the paper's Manhattan enumeration, cells sorted by ``(i + j, i)``.
- ``snake``: row-major with every odd row reversed (boustrophedon); consecutive
  cells are always grid neighbours.
- ``zorder``: cells sorted by their Morton code (bits of ``i`` and ``j``
  interleaved, row bit first). On sides that are not powers of two the codes that
  fall outside the grid are skipped, so the order is the Z-curve of the enclosing
  power-of-two square restricted to the grid.
- ``hilbert``: the generalised Hilbert curve ("gilbert") for rectangles. On
  power-of-two squares it is the classic Hilbert curve from ``(0, 0)`` to
  ``(0, W-1)``; on other sizes it still covers every cell with unit steps, except for
  one diagonal step when the longer side is odd and the shorter side even.

>>> enumeration("esa", 3, 3).tolist()
[0, 1, 3, 2, 4, 6, 5, 7, 8]
>>> sorted(ORDERS)
['esa', 'hilbert', 'rowmajor', 'snake', 'zorder']
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import lru_cache

import numpy as np

from ylg.errors import PatternError


def rowmajor(h: int, w: int) -> np.ndarray:
    """The identity order.

    >>> rowmajor(2, 2).tolist()
    [0, 1, 2, 3]
    """
    return np.arange(h * w, dtype=np.int64)


def esa(h: int, w: int) -> np.ndarray:
    """Manhattan distance from ``(0, 0)``, ties broken by the smaller row.

    >>> esa(4, 4).tolist()
    [0, 1, 4, 2, 5, 8, 3, 6, 9, 12, 7, 10, 13, 11, 14, 15]
    """
    i = np.repeat(np.arange(h, dtype=np.int64), w)
    j = np.tile(np.arange(w, dtype=np.int64), h)
    return np.lexsort((i, i + j)).astype(np.int64)


def snake(h: int, w: int) -> np.ndarray:
    """Boustrophedon: even rows left to right, odd rows right to left.

    >>> snake(2, 3).tolist()
    [0, 1, 2, 5, 4, 3]
    """
    grid = np.arange(h * w, dtype=np.int64).reshape(h, w)
    grid[1::2] = grid[1::2, ::-1]
    return grid.reshape(-1)


def zorder(h: int, w: int) -> np.ndarray:
    """Morton (Z-curve) order; see the module docs for non-power-of-two sides.

    >>> zorder(2, 4).tolist()
    [0, 1, 4, 5, 2, 3, 6, 7]
    """
    i = np.repeat(np.arange(h, dtype=np.int64), w)
    j = np.tile(np.arange(w, dtype=np.int64), h)
    code = np.zeros(h * w, dtype=np.int64)
    for bit in range(max(h, w).bit_length()):
        code |= ((j >> bit) & 1) << (2 * bit)
        code |= ((i >> bit) & 1) << (2 * bit + 1)
    return np.argsort(code, kind="stable").astype(np.int64)


def _sign(x: int) -> int:
    return (x > 0) - (x < 0)


def _gilbert(x: int, y: int, ax: int, ay: int, bx: int, by: int) -> Iterator[tuple[int, int]]:
    """Generalised Hilbert curve over the rectangle spanned by (ax, ay) and (bx, by)."""
    w = abs(ax + ay)
    h = abs(bx + by)
    dax, day = _sign(ax), _sign(ay)
    dbx, dby = _sign(bx), _sign(by)
    if h == 1:
        for _ in range(w):
            yield x, y
            x, y = x + dax, y + day
        return
    if w == 1:
        for _ in range(h):
            yield x, y
            x, y = x + dbx, y + dby
        return
    ax2, ay2 = int(ax / 2), int(ay / 2)
    bx2, by2 = int(bx / 2), int(by / 2)
    w2 = abs(ax2 + ay2)
    h2 = abs(bx2 + by2)
    if 2 * w > 3 * h:
        if w2 % 2 and w > 2:
            ax2, ay2 = ax2 + dax, ay2 + day
        yield from _gilbert(x, y, ax2, ay2, bx, by)
        yield from _gilbert(x + ax2, y + ay2, ax - ax2, ay - ay2, bx, by)
    else:
        if h2 % 2 and h > 2:
            bx2, by2 = bx2 + dbx, by2 + dby
        yield from _gilbert(x, y, bx2, by2, ax2, ay2)
        yield from _gilbert(x + bx2, y + by2, ax, ay, bx - bx2, by - by2)
        yield from _gilbert(
            x + (ax - dax) + (bx2 - dbx),
            y + (ay - day) + (by2 - dby),
            -bx2,
            -by2,
            -(ax - ax2),
            -(ay - ay2),
        )


def hilbert(h: int, w: int) -> np.ndarray:
    """Generalised Hilbert curve for any rectangle.

    >>> hilbert(2, 2).tolist()
    [0, 2, 3, 1]
    """
    if w >= h:
        cells = _gilbert(0, 0, w, 0, 0, h)
    else:
        cells = _gilbert(0, 0, 0, h, w, 0)
    return np.fromiter((y * w + x for x, y in cells), dtype=np.int64, count=h * w)


ORDERS: dict[str, Callable[[int, int], np.ndarray]] = {
    "rowmajor": rowmajor,
    "esa": esa,
    "hilbert": hilbert,
    "zorder": zorder,
    "snake": snake,
}


@lru_cache(maxsize=64)
def _cached(name: str, h: int, w: int) -> np.ndarray:
    pi = ORDERS[name](h, w)
    pi.setflags(write=False)
    return pi


def enumeration(name: str, h: int, w: int) -> np.ndarray:
    """The permutation ``pi`` of order ``name`` on an ``h x w`` grid (read-only, cached).

    >>> enumeration("snake", 2, 2).tolist()
    [0, 1, 3, 2]
    """
    if name not in ORDERS:
        raise PatternError(f"unknown order {name!r} (known: {', '.join(ORDERS)})")
    return _cached(name, int(h), int(w))


def ranks(name: str, h: int, w: int) -> np.ndarray:
    """The inverse permutation: ``ranks(...)[pi[a]] == a``, the order position of each cell.

    >>> ranks("esa", 3, 3).tolist()
    [0, 1, 3, 2, 4, 6, 5, 7, 8]
    """
    pi = enumeration(name, h, w)
    inv = np.empty_like(pi)
    inv[pi] = np.arange(pi.size, dtype=np.int64)
    return inv
