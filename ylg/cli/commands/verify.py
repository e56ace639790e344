"""``ylg verify``: Full Information or k-token flow of a pattern on a grid, or Full
Information across a stack of layers (``--layers N``, ``--model FILE``) with the
receptive fields of its outputs and the layers Full Information needs."""

from __future__ import annotations

import json

import click

from ylg.cli.common_options import given
from ylg.cli.options import int_option
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
@int_option(
    "--flow",
    1,
    "Check k-token flow: every k inputs send k units to every k outputs (1: Full Information).",
    low=1,
    dest="k",
)
@click.option(
    "--exact/--sampled",
    default=None,
    help="Force the exact or the sampled k-token check (default: exact when small enough).",
)
@int_option(
    "--samples",
    DEFAULT_SAMPLES,
    "Random pairs of k-sets the sampled check tries.",
    low=1,
    high=MAX_SAMPLES,
)
@int_option("--seed", DEFAULT_SEED, "Sampling seed, 0 to 2^63-1.", low=0, high=MAX_SEED)
@int_option("--examples", 5, "Witnesses to show when the property fails.", low=0)
@int_option(
    "--max-layers",
    DEFAULT_MAX_LAYERS,
    "Stacks: most layers tried when counting the layers Full Information needs (at"
    " least --layers are).",
    low=1,
    high=MAX_LAYERS,
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
    holds; 1: it does not; 2: bad input; 3: undecided (a sampled --flow check met
    no failure, which proves nothing). For a stack it also prints the receptive
    field of the outputs (how many inputs reach each one) and the layers Full
    Information needs.

    \b
    Examples:
      ylg verify ltr --grid 128x128
      ylg verify fixed --grid 3x3 --order rowmajor
      ylg verify star --grid 8x8 --flow 2 --json
      ylg verify na --layers 4 --grid 16x32x32
      ylg verify na --layers 2 --grid 16x32x32 --param win_t=3 --param win_i=9
      ylg verify --model video-dit.toml --grid 16x32x32
    """
    from ylg.ifg.report import full_information_lines, k_flow_lines, stack_lines

    _refuse_unused(ctx, choice.stacked, k)
    shown = {"examples": examples, "progress": True}
    if choice.stacked:
        if k != 1:
            raise YlgError("--flow checks one pattern; drop --layers/--model or --flow")
        from ylg.ifg.stack import Stack, verify_stack

        stack = Stack(choice.layers, name=choice.name)
        result = verify_stack(
            stack, cycle=choice.cycle, needed=needed, max_layers=max_layers, method=method, **shown
        )
        lines = stack_lines(result)
    elif k == 1:
        from ylg.ifg import full_information

        result = full_information(choice.layers[0], **shown)
        lines = full_information_lines(result)
    else:
        from ylg.ifg.kflow import k_flow

        result = k_flow(choice.layers[0], k, exact=exact, samples=samples, seed=seed, **shown)
        lines = k_flow_lines(result)
    if as_json:
        click.echo(json.dumps(result.to_dict()))
    else:
        click.echo("\n".join(lines + _stride_hint(choice, bool(result.holds))))
    ctx.exit(UNDECIDED if result.holds is None else 0 if result.holds else 1)


_STACK = "a stack (--layers N or --model FILE)"
_FLOW = "--flow K with K >= 2"
#: Options that only some checks read: the option's name, its flags, what it goes with.
_ONLY_WITH = {
    "max_layers": ("--max-layers", _STACK),
    "needed": ("--needed/--no-needed", _STACK),
    "method": ("--method", _STACK),
    "exact": ("--exact/--sampled", _FLOW),
    "samples": ("--samples", _FLOW),
    "seed": ("--seed", _FLOW),
}


def _refuse_unused(ctx: click.Context, stacked: bool, k: int) -> None:
    """One clear error for an option given that the chosen check would ignore."""
    for name, (flags, goes_with) in _ONLY_WITH.items():
        used = stacked if goes_with == _STACK else k >= 2
        if given(ctx, name) and not used:
            raise YlgError(f"{flags} goes with {goes_with}; it would be ignored here")


#: The exit code of a check that neither holds nor fails (a sample without a failure).
UNDECIDED = 3


def _stride_hint(choice: StackChoice, holds: bool) -> list[str]:
    """A line naming the ``--stride`` that gives one pattern (repeated or not) Full
    Information where its own stride leaves a partial block of keys."""
    if holds or len(choice.cycle) != 1 or choice.model:
        return []
    from ylg.ifg.stride import TILING_STRIDE, tiling_stride

    last = choice.layers[-1]
    tiled = tiling_stride(last, len(choice.layers))
    if tiled is None:
        return []
    return [
        f"  hint: s={last.stride} leaves a partial block of {last.nk % last.stride} of"
        f" {last.nk} keys; --stride {tiled.stride} (the largest divisor of {last.nk} up to"
        f" its square root; --stride '{TILING_STRIDE}' on any grid) gives Full Information"
    ]


COMMANDS = [verify]
