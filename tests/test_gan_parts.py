"""ylg.gan parts: config, presets, layers, models, attention slots, data, checkpoints, sampling."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as torch_spectral_norm

from ylg.errors import YlgError
from ylg.gan.models import Discriminator, Generator, attention_layers, count_parameters, upsample2
from ylg.gan.models.layers import ClassBatchNorm, SpectralNorm, spectral_norm
from ylg.gan.models.slots import NAMED_SLOTS, attention_factory
from ylg.gan.run.checkpoint import (
    encode,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    prune_checkpoints,
    save_checkpoint,
)
from ylg.gan.run.config import TrainConfig
from ylg.gan.run.presets import PRESETS, TABLE1, load_config, preset
from ylg.gan.sampling.grids import image_grid
from ylg.gan.sampling.latents import latents
from ylg.gan.training.data import BatchStream, FolderImages, load_dataset, photos
from ylg.gan.training.ema import EMA

# -- config and presets ----------------------------------------------------------------


def test_defaults_name_the_paper_learning_rates_and_float_betas() -> None:
    cfg = TrainConfig()
    assert (cfg.lr_g, cfg.lr_d) == (1e-4, 4e-4)
    cfg = TrainConfig(beta1=0, beta2=1 - 0.1)
    assert all(isinstance(b, float) for b in cfg.betas)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"resolution": 256}, "resolution must be one of"),
        ({"attention": 3}, "must be str"),
        ({"device": "tpu"}, "device must be one of"),
        ({"batch_size": 0}, "batch_size must be at least 1"),
        ({"g_channels": 12}, "multiple of 8"),
        ({"ema_decay": 1.0}, "ema_decay"),
        ({"attn_resolution": 32}, "attn_resolution"),
        ({"extra": {"lr": 1}}, "unknown config key(s): lr"),
    ],
)
def test_bad_configs_are_refused_with_the_key_named(change: dict, message: str) -> None:
    values = {"resolution": 32, **change}
    with pytest.raises(YlgError, match=message.replace("(", r"\(").replace(")", r"\)")):
        TrainConfig(**values)


def test_steps_is_the_old_name_of_iterations(tmp_path: Path) -> None:
    """A config file, a checkpoint's dict or a keyword that says ``steps`` means
    ``iterations`` (the training length); the keyword and attribute warn."""
    path = tmp_path / "old.toml"
    path.write_text('[train]\npreset = "photos"\nresolution = 32\nsteps = 7\n')
    assert load_config(path) == load_config(path).replace(iterations=7)
    assert load_config(path).iterations == 7
    new = TrainConfig(iterations=5)
    saved = {("steps" if k == "iterations" else k): v for k, v in new.to_dict().items()}
    assert "iterations" not in saved and TrainConfig.from_dict(saved) == new
    with pytest.raises(YlgError, match="both 'steps' and 'iterations'"):
        TrainConfig.from_dict({"steps": 5, "iterations": 5})
    with pytest.warns(DeprecationWarning, match=r"TrainConfig\(steps=...\) is renamed"):
        assert TrainConfig(steps=5) == new
    with pytest.warns(DeprecationWarning, match=r"TrainConfig.replace\(steps=...\)"):
        assert TrainConfig().replace(steps=5) == new
    with pytest.warns(DeprecationWarning, match="TrainConfig.steps is renamed"):
        assert new.steps == 5


def test_inversion_steps_is_the_old_name_of_iterations() -> None:
    from ylg.gan.invert.settings import Settings

    with pytest.warns(DeprecationWarning, match=r"Settings\(steps=...\) is renamed"):
        old = Settings(seeds=2, steps=30)
    assert old == Settings(seeds=2, iterations=30)
    with pytest.warns(DeprecationWarning, match="Settings.steps is renamed"):
        assert old.steps == 30
    with pytest.raises(YlgError, match="iterations must be at least 1"):
        Settings(iterations=0)


def test_batch_must_split_over_processes_and_accumulation() -> None:
    assert TrainConfig(batch_size=12, accumulate=3).micro_batch(2) == 2
    with pytest.raises(YlgError, match="does not split"):
        TrainConfig(batch_size=10, accumulate=3).micro_batch(1)


def test_config_file_starts_from_a_preset_and_rejects_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_text('[train]\npreset = "photos"\nresolution = 32\niterations = 7\n')
    cfg = load_config(path)
    assert (cfg.data, cfg.resolution, cfg.attn_resolution, cfg.iterations) == ("photos", 32, 16, 7)
    path.write_text("stepz = 3\n")
    with pytest.raises(YlgError, match="unknown config key.*stepz"):
        load_config(path)
    path.write_text("steps = [\n")
    with pytest.raises(YlgError, match="cannot read config"):
        load_config(path)
    with pytest.raises(YlgError, match="not found"):
        load_config(tmp_path / "missing.toml")


def test_presets_cover_table1_at_128px_and_the_small_runs() -> None:
    for slot in TABLE1:
        cfg = preset(f"imagenet-{slot}")
        assert (cfg.attention, cfg.resolution, cfg.attn_resolution) == (slot, 128, 32)
        assert cfg.data == "" and cfg.lr_d == 4 * cfg.lr_g
    assert (PRESETS["digits"].data, PRESETS["digits"].resolution) == ("digits", 32)
    assert (PRESETS["photos"].data, PRESETS["photos"].resolution) == ("photos", 64)
    assert preset("digits") is not PRESETS["digits"]  # a copy


# -- layers and models -------------------------------------------------------------------


@settings(max_examples=20, deadline=None)
@given(rows=st.integers(2, 12), cols=st.integers(2, 12), seed=st.integers(0, 1000))
def test_spectral_norm_matches_torch_given_the_same_vectors(
    rows: int, cols: int, seed: int
) -> None:
    torch.manual_seed(seed)
    ours, ref = nn.Linear(cols, rows), nn.Linear(cols, rows)
    ref.load_state_dict(ours.state_dict())
    spectral_norm(ours)
    torch_spectral_norm(ref)
    sn_ours = ours.parametrizations.weight[0]
    sn_ref = ref.parametrizations.weight[0]
    sn_ref._u.copy_(sn_ours._u)
    sn_ref._v.copy_(sn_ours._v)
    x = torch.randn(3, cols)
    for mode in (True, False, True):
        ours.train(mode)
        ref.train(mode)
        assert torch.allclose(ours(x), ref(x), atol=1e-5, rtol=1e-4)


def test_spectral_norm_converges_to_the_largest_singular_value() -> None:
    torch.manual_seed(0)
    weight = torch.randn(6, 4)
    sn = SpectralNorm(weight)
    for _ in range(50):
        out = sn(weight)
    assert math.isclose(float(torch.linalg.matrix_norm(out, ord=2)), 1.0, rel_tol=1e-4)


@settings(max_examples=20, deadline=None)
@given(h=st.integers(1, 5), w=st.integers(1, 5))
def test_upsample_is_nearest_neighbour_interpolation(h: int, w: int) -> None:
    x = torch.randn(2, 3, h, w, requires_grad=True)
    ref = F.interpolate(x, scale_factor=2, mode="nearest")
    assert torch.equal(upsample2(x), ref)
    (g1,) = torch.autograd.grad(upsample2(x).square().sum(), x)
    (g2,) = torch.autograd.grad(ref.square().sum(), x)
    assert torch.allclose(g1, g2)


def test_class_batch_norm_modes() -> None:
    x = torch.randn(6, 4, 3, 3)
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    table = ClassBatchNorm(4, num_classes=3)
    with torch.no_grad():
        table.gain.weight[1] = 2.0
        table.bias.weight[2] = 5.0
    base = F.batch_norm(x, None, None, training=True, eps=1e-5)
    out = table(x, y)
    assert torch.allclose(out[1], 2 * base[1], atol=1e-5)
    assert torch.allclose(out[2], base[2] + 5, atol=1e-5)
    shared = ClassBatchNorm(4, shared_dim=5)
    assert shared(x, torch.randn(6, 5)).shape == x.shape
    assert torch.allclose(ClassBatchNorm(4)(x), base, atol=1e-5)


def _slot_inputs(model: nn.Module, x: torch.Tensor, *args: torch.Tensor) -> tuple[int, ...]:
    seen: list[tuple[int, ...]] = []
    handle = model.attention.register_forward_hook(lambda m, i, o: seen.append(tuple(i[0].shape)))
    model(x, *args)
    handle.remove()
    return seen[0]


@pytest.mark.parametrize("resolution", [32, 64])
def test_models_shapes_and_attention_position(resolution: int) -> None:
    attn_res = resolution // 2 if resolution == 32 else 32
    g = Generator(resolution, 16, 16, 5, attn_resolution=attn_res)
    d = Discriminator(resolution, 16, 5, attn_resolution=attn_res)
    y = torch.tensor([0, 4])
    z = torch.randn(2, 16)
    x = g(z, y)
    assert x.shape == (2, 3, resolution, resolution) and x.abs().max() <= 1
    assert d(x, y).shape == (2,)
    assert _slot_inputs(g, z, y)[2:] == (attn_res, attn_res)
    assert _slot_inputs(d, x, y)[2:] == (attn_res, attn_res)


def test_unconditional_models_take_no_labels() -> None:
    g = Generator(32, 8, 8, num_classes=0, attn_resolution=16)
    d = Discriminator(32, 8, num_classes=0, attn_resolution=16)
    assert d(g(torch.randn(3, 8))).shape == (3,)
    assert d.embed is None


def test_projection_discriminator_uses_the_class() -> None:
    torch.manual_seed(0)
    d = Discriminator(32, 8, 4, attn_resolution=16).eval()
    x = torch.randn(1, 3, 32, 32)
    assert not torch.allclose(d(x, torch.tensor([0])), d(x, torch.tensor([1])))


def test_the_128px_generator_block_has_the_papers_channels() -> None:
    factory_seen: list[int] = []

    def factory(channels: int) -> nn.Module:
        factory_seen.append(channels)
        return nn.Identity()

    Generator(128, 128, 64, 10, factory, 32)
    Discriminator(128, 64, 10, factory, 32)
    assert factory_seen == [256, 128]  # the spec: C = 256 in G, 128 in D, both at 32x32


# -- attention slots ---------------------------------------------------------------------


def test_slots_build_the_table1_layers() -> None:
    from ylg.attention import SAGANAttention2d, YLGAttention2d

    sagan = attention_factory("sagan")(64)
    assert isinstance(sagan, SAGANAttention2d) and sagan.num_heads == 1
    assert attention_factory("sagan-8h")(64).num_heads == 8
    ylg = attention_factory("ylg")(64)
    assert isinstance(ylg, YLGAttention2d)
    assert list(ylg.labels) == ["rtl/1", "rtl/2", "rtl/1", "rtl/2", "ltr/1", "ltr/2"] + [
        "ltr/1",
        "ltr/2",
    ]
    noesa = attention_factory("ylg-noesa")(64)
    assert noesa.order == "rowmajor" and list(noesa.labels) == list(ylg.labels)
    assert isinstance(attention_factory("none")(64), nn.Identity)
    assert attention_factory("axial")(64).num_heads == 8
    with pytest.raises(YlgError, match="not one of none, sagan"):
        attention_factory("nonsense")


def test_the_strided_slot_uses_the_full_information_strided_pattern() -> None:
    layer = attention_factory("ylg-strided")(64)
    assert {label.split("/")[0] for label in layer.labels} == {"strided-fi"}


def test_every_slot_keeps_the_parameter_count() -> None:
    counts = set()
    for slot in sorted(set(NAMED_SLOTS) - {"none", "ylg-strided"}):
        factory = attention_factory(slot)
        counts.add(count_parameters(Generator(32, 8, 32, 3, factory, 16)))
    assert len(counts) == 1  # the paper: changing the attention changes no parameter count


def test_attention_layers_are_found_by_their_gamma() -> None:
    g = Generator(32, 8, 32, 3, attention_factory("ylg"), 16)
    layers = attention_layers(g)
    assert list(layers) == ["attention"] and float(layers["attention"].gamma.detach()) == 0.0


# -- data --------------------------------------------------------------------------------


def test_bundled_data_sets() -> None:
    digits = load_dataset("digits", 32)
    assert (len(digits), digits.num_classes) == (1797, 10)
    assert digits.images.dtype == torch.uint8 and digits.images.shape[1:] == (3, 32, 32)
    a, b = photos(16, crops=3), photos(16, crops=3)
    assert a.num_classes == 10 and len(a) == 30
    assert torch.equal(a.images, b.images)  # the same crops every time
    assert a.images.float().std() > 20  # real photos, not blank


def _write_png(path: Path, color: tuple[int, int, int], size: tuple[int, int]) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)


def test_folder_with_class_subfolders_skips_corrupt_images(tmp_path: Path) -> None:
    _write_png(tmp_path / "cat" / "a.png", (255, 0, 0), (40, 20))
    _write_png(tmp_path / "dog" / "b.png", (0, 0, 255), (20, 40))
    (tmp_path / "dog" / "broken.jpg").write_bytes(b"not a jpeg")
    (tmp_path / "dog" / "notes.txt").write_text("ignored")
    data = FolderImages(tmp_path, 16)
    assert data.classes == ["cat", "dog"] and len(data) == 3
    image, label, skipped = data[0]
    assert image.shape == (3, 16, 16) and label == 0 and skipped == ()
    assert image[0].float().mean() == 255 and image[2].float().mean() == 0
    broken = [i for i, (p, _) in enumerate(data.files) if p.name == "broken.jpg"][0]
    image, label, skipped = data[broken]
    assert skipped == (broken,) and image.shape == (3, 16, 16)


def test_flat_folder_is_one_class_and_empty_folder_is_an_error(tmp_path: Path) -> None:
    _write_png(tmp_path / "x.png", (1, 2, 3), (8, 8))
    assert FolderImages(tmp_path, 8).num_classes == 1
    (tmp_path / "empty").mkdir()
    with pytest.raises(YlgError, match="no images"):
        FolderImages(tmp_path / "empty", 8)
    with pytest.raises(YlgError, match="not digits or photos, and not a folder"):
        load_dataset(str(tmp_path / "missing"), 8)
    with pytest.raises(YlgError, match="needs --data"):
        load_dataset("", 8)


@settings(max_examples=30, deadline=None)
@given(
    size=st.integers(1, 40),
    batch=st.integers(1, 9),
    world=st.integers(1, 3),
    start=st.integers(0, 20),
)
def test_batch_stream_resumes_exactly_and_covers_each_epoch(
    size: int, batch: int, world: int, start: int
) -> None:
    streams = [BatchStream(size, batch, seed=3, rank=r, world=world) for r in range(world)]
    resumed = BatchStream(size, batch, seed=3, rank=world - 1, world=world, start=start)
    it = iter(resumed)
    for b in range(start, start + 3):
        assert next(it) == streams[world - 1].indices(b)
    # the ranks' batches, interleaved, read each epoch as a permutation of the data
    flat = [
        i
        for b in range(math.ceil(2 * size / (batch * world)) + 1)
        for s in streams
        for i in s.indices(b)
    ]
    for epoch in range(len(flat) // size):
        assert sorted(flat[epoch * size : (epoch + 1) * size]) == list(range(size))


# -- checkpoints -------------------------------------------------------------------------


def test_checkpoint_round_trip_latest_and_prune(tmp_path: Path) -> None:
    for step in (5, 10, 15):
        save_checkpoint(tmp_path, step, {"step": step, "w": torch.full((2,), float(step))})
    assert latest_checkpoint(tmp_path).name == "step-00000015.ckpt"
    assert load_checkpoint(latest_checkpoint(tmp_path))["w"].tolist() == [15.0, 15.0]
    prune_checkpoints(tmp_path, keep=2)
    assert [s for s, _ in list_checkpoints(tmp_path)] == [10, 15]
    assert latest_checkpoint(tmp_path / "nothing") is None


@pytest.mark.parametrize("damage", ["truncate", "flip", "header", "empty"])
def test_damaged_checkpoints_are_named_and_refused(tmp_path: Path, damage: str) -> None:
    path = save_checkpoint(tmp_path, 1, {"w": torch.arange(100.0)})
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "flip":
        data[-200] ^= 0x01
    elif damage == "header":
        data[:4] = b"JUNK"
    else:
        data = bytearray()
    path.write_bytes(bytes(data))
    with pytest.raises(YlgError, match=r"step-00000001\.ckpt.*not loaded|not a ylg checkpoint"):
        load_checkpoint(path)


def test_checkpoint_header_records_the_payload_digest() -> None:
    import hashlib

    data = encode({"a": 1})
    header, payload = data.split(b"\n", 1)
    assert hashlib.sha256(payload).hexdigest().encode() in header


# -- sampling ----------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(t=st.floats(0.05, 3.0), seed=st.integers(0, 10_000))
def test_truncated_latents_stay_inside_and_keep_the_rest(t: float, seed: int) -> None:
    z = latents(64, 4, torch.Generator().manual_seed(seed), truncation=t)
    plain = latents(64, 4, torch.Generator().manual_seed(seed))
    assert z.abs().max() <= t
    inside = plain.abs() <= t
    assert torch.equal(z[inside], plain[inside])  # only out-of-range entries are resampled


def test_truncation_must_be_positive() -> None:
    with pytest.raises(YlgError):
        latents(2, 2, truncation=0.0)


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 10), cols=st.one_of(st.none(), st.integers(1, 5)))
def test_image_grid_matches_a_pixel_loop(n: int, cols: int | None) -> None:
    images = torch.rand(n, 3, 2, 3) * 2 - 1
    grid = image_grid(images, cols)
    columns = cols or math.ceil(math.sqrt(n))
    assert grid.shape == (math.ceil(n / columns) * 2, columns * 3, 3)
    for k in range(n):
        r, c = divmod(k, columns)
        tile = grid[r * 2 : r * 2 + 2, c * 3 : c * 3 + 3]
        expect = np.round((images[k].permute(1, 2, 0).numpy() + 1) * 127.5)
        assert np.abs(tile.astype(int) - expect.astype(int)).max() <= 1


def test_ema_follows_the_formula_after_start_and_copies_before() -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    ema = EMA(model, decay=0.9, start=2)
    with torch.no_grad():
        model[0].weight.fill_(1.0)
        model[1].running_mean.fill_(3.0)
    ema.update(model, step=1)  # before start: a copy
    assert torch.equal(ema.model[0].weight, model[0].weight)
    with torch.no_grad():
        model[0].weight.fill_(2.0)
    ema.update(model, step=2)
    assert torch.allclose(ema.model[0].weight, torch.full((2, 2), 0.9 * 1.0 + 0.1 * 2.0))
    assert torch.equal(ema.model[1].running_mean, model[1].running_mean)


def test_samples_are_drawn_without_building_a_graph() -> None:
    """sample_images keeps no autograd graph across its batches (memory grew with --n)."""
    from ylg.gan.sampling.generate import LoadedGenerator, sample_images

    g = Generator(32, 8, 8, 10, attn_resolution=16).eval()
    loaded = LoadedGenerator(g, TrainConfig(z_dim=8), 0, list("0123456789"), 10, Path("g"))
    images = sample_images(loaded, 5, batch=2, seed=3)
    assert images.shape == (5, 3, 32, 32) and not images.requires_grad
    assert torch.allclose(images, sample_images(loaded, 5, batch=5, seed=3), atol=1e-5)
