"""Quality while training: the digit judge, --eval-every, curves.png, one grid row per class.

These check that the measurement path works on a real (tiny) run; how good the digits
preset gets is measured by benchmarks/digits_quality.py, not here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ylg.gan.run.config import TrainConfig
from ylg.gan.run.monitor import read_log
from ylg.gan.training.data import digits
from ylg.gan.training.quality import QualityJudge, as_digits8, recognised
from ylg.gan.training.trainer import train

TINY = dict(
    data="digits",
    g_channels=16,
    d_channels=32,
    attn_resolution=8,
    z_dim=16,
    class_norm="shared",
    shared_dim=8,
    batch_size=8,
    iterations=4,
    log_every=2,
    sample_every=4,
    checkpoint_every=4,
    sample_count=20,
    eval_every=2,
    eval_count=50,
    tensorboard=False,
)


def test_real_digits_are_recognised_and_noise_is_not() -> None:
    data = digits(32)
    real = data.images.float() / 127.5 - 1.0
    assert recognised(real, data.labels) > 0.98
    noise = torch.rand(500, 3, 32, 32) * 2 - 1
    assert recognised(noise, torch.arange(500) % 10) < 0.3
    # the round trip keeps sklearn's 0..16 scale
    assert as_digits8(real[:5]).max() <= 16.0 and as_digits8(real[:5]).min() >= 0.0


def test_kid_separates_real_from_noise() -> None:
    data = digits(32)
    judge = QualityJudge.for_data(data, "digits", count=200)
    real = data.images[-200:].float() / 127.5 - 1.0
    noise = torch.rand(200, 3, 32, 32) * 2 - 1
    assert judge.score(real, None)["kid"] < 0.05 < judge.score(noise, None)["kid"]
    assert "digits_recognised" not in judge.score(real, None)


def test_diversity_tells_real_digits_from_one_digit_per_class() -> None:
    data = digits(32)
    judge = QualityJudge.for_data(data, "digits", count=500)
    real, labels = data.images[-300:].float() / 127.5 - 1.0, data.labels[-300:]
    assert 0.85 < judge.score(real, labels)["diversity"] < 1.15
    # one real image per class, repeated: recognised, and no variety at all
    first = torch.stack([real[labels == c][0] for c in range(10)])
    copies, copy_labels = first.repeat(30, 1, 1, 1), torch.arange(10).repeat(30)
    scores = judge.score(copies, copy_labels)
    assert scores["digits_recognised"] > 0.9 and scores["diversity"] == 0.0
    # a few images per class: some variety, less than the data's
    few = torch.cat([real[labels == c][:3].repeat(10, 1, 1, 1) for c in range(10)])
    few_labels = torch.arange(10).repeat_interleave(30)
    assert 0.2 < judge.score(few, few_labels)["diversity"] < 0.9


def test_eval_every_logs_quality_and_draws_curves(tmp_path: Path) -> None:
    result = train(TrainConfig(**TINY), tmp_path / "run", progress=False)
    log = read_log(tmp_path / "run" / "log.jsonl")
    evals = [e for e in log if "kid" in e]
    assert [e["step"] for e in evals] == [2, 4]
    assert all(0.0 <= e["digits_recognised"] <= 1.0 and e["kid"] > -0.1 for e in evals)
    assert all(e["diversity"] >= 0.0 for e in evals)
    assert result.quality == {k: evals[-1][k] for k in ("kid", "digits_recognised", "diversity")}
    assert any("loss_d" in e for e in log)
    # the losses-and-quality figure, with four panels side by side
    with Image.open(tmp_path / "run" / "curves.png") as png:
        assert png.format == "PNG" and png.width > 2 * png.height
    # one row per class: 10 classes x 2 samples of 32 px
    with Image.open(result.samples) as grid:
        assert grid.size == (2 * 32, 10 * 32)
        rows = np.asarray(grid.convert("L"), dtype=np.float32).reshape(10, 32, 64)
    assert rows.std() > 0  # something was drawn


def test_cli_prints_quality(tmp_path: Path) -> None:
    config = tmp_path / "tiny.toml"
    config.write_text(
        'preset = "digits"\ng_channels = 16\nd_channels = 32\nattn_resolution = 8\n'
        "batch_size = 8\nsample_count = 20\ntensorboard = false\neval_count = 50\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "ylg", "train", "--config", str(config), "--iterations", "2"]
        + ["--eval-every", "2", "-q", "--out", str(tmp_path / "run")],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stderr
    assert "recognised as their digit by an SVM" in done.stdout
    assert (tmp_path / "run" / "curves.png").is_file()
