"""Kronecker structure: steps that act on groups of grid axes independently.

Positions are row-major on a grid of sides ``(s_0, ..., s_{D-1})``, the first axis
slowest. A step ``M`` is *separable* at a cut ``c`` when it is the Kronecker product
``kron(A, B)`` of a matrix ``A`` over the axes before ``c`` and a matrix ``B`` over the
axes from ``c`` on, i.e. when query ``q`` attends key ``k`` exactly when their
coordinates on the first axes are related by ``A`` and those on the last by ``B`` (a
window per axis, a dilation per axis, a tile per axis). Which cuts hold is decided
exactly from the stored entries: ``M`` is always contained in the product of its
projections onto the two groups, and equals it when the entry counts match.

Boolean products of Kronecker products are the Kronecker products of the per-group
products, so the reach of a chain of steps that are all separable at the same cuts is
the Kronecker product of per-group reaches: a ``16 x 32 x 32`` grid (16,384 tokens)
costs three chains on 16, 32 and 32 tokens. :class:`KroneckerReach` answers the
questions of :mod:`ylg.ifg.reach` (pairs reached, missing pairs, reach per output)
from the per-group parts without ever forming the product.

>>> import numpy as np, scipy.sparse as sp
>>> band = sp.csr_array(np.abs(np.subtract.outer(np.arange(3), np.arange(3))) <= 1)
>>> window = sp.kron(band, band, format="csr")           # a 3x3 window on a 3x3 grid
>>> separable_cuts(window, (3, 3), (3, 3))
(1,)
>>> [f.toarray().astype(int).tolist() == band.toarray().astype(int).tolist()
...  for f in factors(window, (3, 3), (3, 3), (0, 1, 2))]
[True, True]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ylg.ifg.bits import full_row, popcount, unpack
from ylg.ifg.reach import Reach

#: Largest number of (query, key) cells of a group marked in a dense array while
#: projecting (beyond it, ``np.unique`` sorts the pairs instead).
DENSE_MARKS = 1 << 25
#: Stored entries looked up at a time while projecting.
CHUNK_ENTRIES = 1 << 23
#: Packed rows unpacked at a time when counting the set bits of each column.
UNPACK_ROWS = 1024


def clean(mat: sp.sparray) -> sp.csr_array:
    """``mat`` as a boolean CSR array with sorted, unique, explicitly true entries.

    >>> clean(sp.csr_array(np.array([[0, 2], [1, 0]]))).toarray().tolist()
    [[False, True], [True, False]]
    """
    out = sp.csr_array(mat, dtype=bool)
    if not out.has_canonical_format:
        out = out.copy()
        out.sum_duplicates()  # sorts the indices too
    if not out.data.all():
        out = out.copy()
        out.eliminate_zeros()
    return out


def group_coordinates(positions: np.ndarray, sides: Sequence[int], lo: int, hi: int) -> np.ndarray:
    """The row-major index, within the axes ``lo .. hi-1``, of each position of a grid
    of ``sides`` (the first axis slowest).

    >>> group_coordinates(np.arange(8), (2, 2, 2), 1, 3).tolist()
    [0, 1, 2, 3, 0, 1, 2, 3]
    >>> group_coordinates(np.arange(8), (2, 2, 2), 0, 1).tolist()
    [0, 0, 0, 0, 1, 1, 1, 1]
    """
    inner = math.prod(sides[hi:])
    size = math.prod(sides[lo:hi])
    return (positions // inner) % size


def _marks(
    mat: sp.csr_array, q_sides: Sequence[int], k_sides: Sequence[int], lo: int, hi: int
) -> tuple[np.ndarray, int]:
    """The (query, key) cell pairs of the axes ``lo .. hi-1`` that ``mat`` holds, as
    sorted flat indices ``a * keys + b``, and the number of key cells of the group."""
    rows_g, cols_g = math.prod(q_sides[lo:hi]), math.prod(k_sides[lo:hi])
    wide = np.int64 if rows_g * cols_g >= 2**31 else np.int32
    # Coordinates per position first (small tables), then per stored entry by lookup,
    # a few million entries at a time (a video's step holds hundreds of millions).
    q_table = group_coordinates(np.arange(mat.shape[0], dtype=np.int64), q_sides, lo, hi)
    q_table = q_table.astype(wide) * cols_g
    k_table = group_coordinates(np.arange(mat.shape[1], dtype=np.int64), k_sides, lo, hi)
    k_table = k_table.astype(wide)
    dense = rows_g * cols_g <= DENSE_MARKS
    marks = np.zeros(rows_g * cols_g if dense else 0, dtype=bool)
    found = []
    per_row = np.diff(mat.indptr)
    step = max(1, CHUNK_ENTRIES * mat.shape[0] // max(1, mat.nnz))
    for r0 in range(0, mat.shape[0], step):
        r1 = min(mat.shape[0], r0 + step)
        key = np.repeat(q_table[r0:r1], per_row[r0:r1])
        key += k_table[mat.indices[mat.indptr[r0] : mat.indptr[r1]]]
        if dense:
            marks[key] = True
        else:
            found.append(np.unique(key))
    if dense:
        return np.flatnonzero(marks), cols_g
    return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=wide), cols_g


def project(
    mat: sp.csr_array, q_sides: Sequence[int], k_sides: Sequence[int], lo: int, hi: int
) -> sp.csr_array:
    """The relation of ``mat`` on the axes ``lo .. hi-1``: entry ``[a, b]`` is true when
    some query with coordinates ``a`` on those axes attends some key with coordinates
    ``b`` there. ``mat`` is a clean boolean CSR array (see :func:`clean`).

    >>> m = sp.csr_array(np.eye(4, dtype=bool))                  # identity on a 2x2 grid
    >>> project(m, (2, 2), (2, 2), 1, 2).toarray().astype(int).tolist()
    [[1, 0], [0, 1]]
    """
    if lo == 0 and hi == len(k_sides):
        return mat
    found, cols_g = _marks(mat, q_sides, k_sides, lo, hi)
    r, c = np.divmod(found.astype(np.int64), cols_g)
    shape = (math.prod(q_sides[lo:hi]), cols_g)
    return sp.csr_array((np.ones(found.size, dtype=bool), (r, c)), shape=shape).tocsr()


def separable_cuts(
    mat: sp.sparray, q_sides: Sequence[int], k_sides: Sequence[int]
) -> tuple[int, ...]:
    """The cuts ``c`` (``1 .. D-1``) at which ``mat`` is ``kron(A, B)``, ``A`` over the
    axes before ``c`` and ``B`` over the others; ``mat`` maps a grid of sides
    ``k_sides`` (columns) to one of sides ``q_sides`` (rows), with as many axes.

    The cuts that hold one by one also hold together (a product of relations split at
    two cuts is split at both), so the result is the finest factorisation.

    >>> band = sp.csr_array(np.array([[1, 1, 0], [1, 1, 1], [0, 1, 1]], dtype=bool))
    >>> full = sp.csr_array(np.ones((2, 2), dtype=bool))
    >>> separable_cuts(sp.kron(full, band, format="csr"), (2, 3), (2, 3))
    (1,)
    >>> separable_cuts(sp.csr_array(np.eye(6, dtype=bool)[::-1]), (2, 3), (2, 3))
    (1,)
    >>> separable_cuts(sp.csr_array(np.tril(np.ones((6, 6), dtype=bool))), (2, 3), (2, 3))
    ()
    """
    dims = len(k_sides)
    if dims != len(q_sides) or dims < 2:
        return ()
    mat = clean(mat)
    if mat.nnz == 0:
        return ()
    memo: dict[tuple[int, int], int] = {}

    def count(lo: int, hi: int) -> int:
        if (lo, hi) not in memo:
            memo[lo, hi] = _marks(mat, q_sides, k_sides, lo, hi)[0].size
        return memo[lo, hi]

    # Each pass over the entries is costly on a video; a few rows rule most cuts out
    # first (in a Kronecker product every row's keys are a product set).
    cuts = [c for c in range(1, dims) if _rows_split(mat, k_sides, c)]
    if len(cuts) == dims - 1 and math.prod(count(a, a + 1) for a in range(dims)) == mat.nnz:
        return tuple(cuts)
    return tuple(c for c in cuts if count(0, c) * count(c, dims) == mat.nnz)


#: Rows :func:`separable_cuts` looks at before counting all the entries.
SAMPLE_ROWS = 16


def _rows_split(mat: sp.csr_array, k_sides: Sequence[int], cut: int) -> bool:
    """Whether a few rows of ``mat``, spread over it, each attend a product set of key
    cells at ``cut`` (``{(x, y): x in X, y in Y}``), as every row of ``kron(A, B)`` does;
    ``False`` proves the cut does not hold, ``True`` only lets it be counted.

    >>> eye = sp.csr_array(np.eye(4, dtype=bool))
    >>> _rows_split(eye, (2, 2), 1), _rows_split(sp.csr_array(np.tril(np.ones((4, 4)))), (2, 2), 1)
    (True, False)
    """
    inner = math.prod(k_sides[cut:])
    busy = np.flatnonzero(np.diff(mat.indptr))
    for r in busy[np.linspace(0, busy.size - 1, min(SAMPLE_ROWS, busy.size)).astype(np.int64)]:
        keys = mat.indices[mat.indptr[r] : mat.indptr[r + 1]].astype(np.int64)
        outer, rest = np.divmod(keys, inner)
        if np.unique(outer).size * np.unique(rest).size != keys.size:
            return False
    return True


def factors(
    mat: sp.sparray, q_sides: Sequence[int], k_sides: Sequence[int], bounds: Sequence[int]
) -> list[sp.csr_array]:
    """The factors of ``mat`` over the groups of axes ``bounds[g] .. bounds[g+1]-1``;
    their Kronecker product is ``mat`` when every inner bound is one of its
    :func:`separable_cuts` (otherwise it only contains ``mat``).

    >>> m = sp.kron(np.eye(2), np.ones((3, 3)), format="csr")
    >>> [f.shape for f in factors(m, (2, 3), (2, 3), (0, 1, 2))]
    [(2, 2), (3, 3)]
    """
    mat = clean(mat)
    return [project(mat, q_sides, k_sides, lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:])]


def kron_all(mats: Sequence[sp.sparray]) -> sp.csr_array:
    """The Kronecker product of boolean matrices, first one slowest, as clean CSR.

    >>> kron_all([np.eye(2), np.ones((1, 2))]).toarray().astype(int).tolist()
    [[1, 1, 0, 0], [0, 0, 1, 1]]
    """
    out = sp.csr_array(mats[0], dtype=bool)
    for m in mats[1:]:
        out = sp.kron(out, sp.csr_array(m, dtype=bool), format="csr")
    return clean(out)


# -- packed reach, read by rows and by columns ------------------------------------------


def output_counts(reach: Reach) -> np.ndarray:
    """Number of inputs that reach each output of a packed :class:`Reach` (int64).

    >>> from ylg.ifg.reach import reach_matrices
    >>> m = sp.csr_array(np.array([[1, 1, 0], [0, 0, 1]], dtype=bool))
    >>> output_counts(reach_matrices([m])).tolist()
    [2, 1]
    """
    if reach.rows_are_outputs:
        return popcount(reach.bits)
    return _column_counts(reach.bits, reach.n_outputs)


def _column_counts(bits: np.ndarray, ncols: int) -> np.ndarray:
    out = np.zeros(ncols, dtype=np.int64)
    for lo in range(0, bits.shape[0], UNPACK_ROWS):
        out += unpack(bits[lo : lo + UNPACK_ROWS], ncols).sum(axis=0, dtype=np.int64)
    return out


def output_row(reach: Reach, output: int) -> np.ndarray:
    """Bool ``[n_inputs]``: the inputs that reach ``output``."""
    if reach.rows_are_outputs:
        return unpack(reach.bits[output : output + 1], reach.n_inputs)[0]
    word, bit = divmod(output, 64)
    return ((reach.bits[:, word] >> np.uint64(bit)) & np.uint64(1)).astype(bool)


def is_full(reach: Reach) -> bool:
    """Whether every input reaches every output."""
    return bool((reach.bits == full_row(reach.row_width)).all())


# -- the product of per-group reaches ----------------------------------------------------


@dataclass(frozen=True)
class KroneckerReach:
    """Reachability as the Kronecker product of per-group packed reaches ``parts``
    (group 0 slowest in the row-major positions); one part is plain packed reach.

    >>> from ylg.ifg.reach import reach_matrices
    >>> causal = sp.csr_array(np.tril(np.ones((2, 2), dtype=bool)))
    >>> r = KroneckerReach((reach_matrices([causal]), reach_matrices([causal])))
    >>> r.count(), r.per_output().tolist(), r.missing_pairs(2)
    (9, [1, 2, 2, 4], [(1, 0), (2, 0)])
    """

    parts: tuple[Reach, ...]

    @property
    def n_inputs(self) -> int:
        """Number of input tokens (layer V0)."""
        return math.prod(p.n_inputs for p in self.parts)

    @property
    def n_outputs(self) -> int:
        """Number of output tokens (the last layer)."""
        return math.prod(p.n_outputs for p in self.parts)

    @property
    def pairs(self) -> int:
        """Number of (input, output) pairs."""
        return self.n_inputs * self.n_outputs

    def count(self) -> int:
        """Number of (input, output) pairs with a path."""
        return math.prod(p.count() for p in self.parts)

    def full(self) -> bool:
        """Whether every input reaches every output."""
        return all(is_full(p) for p in self.parts)

    def per_output(self) -> np.ndarray:
        """Int64 ``[n_outputs]``: how many inputs reach each output (its receptive field)."""
        return _outer([output_counts(p) for p in self.parts])

    def output_row(self, output: int) -> np.ndarray:
        """Bool ``[n_inputs]``: the inputs that reach ``output``."""
        sizes = [p.n_outputs for p in self.parts]
        coords = np.unravel_index(output, sizes)
        rows = [output_row(p, int(c)) for p, c in zip(self.parts, coords)]
        out = rows[0]
        for row in rows[1:]:
            out = np.logical_and.outer(out, row).ravel()
        return out

    def dense(self) -> np.ndarray:
        """Bool ``[n_outputs, n_inputs]``; entry ``[o, i]``: input ``i`` reaches output ``o``."""
        out = self.parts[0].dense()
        for p in self.parts[1:]:
            out = np.kron(out, p.dense())
        return out.astype(bool)

    def missing_pairs(self, limit: int) -> list[tuple[int, int]]:
        """Up to ``limit`` pairs ``(input, output)`` without a path, by output then input."""
        if limit <= 0:
            return []
        if len(self.parts) == 1:
            return self.parts[0].missing_pairs(limit)
        found: list[tuple[int, int]] = []
        short = np.flatnonzero(self.per_output() < self.n_inputs)
        for o in short.tolist():
            missing = np.flatnonzero(~self.output_row(o))[: limit - len(found)]
            found += [(int(i), o) for i in missing]
            if len(found) >= limit:
                break
        return found


def _outer(counts: list[np.ndarray]) -> np.ndarray:
    out = counts[0]
    for c in counts[1:]:
        out = np.multiply.outer(out, c).ravel()
    return out.astype(np.int64)
