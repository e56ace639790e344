"""What commands print and name: descriptions of masks and of a run's quality, default
file names. Shared by the command modules, which never import each other.

>>> from ylg.patterns import load_pattern
>>> default_npz_name(load_pattern("ltr").on("4x4"))
'ltr-4x4-esa.npz'
"""

from __future__ import annotations

from ylg.fileio import safe_stem
from ylg.patterns import Masks


def default_npz_name(masks: Masks) -> str:
    """``<pattern>-<grid>[-q<query grid>]-<order>.npz``, a name in the current folder
    whatever the pattern's name holds (see :func:`ylg.fileio.safe_stem`)."""
    name = f"{safe_stem(masks.pattern.name)}-{masks.grid}"
    if not masks.square:
        name += f"-q{masks.query_grid}-{masks.nonsquare}"
    return f"{name}-{masks.order}.npz"


def describe_masks(masks: Masks) -> list[str]:
    """Lines that describe a pattern on a layout: steps, counts, keys per query."""
    pattern = masks.pattern
    title = f"pattern {pattern.name}" + (f": {pattern.description}" if pattern.description else "")
    lines = [title, f"layout: {masks.describe()}"]
    for i, source in enumerate(pattern.steps):
        per = masks.keys_per_query(i)
        lines.append(f"step {i + 1}: {source}")
        lines.append(
            f"  ones: {int(per.sum())} of {masks.nq * masks.nk}"
            f" ({per.sum() / (masks.nq * masks.nk):.2%});"
            f" keys per query: min {per.min()}, mean {per.mean():.2f}, max {per.max()}"
        )
    if pattern.notes:
        lines.append(f"notes: {pattern.notes}")
    return lines


def quality_line(quality: dict[str, float]) -> str:
    r"""A measurement of :mod:`ylg.gan.training.quality` in words.

    >>> line = quality_line({"kid": 0.0123, "digits_recognised": 0.9312, "diversity": 0.8})
    >>> print(line.replace(", ", "\n"))
    93.1% of samples recognised as their digit by an SVM (real digits: ~100%)
    KID 0.0123
    variety within a class 0.80 of the real images'
    """
    parts = []
    if "digits_recognised" in quality:
        parts.append(
            f"{quality['digits_recognised']:.1%} of samples recognised as their digit "
            "by an SVM (real digits: ~100%)"
        )
    if "kid" in quality:
        parts.append(f"KID {quality['kid']:.4f}")
    if "diversity" in quality:
        parts.append(f"variety within a class {quality['diversity']:.2f} of the real images'")
    return ", ".join(parts)
