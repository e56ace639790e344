"""Information Flow Graphs: verify how information flows through a sparse pattern.

A pattern of ``p`` steps is a layered DAG with layers ``V0 .. Vp``, one vertex per
token per layer, and an edge from key ``k`` of layer ``i-1`` to query ``q`` of layer
``i`` wherever step ``i`` lets ``q`` attend ``k`` (paper, sections 3.1 and 9.5).
Modules: :mod:`~ylg.ifg.graph` (the networkx graph), :mod:`~ylg.ifg.reach`
(reachability, Full Information), :mod:`~ylg.ifg.flow` (max flow between token sets),
:mod:`~ylg.ifg.kflow` (k-token flow), :mod:`~ylg.ifg.repair` (extend a pattern to Full
Information), :mod:`~ylg.ifg.stride` (a stride that tiles the keys),
:mod:`~ylg.ifg.metrics` (counts, locality, hops), :mod:`~ylg.ifg.stack` (a stack of
layers: Full Information across it, receptive fields, the layers needed, max flow;
:mod:`~ylg.ifg.kron` splits it per grid axis).

>>> from ylg.patterns import load_pattern
>>> from ylg.ifg import full_information, k_flow, layers_needed, reachability
>>> full_information(load_pattern("ltr").on("16x16")).holds
True
>>> bool(reachability(load_pattern("fixed").on("4x4")).all())
False
>>> k_flow(load_pattern("star").on("4x4"), 2).min_flow
1
>>> layers_needed(load_pattern("na").on("16x32x32")).layers
10

This package's names are the analyses. The reference implementations (graph search by
networkx, ``*_networkx``) and the formatting live in their modules only
(``ylg.ifg.reach.full_information_networkx``, ``ylg.ifg.metrics.format_table``,
``ylg.ifg.repair.check_grids``); importing those from ``ylg.ifg`` still works until ylg
0.3, with a :class:`DeprecationWarning`.
"""

from ylg.ifg.flow import FlowNetwork, MaxFlow, max_flow
from ylg.ifg.graph import build_graph
from ylg.ifg.kflow import KFlow, k_flow
from ylg.ifg.metrics import Metrics, metrics
from ylg.ifg.reach import FullInformation, full_information, reach_matrices, reachability
from ylg.ifg.repair import Repair, repair
from ylg.ifg.stack import (
    LayersNeeded,
    Stack,
    StackVerdict,
    layers_needed,
    output_reach,
    receptive_field,
    stack_full_information,
    stack_max_flow,
    verify_stack,
)

__all__ = [
    "FlowNetwork",
    "FullInformation",
    "KFlow",
    "LayersNeeded",
    "MaxFlow",
    "Metrics",
    "Repair",
    "Stack",
    "StackVerdict",
    "build_graph",
    "full_information",
    "k_flow",
    "layers_needed",
    "max_flow",
    "metrics",
    "output_reach",
    "reach_matrices",
    "reachability",
    "receptive_field",
    "repair",
    "stack_full_information",
    "stack_max_flow",
    "verify_stack",
]

#: Names ``ylg.ifg`` exported before, now only in their modules (deprecated here).
_MOVED = {
    "full_information_networkx": "ylg.ifg.reach",
    "format_table": "ylg.ifg.metrics",
    "check_grids": "ylg.ifg.repair",
}


def __getattr__(name: str) -> object:
    if name in _MOVED:
        import importlib

        from ylg.deprecation import warn_renamed

        where = _MOVED[name]
        warn_renamed(f"ylg.ifg.{name}", f"{where}.{name}", verb="moved to")
        return getattr(importlib.import_module(where), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
