"""Plans for the ``grouped`` backend: shared key columns plus query groups.

After putting the queries in a good order, a step mask ``M [nq, nk]`` splits into

* **columns**: keys that many queries attend (LTR step 2: every block's last
  element), computed for all queries at once by one matrix product per head;
* **groups**: the rest, covered by groups of ``g`` consecutive queries; a group
  gathers the union of the keys its queries attend (padded to its piece's width), so
  the diagonal blocks of LTR step 1 become ``[chunks, g, W]`` dense batches. Groups
  of similar union sizes form a **piece** each (at most four), so that the groups at
  the top of a triangular block do not pay for the width of those at its bottom.

Each allowed pair lies in exactly one part and an in-part mask keeps exactly ``M``.
The structure only decides how small the parts get; any pattern gets a correct plan.
The planner tries two query orders (the pattern's enumeration, where 1-D structured
patterns are local, and rows with equal key sets side by side), several column sets
and group sizes, and keeps the cheapest by a simple cost model.

>>> from ylg.patterns import load_pattern
>>> from ylg.attention.masksets import StepMask
>>> p = make_plan(StepMask(load_pattern("ltr").on("16x16"), 0))
>>> p.columns.size, p.group, p.width, p.chunks    # step 1: 16 diagonal blocks of 16 x 16
(0, 16, 16, 16)
>>> p = make_plan(StepMask(load_pattern("ltr").on("16x16"), 1))
>>> p.columns.size, p.width <= p.group           # step 2: 16 shared columns + the diagonal
(16, True)
>>> p = make_plan(StepMask(load_pattern("strided").on("16x16", order="rowmajor"), 1))
>>> p.order, p.group, p.width                    # |q - k| % s == 0: equal key sets together
('keysets', 16, 16)
>>> p = make_plan(StepMask(load_pattern("ltr").on("128x128"), 0))
>>> [piece.width for piece in p.pieces]          # triangular blocks in four widths
[32, 64, 96, 128]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ylg.attention.masksets import StepMask

#: Cost of gathering one key (and its value) for a group, relative to one logit.
GATHER_COST = 1.0
#: Fixed cost of one group, in logits.
GROUP_COST = 8.0
#: Fixed cost of one more piece (more products and tiles), in logits.
PIECE_COST = 65536.0
#: At most this many pieces per step.
MAX_PIECES = 4
#: Column sets tried: keys attended by at least this fraction of the queries.
COLUMN_SHARES = (0.5, 0.25, 0.125, 0.0625)


@dataclass(frozen=True)
class Piece:
    """Query groups of one width. ``queries [rows]``: the query of each row (padding
    rows repeat query 0); ``column_mask [rows, C]``: who may attend the shared columns;
    ``keys [chunks, width]`` and ``mask [chunks, group, width]``: the keys each group
    gathers and who may attend them. A padding row allows one key, so no row is empty.
    """

    queries: np.ndarray
    column_mask: np.ndarray
    keys: np.ndarray
    mask: np.ndarray

    @property
    def width(self) -> int:
        """Keys gathered per group."""
        return self.mask.shape[2]

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """``(rows, columns, group, width)``: pieces of equal shape run in one batch."""
        chunks, group, width = self.mask.shape
        return (chunks * group, self.column_mask.shape[1], group, width)


@dataclass(frozen=True)
class Plan:
    """How the grouped backend computes one step mask: the shared ``columns``, the
    pieces, and ``slot [nq]``, the row of each query in the pieces' rows, in order."""

    order: str
    group: int
    columns: np.ndarray
    pieces: tuple[Piece, ...]
    slot: np.ndarray

    @property
    def width(self) -> int:
        """The widest piece's width."""
        return max(p.width for p in self.pieces)

    @property
    def chunks(self) -> int:
        """Number of query groups."""
        return sum(p.mask.shape[0] for p in self.pieces)

    @property
    def cost(self) -> float:
        """The cost model's estimate, in logits."""
        return sum(_cost(*p.shape) for p in self.pieces) + PIECE_COST * (len(self.pieces) - 1)


def _cost(rows: int, columns: int, group: int, width: int) -> float:
    chunks = rows // group
    groups = chunks * width * (group + GATHER_COST) + GROUP_COST * chunks if width else 0.0
    return rows * columns + GATHER_COST * columns + groups


