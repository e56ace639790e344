"""``ylg sample``: a grid of images from a trained generator."""

from __future__ import annotations

from pathlib import Path

import click

from ylg.cli.params import POSITIVE, SEED


@click.command("sample")
@click.option(
    "--checkpoint",
    "-c",
    required=True,
    type=click.Path(path_type=Path),
    help="A checkpoint file, or a run folder (its latest checkpoint).",
)
@click.option(
    "--n",
    "count",
    type=click.IntRange(min=1),
    default=64,
    show_default=True,
    help="Number of images.",
)
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
@click.option(
    "--seed", type=SEED, default=0, show_default=True, help="Seed of the latents (0 to 2^32-1)."
)
@click.option("--raw", is_flag=True, help="Use the trained G instead of its EMA.")
@click.option(
    "--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:1, ..."
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="PNG file to write.",
)
def sample(
    checkpoint: Path,
    count: int,
    class_label: str | None,
    truncation: float | None,
    seed: int,
    raw: bool,
    device: str,
    output: Path,
) -> None:
    """Draw a grid of samples from a checkpoint's generator (its EMA by default).

    A conditional model's grid has one row per class (with many classes, rows for
    classes spread over all of them); --class draws one class only.

    \b
    Examples:
      ylg sample --checkpoint runs/digits -o digits.png
      ylg sample --checkpoint runs/ylg/checkpoints/step-00100000.ckpt --class 207 \\
          --truncation 1.0 --n 16 -o retrievers.png
    """

    from ylg.gan.devices import torch_device
    from ylg.gan.generate import check_sample_count, load_generator, sample_images
    from ylg.gan.sampling import class_rows, image_grid, save_png

    dev = torch_device(device)
    loaded = load_generator(checkpoint, ema=not raw)
    check_sample_count(loaded, count)
    labels, columns, layout = None, None, ""
    if class_label is None and loaded.num_classes:  # one row per class
        labels, columns = class_rows(loaded.num_classes, count)
        layout = f", one row per class, {columns} each"
    n = count if labels is None else len(labels)
    images = sample_images(loaded, n, class_label, truncation, seed, device=dev, labels=labels)
    save_png(output, image_grid(images, columns))
    which = "G" if raw else "EMA of G"
    click.echo(f"wrote {n} samples ({which}, step {loaded.step}{layout}) to {output}")


COMMANDS = [sample]
