"""Verification across layers: Full Information, receptive fields and max flow of a stack.

A model is a stack of attention layers, each one pattern laid on a layout (a
:class:`~ylg.patterns.Masks`) with its steps. Its Information Flow Graph chains the
layers: the steps of layer 1, then those of layer 2, ..., one graph layer per step, as
:mod:`ylg.ifg.layers` does for one pattern. Consecutive layers meet on one grid (the
key grid of a layer is the query grid of the one before; a layer on a non-square layout
ends on its query grid, so only a last layer, or one followed by a layer on that grid,
can be non-square).

- :func:`stack_full_information`: does every input reach every output after the stack?
- :func:`receptive_field`: how many inputs reach each output (the receptive-field map).
- :func:`layers_needed`: how many layers of a pattern (or of a cycle of patterns, e.g.
  alternating dilations) give Full Information, or ``None`` when none do.
- :func:`output_reach`: the inputs one output reads after 1, 2, ... layers.
- :func:`stack_max_flow`: max flow between token sets across the whole stack.

The products run on packed bits (:mod:`ylg.ifg.bits`). When every step acts on groups
of grid axes independently (a window or dilation per axis: see :mod:`ylg.ifg.kron`),
the reach is the Kronecker product of per-group reaches and a ``16x32x32`` video grid
costs three chains of 16, 32 and 32 tokens. Steps are split into groups from the
``axis_factors`` of the masks where they offer them, and otherwise from their stored
entries (exactly). The ``*_networkx`` functions answer the same questions by graph
search, for small cases and as references in the tests.

>>> from ylg.patterns import load_pattern
>>> window = load_pattern("window").on("8x8")       # radius s // 4 = 2: 5x5 cells
>>> stack_full_information([window] * 3).holds
False
>>> layers_needed(window).layers
4
>>> receptive_field([window] * 2).reshape(8, 8)[0].tolist()
[25, 30, 35, 40, 40, 35, 30, 25]
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import networkx as nx
import numpy as np
import scipy.sparse as sp

from ylg.errors import YlgError
from ylg.ifg.bits import pack, pack_dense, propagate, unpack
from ylg.ifg.flow import FlowNetwork, MaxFlow, max_flow_networkx_of_steps
from ylg.ifg.graph import graph_of_steps
from ylg.ifg.kron import (
    KroneckerReach,
    clean,
    factors,
    is_full,
    kron_all,
    separable_cuts,
)
from ylg.ifg.reach import FullInformation, Reach, full_information, reach_matrices
from ylg.patterns import Grid, Masks
from ylg.patterns.expr import QUERY_SIZE_VARIABLES
from ylg.progress import progress as progress_bar

#: Layers :func:`layers_needed` tries before it gives up.
DEFAULT_MAX_LAYERS = 256
#: Most layers a stack (or :func:`layers_needed`) may have.
MAX_LAYERS = 1 << 16
#: Groups of axes with at most this many cells are multiplied as dense matrices.
DENSE_GROUP = 256
#: The ways to compute reach: ``auto`` (Kronecker where the steps allow it, dense
#: products for small groups, else packed bits), ``bitsets`` (packed bits on the whole
#: grid, never split: the general path).
METHODS = ("auto", "bitsets")


# -- the stack -------------------------------------------------------------------------


def check_layers(layers: object) -> list[Masks]:
    """The layers of a stack as a list of :class:`Masks`, checked: at least one, each a
    pattern laid on a layout, consecutive ones meeting on one grid.

    >>> from ylg.patterns import load_pattern
    >>> len(check_layers(load_pattern("ltr").on("4x4")))
    1
    >>> check_layers([load_pattern("ltr").on("4x4"), load_pattern("ltr").on("8x8")])
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ylg.errors.YlgError: layer 2 reads the 8x8 grid but layer 1 writes the 4x4 grid; ...
    """
    if isinstance(layers, Masks):
        return [layers]
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Iterable):
        raise YlgError(
            "expected a stack of layers: a list of masks (a pattern laid on a grid:"
            f' pattern.on("16x16")), not {type(layers).__name__}'
        )
    out = list(layers)
    if not out:
        raise YlgError("a stack needs at least one layer")
    if len(out) > MAX_LAYERS:
        raise YlgError(f"a stack has at most {MAX_LAYERS} layers, not {len(out)}")
    for i, masks in enumerate(out, 1):
        if not isinstance(masks, Masks):
            raise YlgError(
                f"layer {i} is a {type(masks).__name__}, not masks (a pattern laid on a grid:"
                ' pattern.on("16x16"))'
            )
    for i in range(1, len(out)):
        if out[i].grid != out[i - 1].query_grid:
            raise YlgError(
                f"layer {i + 1} reads the {out[i].grid} grid but layer {i} writes the"
                f" {out[i - 1].query_grid} grid; consecutive layers must meet on one grid"
            )
    return out


def describe_layers(layers: Sequence[Masks]) -> str:
    """A short name of a stack: its patterns, runs of one pattern written once, and the
    parameters of a pattern where the stack uses it with different ones.

    >>> from ylg.patterns import Pattern, load_pattern
    >>> a, b = load_pattern("ltr").on("4x4"), load_pattern("rtl").on("4x4")
    >>> describe_layers([a, a, b, a])
    'ltr x2, rtl, ltr'
    >>> band = Pattern("band", "", ("abs(qj - kj) <= r",), params={"r": 1})
    >>> describe_layers([band.on("8"), band.with_params(r=2).on("8")])
    'band(r=1), band(r=2)'
    """
    variants: dict[str, set[tuple[tuple[str, int], ...]]] = {}
    for m in layers:
        variants.setdefault(m.pattern.name, set()).add(tuple(m.pattern.params.items()))
    runs: list[list[Any]] = []
    for m in layers:
        name = m.pattern.name
        if len(variants[name]) > 1:
            name += "(" + ",".join(f"{k}={v}" for k, v in m.pattern.params.items()) + ")"
        if runs and runs[-1][0] == name:
            runs[-1][1] += 1
        else:
            runs.append([name, 1])
    return ", ".join(name if count == 1 else f"{name} x{count}" for name, count in runs)


def describe_layouts(layers: Sequence[Masks]) -> str:
    """The layout of a stack: the first layer's, or the distinct ones in order."""
    seen = list(dict.fromkeys(m.layout.describe() for m in layers))
    return seen[0] if len(seen) == 1 else "; ".join(seen)


