"""Which pattern (and which of its steps) each attention head uses.

The published YLG layer has 8 heads: RTL step 1, RTL step 2, RTL step 1, RTL step 2,
LTR step 1, LTR step 2, LTR step 1, LTR step 2. :func:`assign_heads` reproduces that
order from the pattern list ``["rtl", "ltr"]`` (the name ``"ylg"``) and generalises
it: the heads are split evenly between the patterns, and each pattern's share cycles
through its steps. Steps are 0-based, as everywhere in :mod:`ylg.patterns`.

>>> [h.label for h in assign_heads("ylg", 8)]
['rtl/1', 'rtl/2', 'rtl/1', 'rtl/2', 'ltr/1', 'ltr/2', 'ltr/1', 'ltr/2']
>>> [h.label for h in assign_heads("ylg", 4, sequential=True)]
['rtl', 'rtl', 'ltr', 'ltr']
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Union

import numpy as np

from ylg.errors import YlgError
from ylg.patterns import Pattern, load_pattern

#: A pattern as the layer accepts it: a library name, a TOML path or a Pattern.
PatternLike = Union[str, "os.PathLike[str]", Pattern]

#: The published model's patterns; their heads come in this order.
YLG_PATTERNS = ("rtl", "ltr")


@dataclass(frozen=True)
class Head:
    """One head: a pattern and the step it attends through (``None``: every step in turn)."""

    pattern: Pattern
    step: int | None

    @property
    def label(self) -> str:
        """``name/step`` with a 1-based step as the paper writes it (``rtl/1``), or the name."""
        if self.step is None:
            return self.pattern.name
        return f"{self.pattern.name}/{self.step + 1}"


def is_exported_path(pattern: object) -> bool:
    """Whether a pattern argument names an exported ``.npz``."""
    return isinstance(pattern, (str, os.PathLike)) and os.fspath(pattern).lower().endswith(".npz")


def _load(spec: "str | os.PathLike[str] | Pattern") -> Pattern:
    """One pattern; an exported ``.npz`` here (in a list, in ``heads=``) is refused by
    name: it is read only as a layer's one ``pattern`` argument."""
    if is_exported_path(spec):
        raise YlgError(
            f"{os.fspath(spec)}: an exported .npz is read only as the layer's one pattern"
            " argument, not in a list of patterns or in heads="
        )
    return load_pattern(spec)


def resolve_patterns(pattern: "PatternLike | Sequence[PatternLike]") -> tuple[Pattern, ...]:
    """``"ylg"``, one pattern or a list of them, as Pattern objects.

    >>> [p.name for p in resolve_patterns(["ltr", "axial"])]
    ['ltr', 'axial']
    """
    if isinstance(pattern, str) and pattern == "ylg":
        return tuple(load_pattern(name) for name in YLG_PATTERNS)
    if isinstance(pattern, (str, os.PathLike, Pattern)):
        return (_load(pattern),)
    if not isinstance(pattern, (list, tuple)):
        raise YlgError(
            "a pattern is a library name, a TOML path, a Pattern or a list of these,"
            f" not {type(pattern).__name__} {pattern!r:.60}"
        )
    if not pattern:
        raise YlgError("the pattern list is empty")
    for item in pattern:
        if not isinstance(item, (str, os.PathLike, Pattern)):
            raise YlgError(
                "each pattern in the list is a library name, a TOML path or a Pattern,"
                f" not {type(item).__name__} {item!r:.60}"
            )
    return tuple(p for item in pattern for p in resolve_patterns(item))


