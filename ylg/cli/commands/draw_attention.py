"""``ylg draw attention``: what a trained attention layer attends, over an image.

Adds the ``attention`` subcommand to the ``ylg draw`` group of :mod:`ylg.cli.drawing`;
the work is :mod:`ylg.gan.invert.sources` and :mod:`ylg.gan.invert.views`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ylg.cli.common_options import (
    DRAW_SETTINGS,
    checkpoint_option,
    given,
    inversion_options,
    seed_option,
)
from ylg.cli.drawing import draw, output_option, write_figure
from ylg.cli.params import EXISTING_FILE

if TYPE_CHECKING:
    import torch

    from ylg.gan.invert.settings import Settings

LAYER_CHOICES = ("generator", "discriminator")


@draw.command("attention")
@checkpoint_option()
@click.option(
    "--image",
    type=EXISTING_FILE,
    help="A real image: the discriminator looks at it, or (--layer generator) it is "
    "inverted first with the ylg method.",
)
@seed_option("Generate the image from this seed.", default=None)
@click.option(
    "--inversion",
    type=EXISTING_FILE,
    help="A result.json written by 'ylg invert': use its kept latent and class.",
)
@click.option(
    "--layer",
    type=click.Choice(LAYER_CHOICES),
    default="generator",
    show_default=True,
    help="Whose attention layer to draw.",
)
@click.option(
    "--head",
    "heads",
    type=click.IntRange(min=0),
    multiple=True,
    help="Head to draw, from 0 (repeat for several; default: all).",
)
@click.option(
    "--query",
    "-q",
    metavar="CELL",
    help="The query cell i,j (or a position) on the layer's query grid (default: the centre).",
)
@inversion_options(DRAW_SETTINGS)
@output_option
@click.pass_context
def attention(
    ctx: click.Context,
    checkpoint: Path,
    image: Path | None,
    seed: int | None,
    inversion: Path | None,
    layer: str,
    heads: tuple[int, ...],
    query: str | None,
    settings: Settings,
    class_label: str,
    device: torch.device,
    progress: bool,
    output: Path | None,
) -> None:
    """Draw a trained layer's attention from one query cell over the image it works
    on: an image generated from --seed, an inversion (--inversion, or --image with the
    generator's layer), or a real image seen by the discriminator (--image). With
    --seed, --class auto draws the class from the seed.

    \b
    Examples:
      ylg draw attention -c runs/photos --seed 3 --head 0 --head 4 --query 0,0
      ylg draw attention -c runs/photos --inversion inversions/cat/result.json -q 8,8
      ylg draw attention -c runs/photos --image cat.png --layer discriminator -o d.png
    """
    from ylg.gan.invert import (
        image_source,
        inversion_source,
        load_models,
        query_view,
        seed_source,
        view_figure,
    )

    sources = {"--image": image, "--seed": seed, "--inversion": inversion}
    if sum(v is not None for v in sources.values()) != 1:
        raise click.UsageError("give exactly one of --image, --seed and --inversion")
    _refuse_unused(ctx, image, seed, layer)
    models = load_models(checkpoint).to(device)
    view = query_view(models, layer, heads, query)  # bad input fails before any work
    label = None if class_label == "auto" else class_label
    if inversion is not None:
        source = inversion_source(models, inversion)
    elif seed is not None:
        source = seed_source(models, seed, label, settings.truncation)
    else:
        assert image is not None
        source = image_source(models, image, layer, label, settings, progress)
    fig, name = view_figure(models, view, source)
    write_figure(fig, output, name)


def _refuse_unused(ctx: click.Context, image: Path | None, seed: int | None, layer: str) -> None:
    """One clear error for an option the chosen image source would ignore: an
    inversion's result fixes its latent and class; a seed uses the class and the
    truncation; the discriminator sees a real image as it is."""
    if image is not None and layer == "generator":
        return  # inverted first: every option applies
    used = {"class_label", "truncation"} if seed is not None else set()
    source = "--seed" if seed is not None else "--inversion" if image is None else "--image"
    if image is not None:
        source += " --layer discriminator"
    for name in (*DRAW_SETTINGS, "class_label"):
        if given(ctx, name) and name not in used:
            flag = "--class" if name == "class_label" else "--" + name.replace("_", "-")
            raise click.UsageError(f"{flag} does not apply with {source}; it would be ignored")


COMMANDS: list[click.Command] = []
