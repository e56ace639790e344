"""Text tables: columns padded with spaces for a terminal, or Markdown for docs.

>>> print(text_table(["name", "n"], [["ltr", "2"], ["fixed", "12"]]))
name   n
ltr    2
fixed  12
>>> print(text_table(["name", "n"], [["ltr", "2"]], markdown=True))
| name | n |
|---|---|
| ltr | 2 |
"""

from __future__ import annotations

from collections.abc import Sequence


def text_table(
    columns: Sequence[str], rows: Sequence[Sequence[str]], *, markdown: bool = False
) -> str:
    """``rows`` under ``columns``: each column as wide as its widest cell, two spaces
    apart, trailing spaces cut (or a Markdown table)."""
    if markdown:
        lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(lines)
