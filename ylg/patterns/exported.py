"""Exported mask files: what ``ylg export`` (or :meth:`Masks.save_npz`) writes, read back
with their sha256 checked, their pattern and their layout.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from ylg.deprecation import warn_renamed
from ylg.errors import PatternError
from ylg.patterns.grid import Grid
from ylg.patterns.layout import Layout
from ylg.patterns.masks import _one_line, masks_sha256
from ylg.patterns.pattern import Pattern


@dataclass(frozen=True)
class Exported:
    """An ``.npz`` written by ``ylg export`` (or :meth:`Masks.save_npz`): the masks, what
    was recorded beside them, and the pattern and layout they were built from.
    """

    path: str
    masks: np.ndarray = field(repr=False)
    meta: dict[str, Any] = field(repr=False)

    def __iter__(self) -> Iterator[Any]:
        """``masks, meta = load_npz(path)``, as before this was a value (deprecated)."""
        warn_renamed("masks, meta = load_npz(path)", "load_npz(path).masks, .meta", verb="becomes")
        return iter((self.masks, self.meta))

    @property
    def sha256(self) -> str:
        """The recorded (and checked) sha256 of the masks."""
        return self.meta["sha256"]

    @cached_property
    def pattern(self) -> Pattern:
        """The pattern the masks were built from (its TOML source, as recorded)."""
        try:
            return Pattern.from_toml(self.meta["source"], origin=self.path)
        except (KeyError, TypeError) as exc:
            raise PatternError(
                f"{self.path}: incomplete metadata in the mask file ({exc})"
            ) from exc

    @cached_property
    def layout(self) -> Layout:
        """The complete layout the masks were built on."""
        meta = self.meta
        try:
            layout = Layout(
                Grid.parse(meta["grid"]),
                Grid.parse(meta["query_grid"]),
                meta["order"],
                meta["nonsquare"],
                int(meta["stride"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise PatternError(
                f"{self.path}: incomplete metadata in the mask file ({exc})"
            ) from exc
        _, nq, nk = self.masks.shape
        if (layout.query_grid.size, layout.grid.size) != (nq, nk):
            raise PatternError(
                f"{self.path}: records {layout.query_grid} queries over {layout.grid} keys,"
                f" but its masks are {nq} x {nk}"
            )
        return layout


def load_npz(path: "str | os.PathLike[str]") -> Exported:
    """Read an exported ``.npz`` and check its sha256.

    >>> import tempfile, os
    >>> from ylg.patterns import load_pattern
    >>> path = os.path.join(tempfile.mkdtemp(), "ltr.npz")
    >>> _ = load_pattern("ltr").on("4x4").save_npz(path)
    >>> e = load_npz(path)
    >>> e.masks.shape, e.layout.describe(), e.pattern.name
    ((2, 16, 16), '4x4, esa, s=4', 'ltr')
    """
    try:
        if not zipfile.is_zipfile(path):
            raise ValueError("not an .npz archive")
        with np.load(path, allow_pickle=False) as data:
            masks = data["masks"]
            meta = json.loads(str(data["meta"]))
    except (OSError, KeyError, ValueError, EOFError, MemoryError, zipfile.BadZipFile) as exc:
        raise PatternError(f"{path}: not a ylg mask file ({_one_line(exc)})") from None
    if not isinstance(meta, dict):
        raise PatternError(f"{path}: not a ylg mask file (its meta is not a JSON object)")
    if masks.dtype != bool or masks.ndim != 3:
        raise PatternError(f"{path}: 'masks' must be a bool array [steps, nq, nk]")
    if masks_sha256(masks) != meta.get("sha256"):
        raise PatternError(f"{path}: sha256 of the masks does not match the one recorded")
    return Exported(os.fspath(path), masks, meta)
