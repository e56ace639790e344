"""``ylg repair``: extend a pattern to Full Information and write it as a pattern file."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ylg.cli.common_options import output_option
from ylg.cli.options import layout_options, pattern_argument
from ylg.errors import YlgError
from ylg.fileio import write_atomic
from ylg.patterns import Grid, Layout, Pattern

#: The grids a repaired pattern is checked on besides --grid, by number of axes.
DEFAULT_CHECKS = {
    1: "16,64,256,1024",
    2: "4x4,8x8,16x16,32x32,64x64",
    3: "2x4x4,4x8x8,8x16x16",
}


def _grids(text: str) -> list[Grid]:
    try:
        return [Grid.parse(part) for part in text.split(",") if part.strip()]
    except YlgError as exc:
        raise click.BadParameter(str(exc), param_hint="--check") from None


@click.command("repair")
@pattern_argument
@layout_options
@click.option(
    "--step",
    type=click.IntRange(min=1),
    default=None,
    help="Step to extend, 1-based (default: try each, keep the fewest added positions).",
)
@output_option(kind="file", required=True, help="Pattern file (.toml) to write.")
@click.option("--name", default=None, help="Name of the new pattern (default: NAME-fi).")
@click.option("--description", default=None, help="Description of the new pattern.")
@click.option(
    "--check",
    default=None,
    help="Grids on which to check the result besides --grid, comma-separated (default:"
    f" {DEFAULT_CHECKS[2]} for images; {DEFAULT_CHECKS[3]} for videos;"
    f" {DEFAULT_CHECKS[1]} for sequences).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
def repair_command(
    pattern: Pattern,
    layout: Layout,
    step: int | None,
    output: Path,
    name: str | None,
    description: str | None,
    check: str | None,
    as_json: bool,
) -> None:
    """Add as few attended positions as it can to one step of PATTERN so that it gets
    Full Information on --grid, and write the result as a pattern file.

    The added positions are clauses over q, k, s and n or-ed onto the step, so the
    file works on other grid sizes too; --check reports them. Exit code 0: the
    result has Full Information on --grid and every checked grid; 1: it lacks it on
    some checked grid (the file is written all the same); 2: bad input.

    \b
    Example:
      ylg repair strided --grid 16x16 -o strided-fi.toml
    """
    from ylg.ifg.repair import check_grids, laid_checked, repair, with_report
    from ylg.ifg.report import repair_lines

    checks = _grids(DEFAULT_CHECKS[layout.ndim] if check is None else check)
    masks = pattern.on(layout)
    grids = [g for g in checks if g != masks.grid] if masks.square else checks
    if masks.square:
        grids = sorted([*grids, masks.grid], key=lambda g: (g.size, g.shape))
    laid_checked(pattern, grids, order=masks.order)  # too large: refused before the repair
    result = repair(masks, step=None if step is None else step - 1, name=name, progress=True)
    results = check_grids(result, grids, order=masks.order)
    final = with_report(result, results, description=description)
    write_atomic(output, final.to_toml().encode())
    if as_json:
        payload = {**result.to_dict(), "checks": [c.to_dict() for c in results]}
        click.echo(json.dumps({**payload, "output": str(output)}))
    else:
        click.echo("\n".join(repair_lines(result, results)))
        click.echo(f"wrote {output}")
    if not all(c.holds for c in results):
        raise SystemExit(1)


COMMANDS = [repair_command]
