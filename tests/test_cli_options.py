"""Options declared once: ylg train's from TrainConfig, ylg invert's from the inversion
Settings, and --checkpoint, -o/--out/--output and --device from ylg.cli.common_options."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from ylg.cli.config_options import dataclass_options
from ylg.cli.main import cli, main
from ylg.gan.invert.settings import Settings
from ylg.gan.run.config import TrainConfig

COMMANDS = Path(__file__).resolve().parent.parent / "ylg" / "cli" / "commands"
GAN_COMMANDS = ("train", "sample", "eval", "invert", "draw_attention", "demo", "info")


def run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    return int(exc.value.code or 0), capsys.readouterr().err


def options_of(cls: type) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if "option" in f.metadata]


def test_train_takes_exactly_the_config_fields_that_declare_an_option() -> None:
    params = {p.name: p for p in cli.commands["train"].params}
    own = {"preset_name", "config", "output", "resume", "quiet", "help"}
    fields = options_of(TrainConfig)
    assert set(params) - own == {f.name for f in fields}
    for field in fields:
        spec, param = field.metadata["option"], params[field.name]
        assert param.default is None  # not given: the preset's or file's value stands
        assert param.help == spec.help
        if spec.choices:
            assert list(param.type.choices) == list(spec.choices)
        elif str(field.type) == "int":
            assert (param.type.min, param.type.max) == (spec.low, spec.high)
    flags = {o for p in params.values() for o in [*p.opts, *p.secondary_opts]}
    assert {"--verify", "--no-verify", "--batch-size", "--eval-every", "--seed"} <= flags


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--iterations", "0"], "x>=1"),
        (["--seed", "4294967296"], "0<=x<=4294967295"),
        (["--device", "tpu"], "'tpu' is not one of"),
        (["--num-workers", "-1"], "x>=0"),
    ],
)
def test_train_refuses_bad_config_options_in_one_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, err = run(capsys, "train", "--preset", "digits", "-o", tmp_path / "run", *args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_settings_options_build_the_settings_with_its_defaults() -> None:
    @click.command()
    @dataclass_options(Settings, into="settings")
    def show(settings: Settings) -> None:
        click.echo(repr(settings))

    runner = CliRunner()
    out = runner.invoke(show, []).output
    assert out.strip() == repr(Settings())
    result = runner.invoke(show, ["--lookahead-k", "3", "--lookahead-alpha", "0.25", "--seed", "7"])
    assert result.output.strip() == repr(Settings(k=3, alpha=0.25, seed=7))
    for bad in (["--lookahead-alpha", "1.5"], ["--lr", "0"], ["--seeds", "5000"], ["--lr", "nan"]):
        assert runner.invoke(show, bad).exit_code == 2, bad


def test_invert_and_draw_attention_take_the_settings_fields(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    invert = {p.name for p in cli.commands["invert"].params}
    draw = {p.name for p in cli.commands["draw"].commands["attention"].params}
    fields = {f.name for f in options_of(Settings)}
    assert fields <= invert
    # draw attention inverts with four of them (its --seed is the seed of the image)
    assert {"seeds", "iterations", "lr", "truncation"} <= draw and not {"k", "alpha"} & draw
    image = tmp_path / "x.png"
    image.write_bytes(b"")
    code, err = run(capsys, "invert", image, "-c", tmp_path, "--lookahead-alpha", "2")
    assert code == 2 and "--lookahead-alpha" in err and "is not <= 1" in err


def test_out_and_output_are_one_option(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    for command in (["train"], ["sample"], ["invert"], ["demo"], ["draw", "attention"]):
        group = cli
        for name in command[:-1]:
            group = group.commands[name]
        (param,) = [p for p in group.commands[command[-1]].params if p.name == "output"]
        assert sorted(param.opts) == ["--out", "--output", "-o"], command
    args = ["sample", "-c", tmp_path, "--out", "a.png", "--output", "b.png"]
    code, err = run(capsys, *args)
    assert code == 2 and "given 2 times" in err


@pytest.mark.parametrize(
    "args, message",
    [
        (["sample", "-c", "{tmp}", "-o", "s.jpg"], "s.jpg: write a .png file."),
        (["sample", "-c", "{tmp}", "-o", "newdir/"], "newdir/ names a folder; give a file"),
        (["draw", "mask", "ltr", "-g", "3x3", "-o", "afile/m.png"], "afile is a file, not a"),
        (["eval", "{tmp}", "{tmp}", "--json", "afile/m.json"], "afile is a file, not a"),
        (["invert", "{tmp}/afile", "-c", "{tmp}", "-o", "afile/inv"], "afile is a file, not a"),
        (["train", "--preset", "digits", "-o", "afile/run"], "afile is a file, not a folder"),
    ],
)
def test_an_output_that_cannot_be_written_is_refused_before_any_work(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    """Checked when the options are read: once, an inversion ran for minutes and then
    ended in a traceback because its -o lay under a file."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("x")
    code, err = run(capsys, *(a.replace("{tmp}", str(tmp_path)) for a in args))
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_a_bad_device_is_refused_before_anything_is_read(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # The folder holds no checkpoint: reading it would fail with another message.
    code, err = run(capsys, "sample", "-c", tmp_path, "--device", "tpu", "-o", "x.png")
    assert code == 2 and "unknown device 'tpu'" in err and "--device" in err
    code, err = run(capsys, "eval", tmp_path, tmp_path, "--device", "meta")
    assert code == 2 and "runs on cpu or cuda" in err


def _option_names(path: Path) -> set[str]:
    """The option names a module declares itself, in click.option(...) calls."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "click.option":
            found.update(
                a.value
                for a in node.args
                if isinstance(a, ast.Constant) and isinstance(a.value, str)
            )
    return found


@pytest.mark.parametrize("module", GAN_COMMANDS)
def test_gan_commands_declare_no_shared_option_themselves(module: str) -> None:
    shared = {
        "--checkpoint",
        "-c",
        "--out",
        "--output",
        "-o",
        "--device",
        "--seed",
        "--raw",
        "--preset",
    }
    shared |= {
        "--iterations",
        "--steps",
        "--seeds",
        "--lr",
        "--lookahead-k",
        "--data",
        "--attention",
    }
    assert not _option_names(COMMANDS / f"{module}.py") & shared


def test_old_option_names_are_aliases_of_the_new() -> None:
    """--steps (ylg train, ylg invert, ylg draw attention) and --train-steps (ylg demo)
    are the old names of --iterations and --train-iterations: the same option."""
    for path, new, old in (
        (["train"], "--iterations", "--steps"),
        (["invert"], "--iterations", "--steps"),
        (["draw", "attention"], "--iterations", "--steps"),
        (["demo"], "--train-iterations", "--train-steps"),
    ):
        command = cli
        for name in path:
            command = command.commands[name]
        [param] = [p for p in command.params if new in p.opts]
        assert param.opts == [new, old], path

    @click.command()
    @dataclass_options(TrainConfig, into="changes", overrides=True)
    def show(changes: dict) -> None:
        click.echo(changes)

    @click.command()
    @dataclass_options(Settings, into="settings")
    def inversion(settings: Settings) -> None:
        click.echo(settings.iterations)

    runner = CliRunner()
    assert runner.invoke(show, ["--steps", "5"]).output == "{'iterations': 5}\n"
    assert runner.invoke(show, ["--iterations", "5"]).output == "{'iterations': 5}\n"
    assert runner.invoke(inversion, ["--steps", "7"]).output == "7\n"
    assert runner.invoke(inversion, ["--iterations", "7"]).output == "7\n"


def test_every_required_option_is_asked_for() -> None:
    """click never asks for a required option whose default is given, even as None."""
    import click

    from ylg.cli.main import cli

    def options(cmd: click.Command, path: list[str]):  # noqa: ANN202
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                yield from options(sub, [*path, name])
        else:
            for p in cmd.params:
                if isinstance(p, click.Option) and p.required:
                    yield " ".join(path), p

    found = list(options(cli, []))
    assert len(found) > 10
    for where, p in found:
        assert "UNSET" in repr(p.default), (where, p.opts, p.default)
