"""``ylg train``: train SAGAN or YLG-SAGAN from a preset or a config file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ylg.cli.common_options import output_option, preset_option
from ylg.cli.config_options import dataclass_options
from ylg.cli.describe import quality_line
from ylg.gan.run.config import TrainConfig
from ylg.gan.run.presets import load_config, preset


def _base_config(name: str | None, config: Path | None) -> TrainConfig | None:
    if name and config:
        raise click.UsageError("give --preset or --config, not both")
    if config is not None:
        return load_config(config)
    return preset(name) if name else None


@click.command("train")
@preset_option("A named run: the paper's Table 1 rows (imagenet-*) or digits / photos.")
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A config TOML file (its 'preset' key may start from a preset).",
)
@dataclass_options(TrainConfig, into="overrides", overrides=True)
@output_option(kind="folder", help="Run folder (default: runs/<preset or config name>).")
@click.option(
    "--resume",
    is_flag=True,
    help="Continue the latest checkpoint in the run folder (with none yet: start again"
    " the run its config.toml describes).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def train(
    preset_name: str | None,
    config: Path | None,
    output: Path | None,
    resume: bool,
    quiet: bool,
    overrides: dict[str, Any],
) -> None:
    """Train SAGAN or YLG-SAGAN; checkpoints, samples and logs go to the run folder.

    The options from --data to --eval-every are keys of the run's config (see
    docs/training.md): given, they win over the preset or config file.

    The run folder holds config.toml, log.jsonl (every logged value), samples/*.png,
    curves.png (losses and quality against steps),
    checkpoints/step-N.ckpt and tb/ (tensorboard --logdir RUN/tb). Many GPUs: start it
    with torchrun (torchrun --nproc_per_node 8 -m ylg train ...).

    \b
    Examples:
      ylg train --preset digits --iterations 200 --out runs/digits
      ylg train --preset photos --attention sagan --out runs/photos-sagan
      ylg train --preset imagenet-ylg --data /data/imagenet/train --out runs/ylg
      ylg train --out runs/ylg --resume
    """
    from ylg.gan.training.trainer import train as run_training

    cfg = _base_config(preset_name, config)
    if cfg is None and not resume:
        raise click.UsageError("give --preset NAME or --config FILE (or --resume a run folder)")
    if output is None:
        if cfg is None:
            raise click.UsageError("--resume needs --out (the run folder to continue)")
        output = Path("runs") / (cfg.name if cfg.name != "custom" else Path(str(config)).stem)
    if config is not None and not resume and (output / "config.toml").resolve() == config.resolve():
        raise click.UsageError(
            f"{config} is where the run writes its own config.toml (every key, no comments);"
            " keep your config file outside the run folder"
        )
    result = run_training(cfg, output, resume=resume, progress=not quiet, overrides=overrides)
    if result.rank:
        click.echo(f"rank {result.rank}: weights digest: {result.digest}")
        return
    if result.resumed_from is not None:
        click.echo(f"resumed from {result.resumed_from}")
    losses = ", ".join(f"{k} {v:.4f}" for k, v in result.losses.items())
    click.echo(f"step {result.step}: {losses or 'nothing left to train (give more --iterations)'}")
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
