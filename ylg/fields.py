"""Settings fields that the command line also takes: how a dataclass field says so.

A settings dataclass (:class:`ylg.gan.run.config.TrainConfig`,
:class:`ylg.gan.invert.settings.Settings`) declares such a field with
``setting(default, "Help text.", low=1)``; :mod:`ylg.cli.config_options` makes the
click option from the field's name, type and this metadata, so the field, its bounds
and its help are declared once. Nothing here imports click.

>>> from dataclasses import dataclass, fields
>>> @dataclass
... class Run:
...     iterations: int = setting(10, "Train for this many iterations.", low=1)
>>> spec = fields(Run)[0].metadata["option"]
>>> spec.help, spec.low, spec.choices
('Train for this many iterations.', 1, ())
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Option:
    """How a field is also a command-line option: its help text; its name when that is
    not the field's with dashes (``verify_attention`` is ``--verify``); other names it
    also answers to (``aliases``, without dashes: an old name kept for a while); the
    bounds of a number (``open_low``: the lower one excluded); the choices of a string;
    the metavar of its help line."""

    help: str
    name: str = ""
    aliases: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    open_low: bool = False
    choices: tuple[str, ...] = ()
    metavar: str = ""


def option(help: str, **details: Any) -> dict[str, Option]:
    """The metadata of a field that is also an option (see :class:`Option` for ``details``).

    >>> option("Train for this many iterations.", low=1)["option"].low
    1
    """
    return {"option": Option(help, **details)}


def setting(default: Any, help: str, **details: Any) -> Any:
    """A dataclass field with this ``default`` that is also an option (:func:`option`).

    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Run:
    ...     seed: int = setting(0, "Seed of everything.", low=0)
    >>> Run().seed
    0
    """
    return field(default=default, metadata=option(help, **details))