@dataclass(frozen=True)
class Plan:
    """How a stack's reach is computed: the grid axes split into groups at ``bounds``
    (``(0, D)``: one group, the whole grid) and each step's matrix on each group,
    ``mats[g][t]``."""

    bounds: tuple[int, ...]
    mats: tuple[tuple[sp.csr_array, ...], ...]

    @property
    def method(self) -> str:
        """``kronecker`` when the grid is split, else ``bitsets``."""
        return "kronecker" if len(self.mats) > 1 else "bitsets"

    @property
    def groups(self) -> int:
        """Number of groups of axes."""
        return len(self.mats)


class Stack:
    """A stack of layers, checked once, with each step's matrix and per-axis factors
    built once and kept for every question asked of it (the functions of this module
    take a :class:`Stack` or a list of masks).

    >>> from ylg.patterns import load_pattern
    >>> s = Stack([load_pattern("ltr").on("4x4")] * 3)
    >>> len(s.layers), s.num_steps, [str(g) for g in s.grids[:2]], s.name
    (3, 6, ['4x4', '4x4'], 'ltr x3')
    """

    def __init__(
        self,
        layers: "Masks | Sequence[Masks]",
        *,
        name: str | None = None,
        share: "Stack | None" = None,
    ) -> None:
        self.layers: tuple[Masks, ...] = tuple(check_layers(layers))
        self.name = name or describe_layers(self.layers)
        self.layout = describe_layouts(self.layers)
        inner: dict[int, Masks] = {}
        #: Per step: (the masks it is evaluated on, its step index there, its layer).
        self.steps: list[tuple[Masks, int, int]] = []
        for layer, m in enumerate(self.layers):
            square = inner.setdefault(id(m), m.square_on_keys())
            for t in range(m.num_steps):
                self.steps.append((square if t < m.num_steps - 1 else m, t, layer))
        #: The grid of each graph layer ``V0 .. Vp`` (p: steps of all layers).
        self.grids: list[Grid] = [self.layers[0].grid]
        self.grids += [source.query_grid for source, _, _ in self.steps]
        # Keyed by (id of the masks, step); the masks are kept in the value, so an id is
        # never reused while its entry lives. ``share``: another stack's, for the same masks.
        self._csr: dict[tuple[int, int], tuple[Masks, sp.csr_array]] = (
            share._csr if share is not None else {}
        )
        self._factors: dict[tuple[int, int], tuple[Masks, tuple[sp.csr_array, ...] | None]] = (
            share._factors if share is not None else {}
        )
        self._cuts: dict[tuple[int, int], tuple[Masks, frozenset[int]]] = (
            share._cuts if share is not None else {}
        )
        self._plans: dict[str, Plan] = {}

    @property
    def num_steps(self) -> int:
        """Steps of all layers together (graph layers ``V1 .. Vp``)."""
        return len(self.steps)

    @property
    def layer_ends(self) -> list[int]:
        """For each layer, the number of steps up to its end (1-based graph layer of its
        outputs)."""
        ends, total = [], 0
        for m in self.layers:
            total += m.num_steps
            ends.append(total)
        return ends

    def csr(self, i: int) -> sp.csr_array:
        """The boolean matrix of step ``i`` (0-based over the whole stack)."""
        source, t, _ = self.steps[i]
        key = (id(source), t)
        if key not in self._csr:
            found = self.axis_factors(i)
            self._csr[key] = (source, kron_all(found) if found is not None else source.csr(t))
        return self._csr[key][1]

    def axis_factors(self, i: int) -> tuple[sp.csr_array, ...] | None:
        """The per-axis factors of step ``i`` that its masks offer (``Masks.axis_factors``),
        checked against the grids; ``None`` where they offer none."""
        source, t, _ = self.steps[i]
        key = (id(source), t)
        if key not in self._factors:
            self._factors[key] = (source, _offered_factors(source, t))
        return self._factors[key][1]

    def cuts(self, i: int) -> frozenset[int]:
        """The cuts between grid axes at which step ``i`` splits into a Kronecker product
        (see :func:`~ylg.ifg.kron.separable_cuts`): all of them when its masks offer
        per-axis factors, otherwise found from its stored entries."""
        if self.axis_factors(i) is not None:
            return frozenset(range(1, self.grids[i].ndim))
        source, t, _ = self.steps[i]
        key = (id(source), t)
        if key not in self._cuts:
            q_sides, k_sides = self.grids[i + 1].shape, self.grids[i].shape
            found = frozenset(separable_cuts(self.csr(i), q_sides, k_sides))
            self._cuts[key] = (source, found)
        return self._cuts[key][1]

    def plan(self, method: str = "auto") -> Plan:
        """The groups of axes the reach is computed on, and each step's matrix per group."""
        if method not in METHODS:
            raise YlgError(f"unknown method {method!r} (known: {', '.join(METHODS)})")
        if method not in self._plans:
            self._plans[method] = self._make_plan(method)
        return self._plans[method]

    def _make_plan(self, method: str) -> Plan:
        dims = self.grids[0].ndim
        cuts = set(range(1, dims)) if method == "auto" else set()
        offered = [self.axis_factors(i) for i in range(self.num_steps)]
        for i, found in enumerate(offered):
            if not cuts:
                break
            if found is None:
                cuts &= self.cuts(i)
        bounds = (0, *sorted(cuts), dims)
        if len(bounds) == 2:
            return Plan(bounds, (tuple(self.csr(i) for i in range(self.num_steps)),))
        # A step that comes back (a layer repeated) gets the same matrices, which the
        # products then look at once.
        done: dict[tuple[int, int], list[sp.csr_array]] = {}
        per_step = []
        for i, found in enumerate(offered):
            source, t, _ = self.steps[i]
            key = (id(source), t)
            if key not in done:
                if found is not None:
                    groups = zip(bounds[:-1], bounds[1:])
                    done[key] = [kron_all(found[lo:hi]) for lo, hi in groups]
                else:
                    q_sides, k_sides = self.grids[i + 1].shape, self.grids[i].shape
                    done[key] = factors(self.csr(i), q_sides, k_sides, bounds)
            per_step.append(done[key])
        mats = tuple(tuple(step[g] for step in per_step) for g in range(len(bounds) - 1))
        return Plan(bounds, mats)


