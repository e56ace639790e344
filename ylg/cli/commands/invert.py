"""``ylg invert``: find a generator's latent for real images (the paper's section 5)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ylg.cli.common_options import (
    checkpoint_option,
    inversion_options,
    output_option,
    unwritable,
)
from ylg.cli.params import EXISTING_FILE
from ylg.errors import YlgError

#: The methods of :data:`ylg.gan.invert.losses.METHODS`, named here so that listing
#: the commands does not import torch.
METHOD_CHOICES = ("ylg", "pixel", "dfeat")

if TYPE_CHECKING:
    import torch

    from ylg.gan.invert.outputs import ImageInversion
    from ylg.gan.invert.settings import Settings


def unique_folder(out: Path, stem: str, used: set[str]) -> Path:
    """``out/stem``, with ``-2``, ``-3`` ... when several images share a name; a name of
    dots only (``...png``) is ``image``, never a way out of ``out``.

    >>> [unique_folder(Path("o"), s, set()).as_posix() for s in ("cat", "..", ".")]
    ['o/cat', 'o/image', 'o/image']
    """
    stem = stem if stem.strip(".") else "image"
    name, n = stem, 1
    while name in used:
        n += 1
        name = f"{stem}-{n}"
    used.add(name)
    return out / name


@click.command("invert")
@click.argument("images", nargs=-1, required=True, type=EXISTING_FILE)
@checkpoint_option()
@click.option(
    "--method",
    type=click.Choice(METHOD_CHOICES),
    default="ylg",
    show_default=True,
    help="ylg: D features weighted by D's per-head saliency (the paper's Eq. 3); "
    "pixel: ||G(z) - x||^2 (the standard method); dfeat: unweighted D features.",
)
@inversion_options()
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
@output_option(
    kind="folder",
    default=Path("inversions"),
    help="Folder for the results, one subfolder per image.",
)
def invert(
    images: tuple[Path, ...],
    checkpoint: Path,
    method: str,
    settings: Settings,
    class_label: str,
    device: torch.device,
    progress: bool,
    queries: tuple[str, ...],
    compare: bool,
    output: Path,
) -> None:
    """Invert the generator of a checkpoint for each IMAGE: find the latent whose image
    best matches it, by gradient descent in the discriminator's feature space weighted
    by the discriminator's attention on the image (the paper's method), or by the
    pixel or unweighted-feature baselines. Writes, per image, the inversion, a
    side-by-side figure, saliency and query-attention figures, loss curves and a JSON.

    \b
    Examples:
      ylg invert bird.jpg --checkpoint runs/ylg -o inversions
      ylg invert crops/*.png -c runs/photos --method pixel --iterations 500 --class auto
    """
    from ylg.gan.invert.loading import load_models
    from ylg.gan.invert.outputs import invert_one, load_image, query_positions, write_outputs

    models = load_models(checkpoint).to(device)
    query_positions(models, list(queries))  # bad cells fail before any work
    reals = [(path, load_image(path, models.resolution)) for path in images]
    label = None if class_label == "auto" else class_label
    used: set[str] = set()
    folders = [unique_folder(output, path.stem, used) for path, _ in reals]
    for folder in folders:  # before any work: an inversion takes minutes
        if folder.exists() and not folder.is_dir():
            raise YlgError(f"cannot write the results into {folder}: it is a file")
        blocked = unwritable(folder)
        if blocked:
            raise YlgError(f"cannot write the results into {folder}: {blocked}")
    for (path, real), folder in zip(reals, folders, strict=True):
        inv = invert_one(
            models, real, path.stem, method, settings, label, compare=compare, progress=progress
        )
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
