"""Metrics to compare patterns and enumerations: how many keys, how far, how many hops.

Per step: attended keys per query (min, mean, max), density (the attended fraction of
all query-key pairs) and 2-D locality, the Euclidean grid distance between a query's
cell and the cells of the keys it attends (mean over attended pairs, and max). Per
pattern: Full Information, and the hops to it, the number of steps after which every
input reaches every output when the steps are applied in order and repeated (as
stacked layers would), or ``None`` when repeating never gets there. This is the
quantitative form of the paper's Fig. 3 argument: an enumeration that keeps blocks
compact on the grid (ESA, Hilbert) lowers the distances without changing the counts.

>>> from ylg.patterns import load_pattern
>>> m = metrics(load_pattern("window").on("8x8"))
>>> m.hops, m.steps[0].keys_max, round(m.steps[0].distance_max, 3)
(4, 25, 2.828)
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from ylg.ifg.bits import full_row, pack, propagate
from ylg.ifg.layers import step_matrices
from ylg.ifg.reach import check_size, reach_matrices, reach_rows
from ylg.patterns import Masks
from ylg.tables import text_table

#: Repetitions of the whole pattern tried before the hop count gives up.
MAX_ROUNDS = 64
#: Most word operations the hop count may spend in all (about 25 s on 2 cores; a
#: 16x32x32 video's radial step costs 8e9 a hop).
MAX_WORK = 3 * 10**10


@dataclass(frozen=True)
class StepMetrics:
    """The metrics of one step (``step`` is 1-based)."""

    step: int
    ones: int
    density: float
    keys_min: int
    keys_mean: float
    keys_max: int
    distance_mean: float
    distance_max: float


@dataclass(frozen=True)
class Metrics:
    """The metrics of a pattern on a layout; when ``hops`` is ``None``, ``hops_note``
    says why (see :func:`hops_to_full_information`)."""

    pattern: str
    order: str
    layout: str
    steps: list[StepMetrics]
    full_information: bool
    hops: int | None
    hops_note: str
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def step_metrics(masks: Masks, step: int, mat: sp.csr_array | None = None) -> StepMetrics:
    """Counts, density and locality of step ``step`` (0-based), from its CSR rows
    (``mat``, when the caller has built them already).

    Query cells are scaled onto the key grid when the grids differ; distances are
    Euclidean over every axis of the grid.

    >>> from ylg.patterns import load_pattern
    >>> s = step_metrics(load_pattern("axial").on("4x4"), 0)
    >>> s.keys_mean, s.distance_mean, s.distance_max
    (4.0, 1.25, 3.0)
    """
    mat = masks.csr(step) if mat is None else mat
    per = np.diff(mat.indptr)
    rows = np.repeat(np.arange(masks.nq), per)
    squared = np.zeros(mat.nnz, dtype=np.float64)
    query_coords, key_coords = masks.query_grid.coords(), masks.grid.coords()
    for axis in range(masks.grid.ndim):
        scale = masks.grid.shape[axis] / masks.query_grid.shape[axis]
        gap = query_coords[axis][rows] * scale - key_coords[axis][mat.indices]
        squared += gap * gap
    dist = np.sqrt(squared)
    return StepMetrics(
        step=step + 1,
        ones=int(mat.nnz),
        density=mat.nnz / (masks.nq * masks.nk),
        keys_min=int(per.min()),
        keys_mean=float(per.mean()),
        keys_max=int(per.max()),
        distance_mean=float(dist.mean()),
        distance_max=float(dist.max()),
    )


def hops_to_full_information(
    mats: list[sp.csr_array], *, max_rounds: int = MAX_ROUNDS, max_work: int = MAX_WORK
) -> tuple[int | None, str]:
    """Steps, applied in order and repeated, until every input reaches every output.

    ``mats`` are square steps (the pattern on the key grid). Returns ``(hops, "")``,
    or ``(None, why)``: ``"never"`` when the reachable sets come back to a state seen
    before without being full, ``"more than N"`` after ``max_rounds`` repetitions, or
    ``"too large"`` when the steps so far and one more would cost more than ``max_work``
    word operations in all.

    >>> from ylg.ifg.layers import step_matrices
    >>> from ylg.patterns import load_pattern
    >>> [hops_to_full_information(step_matrices(load_pattern(p).on("8x8")))
    ...  for p in ("dense", "ltr", "fixed")]
    [(1, ''), (2, ''), (None, 'never')]
    """
    n, p = mats[0].shape[1], len(mats)
    for hop in range(1, p + 1):
        if reach_matrices(mats[:hop]).count() == n * n:
            return hop, ""
    bits = reach_rows(mats)
    full = full_row(n)
    seen = {hashlib.sha256(bits.tobytes()).digest()}
    spent = 0
    for hop in range(p + 1, max_rounds * p + 1):
        mat = mats[(hop - 1) % p]
        spent += mat.nnz * bits.shape[1]
        if spent > max_work:
            return None, "too large"
        bits = propagate(mat, bits, n)
        if (bits == full).all():
            return hop, ""
        if hop % p == 0:
            digest = hashlib.sha256(bits.tobytes()).digest()
            if digest in seen:
                return None, "never"
            seen.add(digest)
    return None, f"more than {max_rounds * p}"


def hops_with_last_step(
    inner: list[sp.csr_array], laid: list[sp.csr_array], on_keys: int | None
) -> tuple[int | None, str]:
    """:func:`hops_to_full_information` when the hop that ends is laid on the query
    grid (``laid``, rows not all the key grid's: the direct rule, fewer queries) and
    the hops before it on the key grid (``inner``). ``on_keys`` is the answer on the
    key grid: a hop after a full reach ends full, so it bounds the search.

    >>> from ylg.patterns import Pattern
    >>> cyc = Pattern("cyc", "", ("k == q or k == (q + 1) % n",), nonsquare="direct")
    >>> m = cyc.on("5", query_grid="10")
    >>> inner = step_matrices(m.square_on_keys())
    >>> hops_to_full_information(inner), hops_with_last_step(inner, [m.csr(0)], 4)
    ((4, ''), (5, ''))
    """
    n, p = inner[0].shape[1], len(inner)
    bound = on_keys + 1 if on_keys is not None else MAX_ROUNDS * p
    full = full_row(n)
    state: np.ndarray | None = None  # the reach after the hops on the key grid
    for hop in range(1, bound + 1):
        last = laid[(hop - 1) % p]
        ends = pack(last) if state is None else propagate(last, state, n)
        if (ends == full).all():
            return hop, ""
        step = inner[(hop - 1) % p]
        state = pack(step) if state is None else propagate(step, state, n)
    return None, "never"


def hops_by_axis_groups(masks: Masks) -> tuple[int | None, str]:
    """:func:`hops_to_full_information` of a square ``masks`` whose steps split into
    Kronecker products over groups of grid axes (a window per axis, a frame rule beside
    a spatial one): the reach of every product of steps is then the product of the
    groups' reaches, so the hops are the most any group needs and the work is that of
    the groups' far smaller matrices. One group (nothing splits) is the plain count.

    >>> from ylg.patterns import load_pattern
    >>> hops_by_axis_groups(load_pattern("window").on("4x9x9"))  # radius 1 in time, 2 in space
    (4, '')
    """
    from ylg.ifg.stack import Stack  # the stack planner finds the groups

    answers = [hops_to_full_information(list(mats)) for mats in Stack([masks]).plan().mats]
    missing = [why for hops, why in answers if hops is None]
    if missing:
        return None, "never" if "never" in missing else missing[0]
    return max(hops for hops, _ in answers), ""


def metrics(masks: Masks) -> Metrics:
    """Every metric of ``masks``: one :class:`StepMetrics` per step, and the hops.

    >>> from ylg.patterns import load_pattern
    >>> m = metrics(load_pattern("ltr").on("16x16", order="hilbert"))
    >>> m.full_information, m.hops, [s.ones for s in m.steps]
    (True, 2, [2176, 4336])
    """
    start = time.perf_counter()
    check_size(masks)
    inner = step_matrices(masks.square_on_keys())
    laid = inner if masks.square else [masks.csr(t) for t in range(masks.num_steps)]
    steps = [step_metrics(masks, t, mat) for t, mat in enumerate(laid)]
    hops, why = hops_to_full_information(inner)
    if why == "too large":
        hops, why = hops_by_axis_groups(masks.square_on_keys())
    elif not why.startswith("more"):
        from ylg.ifg.stack import onto_key_grid

        if not onto_key_grid(masks):
            hops, why = hops_with_last_step(inner, laid, hops)
    if masks.square:
        holds = hops is not None and hops <= masks.num_steps
    else:
        holds = reach_matrices([*inner[:-1], laid[-1]]).count() == masks.nq * masks.nk
    return Metrics(
        pattern=masks.pattern.name,
        order=masks.order,
        layout=masks.describe(),
        steps=steps,
        full_information=holds,
        hops=hops,
        hops_note=why,
        seconds=time.perf_counter() - start,
    )


COLUMNS = (
    "pattern",
    "order",
    "step",
    "keys min",
    "mean",
    "max",
    "density",
    "dist mean",
    "max",
    "full info",
    "hops",
)


def table_rows(results: list[Metrics]) -> list[list[str]]:
    """One row of text cells per step of each result, in :data:`COLUMNS` order."""
    rows = []
    for m in results:
        for s in m.steps:
            first = s.step == 1
            rows.append(
                [
                    m.pattern if first else "",
                    m.order if first else "",
                    str(s.step),
                    str(s.keys_min),
                    f"{s.keys_mean:.1f}",
                    str(s.keys_max),
                    f"{s.density:.2%}",
                    f"{s.distance_mean:.2f}",
                    f"{s.distance_max:.2f}",
                    ("yes" if m.full_information else "no") if first else "",
                    (m.hops_note if m.hops is None else str(m.hops)) if first else "",
                ]
            )
    return rows


def format_table(results: list[Metrics], *, markdown: bool = False) -> str:
    """The metrics of several patterns or orders side by side, as text or markdown.

    >>> from ylg.patterns import load_pattern
    >>> print(format_table([metrics(load_pattern("dense").on("2x2"))]))
    pattern  order     step  keys min  mean  max  density  dist mean  max   full info  hops
    dense    rowmajor  1     4         4.0   4    100.00%  0.85       1.41  yes        1
    """
    rows = table_rows(results)
    return text_table(COLUMNS, rows, markdown=markdown)