def _offered_factors(masks: Masks, step: int) -> tuple[sp.csr_array, ...] | None:
    method = getattr(masks, "axis_factors", None)
    if method is None:
        return None
    found = method(step)
    if found is None:
        return None
    q_shape, k_shape = masks.query_grid.shape, masks.grid.shape
    found = tuple(clean(f) for f in found)
    if len(found) != len(k_shape) or any(
        f.shape != (q, k) for f, q, k in zip(found, q_shape, k_shape)
    ):
        raise YlgError(
            f"pattern {masks.pattern.name!r}, step {step + 1}: its axis factors have shapes"
            f" {[f.shape for f in found]}, not one [query side, key side] per axis of the"
            f" {masks.describe()} layout"
        )
    return found


def as_stack(layers: "Stack | Masks | Sequence[Masks]") -> Stack:
    """``layers`` as a :class:`Stack` (a stack is returned as it is)."""
    return layers if isinstance(layers, Stack) else Stack(layers)


def _check_examples(examples: object) -> int:
    if isinstance(examples, bool) or not isinstance(examples, (int, np.integer)) or examples < 0:
        raise YlgError(f"examples must be a non-negative integer, got {examples!r}")
    return int(examples)


# -- reach --------------------------------------------------------------------------------


def stack_reach(
    layers: "Stack | Masks | Sequence[Masks]", *, method: str = "auto", progress: bool = False
) -> KroneckerReach:
    """Packed reachability across the whole stack: a :class:`~ylg.ifg.kron.KroneckerReach`
    of one packed part per group of axes (one part when the steps do not split).

    >>> from ylg.patterns import load_pattern
    >>> r = stack_reach([load_pattern("window").on("6x6")] * 2)
    >>> len(r.parts), r.count(), r.n_inputs * r.n_outputs
    (2, 576, 1296)
    """
    plan = as_stack(layers).plan(method)
    small = method == "auto"
    return KroneckerReach(tuple(_group_reach(list(mats), progress, small) for mats in plan.mats))


class _Small:
    """Dense float32 copies of the small matrices of a plan, made once each."""

    def __init__(self) -> None:
        self.kept: dict[int, tuple[sp.csr_array, np.ndarray]] = {}

    def __call__(self, mat: sp.csr_array) -> np.ndarray:
        if id(mat) not in self.kept:
            self.kept[id(mat)] = (mat, mat.toarray().astype(np.float32))
        return self.kept[id(mat)][1]


def _small(mats: Sequence[sp.csr_array]) -> bool:
    return max(max(m.shape) for m in mats) <= DENSE_GROUP


def _group_reach(mats: list[sp.csr_array], progress: bool, small: bool = True) -> Reach:
    """Packed reach through one group's chain: dense products (BLAS) for small groups
    (a grid axis) when ``small``, packed bits (:func:`~ylg.ifg.reach.reach_matrices`)
    for the others."""
    if not (small and _small(mats)):
        return reach_matrices(mats, progress=progress)
    dense = _Small()
    out = dense(mats[0])
    for mat in mats[1:]:
        out = (dense(mat) @ out > 0).astype(np.float32)
    return Reach(pack_dense(out > 0), True, mats[0].shape[1], mats[-1].shape[0])


