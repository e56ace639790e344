"""``ylg eval``: FID, KID and Inception Score of generated images against real ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ylg.cli.common_options import (
    OutputPath,
    checkpoint_option,
    count_option,
    device_option,
    progress_option,
    raw_option,
    seed_option,
)
from ylg.fileio import write_atomic

if TYPE_CHECKING:
    import torch

    from ylg.metrics import ImageSet

IMAGES = click.Path(path_type=Path)
#: Samples drawn from a checkpoint when --n is not given.
CHECKPOINT_SAMPLES = 5000


def _describe(name: str, images: ImageSet, used: int) -> str:
    line = f"{name}: {images.describe()}, {used} used"
    if images.skipped:
        line += f", {images.skipped} unreadable skipped ({images.skipped_summary()})"
    return line


@click.command("eval")
@click.argument("real", type=IMAGES)
@click.argument("generated", type=IMAGES, required=False)
@checkpoint_option(
    required=False,
    help="Sample the generated set from this training checkpoint (or run folder's latest) "
    "instead of reading GENERATED.",
)
@raw_option("With --checkpoint: the trained G, not its EMA.")
@click.option(
    "--extractor",
    "-x",
    default="inception",
    show_default=True,
    help="Feature network: random, inception (or a name registered with "
    "ylg.metrics.register_extractor), or a TorchScript .pt file. "
    "'inception' needs the optional extra (pip install 'ylg[inception]'); 'random' needs "
    "nothing but its numbers compare only with other 'random' numbers.",
)
@count_option(
    "limit",
    low=2,
    default=None,
    help="Use at most N images of each set, a random sample drawn with --seed (default:"
    f" all; with --checkpoint: {CHECKPOINT_SAMPLES}, the number of samples drawn).",
)
@device_option("Where the extractor runs:")
@click.option("--batch-size", type=click.IntRange(min=1), default=50, show_default=True)
@click.option(
    "--kid-subsets",
    type=click.IntRange(1, 10_000),
    default=100,
    show_default=True,
    help="Random subsets KID is averaged over (at most 10000).",
)
@click.option(
    "--kid-subset-size",
    type=click.IntRange(min=2),
    default=1000,
    show_default=True,
    help="Images per KID subset (at most the smaller set).",
)
@click.option("--is-splits", type=click.IntRange(min=1), default=10, show_default=True)
@seed_option("Seed of the KID subsets, the latents and the --n sample of each set.")
@click.option(
    "--json",
    "json_path",
    type=OutputPath(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the metrics to this JSON file.",
)
@progress_option("Show progress bars on stderr.")
def eval_command(
    real: Path,
    generated: Path | None,
    checkpoint: Path | None,
    raw: bool,
    extractor: str,
    limit: int | None,
    device: torch.device,
    batch_size: int,
    kid_subsets: int,
    kid_subset_size: int,
    is_splits: int,
    seed: int,
    json_path: Path | None,
    progress: bool,
) -> None:
    """FID and KID between REAL and GENERATED images, and the Inception Score of
    GENERATED. Each is a folder of PNG/JPEG files (searched recursively; unreadable
    files are skipped and counted) or an .npz/.npy array of images (uint8 0..255, or
    floats in [-1, 1]; [N, H, W, C] or [N, C, H, W]). With --checkpoint, the generated
    images are sampled from a trained generator instead.

    \b
    Examples:
      ylg eval data/real samples/ --n 5000
      ylg eval data/real --checkpoint runs/ylg --n 5000
      ylg eval real.npz fake.npz --extractor random --device cpu --json metrics.json
    """
    from ylg.gan.sampling.generate import checkpoint_images
    from ylg.metrics import evaluate, get_extractor, open_images

    if (generated is None) == (checkpoint is None):
        raise click.UsageError("give either GENERATED or --checkpoint (one of them)")
    if raw and checkpoint is None:
        raise click.UsageError("--raw goes with --checkpoint")
    net = get_extractor(extractor, device)
    real_images = open_images(real)
    if checkpoint is not None:
        limit = limit or CHECKPOINT_SAMPLES
        fake_images = checkpoint_images(checkpoint, limit, net.device, seed, ema=not raw)
    else:
        fake_images = open_images(generated)
    report = evaluate(
        real_images,
        fake_images,
        net,
        batch_size=batch_size,
        limit=limit,
        kid_subsets=kid_subsets,
        kid_subset_size=kid_subset_size,
        is_splits=is_splits,
        seed=seed,
        progress=progress,
    )
    click.echo(_describe("real", real_images, report.n_real))
    click.echo(_describe("generated", fake_images, report.n_fake))
    for line in report.lines():
        click.echo(line)
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    if net.name == "random":
        click.echo(
            "(random features: compare only with other runs of 'random', never with "
            "Inception numbers)"
        )
    if json_path is not None:
        write_atomic(json_path, (json.dumps(report.to_dict(), indent=2) + "\n").encode())
        click.echo(f"wrote {json_path}")


COMMANDS = [eval_command]
