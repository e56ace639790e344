"""`ylg train --compile / --channels-last`: what the step calls is compiled, checkpoints
hold the plain modules' weights (so they load anywhere), NHWC where asked."""

from __future__ import annotations

from pathlib import Path

import torch
from test_train_runs import TINY  # the same tiny run the other training tests use

from ylg.gan.run.presets import load_config
from ylg.gan.training.trainer import Trainer


def _trainer(tmp_path: Path, **overrides) -> Trainer:
    tmp_path.mkdir(parents=True, exist_ok=True)
    cfg_file = tmp_path / "tiny.toml"
    cfg_file.write_text(TINY)
    return Trainer(load_config(cfg_file), tmp_path / "run", progress=False, overrides=overrides)


def test_compile_wraps_the_step_modules_and_checkpoints_stay_plain(tmp_path: Path):
    plain = _trainer(tmp_path / "a")
    compiled = _trainer(tmp_path / "b", compile=True, channels_last=True)
    assert plain.g_train is plain.g and plain.d_train is plain.d
    for wrapped, module in ((compiled.g_train, compiled.g), (compiled.d_train, compiled.d)):
        assert isinstance(wrapped, torch._dynamo.eval_frame.OptimizedModule)
        assert wrapped._orig_mod is module
    keys = {name: sorted(plain.checkpoint_state()[name]) for name in ("G", "D", "G_ema")}
    state = compiled.checkpoint_state()
    for name, want in keys.items():
        assert sorted(state[name]) == want
        assert not any("_orig_mod" in k for k in state[name])
    convs = [m for m in compiled.d.modules() if isinstance(m, torch.nn.Conv2d)]
    weight = convs[0].weight
    assert weight.dim() == 4 and weight.is_contiguous(memory_format=torch.channels_last)
    assert compiled.cfg.compile and compiled.cfg.channels_last