def _advance(
    mat: sp.csr_array, state: np.ndarray | None, n: int, dense: _Small | None
) -> np.ndarray:
    """The packed reach of ``n`` inputs one step further (``None``: the first step);
    ``dense`` multiplies small matrices as dense ones (``None``: always packed bits)."""
    if state is None:
        return pack(mat)
    if dense is not None and _small([mat]):
        reached = dense(mat) @ unpack(state, n).astype(np.float32) > 0
        return pack_dense(reached)
    return propagate(mat, state, n)


def _pairs(stack: Stack, found: list[tuple[int, int]]) -> list[Any]:
    first, last = stack.grids[0], stack.grids[-1]
    return [(i, first.cell(i), o, last.cell(o)) for i, o in found]


def stack_full_information(
    layers: "Stack | Masks | Sequence[Masks]",
    *,
    examples: int = 5,
    method: str = "auto",
    progress: bool = False,
) -> FullInformation:
    """Whether every input token reaches every output token through the whole stack,
    with the number of pairs that do not and ``examples`` of them (inputs on the first
    layer's key grid, outputs on the last layer's query grid, by output then input).

    ``method`` of the result says how it was decided: ``kronecker`` (per group of axes)
    or ``bitsets`` (packed bits on the whole grid).

    >>> from ylg.patterns import load_pattern
    >>> fi = stack_full_information([load_pattern("window").on("8x8")] * 3, examples=1)
    >>> fi.holds, fi.missing, fi.examples, fi.method
    (False, 252, [(7, (0, 7), 0, (0, 0))], 'kronecker')
    """
    return _full_information(
        as_stack(layers), _check_examples(examples), method, progress, time.perf_counter()
    )[0]


def full_information_after(
    masks: Masks, layers: int = 1, *, inner: Masks | None = None
) -> FullInformation:
    """Full Information after ``layers`` stacked layers of one pattern: the inner layers
    on the key grid (``inner``, by default ``masks.square_on_keys()``), the last
    ``masks`` itself, as ``ylg verify PATTERN --layers N`` and ``verify=N`` stack them.

    >>> from ylg.patterns import load_pattern
    >>> window = load_pattern("window").on("8x8")
    >>> full_information_after(window, 3).holds, full_information_after(window, 4).holds
    (False, True)
    """
    if layers == 1:
        return full_information(masks)
    inner = masks.square_on_keys() if inner is None else inner
    return stack_full_information([inner] * (layers - 1) + [masks])


def _full_information(
    stack: "Stack", examples: int, method: str, progress: bool, start: float
) -> tuple[FullInformation, Any]:
    """The verdict of :func:`stack_full_information`, and the reach it came from."""
    reach = stack_reach(stack, method=method, progress=progress)
    return _verdict(stack, reach, examples, method, start), reach


def _verdict(
    stack: "Stack", reach: KroneckerReach, examples: int, method: str, start: float
) -> FullInformation:
    """The Full Information verdict of ``stack`` from its reach."""
    missing = reach.pairs - reach.count()
    return FullInformation(
        holds=missing == 0,
        missing=missing,
        pairs=reach.pairs,
        examples=_pairs(stack, reach.missing_pairs(min(examples, missing))),
        seconds=time.perf_counter() - start,
        pattern=stack.name,
        layout=stack.layout,
        steps=stack.num_steps,
        method=stack.plan(method).method,
    )


def receptive_field(
    layers: "Stack | Masks | Sequence[Masks]", *, method: str = "auto", progress: bool = False
) -> np.ndarray:
    """Int64 ``[outputs]``: how many inputs reach each output after the stack (row-major
    on the last layer's query grid; reshape to its shape for a map).

    >>> from ylg.patterns import load_pattern
    >>> receptive_field(load_pattern("window").on("4x4")).reshape(4, 4).tolist()
    [[4, 6, 6, 4], [6, 9, 9, 6], [6, 9, 9, 6], [4, 6, 6, 4]]
    """
    return stack_reach(layers, method=method, progress=progress).per_output()


@dataclass(frozen=True)
class ReceptiveField:
    """A summary of a receptive-field map: inputs per output (min, mean, max) and the
    outputs that every input reaches."""

    inputs: int
    outputs: int
    min: int
    mean: float
    max: int
    full_outputs: int

    @classmethod
    def of(cls, counts: np.ndarray, inputs: int) -> "ReceptiveField":
        """The summary of ``counts`` (inputs reaching each output) out of ``inputs``.

        >>> ReceptiveField.of(np.array([2, 4, 4]), 4).full_share
        0.6666666666666666
        """
        return cls(
            inputs=int(inputs),
            outputs=int(counts.size),
            min=int(counts.min()),
            mean=float(counts.mean()),
            max=int(counts.max()),
            full_outputs=int((counts == inputs).sum()),
        )

    @property
    def full_share(self) -> float:
        """The share of outputs that every input reaches."""
        return self.full_outputs / self.outputs

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {**asdict(self), "full_share": self.full_share}


