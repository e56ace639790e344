"""Hypothesis drives ``load_config``, ``load_generator`` and the GAN commands (train with
tiny steps, sample, eval, invert, draw attention) with random option values (issue 12,
"past the list").

Each command case runs the real entry point in this process from a fresh working
folder, with values that are valid, unicode, huge, negative, NaN or empty, and paths
that are folders, missing, corrupt or foreign files. Every case must end with exit code
0 or 2 (bad input); on exit 2 stderr is exactly one ``Error: ...`` line; never a
traceback; no file written anywhere but the asked output; and bounded time. The number
of cases per test is ``YLG_FUZZ_CASES`` (default: a few, to keep the suite quick).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from ylg.cli.main import main
from ylg.errors import YlgError
from ylg.gan.run.config import TrainConfig, config_toml
from ylg.gan.run.presets import load_config
from ylg.gan.sampling.generate import load_generator
from ylg.gan.training.trainer import train

CASES = int(os.environ.get("YLG_FUZZ_CASES", "6"))
#: A hang guard, not a speed test: cases take seconds; a soak on a machine loaded four
#: times over once took 112 s for an inversion case.
SECONDS_PER_CASE = 240.0
COUNTS: dict[str, int] = {}

TINY = TrainConfig(
    data="digits",
    attention="ylg",
    g_channels=16,
    d_channels=64,
    attn_resolution=8,
    z_dim=16,
    batch_size=4,
    iterations=1,
    sample_every=1000,
    checkpoint_every=1000,
    sample_count=4,
    tensorboard=False,
)
NO_ATTENTION = TINY.replace(attention="none", g_channels=8, d_channels=8)

hostile = st.sampled_from(
    ["", " ", "nan", "inf", "-inf", "-1", "0", "1e999", "99999999999999999999", "\x00", "٣",
     "é", "🙂", "--help-me", "3.5", "0x10", "1_000"]
)  # fmt: skip
counts = st.one_of(st.integers(1, 3).map(str), hostile)
floats = st.one_of(st.sampled_from(["0.05", "1", "2.0", "1e-9", "0.5"]), hostile)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """What the cases point at: a run with attention, broken files, images, arrays."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    base = tmp_path_factory.mktemp("world")
    run = base / "run"
    train(TINY, run, progress=False)
    corrupt = base / "corrupt.ckpt"
    data = bytearray(next((run / "checkpoints").iterdir()).read_bytes())
    data[len(data) // 2] ^= 0xFF
    corrupt.write_bytes(bytes(data))
    images = base / "images"
    images.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(images / f"{i}.png")
    Image.fromarray(rng.integers(0, 65535, (32, 32), dtype=np.uint16)).save(images / "deep.png")
    (images / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    array = base / "images.npy"
    np.save(array, rng.integers(0, 256, (4, 16, 16, 3), dtype=np.uint8))
    (base / "bad.npy").write_bytes(b"\x93NUMPY garbage")
    (base / "text.txt").write_text("not an image\n")
    (base / "empty").mkdir()
    (base / "inversion.json").write_text('{"z": [1, 2], "class_index": 99}')
    yield {
        "run": run,
        "ckpt": next((run / "checkpoints").iterdir()),
        "corrupt": corrupt,
        "images": images,
        "png": images / "0.png",
        "deep": images / "deep.png",
        "broken": images / "broken.png",
        "array": array,
        "bad_array": base / "bad.npy",
        "text": base / "text.txt",
        "empty": base / "empty",
        "missing": base / "missing",
        "inversion": base / "inversion.json",
    }
    torch.set_num_threads(before)


def tree(folder: Path) -> dict[str, int]:
    return {
        str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()
    }


@contextlib.contextmanager
def fresh_folder() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="ylg-fuzz-"))
    before = Path.cwd()
    os.chdir(folder)
    try:
        yield folder
    finally:
        os.chdir(before)
        shutil.rmtree(folder, ignore_errors=True)


