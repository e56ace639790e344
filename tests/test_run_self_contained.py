"""A run holds everything it was started from: its attention pattern (text and digest),
checked config edits on resume, sane numbers, and a clear stop when training diverges.

Everything runs for real: tiny models trained on the bundled digits, the ``ylg`` command
line in this process (with the working folder changed) and in a subprocess.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from ylg.cli.main import main
from ylg.gan.run.checkpoint import list_checkpoints, load_checkpoint
from ylg.gan.run.config import SEED_MAX, TrainConfig, config_toml, pattern_sha256
from ylg.gan.run.presets import load_config
from ylg.gan.training.trainer import train

PATTERN = """\
# LTR, written by hand
name = "three"
description = "ltr by hand"
steps = ["q // s == k // s and k <= q", "k == q or k % s == s - 1"]
order = "esa"
"""

TINY = dict(
    data="digits",
    g_channels=16,
    d_channels=64,
    attn_resolution=8,
    z_dim=16,
    batch_size=4,
    iterations=2,
    log_every=1,
    sample_every=2,
    checkpoint_every=2,
    sample_count=4,
    tensorboard=False,
)


@contextlib.contextmanager
def inside(folder: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


def ylg(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    """The command line in this process: exit code, stdout, stderr."""
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


def start_run(folder: Path, steps: int = 2, pattern: str = PATTERN, **changes: object) -> Path:
    """Train a tiny run from ``folder/pat/three.toml`` (named relative to ``folder``)."""
    (folder / "pat").mkdir(parents=True, exist_ok=True)
    (folder / "pat" / "three.toml").write_text(pattern)
    cfg = TrainConfig(**{**TINY, "attention": "pat/three.toml", "iterations": steps, **changes})
    with inside(folder):
        train(cfg, "run", progress=False)
    return folder / "run"


@pytest.fixture(scope="module")
def one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, one_thread: None) -> Path:
    return start_run(tmp_path_factory.mktemp("project"))


@pytest.fixture
def project(run: Path, tmp_path: Path) -> Path:
    """A copy of the shared run's project folder (its pattern file and run) to change."""
    shutil.copytree(run.parent, tmp_path, dirs_exist_ok=True)
    return tmp_path


def test_config_and_every_checkpoint_hold_the_pattern_text_and_digest(run: Path) -> None:
    cfg = load_config(run / "config.toml")
    assert cfg.attention == "pat/three.toml"
    assert cfg.attention_pattern == PATTERN  # the file's own text, comments included
    assert cfg.attention_sha256 == pattern_sha256(PATTERN)
    for _, path in list_checkpoints(run):
        saved = load_checkpoint(path)["config"]
        assert saved["attention_pattern"] == PATTERN
        assert saved["attention_sha256"] == pattern_sha256(PATTERN)


