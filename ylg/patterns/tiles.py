"""Tiles: how many ``T x T`` blocks of a step mask a block-sparse kernel must visit.

Block-sparse attention kernels (FlexAttention, and the block-sparse kernels the paper
has in mind for ESA) skip a ``T x T`` tile of the score matrix only when no pair in it
is attended. Their cost therefore follows the number of *non-empty tiles*, which
depends on the order of the queries and of the keys: a kernel may permute each
head's queries and keys independently, since attention does not care about order.

:func:`plan_tiles` picks, for one step mask, a query order and a key order (with
padding slots where they pay) that make few tiles non-empty, for any pattern: it
starts from each candidate order (the pattern's enumeration, row-major), then
alternately sorts keys by the query tiles that read them and queries by the key tiles
they read (rows that read the same tiles end up in the same tile), optionally aligning
such groups to tile boundaries with padding, and keeps the best exact count.

>>> from ylg.patterns import load_pattern
>>> m = load_pattern("ltr").on("32x32")          # 1024 tokens, s = 32
>>> before = tile_plan(m.csr(1), 128, *enumeration_orders(m))
>>> after = plan_tiles(m.csr(1), 128, bases={"esa": enumeration_orders(m)})
>>> before.nonempty, after.nonempty, after.padding      # 8 x 8 tiles before
(64, 16, (0, 124))
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from ylg.errors import PatternError

if TYPE_CHECKING:
    from ylg.patterns.masks import Masks

#: FlexAttention's default block size (queries and keys).
DEFAULT_TILE = 128
#: Alternating refinement rounds per starting order.
ROUNDS = 4
#: Starting orders refined (the best by their own count).
REFINED = 2
#: Above this many attended pairs the planner refines one starting order, one round.
LARGE_PAIRS = 1 << 23
#: Padding may grow either side to at most this many times its token count.
MAX_GROWTH = 1.5
#: Marks a padding slot in an order.
PAD = -1


@dataclass(frozen=True)
class TilePlan:
    """Query and key orders for one step mask and what they cost in ``tile x tile`` tiles.

    ``query_order[i]`` is the query at slot ``i`` (``-1``: a padding slot that attends
    nothing), likewise ``key_order``. ``occupancy[a, b]`` counts the attended pairs in
    tile ``(a, b)``; ``capacity[a, b]`` the real (non-padding) pairs it holds.
    """

    query_order: np.ndarray
    key_order: np.ndarray
    tile: int
    occupancy: np.ndarray
    capacity: np.ndarray
    pairs: int
    nq: int
    nk: int
    strategy: str

    @property
    def nonempty(self) -> int:
        """Tiles with at least one attended pair: what a block-sparse kernel visits."""
        return int(np.count_nonzero(self.occupancy))

    @property
    def full(self) -> int:
        """Tiles without padding whose every pair is attended (no mask needed there)."""
        return int(np.count_nonzero(self.full_tiles()))

    @property
    def tiles_total(self) -> int:
        """All tiles of the (padded) score matrix."""
        return int(self.occupancy.size)

    @property
    def tile_share(self) -> float:
        """Non-empty tiles / all tiles."""
        return self.nonempty / self.tiles_total

    @property
    def pair_share(self) -> float:
        """Attended pairs / all (query, key) pairs: the cost floor of any sparse kernel."""
        return self.pairs / (self.nq * self.nk)

    @property
    def padding(self) -> tuple[int, int]:
        """Padding slots among the queries and among the keys."""
        return len(self.query_order) - self.nq, len(self.key_order) - self.nk

    def full_tiles(self) -> np.ndarray:
        """Bool ``[query tiles, key tiles]``: tiles with every slot pair real and attended."""
        t = self.tile
        real_q = _per_tile(self.query_order >= 0, t)
        real_k = _per_tile(self.key_order >= 0, t)
        no_pad = (real_q == _per_tile(np.ones(len(self.query_order), bool), t))[:, None] & (
            real_k == _per_tile(np.ones(len(self.key_order), bool), t)
        )[None, :]
        return no_pad & (self.occupancy == self.capacity) & (self.occupancy > 0)

    def query_slot(self) -> np.ndarray:
        """Slot of each query (``[nq]``)."""
        return order_slots(self.query_order, self.nq)

    def key_slot(self) -> np.ndarray:
        """Slot of each key (``[nk]``)."""
        return order_slots(self.key_order, self.nk)

    def summary(self) -> dict[str, object]:
        """The numbers of the plan, JSON-ready."""
        return {
            "strategy": self.strategy,
            "tile": self.tile,
            "pairs": self.pairs,
            "pair_share": self.pair_share,
            "tiles": self.tiles_total,
            "nonempty_tiles": self.nonempty,
            "full_tiles": self.full,
            "tile_share": self.tile_share,
            "ratio": self.tile_share / self.pair_share if self.pairs else None,
            "query_padding": self.padding[0],
            "key_padding": self.padding[1],
        }


def _per_tile(flags: np.ndarray, tile: int) -> np.ndarray:
    n = len(flags)
    padded = np.zeros(-(-n // tile) * tile, dtype=np.int64)
    padded[:n] = flags
    return padded.reshape(-1, tile).sum(axis=1)


def order_slots(order: np.ndarray, n: int) -> np.ndarray:
    """The slot of each of ``n`` tokens in ``order`` (``-1`` entries are padding).

    >>> order_slots(np.array([2, -1, 0, 1]), 3).tolist()
    [2, 3, 0]
    """
    slot = np.empty(n, dtype=np.int64)
    real = order >= 0
    slot[order[real]] = np.flatnonzero(real)
    return slot


def _check_order(order: np.ndarray, n: int, side: str) -> np.ndarray:
    order = np.asarray(order, dtype=np.int64)
    real = order[order >= 0]
    plural = "queries" if side == "query" else f"{side}s"
    if (
        order.ndim != 1
        or (order < PAD).any()
        or len(real) != n
        or not np.array_equal(np.sort(real), np.arange(n))
    ):
        raise PatternError(
            f"the {side} order must list each of the {n} {plural} once (and -1 for padding)"
        )
    return order


class _Coo:
    """The attended pairs of a CSR mask, for fast repeated tile counts."""

    def __init__(self, csr: sp.csr_array) -> None:
        self.csr = sp.csr_array(csr)
        self.nq, self.nk = self.csr.shape
        self.rows = np.repeat(np.arange(self.nq, dtype=np.int64), np.diff(self.csr.indptr))
        self.cols = self.csr.indices.astype(np.int64)

    def occupancy(self, q_slot: np.ndarray, k_slot: np.ndarray, lq: int, lk: int, t: int):
        tq, tk = -(-lq // t), -(-lk // t)
        ids = (q_slot // t)[self.rows] * tk + (k_slot // t)[self.cols]
        return np.bincount(ids, minlength=tq * tk).reshape(tq, tk)

    def set_order(self, transpose: bool) -> np.ndarray:
        """Rows (or columns) grouped by their exact set of neighbours, groups ordered by
        their first neighbour: rows that read the same keys end up side by side."""
        mat = sp.csr_array(self.csr.T) if transpose else self.csr
        n, m = mat.shape
        starts, counts = mat.indptr[:-1], np.diff(mat.indptr)
        rng = np.random.default_rng(0x51E)
        hashes = []
        for _ in range(2):  # a set hash: sums of random 64-bit words, wrapping
            words = rng.integers(0, 2**63, m, dtype=np.uint64)[mat.indices]
            h = np.zeros(n, np.uint64)
            if len(words):
                sums = np.add.reduceat(words, np.minimum(starts, len(words) - 1))
                h = np.where(counts > 0, sums, 0).astype(np.uint64)
            hashes.append(h)
        last = max(len(mat.indices) - 1, 0)
        first = np.where(counts > 0, mat.indices[np.minimum(starts, last)], m)
        _, group = np.unique(np.stack(hashes, axis=1), axis=0, return_inverse=True)
        return np.lexsort((np.arange(n), group.ravel(), first)).astype(np.int64)


def tile_plan(
    csr: sp.csr_array,
    tile: int,
    query_order: np.ndarray,
    key_order: np.ndarray,
    strategy: str = "given",
) -> TilePlan:
    """The tiles of a step mask ``[nq, nk]`` under given orders (no planning).

    >>> import numpy as np, scipy.sparse as sp
    >>> eye = sp.csr_array(np.eye(4, dtype=bool))
    >>> tile_plan(eye, 2, np.arange(4), np.arange(4)).nonempty
    2
    >>> tile_plan(eye, 2, np.arange(4), np.array([0, 2, 1, 3])).nonempty
    4
    """
    if isinstance(tile, bool) or not isinstance(tile, (int, np.integer)) or tile < 1:
        raise PatternError(f"the tile size must be a positive integer, got {tile!r}")
    nq, nk = csr.shape
    qo, ko = _check_order(query_order, nq, "query"), _check_order(key_order, nk, "key")
    return _plan(_Coo(csr), int(tile), qo, ko, strategy)


def _plan(coo: _Coo, t: int, qo: np.ndarray, ko: np.ndarray, strategy: str) -> TilePlan:
    lq, lk = len(qo), len(ko)
    occupancy = coo.occupancy(order_slots(qo, coo.nq), order_slots(ko, coo.nk), lq, lk, t)
    capacity = _per_tile(qo >= 0, t)[:, None] * _per_tile(ko >= 0, t)[None, :]
    return TilePlan(qo, ko, t, occupancy, capacity, len(coo.rows), coo.nq, coo.nk, strategy)


def enumeration_orders(masks: Masks) -> tuple[np.ndarray, np.ndarray]:
    """Queries and keys in the pattern's enumeration order (how the paper lays out ESA).

    >>> from ylg.patterns import load_pattern
    >>> q, k = enumeration_orders(load_pattern("ltr").on("3x3"))
    >>> k.tolist()
    [0, 1, 3, 2, 4, 6, 5, 7, 8]
    """
    return (
        np.argsort(masks.query_rank, kind="stable").astype(np.int64),
        np.argsort(masks.key_rank, kind="stable").astype(np.int64),
    )


def _footprints(
    members: np.ndarray, other: np.ndarray, n: int, other_slot: np.ndarray, lo: int, t: int
) -> np.ndarray:
    """Group id of each of ``n`` rows by the set of other-side tiles it touches, ids in
    lexicographic order of the sets (bit vectors, first tile most significant)."""
    tiles = -(-lo // t)
    touched = np.zeros((n, tiles), dtype=bool)
    touched[members, other_slot[other] // t] = True
    packed = np.packbits(touched, axis=1)
    keys = np.ascontiguousarray(packed).view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, group = np.unique(keys, return_inverse=True)
    size = touched.sum(axis=1)
    return group.ravel(), size


def _arrangements(
    members: np.ndarray,
    other: np.ndarray,
    n: int,
    other_slot: np.ndarray,
    lo: int,
    t: int,
    base_rank: np.ndarray,
) -> Iterator[tuple[str, np.ndarray]]:
    """Orders of one side given the other side's slots: rows grouped by the tiles they
    touch (widely read rows first), without and with groups aligned to tile starts."""
    group, size = _footprints(members, other, n, other_slot, lo, t)
    tiles = -(-lo // t)
    for label, wide in (("grouped", size * 2 >= max(tiles, 2)), ("spread", size >= 3)):
        order = np.lexsort((base_rank, group, ~wide))
        yield label, order
        yield from _aligned(order, group[order], n, t, label)


def _aligned(
    order: np.ndarray, g: np.ndarray, n: int, t: int, label: str
) -> Iterator[tuple[str, np.ndarray]]:
    """``order`` with padding so that runs of one group start at a tile boundary (all
    runs, or only runs of at least a tile)."""
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    sizes = np.diff(np.r_[starts, n])
    for name, align in (("aligned", np.ones(len(starts), bool)), ("aligned-large", sizes >= t)):
        name = f"{label}-{name}"
        if not align.any():
            continue
        out: list[np.ndarray] = []
        filled = 0
        for s0, count, a in zip(starts, sizes, align):
            if a and filled % t:
                pad = t - filled % t
                out.append(np.full(pad, PAD, dtype=np.int64))
                filled += pad
            out.append(order[s0 : s0 + count])
            filled += count
        arranged = np.concatenate(out)
        if len(arranged) <= MAX_GROWTH * n:
            yield name, arranged


def plan_tiles(
    csr: sp.csr_array,
    tile: int = DEFAULT_TILE,
    *,
    bases: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
    rounds: int = ROUNDS,
) -> TilePlan:
    """Query and key orders that make few ``tile x tile`` tiles of a step mask non-empty.

    ``bases``: named starting orders ``(query_order, key_order)``; row-major is always
    tried. The result is never worse than any starting order (its exact count is
    compared), and every query and key keeps exactly one slot.

    >>> import numpy as np, scipy.sparse as sp
    >>> m = np.zeros((8, 8), bool); m[:, [1, 5]] = True; m[np.arange(8), np.arange(8)] = True
    >>> plan = plan_tiles(sp.csr_array(m), 2)
    >>> tile_plan(sp.csr_array(m), 2, np.arange(8), np.arange(8)).nonempty, plan.nonempty
    (10, 7)
    """
    if isinstance(tile, bool) or not isinstance(tile, (int, np.integer)) or tile < 1:
        raise PatternError(f"the tile size must be a positive integer, got {tile!r}")
    t = int(tile)
    coo = _Coo(csr)
    nq, nk = coo.nq, coo.nk
    starts = {}
    for name, (qo, ko) in (bases or {}).items():
        starts[name] = (_check_order(qo, nq, "query"), _check_order(ko, nk, "key"))
    starts.setdefault("rowmajor", (np.arange(nq), np.arange(nk)))
    starts["sets"] = (coo.set_order(False), coo.set_order(True))
    evaluated = sorted(
        (_plan(coo, t, qo, ko, name) for name, (qo, ko) in starts.items()),
        key=lambda p: p.nonempty,
    )
    best = evaluated[0]
    large = len(coo.rows) > LARGE_PAIRS  # dense-ish masks: refine less, each count is slow
    if large:
        rounds = min(rounds, 1)
    for current in evaluated[: 1 if large else REFINED]:
        q_rank = order_slots(current.query_order, nq)
        k_rank = order_slots(current.key_order, nk)
        base = current.strategy
        for _ in range(rounds):
            start = current.nonempty
            for name, order in _arrangements(
                coo.cols, coo.rows, nk, current.query_slot(), len(current.query_order), t, k_rank
            ):
                cand = _plan(coo, t, current.query_order, order, f"{base}+keys-{name}")
                if cand.nonempty < current.nonempty:
                    current = cand
            for name, order in _arrangements(
                coo.rows, coo.cols, nq, current.key_slot(), len(current.key_order), t, q_rank
            ):
                cand = _plan(coo, t, order, current.key_order, f"{current.strategy}+queries-{name}")
                if cand.nonempty < current.nonempty:
                    current = cand
            if (current.nonempty, sum(current.padding)) < (best.nonempty, sum(best.padding)):
                best = current
            if current.nonempty >= start:
                break
    return best


def order_bases(masks: Masks) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Starting orders for the planner: queries and keys along each enumeration of the
    grid (the pattern's own first), queries placed by the key cell they behave as.

    >>> from ylg.patterns import load_pattern
    >>> list(order_bases(load_pattern("ltr").on("4x4")))[:2]
    ['esa', 'rowmajor']
    """
    from ylg.patterns.enumerations import ORDERS, ranks

    bases = {masks.order: enumeration_orders(masks)}
    for order in ORDERS:
        if order in bases:
            continue
        key_rank = ranks(order, masks.grid.shape)
        if masks.nonsquare == "direct" or masks.square:
            query_rank = ranks(order, masks.query_grid.shape)
        else:
            query_rank = key_rank[masks.query_to_key()]
        bases[order] = (
            np.argsort(query_rank, kind="stable").astype(np.int64),
            np.argsort(key_rank, kind="stable").astype(np.int64),
        )
    return bases


