"""Enumerations: orders in which the cells of a grid are numbered.

An enumeration of a grid is a permutation ``pi`` of its row-major positions:
``pi[a]`` is the row-major position of the ``a``-th cell in the order. Applying a 1-D
step under an enumeration is the paper's ESA "shift": ``M[pi[a], pi[b]] = M1d[a, b]``.

All orders are defined for every grid of 1, 2 or 3 axes (axes of side 1 are ignored,
so a ``1x32x32`` video orders its cells as the ``32x32`` image does):

- ``rowmajor``: the plain reshape, ``pi[a] = a``.
- ``esa``: the paper's Manhattan enumeration: cells sorted by their distance
  ``t + i + j`` from the first cell, ties by the coordinates in turn (on a 2-D grid,
  by ``(i + j, i)``).
- ``snake``: boustrophedon: row-major with every odd row reversed, and on 3-D grids
  every odd frame run backwards too; consecutive cells are always grid neighbours.
- ``zorder``: cells sorted by their Morton code (bits of the coordinates
  interleaved, the first axis's bit highest). On sides that are not powers of two the
  codes that fall outside the grid are skipped, so the order is the Z-curve of the
  enclosing power-of-two square (cube) restricted to the grid.
- ``hilbert``: on 2-D grids the generalised Hilbert curve ("gilbert") for rectangles.
  On power-of-two squares it is the classic Hilbert curve from ``(0, 0)`` to
  ``(0, W-1)``; on other sizes it still covers every cell with unit steps, except for
  one diagonal step when the longer side is odd and the shorter side even. On 3-D
  grids, the Hilbert curve of the enclosing power-of-two cube (Skilling's transform)
  restricted to the grid: unit steps throughout on power-of-two cubes.

>>> enumeration("esa", 3, 3).tolist()
[0, 1, 3, 2, 4, 6, 5, 7, 8]
>>> sorted(ORDERS)
['esa', 'hilbert', 'rowmajor', 'snake', 'zorder']
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

import numpy as np

from ylg.errors import PatternError


def _coords(shape: tuple[int, ...]) -> list[np.ndarray]:
    return list(np.indices(shape, dtype=np.int64).reshape(len(shape), -1))


def rowmajor(*shape: int) -> np.ndarray:
    """The identity order.

    >>> rowmajor(2, 2).tolist()
    [0, 1, 2, 3]
    """
    return np.arange(int(np.prod(shape, dtype=np.int64)), dtype=np.int64)


def esa(*shape: int) -> np.ndarray:
    """Manhattan distance from the first cell, ties broken lexicographically (smaller
    first coordinate first): on a 2-D grid, cells sorted by ``(i + j, i)``.

    >>> esa(4, 4).tolist()
    [0, 1, 4, 2, 5, 8, 3, 6, 9, 12, 7, 10, 13, 11, 14, 15]
    >>> esa(2, 2, 2).tolist()
    [0, 1, 2, 4, 3, 5, 6, 7]
    """
    coords = _coords(shape)
    # np.lexsort sorts by the last key first: distance, then each coordinate in turn.
    return np.lexsort((*coords[::-1], sum(coords))).astype(np.int64)


def snake(*shape: int) -> np.ndarray:
    """Boustrophedon: each axis runs forwards or backwards so that consecutive cells are
    always grid neighbours (on 2-D grids: even rows left to right, odd rows right to left).

    >>> snake(2, 3).tolist()
    [0, 1, 2, 5, 4, 3]
    >>> snake(2, 2, 2).tolist()
    [0, 1, 3, 2, 6, 7, 5, 4]
    """
    coords = _coords(shape)
    # The reflected mixed-radix order: an axis runs backwards when the cells before it
    # in the order have an odd number of reversals, i.e. the serpentine index of the
    # axes before it is odd.
    key = np.zeros_like(coords[0])
    for axis, side in enumerate(shape):
        c = coords[axis]
        c = np.where(key % 2 == 1, side - 1 - c, c)
        key = key * side + c
    return np.argsort(key, kind="stable").astype(np.int64)


def zorder(*shape: int) -> np.ndarray:
    """Morton (Z-curve) order: the bits of the coordinates interleaved, the first axis's
    bit highest at each level; see the module docs for sides that are not powers of two.

    >>> zorder(2, 4).tolist()
    [0, 1, 4, 5, 2, 3, 6, 7]
    """
    coords = _coords(shape)
    code = np.zeros_like(coords[0])
    dims = len(shape)
    for bit in range(max(shape).bit_length()):
        for axis, c in enumerate(coords):
            code |= ((c >> bit) & 1) << (dims * bit + dims - 1 - axis)
    return np.argsort(code, kind="stable").astype(np.int64)


def hilbert_index(coords: list[np.ndarray], bits: int) -> np.ndarray:
    """Place of each cell on the Hilbert curve of the ``2**bits`` cube of ``len(coords)``
    axes (Skilling's transform, "Programming the Hilbert curve", AIP 2004), vectorised.

    >>> hilbert_index([np.array([0, 0, 1, 1]), np.array([0, 1, 1, 0])], 1).tolist()
    [0, 1, 2, 3]
    """
    x = [c.copy() for c in coords]
    n = len(x)
    q = 1 << (bits - 1)
    while q > 1:  # undo the excess work of the Gray code, level by level
        p = q - 1
        for i in range(n):
            high = (x[i] & q) != 0
            swap = (x[0] ^ x[i]) & p
            x[0] = np.where(high, x[0] ^ p, x[0] ^ swap)
            if i:
                x[i] = np.where(high, x[i], x[i] ^ swap)
        q >>= 1
    for i in range(1, n):  # Gray encode
        x[i] ^= x[i - 1]
    t = np.zeros_like(x[0])
    q = 1 << (bits - 1)
    while q > 1:
        t = np.where((x[n - 1] & q) != 0, t ^ (q - 1), t)
        q >>= 1
    for i in range(n):
        x[i] ^= t
    index = np.zeros_like(x[0])
    for bit in range(bits - 1, -1, -1):
        for i in range(n):
            index = (index << 1) | ((x[i] >> bit) & 1)
    return index


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


def hilbert(*shape: int) -> np.ndarray:
    """Hilbert curve. On 2-D grids the generalised Hilbert curve for any rectangle (see
    the module docs); on 3-D grids the Hilbert curve of the enclosing power-of-two cube
    restricted to the grid (unit steps throughout when every side is the same power of
    two).

    >>> hilbert(2, 2).tolist()
    [0, 2, 3, 1]
    >>> hilbert(2, 2, 2).tolist()
    [0, 1, 3, 2, 6, 7, 5, 4]
    """
    if len(shape) == 1:
        return rowmajor(*shape)
    if len(shape) == 2:
        h, w = shape
        if w >= h:
            cells = _gilbert(0, 0, w, 0, 0, h)
        else:
            cells = _gilbert(0, 0, 0, h, w, 0)
        return np.fromiter((y * w + x for x, y in cells), dtype=np.int64, count=h * w)
    bits = max(1, (max(shape) - 1).bit_length())
    code = hilbert_index(_coords(shape), bits)
    return np.argsort(code, kind="stable").astype(np.int64)


ORDERS: dict[str, Callable[..., np.ndarray]] = {
    "rowmajor": rowmajor,
    "esa": esa,
    "hilbert": hilbert,
    "zorder": zorder,
    "snake": snake,
}


@lru_cache(maxsize=64)
def _cached(name: str, shape: tuple[int, ...]) -> np.ndarray:
    # Sides of 1 change no row-major position: the order is that of the other axes.
    squeezed = tuple(side for side in shape if side > 1) or (1,)
    pi = ORDERS[name](*squeezed)
    pi.setflags(write=False)
    return pi


def _shape(sides: tuple[Any, ...]) -> tuple[int, ...]:
    if len(sides) == 1 and not isinstance(sides[0], (int, np.integer)):
        sides = tuple(getattr(sides[0], "shape", sides[0]))
    return tuple(int(side) for side in sides)


def enumeration(name: str, *sides: Any) -> np.ndarray:
    """The permutation ``pi`` of order ``name`` on a grid (read-only, cached). The grid is
    given by its sides, ``enumeration("esa", 4, 4)``, or as a shape or :class:`Grid`.

    >>> enumeration("snake", 2, 2).tolist()
    [0, 1, 3, 2]
    >>> enumeration("esa", (1, 2, 2)).tolist() == enumeration("esa", 2, 2).tolist()
    True
    """
    if name not in ORDERS:
        raise PatternError(f"unknown order {name!r} (known: {', '.join(ORDERS)})")
    return _cached(name, _shape(sides))


def ranks(name: str, *sides: Any) -> np.ndarray:
    """The inverse permutation: ``ranks(...)[pi[a]] == a``, the order position of each cell.

    >>> ranks("esa", 3, 3).tolist()
    [0, 1, 3, 2, 4, 6, 5, 7, 8]
    """
    pi = enumeration(name, *sides)
    inv = np.empty_like(pi)
    inv[pi] = np.arange(pi.size, dtype=np.int64)
    return inv
