"""Invert one image file with several methods and write everything ``ylg invert`` promises.

Per image, in ``<out>/<image name>/``:

=====================  ==========================================================
``inverted.png``       the chosen method's best inversion (at the model's resolution)
``comparison.png``     real image, pixel baseline, (D features,) ylg method side by side
``saliency-d.png``     each discriminator head's saliency on the real image (the
                       weights of the ylg loss; the paper's Fig. 8)
``saliency-g.png``     each generator head's saliency while making the inversion
                       (the paper's Fig. 5d-e)
``query-I-J.png``      every generator head's attention from query cell (I, J)
                       over the inversion (the paper's Fig. 6d-f)
``losses.png``         every method's loss per step and seed
``result.json``        class, settings, and per method and seed the final pixel
                       error, D-feature distance and ylg loss; the kept latent
=====================  ==========================================================

The attention figures need a model with attention layers; without one they are left out.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from ylg.errors import YlgError
from ylg.figures import save_figure
from ylg.figures.query import query_position
from ylg.fileio import write_atomic
from ylg.gan.invert.classes import choose_class
from ylg.gan.invert.figures import (
    METHOD_NAMES,
    METHOD_ORDER,
    comparison_figure,
    loss_figure,
    query_figure,
    saliency_figure,
    to_uint8,
)
from ylg.gan.invert.loading import InversionModels
from ylg.gan.invert.loop import Inversion, Settings, Target, invert_image
from ylg.gan.invert.saliency_maps import saliency
from ylg.gan.invert.taps import generator_attention, has_attention
from ylg.gan.run.checkpoint import weights_digest
from ylg.gan.sampling.grids import save_png
from ylg.patterns import Grid
from ylg.pixels import image_tensor


def load_image(path: str | os.PathLike[str], resolution: int) -> torch.Tensor:
    """An image file, centre-cropped and resized, as ``[3, R, R]`` in [-1, 1]."""
    return image_tensor(Path(path), resolution).float() / 127.5 - 1.0


@dataclass
class ImageInversion:
    """Everything one image's inversion produced."""

    name: str
    real: torch.Tensor  # [3, R, R]
    method: str
    runs: dict[str, Inversion]
    class_index: int | None
    class_scores: list[float] | None
    target: Target

    @property
    def result(self) -> Inversion:
        """The run of the chosen method."""
        return self.runs[self.method]


def methods_to_run(method: str, compare: bool) -> list[str]:
    """The chosen method, with the pixel baseline and the ylg method when comparing."""
    chosen = {method, "pixel", "ylg"} if compare else {method}
    return [m for m in METHOD_ORDER if m in chosen]


def invert_one(
    models: InversionModels,
    real: torch.Tensor,
    name: str,
    method: str = "ylg",
    settings: Settings | None = None,
    class_label: str | None = None,
    compare: bool = True,
    progress: bool = True,
) -> ImageInversion:
    """Invert ``real [3, R, R]`` with ``method`` (and the baselines when ``compare``).

    ``class_label``: a class name or index, or ``None``/``"auto"`` for the
    discriminator's choice (conditional models only).
    """
    d, g = models.discriminator, models.generator.model
    device = next(d.parameters()).device
    real = real.to(device)
    index, scores = choose_class(models, class_label, real)
    methods = methods_to_run(method, compare)
    if "ylg" in methods and not has_attention(d):
        if method == "ylg":
            raise YlgError(
                "the ylg method weighs D's features by its attention, and this model has no "
                "attention layer; use --method pixel or dfeat"
            )
        methods.remove("ylg")
    target = Target.of(d, real)
    runs = {
        m: invert_image(
            g,
            d,
            real,
            m,
            settings,
            class_index=index,
            target=target,
            progress=progress,
            label=f"{name}: {m}",
        )
        for m in methods
    }
    return ImageInversion(name, real.cpu(), method, runs, index, scores, target)


def _class_record(models: InversionModels, inv: ImageInversion) -> dict[str, Any] | None:
    if inv.class_index is None:
        return None
    record: dict[str, Any] = {
        "index": inv.class_index,
        "name": models.generator.classes[inv.class_index],
        "chosen_by": "given" if inv.class_scores is None else "auto",
    }
    if inv.class_scores is not None:
        record["discriminator_logits"] = inv.class_scores
    return record


