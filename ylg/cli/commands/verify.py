"""``ylg verify``: Full Information or k-token flow of a pattern on a grid, or Full
Information across a stack of layers (``--layers N``, ``--model FILE``) with the
receptive fields of its outputs and the layers Full Information needs."""

from __future__ import annotations

import json

import click

from ylg.cli.stacking import StackChoice, stack_options
from ylg.errors import YlgError

# The same as ylg.ifg.kflow's (a test checks): importing it here would load scipy and
# networkx whenever any ylg command starts.
DEFAULT_SAMPLES = 200
MAX_SAMPLES = 10**6
DEFAULT_SEED = 0
MAX_SEED = 2**63 - 1
#: The same as ylg.ifg.stack's.
DEFAULT_MAX_LAYERS = 256
MAX_LAYERS = 1 << 16
METHODS = ("auto", "bitsets")


@click.command("verify")
@stack_options
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
@click.option(
    "--max-layers",
    type=click.IntRange(1, MAX_LAYERS),
    default=DEFAULT_MAX_LAYERS,
    show_default=True,
    help="Stacks: most layers tried when counting the layers Full Information needs.",
)
@click.option(
    "--needed/--no-needed",
    default=True,
    show_default=True,
    help="Stacks: count the layers Full Information needs (the pattern, or the model's"
    " layers, repeated).",
)
@click.option(
    "--method",
    type=click.Choice(METHODS),
    default="auto",
    show_default=True,
    help="Stacks: auto splits the reach per group of grid axes where the steps allow it;"
    " bitsets works on the whole grid.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as one JSON object.")
@click.pass_context
def verify(
    ctx: click.Context,
    choice: StackChoice,
    k: int,
    exact: bool | None,
    samples: int,
    seed: int,
    examples: int,
    max_layers: int,
    needed: bool,
    method: str,
    as_json: bool,
) -> None:
    """Check that information flows from every input to every output of PATTERN, or
    of a stack of layers: PATTERN repeated --layers times, or a model file (--model).

    PATTERN is a library name or a pattern TOML file. Exit code 0: the property
    holds; 1: it does not; 2: bad input. For a stack it also prints the receptive
    field of the outputs (how many inputs reach each one) and the layers Full
    Information needs.

    \b
    Examples:
      ylg verify ltr --grid 128x128
      ylg verify fixed --grid 3x3 --order rowmajor
      ylg verify star --grid 8x8 --flow 2 --json
      ylg verify na --layers 4 --grid 16x32x32
      ylg verify na --layers 2 --grid 16x32x32 --param win_t=3 --param win_i=9
      ylg verify --model video.toml --grid 16x32x32
    """
    from ylg.ifg.report import full_information_lines, k_flow_lines, stack_lines

    if choice.stacked:
        if k != 1:
            raise YlgError("--flow checks one pattern; drop --layers/--model or --flow")
        from ylg.ifg.stack import Stack, verify_stack

        result = verify_stack(
            Stack(choice.layers, name=choice.name),
            cycle=choice.cycle,
            examples=examples,
            needed=needed,
            max_layers=max_layers,
            method=method,
            progress=True,
        )
        lines = stack_lines(result)
    elif k == 1:
        from ylg.ifg import full_information

        result = full_information(choice.layers[0], examples=examples, progress=True)
        lines = full_information_lines(result)
    else:
        from ylg.ifg.kflow import k_flow

        result = k_flow(
            choice.layers[0],
            k,
            exact=exact,
            samples=samples,
            seed=seed,
            examples=examples,
            progress=True,
        )
        lines = k_flow_lines(result)
    if as_json:
        click.echo(json.dumps(result.to_dict()))
    else:
        click.echo("\n".join(lines))
    ctx.exit(0 if result.holds else 1)


COMMANDS = [verify]
