"""How to invert: the settings of one inversion, which ``ylg invert`` also takes as options.

The paper's appendix 9.1.3 by default. Each field that the command line takes says so
in its metadata (:func:`ylg.fields.option`), and the options are made from it. This
module imports no torch, so listing the commands stays light.

>>> Settings(seeds=2).iterations, Settings().alpha
(1500, 0.5)
>>> Settings(seeds=0)
Traceback (most recent call last):
...
ylg.errors.YlgError: seeds must be at least 1, not 0
"""

from __future__ import annotations

from dataclasses import dataclass

from ylg.deprecation import renamed_keywords, warn_renamed
from ylg.errors import YlgError
from ylg.fields import setting
from ylg.gan.run.config import SEED_MAX

#: The most starting latents one inversion optimises (together, as one batch).
MAX_SEEDS = 4096


@dataclass(frozen=True)
class Settings:
    """How to invert: the paper's appendix 9.1.3 by default (Lookahead k and alpha are
    the Lookahead paper's defaults; ``seed`` seeds the starting latents)."""

    seeds: int = setting(
        4,
        "Starting latents, optimised together as one batch; the best is kept.",
        low=1,
        high=MAX_SEEDS,
    )
    iterations: int = setting(
        1500,
        "Most optimisation steps (the paper: at most 1500; --steps is its old name).",
        low=1,
        aliases=("steps",),
    )
    lr: float = setting(0.05, "Adam's learning rate (inside Lookahead).", low=0, open_low=True)
    truncation: float = setting(
        2.0,
        "Starting latents are a normal truncated here (entries beyond resampled).",
        low=0,
        open_low=True,
    )
    k: int = setting(5, "Lookahead: fast steps per slow-weight update.", name="lookahead-k", low=1)
    alpha: float = setting(
        0.5,
        "Lookahead: how far the slow weights move towards the fast ones.",
        name="lookahead-alpha",
        low=0,
        open_low=True,
        high=1,
    )
    patience: int = setting(
        0, "Stop once no seed improved by 0.1% for this many steps (0: run all steps).", low=0
    )
    seed: int = setting(0, "Seed of the start latents.", low=0, high=SEED_MAX)

    def __post_init__(self) -> None:
        for name in ("seeds", "iterations", "k"):
            if getattr(self, name) < 1:
                raise YlgError(f"{name} must be at least 1, not {getattr(self, name)}")
        if self.seeds > MAX_SEEDS:
            raise YlgError(
                f"seeds must be at most {MAX_SEEDS} (they are optimised as one batch), "
                f"not {self.seeds}"
            )
        if self.patience < 0:
            raise YlgError(f"patience must not be negative, not {self.patience}")
        if not (self.lr > 0 and self.truncation > 0 and 0 < self.alpha <= 1):
            raise YlgError(
                "the learning rate and the truncation must be positive and alpha in (0, 1]"
            )

    @property
    def steps(self) -> int:
        """Deprecated: :attr:`iterations`."""
        warn_renamed("Settings.steps", "Settings.iterations")
        return self.iterations


# Settings(steps=...) keeps working for a while (iterations' old name), with a warning.
Settings.__init__ = renamed_keywords(steps="iterations")(Settings.__init__)  # type: ignore[method-assign]
