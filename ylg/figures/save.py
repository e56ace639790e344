"""Writing a figure to a file: the format from the extension, atomically, reproducibly.

PNG, SVG and PDF are written without dates and with a fixed SVG id salt, so drawing
the same figure twice gives byte-identical files.

>>> import os, tempfile
>>> from ylg.figures.style import new_figure
>>> path = os.path.join(tempfile.mkdtemp(), "empty.svg")
>>> save_figure(new_figure(1, 1), path) == path
True
>>> open(path).read(5)
'<?xml'
"""

from __future__ import annotations

import io
import os

import matplotlib
from matplotlib.figure import Figure

from ylg.errors import YlgError
from ylg.fileio import write_atomic

#: Extension -> (matplotlib format, metadata that removes dates and versions of the day).
FORMATS: dict[str, tuple[str, dict[str, object]]] = {
    ".png": ("png", {}),
    ".svg": ("svg", {"Date": None}),
    ".pdf": ("pdf", {"CreationDate": None, "ModDate": None}),
}


def figure_format(path: "str | os.PathLike[str]") -> str:
    """The format of a figure file, from its extension; :class:`YlgError` if unknown.

    >>> figure_format("ltr.PDF")
    'pdf'
    >>> figure_format("ltr.jpg")
    Traceback (most recent call last):
    ...
    ylg.errors.YlgError: cannot draw to 'ltr.jpg': the file name must end in .png, .svg or .pdf
    """
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext not in FORMATS:
        raise YlgError(
            f"cannot draw to {os.fspath(path)!r}: the file name must end in .png, .svg or .pdf"
        )
    return FORMATS[ext][0]


def figure_bytes(fig: Figure, fmt: str, dpi: float | None = None) -> bytes:
    """The figure rendered in ``fmt`` (``png``, ``svg`` or ``pdf``) as bytes.

    >>> from ylg.figures.style import new_figure
    >>> figure_bytes(new_figure(1, 1), "pdf")[:5]
    b'%PDF-'
    """
    metadata = next(meta for name, meta in FORMATS.values() if name == fmt)
    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "ylg", "pdf.compression": 6}):
        fig.savefig(buffer, format=fmt, dpi=dpi or fig.dpi, metadata=dict(metadata))
    return buffer.getvalue()


def save_figure(
    fig: Figure, path: "str | os.PathLike[str]", dpi: float | None = None
) -> "str | os.PathLike[str]":
    """Write ``fig`` to ``path`` (``.png``, ``.svg`` or ``.pdf``) atomically; return ``path``.

    ``dpi`` defaults to the figure's own, which ylg's figure functions choose so that
    every cell stays visible.
    """
    write_atomic(path, figure_bytes(fig, figure_format(path), dpi))
    return path
