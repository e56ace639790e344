"""Reachability and Full Information: does every input reach every output?

Output ``o`` reaches input ``i`` when ``(M_p @ ... @ M_1)[o, i]`` is true (boolean
product). The fast path multiplies packed bit rows (:mod:`ylg.ifg.bits`) from the
cheaper end of the chain, so memory stays at two ``tokens x tokens`` bit matrices
(32 MiB each at 128x128); :func:`full_information_networkx` answers the same
question by graph search, for small graphs and as the reference in the tests.

>>> from ylg.patterns import load_pattern
>>> full_information(load_pattern("ltr").on("8x8")).holds
True
>>> fi = full_information(load_pattern("fixed").on("3x3", order="rowmajor"), examples=2)
>>> fi.holds, fi.missing, fi.examples
(False, 36, [(1, (0, 1), 0, (0, 0)), (2, (0, 2), 0, (0, 0))])
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import scipy.sparse as sp

from ylg.errors import YlgError
from ylg.ifg.bits import distinct_entries, full_row, pack, popcount, propagate, unpack, words
from ylg.ifg.graph import build_graph
from ylg.ifg.layers import layer_grids, step_matrices
from ylg.patterns import Grid, Masks
from ylg.patterns.masks import default_max_dense_bytes

#: One missing pair: (input position, input cell, output position, output cell).
Pair = tuple[int, tuple[int, int], int, tuple[int, int]]


@dataclass(frozen=True)
class Reach:
    """Packed reachability. ``rows_are_outputs``: ``bits[o]`` holds the inputs output
    ``o`` reaches; otherwise ``bits[i]`` holds the outputs input ``i`` reaches."""

    bits: np.ndarray
    rows_are_outputs: bool
    n_inputs: int
    n_outputs: int

    @property
    def row_width(self) -> int:
        """Number of valid bits in each packed row."""
        return self.n_inputs if self.rows_are_outputs else self.n_outputs

    def count(self) -> int:
        """Number of (input, output) pairs with a path."""
        return int(popcount(self.bits).sum())

    def dense(self) -> np.ndarray:
        """Bool ``[n_outputs, n_inputs]``; entry ``[o, i]``: input i reaches output o."""
        out = unpack(self.bits, self.row_width)
        return out if self.rows_are_outputs else np.ascontiguousarray(out.T)

    def missing_pairs(self, limit: int) -> list[tuple[int, int]]:
        """Up to ``limit`` pairs ``(input, output)`` without a path, by output then input."""
        if limit <= 0:
            return []
        found: list[tuple[int, int]] = []
        gaps = self.bits ^ full_row(self.row_width)
        if self.rows_are_outputs:
            for o in np.flatnonzero(gaps.any(axis=1)):
                row = unpack(gaps[o : o + 1], self.n_inputs)[0]
                found += [(int(i), int(o)) for i in np.flatnonzero(row)[: limit - len(found)]]
                if len(found) >= limit:
                    break
            return found
        # Rows are inputs: scan word columns so that outputs come in ascending order.
        for w in np.flatnonzero(gaps.any(axis=0)):
            column = gaps[:, w]
            for bit in range(64):
                rows = np.flatnonzero((column >> np.uint64(bit)) & np.uint64(1))
                found += [(int(i), 64 * int(w) + bit) for i in rows[: limit - len(found)]]
                if len(found) >= limit:
                    return found
        return found


def check_arguments(masks: object, examples: object = 0) -> None:
    """Refuse, with a :class:`YlgError`, what is not a :class:`Masks` or an example count.

    >>> check_arguments("ltr")
    Traceback (most recent call last):
    ...
    ylg.errors.YlgError: expected masks (a pattern laid on a grid: pattern.on("16x16")), not str
    """
    if not isinstance(masks, Masks):
        raise YlgError(
            'expected masks (a pattern laid on a grid: pattern.on("16x16")),'
            f" not {type(masks).__name__}"
        )
    if isinstance(examples, bool) or not isinstance(examples, (int, np.integer)) or examples < 0:
        raise YlgError(f"examples must be a non-negative integer, got {examples!r}")


def check_size(masks: Masks) -> None:
    """Refuse, before any work, a layout whose reachability bits would not fit in half
    the memory (a 256x256 grid needs 1.5 GiB; 512x512 would need 24 GiB)."""
    tokens = max(masks.nq, masks.nk)
    _check_memory(tokens, tokens)


def _check_memory(rows: int, width: int) -> None:
    """Refuse bit matrices that would not fit in half the memory."""
    need = 3 * rows * words(width) * 8
    if need > default_max_dense_bytes():
        raise YlgError(
            f"the reachability bits of {rows} x {width} tokens need {need / 2**30:.1f} GiB,"
            " more than half the memory here; check a smaller grid"
        )


def reach_rows(mats: list[sp.csr_array], *, progress: bool = False) -> np.ndarray:
    """Packed rows, one per token of the last layer, of the inputs it reaches through
    ``mats = [M_1, ..., M_p]``."""
    n_in = mats[0].shape[1]
    bits = pack(mats[0])
    for i, m in enumerate(mats[1:], 2):
        bits = propagate(m, bits, n_in, progress=progress, desc=f"step {i}")
    return bits


def reach_matrices(mats: list[sp.csr_array], *, progress: bool = False) -> Reach:
    """Packed reachability through ``mats = [M_1, ..., M_p]`` (``M_i`` maps layer
    ``i-1``, its columns, to layer ``i``, its rows).

    Multiplies from whichever end gathers fewer words: backwards from ``M_1`` (rows of
    the result are outputs) or forwards from ``M_p`` transposed (rows are inputs),
    counting the rows with one neighbour list once (see :func:`propagate`).
    """
    n_in, n_out = mats[0].shape[1], mats[-1].shape[0]
    _check_memory(max(max(m.shape) for m in mats), max(n_in, n_out))
    # A matrix that comes back (a stack repeating one layer) is looked at once.
    flipped: dict[int, sp.csr_array] = {}
    distinct: dict[int, int] = {}
    for m in mats:
        if id(m) not in flipped:
            flipped[id(m)] = m.T.tocsr()
    transposed = [flipped[id(m)] for m in mats]

    def entries(m: sp.csr_array) -> int:
        if id(m) not in distinct:
            distinct[id(m)] = distinct_entries(m)
        return distinct[id(m)]

    backward = sum(entries(m) for m in mats[1:]) * words(n_in)
    forward = sum(entries(m) for m in transposed[:-1]) * words(n_out)
    if backward <= forward:
        return Reach(reach_rows(mats, progress=progress), True, n_in, n_out)
    bits = pack(transposed[-1])
    for i in range(len(mats) - 2, -1, -1):
        bits = propagate(transposed[i], bits, n_out, progress=progress, desc=f"step {i + 1}")
    return Reach(bits, False, n_in, n_out)


def reachability(masks: Masks, *, progress: bool = False) -> np.ndarray:
    """Bool ``[nq, nk]``: entry ``[o, i]`` is true when input token ``i`` (layer V0)
    reaches output token ``o`` (the last layer).

    >>> from ylg.patterns import load_pattern
    >>> reachability(load_pattern("fixed").on("3x3", order="rowmajor")).astype(int)[:3].tolist()
    [[1, 0, 0, 0, 0, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0, 0, 0, 0], [1, 1, 1, 0, 0, 0, 0, 0, 0]]
    """
    need = masks.nq * masks.nk
    if need > default_max_dense_bytes():
        raise YlgError(
            f"a dense {masks.nq} x {masks.nk} reachability matrix does not fit in memory here;"
            " use full_information() instead"
        )
    return reach_matrices(step_matrices(masks), progress=progress).dense()


@dataclass(frozen=True)
class FullInformation:
    """The verdict of :func:`full_information`.

    ``missing`` counts (input, output) pairs with no path, out of ``pairs``;
    ``examples`` lists some as (input position, input cell, output position, output
    cell), inputs on the key grid and outputs on the query grid, by output then input.
    """

    holds: bool
    missing: int
    pairs: int
    examples: list[Pair]
    seconds: float
    pattern: str = ""
    layout: str = ""
    steps: int = 0
    method: str = field(default="bitsets")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (cells as lists)."""
        out = asdict(self)
        out["property"] = "full information"
        out["examples"] = [
            {"input": i, "input_cell": list(ic), "output": o, "output_cell": list(oc)}
            for i, ic, o, oc in self.examples
        ]
        return out


