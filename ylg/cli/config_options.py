"""Command-line options made from a settings dataclass: one declaration serves both.

A field whose metadata holds a :class:`ylg.fields.Option` becomes ``--<name>`` (the
field's name with dashes, or the option's own ``name``): a boolean a ``--x/--no-x``
pair, an integer an ``IntRange`` over the option's bounds, a float a finite float, a
string with choices a ``Choice``. The command receives them together as one argument:

* ``overrides=True`` (``ylg train``): a dict of the options the user gave (each
  defaults to ``None``, "not given"), to change a preset or config file with;
* otherwise (``ylg invert``): an instance of the dataclass, the defaults being the
  fields' own (shown in the help).

>>> import click
>>> from click.testing import CliRunner
>>> from ylg.gan.run.config import TrainConfig
>>> @click.command()
... @dataclass_options(TrainConfig, into="changes", overrides=True)
... def show(changes):
...     click.echo(changes)
>>> CliRunner().invoke(show, ["--iterations", "5", "--no-verify"]).output
"{'verify_attention': False, 'iterations': 5}\\n"
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from ylg.cli.options import merge_options
from ylg.cli.params import FiniteFloat

F = TypeVar("F", bound=Callable[..., Any])


def _param_type(field: dataclasses.Field[Any]) -> click.ParamType:
    spec = field.metadata["option"]
    kind = str(field.type)
    if spec.choices:
        return click.Choice(spec.choices)
    if kind == "int":
        return click.IntRange(spec.low, spec.high, min_open=spec.open_low)
    if kind == "float":
        return FiniteFloat(spec.low, open_low=spec.open_low, high=spec.high)
    if kind == "str":
        return click.STRING
    raise TypeError(f"field {field.name!r} of type {kind} cannot be an option")


def field_option(field: dataclasses.Field[Any], overrides: bool = False) -> Callable[[F], F]:
    """The click option of one field (its metadata's ``"option"``, answering to its
    ``aliases`` too); its default is the field's, or ``None`` with ``overrides``.

    >>> from dataclasses import fields
    >>> from ylg.gan.run.config import TrainConfig
    >>> iterations = next(f for f in fields(TrainConfig) if f.name == "iterations")
    >>> @field_option(iterations, overrides=True)
    ... def f(iterations): ...
    >>> f.__click_params__[0].opts, f.__click_params__[0].type
    (['--iterations', '--steps'], <IntRange x>=1>)
    """
    spec = field.metadata["option"]
    name = spec.name or field.name.replace("_", "-")
    settings: dict[str, Any] = {"help": spec.help}
    if overrides:
        settings["default"] = None
    else:
        settings.update(default=field.default, show_default=True)
    if spec.metavar:
        settings["metavar"] = spec.metavar
    names = (name, *spec.aliases)
    if str(field.type) == "bool":
        return click.option(*(f"--{n}/--no-{n}" for n in names), field.name, **settings)
    return click.option(*(f"--{n}" for n in names), field.name, type=_param_type(field), **settings)


def dataclass_options(
    cls: type, *, into: str, only: Sequence[str] | None = None, overrides: bool = False
) -> Callable[[F], F]:
    """A decorator adding one option per field of the dataclass ``cls`` that declares
    one (or only the fields named in ``only``), in the order of the fields; the command
    gets their values together as its argument ``into`` (see the module's docstring)."""
    chosen = [
        f
        for f in dataclasses.fields(cls)
        if "option" in f.metadata and (only is None or f.name in only)
    ]
    if only is not None and len(chosen) != len(only):
        raise ValueError(f"{cls.__name__} has no option field among {sorted(only)}")
    names = [f.name for f in chosen]

    def build(_: dict[str, Any], **values: Any) -> tuple[str, Any]:
        if overrides:
            return into, {k: v for k, v in values.items() if v is not None}
        return into, cls(**values)

    def decorate(fn: F) -> F:
        options = [field_option(field, overrides) for field in chosen]
        return merge_options(fn, options, tuple(names), build)  # type: ignore[return-value]

    return decorate