def output_reach(
    layers: "Stack | Masks | Sequence[Masks]", output: int, *, method: str = "auto"
) -> np.ndarray:
    """Bool ``[layers, inputs]``: row ``l`` holds the inputs that reach output ``output``
    (a position on the output grid) after the first ``l + 1`` layers.

    >>> from ylg.patterns import load_pattern
    >>> r = output_reach([load_pattern("window").on("1x7")] * 3, 0)
    >>> r.astype(int).tolist()
    [[1, 1, 0, 0, 0, 0, 0], [1, 1, 1, 0, 0, 0, 0], [1, 1, 1, 1, 0, 0, 0]]
    """
    stack = as_stack(layers)
    plan = stack.plan(method)
    grids = [stack.grids[end] for end in stack.layer_ends]
    if isinstance(output, bool) or not isinstance(output, (int, np.integer)):
        raise YlgError(f"the output is a position (an integer), not {output!r}")
    for layer, grid in enumerate(grids, 1):
        if grid != grids[-1]:
            raise YlgError(
                f"layer {layer} ends on the {grid} grid, the last on {grids[-1]}: one output"
                " position names no one cell on both (reach of a stack whose layers end on"
                " one grid only)"
            )
        if not 0 <= output < grid.size:
            raise YlgError(f"output {output} is outside the {grid} grid of layer {layer}")
    out = np.zeros((len(stack.layers), stack.grids[0].size), dtype=bool)
    bounds = plan.bounds
    for layer, end in enumerate(stack.layer_ends):
        sides = stack.grids[end].shape
        coords = _group_coords(int(output), sides, bounds)
        row: np.ndarray | None = None
        for g, mats in enumerate(plan.mats):
            vec = np.zeros(mats[end - 1].shape[0], dtype=bool)
            vec[coords[g]] = True
            for mat in reversed(mats[:end]):
                keys = np.zeros(mat.shape[1], dtype=bool)
                keys[mat[np.flatnonzero(vec)].indices] = True
                vec = keys
            row = vec if row is None else np.logical_and.outer(row, vec).ravel()
        out[layer] = row
    return out


def _group_coords(position: int, sides: Sequence[int], bounds: Sequence[int]) -> list[int]:
    cell = np.unravel_index(position, tuple(sides))
    out = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        out.append(int(np.ravel_multi_index(cell[lo:hi], tuple(sides[lo:hi]))))
    return out


# -- layers needed ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LayersNeeded:
    """The answer of :func:`layers_needed`.

    ``layers`` is the smallest number of layers (the cycle repeated) after which every
    input reaches every output, or ``None``; then ``reason`` says why: ``never`` (the
    reach came back to a state it had at the same place in the cycle, so it repeats
    forever without being full) or ``limit`` (not within ``max_layers``). ``reached``
    counts the (input, output) pairs with a path after 1, 2, ... layers, out of ``pairs``.
    """

    layers: int | None
    reason: str
    max_layers: int
    cycle: int
    reached: list[int]
    pairs: int
    seconds: float
    pattern: str = ""
    layout: str = ""
    method: str = field(default="bitsets")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"property": "layers needed for full information", **asdict(self)}


def _period(layers: Sequence[Masks]) -> int:
    """The shortest p such that ``layers`` is its first p layers over and over.

    >>> from ylg.patterns import load_pattern
    >>> a, b = load_pattern("ltr").on("4x4"), load_pattern("rtl").on("4x4")
    >>> _period([a, b, a, b]), _period([a, b, a]), _period([a, a])
    (2, 3, 1)
    """
    n = len(layers)
    for p in range(1, n):
        if n % p == 0 and all(layers[i] is layers[i % p] for i in range(n)):
            return p
    return n


def _steps_have_self_loops(mats: Sequence[sp.csr_array]) -> bool:
    """Whether every step lets each token attend itself (then reach only grows)."""
    for mat in mats:
        if mat.shape[0] != mat.shape[1]:
            return False
        if not mat.diagonal().all():
            return False
    return True


def layers_needed(
    layer_or_cycle: "Stack | Masks | Sequence[Masks]",
    *,
    max_layers: int = DEFAULT_MAX_LAYERS,
    method: str = "auto",
    progress: bool = False,
) -> LayersNeeded:
    """The smallest number of layers after which every input reaches every output, the
    layer (a :class:`Masks`) repeated or the layers of a list cycled in order (e.g. two
    dilations alternating), or ``None`` with the reason.

    Exact: once every pair has a path it keeps one (no step leaves a query without a
    key), and the reach after ``L`` layers depends only on the reach before and on the
    place in the cycle, so a state seen before at the same place proves that Full
    Information never comes (found by sha256 digests; when every step lets each token
    attend itself the reach only grows and equal counts one cycle apart prove it).

    >>> from ylg.patterns import load_pattern
    >>> layers_needed(load_pattern("ltr").on("8x8")).layers
    1
    >>> n = layers_needed(load_pattern("fixed").on("8x8"))
    >>> n.layers, n.reason, n.reached
    (None, 'never', [2080, 2080])
    >>> layers_needed(load_pattern("window").on("16x16"), max_layers=3).reason
    'limit'
    """
    return _layers_needed(as_stack(layer_or_cycle), max_layers, method, progress)[0]


