"""Image sets (folders, arrays, samplers) and the evaluation driver."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ylg.errors import YlgError
from ylg.metrics import (
    ArrayImages,
    FeatureExtractor,
    FolderImages,
    RandomExtractor,
    SampledImages,
    evaluate,
    extract,
    open_images,
)


def pixels(seed: int, n: int, h: int = 12, w: int = 12) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8)


def write_folder(folder: Path, array: np.ndarray, fmt: str = "png") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(array):
        Image.fromarray(image).save(folder / f"{i:04d}.{fmt}")
    return folder


def collect(images: ArrayImages | FolderImages | SampledImages, batch: int) -> torch.Tensor:
    return torch.cat(list(images.batches(batch)))


# --- arrays --------------------------------------------------------------------------


def test_array_layouts_give_the_same_images() -> None:
    nhwc = pixels(0, 5)
    expected = torch.from_numpy(nhwc).permute(0, 3, 1, 2).float() / 127.5 - 1
    layouts = [
        nhwc,
        nhwc.transpose(0, 3, 1, 2),
        nhwc.astype(np.float32) / 127.5 - 1,
        nhwc.transpose(0, 3, 1, 2).astype(np.float64) / 127.5 - 1,
    ]
    for array in layouts:
        assert torch.allclose(collect(ArrayImages(array), 2), expected, atol=1e-6)
    grey = nhwc[..., 0]
    for array in (grey, grey[:, None], grey[..., None]):
        out = collect(ArrayImages(array), 3)
        assert out.shape == (5, 3, 12, 12)
        assert torch.equal(out[:, 0], out[:, 2])
        assert torch.allclose(out[:, 1], expected[:, 0], atol=1e-6)
    assert float(collect(ArrayImages(np.zeros((1, 2, 2), np.uint8)), 1).max()) == -1.0


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((2, 4, 4, 5), np.uint8), "no channel axis"),
        (np.zeros((4, 4), np.uint8), "must be"),
        (np.zeros((0, 3, 4, 4), np.uint8), "no images"),
        (np.zeros((2, 3, 4, 4), np.int16), "dtype int16"),
        (np.full((2, 3, 4, 4), 2.0), "must lie in"),
        (np.full((2, 3, 4, 4), np.nan), "NaN"),
        (np.random.default_rng(0).uniform(0, 1, (2, 3, 4, 4)), "look like the"),
    ],
)
def test_array_errors(array: np.ndarray, message: str) -> None:
    with pytest.raises(YlgError, match=message):
        ArrayImages(array)


def test_array_files(tmp_path: Path) -> None:
    array = pixels(1, 4)
    np.savez(tmp_path / "named.npz", labels=np.arange(4), images=array)
    np.savez(tmp_path / "single.npz", array)
    np.savez(tmp_path / "ambiguous.npz", a=array, b=array)
    np.save(tmp_path / "plain.npy", array)
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 broken")
    for name in ("named.npz", "single.npz", "plain.npy"):
        images = open_images(tmp_path / name)
        assert len(images) == 4 and torch.equal(collect(images, 3), collect(ArrayImages(array), 4))
    with pytest.raises(YlgError, match="no 'images' array among a, b"):
        open_images(tmp_path / "ambiguous.npz")
    with pytest.raises(YlgError, match="cannot read images"):
        open_images(tmp_path / "broken.npz")
    with pytest.raises(YlgError, match="not a folder of images"):
        open_images(tmp_path / "missing")


# --- folders -------------------------------------------------------------------------


def test_folder_reads_png_losslessly_groups_sizes_and_skips_broken_files(tmp_path: Path) -> None:
    small, large = pixels(2, 5), pixels(3, 3, 20, 16)
    write_folder(tmp_path / "a", small)
    write_folder(tmp_path / "b" / "deeper", large)
    Image.fromarray(small[0]).convert("L").save(tmp_path / "grey.png")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG but not really")
    (tmp_path / "notes.txt").write_text("ignored")
    images = open_images(tmp_path)
    assert isinstance(images, FolderImages) and len(images) == 10
    batches = list(images.batches(4))
    assert images.skipped == 1
    assert all(len({tuple(b.shape[2:])}) == 1 for b in batches)
    assert sorted(b.shape[0] for b in batches) == [2, 3, 4]
    by_size = {(12, 12): [], (20, 16): []}
    for b in batches:
        by_size[tuple(b.shape[2:])].append(b)
    got_small = torch.cat(by_size[(12, 12)])
    assert torch.equal(got_small[:5], collect(ArrayImages(small), 5))
    grey = got_small[5]
    assert torch.equal(grey[0], grey[1]) and torch.equal(grey[1], grey[2])
    assert torch.equal(torch.cat(by_size[(20, 16)]), collect(ArrayImages(large), 3))


def test_jpeg_is_read(tmp_path: Path) -> None:
    flat = np.full((2, 16, 16, 3), 200, np.uint8)
    out = collect(open_images(write_folder(tmp_path, flat, "jpg")), 2)
    assert out.shape == (2, 3, 16, 16)
    assert torch.allclose(out, torch.full_like(out, 200 / 127.5 - 1), atol=0.03)


def test_folders_without_images(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(YlgError, match="no image files"):
        FolderImages(tmp_path / "empty")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.png").write_bytes(b"nope")
    with pytest.raises(YlgError, match="no readable images"):
        extract(RandomExtractor(), FolderImages(tmp_path / "bad"), progress=False)


# --- samplers ------------------------------------------------------------------------


def test_sampled_images() -> None:
    g = torch.Generator().manual_seed(0)
    images = SampledImages(lambda b: torch.randn(b, 3, 8, 8, generator=g) * 3, 7, "normal")
    out = collect(images, 3)
    assert out.shape == (7, 3, 8, 8) and out.abs().max() <= 1.0
    bad = SampledImages(lambda b: torch.zeros(b + 1, 3, 8, 8), 4, "off by one")
    with pytest.raises(YlgError, match="off by one: asked for 4"):
        list(bad.batches(4))
    with pytest.raises(YlgError, match="at least one"):
        SampledImages(lambda b: torch.zeros(b, 3, 1, 1), 0)


# --- the driver ----------------------------------------------------------------------


class MeanColour(FeatureExtractor):
    name = "mean-colour"

    def embed(self, images: torch.Tensor) -> tuple[torch.Tensor, None]:
        return images.mean(dim=(2, 3)), None


def test_extract_honours_limit_and_batches() -> None:
    images = ArrayImages(pixels(4, 23))
    full = extract(RandomExtractor(), images, batch_size=5, progress=False)
    part = extract(RandomExtractor(), images, batch_size=4, limit=10, progress=False)
    assert full.features.shape == (23, 128) and full.logits.shape == (23, 10)
    assert np.allclose(part.features, full.features[:10], rtol=1e-5, atol=1e-6)
    with pytest.raises(YlgError, match="batch size"):
        extract(RandomExtractor(), images, batch_size=0)
    with pytest.raises(YlgError, match="limit"):
        extract(RandomExtractor(), images, limit=0)


def test_evaluate_folder_against_its_own_array_and_a_darker_copy(tmp_path: Path) -> None:
    real = pixels(5, 60, 16, 16)
    folder = open_images(write_folder(tmp_path / "real", real))
    same = evaluate(
        folder,
        ArrayImages(real),
        RandomExtractor(),
        kid_subset_size=30,
        kid_subsets=10,
        is_splits=3,
        progress=False,
    )
    darker = evaluate(
        folder,
        ArrayImages(real // 2),
        RandomExtractor(),
        kid_subset_size=30,
        kid_subsets=10,
        is_splits=3,
        progress=False,
    )
    assert same.fid == pytest.approx(0.0, abs=1e-6)
    assert darker.fid > 1.0 and darker.kid_mean > 10 * max(darker.kid_std, abs(same.kid_mean))
    assert same.is_mean >= 1.0 and same.is_splits == 3 and same.kid_subset_size == 30
    assert (same.n_real, same.n_fake, same.skipped_real) == (60, 60, 0)
    text = "\n".join(darker.lines())
    assert "FID" in text and "KID" in text and "IS " in text
    no_logits = evaluate(
        folder, ArrayImages(real), MeanColour(), kid_subset_size=10, kid_subsets=2, progress=False
    )
    assert no_logits.is_mean is None and "n/a" in "\n".join(no_logits.lines())
    assert no_logits.to_dict()["extractor"] == "mean-colour"
