"""``ylg demo``: the whole story on bundled defaults, everything into one folder.

Show and verify the paper's patterns, export their masks, draw the paper's figures,
train a small YLG-SAGAN on scikit-learn's digits and write a sample grid.
"""

from __future__ import annotations

from pathlib import Path

import click

from ylg.cli.common_options import output_option
from ylg.cli.describe import default_npz_name, describe_masks, quality_line
from ylg.fileio import write_atomic
from ylg.patterns import library

PAPER_PATTERNS = ("fixed", "strided", "ltr", "rtl")
REPAIRED = ("fixed-fi", "strided-fi")


def _patterns_part(out: Path, grid: str) -> list[str]:
    from ylg.ifg import full_information, k_flow
    from ylg.ifg.report import full_information_lines, k_flow_lines

    patterns = library()
    report: list[str] = []
    masks_dir = out / "masks"
    masks_dir.mkdir(exist_ok=True)
    for name in PAPER_PATTERNS + REPAIRED:
        for order in ("esa", "rowmajor"):
            masks = patterns[name].on(grid, order=order)
            path = masks_dir / default_npz_name(masks)
            masks.save_npz(path)
            verdict = full_information(masks)
            report += describe_masks(masks)
            report += full_information_lines(verdict)
            report += [f"exported: masks/{path.name}", ""]
            mark = "holds" if verdict.holds else f"does NOT hold ({verdict.missing} pairs)"
            click.echo(f"  {name:<10} {order:<8} full information {mark}")
    star = k_flow(patterns["star"].on("4x4"), 2)
    report += k_flow_lines(star)
    click.echo(
        f"  star       4x4      2-token flow {'holds' if star.holds else 'does NOT hold'}"
        " (Full Information through one hub token, as the paper's section 9.5 says)"
    )
    return report


def _figures_part(out: Path, grid: str) -> None:
    from ylg.figures import draw_ifg, draw_masks, draw_orders, draw_query, save_figure

    patterns = library()
    figures = out / "figures"
    figures.mkdir(exist_ok=True)
    for name in PAPER_PATTERNS + REPAIRED:  # the paper's Figs. 2 and 10, n = 9
        masks = patterns[name].on("3x3", order="rowmajor")
        save_figure(draw_masks(masks), figures / f"{name}-mask.png")
        save_figure(draw_ifg(masks, missing=True), figures / f"{name}-ifg.png")
    save_figure(draw_orders("8x8"), figures / "orders.png")  # Fig. 3
    ltr = patterns["ltr"].on(grid)
    save_figure(draw_masks(ltr, by_order=True), figures / f"ltr-{grid}-mask.png")
    save_figure(draw_query(patterns["rtl"].on("16x16"), (6, 7)), figures / "rtl-query.png")


def _training_part(out: Path, iterations: int | None) -> tuple[Path, dict[str, float]]:
    """Train (or resume) the digits preset; a grid with one row per digit, and its quality."""
    import torch

    from ylg.gan.run.presets import preset
    from ylg.gan.sampling.generate import load_generator
    from ylg.gan.sampling.grids import class_rows, image_grid, save_png
    from ylg.gan.sampling.latents import latents
    from ylg.gan.training.quality import generator_quality
    from ylg.gan.training.trainer import train

    cfg = preset("digits")
    if iterations is not None:
        cfg = cfg.replace(iterations=iterations)
    result = train(cfg, out / "train", resume=True, progress=True)
    if result.checkpoint is None:
        raise click.ClickException("training wrote no checkpoint")
    loaded = load_generator(result.checkpoint)
    labels, columns = class_rows(loaded.num_classes, 100)
    z = latents(len(labels), loaded.config.z_dim, torch.Generator().manual_seed(0))
    with torch.no_grad():
        images = loaded.model(z, labels)
    path = out / "samples.png"
    save_png(path, image_grid(images, columns))
    return path, generator_quality(loaded)


@click.command("demo")
@output_option(
    kind="folder", default=Path("ylg-demo"), help="Folder for everything the demo makes."
)
@click.option("--grid", default="32x32", show_default=True, help="Grid for exported masks.")
@click.option(
    "--train-iterations",
    "--train-steps",
    "train_iterations",
    type=click.IntRange(min=0),
    default=None,
    help="Training iterations of the small YLG-SAGAN (default: the digits preset's; 0 skips"
    " it; --train-steps is its old name).",
)
def demo(output: Path, grid: str, train_iterations: int | None) -> None:
    """Show and verify the paper's patterns, export their masks, draw the paper's
    figures, train a small YLG-SAGAN on bundled digits and write a sample grid.

    A second run resumes the training from its last checkpoint.

    \b
    Example:
      ylg demo -o ylg-demo
      ylg demo -o quick --train-iterations 20
    """
    out = output
    out.mkdir(parents=True, exist_ok=True)
    patterns = library()
    click.echo("The pattern library:")
    width = max(map(len, patterns))
    for name, pattern in patterns.items():
        click.echo(f"  {name:<{width}} {len(pattern.steps)} step(s)  {pattern.description}")
    click.echo(f"\nVerifying the paper's patterns and their repaired versions on {grid}:")
    report = _patterns_part(out, grid)
    write_atomic(out / "patterns.txt", "\n".join(report).encode())
    click.echo("\nDrawing the paper's figures (2, 3, 10) ...")
    _figures_part(out, grid)
    if train_iterations != 0:
        click.echo("\nTraining a small YLG-SAGAN on scikit-learn's digits (32 px) ...")
        samples, quality = _training_part(out, train_iterations)
        click.echo(f"sample grid: {samples} (one row per digit, 0 to 9)")
        click.echo(f"quality: {quality_line(quality)}")
    click.echo(f"\nEverything is in {out.resolve()}")


COMMANDS = [demo]
