"""``ylg eval`` says what it skipped and why, and does not report spreads that mean
nothing: KID over subsets that are all the whole set, IS over splits too small."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ylg.cli.main import main
from ylg.metrics import evaluate
from ylg.metrics.images import ArrayImages, FolderImages
from ylg.metrics.random_extractor import RandomExtractor

RNG = np.random.default_rng(3)


def ylg(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


def images(n: int, shift: int = 0) -> np.ndarray:
    return np.clip(RNG.integers(0, 200, (n, 16, 16, 3)) + shift, 0, 255).astype(np.uint8)


def test_too_few_readable_images_names_the_skipped_files_and_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real = tmp_path / "real"
    real.mkdir()
    Image.fromarray(images(1)[0]).save(real / "good.png")
    (real / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (real / "empty.jpg").write_bytes(b"")
    fake = tmp_path / "fake.npy"
    np.save(fake, images(4))
    code, _, err = ylg(
        capsys, "eval", real, fake, "-x", "random", "--device", "cpu", "--no-progress"
    )
    assert code == 2 and err.count("\n") == 1, err
    assert "the real set needs at least 2 images, got 1" in err
    assert "2 file(s) skipped as unreadable" in err
    assert "broken.png: " in err and "empty.jpg: " in err
    assert "cannot identify image file" in err and str(real / "broken.png") not in err


def test_the_report_names_skipped_files_when_enough_remain(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real = tmp_path / "real"
    real.mkdir()
    for i, image in enumerate(images(4)):
        Image.fromarray(image).save(real / f"{i}.png")
    (real / "zz.png").write_bytes(b"not a png")
    code, out, err = ylg(
        capsys, "eval", real, real, "-x", "random", "--device", "cpu", "--no-progress",
        "--kid-subset-size", "3", "--is-splits", "1",
    )  # fmt: skip
    assert code == 0, err
    assert "1 unreadable skipped (zz.png: cannot identify image file)" in out


def test_kid_over_subsets_that_are_all_the_whole_set_is_computed_once_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real, fake = tmp_path / "real.npy", tmp_path / "fake.npy"
    np.save(real, images(20))
    np.save(fake, images(20, shift=40))
    report_path = tmp_path / "m.json"
    code, out, err = ylg(
        capsys, "eval", real, fake, "-x", "random", "--device", "cpu", "--no-progress",
        "--kid-subsets", "50", "--kid-subset-size", "1000", "--is-splits", "2",
        "--json", report_path,
    )  # fmt: skip
    assert code == 0, err
    assert "±" not in [line for line in out.splitlines() if line.startswith("KID")][0]
    assert "one subset: all 20 images of both sets, so no spread" in out
    assert "warning: KID: a subset of 20 is the whole of both sets" in err
    report = json.loads(report_path.read_text())
    assert report["kid_std"] is None and report["kid_subsets"] == 1
    assert any(w.startswith("KID:") for w in report["warnings"])
    # one subset smaller than the sets: subsets differ, the spread is real and no warning
    smaller = evaluate(
        ArrayImages(images(20)), ArrayImages(images(20, 40)), RandomExtractor(),
        kid_subsets=10, kid_subset_size=10, is_splits=2, progress=False,
    )  # fmt: skip
    assert smaller.kid_std is not None and smaller.kid_std > 0
    assert not any(w.startswith("KID:") for w in smaller.warnings)


def test_inception_score_refuses_splits_of_one_image_and_warns_below_the_class_count() -> None:
    real, fake = ArrayImages(images(30)), ArrayImages(images(30, 30))
    net = RandomExtractor()  # 10 classes
    tiny = evaluate(real, fake, net, kid_subset_size=10, is_splits=30, progress=False)
    assert tiny.is_mean is None and tiny.is_splits == 0
    assert "IS   n/a (too few generated images per split" in "\n".join(tiny.lines())
    assert any("fewer than 2 images per split" in w for w in tiny.warnings)
    thin = evaluate(real, fake, net, kid_subset_size=10, is_splits=5, progress=False)
    assert thin.is_mean is not None and thin.is_mean <= 6  # a split of 6 cannot score above 6
    assert any("fewer than the 10 classes" in w and "--is-splits 3" in w for w in thin.warnings)
    fine = evaluate(real, fake, net, kid_subset_size=10, is_splits=3, progress=False)
    assert fine.warnings == () and fine.is_mean is not None


def test_folder_images_keep_the_reason_for_each_skipped_file(tmp_path: Path) -> None:
    Image.fromarray(images(1)[0]).save(tmp_path / "a.png")
    (tmp_path / "b.png").write_bytes(b"junk")
    folder = FolderImages(tmp_path)
    assert sum(len(b) for b in folder.batches(8)) == 1
    assert folder.skipped == 1 and [p.name for p, _ in folder.skipped_files] == ["b.png"]
    assert folder.skipped_summary() == "b.png: cannot identify image file"