def plan_step(masks: Masks, step: int, tile: int = DEFAULT_TILE) -> TilePlan:
    """:func:`plan_tiles` for one step (0-based) of a pattern's masks, starting from
    every enumeration of the grid (the pattern's own first).

    >>> from ylg.patterns import load_pattern
    >>> plan_step(load_pattern("rtl").on("16x16"), 0, 64).nonempty
    4
    """
    return plan_tiles(masks.csr(step), tile, bases=order_bases(masks))


#: Largest query x key count the tile report takes (a 256x256 square grid is 2**32).
MAX_REPORT_PAIRS = 1 << 33


def tile_report(
    masks: Masks, tile: int = DEFAULT_TILE, steps: "list[int] | None" = None
) -> list[tuple[TilePlan, TilePlan]]:
    """Per step (0-based ``steps``, default all): the tiles under the pattern's
    enumeration order, and under the planner's orders.

    >>> from ylg.patterns import load_pattern
    >>> [(b.nonempty, a.nonempty) for b, a in tile_report(load_pattern("ltr").on("16x16"), 64)]
    [(4, 4), (16, 8)]
    """
    if masks.nq * masks.nk > MAX_REPORT_PAIRS:
        raise PatternError(
            f"{masks.describe()} has {masks.nq * masks.nk:,} (query, key) pairs; the tile"
            f" report takes at most {MAX_REPORT_PAIRS:,} (a 256x256 grid has 2**32)"
        )
    chosen = list(range(masks.num_steps)) if steps is None else steps
    out = []
    for step in chosen:
        before = tile_plan(masks.csr(step), tile, *enumeration_orders(masks), strategy=masks.order)
        out.append((before, plan_step(masks, step, tile)))
    return out
