"""The ``ylg draw`` group and what its subcommands share: the ``-o`` option, default
figure names and writing a figure. Command modules add subcommands to :data:`draw`;
none imports another command module.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ylg.cli.common_options import output_option as common_output_option
from ylg.errors import YlgError
from ylg.fileio import safe_stem
from ylg.patterns import Masks

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def figure_name(masks: Masks, kind: str) -> str:
    """``<pattern>-<grid>[-q<query grid>-<rule>]-<order>-<kind>.png``.

    >>> from ylg.patterns import load_pattern
    >>> figure_name(load_pattern("rtl").on("16x16", query_grid="32x32"), "mask")
    'rtl-16x16-q32x32-repeat-esa-mask.png'

    The pattern's name is made safe (:func:`ylg.fileio.safe_stem`), so the default
    file is always in the current folder.
    """
    name = f"{safe_stem(masks.pattern.name)}-{masks.grid}"
    if not masks.square:
        name += f"-q{masks.query_grid}-{masks.nonsquare}"
    return f"{name}-{masks.order}-{kind}.png"


def check_figure_path(
    ctx: click.Context, param: click.Parameter, value: Path | None
) -> Path | None:
    """A click callback: refuse, before any drawing, a figure file of a kind ylg cannot write."""
    from ylg.figures import figure_format

    if value is not None:
        try:
            figure_format(value)
        except YlgError as exc:
            raise click.BadParameter(str(exc), ctx, param) from None
    return value


#: ``-o/--output FILE`` (also ``--out``): the figure to write (.png, .svg or .pdf),
#: checked before drawing.
output_option = common_output_option(
    kind="file",
    callback=check_figure_path,
    help="Figure to write: .png, .svg or .pdf (default: a .png named after what it shows).",
)


def write_figure(fig: Figure, output: Path | None, default: str, *, err: bool = False) -> None:
    """Save ``fig`` to ``output`` (or ``default`` in the current folder) and print the path
    (on stderr with ``err``, where stdout holds a table someone may redirect)."""
    from ylg.figures import save_figure

    path = output or Path(default)
    save_figure(fig, path)
    click.echo(f"wrote {path}", err=err)


@click.group("draw")
def draw() -> None:
    """Draw masks, information flow graphs, enumerations and one query's attention.

    \b
    Examples:
      ylg draw mask ltr --grid 3x3 --order rowmajor -o ltr-mask.png
      ylg draw ifg fixed --grid 3x3 --order rowmajor --missing
      ylg draw order --grid 8x8
      ylg draw query rtl --grid 16x16 --query 5,9 -o rtl-query.pdf
    """