def result_record(
    models: InversionModels, inv: ImageInversion, settings: Settings, source: str
) -> dict[str, Any]:
    """The JSON record of one image's inversion."""
    runs = {}
    for method, run in inv.runs.items():
        runs[method] = {
            "best_seed": run.best_seed,
            "steps_run": int(run.losses.shape[0]),
            "seeds": [
                {
                    "seed": i,
                    "pixel_error": m["pixel"],
                    "dfeat_distance": m["dfeat"],
                    **({"ylg_loss": m["ylg"]} if "ylg" in m else {}),
                    "start_loss": float(run.losses[0, i]),
                    "best_step": run.best_steps[i],
                }
                for i, m in enumerate(run.metrics)
            ],
            "z": run.z[run.best_seed].tolist(),
        }
    return {
        "image": source,
        "checkpoint": str(models.generator.path),
        "checkpoint_step": models.generator.step,
        # Which generator the latent belongs to (draw attention --inversion checks it).
        "generator_sha256": weights_digest(models.generator.model),
        "resolution": models.resolution,
        "method": inv.method,
        "class": _class_record(models, inv),
        "settings": asdict(settings),
        "pixel_error": "mean squared error per pixel and channel, images in [-1, 1]",
        "dfeat_distance": "mean squared distance of D0 features (D before its attention)",
        "runs": runs,
    }


def query_positions(models: InversionModels, queries: list[str] | None) -> list[int]:
    """The generator layer's query cells (``"i,j"`` or positions) as positions; by
    default a corner and the centre (the paper's Fig. 6 looks at both kinds)."""
    side = models.generator.config.attn_resolution
    grid = Grid(side, side)
    if not queries:
        return [grid.position(0, 0), grid.position(side // 2, side // 2)]
    return [query_position(grid, cell) for cell in queries]


def write_outputs(
    folder: str | os.PathLike[str],
    models: InversionModels,
    inv: ImageInversion,
    settings: Settings,
    source: str,
    queries: list[str] | None = None,
) -> list[Path]:
    """Write one image's files (see the module's table) into ``folder``; return their paths."""
    out = Path(folder)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise YlgError(f"cannot write the results into {out}: {exc.strerror or exc}") from None
    for old in [*out.glob("query-*.png"), *out.glob("saliency-*.png")]:
        old.unlink()  # an earlier run's figures (another checkpoint, other queries)
    result = inv.result
    written = []

    def save(fig: Any, filename: str) -> None:
        written.append(Path(save_figure(fig, out / filename)))

    save_png(out / "inverted.png", to_uint8(result.image))
    written.append(out / "inverted.png")
    panels = [(METHOD_NAMES[m], inv.runs[m].image) for m in METHOD_ORDER if m in inv.runs]
    save(comparison_figure(inv.real, panels), "comparison.png")
    save(loss_figure(inv.runs), "losses.png")
    attn = inv.target.attention
    if attn is not None:
        title = f"{inv.name}: discriminator saliency per head on the real image"
        save(saliency_figure(saliency(attn.weights)[0], attn, inv.real, title), "saliency-d.png")
    g = models.generator.model
    if has_attention(g):
        device = next(g.parameters()).device
        z = result.z[result.best_seed][None].to(device)
        y = (
            None
            if result.class_index is None
            else torch.tensor([result.class_index], device=device)
        )
        with torch.no_grad():
            image, attn = generator_attention(g, z, y)
        image = image[0].cpu()
        title = f"{inv.name}: generator saliency per head on the {result.method} inversion"
        save(saliency_figure(saliency(attn.weights)[0], attn, image, title), "saliency-g.png")
        grid = attn.query_grid
        for position in query_positions(models, queries):
            i, j = grid.cell(position)
            title = f"{inv.name}: generator attention of query ({i}, {j}) on the inversion"
            save(query_figure(attn, position, image, title), f"query-{i}-{j}.png")
    record = result_record(models, inv, settings, source)
    write_atomic(out / "result.json", (json.dumps(record, indent=2) + "\n").encode())
    written.append(out / "result.json")
    return written


def read_result(path: str | os.PathLike[str]) -> tuple[torch.Tensor, int | None, dict[str, Any]]:
    """The kept latent, the class and the whole record of a ``result.json`` that
    :func:`write_outputs` wrote."""
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
        run = record["runs"][record["method"]]
        z = torch.tensor(run["z"], dtype=torch.float32)
        index = None if record["class"] is None else int(record["class"]["index"])
    except FileNotFoundError:
        raise YlgError(f"inversion result not found: {os.fspath(path)}") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise YlgError(
            f"{os.fspath(path)} is not a result.json of ylg invert ({type(exc).__name__}: {exc})"
        ) from None
    if z.dim() != 1:
        raise YlgError(f"{os.fspath(path)}: the latent must be a list of numbers")
    return z, index, record
