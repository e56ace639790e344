"""The masks of every head of a layer on one layout, verified and cached.

:func:`head_masks` turns a pattern choice (``"ylg"``, names, files, an exported
``.npz``, explicit heads) and a layout (key grid, query grid) into a
:class:`HeadMasks`: per head, the step masks it attends through. Each distinct step
mask is a :class:`StepMask` built once per process and shared by every head, layer and
model that uses it, so building a model twice costs nothing the second time; the
backends hang what they derive from it (torch tensors, plans) on the same object.

>>> hm = head_masks("ylg", grid="4x4", query_grid="8x8")
>>> hm.num_heads, hm.nq, hm.nk, hm.labels[:2]
(8, 64, 16, ('rtl/1', 'rtl/2'))
>>> head_masks("ylg", grid="4x4", query_grid="8x8") is hm
True
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import scipy.sparse as sp

from ylg.attention.heads import Head, PatternLike, assign_heads, explicit_heads
from ylg.errors import YlgError
from ylg.patterns import Grid, Masks, Pattern, load_npz, masks_sha256

#: Step modes: every head one step (the paper), or every step of its pattern in turn.
STEP_MODES = ("parallel", "sequential")


class StepMask:
    """One step of one pattern on one layout: ``[nq, nk]`` as CSR, dense on demand.

    ``cache`` holds what the backends derive from the mask (keyed by their own names).
    """

    def __init__(self, masks: Masks, step: int) -> None:
        self.masks = masks
        self.step = step
        self.csr: sp.csr_array = masks.csr(step)  # refuses a query with no key
        self.cache: dict[Any, Any] = {}

    @property
    def nq(self) -> int:
        """Number of queries."""
        return self.masks.nq

    @property
    def nk(self) -> int:
        """Number of keys."""
        return self.masks.nk

    @property
    def label(self) -> str:
        """``pattern/step`` (1-based step) and the layout."""
        return f"{self.masks.pattern.name}/{self.step + 1} on {self.masks.describe()}"

    def dense(self) -> np.ndarray:
        """The bool mask ``[nq, nk]``."""
        if "dense" not in self.cache:
            self.cache["dense"] = self.masks.dense(self.step)
        return self.cache["dense"]

    def __repr__(self) -> str:
        return f"StepMask({self.label})"


@dataclass(frozen=True)
class HeadMasks:
    """Per head, the step masks it attends through, in order (one in parallel mode).

    ``stages[h][-1]`` maps the query grid to the key grid; earlier stages (sequential
    mode only) run on the key grid, queries = keys, like the inner layers of the IFG.
    """

    heads: tuple[Head, ...]
    grid: Grid
    query_grid: Grid
    sequential: bool
    stages: tuple[tuple[StepMask, ...], ...] = field(repr=False)

    @property
    def num_heads(self) -> int:
        """Number of heads."""
        return len(self.heads)

    @property
    def nq(self) -> int:
        """Number of query positions (row-major on the query grid)."""
        return self.query_grid.size

    @property
    def nk(self) -> int:
        """Number of key positions (row-major on the key grid)."""
        return self.grid.size

    @property
    def square(self) -> bool:
        """Whether queries and keys share one grid."""
        return self.grid == self.query_grid

    @property
    def labels(self) -> tuple[str, ...]:
        """Head labels like ``rtl/1`` (parallel) or ``rtl`` (sequential)."""
        return tuple(h.label for h in self.heads)

    def last_steps(self) -> tuple[StepMask, ...]:
        """The step mask each head ends with (its only one in parallel mode)."""
        return tuple(stage[-1] for stage in self.stages)


@dataclass(frozen=True)
class Exported:
    """An ``.npz`` written by ``ylg export``: its pattern and the layout it was built on."""

    path: str
    pattern: Pattern
    grid: Grid
    query_grid: Grid
    order: str
    nonsquare: str
    stride: int
    sha256: str


def load_exported(path: "str | os.PathLike[str]") -> Exported:
    """Read an exported mask file (its sha256 is checked on reading)."""
    _, meta = load_npz(path)
    try:
        return Exported(
            path=os.fspath(path),
            pattern=Pattern.from_toml(meta["source"], origin=os.fspath(path)),
            grid=Grid.parse(meta["grid"]),
            query_grid=Grid.parse(meta["query_grid"]),
            order=meta["order"],
            nonsquare=meta["nonsquare"],
            stride=int(meta["stride"]),
            sha256=meta["sha256"],
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise YlgError(f"{path}: incomplete metadata in the mask file ({exc})") from None


def is_exported_path(pattern: object) -> bool:
    """Whether a pattern argument names an exported ``.npz``."""
    return isinstance(pattern, (str, os.PathLike)) and os.fspath(pattern).endswith(".npz")


@lru_cache(maxsize=512)
def _masks(
    pattern: Pattern,
    grid: Grid,
    query_grid: Grid,
    order: str | None,
    nonsquare: str | None,
    stride: int | None,
) -> Masks:
    return pattern.on(grid, query_grid=query_grid, order=order, nonsquare=nonsquare, stride=stride)


@lru_cache(maxsize=512)
def _step_mask(
    pattern: Pattern,
    grid: Grid,
    query_grid: Grid,
    order: str | None,
    nonsquare: str | None,
    stride: int | None,
    step: int,
    inner: bool,
) -> StepMask:
    masks = _masks(pattern, grid, query_grid, order, nonsquare, stride)
    return StepMask(masks.square_on_keys() if inner else masks, step)


@lru_cache(maxsize=512)
def check_full_information(
    pattern: Pattern,
    grid: Grid,
    query_grid: Grid,
    order: str | None,
    nonsquare: str | None,
    stride: int | None,
) -> None:
    """Raise :class:`YlgError` unless the pattern has Full Information on the layout
    (verified by :func:`ylg.ifg.full_information`; cached per layout)."""
    from ylg.ifg import full_information

    masks = _masks(pattern, grid, query_grid, order, nonsquare, stride)
    verdict = full_information(masks)
    if not verdict.holds:
        example = ""
        if verdict.examples:
            i, icell, o, ocell = verdict.examples[0]
            example = f", e.g. input {i} {icell} never reaches output {o} {ocell}"
        raise YlgError(
            f"pattern {pattern.name!r} lacks Full Information on {masks.describe()}:"
            f" {verdict.missing} of {verdict.pairs} (input, output) pairs have no path"
            f"{example}; pass verify=False to use it anyway (--no-verify on the command line)"
        )


def head_masks(
    pattern: "PatternLike | Sequence[PatternLike]" = "ylg",
    *,
    grid: "str | Grid | tuple[int, int]",
    query_grid: "str | Grid | tuple[int, int] | None" = None,
    heads: Sequence[object] | None = None,
    num_heads: int | None = None,
    order: str | None = None,
    nonsquare: str | None = None,
    steps: str = "parallel",
    verify: bool = True,
) -> HeadMasks:
    """The verified masks of every head on a layout (cached: same arguments, same object).

    ``pattern``: ``"ylg"`` (RTL and LTR in the published head order), a library name,
    a TOML path, a :class:`Pattern`, a list of these, or an ``.npz`` from ``ylg export``
    (then the layout must be the file's). ``heads``: explicit ``(pattern, step)`` pairs
    instead (patterns in sequential mode). ``num_heads`` defaults to 8, or to
    ``len(heads)``. ``verify``: refuse patterns that lack Full Information.

    >>> head_masks("fixed", grid="4x4", num_heads=2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ylg.errors.YlgError: pattern 'fixed' lacks Full Information on 4x4, esa, s=4: 120 of 256 ...
    """
    if not isinstance(steps, str) or steps not in STEP_MODES:
        raise YlgError(f"steps must be one of {', '.join(STEP_MODES)}, got {steps!r:.60}")
    if not isinstance(verify, bool):
        raise YlgError(f"verify must be True or False, got {verify!r:.60}")
    for name, value in (("order", order), ("nonsquare", nonsquare)):
        if value is not None and not isinstance(value, str):
            raise YlgError(f"{name} must be a name or None, got {value!r:.60}")
    if num_heads is not None and (isinstance(num_heads, bool) or not isinstance(num_heads, int)):
        raise YlgError(f"num_heads must be a positive integer or None, got {num_heads!r:.60}")
    sequential = steps == "sequential"
    key_grid = Grid.parse(grid)
    q_grid = Grid.parse(query_grid) if query_grid is not None else key_grid
    stride = None
    if is_exported_path(pattern):
        exported = load_exported(pattern)  # type: ignore[arg-type]
        if (key_grid, q_grid) != (exported.grid, exported.query_grid):
            raise YlgError(
                f"{exported.path} holds masks for {exported.grid} keys and"
                f" {exported.query_grid} queries, not {key_grid} keys and {q_grid} queries"
            )
        for name, given, fixed in (
            ("order", order, exported.order),
            ("nonsquare", nonsquare, exported.nonsquare),
        ):
            if given is not None and given != fixed:
                raise YlgError(f"{exported.path} was exported with {name}={fixed!r}, not {given!r}")
        order, nonsquare, stride = exported.order, exported.nonsquare, exported.stride
        built = _masks(exported.pattern, key_grid, q_grid, order, nonsquare, stride)
        if masks_sha256(built.dense()) != exported.sha256:
            raise YlgError(
                f"{exported.path}: its masks differ from those its recorded pattern gives"
                " with this version of ylg"
            )
        pattern = exported.pattern
    if heads is not None:
        chosen = explicit_heads(heads, sequential=sequential)
        if num_heads is not None and num_heads != len(chosen):
            raise YlgError(f"num_heads={num_heads} but {len(chosen)} heads were given")
    else:
        chosen = assign_heads(pattern, 8 if num_heads is None else num_heads, sequential=sequential)
    return _head_masks(chosen, key_grid, q_grid, order, nonsquare, stride, sequential, verify)


@lru_cache(maxsize=256)
def _head_masks(
    heads: tuple[Head, ...],
    grid: Grid,
    query_grid: Grid,
    order: str | None,
    nonsquare: str | None,
    stride: int | None,
    sequential: bool,
    verify: bool,
) -> HeadMasks:
    if verify:
        for p in dict.fromkeys(h.pattern for h in heads):
            check_full_information(p, grid, query_grid, order, nonsquare, stride)
    stages = []
    for h in heads:
        steps = [h.step] if h.step is not None else list(range(len(h.pattern.steps)))
        stage = []
        for i, step in enumerate(steps):
            # Inner steps of a sequential head run on the key grid (queries = keys).
            inner = i < len(steps) - 1
            layout = (grid, query_grid, order, nonsquare, stride)
            stage.append(_step_mask(h.pattern, *layout, step, inner))
        stages.append(tuple(stage))
    return HeadMasks(heads, grid, query_grid, sequential, tuple(stages))
