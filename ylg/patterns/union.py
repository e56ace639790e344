"""The union of steps: one step that attends wherever any of several steps attends.

Heads that run side by side in one layer give each query every key one of them reads,
so the layer's information flow is the union of their steps. :func:`step_union` writes
that union as a one-step :class:`~ylg.patterns.Pattern`, which every verifier, figure
and backend then reads as any other pattern. The steps may come from different
patterns with parameters of the same names and different values (``na`` with
``win_i=3`` beside ``dilated-na`` with ``win_i=5``) and with different stride rules:
each step is written with its own pattern's parameters, and its stride on the layout,
as integers (:meth:`~ylg.patterns.Expr.substitute`). The steps must see the same
``q``, ``k``: one enumeration order and, on a non-square layout, one non-square rule.

>>> from ylg.patterns import load_pattern
>>> lay = "8x8"
>>> na = load_pattern("na").with_params(win_i=3, win_j=3).on(lay)
>>> far = load_pattern("dilated-na").with_params(win_i=3, win_j=3, dil_i=4, dil_j=4).on(lay)
>>> both = step_union([(na, 0), (far, 0)])
>>> both.name, both.params
('na + dilated-na', {})
>>> [int(c) for c in both.on(lay).counts()] == [int((na.dense(0) | far.dense(0)).sum())]
True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ylg.errors import PatternError
from ylg.patterns.layout import Layout
from ylg.patterns.masks import KEY_SIDE, QUERY_SIDE, Masks, layout_sizes
from ylg.patterns.pattern import Pattern


def step_union(parts: Sequence[tuple[Masks, int]], name: str | None = None) -> Pattern:
    """One step that attends where any of ``parts`` (laid-out patterns and a 0-based step
    of each) attends, on their layout, as a one-step pattern (named ``name``, or after
    the patterns: ``"na + dilated-na"``).

    Steps of one pattern on one layout keep its parameters and its stride rule (where
    the rule gives this layout's stride): the union holds on other grids too. Otherwise
    each step is written with its pattern's parameters as integers, and ``s`` too where
    the strides differ: the union is that of these masks, on this layout. The union
    takes the parts' order and non-square rule; steps that read ``q``, ``k`` or the
    query coordinates must see the same numbering there (orders that number the cells
    alike, as every order does on a 1-D grid, are the same here).

    >>> from ylg.patterns import load_pattern
    >>> ltr = load_pattern("ltr").on("4x4")
    >>> step_union([(ltr, 0), (ltr, 1)]).steps
    ('(q // s == k // s and k <= q) or (k == q or k % s == s - 1)',)
    >>> step_union([(ltr, 0), (load_pattern("na").on("4x4"), 0)]).order   # na reads no q, k
    'esa'
    >>> step_union([(ltr, 0), (load_pattern("rtl").on("4x4", order="rowmajor"), 0)])
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ylg.errors.PatternError: the steps of ltr (esa) and rtl (rowmajor) number the cells in ...
    """
    if not parts:
        raise PatternError("no steps to take the union of")
    for item in parts:
        if not (
            isinstance(item, tuple)
            and len(item) == 2
            and isinstance(item[0], Masks)
            and isinstance(item[1], int)
        ):
            raise PatternError(f"each part is (Masks, step), not {item!r:.60}")
        item[0]._check_step(item[1])
    first = parts[0][0]
    for masks, _ in parts[1:]:
        if (masks.grid, masks.query_grid) != (first.grid, first.query_grid):
            raise PatternError(
                f"the steps lie on different layouts ({first.describe()}; {masks.describe()})"
            )
    patterns = list(dict.fromkeys(m.pattern for m, _ in parts))
    name = name if name is not None else _names(parts)
    # The order and non-square rule of the parts that read what those decide.
    order = next((m.order for m, s in parts if m.exprs[s].variables & _NUMBERED), first.order)
    nonsquare = next(
        (m.nonsquare for m, s in parts if m.exprs[s].variables & _QUERY_SIDE), first.nonsquare
    )
    one = len(patterns) == 1 and len({m.layout for m, _ in parts}) == 1
    strides = {m.stride for m, _ in parts}
    texts: list[str] = []
    for masks, step in parts:
        values = {} if one else dict(masks.pattern.params)
        if len(strides) > 1:
            values["s"] = masks.stride
        text = masks.exprs[step].substitute(values)
        if text not in texts:
            texts.append(text)
    rule = first.pattern.stride
    keeps_rule = one and _stride_of(first.pattern, first) == first.stride
    try:
        union = Pattern(
            name=name,
            description="the union of " + ", ".join(_step_name(m, s) for m, s in parts),
            steps=(texts[0] if len(texts) == 1 else " or ".join(f"({t})" for t in texts),),
            order=order,
            stride=rule if keeps_rule else first.stride,
            nonsquare=nonsquare,
            params=dict(first.pattern.params) if one else {},
        )
    except PatternError as exc:
        raise PatternError(
            f"the union of {len(texts)} steps ({name}) cannot be written as one step: {exc}"
        ) from None
    _check_numbering(parts, union)
    return union


#: What a step reads that the enumeration order decides, and what the non-square rule does.
_NUMBERED = frozenset(("q", "k"))
_QUERY_SIDE = frozenset(QUERY_SIDE)


def _stride_of(pattern: Pattern, masks: Masks) -> int | None:
    """What the pattern's own stride rule gives on the layout of ``masks``."""
    try:
        value = pattern.stride_expr.evaluate({**layout_sizes(masks.layout), **pattern.params})
    except PatternError:
        return None
    return int(value)


def _check_numbering(parts: Sequence[tuple[Masks, int]], union: Pattern) -> None:
    """Refuse a union whose layout numbers ``q``, ``k`` or the query coordinates other
    than a part that reads them does: no one step is then the union."""
    first = parts[0][0]
    laid = union.on(Layout(first.grid, first.query_grid))
    for masks, step in parts:
        for var in sorted(masks.exprs[step].variables & set(QUERY_SIDE + KEY_SIDE)):
            if np.array_equal(masks.table(var), laid.table(var)):
                continue
            if var in _NUMBERED and masks.order != laid.order:
                what, reason = "order", "number the cells in different orders: their q and k differ"
            else:
                what, reason = "nonsquare", "map queries onto keys by different non-square rules"
            decided = getattr(laid, what)
            other = next(m for m, _ in parts if getattr(m, what) == decided)
            raise PatternError(
                f"the steps of {other.pattern.name} ({decided}) and {masks.pattern.name}"
                f" ({getattr(masks, what)}) {reason}, so no one step is their union"
            )


#: A token's own position: what a query's output also reads through the query itself
#: (coordinates only, so it joins a step of any order).
ITSELF = Pattern("itself", "the query's own token", ("qt == kt and qi == ki and qj == kj",))
#: Queries per block when :func:`own_token_needed` looks at the diagonal.
_DIAGONAL_BLOCK = 512


def own_token_needed(parts: Sequence[tuple[Masks, int]]) -> bool:
    """Whether heads side by side (one step each, ``parts``) on a square layout read each
    query's own token, which their steps do not all give it: a head's output for a
    query reads the query itself wherever the softmax has two keys or more to weigh
    (one key gets weight 1, whatever the query). True when some query attends no key of
    its own and every query either attends its own key in some head or gets two keys
    or more from one; then the union with :data:`ITSELF` is what the heads read (False
    where some query gets one key, not its own, from every head: the union alone stays
    sound, and stricter there).

    >>> from ylg.patterns import Pattern
    >>> others = Pattern("others", "", ("k != q",)).on("4")
    >>> shift = Pattern("shift", "", ("k == (q + 1) % n",)).on("4")
    >>> own_token_needed([(others, 0)]), own_token_needed([(shift, 0)])
    (True, False)
    """
    first = parts[0][0]
    if not first.square:
        return False
    own = np.zeros(first.nq, dtype=bool)
    for start in range(0, first.nq, _DIAGONAL_BLOCK):  # the diagonal, block by block
        stop = min(first.nq, start + _DIAGONAL_BLOCK)
        keys = np.arange(start, stop)
        for masks, step in parts:
            own[start:stop] |= np.diagonal(masks.rows(step, start, stop, keys))
    if own.all():
        return False  # every query attends its own key already
    weighed = np.zeros(first.nq, dtype=bool)
    for masks, step in parts:
        weighed |= masks.keys_per_query(step) >= 2
    return bool((own | weighed).all())


def heads_union(
    parts: Sequence[tuple[Masks, int]], name: str | None = None, *, reads_queries: bool = True
) -> Pattern:
    """What attention heads side by side (one step each, ``parts``) read, as one step:
    the union of their steps and, where :func:`own_token_needed` says the queries read
    it, each query's own token (:data:`ITSELF`, the name then ends in ``+ itself``;
    ``reads_queries=False``: queries that carry nothing, so never).

    >>> from ylg.patterns import Pattern
    >>> heads_union([(Pattern("others", "", ("k != q",)).on("4"), 0)]).name
    'others + itself'
    """
    if reads_queries and own_token_needed(parts):
        own = (ITSELF.on(parts[0][0].layout), 0)
        return step_union([*parts, own], name=f"{name or _names(parts)} + itself")
    return step_union(parts, name=name)


def _names(parts: Sequence[tuple[Masks, int]]) -> str:
    """``na + dilated-na``: the parts' patterns, each once."""
    return " + ".join(dict.fromkeys(m.pattern.name for m, _ in parts))


def _step_name(masks: Masks, step: int) -> str:
    """``ltr step 2`` (or the name alone for a one-step pattern)."""
    name = masks.pattern.name
    return name if masks.num_steps == 1 else f"{name} step {step + 1}"
