"""The attention slot of SAGAN: the rows of the paper's Table 1, or any pattern.

=============  ==========================================================
slot           layer
=============  ==========================================================
``none``       no attention (the convolutional baseline)
``sagan``      dense attention, 1 head (SAGAN, Table 1 row 1)
``sagan-8h``   dense attention, 8 heads (row 2)
``ylg``        RTL + LTR with ESA, 8 heads in the published order (row 3)
``ylg-noesa``  the same masks on the row-major enumeration (row 4)
``ylg-strided`` the Full-Information Strided pattern, ESA, 8 heads (row 5)
other          a library pattern name or a pattern TOML file, 8 heads
=============  ==========================================================

Every layer pools its keys 2x2 (SAGAN's 32x32 queries over 16x16 keys).

>>> describe_slot("ylg-noesa")
'YLG - No ESA: rtl+ltr masks in row-major order, 8 heads'
>>> attention_factory("none")(64)
Identity()
"""

from __future__ import annotations

from typing import Any

from torch import nn

from ylg.errors import YlgError
from ylg.gan.models import AttentionFactory

NAMED_SLOTS = {
    "none": "no attention",
    "sagan": "SAGAN: dense attention, 1 head",
    "sagan-8h": "SAGAN 8 heads: dense attention, 8 heads",
    "ylg": "YLG-SAGAN: rtl+ltr masks with ESA, 8 heads",
    "ylg-noesa": "YLG - No ESA: rtl+ltr masks in row-major order, 8 heads",
    "ylg-strided": "YLG - Strided: Full-Information strided masks with ESA, 8 heads",
}


def describe_slot(slot: str) -> str:
    """One line saying what a slot builds."""
    return NAMED_SLOTS.get(slot, f"pattern {slot}: YLG attention, 8 heads")


def _ylg_kwargs(slot: str) -> dict[str, Any]:
    if slot == "ylg":
        return {"pattern": "ylg"}
    if slot == "ylg-noesa":
        return {"pattern": "ylg", "order": "rowmajor"}
    if slot == "ylg-strided":
        return {"pattern": "strided-fi"}
    return {"pattern": slot}


def attention_factory(slot: str, *, paper_compat: bool = False) -> AttentionFactory:
    """A function ``channels -> attention layer`` for the slot name (or pattern).

    The pattern is checked here, once, so a bad name fails before any model is built.
    """
    if slot == "none":
        return lambda channels: nn.Identity()
    from ylg.attention import SAGANAttention2d, YLGAttention2d

    if slot in ("sagan", "sagan-8h"):
        heads = 1 if slot == "sagan" else 8
        return lambda channels: SAGANAttention2d(
            channels, num_heads=heads, key_pool=2, paper_compat=paper_compat
        )
    kwargs = _ylg_kwargs(slot)
    if slot not in NAMED_SLOTS:
        from ylg.patterns import load_pattern

        try:
            kwargs["pattern"] = load_pattern(slot)
        except YlgError as exc:
            names = ", ".join(NAMED_SLOTS)
            raise YlgError(f"attention {slot!r}: not one of {names}, and {exc}") from None
    return lambda channels: YLGAttention2d(
        channels, num_heads=8, key_pool=2, paper_compat=paper_compat, **kwargs
    )