def _pieces(sizes: np.ndarray, group: int, columns: int) -> tuple[float, np.ndarray]:
    """Split groups (union sizes ``sizes``) into pieces by width: the cheapest cost and
    the width caps (each group goes to the narrowest piece that holds it)."""
    values, counts = np.unique(sizes, return_counts=True)
    if values.size > 32:  # few candidate caps: evenly spaced among the sizes
        values = np.unique(values[np.linspace(0, values.size - 1, 32).round().astype(int)])
        counts = np.bincount(np.searchsorted(values, sizes), minlength=values.size)
    before = np.concatenate([[0], np.cumsum(counts)])

    def span(i: int, j: int) -> float:  # groups with sizes in values[i..j], width values[j]
        n = int(before[j + 1] - before[i])
        return _cost(n * group, columns, group, int(values[j]))

    t = values.size
    # best[k][j]: cost of values[0..j] in k + 1 pieces, the last one starting at cut[k][j].
    best = [[span(0, j) for j in range(t)]]
    cut = [[0] * t]
    for k in range(1, min(MAX_PIECES, t)):
        best.append([math.inf] * t)
        cut.append([0] * t)
        for j in range(k, t):
            for i in range(k, j + 1):
                cost = best[k - 1][i - 1] + span(i, j) + PIECE_COST
                if cost < best[k][j]:
                    best[k][j], cut[k][j] = cost, i
    k = min(range(len(best)), key=lambda k: best[k][t - 1])
    total, caps, j = best[k][t - 1], [], t - 1
    while k >= 0:
        caps.append(int(values[j]))
        j, k = cut[k][j] - 1, k - 1
    return total, np.array(caps[::-1])


def _orders(step: StepMask, rest: sp.csr_array) -> dict[str, np.ndarray]:
    """Candidate query orders: ``enumeration`` (the query's rank in the pattern's
    enumeration) and ``keysets`` (equal key sets side by side, by their first key)."""
    rank = step.masks.query_rank
    enum = np.argsort(rank, kind="stable")
    if rest.nnz == 0:
        return {"enumeration": enum}
    tags = np.random.default_rng(0).integers(0, 2**62, size=rest.shape[1], dtype=np.int64)
    counts = np.diff(rest.indptr)
    starts = rest.indptr[:-1]
    # An order-independent fingerprint of each row's key set (wrapping sums); the
    # appended 0 lets empty rows at the end index one past the last entry.
    with np.errstate(over="ignore"):
        sums = np.add.reduceat(np.append(tags[rest.indices], 0), starts)
    fingerprint = np.where(counts > 0, sums, 0)
    first = np.where(counts > 0, np.append(rest.indices, 0)[starts], rest.shape[1])
    return {"enumeration": enum, "keysets": np.lexsort((rank, fingerprint, first))}