def _layers_needed(
    stack: Stack, max_layers: int, method: str, progress: bool, keep: int = 0
) -> tuple[LayersNeeded, KroneckerReach | None]:
    """:func:`layers_needed`, and the reach after ``keep`` layers of the cycle (``None``
    when ``keep`` is 0): the repeats go on past the answer, without changing it, until
    ``keep`` layers have been laid."""
    if isinstance(max_layers, bool) or not isinstance(max_layers, (int, np.integer)):
        raise YlgError(f"max_layers must be a positive integer, got {max_layers!r}")
    if not 1 <= max_layers <= MAX_LAYERS:
        raise YlgError(f"max_layers must be between 1 and {MAX_LAYERS}, got {max_layers}")
    start = time.perf_counter()
    max_layers = max(max_layers, keep)  # layers laid for ``keep`` are tried at no cost
    if stack.grids[-1] != stack.grids[0]:
        raise YlgError(
            f"the layers cannot be repeated: the last writes the {stack.grids[-1]} grid but"
            f" the first reads the {stack.grids[0]} grid"
        )
    period = _period(stack.layers)
    if period < len(stack.layers):  # [a, b, a, b] repeats as [a, b]: the same answer, sooner
        stack = Stack(stack.layers[:period], share=stack)
    plan = stack.plan(method)
    cycle = len(stack.layers)
    ends = stack.layer_ends
    starts = [0, *ends[:-1]]
    groups = plan.mats
    sizes = [mats[0].shape[1] for mats in groups]
    monotone = [_steps_have_self_loops(mats) for mats in groups]
    bits: list[np.ndarray | None] = [None] * len(groups)
    full = [False] * len(groups)
    counts: list[list[int]] = [[] for _ in groups]
    seen: list[set[tuple[int, bytes]]] = [set() for _ in groups]
    reached: list[int] = []
    dense = _Small() if method == "auto" else None
    answer: int | None = None
    reason = "limit"
    decided = False  # the answer is known; the layers go on only up to ``keep``
    seconds: float | None = None
    kept: KroneckerReach | None = None
    bar = progress_bar(
        total=max_layers,
        desc="layers",
        unit="layer",
        leave=False,
        disable=not progress,
    )
    try:
        for layer in range(1, max_layers + 1):
            phase = (layer - 1) % cycle
            stuck = False
            for g, mats in enumerate(groups):
                n = sizes[g]
                if full[g]:
                    counts[g].append(n * n)
                    continue
                state = bits[g]
                for mat in mats[starts[phase] : ends[phase]]:
                    state = _advance(mat, state, n, dense)
                bits[g] = state
                part = Reach(state, True, n, n)
                counts[g].append(part.count())
                if is_full(part):
                    full[g] = True
                elif decided:
                    continue
                elif monotone[g]:
                    if layer > cycle and counts[g][-1] == counts[g][-1 - cycle]:
                        stuck = True
                else:
                    digest = (phase, hashlib.sha256(state.tobytes()).digest())
                    stuck = stuck or digest in seen[g]
                    seen[g].add(digest)
            if not decided:
                reached.append(math.prod(c[-1] for c in counts))
            bar.update(1)
            if layer == keep:
                kept = KroneckerReach(
                    tuple(Reach(state, True, n, n) for state, n in zip(bits, sizes))  # type: ignore[arg-type]
                )
            if not decided and all(full):
                answer, reason, decided = layer, "", True
            elif not decided and (stuck or layer == max_layers):
                reason, decided = ("never" if stuck else "limit"), True
            if decided and seconds is None:
                seconds = time.perf_counter() - start
            if decided and (all(full) or layer >= keep):
                break
    finally:
        bar.close()
    n_all = math.prod(sizes)
    found = LayersNeeded(
        layers=answer,
        reason=reason,
        max_layers=max_layers,
        cycle=cycle,
        reached=reached,
        pairs=n_all * n_all,
        seconds=time.perf_counter() - start if seconds is None else seconds,
        pattern=stack.name,
        layout=stack.layout,
        method=plan.method,
    )
    return found, kept


@dataclass(frozen=True)
class StackVerdict:
    """Everything :func:`verify_stack` found: Full Information across the stack, the
    receptive-field summary, and the layers needed (``None`` with ``needed_note`` when
    not asked or not possible)."""

    full_information: FullInformation
    receptive: ReceptiveField
    needed: LayersNeeded | None
    needed_note: str
    depth: int
    axes: tuple[str, ...]
    seconds: float

    @property
    def holds(self) -> bool:
        """Whether every input reaches every output after the stack."""
        return self.full_information.holds

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        fi = self.full_information.to_dict()
        fi["property"] = "full information across layers"
        return {
            **fi,
            "layers": self.depth,
            "axes": list(self.axes),
            "receptive_field": self.receptive.to_dict(),
            "layers_needed": None if self.needed is None else self.needed.to_dict(),
            "layers_needed_note": self.needed_note,
            "seconds": self.seconds,
        }