def test_every_command_works_from_elsewhere_with_the_file_gone(
    project: Path, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    run = project / "run"
    with inside(project):
        code, _, err = ylg(capsys, "sample", "-c", "run", "--n", "4", "-o", "before.png")
    assert code == 0, err
    (project / "pat" / "three.toml").unlink()
    (project / "pat").rmdir()
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    with inside(elsewhere):
        code, _, err = ylg(capsys, "sample", "-c", run, "--n", "4", "-o", "after.png")
        assert code == 0, err
        images = elsewhere / "real"
        images.mkdir()
        for i in range(3):
            (images / f"{i}.png").write_bytes((project / "before.png").read_bytes())
        code, out, err = ylg(
            capsys, "eval", images, "-c", run, "-x", "random", "--n", "3", "--device", "cpu",
            "--no-progress", "--kid-subset-size", "2",
        )  # fmt: skip
        assert code == 0 and "FID" in out, err
        code, _, err = ylg(
            capsys, "draw", "attention", "-c", run, "--seed", "1", "--no-progress",
            "-o", "attention.png",
        )  # fmt: skip
        assert code == 0 and (elsewhere / "attention.png").is_file(), err
        code, out, err = ylg(
            capsys, "invert", project / "before.png", "-c", run, "--iterations", "1",
            "--seeds", "1", "--no-compare", "--method", "pixel", "--no-progress", "-o", "inv",
        )  # fmt: skip
        assert code == 0 and "pixel error" in out, err
        code, out, err = ylg(capsys, "train", "--out", run, "--resume", "--iterations", "3", "-q")
        assert code == 0 and "step 3" in out, err
    # the same pattern built the samples before and after the file went away
    assert (project / "before.png").read_bytes() == (elsewhere / "after.png").read_bytes()


def test_an_edited_pattern_file_is_refused_on_resume_when_named_ignored_when_not(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tmp_path, run = project, project / "run"
    path = tmp_path / "pat" / "three.toml"
    path.write_text(PATTERN.replace("k <= q", "k < q").replace('"esa"', '"rowmajor"'))
    with inside(tmp_path):
        code, _, err = ylg(
            capsys, "train", "--out", "run", "--resume", "--attention", "pat/three.toml", "-q"
        )
        assert code == 2 and err.count("\n") == 1
        assert "the pattern pat/three.toml has changed since the run started" in err
        assert "step 1: 'q // s == k // s and k <= q' -> 'q // s == k // s and k < q'" in err
        assert "order: 'esa' -> 'rowmajor'" in err
        # not named: the run keeps its own copy and trains on
        code, out, err = ylg(capsys, "train", "--out", "run", "--resume", "--iterations", "3", "-q")
        assert code == 0, err
    assert load_config(run / "config.toml").attention_pattern == PATTERN
    assert load_checkpoint(list_checkpoints(run)[-1][1])["config"]["attention_pattern"] == PATTERN
    # an edit that leaves the masks alone (a comment, the description) is accepted
    path.write_text(PATTERN.replace("ltr by hand", "renamed") + "# more words\n")
    with inside(tmp_path):
        code, _, err = ylg(
            capsys, "train", "--out", "run", "--resume", "--attention", "pat/three.toml",
            "--iterations", "4", "-q",
        )  # fmt: skip
    assert code == 0, err
    assert load_config(run / "config.toml").attention_pattern == PATTERN


def test_a_hand_edited_config_toml_is_applied_or_refused_by_name(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = project / "run"
    config = run / "config.toml"
    original = config.read_text()
    config.write_text(original.replace("resolution = 32", "resolution = 64"))
    code, _, err = ylg(capsys, "train", "--out", run, "--resume", "-q")
    assert code == 2 and err.count("\n") == 1
    assert "config.toml was edited: resolution (32 -> 64) cannot change when resuming" in err
    assert "64" in config.read_text()  # refused, not silently reverted
    # runtime keys edited there are applied, and written back
    config.write_text(original.replace("iterations = 2", "iterations = 3"))
    code, out, err = ylg(capsys, "train", "--out", run, "--resume", "-q")
    assert code == 0 and "step 3" in out, err
    assert load_config(config).iterations == 3
    # an edited pattern text in config.toml is caught by its digest
    text = config.read_text()
    config.write_text(text.replace("k <= q", "k < q"))
    code, _, err = ylg(capsys, "train", "--out", run, "--resume", "--iterations", "4", "-q")
    assert code == 2 and "attention_pattern does not match attention_sha256" in err
    # a broken file is named; without it the checkpoint's config is used
    config.write_text("steps = [")
    code, _, err = ylg(capsys, "train", "--out", run, "--resume", "--iterations", "4", "-q")
    assert code == 2 and "config.toml" in err and err.count("\n") == 1
    config.unlink()
    code, out, err = ylg(capsys, "train", "--out", run, "--resume", "--iterations", "4", "-q")
    assert code == 0 and "step 4" in out, err


def test_a_pattern_without_full_information_needs_no_verify(
    tmp_path: Path, one_thread: None, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "diag.toml").write_text('name = "diag"\nsteps = ["k == q"]\n')
    args = ["train", "--preset", "digits", "--attention", "diag.toml", "--iterations", "1"]
    args += ["--batch-size", "4", "-q"]
    with inside(tmp_path):
        code, _, err = ylg(capsys, *args, "--out", "a")
        assert code == 2 and err.count("\n") == 1
        assert "lacks Full Information" in err and "--no-verify" in err
        assert "verify=False" not in err
        (tmp_path / "diag.toml").unlink()  # the run keeps its copy, and its choice
    (tmp_path / "diag.toml").write_text('name = "diag"\nsteps = ["k == q"]\n')
    small = tmp_path / "small.toml"
    small.write_text(config_toml(TrainConfig(**{**TINY, "attention": "diag.toml"})))
    with inside(tmp_path):
        code, _, err = ylg(capsys, "train", "--config", small, "--out", "b", "-q", "--no-verify")
        assert code == 0, err
        (tmp_path / "diag.toml").unlink()
        code, _, err = ylg(capsys, "sample", "-c", "b", "--n", "2", "-o", "s.png")
        assert code == 0, err
    assert load_config(tmp_path / "b" / "config.toml").verify_attention is False


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("lr_g = nan", "config key 'lr_g' must be a finite number, not nan"),
        ("lr_d = inf", "config key 'lr_d' must be a finite number, not inf"),
        ("lr_d = -1.0", "lr_d must be a positive learning rate"),
        ("beta2 = nan", "config key 'beta2' must be a finite number"),
        ("seed = 99999999999999999999", f"seed must be an integer from 0 to {SEED_MAX}"),
        ("seed = -1", f"seed must be an integer from 0 to {SEED_MAX}"),
        ('attention = "sagan"\nattention_pattern = "x"', "takes no attention_pattern"),
    ],
)
def test_bad_numbers_in_a_config_are_refused_in_one_line(
    line: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(f'preset = "digits"\n{line}\n')
    code, _, err = ylg(capsys, "train", "--config", config, "--out", tmp_path / "run")
    assert code == 2 and message in err and err.count("\n") == 1, err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["train", "--preset", "digits", "--out", "{tmp}/run"],
        ["sample", "-c", "{tmp}", "-o", "{tmp}/x.png"],
        ["invert", "{tmp}/x.toml", "-c", "{tmp}"],
        ["draw", "attention", "-c", "{tmp}"],
        ["eval", "{tmp}", "{tmp}"],
    ],
)
def test_a_huge_seed_is_a_usage_error(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "x.toml").write_text("")
    argv = [a.format(tmp=tmp_path) for a in args] + ["--seed", "99999999999999999999"]
    code, _, err = ylg(capsys, *argv)
    assert code == 2 and "99999999999999999999 is not in the range 0<=x<=4294967295" in err
    assert err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.toml"]


def test_a_diverging_run_stops_with_exit_2_before_saving_bad_weights(
    tmp_path: Path, one_thread: None, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "wild.toml"
    cfg = TrainConfig(**{**TINY, "attention": "none", "g_channels": 8, "d_channels": 8})
    config.write_text(config_toml(cfg.replace(lr_g=1e38, lr_d=1e38, iterations=3)))
    code, _, err = ylg(capsys, "train", "--config", config, "--out", tmp_path / "run", "-q")
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith("Error: training diverged at step 1: ") and "non-finite" in err
    assert "no checkpoint was written" in err
    assert list_checkpoints(tmp_path / "run") == []
