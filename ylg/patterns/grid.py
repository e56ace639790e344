"""Grids of tokens: their shape, how to write one (``"32x32"``) and their cells.

A grid has one, two or three axes: a sequence (``"64"``), an image (``"32x32"``,
height x width) or a video (``"16x32x32"``, frames x height x width). Positions are
row-major (the first axis slowest): cell ``(i, j)`` of an ``H x W`` grid is position
``i * W + j``. Every mask ylg writes uses these positions on its query and key grids.

Axes are named from the last one back: ``j`` (columns), ``i`` (rows), ``t`` (frames).
A grid with fewer axes is the same grid with leading sides of 1, so a pattern written
for videos runs on images (``qt == kt == 0``) and an image pattern runs on every frame
of a video.

>>> g = Grid.parse("4x3")
>>> g.size, g.cell(5), g.position(1, 2)
(12, (1, 2), 5)
>>> v = Grid.parse("2x4x3")
>>> v.ndim, v.axes, v.cell(13)
(3, ('t', 'i', 'j'), (1, 0, 1))
"""

from __future__ import annotations

import re
from functools import total_ordering
from typing import Any

import numpy as np

from ylg.errors import PatternError

#: How queries on a grid other than the key grid are mapped onto it.
#: ``repeat``: query ``x`` (row-major on its grid) behaves as key-grid query ``x mod n``
#: (the authors' code). ``tile``: query cell ``(i, j)`` behaves as key cell
#: ``(i mod h, j mod w)`` (the paper text's "shift the 16x16 masks over the 32x32
#: image"). ``spatial``: query cell ``(i, j)`` behaves as the key cell under it,
#: ``(i*h//hq, j*w//wq)``. ``direct``: the steps are evaluated on the query grid
#: itself, with ``q``, ``qi``, ``qj`` taken from it (for patterns written with ``nq``).
#: ``tile`` and ``spatial`` act axis by axis; a rule per axis is written with commas,
#: like ``"tile,spatial,spatial"`` on a 3-D grid.
NONSQUARE_RULES: dict[str, str] = {
    "repeat": "query x behaves as key-grid query x mod n (the authors' code; default)",
    "tile": "query cell (i, j) behaves as key cell (i mod h, j mod w) (the paper's text)",
    "spatial": "query cell (i, j) behaves as the key cell under it (i*h//hq, j*w//wq)",
    "direct": "steps are evaluated on the query grid's own enumeration",
}
#: The rules that act on each axis alone, and so may be given one per axis.
AXIS_RULES = ("tile", "spatial")

#: Names of the axes of a grid with 1, 2 or 3 axes, the last axis always ``j``.
AXIS_NAMES = ("t", "i", "j")
#: The variable that holds each axis's side on the key grid (the query grid adds ``q``).
SIDE_NAMES = {"t": "t", "i": "h", "j": "w"}
MAX_AXES = len(AXIS_NAMES)

_NUMBER_RE = re.compile(r"^[0-9]{1,12}$")
MAX_SIDE = 1 << 15


def _check_side(side: Any, where: Any = None) -> int:
    if isinstance(side, bool) or not isinstance(side, (int, np.integer)):
        suffix = f" in {where!r}" if where is not None else ""
        raise PatternError(f"grid sides must be integers, got {side!r}{suffix}")
    if side < 1 or side > MAX_SIDE:
        raise PatternError(f"grid sides must be between 1 and {MAX_SIDE}, got {side}")
    return int(side)


