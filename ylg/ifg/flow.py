"""Max-flow between token sets, with unit capacity per token per layer.

As in the distributed-storage Information Flow Graphs the paper borrows (section
9.5), every token of every layer is split into an ``in`` and an ``out`` vertex joined
by an edge of capacity 1; the attention edges ``out(i-1, k) -> in(i, q)`` are
unbounded. The max flow from a set of inputs to a set of outputs is then the
largest number of token-disjoint paths between them (Menger), and a minimum cut is
a smallest set of tokens whose removal separates them: the bottleneck.

>>> from ylg.patterns import load_pattern
>>> f = max_flow(load_pattern("star").on("3x3"), [1, 2], [4, 5])
>>> f.value, f.bottleneck
(1, [(1, 0, (0, 0))])
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order, maximum_flow

from ylg.errors import YlgError
from ylg.ifg.layers import layer_grids, step_matrices
from ylg.patterns import Grid, Masks

#: Largest layer (tokens) a flow network is built for.
MAX_FLOW_TOKENS = 1 << 16
#: The most attended pairs (edges) of all steps of one flow network (about 2 GB).
MAX_FLOW_EDGES = 1 << 26

#: A token of the graph: (layer, position, cell).
Token = tuple[int, int, tuple[int, int]]


@dataclass(frozen=True)
class MaxFlow:
    """The answer of :func:`max_flow`: the flow value and a minimum cut.

    ``bottleneck`` lists the tokens of the minimum cut nearest the sources as
    (layer, position, cell); ``len(bottleneck) == value``.
    """

    value: int
    sources: list[int]
    sinks: list[int]
    bottleneck: list[Token]
    seconds: float
    pattern: str = ""
    layout: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "property": "max flow",
            "value": self.value,
            "sources": self.sources,
            "sinks": self.sinks,
            "bottleneck": [
                {"layer": layer, "position": pos, "cell": list(cell)}
                for layer, pos, cell in self.bottleneck
            ],
            "seconds": self.seconds,
            "pattern": self.pattern,
            "layout": self.layout,
        }


def _token_set(values: Iterable[int], grid: Grid, what: str) -> list[int]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise YlgError(f"{what} tokens must be a list of positions, not {type(values).__name__}")
    items = list(values)
    for v in items:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            raise YlgError(f"{what} tokens must be integer positions, got {v!r}")
    out = sorted({int(v) for v in items})
    if not out:
        raise YlgError(f"no {what} tokens given")
    for v in out:
        if not 0 <= v < grid.size:
            raise YlgError(f"{what} token {v} is outside the {grid} grid")
    return out


class FlowNetwork:
    """The vertex-split graph of one layout, built once for many max-flow queries.

    Vertex ``2 t`` is ``in`` and ``2 t + 1`` is ``out`` of token ``t`` (tokens numbered
    layer after layer); a super source feeds every input and every output drains to a
    super sink, with capacity 0 until a query opens the chosen ones.

    >>> from ylg.patterns import load_pattern
    >>> net = FlowNetwork(load_pattern("ltr").on("3x3"))
    >>> net.max_flow([0, 1], [7, 8]).bottleneck     # every path passes V1 token 3
    [(1, 3, (1, 0))]
    >>> net.max_flow([0, 1, 2], [6, 7, 8]).value
    2
    """

    def __init__(self, masks: Masks) -> None:
        if not isinstance(masks, Masks):
            raise YlgError(
                'expected masks (a pattern laid on a grid: pattern.on("16x16")),'
                f" not {type(masks).__name__}"
            )
        if max(masks.nq, masks.nk) > MAX_FLOW_TOKENS:
            raise YlgError(
                f"max flow works on layers of at most {MAX_FLOW_TOKENS} tokens (256x256);"
                f" {masks.describe()} has {max(masks.nq, masks.nk)}"
            )
        self.masks: Masks | None = masks
        self._build(step_matrices(masks), layer_grids(masks), masks.pattern.name, masks.describe())

    @classmethod
    def from_steps(
        cls,
        mats: Sequence[sp.csr_array],
        grids: Sequence[Grid],
        *,
        pattern: str = "",
        layout: str = "",
    ) -> "FlowNetwork":
        """The network of any chain of steps ``mats = [M_1, ..., M_p]`` (``M_i`` maps layer
        ``i-1``, its columns, to layer ``i``, its rows) on the layers ``grids = [V0 .. Vp]``,
        e.g. the steps of several attention layers stacked (:mod:`ylg.ifg.stack`).

        >>> import scipy.sparse as sp
        >>> from ylg.patterns import Grid
        >>> hub = sp.csr_array([[1, 1], [1, 1]], dtype=bool)       # both read both
        >>> net = FlowNetwork.from_steps([hub, sp.eye_array(2, format="csr", dtype=bool)],
        ...                              [Grid(2)] * 3)
        >>> net.max_flow([0, 1], [0, 1]).value
        2
        """
        if not mats or len(grids) != len(mats) + 1:
            raise YlgError(
                f"a flow network needs p >= 1 steps and p + 1 layer grids, got {len(mats)}"
                f" steps and {len(grids)} grids"
            )
        for i, mat in enumerate(mats):
            if mat.shape != (grids[i + 1].size, grids[i].size):
                raise YlgError(
                    f"step {i + 1} has shape {mat.shape}, but maps the {grids[i]} grid to the"
                    f" {grids[i + 1]} grid"
                )
        largest = max(g.size for g in grids)
        if largest > MAX_FLOW_TOKENS:
            raise YlgError(
                f"max flow works on layers of at most {MAX_FLOW_TOKENS} tokens (256x256);"
                f" a layer here has {largest}"
            )
        edges = sum(int(m.nnz) for m in mats)
        if edges > MAX_FLOW_EDGES:
            raise YlgError(
                f"a flow network of {len(mats)} steps has {edges:,} attended pairs, more than"
                f" the {MAX_FLOW_EDGES:,} max flow handles here (a few GB); use fewer layers"
                " or a smaller grid"
            )
        net = cls.__new__(cls)
        net.masks = None
        net._build(list(mats), list(grids), pattern, layout)
        return net

    def _build(
        self, mats: list[sp.csr_array], grids: list[Grid], pattern: str, layout: str
    ) -> None:
        self.pattern, self.layout = pattern, layout
        self.grids = grids
        sizes = [g.size for g in self.grids]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        tokens = int(self.offsets[-1])
        self.source, self.sink = 2 * tokens, 2 * tokens + 1
        self.unbounded = unbounded = tokens + 1  # more than any flow can carry
        rows, cols, caps = [2 * np.arange(tokens)], [2 * np.arange(tokens) + 1], [np.ones(tokens)]
        for layer, mat in enumerate(mats, 1):
            coo = mat.tocoo()
            rows.append(2 * (self.offsets[layer - 1] + coo.col.astype(np.int64)) + 1)
            cols.append(2 * (self.offsets[layer] + coo.row.astype(np.int64)))
            caps.append(np.full(coo.nnz, unbounded))
        first, last = self.offsets[0], self.offsets[-2]
        inputs = np.arange(sizes[0], dtype=np.int64)
        outputs = np.arange(sizes[-1], dtype=np.int64)
        rows += [np.full(sizes[0], self.source), 2 * (last + outputs) + 1]
        cols += [2 * (first + inputs), np.full(sizes[-1], self.sink)]
        caps += [np.zeros(sizes[0]), np.zeros(sizes[-1])]
        n = 2 * tokens + 2
        graph = sp.coo_array(
            (np.concatenate(caps).astype(np.int32), (np.concatenate(rows), np.concatenate(cols))),
            shape=(n, n),
        ).tocsr()
        graph.sort_indices()
        self.graph = graph
        # Where the capacities of the source and sink edges sit in graph.data.
        self._source_slots = graph.indptr[self.source] + inputs
        sink_rows = 2 * (last + outputs) + 1
        self._sink_slots = graph.indptr[sink_rows + 1] - 1

    def token(self, vertex_token: int) -> Token:
        """(layer, position, cell) of a token number."""
        layer = int(np.searchsorted(self.offsets, vertex_token, side="right")) - 1
        pos = int(vertex_token - self.offsets[layer])
        return layer, pos, self.grids[layer].cell(pos)

    def max_flow(self, sources: Iterable[int], sinks: Iterable[int]) -> MaxFlow:
        """Max flow from input positions ``sources`` (layer V0) to output positions
        ``sinks`` (the last layer), with a minimum cut."""
        start = time.perf_counter()
        src = _token_set(sources, self.grids[0], "source")
        dst = _token_set(sinks, self.grids[-1], "sink")
        data = self.graph.data.copy()
        data[self._source_slots[src]] = self.unbounded
        data[self._sink_slots[dst]] = self.unbounded
        caps = sp.csr_array((data, self.graph.indices, self.graph.indptr), shape=self.graph.shape)
        result = maximum_flow(caps, self.source, self.sink)
        residual = (caps - result.flow).tocsr()
        residual.data = (residual.data > 0).astype(np.int8)
        residual.eliminate_zeros()
        reached = np.zeros(caps.shape[0], dtype=bool)
        reached[breadth_first_order(residual, self.source, return_predecessors=False)] = True
        cut = np.flatnonzero(reached[0:-2:2] & ~reached[1:-2:2])
        return MaxFlow(
            value=int(result.flow_value),
            sources=src,
            sinks=dst,
            bottleneck=[self.token(int(t)) for t in cut],
            seconds=time.perf_counter() - start,
            pattern=self.pattern,
            layout=self.layout,
        )


def max_flow(masks: Masks, sources: Iterable[int], sinks: Iterable[int]) -> MaxFlow:
    """Max flow (unit capacity per token per layer) from input positions ``sources`` to
    output positions ``sinks``, and the bottleneck tokens of a minimum cut.

    >>> from ylg.patterns import load_pattern
    >>> max_flow(load_pattern("axial").on("2x2"), [0, 3], [1, 2]).value
    2
    """
    return FlowNetwork(masks).max_flow(sources, sinks)


def split_graph(masks: Masks) -> nx.DiGraph:
    """The vertex-split graph in networkx: nodes ``(layer, position, "in"|"out")``, edge
    ``in -> out`` of capacity 1 for each token, attention edges without a capacity
    (unbounded for networkx's flow functions)."""
    return split_graph_of_steps(step_matrices(masks), layer_grids(masks))


def split_graph_of_steps(mats: Sequence[sp.csr_array], grids: Sequence[Grid]) -> nx.DiGraph:
    """:func:`split_graph` of any chain of steps on the layers ``grids``
    (see :meth:`FlowNetwork.from_steps`)."""
    graph = nx.DiGraph()
    for layer, grid in enumerate(grids):
        for pos in range(grid.size):
            graph.add_edge((layer, pos, "in"), (layer, pos, "out"), capacity=1)
    for layer, mat in enumerate(mats, 1):
        coo = mat.tocoo()
        for q, k in zip(coo.row.tolist(), coo.col.tolist()):
            graph.add_edge((layer - 1, k, "out"), (layer, q, "in"))
    return graph


def max_flow_networkx(masks: Masks, sources: Iterable[int], sinks: Iterable[int]) -> MaxFlow:
    """:func:`max_flow` computed by networkx on :func:`split_graph` (small graphs only).

    >>> from ylg.patterns import load_pattern
    >>> max_flow_networkx(load_pattern("star").on("3x3"), [1, 2], [4, 5]).value
    1
    """
    return max_flow_networkx_of_steps(
        step_matrices(masks),
        layer_grids(masks),
        sources,
        sinks,
        pattern=masks.pattern.name,
        layout=masks.describe(),
    )


def max_flow_networkx_of_steps(
    mats: Sequence[sp.csr_array],
    grids: Sequence[Grid],
    sources: Iterable[int],
    sinks: Iterable[int],
    *,
    pattern: str = "",
    layout: str = "",
) -> MaxFlow:
    """:func:`max_flow_networkx` of any chain of steps on the layers ``grids``."""
    start = time.perf_counter()
    last = len(mats)
    src = _token_set(sources, grids[0], "source")
    dst = _token_set(sinks, grids[-1], "sink")
    graph = split_graph_of_steps(mats, grids)
    for s in src:
        graph.add_edge("source", (0, s, "in"))
    for t in dst:
        graph.add_edge((last, t, "out"), "sink")
    value, (side, _) = nx.minimum_cut(graph, "source", "sink")
    cut = sorted(
        (layer, pos, grids[layer].cell(pos))
        for layer, grid in enumerate(grids)
        for pos in range(grid.size)
        if (layer, pos, "in") in side and (layer, pos, "out") not in side
    )
    return MaxFlow(
        value=int(value),
        sources=src,
        sinks=dst,
        bottleneck=cut,
        seconds=time.perf_counter() - start,
        pattern=pattern,
        layout=layout,
    )
