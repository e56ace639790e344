"""The pattern library, and the one function that turns a name or a file into a Pattern.

Every named pattern is a TOML file in ``ylg/patterns/library/``, written in the same
language users write their own in; nothing is special-cased in Python.

>>> {"fixed", "strided", "ltr", "rtl"} <= set(library())
True
>>> load_pattern("ltr").steps[1]
'k == q or k % s == s - 1'
"""

from __future__ import annotations

import os
from functools import lru_cache
from importlib import resources
from pathlib import Path

from ylg.errors import PatternError
from ylg.patterns.pattern import Pattern

_PACKAGE = __name__
#: Largest pattern file read (a pattern is a few lines; this stops a wrong path early).
MAX_PATTERN_FILE = 1 << 20


@lru_cache(maxsize=1)
def library() -> dict[str, Pattern]:
    """Every shipped pattern by name, in the order of the names (``fixed`` before
    ``fixed-fi``).

    >>> library()["axial"].steps
    ('qi == ki', 'qj == kj')
    >>> [name for name in library() if name.startswith("fixed")]
    ['fixed', 'fixed-fi']
    """
    out: dict[str, Pattern] = {}
    for entry in sorted(resources.files(_PACKAGE).iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            pattern = Pattern.from_toml(entry.read_text(encoding="utf-8"), origin=entry.name)
            out[pattern.name] = pattern
    return dict(sorted(out.items()))


def load_pattern(name_or_path: "str | os.PathLike[str] | Pattern") -> Pattern:
    """A pattern by library name, or read from a TOML file anywhere.

    A bare name (``"ltr"``) always means the library, whatever files the working folder
    holds; a path (it ends in ``.toml``, holds a ``/``, or is a :class:`os.PathLike`)
    always means a file. A file named like a pattern is read as ``./name``.

    >>> load_pattern("rtl").order
    'esa'
    >>> load_pattern("nope")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ylg.errors.PatternError: unknown pattern 'nope' (library: axial, ...)
    """
    if isinstance(name_or_path, Pattern):
        return name_or_path
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise PatternError(
            f"a pattern is a library name, a file or a Pattern, not {type(name_or_path).__name__}"
        )
    text = os.fspath(name_or_path)
    if not isinstance(text, str):
        raise PatternError(f"a pattern file name must be text, not {type(text).__name__}")
    if "\x00" in text:
        raise PatternError(f"a pattern name or file cannot hold a NUL character: {text!r}")
    path = Path(text)
    separators = {"/", os.sep} | ({os.altsep} if os.altsep else set())
    if (
        not isinstance(name_or_path, str)
        or text.endswith(".toml")
        or any(sep in text for sep in separators)
    ):
        try:
            with open(path, "rb") as fh:
                raw = fh.read(MAX_PATTERN_FILE + 1)
            if len(raw) > MAX_PATTERN_FILE:
                raise PatternError(
                    f"pattern file {text} is larger than {MAX_PATTERN_FILE // 1024} KiB;"
                    " a pattern is a few lines of TOML"
                )
            source = raw.decode("utf-8")
        except FileNotFoundError:
            raise PatternError(f"no pattern file {text}") from None
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise PatternError(f"cannot read pattern file {text}: {reason}") from None
        return Pattern.from_toml(source, origin=text)
    patterns = library()
    if text not in patterns:
        names = ", ".join(sorted(patterns)[:8])
        more = ", ..." if len(patterns) >= 8 else ""
        hint = f"; to read the file {text}, write ./{text}" if path.is_file() else ""
        raise PatternError(f"unknown pattern {text!r} (library: {names}{more}){hint}")
    return patterns[text]
