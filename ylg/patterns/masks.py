"""Masks: a pattern laid on concrete query and key grids.

``M[step, q, k]`` is true when query ``q`` may attend key ``k`` in that step; ``q``
and ``k`` are row-major positions on the query and key grids. Every output (dense
numpy, scipy CSR, torch, the FlexAttention ``mask_mod``) comes from one evaluation
of the step expressions, vectorised over blocks of query rows.

The variables a step sees for query position ``x`` and key position ``y``:
``k = rank[y]`` (the key cell's place in the enumeration), ``kt, ki, kj`` its grid cell
(frame, row, column; 0 along an axis the grid does not have); ``q, qt, qi, qj`` the
same for the key-grid cell that query ``x`` behaves as under the non-square rule (on a
square layout, ``x`` itself). Hence
``M[pi[a], pi[b]] = M1d[a, b]``: the ESA shift, without ever permuting a matrix.

>>> from ylg.patterns import load_pattern
>>> m = load_pattern("ltr").on("3x3", order="rowmajor")
>>> m.counts()
[18, 33]
>>> m.dense().shape
(2, 9, 9)
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ylg.errors import PatternError
from ylg.fileio import write_atomic
from ylg.patterns.enumerations import enumeration, ranks
from ylg.patterns.expr import Expr, Node
from ylg.patterns.grid import AXIS_NAMES, SIDE_NAMES, Grid
from ylg.patterns.layout import Layout, OnLayout, axis_rules, check_nonsquare

if TYPE_CHECKING:
    import scipy.sparse as sp

    from ylg.patterns.pattern import Pattern

#: Elements per evaluated block (query rows x keys). Small blocks keep the temporaries
#: in cache and reuse freed memory instead of page-faulting fresh allocations (the best
#: of 2**14..2**21 measured on the 128x128 LTR mask).
BLOCK_ELEMENTS = 1 << 17

#: Layouts with at least this many keys build their CSR masks by tiles: interval
#: arithmetic (:mod:`ylg.patterns.intervals`) decides whole tiles of pairs, and only
#: the undecided ones are evaluated pair by pair (a video's far frames, a window's far
#: rows). Smaller layouts evaluate every pair, which is as fast there.
TILED_MIN_KEYS = 4096
#: The tiles: consecutive query positions per block, consecutive key positions per tile.
QUERY_TILE = 32
KEY_TILE = 32
#: A block whose undecided keys exceed this share of all keys is evaluated whole.
TILED_MAX_SHARE = 0.5
#: Query rows evaluated to estimate a step's attended pairs before its CSR is built.
CSR_SAMPLE_ROWS = 64
#: Layouts with fewer (query, key) pairs than this are built without the estimate.
CSR_CHECK_MIN_PAIRS = 1 << 26


#: Bytes a layout's lookup tables take per grid cell at their peak (enumeration, ranks,
#: rows, columns and their narrowed copies), measured on 512x512 and rounded up.
LAYOUT_BYTES_PER_CELL = 96


def default_max_dense_bytes() -> int:
    """The most memory ylg lets one big array (or a layout's tables) take here: half the
    physical memory, or less where a process limit (``ulimit -v``, ``ulimit -d``) or a
    cgroup leaves less free.

    >>> default_max_dense_bytes() > 0
    True
    """
    try:
        limit = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        limit = 8 << 30
    free = _free_under_limits()
    return max(1, min(limit, free)) if free is not None else limit


def _free_under_limits() -> int | None:
    """Bytes this process may still allocate under its rlimits and cgroup, if known."""
    frees = []
    try:
        import resource

        used = _self_status_bytes("VmSize")
        for which in (resource.RLIMIT_AS, getattr(resource, "RLIMIT_DATA", None)):
            if which is None:
                continue
            soft, _ = resource.getrlimit(which)
            if soft != resource.RLIM_INFINITY and soft > 0:
                frees.append(soft - (used or 0))
    except (ImportError, OSError, ValueError):  # pragma: no cover - non-POSIX
        pass
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path) as fh:
                text = fh.read().strip()
            usage_path = path.replace("memory.max", "memory.current").replace(
                "limit_in_bytes", "usage_in_bytes"
            )
            with open(usage_path) as fh:
                usage = int(fh.read().strip())
        except (OSError, ValueError):
            continue
        if text.isdigit() and int(text) < 1 << 60:
            frees.append(int(text) - usage)
        break
    return min(frees) if frees else None


def _self_status_bytes(field: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def layout_bytes(grid: Grid, query_grid: Grid | None = None) -> int:
    """Estimated peak memory of a layout's lookup tables (before any mask is built).

    >>> layout_bytes(Grid(32768, 32768)) > 64 << 30
    True
    """
    cells = grid.size + (query_grid.size if query_grid is not None else 0)
    return LAYOUT_BYTES_PER_CELL * cells


def check_layout_memory(grid: Grid, query_grid: Grid | None = None) -> None:
    """Refuse, before allocating, a layout whose tables would not fit in memory here."""
    need = layout_bytes(grid, query_grid)
    limit = default_max_dense_bytes()
    if need > limit:
        layout = f"{grid}" if query_grid is None else f"{grid} keys / {query_grid} queries"
        raise PatternError(
            f"the {layout} layout needs about {_human(need)} of memory for its tables,"
            f" more than the {_human(limit)} available here; use a smaller grid"
        )


#: The variables of the query side and the key side of a step, per grid axis.
QUERY_COORDS = {axis: "q" + axis for axis in AXIS_NAMES}
KEY_COORDS = {axis: "k" + axis for axis in AXIS_NAMES}
QUERY_SIDE = ("q", *QUERY_COORDS.values())
KEY_SIDE = ("k", *KEY_COORDS.values())


def layout_sizes(layout: Layout) -> dict[str, int]:
    """The size variables of a layout: ``n``, ``nq`` and the side of every axis.

    >>> layout_sizes(Layout("3x4"))
    {'n': 12, 'nq': 12, 't': 1, 'h': 3, 'w': 4, 'tq': 1, 'hq': 3, 'wq': 4}
    """
    sizes = {"n": layout.nk, "nq": layout.nq}
    for axis in AXIS_NAMES:
        sizes[SIDE_NAMES[axis]] = layout.grid.side(axis)
    for axis in AXIS_NAMES:
        sizes[SIDE_NAMES[axis] + "q"] = layout.query_grid.side(axis)
    return sizes


class Masks(OnLayout):
    """The masks of one pattern on one layout. Build with :meth:`Pattern.on`.

    >>> from ylg.patterns import load_pattern
    >>> m = load_pattern("rtl").on("16x16", query_grid="32x32")
    >>> m.shape, m.stride
    ((2, 1024, 256), 16)
    """

    def __init__(self, pattern: Pattern, layout: Layout) -> None:
        self.pattern = pattern
        grid, query_grid = layout.grid, layout.query_grid
        order = layout.order or pattern.order
        nonsquare = check_nonsquare(layout.nonsquare or pattern.nonsquare, grid.ndim)
        self.exprs: tuple[Expr, ...] = pattern.step_exprs
        check_layout_memory(grid, None if layout.square else query_grid)
        sizes = layout_sizes(layout)
        stride = layout.stride
        if not isinstance(stride, int):
            rule = pattern if stride is None else pattern.with_stride(stride)
            try:
                stride = rule.stride_expr.evaluate({**sizes, **pattern.params})
            except PatternError as exc:
                raise PatternError(
                    f"pattern {pattern.name!r}, stride rule {rule.stride!r} on the {grid} grid:"
                    f" {exc}"
                ) from None
            if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride < 1:
                whose = "its stride rule" if layout.stride is None else "the stride rule"
                raise PatternError(
                    f"pattern {pattern.name!r}: {whose} {rule.stride!r} gives {stride!r} on the"
                    f" {grid} grid; the stride must be a positive integer"
                )
        #: The complete layout: order, non-square rule and stride filled in.
        self.layout = Layout(grid, query_grid, order, nonsquare, int(stride))
        self.scalars: dict[str, int] = {**sizes, "s": self.stride, **pattern.params}

        # Key side: enumeration rank and coordinates of every row-major key position.
        # Query side: what the predicate sees as q, qt, qi, qj for each query position.
        self.query_rank, self.key_rank = self.ranks(order)
        keys = {"k": self.key_rank, **{KEY_COORDS[a]: grid.coord(a) for a in AXIS_NAMES}}
        queries = {"q": self.query_rank}
        if nonsquare == "direct":
            queries.update({QUERY_COORDS[a]: query_grid.coord(a) for a in AXIS_NAMES})
        else:
            target = self.query_to_key()
            queries.update({QUERY_COORDS[a]: keys[KEY_COORDS[a]][target] for a in AXIS_NAMES})
        ranges = {"q": (0, max(self.nk, self.nq) - 1), "k": (0, self.nk - 1)}
        for axis in AXIS_NAMES:
            side, qside = grid.side(axis), query_grid.side(axis)
            ranges[QUERY_COORDS[axis]] = (0, max(side, qside) - 1)
            ranges[KEY_COORDS[axis]] = (0, side - 1)
        ranges.update({name: (v, v) for name, v in self.scalars.items()})
        magnitude = 0
        for i, expr in enumerate(self.exprs, 1):
            try:
                magnitude = max(magnitude, expr.magnitude(ranges))
            except PatternError as exc:
                raise PatternError(f"pattern {pattern.name!r}, step {i}: {exc}") from None
        # The narrowest integer type that holds every intermediate value exactly: the
        # vectorised comparisons run several times faster on int16 than on int64.
        self._dtype = next(t for t in (np.int16, np.int32, np.int64) if magnitude < np.iinfo(t).max)
        self._ranges = ranges
        # Per (step, gathered): its evaluator over whole rows (key tables bound) or over
        # keys gathered for each call.
        self._compiled: dict[tuple[int, bool], Callable[[dict[str, Any]], Any]] = {}
        self._tables = {name: arr.astype(self._dtype) for name, arr in {**queries, **keys}.items()}
        self._per_query: dict[int, np.ndarray] = {}  # keys per query, by step, once counted

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_compiled": {}}  # compiled steps are remade on use

    # -- layout ----------------------------------------------------------------------
    @property
    def order(self) -> str:
        """The enumeration of the cells."""
        return self.layout.order  # type: ignore[return-value]

    @property
    def nonsquare(self) -> str:
        """The rule for queries on a grid other than the key grid."""
        return self.layout.nonsquare  # type: ignore[return-value]

    @property
    def stride(self) -> int:
        """The stride ``s``."""
        return self.layout.stride  # type: ignore[return-value]

    @property
    def num_steps(self) -> int:
        """Number of steps."""
        return len(self.exprs)

    def square_on_keys(self) -> "Masks":
        """This layer as an inner layer of a stack: the same pattern and layout with the
        queries on the key grid (itself when square already). ``N`` layers of it stack as
        ``[m.square_on_keys()] * (N - 1) + [m]``: only the last ends on the query grid.

        >>> from ylg.patterns import load_pattern
        >>> m = load_pattern("ltr").on("4x4", query_grid="8x8")
        >>> inner = m.square_on_keys()
        >>> str(inner.query_grid), inner.stride == m.stride, m.square_on_keys() is not m
        ('4x4', True, True)
        """
        return self if self.square else Masks(self.pattern, self.layout.square_on_keys())

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(steps, nq, nk)``."""
        return (self.num_steps, self.nq, self.nk)

    def table(self, name: str) -> np.ndarray:
        """What a step sees as variable ``name`` (``q``, ``qi``, ``k``, ``kt``, ...) at each
        query or key position (query variables after the non-square rule).

        >>> from ylg.patterns import load_pattern
        >>> load_pattern("ltr").on("2x3").table("kj").tolist()
        [0, 1, 2, 0, 1, 2]
        """
        if name not in self._tables:
            raise PatternError(f"no table {name!r} (known: {', '.join(self._tables)})")
        return self._tables[name]

    def query_to_key(self) -> np.ndarray:
        """Key-grid position that each query position behaves as (not for ``direct``).

        >>> from ylg.patterns import load_pattern
        >>> load_pattern("ltr").on("2x2", query_grid="4x4", nonsquare="spatial").query_to_key()[:8]
        array([0, 0, 1, 1, 0, 0, 1, 1])
        """
        grid, query_grid = self.layout.grid, self.layout.query_grid
        rules = axis_rules(self.layout.nonsquare, grid.ndim)  # type: ignore[arg-type]
        if rules is None:
            if self.layout.nonsquare == "direct":
                raise PatternError("the 'direct' rule maps no query onto the key grid")
            return np.arange(query_grid.size, dtype=np.int64) % grid.size
        coords = query_grid.coords()
        mapped = []
        for c, rule, side, qside in zip(coords, rules, grid.shape, query_grid.shape):
            mapped.append(c % side if rule == "tile" else c * side // qside)
        return np.ravel_multi_index(tuple(mapped), grid.shape).astype(np.int64)

    def ranks(self, order: str) -> tuple[np.ndarray, np.ndarray]:
        """``(query ranks, key ranks)`` in an enumeration: each key cell's place in
        ``order``, and for each query the place of the key cell it behaves as (its own
        place on the query grid under ``direct``). ``order`` may differ from the
        layout's, to compare orders.

        >>> from ylg.patterns import load_pattern
        >>> m = load_pattern("ltr").on("2x2", query_grid="4x4", nonsquare="spatial")
        >>> [r.tolist()[:4] for r in m.ranks("snake")]
        [[0, 0, 1, 1], [0, 1, 3, 2]]
        """
        key_rank = ranks(order, self.grid.shape)
        if self.nonsquare == "direct":
            return ranks(order, self.query_grid.shape), key_rank
        return key_rank[self.query_to_key()], key_rank

    def enumeration(self) -> np.ndarray:
        """``pi`` on the key grid: ``pi[a]`` is the row-major position of the a-th cell."""
        return enumeration(self.order, self.grid.shape)

    def _env(self, start: int, stop: int, keys: np.ndarray | None) -> dict[str, Any]:
        env: dict[str, Any] = dict(self.scalars)
        for name in QUERY_SIDE:
            env[name] = self._tables[name][start:stop, None]
        for name in KEY_SIDE:
            table = self._tables[name]
            env[name] = (table if keys is None else table[keys])[None, :]
        return env

    def _evaluator(self, step: int, gathered: bool) -> Callable[[dict[str, Any]], Any]:
        """The step's expression made once for this layout: divisions whose divisor the
        variables' ranges keep from zero are not guarded, and, over whole rows, what
        depends on the keys alone (``k % s == s - 1``) is computed once, not in every
        block (``gathered``: the keys come with each call instead)."""
        fn = self._compiled.get((step, gathered))
        if fn is None:
            constants: dict[str, Any] = dict(self.scalars)
            if not gathered:
                for name in KEY_SIDE:
                    constants[name] = self._tables[name][None, :]
            fn = self.exprs[step].compile(self._ranges, constants)
            self._compiled[step, gathered] = fn
        return fn

    def rows(self, step: int, start: int, stop: int, keys: np.ndarray | None = None) -> np.ndarray:
        """Mask rows ``start:stop`` of one step (0-based), as a bool array ``[stop-start, nk]``,
        or only at the key positions ``keys`` (``[stop-start, len(keys)]``).

        >>> from ylg.patterns import load_pattern
        >>> m = load_pattern("ltr").on("2x2", order="rowmajor")
        >>> m.rows(0, 0, 2).astype(int).tolist(), m.rows(0, 0, 2, np.array([1])).tolist()
        ([[1, 0, 0, 0], [1, 1, 0, 0]], [[False], [True]])
        """
        self._check_step(step)
        if not 0 <= start <= stop <= self.nq:
            raise PatternError(f"rows {start}:{stop} are not within the {self.nq} queries")
        try:
            out = self._evaluator(step, keys is not None)(self._env(start, stop, keys))
        except PatternError as exc:
            raise PatternError(f"pattern {self.pattern.name!r}, step {step + 1}: {exc}") from None
        shape = (stop - start, self.nk if keys is None else keys.size)
        if not isinstance(out, np.ndarray) or out.shape != shape:
            out = np.broadcast_to(np.asarray(out, dtype=bool), shape)
        return out

    def _blocks(self, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, int]]:
        """Consecutive query rows from ``start`` to ``stop`` (all) in blocks of about
        :data:`BLOCK_ELEMENTS` pairs."""
        stop = self.nq if stop is None else stop
        rows = max(1, BLOCK_ELEMENTS // max(1, self.nk))
        for a in range(start, stop, rows):
            yield a, min(stop, a + rows)

    def _check_step(self, step: int) -> None:
        if not 0 <= step < self.num_steps:
            raise PatternError(
                f"pattern {self.pattern.name!r} has {self.num_steps} step(s); no step {step + 1}"
            )

    def _empty_row_error(self, step: int, row: int) -> PatternError:
        cell = "" if self.query_grid.ndim == 1 else f" (cell {self.query_grid.cell(row)})"
        return PatternError(
            f"pattern {self.pattern.name!r}, step {step + 1} leaves query {row}{cell}"
            f" with no key to attend on the {self.describe()} layout"
        )

    def describe(self) -> str:
        """A short text of the layout, like ``16x16 keys, 32x32 queries (repeat), esa, s=16``,
        and the parameters set away from the pattern's own values (as the layout's parts
        left to the pattern are left out).

        >>> from ylg.patterns import load_pattern
        >>> na = load_pattern("na")
        >>> na.on("4x8x8").describe(), na.with_params(win_t=3).on("4x8x8").describe()
        ('4x8x8, rowmajor, s=16', '4x8x8, rowmajor, s=16, win_t=3')
        """
        text = self.layout.describe()
        own = self.pattern.own_params or {}
        changed = {k: v for k, v in self.pattern.params.items() if own.get(k) != v}
        if changed:
            text += ", " + ", ".join(f"{k}={v}" for k, v in changed.items())
        return text

    def dense(self, step: int | None = None, *, max_bytes: int | None = None) -> np.ndarray:
        """Dense bool masks: ``[steps, nq, nk]``, or ``[nq, nk]`` for one step (0-based).

        Refuses (with :class:`PatternError`) a set larger than ``max_bytes`` (default:
        half the physical memory) and a step that leaves a query with no key.
        """
        steps = range(self.num_steps) if step is None else [step]
        for s in steps:
            self._check_step(s)
        need = len(steps) * self.nq * self.nk
        limit = default_max_dense_bytes() if max_bytes is None else max_bytes
        if need > limit:
            raise PatternError(
                f"dense masks of {len(steps)} x {self.nq} x {self.nk} need {_human(need)},"
                f" more than the {_human(limit)} allowed here; use a smaller grid or sparse masks"
            )
        out = np.empty((len(steps), self.nq, self.nk), dtype=bool)
        for slot, s in enumerate(steps):
            for start, stop in self._blocks():
                out[slot, start:stop] = self.checked_rows(s, start, stop)
        return out if step is None else out[0]

    def checked_rows(self, step: int, start: int, stop: int) -> np.ndarray:
        """:meth:`rows`, refused (:class:`PatternError`) when a query of them attends no
        key: what every whole-mask view checks.

        >>> from ylg.patterns import Pattern
        >>> Pattern("lower", "", ("k < q",)).on("3").checked_rows(0, 0, 2)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ylg.errors.PatternError: pattern 'lower', step 1 leaves query 0 with no key to attend ...
        """
        block = self.rows(step, start, stop)
        empty = ~block.any(axis=1)
        if empty.any():
            raise self._empty_row_error(step, start + int(np.argmax(empty)))
        return block

    def csr(self, step: int) -> sp.csr_array:
        """One step (0-based) as a scipy CSR boolean array ``[nq, nk]``, built block by block
        so that large grids never hold the dense mask; on large layouts by tiles, whole
        tiles of pairs decided by interval arithmetic where they can be (the same array).
        """
        self._check_step(step)
        self._check_csr_memory(step)
        if self.nk >= TILED_MIN_KEYS:
            return self.csr_tiled(step)
        return self._assemble(
            step, ((a, b, *self._block_pairs(step, a, b)) for a, b in self._blocks())
        )

    def _check_csr_memory(self, step: int) -> None:
        """Refuse, before building it, a step whose CSR array would not fit in the memory
        allowed here (:func:`default_max_dense_bytes`): its entries are estimated from
        :data:`CSR_SAMPLE_ROWS` evenly spaced query rows (exact when counted already)."""
        if step in self._per_query:
            entries = float(self._per_query[step].sum())
        else:
            if self.nq * self.nk <= CSR_CHECK_MIN_PAIRS:
                return
            rows = np.unique(np.linspace(0, self.nq - 1, min(self.nq, CSR_SAMPLE_ROWS)).astype(int))
            per = [int(self.rows(step, int(r), int(r) + 1).sum()) for r in rows]
            entries = float(np.mean(per)) * self.nq
        # An index (4 or 8 bytes) and a bool per entry, and a copy while it is assembled.
        need = int(entries * (5 if self.nk < 2**31 else 9) * 2)
        limit = default_max_dense_bytes()
        if need > limit:
            raise PatternError(
                f"step {step + 1} of {self.pattern.name!r} on {self.describe()} attends about"
                f" {entries:.3g} (query, key) pairs; its sparse mask needs about"
                f" {_human(need)}, more than the {_human(limit)} available here; use a"
                " smaller grid"
            )

    def csr_tiled(
        self, step: int, query_tile: int = QUERY_TILE, key_tile: int = KEY_TILE
    ) -> sp.csr_array:
        """:meth:`csr` by tiles of ``query_tile`` consecutive queries and ``key_tile``
        consecutive keys: each tile is decided by interval arithmetic over the ranges of
        its variables (:func:`ylg.patterns.intervals.decide`) where it can be, and
        evaluated pair by pair where it cannot. Exact: the same array as every pair
        evaluated, only faster where many tiles are decided (a video's far frames).

        >>> from ylg.patterns import load_pattern
        >>> m = load_pattern("radial").on("8x8x8")
        >>> (m.csr_tiled(0, 4, 8) != m.csr_tiled(0, m.nq, m.nk)).nnz   # no tile decided
        0
        """
        self._check_step(step)
        return self._assemble(
            step, (tile.pairs(self, step) for tile in self._tiles(step, query_tile, key_tile))
        )

    def _tiles(
        self, step: int, query_tile: int = QUERY_TILE, key_tile: int = KEY_TILE
    ) -> Iterator["_RowTiles"]:
        """The blocks of ``query_tile`` consecutive queries of a step, each with the keys
        its tiles of ``key_tile`` keys may attend (interval arithmetic proves the others
        never attended) and which of those are undecided; a block where more than
        :data:`TILED_MAX_SHARE` of the keys are undecided is left whole."""
        from ylg.patterns.intervals import decide

        expr = self.exprs[step]
        starts = np.arange(0, self.nk, key_tile)
        sizes = np.diff(np.append(starts, self.nk))
        ranges: dict[str, tuple[Any, Any]] = {k: (v, v) for k, v in self.scalars.items()}
        for name in KEY_SIDE:
            table = self._tables[name].astype(np.int64)
            ranges[name] = (np.minimum.reduceat(table, starts), np.maximum.reduceat(table, starts))
        for start in range(0, self.nq, query_tile):
            stop = min(self.nq, start + query_tile)
            for name in QUERY_SIDE:
                part = self._tables[name][start:stop]
                ranges[name] = (int(part.min()), int(part.max()))
            always, never = (np.broadcast_to(a, starts.shape) for a in decide(expr, ranges))
            open_ = ~(always | never)
            if sizes[open_].sum() > TILED_MAX_SHARE * self.nk:
                yield _RowTiles(start, stop, None, None)
                continue
            keep = ~never
            yield _RowTiles(
                start,
                stop,
                _tile_columns(starts[keep], sizes[keep]),
                np.repeat(open_[keep], sizes[keep]),
            )

    def _block_pairs(self, step: int, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """The (row in block, key) pairs of rows ``start:stop``, every pair evaluated (in
        sub-blocks of :data:`BLOCK_ELEMENTS` pairs, which keep the temporaries in cache)."""
        rows, keys = [], []
        for a, b in self._blocks(start, stop):
            flat = np.flatnonzero(self.rows(step, a, b))  # much faster than 2-D nonzero
            r = flat // self.nk
            rows.append(r + (a - start))
            keys.append(flat - r * self.nk)
        if len(rows) == 1:
            return rows[0], keys[0]
        return np.concatenate(rows), np.concatenate(keys)

    def _assemble(
        self, step: int, blocks: Iterable[tuple[int, int, np.ndarray, np.ndarray]]
    ) -> sp.csr_array:
        """A CSR array from ``(start, stop, rows in block, keys)`` of consecutive row
        blocks, each row's keys ascending; a row with no key is refused."""
        import scipy.sparse as sp

        # 32-bit keys where they fit (every layout here): half the memory and the time
        # of 64-bit ones on the hundreds of millions of pairs of a video's masks.
        key_type = np.int32 if self.nk < 2**31 else np.int64
        indptr = [np.zeros(1, dtype=np.int64)]
        indices = []
        total = 0
        for start, stop, r, c in blocks:
            counts = np.bincount(r, minlength=stop - start)
            if (counts == 0).any():
                raise self._empty_row_error(step, start + int(np.argmin(counts)))
            indices.append(c.astype(key_type, copy=False))
            indptr.append(total + np.cumsum(counts))
            total += int(counts.sum())
        data = np.ones(total, dtype=bool)
        pointers = np.concatenate(indptr)
        if total < 2**31 and key_type is np.int32:
            pointers = pointers.astype(np.int32)
        out = sp.csr_array((data, np.concatenate(indices), pointers), shape=(self.nq, self.nk))
        # Each row's keys are ascending and distinct by construction: saying so spares
        # every later user a copy and a sort of all the entries.
        out.has_canonical_format = True
        return out

    def csr_all(self) -> list[sp.csr_array]:
        """Every step as CSR."""
        return [self.csr(s) for s in range(self.num_steps)]

    def axis_factors(self, step: int) -> tuple[sp.csr_array, ...] | None:
        """The step (0-based) as one boolean matrix per grid axis, when it is one.

        A step is separable when it is an ``and`` of clauses that each use the
        coordinates of one axis only (``abs(qi - ki) <= 3``), with sizes, the stride and
        parameters; a clause on the enumeration (``q``, ``k``) or on two axes makes it
        not separable, and so does the ``repeat`` rule on a non-square layout. Then the
        mask is the Kronecker product of the factors, first axis first:
        ``M = kron(F_0, kron(F_1, ...))``, ``F_a`` of shape ``[query side, key side]``.
        Returns ``None`` when the step is not separable.

        >>> from ylg.patterns import Pattern
        >>> p = Pattern("box", "", ("abs(qi - ki) <= 1 and abs(qj - kj) <= 2",))
        >>> m = p.on("4x5")
        >>> f = m.axis_factors(0)
        >>> [a.shape for a in f]
        [(4, 4), (5, 5)]
        >>> import scipy.sparse as sp
        >>> bool((sp.kron(f[0], f[1]).toarray() == m.dense(0)).all())
        True
        >>> from ylg.patterns import load_pattern
        >>> m.axis_factors(0) is not None, load_pattern("ltr").on("4x4").axis_factors(0)
        (True, None)
        """
        import scipy.sparse as sp

        self._check_step(step)
        rules = axis_rules(self.nonsquare, self.grid.ndim)
        if not self.square and rules is None and self.nonsquare != "direct":
            return None
        axis_of = {}
        for axis in AXIS_NAMES:
            axis_of[QUERY_COORDS[axis]] = axis_of[KEY_COORDS[axis]] = axis
        clauses: dict[str, list[Any]] = {axis: [] for axis in self.grid.axes}
        constant: list[Any] = []
        for clause in _conjuncts(self.exprs[step].root):
            used = _variables(clause)
            if used & {"q", "k"}:
                return None
            axes = {axis_of[v] for v in used if v in axis_of}
            if len(axes) > 1:
                return None
            if not axes:
                constant.append(clause)
                continue
            (axis,) = axes
            if axis not in clauses:  # an axis the grid lacks: coordinate 0, side 1
                constant.append(clause)
            else:
                clauses[axis].append(clause)
        factors = []
        for index, axis in enumerate(self.grid.axes):
            side, qside = self.grid.shape[index], self.query_grid.shape[index]
            keys = np.arange(side, dtype=np.int64)
            if self.square or self.nonsquare == "direct":
                queries = np.arange(qside, dtype=np.int64)
            elif rules[index] == "tile":  # type: ignore[index]
                queries = np.arange(qside, dtype=np.int64) % side
            else:
                queries = np.arange(qside, dtype=np.int64) * side // qside
            env: dict[str, Any] = dict(self.scalars)
            for other in AXIS_NAMES:
                env[QUERY_COORDS[other]] = env[KEY_COORDS[other]] = 0
            env[QUERY_COORDS[axis]] = queries[:, None]
            env[KEY_COORDS[axis]] = keys[None, :]
            parts = clauses[axis] + (constant if index == 0 else [])
            mask = np.ones((qside, side), dtype=bool)
            if parts:
                root = parts[0] if len(parts) == 1 else Node("and", tuple(parts), "bool", 0)
                expr = Expr(self.exprs[step].source, root, frozenset(_variables(root)))
                try:
                    value = expr.evaluate(env)
                except PatternError as exc:
                    raise PatternError(
                        f"pattern {self.pattern.name!r}, step {step + 1}: {exc}"
                    ) from None
                mask = np.broadcast_to(np.asarray(value, dtype=bool), mask.shape)
            empty = ~mask.any(axis=1)
            if empty.any():
                # Every query whose coordinate on this axis is that one has no key.
                cell = [0] * self.grid.ndim
                cell[index] = int(np.argmax(empty))
                raise self._empty_row_error(step, self.query_grid.position(*cell))
            factors.append(sp.csr_array(mask))
        return tuple(factors)

    def keys_per_query(self, step: int, *, progress: bool = False) -> np.ndarray:
        """Number of keys each query attends in one step (0-based), counted by tiles on
        large layouts (whole tiles decided by interval arithmetic are not evaluated);
        kept, so asking again is free (a read-only array).

        >>> from ylg.patterns import load_pattern
        >>> load_pattern("ltr").on("2x2", order="rowmajor").keys_per_query(1).tolist()
        [3, 2, 3, 2]
        """
        self._check_step(step)
        if step in self._per_query:
            return self._per_query[step]
        out = np.empty(self.nq, dtype=np.int64)
        if self.nk >= TILED_MIN_KEYS:
            blocks: Iterable[Any] = self._tiles(step)
            total = -(-self.nq // QUERY_TILE)
        else:
            blocks = [_RowTiles(a, b, None, None) for a, b in self._blocks()]
            total = len(blocks)
        if progress:
            from ylg.progress import progress as progress_bar

            blocks = progress_bar(
                blocks, total=total, desc=f"step {step + 1} keys", unit="block", leave=False
            )
        for tile in blocks:
            out[tile.start : tile.stop] = tile.count(self, step)
        out.flags.writeable = False
        self._per_query[step] = out
        return out

    def counts(self) -> list[int]:
        """Number of attended (query, key) pairs per step."""
        return [int(self.keys_per_query(s).sum()) for s in range(self.num_steps)]

    def validate(self, *, progress: bool = False) -> "Masks":
        """Raise :class:`PatternError` if some step leaves a query with no key; else self."""
        for s in range(self.num_steps):
            per = self.keys_per_query(s, progress=progress)
            if (per == 0).any():
                raise self._empty_row_error(s, int(np.argmin(per)))
        return self

    # -- torch -------------------------------------------------------------------------
    def torch(self, step: int | None = None, device: Any = None) -> Any:
        """Dense masks as a torch bool tensor (same shape rules as :meth:`dense`)."""
        import torch

        return torch.from_numpy(self.dense(step)).to(device)

    def mask_mod(self, step: int, device: Any = None) -> Callable[[Any, Any, Any, Any], Any]:
        """The step (0-based) as a FlexAttention ``mask_mod(b, h, q_idx, kv_idx)``.

        ``q_idx`` and ``kv_idx`` are row-major positions; the function only indexes small
        lookup tensors and applies the expression with torch operators, so it can be
        traced by ``torch.func.vmap`` and compiled.

        >>> import torch
        >>> from ylg.patterns import load_pattern
        >>> m = load_pattern("ltr").on("3x3")
        >>> f = m.mask_mod(0)
        >>> q, k = torch.arange(9)[:, None], torch.arange(9)[None, :]
        >>> bool((f(0, 0, q, k).numpy() == m.dense(0)).all())
        True
        """
        import torch

        self._check_step(step)
        scalars = dict(self.scalars)
        # Query and key tables index any position, so every value lies in its range.
        expr = self.exprs[step].compile(self._ranges, scalars, backend="torch")
        used = self.exprs[step].variables
        tables = {
            name: torch.as_tensor(np.ascontiguousarray(arr, dtype=np.int64), device=device)
            for name, arr in self._tables.items()
            if name in used
        }

        def mask_mod(b: Any, h: Any, q_idx: Any, kv_idx: Any) -> Any:
            env: dict[str, Any] = dict(scalars)
            for name in QUERY_SIDE:
                if name in tables:
                    env[name] = tables[name][q_idx]
            for name in KEY_SIDE:
                if name in tables:
                    env[name] = tables[name][kv_idx]
            out = expr(env)
            both = (q_idx >= 0) & (kv_idx >= 0)
            return both & out

        return mask_mod

    # -- identity and export --------------------------------------------------------
    def meta(self, masks: np.ndarray | None = None) -> dict[str, Any]:
        """What an exported file records next to the masks (sha256 of the dense bytes)."""
        from ylg import __version__

        dense = self.dense() if masks is None else masks
        return {
            "pattern": self.pattern.name,
            "source": self.pattern.to_toml(),
            "params": dict(self.pattern.params),
            "grid": str(self.grid),
            "query_grid": str(self.query_grid),
            "order": self.order,
            "nonsquare": self.nonsquare,
            "stride": self.stride,
            "steps": list(self.pattern.steps),
            "shape": list(dense.shape),
            "ylg_version": __version__,
            "sha256": masks_sha256(dense),
        }

    def save_npz(self, path: "str | os.PathLike[str]") -> dict[str, Any]:
        """Write ``masks`` and ``meta`` (JSON) to an ``.npz`` atomically; return the meta."""
        dense = self.dense()
        meta = self.meta(dense)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, masks=dense, meta=np.array(json.dumps(meta)))
        write_atomic(path, buffer.getvalue())
        return meta


@dataclass(frozen=True)
class _RowTiles:
    """Queries ``start:stop`` of a step: ``cols`` the keys they may attend, ascending
    (the others are proven never attended), ``undecided`` which of those must be
    evaluated (the others are proven attended by every one of the queries); ``None``
    for both: every key, every pair evaluated."""

    start: int
    stop: int
    cols: np.ndarray | None
    undecided: np.ndarray | None

    def _undecided_rows(self, masks: "Masks", step: int) -> np.ndarray:
        assert self.cols is not None and self.undecided is not None
        return masks.rows(step, self.start, self.stop, self.cols[self.undecided])

    def pairs(self, masks: "Masks", step: int) -> tuple[int, int, np.ndarray, np.ndarray]:
        """``(start, stop, row in block, key)`` of every attended pair."""
        if self.cols is None or self.undecided is None:
            return self.start, self.stop, *masks._block_pairs(step, self.start, self.stop)
        block = np.ones((self.stop - self.start, self.cols.size), dtype=bool)
        if self.undecided.any():
            block[:, self.undecided] = self._undecided_rows(masks, step)
        flat = np.flatnonzero(block)
        r = flat // max(1, self.cols.size)
        return self.start, self.stop, r, self.cols[flat - r * self.cols.size]

    def count(self, masks: "Masks", step: int) -> np.ndarray:
        """How many keys each of the queries attends."""
        if self.cols is None or self.undecided is None:
            return masks.rows(step, self.start, self.stop).sum(axis=1)
        decided = int(self.cols.size - self.undecided.sum())
        if not self.undecided.any():
            return np.full(self.stop - self.start, decided, dtype=np.int64)
        return decided + self._undecided_rows(masks, step).sum(axis=1)


def _tile_columns(starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """The key positions of tiles starting at ``starts`` with ``sizes`` keys, in order.

    >>> _tile_columns(np.array([0, 8]), np.array([3, 2])).tolist()
    [0, 1, 2, 8, 9]
    """
    total = int(sizes.sum())
    if not total:
        return np.zeros(0, dtype=np.int64)
    offsets = np.arange(total) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    return np.repeat(starts, sizes) + offsets


def masks_sha256(masks: np.ndarray) -> str:
    """sha256 of a bool mask array's C-order bytes (one byte per entry), with its shape.

    >>> a = np.eye(2, dtype=bool)
    >>> masks_sha256(a) == masks_sha256(a.copy()) != masks_sha256(~a)
    True
    """
    arr = np.ascontiguousarray(masks, dtype=bool)
    digest = hashlib.sha256(json.dumps(list(arr.shape)).encode())
    digest.update(arr.tobytes())
    return digest.hexdigest()


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _human(nbytes: int) -> str:
    size = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"  # pragma: no cover


def _conjuncts(node: Node) -> list[Node]:
    """The clauses of a top-level ``and`` (nested ones flattened); else the node itself."""
    if node.op == "and":
        out: list[Node] = []
        for arg in node.args:
            out.extend(_conjuncts(arg))
        return out
    return [node]


def _variables(node: Node) -> set[str]:
    """The variables a checked expression node uses."""
    if node.op == "var":
        return {node.args[0]}
    out: set[str] = set()
    for arg in node.args:
        if isinstance(arg, Node):
            out |= _variables(arg)
    return out