def verify_stack(
    layers: "Stack | Masks | Sequence[Masks]",
    *,
    cycle: "Masks | Sequence[Masks] | None" = None,
    examples: int = 5,
    needed: bool = True,
    max_layers: int = DEFAULT_MAX_LAYERS,
    method: str = "auto",
    progress: bool = False,
) -> StackVerdict:
    """Full Information across the stack, its receptive-field summary and the layers
    needed (``cycle`` repeated: by default the stack's own layers), from one reach.

    >>> from ylg.patterns import load_pattern
    >>> window = load_pattern("window").on("8x8")
    >>> v = verify_stack([window] * 2, cycle=window)
    >>> v.holds, v.receptive.min, v.receptive.full_outputs, v.needed.layers
    (False, 25, 4, 4)
    """
    start = time.perf_counter()
    stack = as_stack(layers)
    examples = _check_examples(examples)
    found: LayersNeeded | None = None
    kept: KroneckerReach | None = None
    note = "not asked"
    depth = len(stack.layers)
    keep = 0
    if needed:
        repeated = Stack(stack.layers if cycle is None else cycle, share=stack)
        if repeated.grids[-1] != repeated.grids[0]:
            note = (
                f"the layers cannot be repeated: they read the {repeated.grids[0]} grid and"
                f" write the {repeated.grids[-1]} grid"
            )
        else:
            # A stack that repeats the cycle is the repeats' reach after its depth: kept
            # on the way, so one pass answers both questions.
            keep = depth if _repeats(stack, repeated) else 0
            found, kept = _layers_needed(repeated, max_layers, method, progress, keep)
            note = ""
    if found is not None and keep == 0 and _cycle_then(stack, repeated):
        # The stack is the cycle's one layer repeated, the last laid on other queries
        # whose rows are not all the key grid's (the direct rule): count on the layout.
        found = _needed_with_last(repeated.layers[0], stack.layers[-1], found, method)
    if found is not None and found.layers is not None and found.layers <= keep:
        # Full Information comes within the depth: it holds (a reach that is full stays
        # full), and every output reads every input.
        fi, receptive = _full_after(stack, method, start)
    else:
        if kept is not None:
            reach = kept
            fi = _verdict(stack, reach, examples, method, start)
        else:
            fi, reach = _full_information(stack, examples, method, progress, start)
        receptive = ReceptiveField.of(reach.per_output(), reach.n_inputs)
    return StackVerdict(
        full_information=fi,
        receptive=receptive,
        needed=found,
        needed_note=note,
        depth=depth,
        axes=stack.grids[0].axes,
        seconds=time.perf_counter() - start,
    )


def onto_key_grid(masks: Masks) -> bool:
    """Whether every query of ``masks`` attends as some query of the key grid does, and
    every key-grid query is one of them: then Full Information after it is Full
    Information after its square version, and so are the layers it needs.

    >>> from ylg.patterns import load_pattern
    >>> ltr = load_pattern("ltr")
    >>> [onto_key_grid(ltr.on("4x4", query_grid=q)) for q in ("8x8", "2x2")]
    [True, False]

    A step that reads the query grid's sizes (``nq``, ``hq``, ...) sees other values on
    the square version, so such a layer is never taken as onto the key grid.
    """
    if masks.square:
        return True
    if masks.nonsquare == "direct":
        return False
    if any(expr.variables & QUERY_SIZE_VARIABLES for expr in masks.exprs):
        return False  # the query grid's sizes are the key grid's on its square version
    return bool(np.unique(masks.query_to_key()).size == masks.nk)


def _cycle_then(stack: Stack, cycle: Stack) -> bool:
    """Whether ``stack`` is one layer of ``cycle`` repeated and then that layer laid on
    a query grid whose rows are not the key grid's (see :func:`onto_key_grid`)."""
    if len(cycle.layers) != 1:
        return False
    inner, last = cycle.layers[0], stack.layers[-1]
    return (
        all(layer is inner for layer in stack.layers[:-1])
        and last is not inner
        and last.pattern == inner.pattern
        and not onto_key_grid(last)
    )


def _needed_with_last(
    inner: Masks, last: Masks, on_keys: LayersNeeded, method: str
) -> LayersNeeded:
    """The layers needed when the last of them is ``last`` (the others ``inner``),
    from the answer on the key grid: once ``L`` inner layers are full, ``L + 1`` with
    the last are; a reach that repeats itself on the key grid repeats with the last
    too. So a few stacks, each checked whole, settle it exactly."""
    start = time.perf_counter()
    if on_keys.layers is not None:
        bound = on_keys.layers + 1
    elif on_keys.reason == "never":
        bound = len(on_keys.reached)
    else:
        bound = on_keys.max_layers
    reached: list[int] = []
    pairs = last.nq * inner.nk
    for depth in range(1, bound + 1):
        reach = stack_reach([inner] * (depth - 1) + [last], method=method)
        reached.append(reach.count())
        if reached[-1] == pairs:
            break
    holds = reached[-1] == pairs
    return replace(
        on_keys,
        layers=len(reached) if holds else None,
        reason="" if holds else on_keys.reason,
        reached=reached,
        pairs=pairs,
        seconds=on_keys.seconds + time.perf_counter() - start,
        layout=Stack([inner, last]).layout,
    )


def _repeats(stack: Stack, cycle: Stack) -> bool:
    """Whether ``stack`` is ``cycle``'s layers repeated from the first (the same objects)."""
    period = cycle.layers
    return all(layer is period[i % len(period)] for i, layer in enumerate(stack.layers))


def _full_after(stack: Stack, method: str, start: float) -> tuple[FullInformation, ReceptiveField]:
    """The verdict and receptive field of a stack that has Full Information (known from
    the layers it needs): every output reads every input."""
    n = stack.grids[0].size
    verdict = FullInformation(
        holds=True,
        missing=0,
        pairs=n * n,
        examples=[],
        seconds=time.perf_counter() - start,
        pattern=stack.name,
        layout=stack.layout,
        steps=stack.num_steps,
        method=stack.plan(method).method,
    )
    return verdict, ReceptiveField.of(np.full(n, n, dtype=np.int64), n)


# -- max flow ----------------------------------------------------------------------------------


