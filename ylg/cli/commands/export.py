"""``ylg export``: masks to an ``.npz`` file, or a pattern's NATTEN arguments as JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click

from ylg.cli.common_options import output_option
from ylg.cli.describe import default_npz_name
from ylg.cli.options import layout_options, pattern_argument
from ylg.fileio import write_atomic
from ylg.patterns import Layout, Masks, Pattern
from ylg.patterns.natten import natten_arguments, natten_function

#: What ``--format`` writes.
FORMATS = ("npz", "natten")


def natten_report(masks: Masks) -> dict[str, Any]:
    """The NATTEN call of every step of a pattern on a layout, JSON-ready.

    >>> from ylg.patterns import load_pattern
    >>> r = natten_report(load_pattern("na").with_params(win_i=3, win_j=5).on("8x8"))
    >>> r["function"], r["token_layout"], r["steps"][0]["kernel_size"]
    ('na2d', [8, 8], [3, 5])
    """
    steps = []
    for step in range(masks.num_steps):
        args = natten_arguments(masks, step)
        steps.append({name: list(values) for name, values in args.items()})
    return {
        "pattern": masks.pattern.name,
        "params": dict(masks.pattern.params),
        "grid": str(masks.grid),
        "function": natten_function(masks),
        "token_layout": list(masks.grid.shape),
        "steps": steps,
    }


def _compact(text: str) -> str:
    """JSON with every list of numbers or booleans on one line.

    >>> print(_compact('{\\n  "a": [\\n    1,\\n    2\\n  ]\\n}'))
    {
      "a": [1, 2]
    }
    """
    return re.sub(
        r"\[\s*([-0-9a-z.,\s]*?)\s*\]",
        lambda m: "[" + ", ".join(part.strip() for part in m.group(1).split(",")) + "]",
        text,
    )


@click.command("export")
@pattern_argument
@layout_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="npz",
    show_default=True,
    help="npz: the masks and their meta; natten: the arguments of NATTEN's na1d/na2d/na3d"
    " that give the same masks (JSON), for patterns that are NATTEN neighborhoods.",
)
@output_option(
    kind="file",
    help="The file to write (npz default: <pattern>-<grid>-<order>.npz here; natten"
    " default: print the JSON).",
)
def export(
    pattern: Pattern,
    layout: Layout,
    fmt: str,
    output: Path | None,
) -> None:
    """Write a pattern's masks to an .npz: `masks` (bool [steps, nq, nk], M[q, k] = query
    q may attend key k, row-major positions) and `meta` (JSON: pattern source, grids,
    order, stride, ylg version, sha256 of the masks). With --format natten, print the
    NATTEN call (kernel_size, stride, dilation, is_causal per axis) of each step instead,
    or say in one line why NATTEN cannot run the pattern.

    \b
    Examples:
      ylg export ltr --grid 16x16 --query-grid 32x32 --order esa -o ltr.npz
      ylg export na --grid 8x16x16 --param win_t=3 --format natten
    """
    if fmt == "npz" and output is not None and output.suffix.lower() != ".npz":
        raise click.BadParameter(
            f"{output}: write a .npz file (layers and load_npz know masks by it)",
            param_hint="'-o'",
        )
    masks = pattern.on(layout)
    if fmt == "natten":
        text = _compact(json.dumps(natten_report(masks), indent=2)) + "\n"
        if output is None:
            click.echo(text, nl=False)
        else:
            write_atomic(output, text.encode())
            click.echo(f"wrote {output}")
        return
    path = output or Path(default_npz_name(masks))
    meta = masks.save_npz(path)
    click.echo(f"wrote {path}  masks {tuple(meta['shape'])}  sha256 {meta['sha256'][:16]}")


COMMANDS = [export]
