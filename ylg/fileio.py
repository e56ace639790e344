"""Writing files so that a crash never leaves a half-written one behind.

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "x.bin")
>>> write_atomic(path, b"abc"); open(path, "rb").read()
b'abc'
"""

from __future__ import annotations

import os

from ylg.errors import YlgError


def write_atomic(path: "str | os.PathLike[str]", data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise YlgError(f"cannot write {path}: {exc.strerror or exc}") from None
