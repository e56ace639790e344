"""Measuring a training checkpoint's generator: one tiny real run, then `ylg eval -c`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ylg.cli.main import main
from ylg.errors import YlgError
from ylg.gan.run.config import TrainConfig
from ylg.gan.sampling.generate import checkpoint_images
from ylg.gan.training.trainer import train


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("run")
    cfg = TrainConfig(
        data="digits", attention="none", g_channels=8, d_channels=8, z_dim=8, batch_size=4,
        iterations=1, tensorboard=False, sample_count=4,
    )  # fmt: skip
    train(cfg, folder, progress=False)
    return folder


def test_checkpoint_images_are_reproducible_batches_in_range(run_dir: Path) -> None:
    images = checkpoint_images(run_dir, 7, seed=3)
    first = torch.cat(list(images.batches(3)))
    again = torch.cat(list(checkpoint_images(run_dir, 7, seed=3).batches(3)))
    other = torch.cat(list(checkpoint_images(run_dir, 7, seed=4).batches(3)))
    assert first.shape == (7, 3, 32, 32) and first.abs().max() <= 1.0
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert "step 1" in images.describe() and len(images) == 7


def test_checkpoint_errors(tmp_path: Path) -> None:
    with pytest.raises(YlgError, match="no checkpoint"):
        checkpoint_images(tmp_path, 4)


def test_eval_checkpoint_from_the_command_line(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real = tmp_path / "real.npz"
    np.savez(real, images=np.random.default_rng(0).integers(0, 256, (30, 32, 32, 3), np.uint8))
    args = ["eval", str(real), "-c", str(run_dir), "-x", "random", "--n", "12"]
    with pytest.raises(SystemExit) as done:
        main([*args, "--kid-subset-size", "6", "--is-splits", "2", "--no-progress"])
    out = capsys.readouterr().out
    assert done.value.code == 0, out
    assert "real: " in out and "12 used" in out and "(step 1)" in out and "FID  " in out
    with pytest.raises(SystemExit) as done:
        main(["eval", str(real), str(real), "-c", str(run_dir)])
    assert done.value.code == 2 and "either GENERATED or --checkpoint" in capsys.readouterr().err
