"""Repair: extend one step of a pattern so that it gains Full Information.

The missing (input, output) pairs are covered greedily by clauses ``or``-ed onto the
chosen step: at each round the clause of :func:`ylg.ifg.templates.clause_family`
that covers the most missing pairs per added position wins; afterwards any clause
the others make redundant is dropped. The family always suffices: its clauses
``k > q``, ``k < q`` and ``k // s == q // s`` together make a step dense, so explicit
single positions are never needed.

Adding positions to step ``j`` covers the pair (i, o) when some new edge ``(q, k)``
has ``k`` reached from ``i`` by the steps before ``j`` and ``o`` reached from ``q`` by
the steps after it. As the clauses use ``q, k, s, n`` only, the result is a pattern
file that every command accepts and that usually carries over to other grid sizes
(check it with :func:`check_grids`).

>>> from ylg.patterns import load_pattern
>>> r = repair(load_pattern("fixed").on("8x8"), step=1)
>>> r.clauses, r.added
(['k % s == s - 1'], 280)
>>> r.pattern.steps[1]
'(k <= q and (k == q or k % s == s - 1)) or k % s == s - 1'
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import scipy.sparse as sp

from ylg.errors import YlgError
from ylg.ifg.bits import full_row, pack, pack_dense, popcount, propagate, unpack
from ylg.ifg.layers import step_matrices
from ylg.ifg.reach import check_size, full_information, reach_rows
from ylg.ifg.templates import clause_family
from ylg.patterns import Grid, Masks, Pattern
from ylg.patterns.expr import MAX_SOURCE_LENGTH
from ylg.progress import progress as progress_bar

#: Largest layer (tokens) a repair is computed on; check larger grids afterwards.
MAX_REPAIR_TOKENS = 1024
#: Largest layer scored by dense matrix products (faster than bits when small).
DENSE_TOKENS = 128


@dataclass(frozen=True)
class Repair:
    """The result of :func:`repair`: the extended pattern and what was added.

    ``step`` is 0-based; ``added`` counts attended positions added on the layout the
    repair was computed on, which had ``missing`` pairs without a path before.
    """

    pattern: Pattern
    original: Pattern
    step: int
    clauses: list[str]
    added: int
    missing: int
    layout: str
    seconds: float
    tried: dict[int, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "pattern": self.pattern.name,
            "original": self.original.name,
            "step": self.step + 1,
            "clauses": self.clauses,
            "added": self.added,
            "missing_before": self.missing,
            "layout": self.layout,
            "seconds": self.seconds,
            "added_by_step": {str(s + 1): a for s, a in self.tried.items()},
        }


@dataclass
class _Candidate:
    clause: str
    new: np.ndarray  # packed added positions [layer-j tokens, words(layer j-1)]
    cover: np.ndarray  # packed missing pairs it covers [outputs, words(inputs)]


def repair(
    masks: Masks,
    *,
    step: int | None = None,
    name: str | None = None,
    progress: bool = False,
) -> Repair:
    """Extend step ``step`` (0-based; ``None``: try each, keep the fewest additions) of
    ``masks.pattern`` until it has Full Information on the layout of ``masks``.

    The new pattern is called ``name`` (default: the old name with ``-fi``) and keeps
    the enumeration and non-square rule of the layout. A step that some input cannot
    reach through the steps before it cannot be repaired (:class:`YlgError`).

    >>> from ylg.patterns import load_pattern
    >>> r = repair(load_pattern("strided").on("8x8"))
    >>> r.step, r.clauses, r.added
    (0, ['q // s == (n - 1) // s and k > q'], 28)
    """
    start = time.perf_counter()
    if max(masks.nq, masks.nk) > MAX_REPAIR_TOKENS:
        raise YlgError(
            f"repairs are computed on layers of at most {MAX_REPAIR_TOKENS} tokens"
            f" (e.g. 32x32); repair on a smaller grid and check larger ones"
        )
    steps = range(masks.num_steps) if step is None else [step]
    for s in steps:
        if not 0 <= s < masks.num_steps:
            raise YlgError(
                f"pattern {masks.pattern.name!r} has {masks.num_steps} step(s); no step {s + 1}"
            )
    before = full_information(masks, examples=0)
    results: dict[int, tuple[list[str], int]] = {}
    errors = []
    for s in steps:
        try:
            clauses = _repair_step(masks, s, progress)
        except YlgError as exc:
            errors.append(str(exc))
            continue
        results[s] = (clauses, _added(masks, _extend(masks.pattern, s, clauses, name, masks), s))
    if not results:
        raise YlgError("; ".join(errors))
    best = min(results, key=lambda s: (results[s][1], s))
    clauses, added = results[best]
    pattern = _extend(masks.pattern, best, clauses, name, masks)
    if not full_information(_relaid(pattern, masks)).holds:
        raise RuntimeError("internal error: the repaired pattern lacks Full Information")
    return Repair(
        pattern=pattern,
        original=masks.pattern,
        step=best,
        clauses=clauses,
        added=added,
        missing=before.missing,
        layout=masks.describe(),
        seconds=time.perf_counter() - start,
        tried={s: a for s, (_, a) in results.items()},
    )


def _relaid(pattern: Pattern, masks: Masks) -> Masks:
    """``pattern`` on the layout of ``masks``."""
    return pattern.on(
        masks.grid,
        query_grid=masks.query_grid,
        order=masks.order,
        nonsquare=masks.nonsquare,
        stride=masks.stride,
    )


def _extend(
    pattern: Pattern, step: int, clauses: list[str], name: str | None, masks: Masks
) -> Pattern:
    """The pattern with ``clauses`` or-ed onto step ``step``, with the enumeration,
    non-square rule and (if it was overridden) the stride of the layout it was made on."""
    steps = list(pattern.steps)
    if clauses:
        parts = [f"({c})" if " and " in c or " or " in c else c for c in clauses]
        steps[step] = " or ".join([f"({steps[step]})", *parts])
        if len(steps[step]) > MAX_SOURCE_LENGTH:
            raise YlgError(
                f"step {step + 1} of the repaired pattern would be longer than"
                f" {MAX_SOURCE_LENGTH} characters ({len(clauses)} clauses)"
            )
    own_stride = pattern.on(masks.grid, query_grid=masks.query_grid).stride
    return pattern.with_steps(
        steps,
        name=name or f"{pattern.name}-fi",
        description=f"{pattern.description} (Full-Information repair of step {step + 1})",
        order=masks.order,
        nonsquare=masks.nonsquare,
        stride=pattern.stride if own_stride == masks.stride else masks.stride,
        notes=f"Made by ylg repair from {pattern.name!r}: clauses or-ed onto step {step + 1}.",
        # The input's own [meta] is kept; what the repair adds is recorded beside it.
        meta={**pattern.meta, "repaired_from": pattern.name, "repaired_step": step + 1},
    )


def with_report(
    result: Repair, checks: list["GridCheck"], *, description: str | None = None
) -> Pattern:
    """The repaired pattern with what the repair did recorded in its ``meta`` table:
    the clauses, the grid it was computed on and, per checked grid, the positions
    added and whether Full Information holds.

    >>> from ylg.patterns import load_pattern
    >>> r = repair(load_pattern("strided").on("4x4"))
    >>> dict(with_report(r, check_grids(r, ["8x8"])).meta)["added_positions"]
    ['8x8: 28 added to the 484 of step 1']
    """
    meta = dict(result.pattern.meta)
    meta["repaired_on"] = result.layout
    meta["clauses"] = list(result.clauses)
    meta["added_positions"] = [
        f"{c.grid}: {c.added} added to the {c.original} of step {result.step + 1}" for c in checks
    ]
    meta["full_information_on"] = [c.grid for c in checks if c.holds]
    lacking = [c.grid for c in checks if not c.holds]
    if lacking:
        meta["lacks_full_information_on"] = lacking
    changes: dict[str, Any] = {"meta": meta}
    if description is not None:
        changes["description"] = description
    return result.pattern.with_steps(result.pattern.steps, **changes)


def _added(masks: Masks, extended: Pattern, step: int) -> int:
    """Positions the extension adds to ``step`` of the masks as laid on ``masks``'s layout
    (for inner steps of a non-square layout: on the query grid, as attention runs them)."""
    before = int(masks.keys_per_query(step).sum())
    after = int(_relaid(extended, masks).keys_per_query(step).sum())
    return after - before


def _identity(n: int) -> np.ndarray:
    return pack(sp.identity(n, dtype=bool, format="csr"))


def _repair_step(masks: Masks, j: int, progress: bool) -> list[str]:
    """The clauses that give Full Information when or-ed onto step ``j``."""
    mats = step_matrices(masks)
    n_in = mats[0].shape[1]
    layout = masks if j == len(mats) - 1 else masks.square_on_keys()
    pre = reach_rows(mats[:j]) if j > 0 else _identity(n_in)
    missing = reach_rows(mats) ^ full_row(n_in)
    if not missing.any():
        return []
    reached = np.bitwise_or.reduce(pre, axis=0)
    if (reached != full_row(n_in)).any():
        lost = int(np.flatnonzero(unpack(reached[None, :], n_in)[0] == 0)[0])
        raise YlgError(
            f"step {j + 1} cannot be repaired: input {lost} reaches no token of layer {j}"
        )
    existing = mats[j].toarray()
    candidates = _candidates(layout, j, existing, _coverage(mats, j, pre, missing), progress)
    chosen: list[_Candidate] = []
    remaining = missing.copy()
    added = np.zeros_like(pack(sp.csr_array(existing)))
    while remaining.any():
        best = _best(candidates, remaining, added)
        if best is None:  # the family's k > q, k < q and same-block clauses cover all
            raise RuntimeError("internal error: no clause covers the remaining pairs")
        chosen.append(best)
        remaining &= ~best.cover
        added |= best.new
    return [c.clause for c in _drop_redundant(chosen, missing)]


def _coverage(
    mats: list[sp.csr_array], j: int, pre: np.ndarray, missing: np.ndarray
) -> Callable[[np.ndarray], np.ndarray]:
    """A function from positions added to step ``j`` (dense bool) to the missing pairs
    they give a path (packed rows of outputs): small layouts by dense products, larger
    ones on packed bits."""
    n_in = mats[0].shape[1]
    if max(max(m.shape) for m in mats) > DENSE_TOKENS:

        def on_bits(new: np.ndarray) -> np.ndarray:
            bits = propagate(sp.csr_array(new), pre, n_in)
            for m in mats[j + 1 :]:
                bits = propagate(m, bits, n_in)
            return bits & missing

        return on_bits
    before = unpack(pre, n_in).astype(np.float32)
    after = np.identity(mats[j].shape[0], dtype=np.float32)
    for m in mats[j + 1 :]:
        after = np.minimum(m.toarray().astype(np.float32) @ after, 1)
    wanted = unpack(missing, n_in)

    def dense(new: np.ndarray) -> np.ndarray:
        paths = after @ (new.astype(np.float32) @ before)
        return pack_dense((paths > 0) & wanted)

    return dense


def _candidates(
    layout: Masks,
    j: int,
    existing: np.ndarray,
    cover: Callable[[np.ndarray], np.ndarray],
    progress: bool,
) -> list[_Candidate]:
    """Every distinct clause of the family that adds positions covering missing pairs."""
    family = clause_family()
    atoms = sorted({a for clause in family for a in clause.split(" and ")})
    atom_masks = _evaluate(layout, atoms)
    out: list[_Candidate] = []
    seen: set[bytes] = set()
    clauses: Iterable[str] = family
    if progress:
        clauses = progress_bar(family, desc=f"step {j + 1} clauses", unit="clause", leave=False)
    for clause in clauses:
        mask = np.logical_and.reduce([atom_masks[a] for a in clause.split(" and ")])
        new = mask & ~existing
        key = np.packbits(new).tobytes()
        if key in seen or not new.any():
            continue
        seen.add(key)
        covered = cover(new)
        if covered.any():
            out.append(_Candidate(clause, pack_dense(new), covered))
    return out


def _evaluate(layout: Masks, clauses: list[str]) -> dict[str, np.ndarray]:
    """Dense masks of ``clauses`` on ``layout`` (rows may be empty, unlike a pattern's)."""
    probe = layout.pattern.with_steps(clauses, name="repair-probe")
    probe_masks = Masks(probe, layout.layout)
    return {c: probe_masks.rows(t, 0, probe_masks.nq) for t, c in enumerate(clauses)}


def _total(bits: np.ndarray) -> int:
    return int(popcount(bits).sum())


def _best(
    candidates: list[_Candidate], remaining: np.ndarray, added: np.ndarray
) -> _Candidate | None:
    """The candidate with the most newly covered pairs per newly added position."""
    best, best_key = None, None
    for cand in candidates:
        gain = _total(cand.cover & remaining)
        if gain == 0:
            continue
        cost = _total(cand.new & ~added)
        key = (Fraction(gain, cost), -cand.clause.count(" and "), gain)
        if best_key is None or key > best_key:
            best, best_key = cand, key
    return best


def _drop_redundant(chosen: list[_Candidate], missing: np.ndarray) -> list[_Candidate]:
    """Drop, earliest first, every clause whose pairs the other clauses also cover."""
    kept = list(chosen)
    for cand in list(chosen):
        others = [c for c in kept if c is not cand]
        union = np.zeros_like(missing)
        for c in others:
            union |= c.cover
        if others and not (missing & ~union).any():
            kept = others
    return kept


@dataclass(frozen=True)
class GridCheck:
    """Full Information and added positions of a repaired pattern on one grid."""

    grid: str
    holds: bool
    added: int
    original: int
    tokens: int
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "grid": self.grid,
            "holds": self.holds,
            "added": self.added,
            "original": self.original,
            "tokens": self.tokens,
            "seconds": self.seconds,
        }


