"""``ylg draw attention``: what a trained attention layer attends, over an image.

Adds the ``attention`` subcommand to ``ylg draw`` (defined in :mod:`.draw`, imported
first because command modules load in name order).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ylg.cli.drawing import draw, output_option, write_figure
from ylg.cli.options import inversion_options
from ylg.cli.params import SEED
from ylg.errors import YlgError

if TYPE_CHECKING:
    from ylg.gan.invert.loading import InversionModels
    from ylg.gan.invert.loop import Settings

LAYER_CHOICES = ("generator", "discriminator")


def _head_list(heads: tuple[int, ...], count: int) -> list[int]:
    for h in heads:
        if not 0 <= h < count:
            raise YlgError(f"--head {h}: the layer has heads 0 to {count - 1}")
    return list(heads) or list(range(count))


def _from_inversion(models: InversionModels, path: Path) -> dict[str, Any]:
    """The latent and class an inversion kept, checked against the model."""
    from ylg.gan.invert.outputs import read_result

    z, index = read_result(path)
    loaded = models.generator
    if loaded.num_classes:
        fits_class = index is not None and 0 <= index < loaded.num_classes
    else:
        fits_class = index is None
    if z.numel() != loaded.config.z_dim or not fits_class:
        raise YlgError(f"{path} was written for another model than {loaded.path}")
    return {"z": z, "class_index": index}


def _from_seed(
    models: InversionModels, seed: int, label: str | None, truncation: float
) -> dict[str, Any]:
    """A truncated-normal latent from ``seed``; the class given, or one drawn from the seed."""
    import torch

    from ylg.gan.generate import class_index
    from ylg.gan.sampling import latents

    loaded = models.generator
    gen = torch.Generator().manual_seed(seed)
    index = None
    if label is not None:
        index = class_index(loaded, label)
    elif loaded.num_classes:
        index = int(torch.randint(loaded.num_classes, (1,), generator=gen))
    return {"z": latents(1, loaded.config.z_dim, gen, truncation)[0], "class_index": index}


def _from_image(
    models: InversionModels,
    path: Path,
    layer: str,
    label: str | None,
    settings: Settings,
    progress: bool,
) -> dict[str, Any]:
    """A real image for the discriminator, or its ylg inversion for the generator."""
    from ylg.gan.invert.classes import choose_class
    from ylg.gan.invert.loop import invert_image
    from ylg.gan.invert.outputs import load_image

    device = next(models.discriminator.parameters()).device
    real = load_image(path, models.resolution).to(device)
    if layer == "discriminator":
        return {"image": real}
    index, _ = choose_class(models, label, real)
    g, d = models.generator.model, models.discriminator
    run = invert_image(
        g, d, real, "ylg", settings, class_index=index, progress=progress, label=f"{path.name}: ylg"
    )
    return {"z": run.z[run.best_seed], "class_index": index}


@draw.command("attention")
@click.option(
    "--checkpoint",
    "-c",
    required=True,
    type=click.Path(exists=True, path_type=Path),
    help="A checkpoint file, or a run folder (its latest checkpoint).",
)
@click.option(
    "--image",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A real image: the discriminator looks at it, or (--layer generator) it is "
    "inverted first with the ylg method.",
)
@click.option("--seed", type=SEED, default=None, help="Generate the image from this seed.")
@click.option(
    "--inversion",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
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
    default=None,
    metavar="CELL",
    help="The query cell i,j (or a position) on the layer's query grid (default: the centre).",
)
@inversion_options
@output_option
def attention(
    checkpoint: Path,
    image: Path | None,
    seed: int | None,
    inversion: Path | None,
    layer: str,
    heads: tuple[int, ...],
    query: str | None,
    seeds: int,
    steps: int,
    lr: float,
    truncation: float,
    class_label: str,
    device: str,
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
      ylg draw attention -c runs/photos --inversion inversions/cat/result.json -q 16,16
      ylg draw attention -c runs/photos --image cat.png --layer discriminator -o d.png
    """
    from ylg.figures import draw_query
    from ylg.figures.query import query_position
    from ylg.gan.invert.figures import to_uint8
    from ylg.gan.invert.loading import load_models
    from ylg.gan.invert.loop import Settings
    from ylg.gan.invert.taps import has_attention
    from ylg.gan.invert.views import layer_view
    from ylg.patterns import Grid

    sources = {"--image": image, "--seed": seed, "--inversion": inversion}
    if sum(v is not None for v in sources.values()) != 1:
        raise click.UsageError("give exactly one of --image, --seed and --inversion")
    from ylg.gan.devices import torch_device

    models = load_models(checkpoint).to(torch_device(device))
    loaded = models.generator
    side = loaded.config.attn_resolution
    position = query_position(Grid(side, side), query)  # bad input fails before any work
    net = loaded.model if layer == "generator" else models.discriminator
    if not has_attention(net):
        raise YlgError(f"the {layer} of {loaded.path} has no attention layer")
    chosen = _head_list(heads, net.attention.num_heads)
    label = None if class_label == "auto" else class_label
    if inversion is not None:
        source, view = inversion.parent.name or "inversion", _from_inversion(models, inversion)
    elif seed is not None:
        source, view = f"seed{seed}", _from_seed(models, seed, label, truncation)
    else:
        assert image is not None
        settings = Settings(seeds=seeds, steps=steps, lr=lr, truncation=truncation)
        source, view = image.stem, _from_image(models, image, layer, label, settings, progress)
    picture, attn = layer_view(models, layer, **view)
    weights = attn.weights[0, chosen, position].cpu().numpy()
    i, j = attn.query_grid.cell(position)
    title = f"{source}: {layer} attention of query ({i}, {j}), step {loaded.step}"
    fig = draw_query(
        weights,
        position,
        grid=attn.key_grid,
        query_grid=attn.query_grid,
        image=to_uint8(picture),
        labels=[attn.labels[h] for h in chosen],
        title=title,
    )
    write_figure(fig, output, f"attention-{source}-{layer}-q{i}-{j}.png")


COMMANDS: list[click.Command] = []
