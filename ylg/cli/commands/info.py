"""``ylg info``: versions, devices, and the parameter counts of the GAN presets."""

from __future__ import annotations

import platform

import click

from ylg.cli.common_options import preset_option
from ylg.gan.run.presets import PRESETS

TABLE1_PRESETS = [name for name in PRESETS if name.startswith("imagenet-")]


def _devices() -> list[str]:
    import torch

    from ylg.devices import xla_available

    lines = [f"cpu: {torch.get_num_threads()} threads"]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            bf16 = "bf16" if torch.cuda.is_bf16_supported() else "no bf16"
            lines.append(f"cuda:{i}: {torch.cuda.get_device_name(i)} ({bf16})")
    else:
        lines.append("cuda: not available")
    lines.append("xla: torch_xla installed" if xla_available() else "xla: torch_xla not installed")
    return lines


@click.command("info")
@preset_option(
    "Presets whose models to count (repeatable; default: the Table 1 rows).", multiple=True
)
@click.option(
    "--num-classes",
    type=click.IntRange(min=0),
    default=1000,
    show_default=True,
    help="Classes the conditional layers are built for (0: unconditional).",
)
def info(presets: tuple[str, ...], num_classes: int) -> None:
    """Versions, devices, and the parameter counts of the GAN models.

    Counts are trainable parameters (spectral norm's vectors and batch-norm statistics
    are not parameters). The Table 1 rows all build SAGAN's 128 px ImageNet networks;
    only the attention layer differs.

    \b
    Examples:
      ylg info
      ylg info --preset digits --num-classes 10
    """
    import torch

    from ylg import __version__
    from ylg.gan.models import attention_layers, count_parameters
    from ylg.gan.models.slots import build_models
    from ylg.gan.run.presets import preset

    click.echo(f"ylg {__version__}, torch {torch.__version__}, Python {platform.python_version()}")
    for line in _devices():
        click.echo(f"  {line}")
    click.echo(f"\nparameters ({num_classes} classes):")
    click.echo(f"{'preset':<22} {'px':>4} {'attention':<12} {'G':>12} {'D':>12} {'attn G+D':>9}")
    for name in presets or TABLE1_PRESETS:
        cfg = preset(name)
        g, d = build_models(cfg, num_classes)
        attn = sum(
            count_parameters(layer)
            for model in (g, d)
            for layer in attention_layers(model).values()
        )
        click.echo(
            f"{name:<22} {cfg.resolution:>4} {cfg.attention:<12} {count_parameters(g):>12,}"
            f" {count_parameters(d):>12,} {attn:>9,}"
        )


COMMANDS = [info]
