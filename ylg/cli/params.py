"""Option types for numbers that must stay sane: seeds and finite positive floats.

click's ``IntRange``/``FloatRange`` let NaN through (every comparison with NaN is false)
and put no bound on a seed, which then overflows deep inside torch. These types refuse
such values with a one-line usage error, before any work starts.

>>> SEED.convert("7", None, None), POSITIVE.convert("0.5", None, None)
(7, 0.5)
>>> POSITIVE.convert("nan", None, None)
Traceback (most recent call last):
...
click.exceptions.BadParameter: 'nan' is not a finite number.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import click

#: Largest seed (as :data:`ylg.gan.run.config.SEED_MAX`, kept here so listing the commands
#: imports nothing heavy).
SEED_MAX = 2**32 - 1


class FiniteFloat(click.ParamType):
    """A finite float, optionally bounded below (``low``, exclusive when ``open_low``)
    and above (``high``, inclusive)."""

    name = "float"

    def __init__(
        self, low: float | None = None, open_low: bool = False, high: float | None = None
    ) -> None:
        self.low, self.open_low, self.high = low, open_low, high

    def convert(self, value: Any, param: Any, ctx: Any) -> float:
        if isinstance(value, float) and math.isfinite(value):
            number = value
        else:
            try:
                number = float(value)
            except (TypeError, ValueError):
                self.fail(f"{value!r} is not a number.", param, ctx)
            if not math.isfinite(number):
                self.fail(f"{value!r} is not a finite number.", param, ctx)
        if self.low is not None and (number <= self.low if self.open_low else number < self.low):
            relation = ">" if self.open_low else ">="
            self.fail(f"{value!r} is not {relation} {self.low:g}.", param, ctx)
        if self.high is not None and number > self.high:
            self.fail(f"{value!r} is not <= {self.high:g}.", param, ctx)
        return number

    def __repr__(self) -> str:
        return f"FiniteFloat({self.low}, {self.open_low}, {self.high})"


#: A seed: an integer from 0 to :data:`SEED_MAX`.
SEED = click.IntRange(0, SEED_MAX)
#: A finite number above 0.
POSITIVE = FiniteFloat(0.0, open_low=True)
#: A file that must exist (an image, a result.json), as a :class:`pathlib.Path`.
EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
