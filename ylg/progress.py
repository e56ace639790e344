"""Progress bars that suit where they are written.

On a terminal a bar redraws itself in place (tqdm, with carriage returns). Into a log
file or a pipe those redraws would pile up as one endless line of ``\\r``-separated
updates, so there a bar writes a plain line instead, at most every
:data:`LOG_INTERVAL` seconds (and its final state, if it showed at all and is kept):
a quick bar writes nothing, a long one a line now and then.

>>> import io
>>> log = io.StringIO()
>>> for _ in progress(range(3), desc="work", file=log, mininterval=0, delay=0):
...     pass
>>> "\\r" in log.getvalue(), log.getvalue().splitlines()[-1].startswith("work: 100%")
(False, True)
>>> quiet = io.StringIO()
>>> for _ in progress(range(3), desc="work", file=quiet):
...     pass
>>> quiet.getvalue()
''
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from typing import IO, Any

from tqdm import tqdm

#: Seconds between two progress lines when the output is not a terminal.
LOG_INTERVAL = 30.0
_CURSOR = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class LineWriter:
    """A file for tqdm that turns each redraw into one line (``\\r`` and cursor moves
    dropped, blank redraws skipped), for logs and pipes."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        line = _CURSOR.sub("", text).replace("\r", "").strip()
        if line:
            self.stream.write(line + "\n")
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def progress(iterable: Iterable[Any] | None = None, *, file: Any = None, **kwargs: Any) -> tqdm:
    """A tqdm bar on ``file`` (default: stderr): redrawn in place on a terminal, one
    plain line every :data:`LOG_INTERVAL` seconds elsewhere (nothing for a quick bar).

    Takes tqdm's arguments (``total``, ``desc``, ``unit``, ``disable``, ``leave``...).

    >>> import io
    >>> with progress(total=2, desc="x", file=io.StringIO()) as bar:
    ...     bar.update(2)
    """
    stream = sys.stderr if file is None else file
    if _is_terminal(stream):
        return tqdm(iterable, file=stream, **kwargs)
    kwargs.pop("dynamic_ncols", None)
    kwargs.setdefault("mininterval", LOG_INTERVAL)
    kwargs.setdefault("maxinterval", max(LOG_INTERVAL, kwargs["mininterval"]))
    kwargs.setdefault("delay", 1.0)  # bars that end quickly leave the log alone
    return tqdm(iterable, file=LineWriter(stream), ascii=True, ncols=100, **kwargs)