def check_pattern_argument(pattern: object, heads: object, default: str) -> Any:
    """The pattern a layer uses: ``pattern``, or ``default`` where neither it nor
    ``heads`` is given (``None`` with ``heads``, which name each head's pattern). Refuses,
    with a message about the argument given, what is not a pattern or heads, and both.

    >>> check_pattern_argument(None, None, "ylg"), check_pattern_argument("ltr", None, "ylg")
    ('ylg', 'ltr')
    >>> check_pattern_argument("ltr", [("rtl", 0)], "ylg")
    Traceback (most recent call last):
    ...
    ylg.errors.YlgError: give pattern= or heads=, not both: heads= names each head's pattern
    """
    one = (str, os.PathLike, Pattern)
    if heads is not None:
        if pattern is not None:
            raise YlgError("give pattern= or heads=, not both: heads= names each head's pattern")
        if isinstance(heads, (str, bytes)) or not isinstance(heads, Sequence) or not heads:
            raise YlgError(
                f"heads must be a non-empty list of (pattern, step) pairs, got {heads!r}"
            )
        return None
    if pattern is None:
        return default
    if isinstance(pattern, one):
        return pattern
    if isinstance(pattern, Sequence) and pattern and all(isinstance(p, one) for p in pattern):
        return pattern
    raise YlgError(
        "pattern must be a library name, a TOML or .npz path, a Pattern, or a non-empty list"
        f" of these, not {pattern!r}"
    )


def positive_int(name: str, value: object) -> int:
    """A count (channels, heads), as a Python int: numpy integers are taken, bools and
    everything else refused.

    >>> import numpy as np
    >>> positive_int("num_heads", np.int64(4))
    4
    >>> positive_int("num_heads", 0)
    Traceback (most recent call last):
    ...
    ylg.errors.YlgError: num_heads must be a positive integer, got 0
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise YlgError(f"{name} must be a positive integer, got {value!r:.60}")
    return int(value)


def assign_heads(
    pattern: "PatternLike | Sequence[PatternLike]",
    num_heads: int,
    *,
    sequential: bool = False,
) -> tuple[Head, ...]:
    """Split ``num_heads`` evenly between the patterns, each share cycling through the
    pattern's steps (parallel) or running all of them (``sequential``).

    In parallel mode every step of every pattern needs a head of its own, or the layer
    would not have the pattern it claims; too few heads is an error.
    """
    patterns = resolve_patterns(pattern)
    if isinstance(num_heads, bool) or not isinstance(num_heads, int) or num_heads < 1:
        raise YlgError(f"num_heads must be a positive integer, got {num_heads!r}")
    if num_heads % len(patterns):
        names = ", ".join(p.name for p in patterns)
        raise YlgError(
            f"{num_heads} heads cannot be split evenly between {len(patterns)} patterns ({names})"
        )
    share = num_heads // len(patterns)
    heads = []
    for p in patterns:
        if sequential:
            heads += [Head(p, None)] * share
            continue
        if share < len(p.steps):
            raise YlgError(
                f"pattern {p.name!r} has {len(p.steps)} steps but gets {share} head(s);"
                f" use at least {len(p.steps) * len(patterns)} heads or step_mode='sequential'"
            )
        heads += [Head(p, i % len(p.steps)) for i in range(share)]
    return tuple(heads)


def explicit_heads(heads: Sequence[object], *, sequential: bool = False) -> tuple[Head, ...]:
    """Heads given one by one: ``(pattern, step)`` pairs (0-based steps), or, in sequential
    mode, patterns.

    >>> [h.label for h in explicit_heads([("rtl", 0), ("window", 0)])]
    ['rtl/1', 'window/1']
    """
    if not isinstance(heads, (list, tuple)) or not heads:
        raise YlgError(f"heads must be a non-empty list, got {heads!r:.60}")
    out = []
    for item in heads:
        if sequential:
            if isinstance(item, tuple):
                raise YlgError(
                    f"with step_mode='sequential' each head runs every step of its pattern;"
                    f" give patterns, not (pattern, step) pairs like {item!r}"
                )
            out.append(Head(resolve_patterns(item)[0], None))  # type: ignore[arg-type]
            continue
        if not (isinstance(item, (tuple, list)) and len(item) == 2):
            raise YlgError(f"each head is a (pattern, step) pair, got {item!r}")
        spec, step = item
        if not isinstance(spec, (str, os.PathLike, Pattern)):
            raise YlgError(f"head {item!r:.60}: the pattern is a name, a TOML path or a Pattern")
        p = _load(spec)
        if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step < len(p.steps):
            raise YlgError(
                f"head {item!r}: step must be 0..{len(p.steps) - 1} (0-based) for {p.name!r}"
            )
        out.append(Head(p, step))
    return tuple(out)