def run_case(
    name: str,
    capsys: pytest.CaptureFixture[str],
    world: dict[str, Path],
    args: list[str],
    outputs: tuple[str, ...],
) -> None:
    """Run one command line; check exit code, stderr, files written and time."""
    COUNTS[name] = COUNTS.get(name, 0) + 1
    shared = world["run"].parent
    shared_before = tree(shared)
    capsys.readouterr()
    with fresh_folder() as folder:
        started = time.perf_counter()
        with pytest.raises(SystemExit) as exc:
            main(args)
        elapsed = time.perf_counter() - started
        out, err = capsys.readouterr()
        code = exc.value.code
        written = set(tree(folder))
    assert code in (0, 2), (args, code, err)
    assert "Traceback" not in err, (args, err)
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), (args, err)

    def asked(path: str, output: str) -> bool:
        if output.endswith("*"):  # a default name in the working folder
            return os.sep not in path and path.startswith(output[:-1])
        return path == os.path.normpath(output) or path.startswith(output + os.sep)

    stray = {p for p in written if not any(asked(p, o) for o in outputs if o)}
    assert not stray, (args, stray)
    assert tree(shared) == shared_before, args  # nothing the user had was touched
    assert elapsed < SECONDS_PER_CASE, (args, elapsed)


def pick(world: dict[str, Path], names: list[str]) -> st.SearchStrategy[str]:
    return st.sampled_from([str(world[n]) if n in world else n for n in names])


