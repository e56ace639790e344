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
(64, 16, (0, 96))
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from ylg.errors import PatternError
from ylg.tables import text_table

if TYPE_CHECKING:
    from ylg.patterns.masks import Masks

#: FlexAttention's default block size (queries and keys).
DEFAULT_TILE = 128
#: Alternating refinement rounds per starting order (every start is refined).
ROUNDS = 4
#: Above this many attended pairs the planner refines each start for one round only.
LARGE_PAIRS = 1 << 23
#: Padding may grow either side to at most this many times its token count.
MAX_GROWTH = 1.5
#: Marks a padding slot in an order.
PAD = -1
#: Pairs hashed at a time when grouping rows by their set of neighbours.
HASH_CHUNK = 1 << 20


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
        """Non-empty tiles / all tiles (padding tiles included)."""
        return self.nonempty / self.tiles_total

    @property
    def dense_tiles(self) -> int:
        """The tiles of the unpadded score matrix: what dense attention visits."""
        return -(-self.nq // self.tile) * -(-self.nk // self.tile)

    @property
    def work_share(self) -> float:
        """Non-empty tiles / :attr:`dense_tiles`: the kernel's work next to dense
        attention's, comparable between plans with and without padding."""
        return self.nonempty / self.dense_tiles

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
            "work_share": self.work_share,
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
    """The attended pairs of a step mask, for fast repeated tile counts.

    Tiles are counted with two sparse products, ``Tq @ M @ Tk`` (``Tq[a, q]``: query
    ``q`` sits in query tile ``a``; ``Tk`` likewise for keys), never a list of every
    pair. The planner counts tiles under many orders of one side while the other
    side's tiles stay put: a side whose tiling comes back in two counts in a row keeps
    its product with the mask (``Tq @ M``, a few entries per key for local patterns),
    and the counts that follow cost that product, not the mask.
    """

    def __init__(self, csr: sp.csr_array) -> None:
        mat = sp.csr_array(csr)
        if not mat.has_canonical_format or (mat.data == 0).any():
            mat = mat.copy()
            mat.sum_duplicates()
            mat.eliminate_zeros()
        self.csr = mat
        self.nq, self.nk = mat.shape
        self.pairs = int(mat.nnz)
        #: The mask with a count of 1 per attended pair (for products that add up).
        self.ones = sp.csr_array(
            (np.ones(mat.nnz, dtype=np.int32), mat.indices, mat.indptr), shape=mat.shape
        )
        self._last: dict[str, bytes] = {}
        self._kept: dict[str, tuple[bytes, sp.csr_array]] = {}
        self._active: tuple[int, int] | None = None

    def fewest_tiles(self, t: int) -> int:
        """A floor on the non-empty tiles of any plan: the queries with a pair fill at
        least ``ceil(count / t)`` query tiles, each with a non-empty tile; keys alike."""
        if self._active is None:
            queries = int(np.count_nonzero(np.diff(self.csr.indptr)))
            keys = int(np.count_nonzero(np.bincount(self.csr.indices, minlength=self.nk)))
            self._active = (queries, keys)
        queries, keys = self._active
        return max(-(-queries // t), -(-keys // t))

    def _tiling(self, slots: np.ndarray, count: int, t: int, side: str) -> sp.csr_array:
        """``Tq`` (``[tiles, nq]``) or, for the keys, ``Tk`` (``[nk, tiles]``)."""
        n = len(slots)
        ones = np.ones(n, dtype=np.int32)
        if side == "q":
            return sp.csr_array((ones, (slots // t, np.arange(n))), shape=(count, n))
        return sp.csr_array((ones, (np.arange(n), slots // t)), shape=(n, count))

    def product(self, side: str, slots: np.ndarray, count: int, t: int) -> sp.csr_array:
        """``Tq @ M`` (``side="q"``: pairs per query tile and key) or ``M @ Tk``
        (``side="k"``: pairs per query and key tile) for the given slots."""
        key = self._key(slots, count, t)
        kept = self._kept.get(side)
        if kept is not None and kept[0] == key:
            return kept[1]
        tiling = self._tiling(slots, count, t, side)
        out = sp.csr_array(tiling @ self.ones if side == "q" else self.ones @ tiling)
        self._kept[side] = (key, out)
        return out

    @staticmethod
    def _key(slots: np.ndarray, count: int, t: int) -> bytes:
        """Names a tiling: the tile of every token, the tile size and the tile count."""
        tiles = np.ascontiguousarray(slots // t)
        salt = f"{t},{count}".encode()
        return hashlib.blake2b(tiles.tobytes(), digest_size=16, key=salt).digest()

    def occupancy(
        self, q_slot: np.ndarray, k_slot: np.ndarray, lq: int, lk: int, t: int
    ) -> np.ndarray:
        """Attended pairs per tile, ``[query tiles, key tiles]``, for the given slots."""
        tq, tk = -(-lq // t), -(-lk // t)
        q_key, k_key = self._key(q_slot, tq, t), self._key(k_slot, tk, t)
        kept_q, kept_k = self._kept.get("q"), self._kept.get("k")
        if kept_k is not None and kept_k[0] == k_key:
            out = self._tiling(q_slot, tq, t, "q") @ kept_k[1]
        elif (kept_q is not None and kept_q[0] == q_key) or self._last.get("q") == q_key:
            out = self.product("q", q_slot, tq, t) @ self._tiling(k_slot, tk, t, "k")
        elif self._last.get("k") == k_key:
            out = self._tiling(q_slot, tq, t, "q") @ self.product("k", k_slot, tk, t)
        else:
            out = self._tiling(q_slot, tq, t, "q") @ self.ones @ self._tiling(k_slot, tk, t, "k")
        self._last = {"q": q_key, "k": k_key}
        return np.asarray(sp.csr_array(out).toarray(), dtype=np.int64).reshape(tq, tk)

    def set_order(self, transpose: bool) -> np.ndarray:
        """Rows (or columns) grouped by their exact set of neighbours, groups ordered by
        their first neighbour: rows that read the same keys end up side by side."""
        mat = sp.csr_array(self.csr.T) if transpose else self.csr
        n, m = mat.shape
        starts, counts = mat.indptr[:-1], np.diff(mat.indptr)
        rng = np.random.default_rng(0x51E)
        # Two set hashes per row: sums of random 64-bit words (wrapping), a chunk of
        # rows at a time so that the gathered words stay in cache.
        words = [rng.integers(0, 2**63, m, dtype=np.uint64) for _ in range(2)]
        hashes = np.zeros((n, 2), np.uint64)
        indptr, indices = mat.indptr, mat.indices
        bounds = np.unique(np.r_[np.searchsorted(indptr, np.arange(0, mat.nnz, HASH_CHUNK)), n])
        for r0, r1 in zip(bounds[:-1], bounds[1:]):
            lo, hi = indptr[r0], indptr[r1]
            if hi == lo:
                continue
            cols = indices[lo:hi]
            at = np.minimum(indptr[r0:r1] - lo, hi - lo - 1)
            filled = counts[r0:r1] > 0
            for k, w in enumerate(words):
                hashes[r0:r1, k] = np.where(filled, np.add.reduceat(w[cols], at), 0)
        last = max(len(indices) - 1, 0)
        first = np.where(counts > 0, indices[np.minimum(starts, last)], m)
        _, group = np.unique(hashes, axis=0, return_inverse=True)
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
    return TilePlan(qo, ko, t, occupancy, capacity, coo.pairs, coo.nq, coo.nk, strategy)


def enumeration_orders(masks: Masks, order: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Queries and keys in an enumeration order (by default the pattern's own: how the
    paper lays out ESA).

    >>> from ylg.patterns import load_pattern
    >>> q, k = enumeration_orders(load_pattern("ltr").on("3x3"))
    >>> k.tolist()
    [0, 1, 3, 2, 4, 6, 5, 7, 8]
    """
    query_rank, key_rank = masks.ranks(order or masks.order)
    return (
        np.argsort(query_rank, kind="stable").astype(np.int64),
        np.argsort(key_rank, kind="stable").astype(np.int64),
    )


def _footprints(touched: sp.csr_array) -> tuple[np.ndarray, np.ndarray]:
    """Group id of each row of ``touched`` (``[n, tiles of the other side]``, non-zero
    where the row has a pair in that tile) by the set of tiles it touches, ids in
    lexicographic order of the sets (bit vectors, first tile most significant), and
    the number of tiles each row touches."""
    dense = touched.toarray() != 0
    packed = np.packbits(dense, axis=1)
    width = -(-packed.shape[1] // 8) * 8
    padded = np.zeros((packed.shape[0], width), dtype=np.uint8)
    padded[:, : packed.shape[1]] = packed
    # Big-endian 64-bit words compare as the bytes do: the first tile most significant.
    words = padded.view(">u8")
    order = np.lexsort(words.T[::-1])
    ranked = words[order]
    new = np.r_[True, (ranked[1:] != ranked[:-1]).any(axis=1)][: len(order)]
    group = np.empty(len(order), dtype=np.int64)
    group[order] = np.cumsum(new) - 1
    return group, dense.sum(axis=1)


def _arrangements(
    touched: sp.csr_array, n: int, t: int, base_rank: np.ndarray
) -> Iterator[tuple[str, np.ndarray]]:
    """Orders of one side given the other side's tiles (``touched``, see
    :func:`_footprints`): rows grouped by the tiles they touch (widely read rows
    first), without and with groups aligned to tile starts."""
    group, size = _footprints(touched)
    tiles = touched.shape[1]
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
        shift = np.empty(len(starts), dtype=np.int64)  # padding before each run, summed
        filled = padded = 0
        for r, (count, a) in enumerate(zip(sizes.tolist(), align.tolist())):
            if a and filled % t:
                pad = t - filled % t
                filled += pad
                padded += pad
            shift[r] = padded
            filled += count
        if n + padded > MAX_GROWTH * n:
            continue
        arranged = np.full(n + padded, PAD, dtype=np.int64)
        arranged[np.arange(n) + np.repeat(shift, sizes)] = order
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
    t = _check_tile(tile)
    coo = _Coo(csr)
    nq, nk = coo.nq, coo.nk
    starts = {}
    for name, (qo, ko) in (bases or {}).items():
        starts[name] = (_check_order(qo, nq, "query"), _check_order(ko, nk, "key"))
    starts.setdefault("rowmajor", (np.arange(nq), np.arange(nk)))
    starts["sets"] = (coo.set_order(False), coo.set_order(True))
    evaluated = [_plan(coo, t, qo, ko, name) for name, (qo, ko) in starts.items()]
    return _best_plan(coo, t, list(evaluated), rounds)


def _best_plan(
    coo: _Coo,
    t: int,
    starts: list[TilePlan],
    rounds: int = ROUNDS,
    refined: Mapping[str, TilePlan] | None = None,
) -> TilePlan:
    """The planner's choice from evaluated starting plans: the best of them all refined
    (``refined``: those refined already, by strategy name), the best start on ties;
    fewest tiles first, then least padding."""
    out = [min(starts, key=_cost)]
    if out[0].nonempty <= coo.fewest_tiles(t):
        return out[0]  # no plan has fewer tiles
    for start in starts:
        done = (refined or {}).get(start.strategy)
        out.append(done if done is not None else _refine(coo, t, start, rounds))
    return min(out, key=_cost)


def _cost(plan: TilePlan) -> tuple[int, int]:
    return plan.nonempty, sum(plan.padding)


def _check_tile(tile: object) -> int:
    if isinstance(tile, bool) or not isinstance(tile, (int, np.integer)) or tile < 1:
        raise PatternError(f"the tile size must be a positive integer, got {tile!r}")
    return int(tile)


def _refine(coo: _Coo, t: int, current: TilePlan, rounds: int = ROUNDS) -> TilePlan:
    """Alternately rearrange keys and queries of ``current`` while that empties tiles;
    the best plan seen (never worse than ``current``)."""
    if coo.pairs > LARGE_PAIRS:
        rounds = min(rounds, 1)
    if current.nonempty <= coo.fewest_tiles(t):
        return current  # no plan has fewer tiles
    best = current
    nq, nk = coo.nq, coo.nk
    q_rank = order_slots(current.query_order, nq)
    k_rank = order_slots(current.key_order, nk)
    base = current.strategy
    for _ in range(rounds):
        start = current.nonempty
        tq = -(-len(current.query_order) // t)
        by_query_tile = coo.product("q", current.query_slot(), tq, t)  # [query tiles, nk]
        for name, order in _arrangements(sp.csr_array(by_query_tile.T), nk, t, k_rank):
            cand = _plan(coo, t, current.query_order, order, f"{base}+keys-{name}")
            if cand.nonempty < current.nonempty:
                current = cand
        tk = -(-len(current.key_order) // t)
        by_key_tile = coo.product("k", current.key_slot(), tk, t)  # [nq, key tiles]
        for name, order in _arrangements(by_key_tile, nq, t, q_rank):
            cand = _plan(coo, t, order, current.key_order, f"{current.strategy}+queries-{name}")
            if cand.nonempty < current.nonempty:
                current = cand
        if _cost(current) < _cost(best):
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
    from ylg.patterns.enumerations import ORDERS

    return {
        order: enumeration_orders(masks, order) for order in dict.fromkeys([masks.order, *ORDERS])
    }


def plan_step(masks: Masks, step: int, tile: int = DEFAULT_TILE) -> TilePlan:
    """:func:`plan_tiles` for one step (0-based) of a pattern's masks, starting from
    every enumeration of the grid (the pattern's own first).

    >>> from ylg.patterns import load_pattern
    >>> plan_step(load_pattern("rtl").on("16x16"), 0, 64).nonempty
    4
    """
    return plan_tiles(masks.csr(step), tile, bases=order_bases(masks))


#: Largest query x key count the tile reports take (a 256x256 square grid is 2**32; a
#: 16x64x64 video 2**32 too).
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
    chosen = _report_steps(masks, steps)
    out = []
    for step in chosen:
        before = tile_plan(masks.csr(step), tile, *enumeration_orders(masks), strategy=masks.order)
        out.append((before, plan_step(masks, step, tile)))
    return out


def _report_steps(masks: Masks, steps: "list[int] | None") -> list[int]:
    """The 0-based steps of a report, after refusing layouts too large for one."""
    if masks.nq * masks.nk > MAX_REPORT_PAIRS:
        raise PatternError(
            f"{masks.describe()} has {masks.nq * masks.nk:,} (query, key) pairs; the tile"
            f" reports take at most {MAX_REPORT_PAIRS:,} (a 256x256 grid or a 16x64x64"
            " video has 2**32)"
        )
    chosen = list(range(masks.num_steps)) if steps is None else list(steps)
    for step in chosen:
        if not 0 <= step < masks.num_steps:
            raise PatternError(
                f"pattern {masks.pattern.name!r} has {masks.num_steps} step(s); no step {step + 1}"
            )
    return chosen


@dataclass(frozen=True)
class OrderTiles:
    """The tiles of one step (0-based ``step``) under each enumeration of the grid.

    ``laid[order]``: queries and keys laid in that order, as a kernel that keeps the
    enumeration runs; ``planned[order]``: the planner's rearrangement starting from that
    order alone; ``best``: the planner's plan from every start (:func:`plan_step`, what
    ylg's FlexAttention backend runs). ``pattern_order`` is the order the pattern itself
    is laid in.

    >>> from ylg.patterns import load_pattern
    >>> na = load_pattern("na").with_params(win_t=3, win_i=3, win_j=3)
    >>> [entry] = order_tiles(na.on("4x8x8"), 32)
    >>> s = entry.summary()
    >>> s["fastest_order"], s["orders"]["hilbert"]["nonempty_tiles"], s["planner"]["nonempty_tiles"]
    ('hilbert', 42, 28)
    """

    step: int
    pattern_order: str
    laid: Mapping[str, TilePlan]
    planned: Mapping[str, TilePlan]
    best: TilePlan

    @property
    def fastest_order(self) -> str:
        """The order whose laid tiles are fewest (ties: the pattern's own, then the
        order of :data:`~ylg.patterns.ORDERS`)."""
        return min(self.laid, key=lambda o: (self.laid[o].nonempty, o != self.pattern_order))

    def summary(self) -> dict[str, object]:
        """The numbers, JSON-ready: per order the non-empty tiles and their share of
        the dense tiles, laid and planned; the planner's best; the fastest order."""
        best = self.best
        return {
            "step": self.step + 1,
            "tile": best.tile,
            "pairs": best.pairs,
            "pair_share": best.pair_share,
            "dense_tiles": best.dense_tiles,
            "pattern_order": self.pattern_order,
            "orders": {
                order: {
                    "nonempty_tiles": self.laid[order].nonempty,
                    "work_share": self.laid[order].work_share,
                    "planned_nonempty_tiles": self.planned[order].nonempty,
                    "planned_work_share": self.planned[order].work_share,
                    "planned_padding": list(self.planned[order].padding),
                }
                for order in self.laid
            },
            "fastest_order": self.fastest_order,
            "planner": {**best.summary()},
        }


def order_tiles(
    masks: Masks,
    tile: int = DEFAULT_TILE,
    steps: "list[int] | None" = None,
    *,
    progress: bool = False,
) -> list[OrderTiles]:
    """Per step (0-based ``steps``, default all) the non-empty ``tile x tile`` tiles
    under every enumeration of the grid, laid as it is and planned from it, and the
    planner's best: which order makes a block-sparse kernel fastest on this layout.
    ``progress`` shows a bar (one tick per step and order).

    >>> from ylg.patterns import Pattern
    >>> cube = Pattern("cube", "", ("abs(qt-kt) <= 1 and abs(qi-ki) <= 1 and abs(qj-kj) <= 1",))
    >>> [r] = order_tiles(cube.on("8x8x8"), 64)     # 8 x 8 tiles: one frame each in row-major
    >>> {o: p.nonempty for o, p in r.laid.items()}
    {'rowmajor': 22, 'esa': 40, 'hilbert': 64, 'zorder': 64, 'snake': 22}
    >>> r.fastest_order, r.best.nonempty, r.planned["hilbert"].nonempty
    ('rowmajor', 22, 39)
    """
    from ylg.patterns.enumerations import ORDERS
    from ylg.progress import progress as progress_bar

    t = _check_tile(tile)
    chosen = _report_steps(masks, steps)
    bases = order_bases(masks)
    bar = progress_bar(
        total=len(chosen) * len(ORDERS),
        desc="tiles",
        unit="order",
        disable=not progress,
        leave=False,
    )
    out = []
    for step in chosen:
        coo = _Coo(masks.csr(step))
        laid: dict[str, TilePlan] = {}
        planned: dict[str, TilePlan] = {}
        for name, (qo, ko) in bases.items():
            laid[name] = _plan(coo, t, qo, ko, name)
            planned[name] = _refine(coo, t, laid[name])
            bar.update(1)
        sets = _plan(coo, t, coo.set_order(False), coo.set_order(True), "sets")
        best = _best_plan(coo, t, [*laid.values(), sets], ROUNDS, planned)
        ordered = {name: laid[name] for name in ORDERS}
        out.append(OrderTiles(step, masks.order, ordered, {n: planned[n] for n in ORDERS}, best))
    bar.close()
    return out


def format_order_tiles(
    reports: "Sequence[tuple[str, str, Sequence[OrderTiles]]]", *, markdown: bool = False
) -> str:
    """Per-order tile reports side by side, one row per step and kind (``laid``: queries
    and keys in the order; ``planned``: the planner started from it), as text or
    markdown. ``reports`` holds ``(pattern, pattern's order, report)``. Cells are
    non-empty tiles and their share of dense attention's tiles; ``planner`` is the
    planner's best, ``pairs`` the attended share of all pairs.

    >>> from ylg.patterns import load_pattern
    >>> m = load_pattern("rtl").on("8x8")
    >>> lines = format_order_tiles([("rtl", m.order, order_tiles(m, 16, [0]))]).splitlines()
    >>> lines[0].split()[3:]
    ['tiles', 'rowmajor', 'esa', 'hilbert', 'zorder', 'snake', 'planner', 'pairs', 'fastest']
    >>> lines[1].split()[:8], lines[1].split()[-2:]
    (['rtl', 'esa', '1', 'laid', '15', '(93.75%)', '4', '(25.00%)'], ['7.03%', 'esa'])
    """
    from ylg.patterns.enumerations import ORDERS

    columns = ["pattern", "order", "step", "tiles", *ORDERS, "planner", "pairs", "fastest"]
    rows = []
    for pattern, order, report in reports:
        for n, entry in enumerate(report):
            head = [pattern, order] if n == 0 else ["", ""]
            best = entry.best
            laid = [f"{p.nonempty} ({p.work_share:.2%})" for p in entry.laid.values()]
            planned = [f"{p.nonempty} ({p.work_share:.2%})" for p in entry.planned.values()]
            rows.append(
                [
                    *head,
                    str(entry.step + 1),
                    "laid",
                    *laid,
                    f"{best.nonempty} ({best.work_share:.2%})",
                    f"{best.pair_share:.2%}",
                    entry.fastest_order,
                ]
            )
            rows.append(["", "", "", "planned", *planned, "", "", ""])
    return text_table(columns, rows, markdown=markdown)
