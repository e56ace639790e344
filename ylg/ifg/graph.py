"""The Information Flow Graph of a pattern as a ``networkx.DiGraph``.

Nodes are ``(layer, position)``: ``layer`` 0 is the input tokens ``V0``, ``layer`` p
the outputs ``Vp``; ``position`` is row-major on that layer's grid. Each node carries
its ``layer`` and grid ``cell`` as attributes. There is an edge from ``(i-1, k)`` to
``(i, q)`` when step ``i`` lets query ``q`` attend key ``k``, so information flows
along the edges from the inputs to the outputs, and any networkx algorithm applies.

>>> import networkx as nx
>>> from ylg.patterns import load_pattern
>>> g = build_graph(load_pattern("ltr").on("3x3", order="rowmajor"))
>>> g.number_of_nodes(), g.number_of_edges()
(27, 51)
>>> g.nodes[(2, 5)]["cell"]
(1, 2)
>>> nx.has_path(g, (0, 8), (2, 0))
True
"""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx
import numpy as np
import scipy.sparse as sp

from ylg.ifg.layers import layer_grids, step_matrices
from ylg.patterns import Grid, Masks


def build_graph(masks: Masks) -> nx.DiGraph:
    """The layered DAG of ``masks``: nodes ``(layer, position)`` with ``layer`` and
    ``cell`` attributes, an edge ``(i-1, k) -> (i, q)`` wherever step ``i`` has ``M[q, k]``."""
    return graph_of_steps(step_matrices(masks), layer_grids(masks))


def graph_of_steps(mats: Sequence[sp.csr_array], grids: Sequence[Grid]) -> nx.DiGraph:
    """The layered DAG of any chain of steps ``mats = [M_1, ..., M_p]`` on the layers
    ``grids = [V0 .. Vp]`` (e.g. the steps of several stacked attention layers).

    >>> import scipy.sparse as sp
    >>> from ylg.patterns import Grid
    >>> g = graph_of_steps([sp.csr_array([[1, 1], [0, 1]], dtype=bool)], [Grid(2)] * 2)
    >>> sorted(g.edges), g.nodes[(1, 1)]
    ([((0, 0), (1, 0)), ((0, 1), (1, 0)), ((0, 1), (1, 1))], {'layer': 1, 'cell': (1,)})
    """
    graph = nx.DiGraph()
    for layer, grid in enumerate(grids):
        cells = zip(*grid.coords().tolist())
        graph.add_nodes_from(
            ((layer, pos), {"layer": layer, "cell": tuple(c)}) for pos, c in enumerate(cells)
        )
    for layer, mat in enumerate(mats, 1):
        coo = mat.tocoo()
        graph.add_edges_from(
            zip(
                zip([layer - 1] * coo.nnz, coo.col.astype(np.int64).tolist()),
                zip([layer] * coo.nnz, coo.row.astype(np.int64).tolist()),
            )
        )
    return graph