def stack_flow_network(layers: "Stack | Masks | Sequence[Masks]") -> FlowNetwork:
    """The vertex-split flow network of the whole stack (one unit per token per graph
    layer), built once for many :meth:`~ylg.ifg.flow.FlowNetwork.max_flow` queries."""
    stack = as_stack(layers)
    mats = [stack.csr(i) for i in range(stack.num_steps)]
    return FlowNetwork.from_steps(mats, stack.grids, pattern=stack.name, layout=stack.layout)


def stack_max_flow(
    layers: "Stack | Masks | Sequence[Masks]", sources: Iterable[int], sinks: Iterable[int]
) -> MaxFlow:
    """Max flow from input positions ``sources`` (the first layer's key grid) to output
    positions ``sinks`` (the last layer's query grid) across every step of every layer,
    one unit per token per graph layer, and a minimum cut (tokens named by their graph
    layer ``V0 .. Vp``, p the steps of all layers).

    >>> from ylg.patterns import load_pattern
    >>> star = load_pattern("star").on("3x3")
    >>> stack_max_flow([star] * 2, [1, 2], [4, 5]).value
    1
    """
    return stack_flow_network(layers).max_flow(sources, sinks)


# -- networkx references -------------------------------------------------------------------


def stack_graph(layers: "Stack | Masks | Sequence[Masks]") -> nx.DiGraph:
    """The stack's Information Flow Graph as a ``networkx.DiGraph``: nodes
    ``(graph layer, position)`` with ``layer`` and ``cell`` attributes, one graph layer
    per step of every layer (see :func:`ylg.ifg.graph.graph_of_steps`).

    >>> from ylg.patterns import load_pattern
    >>> g = stack_graph([load_pattern("ltr").on("3x3")] * 2)
    >>> g.number_of_nodes(), max(layer for layer, _ in g.nodes)
    (45, 4)
    """
    stack = as_stack(layers)
    return graph_of_steps([stack.csr(i) for i in range(stack.num_steps)], stack.grids)


def _reached_networkx(stack: Stack) -> np.ndarray:
    graph = stack_graph(stack)
    last = stack.num_steps
    n_in, n_out = stack.grids[0].size, stack.grids[-1].size
    reached = np.zeros((n_out, n_in), dtype=bool)
    for i in range(n_in):
        for layer, o in nx.descendants(graph, (0, i)):
            if layer == last:
                reached[o, i] = True
    return reached


def stack_full_information_networkx(
    layers: "Stack | Masks | Sequence[Masks]", *, examples: int = 5
) -> FullInformation:
    """:func:`stack_full_information` by graph search on :func:`stack_graph` (small
    stacks only).

    >>> from ylg.patterns import load_pattern
    >>> stack = [load_pattern("window").on("5x5")] * 2
    >>> slow, fast = stack_full_information_networkx(stack), stack_full_information(stack)
    >>> (slow.missing, slow.examples) == (fast.missing, fast.examples), slow.method
    (True, 'networkx')
    """
    examples = _check_examples(examples)
    start = time.perf_counter()
    stack = as_stack(layers)
    reached = _reached_networkx(stack)
    outputs, inputs = np.nonzero(~reached)
    found = list(zip(inputs[:examples].tolist(), outputs[:examples].tolist()))
    return FullInformation(
        holds=outputs.size == 0,
        missing=int(outputs.size),
        pairs=int(reached.size),
        examples=_pairs(stack, found),
        seconds=time.perf_counter() - start,
        pattern=stack.name,
        layout=stack.layout,
        steps=stack.num_steps,
        method="networkx",
    )


def receptive_field_networkx(layers: "Stack | Masks | Sequence[Masks]") -> np.ndarray:
    """:func:`receptive_field` by graph search (small stacks only).

    >>> from ylg.patterns import load_pattern
    >>> stack = [load_pattern("window").on("5x5")] * 2
    >>> bool((receptive_field_networkx(stack) == receptive_field(stack)).all())
    True
    """
    return _reached_networkx(as_stack(layers)).sum(axis=1).astype(np.int64)


def layers_needed_networkx(
    layer_or_cycle: "Stack | Masks | Sequence[Masks]", *, max_layers: int = 16
) -> int | None:
    """:func:`layers_needed` by graph search on stacks of 1, 2, ... ``max_layers``
    layers (``None`` when none of them has Full Information; small cases only).

    >>> from ylg.patterns import load_pattern
    >>> layers_needed_networkx(load_pattern("window").on("6x6"))
    5
    """
    cycle = as_stack(layer_or_cycle).layers
    for depth in range(1, max_layers + 1):
        stack = Stack([cycle[i % len(cycle)] for i in range(depth)])
        if _reached_networkx(stack).all():
            return depth
    return None


def stack_max_flow_networkx(
    layers: "Stack | Masks | Sequence[Masks]", sources: Iterable[int], sinks: Iterable[int]
) -> MaxFlow:
    """:func:`stack_max_flow` computed by networkx's minimum cut (small stacks only).

    >>> from ylg.patterns import load_pattern
    >>> stack_max_flow_networkx([load_pattern("star").on("3x3")] * 2, [1, 2], [4, 5]).value
    1
    """
    stack = as_stack(layers)
    mats = [stack.csr(i) for i in range(stack.num_steps)]
    return max_flow_networkx_of_steps(
        mats, stack.grids, sources, sinks, pattern=stack.name, layout=stack.layout
    )
