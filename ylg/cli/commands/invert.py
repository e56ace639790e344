"""``ylg invert``: find a generator's latent for real images (the paper's section 5)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ylg.cli.options import inversion_options
from ylg.cli.params import SEED, FiniteFloat

#: The methods of :data:`ylg.gan.invert.losses.METHODS`, named here so that listing
#: the commands does not import torch.
METHOD_CHOICES = ("ylg", "pixel", "dfeat")

if TYPE_CHECKING:

    from ylg.gan.invert.outputs import ImageInversion


def unique_folder(out: Path, stem: str, used: set[str]) -> Path:
    """``out/stem``, with ``-2``, ``-3`` ... when several images share a name."""
    name, n = stem, 1
    while name in used:
        n += 1
        name = f"{stem}-{n}"
    used.add(name)
    return out / name


@click.command("invert")
@click.argument(
    "images", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--checkpoint",
    "-c",
    required=True,
    type=click.Path(exists=True, path_type=Path),
    help="A checkpoint file, or a run folder (its latest checkpoint).",
)
@click.option(
    "--method",
    type=click.Choice(METHOD_CHOICES),
    default="ylg",
    show_default=True,
    help="ylg: D features weighted by D's per-head saliency (the paper's Eq. 3); "
    "pixel: ||G(z) - x||^2 (the standard method); dfeat: unweighted D features.",
)
@inversion_options
@click.option(
    "--lookahead-k",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Lookahead: fast steps per slow-weight update.",
)
@click.option(
    "--lookahead-alpha",
    type=FiniteFloat(0.0, open_low=True, high=1.0),
    default=0.5,
    show_default=True,
    help="Lookahead: how far the slow weights move towards the fast ones.",
)
@click.option(
    "--patience",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Stop once no seed improved by 0.1% for this many steps (0: run all steps).",
)
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of the start latents.")
@click.option(
    "--query",
    "-q",
    "queries",
    multiple=True,
    metavar="CELL",
    help="Query cell i,j of the generator's attention layer to draw (repeat; default: "
    "the corner 0,0 and the centre).",
)
@click.option(
    "--compare/--no-compare",
    default=True,
    show_default=True,
    help="Also run the pixel baseline and the ylg method for the side-by-side figure.",
)
@click.option(
    "-o",
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("inversions"),
    show_default=True,
    help="Folder for the results, one subfolder per image.",
)
def invert(
    images: tuple[Path, ...],
    checkpoint: Path,
    method: str,
    seeds: int,
    steps: int,
    lr: float,
    truncation: float,
    class_label: str,
    device: str,
    progress: bool,
    lookahead_k: int,
    lookahead_alpha: float,
    patience: int,
    seed: int,
    queries: tuple[str, ...],
    compare: bool,
    out: Path,
) -> None:
    """Invert the generator of a checkpoint for each IMAGE: find the latent whose image
    best matches it, by gradient descent in the discriminator's feature space weighted
    by the discriminator's attention on the image (the paper's method), or by the
    pixel or unweighted-feature baselines. Writes, per image, the inversion, a
    side-by-side figure, saliency and query-attention figures, loss curves and a JSON.

    \b
    Examples:
      ylg invert bird.jpg --checkpoint runs/ylg -o inversions
      ylg invert crops/*.png -c runs/photos --method pixel --steps 500 --class auto
    """
    from ylg.gan.invert.loading import load_models
    from ylg.gan.invert.loop import Settings
    from ylg.gan.invert.outputs import invert_one, load_image, query_positions, write_outputs

    settings = Settings(
        seeds=seeds,
        steps=steps,
        lr=lr,
        truncation=truncation,
        k=lookahead_k,
        alpha=lookahead_alpha,
        patience=patience,
        seed=seed,
    )
    from ylg.gan.devices import torch_device

    dev = torch_device(device)
    models = load_models(checkpoint).to(dev)
    query_positions(models, list(queries))  # bad cells fail before any work
    reals = [(path, load_image(path, models.resolution)) for path in images]
    label = None if class_label == "auto" else class_label
    used: set[str] = set()
    for path, real in reals:
        inv = invert_one(
            models, real, path.stem, method, settings, label, compare=compare, progress=progress
        )
        folder = unique_folder(out, path.stem, used)
        write_outputs(folder, models, inv, settings, str(path), list(queries))
        click.echo(summary(path.name, inv, models.generator.classes) + f"; wrote {folder}/")


def summary(name: str, inv: ImageInversion, classes: list[str]) -> str:
    """One line: the class and, per method, the kept seed's pixel error and D distance."""
    parts = []
    if inv.class_index is not None:
        how = "auto" if inv.class_scores is not None else "given"
        parts.append(f"class {classes[inv.class_index]} ({how})")
    for method, run in inv.runs.items():
        m = run.metrics[run.best_seed]
        parts.append(f"{method}: pixel error {m['pixel']:.4f}, D-feature distance {m['dfeat']:.4f}")
    return f"{name}: " + "; ".join(parts)


COMMANDS = [invert]
