"""Where a run's config comes from: named presets (the paper's Table 1 rows on ImageNet,
small ones for a laptop) and TOML files that may start from one (:func:`load_config`).

The ``imagenet-*`` presets are the paper's experiment: SAGAN's 128 px ImageNet model
(the tensorflow-gan SAGAN example the authors forked) with only the attention layer
changed. They need ``--data`` pointing at an ImageNet folder (one subfolder per class).
``digits`` and ``photos`` train on bundled data within minutes on two CPU cores; their
widths, learning rates and lengths come from the experiments in docs/experiments.md
("The digits preset"), and they measure their own quality while they train.

>>> sorted(PRESETS)[:3]
['digits', 'imagenet-sagan', 'imagenet-sagan-8h']
>>> preset("imagenet-ylg").attention, preset("imagenet-ylg").resolution
('ylg', 128)
"""

from __future__ import annotations

import os
import sys

from ylg.errors import YlgError
from ylg.gan.run.config import TrainConfig, rederive, upgrade_keys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

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
        iterations=1_000_000,
        num_workers=8,
        log_every=100,
        sample_every=5000,
        checkpoint_every=5000,
        paper_compat=True,
    )


def _small() -> dict[str, TrainConfig]:
    common = dict(
        attention="ylg",
        # Narrow networks: convolutions take ~80% of a CPU step, so width is what costs.
        # The attention layer sits where G and D have 64 channels (8 heads need a
        # multiple of 64): G's 4g and D's 2d channels, one level below the image.
        g_channels=16,
        d_channels=32,
        z_dim=64,
        class_norm="shared",
        shared_dim=32,
        # 8x and 4x the paper's 1e-4 / 4e-4: the paper's rates (made for 1M steps) learn
        # far too slowly for a run of a few hundred steps, and twice these did worse.
        lr_g=8e-4,
        lr_d=1.6e-3,
        ema_decay=0.99,
        ema_start=50,
        channels_last=True,  # ~12% faster convolutions on the CPU
        log_every=10,
        sample_every=200,
        checkpoint_every=400,
        eval_every=200,
        eval_count=500,
    )
    return {
        "digits": TrainConfig(
            name="digits",
            notes="scikit-learn's handwritten digits at 32 px, 10 classes, YLG attention at 8x8",
            data="digits",
            resolution=32,
            attn_resolution=8,
            batch_size=16,  # per image, batch 16 learns faster than 32 (more updates)
            # Without mode seeking G draws nearly one image per digit (variety 0.27-0.45
            # of the real digits'); with it 1.00, and 1200 steps bring recognition back
            # to ~89% (docs/experiments.md, "Variety within a class").
            iterations=1200,
            mode_seeking=0.03,
            sample_count=100,  # one row of 10 per digit
            **common,
        ),
        "photos": TrainConfig(
            name="photos",
            notes="random crops of the bundled photos at 64 px, one class per photo, "
            "YLG attention at 16x16 over 8x8 keys",
            data="photos",
            resolution=64,
            attn_resolution=16,
            batch_size=16,
            # Without mode seeking G draws one framed texture per photo (variety 0.37 at
            # 300 steps); with 0.01 and 600 steps about 1.0 and a lower KID on 2 of 3
            # seeds (docs/experiments.md, "Photos: mode seeking and 600 steps").
            iterations=600,
            mode_seeking=0.01,
            sample_count=60,  # one row of 6 per photo
            **{**common, "eval_every": 100},
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


def load_config(path: str | os.PathLike[str]) -> TrainConfig:
    """Read a config TOML file. A ``preset = NAME`` key starts from that preset.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "run.toml"
    >>> _ = p.write_text('preset = "digits"\\niterations = 5\\n')
    >>> cfg = load_config(p); (cfg.name, cfg.iterations, cfg.resolution)
    ('digits', 5, 32)
    """
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise YlgError(f"config file not found: {os.fspath(path)}") from None
    except IsADirectoryError:
        raise YlgError(f"config {os.fspath(path)} is a folder, not a TOML file") from None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise YlgError(f"cannot read config {os.fspath(path)}: {reason}") from None
    table = data.get("train", data)
    if not isinstance(table, dict):
        raise YlgError(f"config {os.fspath(path)}: 'train' must be a table, not {table!r}")
    data = upgrade_keys(table)  # a run's config.toml from before a rename reads as meant
    base = data.pop("preset", None)
    if base is not None and not isinstance(base, str):
        raise YlgError(f"config {os.fspath(path)}: preset must be a name, not {base!r}")
    if base is None:
        return TrainConfig.from_dict(data)
    start = preset(str(base)).to_dict()
    start.update(data)
    rederive(start, data)
    return TrainConfig.from_dict(start)
