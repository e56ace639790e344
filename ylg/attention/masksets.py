"""The masks of every head of a layer on one layout, verified and cached.

:func:`head_masks` turns a pattern choice (``"ylg"``, names, files, an exported
``.npz``, explicit heads) and a layout (key grid, query grid) into a
:class:`HeadMasks`: per head, the step masks it attends through. Each distinct step
mask is a :class:`StepMask` built once per process (in the :class:`Registry`, keyed by
pattern and layout) and shared by every head, layer and model that uses it, so building
a model twice costs nothing the second time; the backends hang what they derive from it
on the host (tile plans) on the same object, and what they put on a device on the layer.

>>> hm = head_masks("ylg", grid="4x4", query_grid="8x8")
>>> hm.num_heads, hm.nq, hm.nk, hm.labels[:2]
(8, 64, 16, ('rtl/1', 'rtl/2'))
>>> head_masks("ylg", grid="4x4", query_grid="8x8") is hm
True
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Callable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from ylg.attention.heads import (
    Head,
    PatternLike,
    assign_heads,
    check_pattern_argument,
    explicit_heads,
    is_exported_path,
    positive_int,
)
from ylg.deprecation import renamed_keywords
from ylg.errors import YlgError
from ylg.patterns import Grid, Layout, Masks, Pattern, load_npz, masks_sha256
from ylg.patterns.layout import OnLayout

#: Step modes: every head one step (the paper), or every step of its pattern in turn.
STEP_MODES = ("parallel", "sequential")


class StepMask(OnLayout):
    """One step of one pattern on one layout: ``[nq, nk]`` as CSR, dense on demand.

    ``cache`` holds what the backends derive from the mask (keyed by their own names).
    """

    def __init__(self, masks: Masks, step: int) -> None:
        self.masks = masks
        self.step = step
        self.layout = masks.layout
        self.csr: sp.csr_array = masks.csr(step)  # refuses a query with no key
        self.cache: dict[Any, Any] = {}

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
class HeadMasks(OnLayout):
    """Per head, the step masks it attends through, in order (one in parallel mode).

    ``stages[h][-1]`` maps the query grid to the key grid; earlier stages (sequential
    mode only) run on the key grid, queries = keys, like the inner layers of the IFG.
    """

    heads: tuple[Head, ...]
    layout: Layout
    sequential: bool
    stages: tuple[tuple[StepMask, ...], ...] = field(repr=False)

    @property
    def num_heads(self) -> int:
        """Number of heads."""
        return len(self.heads)

    @property
    def labels(self) -> tuple[str, ...]:
        """Head labels like ``rtl/1`` (parallel) or ``rtl`` (sequential)."""
        return tuple(h.label for h in self.heads)

    def last_steps(self) -> tuple[StepMask, ...]:
        """The step mask each head ends with (its only one in parallel mode)."""
        return tuple(stage[-1] for stage in self.stages)


_MISSING = object()


class LRUCache(MutableMapping):  # type: ignore[type-arg]
    """A mapping that keeps its ``max_entries`` most recently used entries (reading or
    writing one makes it the newest; the oldest go first). Threads may share one: an
    entry another thread evicts is simply gone (read it with ``get``), never an error
    half-way through a read. It pickles and copies whole.

    >>> cache = LRUCache(2)
    >>> cache["a"], cache["b"] = 1, 2
    >>> _ = cache["a"]          # "a" is now newer than "b"
    >>> cache["c"] = 3
    >>> list(cache), cache.get("b")
    (['a', 'c'], None)
    """

    def __init__(self, max_entries: int = 64) -> None:
        self.max_entries = max_entries
        self._data: OrderedDict[Any, Any] = OrderedDict()

    def __getitem__(self, key: Any) -> Any:
        value = self._data[key]
        with contextlib.suppress(KeyError):  # evicted by another thread since: it stands
            self._data.move_to_end(key)
        return value

    def __setitem__(self, key: Any, value: Any) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.max_entries:
            try:
                self._data.popitem(last=False)
            except KeyError:  # emptied by another thread
                break

    def __delitem__(self, key: Any) -> None:
        del self._data[key]

    def __contains__(self, key: object) -> bool:
        return key in self._data  # a look, not a use: the order stays

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self._data))  # a snapshot: other threads may change it meanwhile

    def __len__(self) -> int:
        return len(self._data)

    def copy(self) -> "LRUCache":
        """A shallow copy, in the same order and with the same bound."""
        twin = LRUCache(self.max_entries)
        twin._data = self._data.copy()
        return twin

    def clear(self) -> None:
        """Forget every entry."""
        self._data.clear()

    def __repr__(self) -> str:
        return f"LRUCache({self.max_entries}, {list(self._data)!r:.80})"


class Registry:
    """What ylg derives from a (pattern, layout) pair on the host: masks, step masks,
    Full Information verdicts and head sets, built once and shared by every layer and
    model that uses them. Nothing here lives on a device: what a layer moves to a GPU
    stays on the layer, so deleting the model frees it.

    The oldest entries go when there are more than ``max_entries``; :meth:`clear` (or
    :func:`clear_cache`) empties it.

    >>> from ylg.patterns import Layout, load_pattern
    >>> reg = Registry()
    >>> lay = Layout("4x4")
    >>> reg.masks(load_pattern("ltr"), lay) is reg.masks(load_pattern("ltr"), lay)
    True
    >>> len(reg), reg.clear(), len(reg)
    (1, None, 0)
    """

    def __init__(self, max_entries: int = 1024) -> None:
        self._entries = LRUCache(max_entries)

    @property
    def max_entries(self) -> int:
        """The most entries kept."""
        return self._entries.max_entries

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget everything (masks, verdicts, head sets)."""
        self._entries.clear()

    def _get(self, key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
        value = self._entries.get(key, _MISSING)
        if value is _MISSING:
            value = make()
            self._entries[key] = value
        return value

    def masks(self, pattern: Pattern, layout: Layout) -> Masks:
        """``pattern.on(layout)``, built once."""
        return self._get(("masks", pattern, layout), lambda: pattern.on(layout))

    def step_mask(self, pattern: Pattern, layout: Layout, step: int) -> StepMask:
        """One step (0-based) of ``pattern.on(layout)``, built once."""
        return self._get(
            ("step", pattern, layout, step), lambda: StepMask(self.masks(pattern, layout), step)
        )

    def check_full_information(self, pattern: Pattern, layout: Layout, layers: int = 1) -> None:
        """Raise :class:`YlgError` unless ``layers`` stacked layers of the pattern have
        Full Information on the layout (verified by :mod:`ylg.ifg`, once per layout)."""
        self._get(
            ("verified", pattern, layout, layers),
            lambda: _verify(self.masks(pattern, layout), layers),
        )

    def head_masks(
        self, heads: tuple[Head, ...], layout: Layout, sequential: bool, verify: int
    ) -> HeadMasks:
        """The :class:`HeadMasks` of ``heads`` on ``layout``, built once, their patterns
        verified across ``verify`` layers (0: not verified)."""

        def make() -> HeadMasks:
            if verify:
                for p in dict.fromkeys(h.pattern for h in heads):
                    used = {h.step for h in heads if h.pattern == p}
                    if None not in used and len(used) < len(p.steps):
                        shown = ", ".join(str(s + 1) for s in sorted(used))
                        raise YlgError(
                            f"the heads give {p.name!r} step(s) {shown} of its"
                            f" {len(p.steps)}: without all of them the layer does not have"
                            " the pattern's Full Information (give every step a head, or"
                            " verify=False)"
                        )
                    self.check_full_information(p, layout, verify)
            stages = []
            for h in heads:
                steps = [h.step] if h.step is not None else list(range(len(h.pattern.steps)))
                # Inner steps of a sequential head run on the key grid (queries = keys).
                stages.append(
                    tuple(
                        self.step_mask(
                            h.pattern, layout.square_on_keys() if i < len(steps) - 1 else layout, s
                        )
                        for i, s in enumerate(steps)
                    )
                )
            return HeadMasks(heads, layout, sequential, tuple(stages))

        return self._get(("heads", heads, layout, sequential, verify), make)


#: The registry every layer and :func:`head_masks` use.
REGISTRY = Registry()


def clear_cache() -> None:
    """Empty :data:`REGISTRY` (masks, verdicts and head sets built so far).

    >>> clear_cache(); len(REGISTRY)
    0
    """
    REGISTRY.clear()


#: The most layers :func:`_verify` looks through for the number a pattern needs.
HINT_LAYERS = 64
#: The most stacked layers ``verify=`` may name.
MAX_VERIFY_LAYERS = 1024


def verify_layers(verify: object) -> int:
    """The layers a ``verify=`` argument asks Full Information after: ``True`` is one,
    ``False`` (or 0) none: no check; a positive integer that many.

    >>> verify_layers(True), verify_layers(False), verify_layers(4)
    (1, 0, 4)
    """
    if isinstance(verify, (bool, np.bool_)):
        return int(verify)
    if isinstance(verify, (int, np.integer)) and 0 <= verify <= MAX_VERIFY_LAYERS:
        return int(verify)
    raise YlgError(
        "verify must be True, False or a number of stacked layers up to"
        f" {MAX_VERIFY_LAYERS}, got {verify!r:.60}"
    )


def _verify(masks: Masks, layers: int = 1) -> bool:
    """True, or a :class:`YlgError` that says what is missing after ``layers`` stacked
    layers and, where some number of layers or a stride that tiles the keys gives Full
    Information, that number or that stride."""
    from ylg.ifg.stack import full_information_after

    inner = masks.square_on_keys()  # the stack's inner layers (``masks`` when square)
    verdict = full_information_after(masks, layers, inner=inner)
    if verdict.holds:
        return True
    example = ""
    if verdict.examples:
        i, icell, o, ocell = verdict.examples[0]
        example = f", e.g. input {i} {icell} never reaches output {o} {ocell}"
    after = "" if layers == 1 else f" after {layers} layers"
    raise YlgError(
        f"pattern {masks.pattern.name!r} lacks Full Information{after} on {masks.describe()}:"
        f" {verdict.missing} of {verdict.pairs} (input, output) pairs have no path{example};"
        f"{_layers_hint(masks, inner, layers)}{_stride_hint(masks, layers)}"
        " pass verify=False to use it anyway (--no-verify on the command line)"
    )


def _stride_hint(masks: Masks, layers: int) -> str:
    """`` stride='divisor(n, isqrt(n))' (s=16 here) gives it;`` where that stride rule
    repairs the pattern (see :func:`ylg.ifg.stride.tiling_stride`)."""
    from ylg.ifg.stride import TILING_STRIDE, tiling_stride

    tiled = tiling_stride(masks, layers)
    if tiled is None:
        return ""
    return f" stride={TILING_STRIDE!r} (s={tiled.stride} here) gives it;"


def _layers_hint(masks: Masks, inner: Masks, layers: int) -> str:
    """`` N stacked layers have it (verify=N);`` where the layers needed are found within
    :data:`HINT_LAYERS` (``inner`` layers on the key grid, the last ``masks``)."""
    from ylg.ifg import layers_needed
    from ylg.ifg.stack import full_information_after

    needed = layers_needed(inner, max_layers=HINT_LAYERS)
    if needed.layers is None:
        if needed.reason != "never":
            return ""
        where = "" if masks is inner else " on the key grid"
        return f" no number of stacked layers has it{where};"
    # The last layer may be non-square: the first depth whose whole stack holds.
    for depth in (needed.layers, needed.layers + 1):
        if depth > layers and (
            masks is inner or full_information_after(masks, depth, inner=inner).holds
        ):
            return f" {depth} stacked layers have it (verify={depth});"
    return ""


@renamed_keywords(steps="step_mode")
def head_masks(
    pattern: "PatternLike | Sequence[PatternLike] | None" = None,
    *,
    layout: "Layout | None" = None,
    grid: "str | Grid | tuple[int, ...] | None" = None,
    query_grid: "str | Grid | tuple[int, ...] | None" = None,
    heads: Sequence[object] | None = None,
    num_heads: int | None = None,
    order: str | None = None,
    nonsquare: str | None = None,
    step_mode: str = "parallel",
    verify: bool | int = True,
    stride: int | str | None = None,
) -> HeadMasks:
    """The verified masks of every head on a layout (cached: same arguments, same object).

    ``pattern``: ``"ylg"`` (the default: RTL and LTR in the published head order), a library name,
    a TOML path, a :class:`Pattern`, a list of these, or an ``.npz`` from ``ylg export``
    (then the layout must be the file's). The layout: a :class:`Layout`, or its key
    ``grid`` with ``query_grid``, ``order`` and ``nonsquare`` as keywords. ``heads``:
    explicit ``(pattern, step)`` pairs instead (patterns in sequential mode).
    ``num_heads`` defaults to 8, or to ``len(heads)``. ``verify``: refuse patterns that
    lack Full Information (``True``: in one layer; ``N``: after ``N`` stacked layers, as
    ``ylg verify PATTERN --layers N`` checks; ``False``: no check). ``step_mode``: one of
    :data:`STEP_MODES` (``steps=`` is its old name, deprecated). ``stride``: the stride
    rule of every head's pattern instead of its own, an integer or an expression
    evaluated on each layout (``"divisor(n, isqrt(n))"``: the block size nearest the
    square root that tiles the keys exactly, which gives RTL and LTR Full Information
    on any key count).

    >>> head_masks("fixed", grid="4x4", num_heads=2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ylg.errors.YlgError: pattern 'fixed' lacks Full Information on 4x4, esa, s=4: 120 of 256 ...
    """
    if not isinstance(step_mode, str) or step_mode not in STEP_MODES:
        raise YlgError(f"step_mode must be one of {', '.join(STEP_MODES)}, got {step_mode!r:.60}")
    layers = verify_layers(verify)
    for name, value in (("order", order), ("nonsquare", nonsquare)):
        if value is not None and not isinstance(value, str):
            raise YlgError(f"{name} must be a name or None, got {value!r:.60}")
    if num_heads is not None:
        num_heads = positive_int("num_heads", num_heads)
    if (layout is None) == (grid is None):
        raise YlgError("give the layout, or its key grid (grid=...), not both or neither")
    if layout is not None and not isinstance(layout, Layout):
        raise YlgError(f"layout must be a Layout, not {type(layout).__name__}")
    layout = Layout.of(
        layout if layout is not None else grid,  # type: ignore[arg-type]
        query_grid=query_grid,
        order=order,
        nonsquare=nonsquare,
    )
    sequential = step_mode == "sequential"
    pattern = check_pattern_argument(pattern, heads, "ylg")
    if is_exported_path(pattern):
        if stride is not None:
            raise YlgError("an exported .npz fixes its stride; leave stride=None")
        exported = load_npz(pattern)  # type: ignore[arg-type]
        fixed = exported.layout
        if (layout.grid, layout.query_grid) != (fixed.grid, fixed.query_grid):
            raise YlgError(
                f"{exported.path} holds masks for {fixed.grid} keys and {fixed.query_grid}"
                f" queries, not {layout.grid} keys and {layout.query_grid} queries"
            )
        for name in ("order", "nonsquare"):
            given, recorded = getattr(layout, name), getattr(fixed, name)
            if given is not None and given != recorded:
                raise YlgError(
                    f"{exported.path} was exported with {name}={recorded!r}, not {given!r}"
                )
        layout = fixed
        if masks_sha256(REGISTRY.masks(exported.pattern, layout).dense()) != exported.sha256:
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
    if stride is not None:
        chosen = tuple(Head(h.pattern.with_stride(stride), h.step) for h in chosen)
    return REGISTRY.head_masks(chosen, layout, sequential, layers)
