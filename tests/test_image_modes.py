"""Every Pillow mode is read as its 8-bit twin: in ``ylg eval`` folders, in training
data and in ``ylg invert`` (all through :mod:`ylg.pixels`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ylg.metrics import evaluate
from ylg.metrics.images import FolderImages
from ylg.metrics.random_extractor import RandomExtractor
from ylg.pixels import read_image, rgb8

RNG = np.random.default_rng(12)
GREY = RNG.integers(0, 256, (16, 16), dtype=np.uint8)
COLOUR = RNG.integers(0, 256, (16, 16, 3), dtype=np.uint8)


def twins() -> list[tuple[str, Image.Image, str, np.ndarray]]:
    """(name, image in some mode, file suffix, the 8-bit RGB pixels it stands for)."""
    grey3 = np.repeat(GREY[..., None], 3, axis=2)
    g16 = GREY.astype(np.uint16) * 257
    big_endian = Image.frombytes("I;16B", (16, 16), g16.astype(">u2").tobytes())
    palette = Image.fromarray(COLOUR).convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    return [
        ("I;16 png", Image.fromarray(g16), ".png", grey3),
        ("I;16 tiff", Image.fromarray(g16), ".tif", grey3),
        ("I;16B tiff", big_endian, ".tif", grey3),
        ("I 16-bit tiff", Image.fromarray(g16.astype(np.int32)), ".tif", grey3),
        ("I 8-bit tiff", Image.fromarray(GREY.astype(np.int32)), ".tif", grey3),
        ("F [0, 1] tiff", Image.fromarray(GREY.astype(np.float32) / 255), ".tif", grey3),
        ("F 0..255 tiff", Image.fromarray(GREY.astype(np.float32)), ".tif", grey3),
        ("P png", palette, ".png", np.asarray(palette.convert("RGB"))),
        ("LA png", Image.fromarray(GREY).convert("LA"), ".png", grey3),
        ("RGBA png", Image.fromarray(COLOUR).convert("RGBA"), ".png", COLOUR),
        ("CMYK tiff", Image.fromarray(COLOUR).convert("CMYK"), ".tif", COLOUR),
        ("L png", Image.fromarray(GREY), ".png", grey3),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "image", "suffix", "want"), [pytest.param(*t, id=t[0]) for t in twins()]
)
def test_every_mode_reads_as_its_8_bit_twin(
    name: str, image: Image.Image, suffix: str, want: np.ndarray, tmp_path: Path
) -> None:
    path = tmp_path / f"image{suffix}"
    image.save(path)
    with Image.open(path) as opened:
        assert opened.mode == image.mode  # the file really holds that mode
        assert np.array_equal(rgb8(opened), want), name
    batches = list(FolderImages(tmp_path).batches(4))
    expected = np.asarray(want, dtype=np.float32).transpose(2, 0, 1) / 127.5 - 1.0
    assert np.allclose(batches[0][0].numpy(), expected, atol=1e-6)
    trained = read_image(path, 16)  # training data and ylg invert read through this
    assert trained is not None and np.array_equal(trained.permute(1, 2, 0).numpy(), want)


def test_a_16_bit_grey_folder_has_fid_zero_against_its_8_bit_twin(tmp_path: Path) -> None:
    """The issue's case: mid-grey 16-bit PNGs were read as pure white (FID ~94)."""
    eight, sixteen = tmp_path / "eight", tmp_path / "sixteen"
    eight.mkdir()
    sixteen.mkdir()
    for i in range(6):
        grey = np.clip(RNG.normal(128, 30, (32, 32)), 0, 255).astype(np.uint8)
        Image.fromarray(grey).save(eight / f"{i}.png")
        Image.fromarray(grey.astype(np.uint16) * 257).save(sixteen / f"{i}.png")
    with Image.open(sixteen / "0.png") as img:
        assert img.mode == "I;16"
    report = evaluate(
        FolderImages(eight),
        FolderImages(sixteen),
        RandomExtractor(),
        kid_subset_size=3,
        is_splits=1,
        progress=False,
    )
    assert abs(report.fid) < 1e-6
    white = tmp_path / "white"
    white.mkdir()
    for i in range(6):  # what the old reading gave: every pixel clipped to 255
        Image.fromarray(np.full((32, 32), 255, dtype=np.uint8)).save(white / f"{i}.png")
    wrong = evaluate(
        FolderImages(eight), FolderImages(white), RandomExtractor(), kid_subset_size=3,
        is_splits=1, progress=False,
    )  # fmt: skip
    assert wrong.fid > 1.0  # the test can tell the two readings apart


def test_an_image_over_pillows_pixel_limit_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 14000 x 14000 photo was 'cannot read the image' with no reason; Pillow's limit is
    lowered here so that a small real file meets the same guard."""
    from ylg.errors import YlgError
    from ylg.gan.invert.outputs import load_image

    path = tmp_path / "large.png"
    Image.fromarray(COLOUR).save(path)  # 256 pixels
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # an error above 200
    with pytest.raises(YlgError) as caught:
        load_image(path, 16)
    assert str(caught.value) == (
        f"cannot read the image {path}: 256 pixels, over Pillow's limit of 200 (a guard"
        " against decompression bombs): resize it first"
    )
    assert read_image(path, 16) is None  # training data skips it
    folder = FolderImages(tmp_path)
    list(folder.batches(4))
    assert folder.skipped_files == [(path, str(caught.value).split(": ", 1)[1])]


def test_a_file_that_is_no_image_names_the_reason(tmp_path: Path) -> None:
    from ylg.errors import YlgError
    from ylg.gan.invert.outputs import load_image

    path = tmp_path / "notes.png"
    path.write_text("not a picture")
    with pytest.raises(YlgError, match=r"^cannot read the image .*notes.png: cannot identify"):
        load_image(path, 16)
