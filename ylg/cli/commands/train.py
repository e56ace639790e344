"""``ylg train``: train SAGAN or YLG-SAGAN from a preset or a config file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ylg.cli.describe import quality_line
from ylg.cli.params import SEED
from ylg.gan.config import DEVICES, PRECISIONS, TrainConfig
from ylg.gan.presets import PRESETS, load_config, preset


def _base_config(name: str | None, config: Path | None) -> TrainConfig | None:
    if name and config:
        raise click.UsageError("give --preset or --config, not both")
    if config is not None:
        return load_config(config)
    return preset(name) if name else None


@click.command("train")
@click.option(
    "--preset",
    "preset_name",
    type=click.Choice(sorted(PRESETS)),
    default=None,
    help="A named run: the paper's Table 1 rows (imagenet-*) or digits / photos.",
)
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A config TOML file (its 'preset' key may start from a preset).",
)
@click.option("--data", default=None, help="digits, photos, or a folder of images.")
@click.option(
    "--attention",
    default=None,
    help="none, sagan, sagan-8h, ylg, ylg-noesa, ylg-strided, or a pattern name/file.",
)
@click.option("--steps", type=click.IntRange(min=1), default=None, help="Train up to this step.")
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=None,
    help="Images per optimiser step, over all processes and accumulation steps.",
)
@click.option(
    "--accumulate",
    type=click.IntRange(min=1),
    default=None,
    help="Gradient accumulation micro-batches per step.",
)
@click.option("--device", type=click.Choice(DEVICES), default=None, help="Default: auto.")
@click.option(
    "--precision",
    type=click.Choice(PRECISIONS),
    default=None,
    help="auto: bf16 autocast on CUDA (with bf16) and TPU, fp32 elsewhere.",
)
@click.option(
    "--compile/--no-compile",
    "compile",
    default=None,
    help="Run G and D under torch.compile (off by default; see docs/training.md).",
)
@click.option(
    "--channels-last/--no-channels-last",
    "channels_last",
    default=None,
    help="NHWC memory format for G, D and images (for CUDA tensor cores).",
)
@click.option(
    "--seed", type=SEED, default=None, help="Seed of weights, latents and data order (0 to 2^32-1)."
)
@click.option(
    "--verify/--no-verify",
    "verify_attention",
    default=None,
    help="Refuse an attention pattern without Full Information (the default); "
    "--no-verify trains with it anyway.",
)
@click.option(
    "--num-workers",
    type=click.IntRange(min=0),
    default=None,
    help="Data loader processes (for folders of images).",
)
@click.option(
    "--checkpoint-every",
    type=click.IntRange(min=1),
    default=None,
    help="Steps between checkpoints (one is always written at the end).",
)
@click.option(
    "--eval-every",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="Measure quality every N steps and at the end (KID; digits: the share an SVM "
    "recognises), into log.jsonl, TensorBoard and curves.png; 0: never.",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Run folder (default: runs/<preset or config name>).",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue the latest checkpoint in the run folder (or start if it has none).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def train(
    preset_name: str | None,
    config: Path | None,
    out: Path | None,
    resume: bool,
    quiet: bool,
    **flags: Any,
) -> None:
    """Train SAGAN or YLG-SAGAN; checkpoints, samples and logs go to the run folder.

    The run folder holds config.toml, log.jsonl (every logged value), samples/*.png,
    curves.png (losses and quality against steps),
    checkpoints/step-N.ckpt and tb/ (tensorboard --logdir RUN/tb). Many GPUs: start it
    with torchrun (torchrun --nproc_per_node 8 -m ylg train ...).

    \b
    Examples:
      ylg train --preset digits --steps 200 --out runs/digits
      ylg train --preset photos --attention sagan --out runs/photos-sagan
      ylg train --preset imagenet-ylg --data /data/imagenet/train --out runs/ylg
      ylg train --out runs/ylg --resume
    """
    from ylg.gan.trainer import train as run_training

    cfg = _base_config(preset_name, config)
    if cfg is None and not resume:
        raise click.UsageError("give --preset NAME or --config FILE (or --resume a run folder)")
    if out is None:
        if cfg is None:
            raise click.UsageError("--resume needs --out (the run folder to continue)")
        out = Path("runs") / (cfg.name if cfg.name != "custom" else Path(str(config)).stem)
    overrides = {k: v for k, v in flags.items() if v is not None}
    result = run_training(cfg, out, resume=resume, progress=not quiet, overrides=overrides)
    if result.rank:
        click.echo(f"rank {result.rank}: weights digest: {result.digest}")
        return
    if result.resumed_from is not None:
        click.echo(f"resumed from {result.resumed_from}")
    losses = ", ".join(f"{k} {v:.4f}" for k, v in result.losses.items())
    click.echo(f"step {result.step}: {losses}")
    if result.skipped_images:
        click.echo(f"skipped {result.skipped_images} unreadable image(s)")
    if result.samples is not None:
        click.echo(f"samples: {result.samples}")
    if result.quality:
        click.echo(f"quality: {quality_line(result.quality)}")
    if result.checkpoint is not None:
        click.echo(f"checkpoint: {result.checkpoint}")
    click.echo(f"weights digest: {result.digest}")
    click.echo(f"run folder: {result.run_dir.resolve()}")


COMMANDS = [train]