def laid_checked(
    pattern: Pattern, grids: Iterable["str | Grid"], *, order: str | None = None
) -> list[Masks]:
    """``pattern`` laid on each grid, a grid whose check would not fit in memory refused
    (:func:`ylg.ifg.reach.check_size`) before any of them is checked.

    >>> from ylg.patterns import load_pattern
    >>> [m.nk for m in laid_checked(load_pattern("ltr"), ["4x4", "8x8"])]
    [16, 64]
    """
    laid = [pattern.on(grid, order=order) for grid in grids]
    for masks in laid:
        check_size(masks)
    return laid


def check_grids(
    repaired: Repair, grids: Iterable["str | Grid"], *, order: str | None = None
) -> list[GridCheck]:
    """Full Information of the repaired pattern, and the positions its repair adds, on
    each (square layout) grid.

    >>> from ylg.patterns import load_pattern
    >>> r = repair(load_pattern("strided").on("8x8"))
    >>> [(c.grid, c.holds, c.added) for c in check_grids(r, ["4x4", "16x16"])]
    [('4x4', True, 6), ('16x16', True, 120)]
    """
    # The positions before are counted at the stride the repaired pattern has (a stride
    # given on the command line is written into it).
    original = repaired.original.with_stride(repaired.pattern.stride)
    grids = list(grids)
    out = []
    for new, grid in zip(laid_checked(repaired.pattern, grids, order=order), grids):
        start = time.perf_counter()
        old = original.on(grid, order=order)
        before = int(old.keys_per_query(repaired.step).sum())
        after = int(new.keys_per_query(repaired.step).sum())
        holds = full_information(new).holds
        out.append(
            GridCheck(
                str(new.grid), holds, after - before, before, new.nk, time.perf_counter() - start
            )
        )
    return out
