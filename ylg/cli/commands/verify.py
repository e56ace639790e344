"""``ylg verify``: Full Information or k-token flow of a pattern on a grid."""

from __future__ import annotations

import json

import click

from ylg.cli.options import layout_options, pattern_argument
from ylg.patterns import Layout, Pattern

# The same as ylg.ifg.kflow's (a test checks): importing it here would load scipy and
# networkx whenever any ylg command starts.
DEFAULT_SAMPLES = 200
MAX_SAMPLES = 10**6
DEFAULT_SEED = 0
MAX_SEED = 2**63 - 1


@click.command("verify")
@pattern_argument
@layout_options
@click.option(
    "--flow",
    "k",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Check k-token flow: every k inputs send k units to every k outputs (1: Full"
    " Information).",
)
@click.option(
    "--exact/--sampled",
    default=None,
    help="Force the exact or the sampled k-token check (default: exact when small enough).",
)
@click.option(
    "--samples",
    type=click.IntRange(1, MAX_SAMPLES),
    default=DEFAULT_SAMPLES,
    show_default=True,
    help="Random pairs of k-sets the sampled check tries.",
)
@click.option(
    "--seed",
    type=click.IntRange(0, MAX_SEED),
    default=DEFAULT_SEED,
    show_default=True,
    help="Sampling seed, 0 to 2^63-1.",
)
@click.option(
    "--examples",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    help="Witnesses to show when the property fails.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as one JSON object.")
@click.pass_context
def verify(
    ctx: click.Context,
    pattern: Pattern,
    layout: Layout,
    k: int,
    exact: bool | None,
    samples: int,
    seed: int,
    examples: int,
    as_json: bool,
) -> None:
    """Check that information flows from every input to every output of PATTERN.

    PATTERN is a library name or a pattern TOML file. Exit code 0: the property
    holds; 1: it does not; 2: bad input.

    \b
    Examples:
      ylg verify ltr --grid 128x128
      ylg verify fixed --grid 3x3 --order rowmajor
      ylg verify star --grid 8x8 --flow 2 --json
    """
    from ylg.ifg import full_information
    from ylg.ifg.kflow import k_flow
    from ylg.ifg.report import full_information_lines, k_flow_lines

    masks = pattern.on(layout)
    if k == 1:
        result = full_information(masks, examples=examples, progress=True)
        lines = full_information_lines(result)
    else:
        result = k_flow(
            masks, k, exact=exact, samples=samples, seed=seed, examples=examples, progress=True
        )
        lines = k_flow_lines(result)
    if as_json:
        click.echo(json.dumps(result.to_dict()))
    else:
        click.echo("\n".join(lines))
    ctx.exit(0 if result.holds else 1)


COMMANDS = [verify]
