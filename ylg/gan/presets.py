"""Named training runs: the paper's Table 1 rows on ImageNet, and small ones for a laptop.

The ``imagenet-*`` presets are the paper's experiment: SAGAN's 128 px ImageNet model
(the tensorflow-gan SAGAN example the authors forked) with only the attention layer
changed. They need ``--data`` pointing at an ImageNet folder (one subfolder per class).
``digits`` and ``photos`` train on bundled data and show learning within minutes on
two CPU cores.

>>> sorted(PRESETS)[:3]
['digits', 'imagenet-sagan', 'imagenet-sagan-8h']
>>> preset("imagenet-ylg").attention, preset("imagenet-ylg").resolution
('ylg', 128)
"""

from __future__ import annotations

from ylg.errors import YlgError
from ylg.gan.config import TrainConfig

TABLE1 = {
    "sagan": "SAGAN (dense, 1 head) - Table 1, row 1",
    "sagan-8h": "SAGAN with 8 dense heads - Table 1, row 2",
    "ylg": "YLG-SAGAN (LTR+RTL with ESA, 8 heads) - Table 1, row 3",
    "ylg-noesa": "YLG - No ESA (row-major enumeration) - Table 1, row 4",
    "ylg-strided": "YLG - Strided (Full-Information strided) - Table 1, row 5",
}


def _imagenet(attention: str) -> TrainConfig:
    return TrainConfig(
        name=f"imagenet-{attention}",
        notes=TABLE1[attention],
        data="",
        resolution=128,
        attention=attention,
        conditional=True,
        class_norm="table",
        batch_size=256,
        steps=1_000_000,
        num_workers=8,
        log_every=100,
        sample_every=5000,
        checkpoint_every=5000,
        paper_compat=True,
    )


def _small() -> dict[str, TrainConfig]:
    common = dict(
        attention="ylg",
        g_channels=32,  # 64 channels at the attention layer (8 heads need a multiple of 64)
        d_channels=64,
        z_dim=64,
        class_norm="shared",
        shared_dim=32,
        ema_decay=0.99,
        ema_start=50,
        log_every=10,
        sample_every=100,
        checkpoint_every=100,
        sample_count=64,
    )
    return {
        "digits": TrainConfig(
            name="digits",
            notes="scikit-learn's handwritten digits at 32 px, 10 classes, YLG attention at 16x16",
            data="digits",
            resolution=32,
            batch_size=32,
            steps=400,
            **common,
        ),
        "photos": TrainConfig(
            name="photos",
            notes="random crops of the bundled photos at 64 px, one class per photo, "
            "YLG attention at 32x32 over 16x16 keys as in the paper",
            data="photos",
            resolution=64,
            batch_size=16,
            steps=300,
            **common,
        ),
    }


PRESETS: dict[str, TrainConfig] = {
    **{f"imagenet-{a}": _imagenet(a) for a in TABLE1},
    **_small(),
}


def preset(name: str) -> TrainConfig:
    """A copy of the named preset.

    >>> preset("nope")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ylg.errors.YlgError: unknown preset 'nope' (presets: digits, imagenet-sagan, ..., photos)
    """
    if name not in PRESETS:
        raise YlgError(f"unknown preset {name!r} (presets: {', '.join(sorted(PRESETS))})")
    return PRESETS[name].replace()
