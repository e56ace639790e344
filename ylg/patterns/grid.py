"""Grids of tokens: their shape, how to write one (``"32x32"``) and their cells.

Positions on a grid are row-major: cell ``(i, j)`` of an ``H x W`` grid is position
``i * W + j``. Every mask ylg writes uses these positions on its query and key grids.

>>> g = Grid.parse("4x3")
>>> g.size, g.cell(5), g.position(1, 2)
(12, (1, 2), 5)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ylg.errors import PatternError

#: How queries on a grid other than the key grid are mapped onto it.
#: ``repeat``: query ``x`` (row-major on its grid) behaves as key-grid query ``x mod n``
#: (the authors' code). ``tile``: query cell ``(i, j)`` behaves as key cell
#: ``(i mod h, j mod w)`` (the paper text's "shift the 16x16 masks over the 32x32
#: image"). ``spatial``: query cell ``(i, j)`` behaves as the key cell under it,
#: ``(i*h//hq, j*w//wq)``. ``direct``: the steps are evaluated on the query grid
#: itself, with ``q``, ``qi``, ``qj`` taken from it (for patterns written with ``nq``).
NONSQUARE_RULES: dict[str, str] = {
    "repeat": "query x behaves as key-grid query x mod n (the authors' code; default)",
    "tile": "query cell (i, j) behaves as key cell (i mod h, j mod w) (the paper's text)",
    "spatial": "query cell (i, j) behaves as the key cell under it (i*h//hq, j*w//wq)",
    "direct": "steps are evaluated on the query grid's own enumeration",
}

_GRID_RE = re.compile(r"^\s*([0-9]+)\s*[xX]\s*([0-9]+)\s*$")
_NUMBER_RE = re.compile(r"^[0-9]{1,12}$")
MAX_SIDE = 1 << 15


@dataclass(frozen=True, order=True)
class Grid:
    """An ``height x width`` grid of tokens.

    >>> Grid(2, 3).rows().tolist(), Grid(2, 3).cols().tolist()
    ([0, 0, 0, 1, 1, 1], [0, 1, 2, 0, 1, 2])
    """

    height: int
    width: int

    def __post_init__(self) -> None:
        for side in (self.height, self.width):
            if isinstance(side, bool) or not isinstance(side, (int, np.integer)):
                raise PatternError(f"grid sides must be integers, got {side!r}")
            if side < 1 or side > MAX_SIDE:
                raise PatternError(f"grid sides must be between 1 and {MAX_SIDE}, got {side}")

    @classmethod
    def parse(cls, text: "str | Grid | tuple[int, int]") -> "Grid":
        """Read ``"HxW"`` (or accept a Grid or an ``(H, W)`` pair).

        >>> Grid.parse("16x16")
        Grid(height=16, width=16)
        >>> Grid.parse((3.5, 3))
        Traceback (most recent call last):
        ...
        ylg.errors.PatternError: grid sides must be integers, got 3.5 in (3.5, 3)
        >>> Grid.parse("16x")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ylg.errors.PatternError: grid must be written HxW with positive integers, ... not '16x'
        """
        if isinstance(text, Grid):
            return text
        if isinstance(text, (tuple, list)):
            if len(text) != 2:
                raise PatternError(f"a grid is (height, width), not {text!r}")
            for side in text:
                if isinstance(side, bool) or not isinstance(side, (int, np.integer)):
                    raise PatternError(f"grid sides must be integers, got {side!r} in {text!r}")
            return cls(int(text[0]), int(text[1]))
        if not isinstance(text, str):
            raise PatternError(
                f"a grid is written HxW (like 16x16) or given as (height, width),"
                f" not {type(text).__name__}"
            )
        match = _GRID_RE.match(text)
        if not match:
            raise PatternError(
                f"grid must be written HxW with positive integers, like 16x16, not {text!r}"
            )
        return cls(int(match.group(1)), int(match.group(2)))

    @property
    def size(self) -> int:
        """Number of cells."""
        return self.height * self.width

    def __str__(self) -> str:
        return f"{self.height}x{self.width}"

    def cell(self, position: int) -> tuple[int, int]:
        """The ``(row, column)`` of a row-major position."""
        if not 0 <= position < self.size:
            raise PatternError(f"position {position} is outside the {self} grid")
        return divmod(int(position), self.width)

    def position(self, row: int, col: int) -> int:
        """The row-major position of cell ``(row, col)``."""
        if not (0 <= row < self.height and 0 <= col < self.width):
            raise PatternError(f"cell ({row}, {col}) is outside the {self} grid")
        return row * self.width + col

    def rows(self) -> np.ndarray:
        """Row of each row-major position, as an int64 array."""
        return np.repeat(np.arange(self.height, dtype=np.int64), self.width)

    def cols(self) -> np.ndarray:
        """Column of each row-major position, as an int64 array."""
        return np.tile(np.arange(self.width, dtype=np.int64), self.height)

    def parse_cells(self, text: str) -> list[int]:
        """Read cells written ``"i,j;i,j"`` (or plain positions ``"5;7"``) as positions.

        Each number is plain ASCII digits; spaces may surround numbers but never split
        one, so ``"1 2"`` is an error rather than cell 12.

        >>> Grid(3, 3).parse_cells("0,0; 2,1;4")
        [0, 7, 4]
        >>> Grid(3, 3).parse_cells("1 2")
        Traceback (most recent call last):
        ...
        ylg.errors.PatternError: cannot read cell '1 2': write i,j or a position, like 2,1 or 7
        """
        if not isinstance(text, str):
            raise PatternError(f"cells must be text like '0,0;2,1', not {type(text).__name__}")
        out = []
        for raw in text.split(";"):
            part = raw.strip()
            if not part:
                continue
            pieces = [piece.strip() for piece in part.split(",")]
            if len(pieces) not in (1, 2) or not all(_NUMBER_RE.match(p) for p in pieces):
                raise PatternError(
                    f"cannot read cell {part!r}: write i,j or a position, like 2,1 or 7"
                )
            numbers = [int(p) for p in pieces]
            if len(numbers) == 2:
                out.append(self.position(*numbers))
            else:
                self.cell(numbers[0])
                out.append(numbers[0])
        if not out:
            raise PatternError(f"no cells given in {text!r}")
        return out
