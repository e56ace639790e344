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

from ylg.errors import PatternError
from ylg.patterns.masks import Masks
from ylg.patterns.pattern import Pattern


def step_union(parts: Sequence[tuple[Masks, int]], name: str | None = None) -> Pattern:
    """One step that attends where any of ``parts`` (laid-out patterns and a 0-based step
    of each) attends, on their layout, as a one-step pattern (named ``name``, or after
    the patterns: ``"na + dilated-na"``).

    Steps of one pattern keep its parameters and stride rule (the union holds on every
    layout). Steps of several patterns are written with their parameters as integers,
    and ``s`` too where their strides differ on this layout: the union is that of these
    masks, on this layout.

    >>> from ylg.patterns import load_pattern
    >>> ltr = load_pattern("ltr").on("4x4")
    >>> step_union([(ltr, 0), (ltr, 1)]).steps
    ('(q // s == k // s and k <= q) or (k == q or k % s == s - 1)',)
    >>> step_union([(ltr, 0), (load_pattern("na").on("4x4"), 0)])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ylg.errors.PatternError: the steps of ltr (esa) and na (rowmajor) number the cells in ...
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
        for what in ("order", "nonsquare"):
            if what == "nonsquare" and first.square:
                continue
            mine, theirs = getattr(masks, what), getattr(first, what)
            if mine != theirs:
                reason = (
                    "number the cells in different orders: their q and k differ"
                    if what == "order"
                    else "map queries onto keys by different non-square rules"
                )
                raise PatternError(
                    f"the steps of {first.pattern.name} ({theirs}) and {masks.pattern.name}"
                    f" ({mine}) {reason}, so no one step is their union"
                )
    patterns = list(dict.fromkeys(m.pattern for m, _ in parts))
    name = name if name is not None else " + ".join(dict.fromkeys(p.name for p in patterns))
    if len(patterns) == 1:
        texts = list(dict.fromkeys(first.pattern.steps[s] for _, s in parts))
        return first.pattern.with_steps(
            [texts[0] if len(texts) == 1 else " or ".join(f"({t})" for t in texts)], name=name
        )
    strides = {m.stride for m, _ in parts}
    texts = []
    for masks, step in parts:
        values = dict(masks.pattern.params)
        if len(strides) > 1:
            values["s"] = masks.stride
        text = masks.exprs[step].substitute(values)
        if text not in texts:
            texts.append(text)
    return Pattern(
        name=name,
        description="the union of " + ", ".join(_step_name(m, s) for m, s in parts),
        steps=(texts[0] if len(texts) == 1 else " or ".join(f"({t})" for t in texts),),
        order=first.order,
        stride=first.stride,
        nonsquare=first.nonsquare,
    )


def _step_name(masks: Masks, step: int) -> str:
    """``ltr step 2`` (or the name alone for a one-step pattern)."""
    name = masks.pattern.name
    return name if masks.num_steps == 1 else f"{name} step {step + 1}"
