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
from ylg.gan.models.networks import AttentionFactory, Discriminator, Generator
from ylg.gan.run.config import NAMED_ATTENTION, TrainConfig

#: What the trainer's command line calls the switch that skips the Full Information check.
NO_VERIFY_FLAG = "--no-verify"

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


def slot_pattern(slot: str, text: str = "") -> Any:
    """The :class:`~ylg.patterns.Pattern` of a pattern slot: from its stored TOML ``text``
    when given (a run's own copy), else read from the library name or file ``slot``.

    >>> slot_pattern("axial").steps
    ('qi == ki', 'qj == kj')
    >>> slot_pattern("my.toml", 'name = "p"\\nsteps = ["k == q"]').name
    'p'
    """
    from ylg.patterns import Pattern, load_pattern

    if text:
        return Pattern.from_toml(text, origin=f"the run's copy of pattern {slot}")
    try:
        return load_pattern(slot)
    except YlgError as exc:
        names = ", ".join(NAMED_SLOTS)
        raise YlgError(f"attention {slot!r}: not one of {names}, and {exc}") from None


def pattern_text(slot: str) -> str:
    """The TOML text a run stores for a pattern slot: a file's own text, or the
    library pattern written out. Named slots (``ylg``, ``sagan``, ...) have none.

    >>> pattern_text("ylg"), pattern_text("axial").splitlines()[0]
    ('', 'name = "axial"')
    """
    import os
    from pathlib import Path

    if slot in NAMED_ATTENTION:
        return ""
    pattern = slot_pattern(slot)  # checks the slot, and the file's contents
    path = Path(os.path.expanduser(slot))
    if slot.endswith(".toml") or (path.suffix == "" and path.is_file()):
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:  # pragma: no cover - read just above
            raise YlgError(f"cannot read pattern file {slot}: {exc}") from None
    return str(pattern.to_toml())


def attention_factory(
    slot: str, *, paper_compat: bool = False, pattern: str = "", verify: bool = True
) -> AttentionFactory:
    """A function ``channels -> attention layer`` for the slot name (or pattern).

    ``pattern``: the TOML text of the slot's pattern (a run's own copy); the file or
    library name ``slot`` is read only without it. ``verify``: refuse a pattern without
    Full Information (the advice in the refusal names ``ylg train --no-verify``).
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
        kwargs["pattern"] = slot_pattern(slot, pattern)

    def build(channels: int) -> nn.Module:
        try:
            return YLGAttention2d(
                channels,
                num_heads=8,
                key_pool=2,
                paper_compat=paper_compat,
                verify=verify,
                **kwargs,
            )
        except YlgError as exc:
            message = str(exc)
            if "verify=False" not in message:
                raise
            advice = f"pass {NO_VERIFY_FLAG} to ylg train (verify_attention = false in a config)"
            asked = "pass verify=False to use it anyway (--no-verify on the command line)"
            raise YlgError(message.replace(asked, f"{advice} to use it anyway")) from None

    return build


def build_models(cfg: TrainConfig, num_classes: int) -> tuple[Generator, Discriminator]:
    """G and D for a config, on the CPU (``num_classes = 0``: unconditional)."""
    factory = attention_factory(
        cfg.attention,
        paper_compat=cfg.paper_compat,
        pattern=cfg.attention_pattern,
        verify=cfg.verify_attention,
    )
    shared = cfg.shared_dim if cfg.class_norm == "shared" else 0
    g = Generator(
        cfg.resolution, cfg.z_dim, cfg.g_channels, num_classes, factory, cfg.attn_resolution, shared
    )
    d = Discriminator(
        cfg.resolution,
        cfg.d_channels,
        num_classes,
        factory,
        cfg.attn_resolution,
        minibatch_std=cfg.minibatch_std,
    )
    return g, d
