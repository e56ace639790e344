"""What a training run is: one flat, validated record, read from presets and TOML files.

Every default says where it comes from. The run's config is saved in each checkpoint,
so a checkpoint alone rebuilds its models (``ylg sample``) and continues its run.
The fields that ``ylg train`` also takes as options say so in their metadata
(:func:`ylg.fields.option`): the command's options are made from them, so each is
declared once.

>>> [f.name for f in fields(TrainConfig) if "option" in f.metadata][:4]
['data', 'attention', 'verify_attention', 'batch_size']

>>> cfg = TrainConfig(data="digits", resolution=32, batch_size=8)
>>> cfg.attn_resolution, cfg.lr_g, cfg.betas
(16, 0.0001, (0.0, 0.9))
>>> TrainConfig(data="digits", resolution=48)
Traceback (most recent call last):
...
ylg.errors.YlgError: resolution must be one of 32, 64, 128, not 48
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from ylg.deprecation import renamed_keywords, warn_renamed
from ylg.errors import YlgError
from ylg.fields import setting

RESOLUTIONS = (32, 64, 128)
PRECISIONS = ("auto", "bf16", "fp32")
DEVICES = ("auto", "cpu", "cuda", "xla")
CLASS_NORMS = ("table", "shared")
#: The attention slots that are not patterns (the rows of the paper's Table 1).
NAMED_ATTENTION = ("none", "sagan", "sagan-8h", "ylg", "ylg-noesa", "ylg-strided")
#: Seeds are integers from 0 to SEED_MAX (they feed 64-bit torch generators after
#: a little arithmetic, so larger values would overflow).
SEED_MAX = 2**32 - 1
#: The largest batch one optimiser step takes (BigGAN's largest is 2048).
MAX_BATCH = 65536
#: Config keys that older runs' files and checkpoints hold, and their names now: such
#: files are read with the new names (always; the Python keywords are deprecated).
RENAMED_KEYS = {"steps": "iterations"}


def pattern_sha256(text: str) -> str:
    """The SHA-256 of a pattern's TOML text, as a run stores it.

    >>> pattern_sha256("")[:12]
    'e3b0c44298fc'
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def upgrade_keys(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with the keys of :data:`RENAMED_KEYS` under their new names (a run from
    before the rename reads as it was meant); both names at once is an error.

    >>> upgrade_keys({"steps": 20, "seed": 1})
    {'iterations': 20, 'seed': 1}
    """
    out = {}
    for key, value in data.items():
        new = RENAMED_KEYS.get(key)
        if new is not None:
            if new in data:
                raise YlgError(f"config has both {key!r} and {new!r} ({key} is {new}'s old name)")
            key = new
        out[key] = value
    return out


def rederive(data: dict[str, Any], changes: Mapping[str, Any]) -> None:
    """Reset in ``data`` what is derived from a key ``changes`` sets: a new
    ``resolution`` without its own ``attn_resolution`` derives that again (0 means
    derive it: 16 at 32 px, else 32, the paper's layer at 32x32).

    >>> data = {"resolution": 64, "attn_resolution": 16}
    >>> rederive(data, {"resolution": 64}); data["attn_resolution"]
    0
    """
    if "resolution" in changes and "attn_resolution" not in changes:
        data["attn_resolution"] = 0


@dataclass
class TrainConfig:
    """One training run. Fields are the keys of a config TOML file.

    ``batch_size`` is the batch of one optimiser step over all processes and
    accumulation micro-batches; each process sees ``batch_size / (world * accumulate)``.
    """

    data: str = setting("digits", "digits, photos, or a folder of images.")
    resolution: int = 32
    attention: str = setting(
        "ylg", "none, sagan, sagan-8h, ylg, ylg-noesa, ylg-strided, or a pattern name/file."
    )
    # The pattern itself (its TOML text and that text's SHA-256) when ``attention`` names
    # a pattern file or a library pattern: filled when the run starts, so the run never
    # reads the file again (see docs/training.md, "the attention pattern").
    attention_pattern: str = ""
    attention_sha256: str = ""
    verify_attention: bool = setting(
        True,
        "Refuse an attention pattern without Full Information (the default); "
        "--no-verify trains with it anyway.",
        name="verify",
    )
    attn_resolution: int = 0  # 0: 32 at 64/128 px (the paper's layer at 32x32), 16 at 32 px
    conditional: bool = True  # False trains an unconditional GAN (no labels used)
    z_dim: int = 128  # tensorflow-gan's SAGAN example (z_dim flag)
    g_channels: int = 64  # gf_dim of the tensorflow-gan SAGAN example
    d_channels: int = 64  # df_dim of the same
    class_norm: str = "table"  # table: per-layer class gain/bias (the SAGAN example);
    # shared: one shared class embedding projected in every layer (BigGAN-PyTorch)
    shared_dim: int = 128  # size of the shared class embedding (BigGAN-PyTorch)
    # the SAGAN paper trains with batch 256
    batch_size: int = setting(
        256, "Images per optimiser step, over all processes and accumulation steps.", low=1
    )
    accumulate: int = setting(1, "Gradient accumulation micro-batches per step.", low=1)
    d_steps: int = 1  # D steps per G step: 1 with the two learning rates (SAGAN, TTUR)
    lr_g: float = 1e-4  # the paper (YLG, section 4) and SAGAN
    lr_d: float = 4e-4  # the paper (YLG, section 4) and SAGAN
    beta1: float = 0.0  # SAGAN paper, section 5 (the tensorflow-gan example: beta1 = 0 too)
    beta2: float = 0.9  # SAGAN paper, section 5 (the tensorflow-gan example leaves 0.999)
    # Variety within a class (SAGAN has neither: 0 and 0.0 keep its networks and loss).
    minibatch_std: int = setting(
        0,
        "Group size of the discriminator's minibatch standard deviation (ProGAN); 0: off.",
        low=0,
    )
    mode_seeking: float = setting(
        0.0,
        "Weight of the mode-seeking term in G's loss (MSGAN): pairs of latents of one class"
        " should give different images; 0: off.",
    )
    ema_decay: float = 0.9999  # EMA of G for sampling, as BigGAN-PyTorch
    ema_start: int = 1000  # before this step the EMA copies G (BigGAN-PyTorch: 20000)
    # the paper trains up to 1.5M steps and reports the best
    iterations: int = setting(
        1_000_000,
        "Train up to this iteration (one generator step each; --steps is its old name).",
        low=1,
        aliases=("steps",),
    )
    seed: int = setting(
        0, "Seed of weights, latents and data order (0 to 2^32-1).", low=0, high=SEED_MAX
    )
    device: str = setting(
        "auto",
        "Where it trains; auto (the default): XLA when torch_xla is installed and "
        "PJRT_DEVICE set, else CUDA when torch sees a GPU, else the CPU.",
        choices=DEVICES,
    )
    precision: str = setting(
        "auto",
        "auto: bf16 autocast on CUDA (with bf16) and TPU, fp32 elsewhere.",
        choices=PRECISIONS,
    )
    compile: bool = setting(
        False, "Run G and D under torch.compile (off by default; see docs/training.md)."
    )
    channels_last: bool = setting(
        False, "NHWC memory format for G, D and images (for CUDA tensor cores)."
    )
    num_workers: int = setting(0, "Data loader processes (for folders of images).", low=0)
    log_every: int = 10
    sample_every: int = 500
    checkpoint_every: int = setting(
        1000, "Steps between checkpoints (one is always written at the end).", low=1
    )
    keep_checkpoints: int = 3
    sample_count: int = 64  # images in each sample grid
    eval_every: int = setting(
        0,
        "Measure quality every N steps and at the end (KID; digits: the share an SVM "
        "recognises), into log.jsonl, TensorBoard and curves.png; 0: never.",
        low=0,
        metavar="N",
    )
    eval_count: int = 500  # samples (and real images) per quality measurement
    tensorboard: bool = True
    paper_compat: bool = False  # the authors' attention details (see ylg.attention)
    name: str = "custom"
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._coerce()
        self._check()

    def _coerce(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type == "float" and isinstance(value, int) and not isinstance(value, bool):
                setattr(self, f.name, float(value))  # Adam betas must be floats (XLA)
        if not self.attn_resolution and isinstance(self.resolution, int):
            self.attn_resolution = 16 if self.resolution == 32 else 32

    def _check(self) -> None:
        for f in fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            want = {"int": int, "float": float, "bool": bool, "str": str}[str(f.type)]
            if not isinstance(value, want) or (want is int and isinstance(value, bool)):
                raise YlgError(f"config key {f.name!r} must be {str(f.type)}, not {value!r}")
            if want is float and not math.isfinite(value):
                raise YlgError(f"config key {f.name!r} must be a finite number, not {value!r}")
        if self.resolution not in RESOLUTIONS:
            raise YlgError(
                f"resolution must be one of {', '.join(map(str, RESOLUTIONS))}, "
                f"not {self.resolution}"
            )
        if self.attn_resolution not in (8, 16, 32, 64) or self.attn_resolution >= self.resolution:
            raise YlgError(
                f"attn_resolution must be a power of two from 8 below the resolution "
                f"({self.resolution}), not {self.attn_resolution}"
            )
        for key, choices in (
            ("precision", PRECISIONS),
            ("device", DEVICES),
            ("class_norm", CLASS_NORMS),
        ):
            if getattr(self, key) not in choices:
                raise YlgError(
                    f"{key} must be one of {', '.join(choices)}, not {getattr(self, key)!r}"
                )
        for key in (
            "batch_size",
            "accumulate",
            "d_steps",
            "iterations",
            "z_dim",
            "log_every",
            "sample_every",
            "checkpoint_every",
            "keep_checkpoints",
            "sample_count",
            "shared_dim",
        ):
            if getattr(self, key) < 1:
                raise YlgError(f"{key} must be at least 1, not {getattr(self, key)}")
        if self.batch_size > MAX_BATCH:
            raise YlgError(f"batch_size must be at most {MAX_BATCH}, not {self.batch_size}")
        for key in ("g_channels", "d_channels"):
            if getattr(self, key) < 8 or getattr(self, key) % 8:
                raise YlgError(f"{key} must be a positive multiple of 8, not {getattr(self, key)}")
        if self.num_workers < 0 or self.ema_start < 0:
            raise YlgError("num_workers and ema_start must not be negative")
        if self.eval_every < 0:
            raise YlgError(f"eval_every must not be negative (0: never), not {self.eval_every}")
        if self.eval_count < 10:
            raise YlgError(f"eval_count must be at least 10, not {self.eval_count}")
        if not (0.0 <= self.ema_decay < 1.0):
            raise YlgError(f"ema_decay must be in [0, 1), not {self.ema_decay}")
        if not (0.0 <= self.beta1 < 1.0 and 0.0 <= self.beta2 < 1.0):
            raise YlgError(f"Adam betas must be in [0, 1), not ({self.beta1}, {self.beta2})")
        if self.minibatch_std < 0:
            raise YlgError(f"minibatch_std must be a group size >= 0, not {self.minibatch_std}")
        if not (math.isfinite(self.mode_seeking) and self.mode_seeking >= 0):
            raise YlgError(f"mode_seeking must be a weight >= 0, not {self.mode_seeking}")
        for key in ("lr_g", "lr_d"):
            if getattr(self, key) <= 0:
                raise YlgError(f"{key} must be a positive learning rate, not {getattr(self, key)}")
        if not 0 <= self.seed <= SEED_MAX:
            raise YlgError(f"seed must be an integer from 0 to {SEED_MAX}, not {self.seed}")
        self._check_pattern()
        if self.extra:
            raise YlgError(f"unknown config key(s): {', '.join(sorted(self.extra))}")

    def _check_pattern(self) -> None:
        if self.attention in NAMED_ATTENTION:
            if self.attention_pattern or self.attention_sha256:
                raise YlgError(
                    f"attention {self.attention!r} takes no attention_pattern (it is not a "
                    "pattern file); remove attention_pattern and attention_sha256"
                )
            return
        if self.attention_sha256 and not self.attention_pattern:
            raise YlgError("attention_sha256 is given without the attention_pattern it digests")
        if self.attention_pattern and self.attention_sha256:
            actual = pattern_sha256(self.attention_pattern)
            if actual != self.attention_sha256:
                raise YlgError(
                    f"attention_pattern does not match attention_sha256 ({actual[:12]}... "
                    f"!= {self.attention_sha256[:12]}...): was the pattern text edited? "
                    "Remove attention_sha256 to use the text as it is"
                )

    @property
    def steps(self) -> int:
        """Deprecated: :attr:`iterations` (``steps`` is a pattern's steps)."""
        warn_renamed("TrainConfig.steps", "TrainConfig.iterations")
        return self.iterations

    @property
    def betas(self) -> tuple[float, float]:
        """Adam's betas, as floats."""
        return (float(self.beta1), float(self.beta2))

    def micro_batch(self, world_size: int) -> int:
        """The batch one process computes per micro-step.

        >>> TrainConfig(batch_size=8, accumulate=2).micro_batch(2)
        2
        """
        parts = world_size * self.accumulate
        if self.batch_size % parts:
            raise YlgError(
                f"batch_size {self.batch_size} does not split over {world_size} process(es) "
                f"x {self.accumulate} accumulation step(s)"
            )
        return self.batch_size // parts

    def to_dict(self) -> dict[str, Any]:
        """Plain values, ready for TOML, JSON or a checkpoint."""
        out = dataclasses.asdict(self)
        out.pop("extra")
        return out

    @renamed_keywords(**RENAMED_KEYS)
    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with some keys changed (``None`` values are ignored)."""
        known = {f.name for f in fields(self)}
        bad = sorted(set(changes) - known)
        if bad:
            raise YlgError(f"unknown config key(s): {', '.join(bad)}")
        data = self.to_dict()
        data.update({k: v for k, v in changes.items() if v is not None})
        rederive(data, changes)
        if changes.get("attention") is not None and "attention_pattern" not in changes:
            # an attention named again: its pattern is read again from where it names
            data["attention_pattern"] = data["attention_sha256"] = ""
        return TrainConfig(**data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Build from a mapping (a config file's, a checkpoint's; old key names read as
        the new ones, :func:`upgrade_keys`); unknown keys are an error that names them."""
        data = upgrade_keys(data)
        known = {f.name for f in fields(cls)} - {"extra"}
        values = {k: v for k, v in data.items() if k in known}
        extra = {k: v for k, v in data.items() if k not in known}
        return cls(**values, extra=extra)


# TrainConfig(steps=...) keeps working for a while (iterations' old name), with a warning.
TrainConfig.__init__ = renamed_keywords(**RENAMED_KEYS)(TrainConfig.__init__)  # type: ignore[method-assign]


def config_toml(cfg: TrainConfig) -> str:
    """The config as a TOML file that ``--config`` reads back (the pattern text last, as
    a multi-line string), written by tomli-w like pattern files.

    >>> text = 'name = "a"\\nsteps = ["k == q"]\\n'
    >>> cfg = TrainConfig(attention="axial", attention_pattern=text)
    >>> from ylg.gan.run.presets import tomllib
    >>> TrainConfig.from_dict(tomllib.loads(config_toml(cfg))) == cfg
    True
    """
    import tomli_w

    data = cfg.to_dict()
    for key, value in data.items():
        if isinstance(value, str) and any(0xD800 <= ord(ch) <= 0xDFFF for ch in value):
            raise YlgError(f"cannot write {key} {value[:40]!r} as TOML (lone surrogate)")
    last = {k: v for k, v in data.items() if isinstance(v, str) and "\n" in v}
    ordered = {**{k: v for k, v in data.items() if k not in last}, **last}
    try:
        return tomli_w.dumps(ordered, multiline_strings=True)
    except (TypeError, ValueError, UnicodeError) as exc:
        raise YlgError(f"cannot write this config as TOML ({exc})") from None
