"""Writing files so that a crash never leaves a half-written one behind.

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "x.bin")
>>> write_atomic(path, b"abc"); open(path, "rb").read()
b'abc'
"""

from __future__ import annotations

import os
import re

from ylg.errors import YlgError

_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")
MAX_STEM = 100


def safe_stem(text: str) -> str:
    """``text`` made into one file-name component that stays in the folder it is joined to.

    Default output names are built from pattern names, which a pattern file sets freely:
    separators, ``..``, control and non-ASCII characters become ``_`` (a run of them one
    ``_``), leading dots and dashes go, and the result is at most 100 characters.

    >>> safe_stem("../../../x"), safe_stem("/etc/passwd"), safe_stem("my-ltr"), safe_stem("..")
    ('x', 'etc_passwd', 'my-ltr', 'pattern')
    """
    stem = _UNSAFE.sub("_", str(text)).lstrip("._-")[:MAX_STEM].rstrip("._-")
    return stem or "pattern"


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
