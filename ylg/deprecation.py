"""Renamed names: the old one keeps working, with a :class:`DeprecationWarning`, until
:data:`REMOVED_IN` (docs/architecture.md, "Renamed in this release", lists them).

>>> import warnings
>>> @renamed_keywords(steps="step_mode")
... def layer(*, step_mode="parallel"):
...     return step_mode
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     layer(steps="sequential")
'sequential'
>>> str(caught[0].message)
'layer(steps=...) is renamed layer(step_mode=...); layer(steps=...) stops working in ylg 0.3'
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

#: The release in which the old names stop working.
REMOVED_IN = "0.3"


def warn_renamed(old: str, new: str, stacklevel: int = 3, verb: str = "is renamed") -> None:
    """Warn that ``old`` is now ``new`` (a :class:`DeprecationWarning`)."""
    warnings.warn(
        f"{old} {verb} {new}; {old} stops working in ylg {REMOVED_IN}",
        DeprecationWarning,
        stacklevel=stacklevel,
    )


def renamed_keywords(**renames: str) -> Callable[[F], F]:
    """A decorator: ``fn(old=x)`` is ``fn(new=x)`` with a :class:`DeprecationWarning`,
    for each ``old="new"`` given; both at once is a :class:`TypeError`."""

    def decorate(fn: F) -> F:
        where = fn.__qualname__.removesuffix(".__init__")

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in renames.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{where}() got both {old}= and {new}= ({old} is {new})")
                    warn_renamed(f"{where}({old}=...)", f"{where}({new}=...)")
                    kwargs[new] = kwargs.pop(old)
            return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