FUZZ = settings(
    max_examples=CASES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# -- load_config and load_generator --------------------------------------------------------

config_keys = st.sampled_from(
    [f.name for f in TrainConfig.__dataclass_fields__.values() if f.name != "extra"]
    + ["preset", "nope", "train"]
)
toml_values = st.one_of(
    st.sampled_from(
        ["nan", "inf", "-inf", "-1", "0", "1", "99999999999999999999", "true", '""', '"ylg"',
         '"none"', '"digits"', "[]", "{}", "1.5", '"🙂"', '"../x.toml"', "2026-01-01"]
    ),
    st.integers(-(2**70), 2**70).map(str),
    st.text(max_size=6).map(lambda t: '"' + t.replace("\\", "").replace('"', "") + '"'),
)  # fmt: skip


@FUZZ
@given(lines=st.lists(st.tuples(config_keys, toml_values), max_size=4), raw=st.binary(max_size=12))
def test_load_config_reads_or_refuses_any_file(
    lines: list[tuple[str, str]], raw: bytes, tmp_path: Path
) -> None:
    COUNTS["load_config"] = COUNTS.get("load_config", 0) + 1
    text = 'preset = "digits"\n' + "".join(f"{k} = {v}\n" for k, v in dict(lines).items())
    for content in (text.encode(), raw, text.encode() + raw):
        path = tmp_path / "c.toml"
        path.write_bytes(content)
        try:
            cfg = load_config(path)
        except YlgError as exc:
            assert "\n" not in str(exc), str(exc)
            continue
        # what loads writes back as a file that loads the same
        path.write_text(config_toml(cfg))
        assert load_config(path) == cfg


@FUZZ
@given(text=st.text(max_size=40))
def test_a_pattern_text_survives_config_toml(text: str) -> None:
    COUNTS["config_toml"] = COUNTS.get("config_toml", 0) + 1
    cfg = TrainConfig(attention="x.toml", notes=text)
    try:
        back = load_config_text(config_toml(cfg))
    except YlgError as exc:  # only lone surrogates cannot be written
        assert "lone surrogate" in str(exc)
        return
    assert back.notes == text


def load_config_text(text: str) -> TrainConfig:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.toml"
        path.write_text(text, encoding="utf-8")
        return load_config(path)


@FUZZ
@given(which=st.sampled_from(["run", "ckpt", "corrupt", "png", "empty", "missing", "text"]))
def test_load_generator_loads_or_refuses(which: str, world: dict[str, Path]) -> None:
    COUNTS["load_generator"] = COUNTS.get("load_generator", 0) + 1
    try:
        loaded = load_generator(world[which])
    except YlgError as exc:
        assert "\n" not in str(exc)
        assert which not in ("run", "ckpt")
        return
    assert which in ("run", "ckpt") and loaded.step == 1


# -- the commands ---------------------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_train_fuzz(data: st.DataObject, world: dict[str, Path], capsys) -> None:
    extra = data.draw(st.lists(st.tuples(config_keys, toml_values), max_size=2))
    base = data.draw(st.sampled_from([NO_ATTENTION, TINY]))
    text = config_toml(base) + "".join(f"{k} = {v}\n" for k, v in dict(extra).items())
    config = world["run"].parent / f"fuzz-{COUNTS.get('train', 0)}.toml"
    config.write_text(text, encoding="utf-8")
    args = ["train", "--config", str(config), "--out", "out", "-q"]
    for flag, values in (
        ("--iterations", counts),
        ("--batch-size", st.sampled_from(["2", "4", "3", "0", "nan", "99999999999"])),
        ("--seed", st.one_of(st.integers(0, 9).map(str), hostile)),
        ("--attention", pick(world, ["none", "sagan", "bogus", "missing", "text", "", "🙂"])),
        ("--data", pick(world, ["digits", "images", "empty", "missing", "png", ""])),
        ("--device", st.sampled_from(["cpu", "cuda:99", "xla", "tpu", ""])),
        ("--precision", st.sampled_from(["fp32", "auto", "fp64"])),
        ("--num-workers", st.sampled_from(["0", "-1", "nan"])),
        ("--checkpoint-every", counts),
    ):
        if data.draw(st.booleans()):
            args += [flag, data.draw(values)]
    if data.draw(st.booleans()):
        args.append(data.draw(st.sampled_from(["--no-verify", "--resume", "--verify"])))
    try:
        run_case("train", capsys, world, args, ("out",))
    finally:
        config.unlink()


@FUZZ
@given(data=st.data())
def test_sample_fuzz(data: st.DataObject, world: dict[str, Path], capsys) -> None:
    checkpoint = data.draw(pick(world, ["run", "ckpt", "corrupt", "png", "empty", "missing"]))
    output = data.draw(st.sampled_from(["grid.png", "sub/grid.png", ".", "", "g.jpg"]))
    args = ["sample", "-c", checkpoint, "-o", output]
    for flag, values in (
        ("--n", st.one_of(counts, st.just("1000000000000"))),
        ("--class", st.sampled_from(["0", "9", "10", "-1", "seven", "", "3"])),
        ("--truncation", floats),
        ("--seed", st.one_of(st.integers(0, 9).map(str), hostile)),
        ("--device", st.sampled_from(["cpu", "cuda", "cuda:x", "", "meta"])),
    ):
        if data.draw(st.booleans()):
            args += [flag, data.draw(values)]
    if data.draw(st.booleans()):
        args.append("--raw")
    run_case("sample", capsys, world, args, (output,))


@FUZZ
@given(data=st.data())
def test_eval_fuzz(data: st.DataObject, world: dict[str, Path], capsys) -> None:
    sets = ["images", "array", "bad_array", "empty", "missing", "png", "text", "deep"]
    args = ["eval", data.draw(pick(world, sets)), "-x", "random", "--no-progress"]
    if data.draw(st.booleans()):
        args += ["-c", data.draw(pick(world, ["run", "ckpt", "corrupt", "missing"]))]
    else:
        args.append(data.draw(pick(world, sets)))
    json_out = data.draw(st.sampled_from(["", "m.json", ".", "sub/m.json"]))
    if json_out:
        args += ["--json", json_out]
    for flag, values in (
        ("--n", counts),
        ("--batch-size", counts),
        ("--kid-subsets", st.one_of(counts, st.just("100000"))),
        ("--kid-subset-size", counts),
        ("--is-splits", counts),
        ("--seed", hostile),
        ("--device", st.sampled_from(["cpu", "auto", "cuda:9", "nope", "meta"])),
        ("-x", st.sampled_from(["random", "nope", str(world["text"]), str(world["ckpt"])])),
    ):
        if data.draw(st.booleans()):
            args += [flag, data.draw(values)]
    run_case("eval", capsys, world, args, (json_out,))


@FUZZ
@given(data=st.data())
def test_invert_fuzz(data: st.DataObject, world: dict[str, Path], capsys) -> None:
    image = data.draw(pick(world, ["png", "deep", "broken", "images", "missing", "text"]))
    checkpoint = data.draw(pick(world, ["run", "ckpt", "corrupt", "missing"]))
    args = ["invert", image, "-c", checkpoint, "--no-progress", "-o", "inv"]
    args += ["--iterations", data.draw(st.sampled_from(["1", "2", "0", "-1", "nan"]))]
    args += ["--seeds", data.draw(st.sampled_from(["1", "2", "0", "1000000000000"]))]
    for flag, values in (
        ("--method", st.sampled_from(["ylg", "pixel", "dfeat", "nope"])),
        ("--lr", floats),
        ("--truncation", floats),
        ("--class", st.sampled_from(["auto", "3", "10", "-1", "", "x"])),
        ("--lookahead-k", counts),
        ("--lookahead-alpha", st.sampled_from(["0.5", "1", "0", "1.5", "nan"])),
        ("--patience", counts),
        ("--seed", hostile),
        ("--query", st.sampled_from(["0,0", "7,7", "99,99", "", "a", "-1,0"])),
        ("--device", st.sampled_from(["cpu", "cuda:9", "nope", "meta"])),
    ):
        if data.draw(st.booleans()):
            args += [flag, data.draw(values)]
    if data.draw(st.booleans()):
        args.append("--no-compare")
    run_case("invert", capsys, world, args, ("inv",))


@FUZZ
@given(data=st.data())
def test_draw_attention_fuzz(data: st.DataObject, world: dict[str, Path], capsys) -> None:
    checkpoint = data.draw(pick(world, ["run", "ckpt", "corrupt", "missing"]))
    output = data.draw(st.sampled_from(["a.png", "", "sub/a.png"]))
    args = ["draw", "attention", "-c", checkpoint, "--no-progress", "--iterations", "1"]
    args += ["--seeds", "1"]
    if output:
        args += ["-o", output]
    source = data.draw(st.sampled_from(["--seed", "--image", "--inversion", "both", "none"]))
    if source in ("--seed", "both"):
        args += ["--seed", data.draw(st.one_of(st.integers(0, 9).map(str), hostile))]
    if source in ("--image", "both"):
        args += ["--image", data.draw(pick(world, ["png", "deep", "broken", "missing"]))]
    if source == "--inversion":
        args += ["--inversion", data.draw(pick(world, ["inversion", "text", "missing"]))]
    for flag, values in (
        ("--layer", st.sampled_from(["generator", "discriminator", "both"])),
        ("--head", st.sampled_from(["0", "7", "8", "-1", "x"])),
        ("--query", st.sampled_from(["0,0", "7,7", "8,8", "", "a", "3"])),
        ("--truncation", floats),
        ("--class", st.sampled_from(["auto", "3", "10", "x"])),
    ):
        if data.draw(st.booleans()):
            args += [flag, data.draw(values)]
    # without -o the figure gets a default name in the working folder
    allowed = (output,) if output else ("attention-*",)
    run_case("draw attention", capsys, world, args, allowed)


# -- what the fuzzers found, kept fixed -------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x80", "cannot read config"),
        (b"train = nan\n", "'train' must be a table"),
        (b"preset = 3\n", "preset must be a name"),
        (b'preset = "digits"\nbatch_size = 99999999999\n', "batch_size must be at most 65536"),
    ],
)
def test_found_load_config_refusals(content: bytes, message: str, tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_bytes(content)
    with pytest.raises(YlgError, match=message):
        load_config(path)
    with pytest.raises(YlgError, match="is a folder"):
        load_config(tmp_path)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sample", "-c", "{run}", "--n", "1000000000000", "-o", "g.png"], "GiB; at most 4 GiB"),
        (["invert", "{png}", "-c", "{run}", "--seeds", "1000000000000"], "1<=x<=4096"),
        (["eval", "{images}", "{images}", "--kid-subsets", "100000"], "1<=x<=10000"),
        (["train", "--preset", "digits", "--batch-size", "99999999999", "--out", "o"], "65536"),
        (["sample", "-c", "{run}", "--device", "meta", "-o", "g.png"], "runs on cpu or cuda"),
    ],
)
def test_found_command_refusals(
    args: list[str], message: str, world: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Huge counts once ran out of memory with a traceback (or hung): now one line."""
    argv = [a.format(**{k: str(v) for k, v in world.items()}) for a in args]
    with fresh_folder() as folder:
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert list(folder.iterdir()) == []
    err = capsys.readouterr().err
    assert exc.value.code == 2 and message in err and err.count("\n") == 1, err


def test_report_fuzz_counts() -> None:
    """Print how many cases each fuzzer ran (pytest -s shows it)."""
    print("fuzz cases:", dict(sorted(COUNTS.items())))


# -- where inversions and attention figures go, found by hand -------------------------


def cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str]:
    """Exit code and stderr of ``ylg ARGS`` in this process."""
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    return int(exc.value.code or 0), capsys.readouterr().err


def test_inversion_folders_stay_inside_out_and_are_checked_first(
    world: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An image named '...png' once wrote its results into the parent of -o; a file in
    the way of a result folder once ended the run in a traceback after the inversion."""
    dots = tmp_path / "...png"
    shutil.copy(world["png"], dots)
    out = tmp_path / "outer" / "o"
    quick = ["-c", world["run"], "--iterations", "1", "--seeds", "1", "--no-compare"]
    code, err = cli(capsys, "invert", dots, *quick, "--no-progress", "-o", out)
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "outer").iterdir()) == ["o"]
    assert (out / "image" / "result.json").is_file()
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    (blocked / "0").write_text("mine")
    start = time.perf_counter()
    code, err = cli(capsys, "invert", world["png"], *quick, "--no-progress", "-o", blocked)
    assert code == 2 and "cannot write the results into" in err and "it is a file" in err
    assert (blocked / "0").read_text() == "mine" and time.perf_counter() - start < 30