@total_ordering
class Grid:
    """A grid of tokens with 1 to 3 axes: ``Grid(64)``, ``Grid(32, 32)``, ``Grid(16, 32, 32)``.

    >>> Grid(2, 3).rows().tolist(), Grid(2, 3).cols().tolist()
    ([0, 0, 0, 1, 1, 1], [0, 1, 2, 0, 1, 2])
    >>> Grid(2, 2, 2).coords().tolist()
    [[0, 0, 0, 0, 1, 1, 1, 1], [0, 0, 1, 1, 0, 0, 1, 1], [0, 1, 0, 1, 0, 1, 0, 1]]
    """

    __slots__ = ("shape",)
    shape: tuple[int, ...]

    def __init__(self, *sides: int) -> None:
        if not 1 <= len(sides) <= MAX_AXES:
            raise PatternError(
                f"a grid has 1 to {MAX_AXES} axes (frames x height x width), got {len(sides)}"
            )
        object.__setattr__(self, "shape", tuple(_check_side(s, sides) for s in sides))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Grid is immutable")

    def __reduce__(self) -> tuple[Any, ...]:
        return (Grid, self.shape)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Grid) and self.shape == other.shape

    def __lt__(self, other: "Grid") -> bool:
        return (self.ndim, self.shape) < (other.ndim, other.shape)

    def __hash__(self) -> int:
        return hash(("Grid", self.shape))

    def __repr__(self) -> str:
        return f"Grid({', '.join(map(str, self.shape))})"

    def __str__(self) -> str:
        return "x".join(map(str, self.shape))

    @classmethod
    def parse(cls, text: "str | Grid | tuple[int, ...] | list[int]") -> "Grid":
        """Read ``"W"``, ``"HxW"`` or ``"TxHxW"`` (or accept a Grid or a tuple of sides).

        >>> Grid.parse("16x16"), Grid.parse("16x32x32"), Grid.parse(64)
        (Grid(16, 16), Grid(16, 32, 32), Grid(64))
        >>> Grid.parse((3.5, 3))
        Traceback (most recent call last):
        ...
        ylg.errors.PatternError: grid sides must be integers, got 3.5 in (3.5, 3)
        >>> Grid.parse("16x")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ylg.errors.PatternError: grid must be written like 64, 32x32 or 16x32x32 ..., not '16x'
        """
        if isinstance(text, Grid):
            return text
        if isinstance(text, (int, np.integer)) and not isinstance(text, bool):
            return cls(int(text))
        if isinstance(text, (tuple, list)):
            if not 1 <= len(text) <= MAX_AXES:
                raise PatternError(
                    f"a grid is (width), (height, width) or (frames, height, width), not {text!r}"
                )
            return cls(*(_check_side(side, text) for side in text))
        if not isinstance(text, str):
            raise PatternError(
                f"a grid is written like 32x32 (or 64, or 16x32x32) or given as a tuple of"
                f" sides, not {type(text).__name__}"
            )
        parts = [part.strip() for part in text.strip().lower().split("x")]
        if not 1 <= len(parts) <= MAX_AXES or not all(_NUMBER_RE.match(p) for p in parts):
            raise PatternError(
                "grid must be written like 64, 32x32 or 16x32x32 (positive integers, at most"
                f" {MAX_AXES} axes), not {text!r}"
            )
        return cls(*(int(p) for p in parts))

    # -- shape ---------------------------------------------------------------------
    @property
    def ndim(self) -> int:
        """Number of axes (1, 2 or 3)."""
        return len(self.shape)

    @property
    def axes(self) -> tuple[str, ...]:
        """Names of the axes: ``('j',)``, ``('i', 'j')`` or ``('t', 'i', 'j')``."""
        return AXIS_NAMES[MAX_AXES - self.ndim :]

    @property
    def size(self) -> int:
        """Number of cells."""
        return int(np.prod(self.shape, dtype=np.int64))

    def side(self, axis: str) -> int:
        """The side along a named axis; 1 for an axis the grid does not have.

        >>> Grid(32, 32).side("i"), Grid(32, 32).side("t")
        (32, 1)
        """
        if axis not in AXIS_NAMES:
            raise PatternError(f"unknown axis {axis!r} (known: {', '.join(AXIS_NAMES)})")
        return self.shape[self.axes.index(axis)] if axis in self.axes else 1

    def full_shape(self) -> tuple[int, int, int]:
        """The shape with leading sides of 1 up to three axes: ``(t, h, w)``.

        >>> Grid(5).full_shape()
        (1, 1, 5)
        """
        return tuple(self.side(a) for a in AXIS_NAMES)  # type: ignore[return-value]

    def _two_d(self, what: str) -> None:
        if self.ndim != 2:
            raise PatternError(f"{what} needs a 2-D grid (HxW), not the {self} grid")

    @property
    def height(self) -> int:
        """Rows of a 2-D grid (an error on other grids)."""
        self._two_d("height")
        return self.shape[0]

    @property
    def width(self) -> int:
        """Columns of a 2-D grid (an error on other grids)."""
        self._two_d("width")
        return self.shape[1]

    # -- cells -----------------------------------------------------------------------
    def cell(self, position: int) -> tuple[int, ...]:
        """The cell (one index per axis) of a row-major position."""
        if not 0 <= position < self.size:
            raise PatternError(f"position {position} is outside the {self} grid")
        return tuple(int(c) for c in np.unravel_index(int(position), self.shape))

    def position(self, *cell: int) -> int:
        """The row-major position of a cell (one index per axis)."""
        if len(cell) != self.ndim or not all(
            0 <= int(c) < side for c, side in zip(cell, self.shape)
        ):
            raise PatternError(f"cell {tuple(cell)} is outside the {self} grid")
        return int(np.ravel_multi_index(tuple(int(c) for c in cell), self.shape))

    def coords(self) -> np.ndarray:
        """Cell index of every row-major position along each axis: int64 ``[ndim, size]``."""
        return np.indices(self.shape, dtype=np.int64).reshape(self.ndim, -1)

    def coord(self, axis: str) -> np.ndarray:
        """Index along a named axis of every row-major position (zeros for a missing axis).

        >>> Grid(2, 2).coord("j").tolist(), Grid(2, 2).coord("t").tolist()
        ([0, 1, 0, 1], [0, 0, 0, 0])
        """
        if axis not in AXIS_NAMES:
            raise PatternError(f"unknown axis {axis!r} (known: {', '.join(AXIS_NAMES)})")
        if axis not in self.axes:
            return np.zeros(self.size, dtype=np.int64)
        return self.coords()[self.axes.index(axis)]

    def rows(self) -> np.ndarray:
        """Row of each row-major position of a 2-D grid, as an int64 array."""
        self._two_d("rows")
        return self.coord("i")

    def cols(self) -> np.ndarray:
        """Column of each row-major position of a 2-D grid, as an int64 array."""
        self._two_d("cols")
        return self.coord("j")

    def parse_cells(self, text: str) -> list[int]:
        """Read cells written ``"i,j;i,j"`` (one index per axis; or plain positions
        ``"5;7"``) as positions.

        Each number is plain ASCII digits; spaces may surround numbers but never split
        one, so ``"1 2"`` is an error rather than cell 12.

        >>> Grid(3, 3).parse_cells("0,0; 2,1;4")
        [0, 7, 4]
        >>> Grid(2, 3, 3).parse_cells("1,0,0")
        [9]
        >>> Grid(3, 3).parse_cells("1 2")
        Traceback (most recent call last):
        ...
        ylg.errors.PatternError: cannot read cell '1 2': write i,j or a position, like 2,1 or 7
        """
        if not isinstance(text, str):
            raise PatternError(f"cells must be text like '0,0;2,1', not {type(text).__name__}")
        example = {1: ("j", "3"), 2: ("i,j", "2,1"), 3: ("t,i,j", "0,2,1")}[self.ndim]
        out = []
        for raw in text.split(";"):
            part = raw.strip()
            if not part:
                continue
            pieces = [piece.strip() for piece in part.split(",")]
            if len(pieces) not in (1, self.ndim) or not all(_NUMBER_RE.match(p) for p in pieces):
                raise PatternError(
                    f"cannot read cell {part!r}: write {example[0]} or a position,"
                    f" like {example[1]} or 7"
                )
            numbers = [int(p) for p in pieces]
            if len(numbers) == self.ndim:
                out.append(self.position(*numbers))
            else:
                self.cell(numbers[0])
                out.append(numbers[0])
        if not out:
            raise PatternError(f"no cells given in {text!r}")
        return out