def _pairs(found: list[tuple[int, int]], inputs: Grid, outputs: Grid) -> list[Pair]:
    return [(i, inputs.cell(i), o, outputs.cell(o)) for i, o in found]


def full_information(masks: Masks, *, examples: int = 5, progress: bool = False) -> FullInformation:
    """Whether every input token reaches every output token, with counts and examples.

    >>> from ylg.patterns import load_pattern
    >>> fi = full_information(load_pattern("rtl").on("16x16", query_grid="32x32"))
    >>> fi.holds, fi.missing, fi.pairs
    (True, 0, 262144)
    """
    check_arguments(masks, examples)
    start = time.perf_counter()
    check_size(masks)
    reach = reach_matrices(step_matrices(masks), progress=progress)
    pairs = masks.nq * masks.nk
    missing = pairs - reach.count()
    grids = layer_grids(masks)
    found = _pairs(reach.missing_pairs(min(examples, missing)), grids[0], grids[-1])
    return FullInformation(
        holds=missing == 0,
        missing=missing,
        pairs=pairs,
        examples=found,
        seconds=time.perf_counter() - start,
        pattern=masks.pattern.name,
        layout=masks.describe(),
        steps=masks.num_steps,
    )


def full_information_networkx(masks: Masks, *, examples: int = 5) -> FullInformation:
    """The same verdict by graph search on :func:`build_graph` (small graphs only).

    >>> from ylg.patterns import load_pattern
    >>> m = load_pattern("fixed").on("3x3", order="rowmajor")
    >>> slow, fast = full_information_networkx(m), full_information(m)
    >>> (slow.missing, slow.examples) == (fast.missing, fast.examples), slow.method
    (True, 'networkx')
    """
    start = time.perf_counter()
    graph = build_graph(masks)
    grids = layer_grids(masks)
    last = masks.num_steps
    reached = np.zeros((masks.nq, masks.nk), dtype=bool)
    for i in range(masks.nk):
        for layer, o in nx.descendants(graph, (0, i)):
            if layer == last:
                reached[o, i] = True
    outputs, inputs = np.nonzero(~reached)
    missing = int(outputs.size)
    found = list(zip(inputs[:examples].tolist(), outputs[:examples].tolist()))
    return FullInformation(
        holds=missing == 0,
        missing=missing,
        pairs=reached.size,
        examples=_pairs(found, grids[0], grids[-1]),
        seconds=time.perf_counter() - start,
        pattern=masks.pattern.name,
        layout=masks.describe(),
        steps=masks.num_steps,
        method="networkx",
    )