def _group_sizes(nq: int, stride: int) -> list[int]:
    sizes = {1 << i for i in range(nq.bit_length())} | {nq}
    for base in (stride, max(1, nq // max(1, stride))):
        sizes |= {base * m for m in (1, 2, 4) if base * m <= nq}
        sizes |= {max(1, base // m) for m in (2, 4)}
    return sorted(sizes)


def _unions(rest: sp.csr_array, order: np.ndarray, group: int) -> sp.csr_array:
    """Per group of ``group`` consecutive queries in ``order``, the keys they attend."""
    nq = order.size
    chunks = -(-nq // group)
    member = sp.csr_array(
        (np.ones(nq, dtype=np.int32), (np.arange(nq) // group, order)), shape=(chunks, nq)
    )
    union = (member @ rest.astype(np.int32)).tocsr()
    union.sort_indices()
    return union


def _column_sets(csr: sp.csr_array) -> list[np.ndarray]:
    popularity = np.bincount(csr.indices, minlength=csr.shape[1])
    sets = {(): np.zeros(0, dtype=np.int64)}
    for share in COLUMN_SHARES:
        cols = np.flatnonzero(popularity >= share * csr.shape[0])
        sets.setdefault(tuple(cols.tolist()), cols)
    return list(sets.values())


def _without(csr: sp.csr_array, columns: np.ndarray) -> sp.csr_array:
    if columns.size == 0:
        return csr
    drop = np.zeros(csr.shape[1], dtype=bool)
    drop[columns] = True
    keep = ~drop[csr.indices]
    rows = np.repeat(np.arange(csr.shape[0]), np.diff(csr.indptr))
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows[keep], minlength=csr.shape[0]))])
    return sp.csr_array((csr.data[keep], csr.indices[keep], indptr), shape=csr.shape)


def make_plan(step: StepMask) -> Plan:
    """The cheapest plan for one step mask (cached on the step)."""
    if "plan" in step.cache:
        return step.cache["plan"]
    csr = step.csr.astype(np.int8)
    csr.sort_indices()
    nq = csr.shape[0]
    best: tuple | None = None
    for columns in _column_sets(csr):
        rest = _without(csr, columns)
        for name, order in _orders(step, rest).items():
            for group in _group_sizes(nq, step.masks.stride) if rest.nnz else [1]:
                chunks = -(-nq // group)
                if rest.nnz:
                    sizes = np.diff(_unions(rest, order, group).indptr)
                else:
                    sizes = np.zeros(chunks, dtype=np.int64)
                cost, caps = _pieces(sizes, group, columns.size)
                if best is None or cost < best[0]:
                    best = (cost, columns, rest, name, order, group, caps)
    assert best is not None
    plan = _build(csr, *best[1:])
    step.cache["plan"] = plan
    return plan


def _build(
    csr: sp.csr_array,
    columns: np.ndarray,
    rest: sp.csr_array,
    name: str,
    order: np.ndarray,
    group: int,
    caps: np.ndarray,
) -> Plan:
    nq, nk = csr.shape
    chunks = -(-nq // group)
    rows = chunks * group
    slot = np.empty(nq, dtype=np.int64)
    slot[order] = np.arange(nq)
    queries = np.zeros(rows, dtype=np.int64)
    queries[:nq] = order
    # Shared columns: who may attend them, row by row.
    column_mask = np.zeros((rows, columns.size), dtype=bool)
    if columns.size:
        column_mask[:nq] = csr[order][:, columns].toarray() > 0
    # Groups: the union of each group's keys (padding repeats the last, or key 0).
    union = _unions(rest, order, group) if rest.nnz else None
    sizes = np.diff(union.indptr) if union is not None else np.zeros(chunks, dtype=np.int64)
    width = int(sizes.max())
    keys = np.zeros((chunks, width), dtype=np.int64)
    mask = np.zeros((rows, width), dtype=bool)
    if union is not None:
        col = np.arange(width)[None, :]
        take = union.indptr[:-1, None] + np.minimum(col, np.maximum(sizes[:, None] - 1, 0))
        keys = np.where(sizes[:, None] > 0, union.indices[np.minimum(take, union.nnz - 1)], 0)
        # Every remaining pair (q, k) lands at (slot[q], place of k among its group's keys).
        r = slot[np.repeat(np.arange(nq), np.diff(rest.indptr))]
        c = r // group
        flat = c * nk + rest.indices
        flat_union = np.repeat(np.arange(chunks, dtype=np.int64) * nk, sizes) + union.indices
        mask[r, np.searchsorted(flat_union, flat) - union.indptr[c]] = True
    # Padding rows allow one key, so that no row is empty.
    if columns.size:
        column_mask[nq:, 0] = True
    else:
        mask[nq:, 0] = True
    mask = mask.reshape(chunks, group, width)
    # Pieces: the groups that fit each width cap, in order; rows move with their group.
    piece_of = np.searchsorted(caps, sizes)
    pieces = []
    moved = np.empty(rows, dtype=np.int64)
    start = 0
    for p, cap in enumerate(caps):
        chosen = np.flatnonzero(piece_of == p)
        if chosen.size == 0:
            continue
        old_rows = (chosen[:, None] * group + np.arange(group)[None, :]).ravel()
        moved[old_rows] = start + np.arange(old_rows.size)
        start += old_rows.size
        pieces.append(
            Piece(
                queries=queries[old_rows],
                column_mask=column_mask[old_rows],
                keys=keys[chosen, :cap],
                mask=mask[chosen, :, :cap],
            )
        )
    return Plan(
        order=name,
        group=group,
        columns=columns.astype(np.int64),
        pieces=tuple(pieces),
        slot=moved[slot],
    )
