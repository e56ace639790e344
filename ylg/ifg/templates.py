"""The clauses a repair may add to a step: small conjunctions over ``q, k, s, n``.

Each clause is at most one *row* atom (which queries), one *key* atom (which keys,
absolutely or relative to the query) and one *direction* atom (``k > q`` or
``k < q``). Constants are small (:data:`CONSTANTS`) and written relative to ``s`` and
``n`` where that is what makes them mean the same thing on every grid (``k % s ==
s - 1``: the last element of each block), so that a repair found on one grid
carries over to the others.

>>> family = clause_family()
>>> len(family), family[0]
(1880, 'k > q')
>>> "q // s == (n - 1) // s and k > q" in family
True
"""

from __future__ import annotations

import itertools

#: The constants ``c`` the templates are instantiated with.
CONSTANTS = (0, 1, 2)


def _minus(base: str, c: int) -> str:
    return base if c == 0 else f"{base} - {c}"


def row_atoms() -> list[str]:
    """Atoms that pick queries: a position, a place in the block, a block.

    >>> row_atoms()[:3]
    ['q == 0', 'q == n - 1', 'q % s == 0']
    """
    out = []
    for c in CONSTANTS:
        out += [
            f"q == {c}",
            f"q == {_minus('n - 1', c)}",
            f"q % s == {c}",
            f"q % s == {_minus('s - 1', c)}",
            f"q // s == {c}",
            f"q // s == {_minus('(n - 1) // s', c)}",
        ]
    return sorted(set(out), key=out.index)


def key_atoms() -> list[str]:
    """Atoms that pick keys, absolutely or relative to the query.

    >>> key_atoms()[-3:]
    ['k == q - 3', 'k // s == q // s + 3', 'k // s == q // s - 3']
    """
    out = ["k // s == q // s", "k % s == q % s"]
    for c in CONSTANTS:
        out += [
            f"k == {c}",
            f"k == {_minus('n - 1', c)}",
            f"k % s == {c}",
            f"k % s == {_minus('s - 1', c)}",
            f"k // s == {c}",
            f"k // s == {_minus('(n - 1) // s', c)}",
        ]
    for c in CONSTANTS:
        out += [f"k == q + {c + 1}", f"k == q - {c + 1}"]
        out += [f"k // s == q // s + {c + 1}", f"k // s == q // s - {c + 1}"]
    return out


DIRECTIONS = ("k > q", "k < q")


def clause_family() -> list[str]:
    """Every candidate clause, the simplest (fewest atoms) first."""
    rows: list[str | None] = [None, *row_atoms()]
    keys: list[str | None] = [None, *key_atoms()]
    dirs: list[str | None] = [None, *DIRECTIONS]
    out = []
    for combo in itertools.product(rows, keys, dirs):
        atoms = [a for a in combo if a is not None]
        if atoms:
            out.append(" and ".join(atoms))
    return sorted(out, key=lambda text: text.count(" and "))