def test_a_reused_inversion_folder_shows_one_run(
    world: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    quick = ["-c", world["run"], "--iterations", "1", "--seeds", "1", "--no-compare"]
    for cell in ("0,0", "1,1"):
        code, err = cli(
            capsys, "invert", world["png"], *quick, "-q", cell, "--no-progress", "-o", tmp_path
        )
        assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "0").glob("query-*.png")) == ["query-1-1.png"]


@pytest.mark.parametrize(
    "source, extra, flag",
    [
        (["--seed", "1"], ["--iterations", "5"], "--iterations"),
        (["--image", "{png}", "--layer", "discriminator"], ["--class", "0"], "--class"),
        (["--image", "{png}", "--layer", "discriminator"], ["--seeds", "3"], "--seeds"),
    ],
)
def test_draw_attention_refuses_options_its_source_ignores(
    world: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    source: list[str],
    extra: list[str],
    flag: str,
) -> None:
    args = [a.replace("{png}", str(world["png"])) for a in source + extra]
    code, err = cli(
        capsys, "draw", "attention", "-c", world["run"], *args, "-o", tmp_path / "a.png"
    )
    assert code == 2 and f"{flag} does not apply with" in err
    assert not (tmp_path / "a.png").exists()


def test_a_photo_is_read_upright_as_its_exif_says(tmp_path: Path) -> None:
    from ylg.pixels import read_image

    pixels = np.zeros((32, 32, 3), dtype=np.uint8)
    pixels[:, :16] = 255  # left half white as stored; orientation 6: shown rotated
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(pixels).save(tmp_path / "phone.jpg", exif=exif, quality=95)
    image = read_image(tmp_path / "phone.jpg", 32).float()
    assert image[:, :16].mean() > 200 and image[:, 16:].mean() < 50  # white on top
