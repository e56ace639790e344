"""The XLA (TPU) path on torch_xla's CPU client: device, optimiser step, loader, saving, resuming.

Run by ``make test-xla`` in its own environment (torch 2.9 + torch_xla 2.9,
``PJRT_DEVICE=CPU``); skipped where torch_xla is not installed.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

pytest.importorskip("torch_xla")
os.environ.setdefault("PJRT_DEVICE", "CPU")

import torch  # noqa: E402

from ylg.gan.run.checkpoint import load_checkpoint  # noqa: E402
from ylg.gan.run.config import TrainConfig  # noqa: E402
from ylg.gan.run.monitor import read_log  # noqa: E402
from ylg.gan.sampling.generate import load_generator, sample_images  # noqa: E402
from ylg.gan.training.trainer import Trainer, train  # noqa: E402

TINY = TrainConfig(
    data="digits",
    resolution=32,
    attention="ylg",
    attn_resolution=8,
    g_channels=16,
    d_channels=32,
    z_dim=64,
    class_norm="shared",
    shared_dim=16,
    batch_size=8,
    iterations=4,
    log_every=1,
    sample_every=100,
    checkpoint_every=2,
    sample_count=4,
    tensorboard=False,
)
KEYS = ("loss_d", "loss_d_real", "loss_d_fake", "loss_g")


def losses(run: Path) -> list[tuple[float, ...]]:
    return [tuple(e[k] for k in KEYS) for e in read_log(run / "log.jsonl")]


@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("xla") / "whole"
    result = train(TINY.replace(device="xla"), out, progress=False)
    assert result.step == 4
    return out


def test_auto_picks_xla_and_the_loader_feeds_the_device(tmp_path: Path) -> None:
    trainer = Trainer(TINY.replace(device="auto", iterations=1), tmp_path, progress=False)
    try:
        assert trainer.rt.kind == "xla" and trainer.rt.device.type == "xla"
        assert next(trainer.g.parameters()).device.type == "xla"
        opt_betas = trainer.opt_g.param_groups[0]["betas"]
        assert all(isinstance(b, float) for b in opt_betas)
        trainer.run()
    finally:
        trainer.close()


def test_training_on_xla_matches_the_cpu(whole: Path, tmp_path: Path) -> None:
    cpu = train(TINY.replace(device="cpu", iterations=2), tmp_path / "cpu", progress=False)
    assert cpu.step == 2
    for ours, ref in zip(losses(whole)[:2], losses(tmp_path / "cpu")):
        for a, b in zip(ours, ref):
            assert math.isclose(a, b, rel_tol=1e-3, abs_tol=1e-4), (ours, ref)


def test_variety_options_on_xla_match_the_cpu(tmp_path: Path) -> None:
    """The discriminator's minibatch standard deviation and the mode-seeking term run on
    XLA as on the CPU."""
    cfg = TINY.replace(iterations=2, minibatch_std=4, mode_seeking=0.03)
    train(cfg.replace(device="xla"), tmp_path / "xla", progress=False)
    train(cfg.replace(device="cpu"), tmp_path / "cpu", progress=False)
    xla, cpu = losses(tmp_path / "xla"), losses(tmp_path / "cpu")
    assert len(xla) == len(cpu) == 2
    for ours, ref in zip(xla, cpu):
        for a, b in zip(ours, ref):
            assert math.isclose(a, b, rel_tol=1e-3, abs_tol=1e-4), (ours, ref)


def test_checkpoints_from_xla_load_on_the_cpu(whole: Path) -> None:
    state = load_checkpoint(whole / "checkpoints" / "step-00000004.ckpt")
    tensors = [t for t in state["G"].values() if isinstance(t, torch.Tensor)]
    assert tensors and all(t.device.type == "cpu" for t in tensors)
    assert "xla" in state["rng"][0]["device"]
    loaded = load_generator(whole)
    images = sample_images(loaded, 4, truncation=2.0)
    assert images.shape == (4, 3, 32, 32) and torch.isfinite(images).all()


def test_resume_on_xla_continues_the_same_run(whole: Path, tmp_path: Path) -> None:
    part = tmp_path / "part"
    train(TINY.replace(device="xla", iterations=2), part, progress=False)
    resumed = train(None, part, resume=True, progress=False, overrides={"iterations": 4})
    assert resumed.resumed_from is not None and resumed.step == 4
    for ours, ref in zip(losses(part), losses(whole)):
        for a, b in zip(ours, ref):
            assert math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-5), (ours, ref)
