"""Options that several commands take, each declared once: the checkpoint to read, the
file or folder to write, the device, and the settings of an inversion.

* :func:`checkpoint_option`: ``-c/--checkpoint``, a checkpoint file or a run folder
  that must exist (``ylg sample``, ``eval``, ``invert``, ``draw attention``);
* :func:`output_option`: ``-o``, also spelled ``--out`` and ``--output`` (commands
  once used one or the other), a file or a folder to write;
* :func:`device_option`: ``--device``, read by :func:`ylg.devices.torch_device` while
  the command line is parsed, so a bad device fails before anything is loaded;
* :func:`preset_option`: one of the GAN presets (``ylg train``, ``ylg info``);
* :func:`seed_option`, :func:`count_option` (``--n``), :func:`raw_option`,
  :func:`progress_option`: the same words in every command that takes them;
* :func:`inversion_options`: what ``ylg invert`` and ``ylg draw attention`` share (the
  inversion's settings made from :class:`ylg.gan.invert.settings.Settings`).

>>> from click.testing import CliRunner
>>> @click.command()
... @output_option(kind="file", help="PNG file to write.")
... @device_option()
... def show(output, device):
...     click.echo(f"{output} {device}")
>>> CliRunner().invoke(show, ["--out", "a.png", "--device", "cpu"]).output
'a.png cpu\\n'
>>> CliRunner().invoke(show, ["--device", "tpu"]).exit_code
2
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from ylg.cli.config_options import dataclass_options
from ylg.cli.params import SEED
from ylg.errors import YlgError

F = TypeVar("F", bound=Callable[..., Any])

#: What ``--checkpoint`` takes, in every command's help.
CHECKPOINT_HELP = "A checkpoint file, or a run folder (its latest checkpoint)."


def _stack(fn: F, options: list[Callable[[F], F]]) -> F:
    for option in reversed(options):
        fn = option(fn)
    return fn


def checkpoint_option(*, required: bool = True, help: str = CHECKPOINT_HELP) -> Callable[[F], F]:
    """``-c/--checkpoint PATH``: a training checkpoint file or a run folder, which must
    exist (``required=False``: the option may be left out; it is then ``None``).

    >>> option = checkpoint_option()(lambda checkpoint: None).__click_params__[0]
    >>> option.opts, option.required, option.type.exists
    (['--checkpoint', '-c'], True, True)
    """
    # No default=None: click then takes the option as given and never asks for it.
    return click.option(
        "--checkpoint",
        "-c",
        required=required,
        type=click.Path(exists=True, path_type=Path),
        help=help,
    )


def given(ctx: click.Context, name: str) -> bool:
    """Whether the option ``name`` (its parameter name) was typed on the command line,
    not left at its default: what the refusals of options a choice would ignore ask."""
    return ctx.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE


class OutputPath(click.Path):
    """A path to write: like :class:`click.Path`, and an empty name or ``-`` (which
    would make a file named ``-``, not standard output) is one clear error.

    >>> OutputPath(path_type=Path).convert(" ", None, None)
    Traceback (most recent call last):
    ...
    click.exceptions.BadParameter: the path is empty; give a file or folder name.
    """

    def __init__(self, *args: Any, suffixes: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.suffixes = suffixes  # a file's allowed endings (any when empty)

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        text = str(value)
        if not text.strip():
            self.fail("the path is empty; give a file or folder name.", param, ctx)
        if text == "-":
            self.fail(
                "'-' would be a file named '-' (ylg writes no binary output to standard"
                " output); give a file name.",
                param,
                ctx,
            )
        if not self.dir_okay and text.endswith(("/", os.sep)):
            self.fail(f"{text} names a folder; give a file name.", param, ctx)
        path = super().convert(value, param, ctx)
        if self.suffixes and Path(path).suffix.lower() not in self.suffixes:
            self.fail(f"{path}: write a {' or '.join(self.suffixes)} file.", param, ctx)
        blocked = unwritable(Path(path))
        if blocked:
            self.fail(f"cannot write {path}: {blocked}", param, ctx)
        return path


def unwritable(path: Path) -> str:
    """Why nothing can be written at ``path`` (a file or a folder to make), or "": the
    nearest part of it that exists must be a folder one may write in. Checked before
    any work, so a long run never ends on a path it could not write.

    >>> import tempfile
    >>> unwritable(Path(tempfile.mkdtemp()) / "new" / "run")
    ''
    >>> unwritable(Path(__file__) / "run")  # doctest: +ELLIPSIS
    '...common_options.py is a file, not a folder'
    """
    for part in (path, *path.parents):
        if part.exists() or part.is_symlink():
            if part == path:
                return ""  # click has checked what it is
            if not part.is_dir():
                return f"{part} is a file, not a folder"
            if not os.access(part, os.W_OK | os.X_OK):
                return f"{part} is not a folder one may write in"
            return ""
    return ""


def output_option(
    *,
    kind: str,
    help: str,
    default: Path | None = None,
    required: bool = False,
    callback: Callable[[click.Context, click.Parameter, Any], Any] | None = None,
    suffixes: tuple[str, ...] = (),
) -> Callable[[F], F]:
    """``-o/--out/--output PATH`` (the value arrives as ``output``): a ``kind="file"``
    to write (with one of ``suffixes``, when given), or a ``kind="folder"`` to write
    into; ``callback`` checks it further.

    >>> decorate = output_option(kind="folder", default=Path("runs"), help="Run folder.")
    >>> option = decorate(lambda output: None).__click_params__[0]
    >>> option.opts, option.name, option.default
    (['-o', '--out', '--output'], 'output', PosixPath('runs'))
    """
    if kind not in ("file", "folder"):
        raise ValueError(f"kind must be 'file' or 'folder', not {kind!r}")
    path = OutputPath(
        dir_okay=kind == "folder", file_okay=kind == "file", path_type=Path, suffixes=suffixes
    )
    # click takes default=None as a value given, and then never asks for a required option.
    given = {} if default is None else {"default": default, "show_default": True}
    return click.option(
        "-o",
        "--out",
        "--output",
        "output",
        type=path,
        required=required,
        callback=callback,
        help=help,
        **given,
    )


class DeviceType(click.ParamType):
    """A device for sampling, evaluation or inversion: ``auto``, ``cpu``, ``cuda``,
    ``cuda:N``, as :func:`ylg.devices.torch_device` reads it (torch is imported only
    when a command with this option runs)."""

    name = "DEVICE"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        from ylg.devices import torch_device

        try:
            return torch_device(value)
        except YlgError as exc:
            self.fail(str(exc), param, ctx)


#: The one device parameter type.
DEVICE = DeviceType()


def device_option(help: str = "Where it runs:") -> Callable[[F], F]:
    """``--device DEVICE`` (default ``auto``: CUDA when torch sees a GPU, else the CPU);
    the command receives a ``torch.device``.

    >>> device_option()(lambda device: None).__click_params__[0].type.convert("cpu", None, None)
    device(type='cpu')
    """
    return click.option(
        "--device",
        type=DEVICE,
        default="auto",
        show_default=True,
        help=f"{help} auto (CUDA when torch sees a GPU, else the CPU), cpu, cuda or cuda:N.",
    )


def seed_option(help: str, default: int | None = 0) -> Callable[[F], F]:
    """``--seed N`` (0 to 2^32-1): what it seeds is the command's ``help``.

    >>> seed_option("Seed of the latents.")(lambda seed: None).__click_params__[0].default
    0
    """
    return click.option(
        "--seed", type=SEED, default=default, show_default=default is not None, help=help
    )


def count_option(dest: str, *, low: int, default: int | None, help: str) -> Callable[[F], F]:
    """``--n N`` (at least ``low``), a number of images; the value arrives as ``dest``.

    >>> option = count_option("count", low=1, default=64, help="Images.")(lambda count: None)
    >>> option.__click_params__[0].name, option.__click_params__[0].type
    ('count', <IntRange x>=1>)
    """
    shown = default is not None
    kind = click.IntRange(min=low)
    return click.option("--n", dest, type=kind, default=default, show_default=shown, help=help)


def raw_option(help: str = "Use the trained G instead of its EMA.") -> Callable[[F], F]:
    """``--raw``: sample the trained generator, not the moving average of it.

    >>> raw_option()(lambda raw: None).__click_params__[0].is_flag
    True
    """
    return click.option("--raw", is_flag=True, help=help)


def progress_option(help: str = "Show a progress bar on stderr.") -> Callable[[F], F]:
    """``--progress/--no-progress`` (on by default).

    >>> progress_option()(lambda progress: None).__click_params__[0].secondary_opts
    ['--no-progress']
    """
    return click.option("--progress/--no-progress", default=True, help=help)


def preset_option(help: str, *, multiple: bool = False) -> Callable[[F], F]:
    """``--preset NAME`` (repeatable with ``multiple``), one of the GAN presets; the value
    arrives as ``presets`` (``multiple``) or ``preset_name``.

    >>> preset_option("Presets.", multiple=True)(lambda presets: None).__click_params__[0].name
    'presets'
    """
    from ylg.gan.run.presets import PRESETS

    names = click.Choice(sorted(PRESETS))
    dest = "presets" if multiple else "preset_name"
    return click.option("--preset", dest, type=names, multiple=multiple, help=help)


#: The settings ``ylg draw attention`` takes when it inverts an image (``ylg invert``
#: takes them all).
DRAW_SETTINGS = ("seeds", "iterations", "lr", "truncation")


def inversion_options(settings: Sequence[str] | None = None) -> Callable[[F], F]:
    """The options of an inversion, shared by ``ylg invert`` and ``ylg draw attention``:
    the fields of :class:`ylg.gan.invert.settings.Settings` (those named in ``settings``,
    or all), which arrive as one argument ``settings``; then ``--class``, ``--device``
    and ``--progress/--no-progress``.

    >>> command = inversion_options(DRAW_SETTINGS)(lambda **kwargs: None)
    >>> [p.name for p in reversed(command.__click_params__)][:5]
    ['seeds', 'iterations', 'lr', 'truncation', 'class_label']
    """
    from ylg.gan.invert.settings import Settings

    options = [
        dataclass_options(Settings, into="settings", only=settings),
        click.option(
            "--class",
            "class_label",
            default="auto",
            show_default=True,
            help="Class of a conditional model (name or index), or 'auto': the class the "
            "discriminator scores highest for the image.",
        ),
        device_option(),
        progress_option(),
    ]
    return lambda fn: _stack(fn, options)
