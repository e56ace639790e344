"""What ``ylg draw attention`` draws, as a library: the sources of the picture
(ylg.gan.invert.sources) and the checked request and its figure (ylg.gan.invert.views)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ylg.attention import YLGAttention2d
from ylg.errors import YlgError
from ylg.gan.invert import (
    InversionModels,
    Settings,
    image_source,
    inversion_source,
    query_view,
    seed_source,
    view_figure,
)
from ylg.gan.models import Discriminator, Generator
from ylg.gan.run.checkpoint import weights_digest
from ylg.gan.run.config import TrainConfig
from ylg.gan.sampling.generate import LoadedGenerator


def _models(num_classes: int, attention: bool = True) -> InversionModels:
    torch.manual_seed(0)
    if attention:
        g = Generator(32, 8, 32, num_classes, lambda c: YLGAttention2d(c), 16).eval()
        d = Discriminator(32, 64, num_classes, lambda c: YLGAttention2d(c), 16).eval()
    else:
        g = Generator(32, 8, 8, num_classes, attn_resolution=16).eval()
        d = Discriminator(32, 8, num_classes, attn_resolution=16).eval()
    names = [str(i) for i in range(num_classes)]
    loaded = LoadedGenerator(g, TrainConfig(z_dim=8), 5, names, num_classes, Path("untrained"))
    return InversionModels(loaded, d)


def test_a_seed_gives_the_same_latent_and_class_every_time() -> None:
    models = _models(3)
    a, b = seed_source(models, 11), seed_source(models, 11)
    assert a.name == "seed11" and torch.equal(a.view["z"], b.view["z"])
    assert a.view["class_index"] == b.view["class_index"] in range(3)
    assert not torch.equal(a.view["z"], seed_source(models, 12).view["z"])
    assert seed_source(models, 11, label="2").view["class_index"] == 2
    assert float(seed_source(models, 1, truncation=0.5).view["z"].abs().max()) <= 0.5
    assert seed_source(_models(0), 3).view["class_index"] is None


def test_an_inversion_result_is_read_and_checked_against_the_model(tmp_path: Path) -> None:
    models = _models(3)
    folder = tmp_path / "cat"
    folder.mkdir()
    result = folder / "result.json"
    z = [0.5] * 8
    result.write_text(
        json.dumps({"method": "ylg", "runs": {"ylg": {"z": z}}, "class": {"index": 1}})
    )
    source = inversion_source(models, result)
    assert source.name == "cat" and source.view["class_index"] == 1
    assert source.view["z"].tolist() == z
    result.write_text(json.dumps({"method": "ylg", "runs": {"ylg": {"z": z[:4]}}, "class": None}))
    with pytest.raises(YlgError, match="written for another generator"):
        inversion_source(models, result)


def test_an_inversion_result_of_another_generator_is_refused(tmp_path: Path) -> None:
    """The latent fits (same size, classes) but came from other weights: refused, named."""
    models, other = _models(3), _models(3)
    torch.nn.init.normal_(next(other.generator.model.parameters()))
    record = {
        "method": "ylg",
        "runs": {"ylg": {"z": [0.5] * 8}},
        "class": {"index": 1},
        "checkpoint": "runs/other/checkpoints/step-00000100.ckpt",
        "checkpoint_step": 100,
        "resolution": 32,
        "generator_sha256": weights_digest(models.generator.model),
    }
    result = tmp_path / "result.json"
    result.write_text(json.dumps(record))
    assert inversion_source(models, result).view["class_index"] == 1
    with pytest.raises(YlgError, match=r"another generator \(runs/other/.*step 100\)"):
        inversion_source(other, result)
    result.write_text(json.dumps({**record, "generator_sha256": None, "resolution": 64}))
    with pytest.raises(YlgError, match="another generator"):
        inversion_source(models, result)


def test_a_real_image_is_seen_by_d_or_inverted_for_g(tmp_path: Path) -> None:
    models = _models(0)
    path = tmp_path / "photo.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(path)
    seen = image_source(models, path, "discriminator")
    assert seen.name == "photo" and seen.view["image"].shape == (3, 32, 32)
    inverted = image_source(models, path, "generator", settings=Settings(seeds=2, iterations=2))
    assert inverted.view["z"].shape == (8,) and inverted.view["class_index"] is None


def test_a_request_is_checked_before_any_work() -> None:
    models = _models(0)
    view = query_view(models, "discriminator")
    assert view.heads == tuple(range(8)) and view.position == 8 * 16 + 8  # the centre
    assert query_view(models, "generator", (1, 3), "0,2").position == 2
    with pytest.raises(YlgError, match="heads 0 to 7"):
        query_view(models, "generator", (8,))
    with pytest.raises(YlgError, match="head 3 is given twice"):
        query_view(models, "generator", (3, 1, 3))
    with pytest.raises(YlgError, match="unknown layer"):
        query_view(models, "encoder")
    with pytest.raises(YlgError, match="has no attention layer"):
        query_view(_models(0, attention=False), "generator")


def test_the_figure_has_a_panel_per_chosen_head_and_names_its_source() -> None:
    models = _models(3)
    view = query_view(models, "generator", (0, 5), "1,1")
    fig, name = view_figure(models, view, seed_source(models, 4, label="1"))
    titles = [ax.get_title() for ax in fig.axes]
    assert name == "attention-seed4-generator-q1-1.png"
    assert any("rtl" in t or "ltr" in t for t in titles)
    assert "seed4: generator attention of query (1, 1), step 5" in fig.texts[0].get_text()
