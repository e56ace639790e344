"""``ylg demo``: the main job on bundled defaults, everything into one folder."""

from __future__ import annotations

from pathlib import Path

import click

from ylg.cli.commands.export import default_npz_name
from ylg.cli.commands.patterns import describe_masks
from ylg.fileio import write_atomic
from ylg.patterns import library

PAPER_PATTERNS = ("fixed", "strided", "ltr", "rtl")


@click.command("demo")
@click.option(
    "-o",
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("ylg-demo"),
    show_default=True,
    help="Folder for everything the demo makes.",
)
@click.option("--grid", default="32x32", show_default=True, help="Grid for the exported masks.")
def demo(out: Path, grid: str) -> None:
    """Show, export and describe the paper's patterns on bundled defaults.

    \b
    Example:
      ylg demo -o ylg-demo
    """
    out.mkdir(parents=True, exist_ok=True)
    patterns = library()
    click.echo("The pattern library:")
    for name, pattern in patterns.items():
        click.echo(f"  {name:<8} {len(pattern.steps)} step(s)  {pattern.description}")
    report = []
    for name in PAPER_PATTERNS:
        for order in ("esa", "rowmajor"):
            masks = patterns[name].on(grid, order=order)
            path = out / default_npz_name(masks)
            masks.save_npz(path)
            report += [*describe_masks(masks), f"exported: {path.name}", ""]
    write_atomic(out / "patterns.txt", "\n".join(report).encode())
    click.echo(f"\nExported the paper's patterns on {grid} (esa and rowmajor) and a report.")
    click.echo(f"Everything is in {out.resolve()}")


COMMANDS = [demo]
