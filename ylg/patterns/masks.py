"""Masks: a pattern laid on concrete query and key grids.

``M[step, q, k]`` is true when query ``q`` may attend key ``k`` in that step; ``q``
and ``k`` are row-major positions on the query and key grids. Every output (dense
numpy, scipy CSR, torch, the FlexAttention ``mask_mod``) comes from one evaluation
of the step expressions, vectorised over blocks of query rows.

The variables a step sees for query position ``x`` and key position ``y``:
``k = rank[y]`` (the key cell's place in the enumeration), ``ki, kj`` its grid cell;
``q, qi, qj`` the same for the key-grid cell that query ``x`` behaves as under the
non-square rule (on a square layout, ``x`` itself). Hence
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
import zipfile
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from ylg.errors import PatternError
from ylg.fileio import write_atomic
from ylg.patterns.enumerations import ORDERS, enumeration, ranks
from ylg.patterns.expr import Expr
from ylg.patterns.grid import NONSQUARE_RULES, Grid

if TYPE_CHECKING:
    import scipy.sparse as sp

    from ylg.patterns.pattern import Pattern

#: Elements per evaluated block (query rows x keys). Small blocks keep the temporaries
#: in cache and reuse freed memory instead of page-faulting fresh allocations (the best
#: of 2**14..2**21 measured on the 128x128 LTR mask).
BLOCK_ELEMENTS = 1 << 17


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


class Masks:
    """The masks of one pattern on one layout. Build with :meth:`Pattern.on`.

    >>> from ylg.patterns import load_pattern
    >>> m = load_pattern("rtl").on("16x16", query_grid="32x32")
    >>> m.shape, m.stride
    ((2, 1024, 256), 16)
    """

    def __init__(
        self,
        pattern: Pattern,
        grid: Grid,
        query_grid: Grid | None = None,
        *,
        order: str | None = None,
        nonsquare: str | None = None,
        stride: int | None = None,
    ) -> None:
        self.pattern = pattern
        self.grid = grid
        self.query_grid = query_grid or grid
        self.order = order or pattern.order
        self.nonsquare = nonsquare or pattern.nonsquare
        if self.order not in ORDERS:
            raise PatternError(f"unknown order {self.order!r} (known: {', '.join(ORDERS)})")
        if self.nonsquare not in NONSQUARE_RULES:
            raise PatternError(
                f"unknown nonsquare rule {self.nonsquare!r} (known: {', '.join(NONSQUARE_RULES)})"
            )
        self.exprs: tuple[Expr, ...] = pattern.step_exprs
        check_layout_memory(grid, None if self.query_grid == grid else self.query_grid)
        h, w = grid.height, grid.width
        hq, wq = self.query_grid.height, self.query_grid.width
        sizes = {"n": h * w, "nq": hq * wq, "h": h, "w": w, "hq": hq, "wq": wq}
        if stride is None:
            stride = pattern.stride_expr.evaluate(sizes)
        if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride < 1:
            raise PatternError(f"the stride must be a positive integer, got {stride!r}")
        self.stride = int(stride)
        self.scalars: dict[str, int] = {**sizes, "s": self.stride}

        # Key side: enumeration rank and grid cell of every row-major key position.
        self.key_rank = ranks(self.order, h, w)
        self.key_row = grid.rows()
        self.key_col = grid.cols()
        # Query side: what the predicate sees as q, qi, qj for each query position.
        if self.nonsquare == "direct":
            self.query_rank = ranks(self.order, hq, wq)
            self.query_row = self.query_grid.rows()
            self.query_col = self.query_grid.cols()
        else:
            target = self.query_to_key()
            self.query_rank = self.key_rank[target]
            self.query_row = self.key_row[target]
            self.query_col = self.key_col[target]
        ranges = {
            "q": (0, max(h * w, hq * wq) - 1),
            "k": (0, h * w - 1),
            "qi": (0, max(h, hq) - 1),
            "qj": (0, max(w, wq) - 1),
            "ki": (0, h - 1),
            "kj": (0, w - 1),
            **{name: (v, v) for name, v in self.scalars.items()},
        }
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
        self._compiled: dict[int, Callable[[dict[str, Any]], Any]] = {}
        self._tables = {
            name: arr.astype(self._dtype)
            for name, arr in (
                ("q", self.query_rank),
                ("qi", self.query_row),
                ("qj", self.query_col),
                ("k", self.key_rank),
                ("ki", self.key_row),
                ("kj", self.key_col),
            )
        }

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_compiled": {}}  # compiled steps are remade on use

    # -- layout ----------------------------------------------------------------------
    @property
    def num_steps(self) -> int:
        """Number of steps."""
        return len(self.exprs)

    @property
    def nq(self) -> int:
        """Number of query positions."""
        return self.query_grid.size

    @property
    def nk(self) -> int:
        """Number of key positions."""
        return self.grid.size

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(steps, nq, nk)``."""
        return (self.num_steps, self.nq, self.nk)

    @property
    def square(self) -> bool:
        """Whether queries and keys live on the same grid."""
        return self.query_grid == self.grid

    def query_to_key(self) -> np.ndarray:
        """Key-grid position that each query position behaves as (not for ``direct``).

        >>> from ylg.patterns import load_pattern
        >>> load_pattern("ltr").on("2x2", query_grid="4x4", nonsquare="spatial").query_to_key()[:8]
        array([0, 0, 1, 1, 0, 0, 1, 1])
        """
        h, w = self.grid.height, self.grid.width
        hq, wq = self.query_grid.height, self.query_grid.width
        qrow, qcol = self.query_grid.rows(), self.query_grid.cols()
        if self.nonsquare == "repeat":
            return np.arange(hq * wq, dtype=np.int64) % (h * w)
        if self.nonsquare == "tile":
            return (qrow % h) * w + (qcol % w)
        if self.nonsquare == "spatial":
            return (qrow * h // hq) * w + (qcol * w // wq)
        raise PatternError("the 'direct' rule maps no query onto the key grid")

    def square_on_keys(self) -> "Masks":
        """The same pattern on the key grid alone (queries = keys), e.g. for inner IFG layers."""
        if self.square:
            return self
        return Masks(self.pattern, self.grid, order=self.order, stride=self.stride)

    def enumeration(self) -> np.ndarray:
        """``pi`` on the key grid: ``pi[a]`` is the row-major position of the a-th cell."""
        return enumeration(self.order, self.grid.height, self.grid.width)

    # -- evaluation ------------------------------------------------------------------
    def _env(self, start: int, stop: int) -> dict[str, Any]:
        env: dict[str, Any] = dict(self.scalars)
        for name in ("q", "qi", "qj"):
            env[name] = self._tables[name][start:stop, None]
        for name in ("k", "ki", "kj"):
            env[name] = self._tables[name][None, :]
        return env

    def _evaluator(self, step: int) -> Callable[[dict[str, Any]], Any]:
        """The step's expression made once for this layout: divisions whose divisor the
        variables' ranges keep from zero are not guarded, and what depends on the keys
        alone (``k % s == s - 1``) is computed once, not in every block."""
        fn = self._compiled.get(step)
        if fn is None:
            constants: dict[str, Any] = dict(self.scalars)
            for name in ("k", "ki", "kj"):
                constants[name] = self._tables[name][None, :]
            fn = self._compiled[step] = self.exprs[step].compile(self._ranges, constants)
        return fn

    def rows(self, step: int, start: int, stop: int) -> np.ndarray:
        """Mask rows ``start:stop`` of one step (0-based), as a bool array ``[stop-start, nk]``.

        >>> from ylg.patterns import load_pattern
        >>> load_pattern("ltr").on("2x2", order="rowmajor").rows(0, 0, 2).astype(int).tolist()
        [[1, 0, 0, 0], [1, 1, 0, 0]]
        """
        self._check_step(step)
        try:
            out = self._evaluator(step)(self._env(start, stop))
        except PatternError as exc:
            raise PatternError(f"pattern {self.pattern.name!r}, step {step + 1}: {exc}") from None
        shape = (stop - start, self.nk)
        if not isinstance(out, np.ndarray) or out.shape != shape:
            out = np.broadcast_to(np.asarray(out, dtype=bool), shape)
        return out

    def _blocks(self) -> Iterator[tuple[int, int]]:
        rows = max(1, BLOCK_ELEMENTS // max(1, self.nk))
        for start in range(0, self.nq, rows):
            yield start, min(self.nq, start + rows)

    def _check_step(self, step: int) -> None:
        if not 0 <= step < self.num_steps:
            raise PatternError(
                f"pattern {self.pattern.name!r} has {self.num_steps} step(s); no step {step + 1}"
            )

    def _empty_row_error(self, step: int, row: int) -> PatternError:
        cell = self.query_grid.cell(row)
        return PatternError(
            f"pattern {self.pattern.name!r}, step {step + 1} leaves query {row} (cell {cell})"
            f" with no key to attend on the {self.describe()} layout"
        )

    def describe(self) -> str:
        """A short text of the layout, like ``16x16 keys, 32x32 queries (repeat), esa, s=16``."""
        text = f"{self.grid}"
        if not self.square:
            text += f" keys, {self.query_grid} queries ({self.nonsquare})"
        return f"{text}, {self.order}, s={self.stride}"

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
                block = out[slot, start:stop]
                block[...] = self.rows(s, start, stop)
                empty = ~block.any(axis=1)
                if empty.any():
                    raise self._empty_row_error(s, start + int(np.argmax(empty)))
        return out if step is None else out[0]

    def csr(self, step: int) -> sp.csr_array:
        """One step (0-based) as a scipy CSR boolean array ``[nq, nk]``, built block by block
        so that large grids never hold the dense mask."""
        import scipy.sparse as sp

        self._check_step(step)
        indptr = [np.zeros(1, dtype=np.int64)]
        indices = []
        total = 0
        for start, stop in self._blocks():
            flat = np.flatnonzero(self.rows(step, start, stop))  # much faster than 2-D nonzero
            r = flat // self.nk
            c = flat - r * self.nk
            counts = np.bincount(r, minlength=stop - start)
            if (counts == 0).any():
                raise self._empty_row_error(step, start + int(np.argmin(counts)))
            indices.append(c.astype(np.int64))
            indptr.append(total + np.cumsum(counts))
            total += int(counts.sum())
        data = np.ones(total, dtype=bool)
        return sp.csr_array(
            (data, np.concatenate(indices), np.concatenate(indptr)), shape=(self.nq, self.nk)
        )

    def csr_all(self) -> list[sp.csr_array]:
        """Every step as CSR."""
        return [self.csr(s) for s in range(self.num_steps)]

    def keys_per_query(self, step: int) -> np.ndarray:
        """Number of keys each query attends in one step (0-based)."""
        self._check_step(step)
        out = np.empty(self.nq, dtype=np.int64)
        for start, stop in self._blocks():
            out[start:stop] = self.rows(step, start, stop).sum(axis=1)
        return out

    def counts(self) -> list[int]:
        """Number of attended (query, key) pairs per step."""
        return [int(self.keys_per_query(s).sum()) for s in range(self.num_steps)]

    def validate(self) -> "Masks":
        """Raise :class:`PatternError` if some step leaves a query with no key; else self."""
        for s in range(self.num_steps):
            per = self.keys_per_query(s)
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
        tables = {
            name: torch.as_tensor(np.ascontiguousarray(arr), device=device)
            for name, arr in (
                ("q", self.query_rank),
                ("qi", self.query_row),
                ("qj", self.query_col),
                ("k", self.key_rank),
                ("ki", self.key_row),
                ("kj", self.key_col),
            )
        }

        def mask_mod(b: Any, h: Any, q_idx: Any, kv_idx: Any) -> Any:
            env: dict[str, Any] = dict(scalars)
            for name in ("q", "qi", "qj"):
                env[name] = tables[name][q_idx]
            for name in ("k", "ki", "kj"):
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


def load_npz(path: "str | os.PathLike[str]") -> tuple[np.ndarray, dict[str, Any]]:
    """Read an exported ``.npz``; check its sha256. Returns ``(masks, meta)``."""
    try:
        with np.load(path, allow_pickle=False) as data:
            masks = data["masks"]
            meta = json.loads(str(data["meta"]))
    except (OSError, KeyError, ValueError, EOFError, MemoryError, zipfile.BadZipFile) as exc:
        raise PatternError(f"{path}: not a ylg mask file ({_one_line(exc)})") from None
    if not isinstance(meta, dict):
        raise PatternError(f"{path}: not a ylg mask file (its meta is not a JSON object)")
    if masks.dtype != bool or masks.ndim != 3:
        raise PatternError(f"{path}: 'masks' must be a bool array [steps, nq, nk]")
    if masks_sha256(masks) != meta.get("sha256"):
        raise PatternError(f"{path}: sha256 of the masks does not match the one recorded")
    return masks, meta


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
