"""``ylg sample``: a grid of images from a trained generator."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ylg.cli.common_options import (
    checkpoint_option,
    count_option,
    device_option,
    output_option,
    raw_option,
    seed_option,
)
from ylg.cli.params import POSITIVE

if TYPE_CHECKING:
    import torch


@click.command("sample")
@checkpoint_option()
@count_option("count", low=1, default=64, help="Number of images.")
@click.option(
    "--class",
    "class_label",
    default=None,
    help="Only this class (name or index); default: cycle through the classes.",
)
@click.option(
    "--truncation",
    type=POSITIVE,
    default=None,
    help="Truncation trick: latent entries from the normal truncated to this magnitude "
    "(a positive number; the paper used 2 for inversion).",
)
@seed_option("Seed of the latents (0 to 2^32-1).")
@raw_option()
@device_option()
@output_option(kind="file", required=True, help="PNG file to write.", suffixes=(".png",))
def sample(
    checkpoint: Path,
    count: int,
    class_label: str | None,
    truncation: float | None,
    seed: int,
    raw: bool,
    device: torch.device,
    output: Path,
) -> None:
    """Draw a grid of samples from a checkpoint's generator (its EMA by default).

    A conditional model's grid has one row per class (with many classes, rows for
    classes spread over all of them), whole rows only: with 10 classes, --n 64 draws
    6 of each (60, as the message says); --class draws one class only.

    \b
    Examples:
      ylg sample --checkpoint runs/digits -o digits.png
      ylg sample --checkpoint runs/ylg/checkpoints/step-00100000.ckpt --class 207 \\
          --truncation 1.0 --n 16 -o retrievers.png
    """
    from ylg.gan.sampling.generate import check_sample_count, load_generator, sample_images
    from ylg.gan.sampling.grids import class_grid_text, class_rows, image_grid, save_png

    loaded = load_generator(checkpoint, ema=not raw)
    check_sample_count(loaded, count)
    labels, columns, layout = None, None, ""
    if class_label is None and loaded.num_classes:  # one row per class
        labels, columns = class_rows(loaded.num_classes, count)
        layout = ", " + class_grid_text(loaded.num_classes, count, labels, columns)
    n = count if labels is None else len(labels)
    images = sample_images(loaded, n, class_label, truncation, seed, device=device, labels=labels)
    save_png(output, image_grid(images, columns))
    which = "G" if raw else "EMA of G"
    click.echo(f"wrote {n} samples ({which}, step {loaded.step}{layout}) to {output}")


COMMANDS = [sample]
