"""Inversion with a model trained in the test session: the loop recovers an image the
generator made, and ``ylg invert`` / ``ylg draw attention`` run end to end on a real
bundled photo."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ylg.cli.commands.invert import METHOD_CHOICES
from ylg.cli.main import main
from ylg.gan.invert import Settings, invert_image, load_models
from ylg.gan.invert.loading import InversionModels
from ylg.gan.invert.losses import METHODS, pixel_loss
from ylg.gan.run.config import TrainConfig
from ylg.gan.sampling.latents import latents
from ylg.gan.training.trainer import train

#: The smallest YLG-SAGAN the trainer builds (8 heads need 64 channels at each layer).
TINY = TrainConfig(
    data="digits",
    resolution=32,
    attention="ylg",
    g_channels=32,
    d_channels=64,
    z_dim=16,
    class_norm="shared",
    shared_dim=16,
    batch_size=8,
    iterations=20,
    ema_start=0,
    ema_decay=0.5,
    tensorboard=False,
    sample_count=4,
    checkpoint_every=1000,
    sample_every=1000,
)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread per test process: with pytest -n 2 on two cores, two threads per
    worker oversubscribe the cores and make these tests several times slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny-run")
    train(TINY, folder, progress=False)
    return folder


@pytest.fixture(scope="module")
def models(run_dir: Path) -> InversionModels:
    return load_models(run_dir)


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real photo that ships with scikit-image (a cat), as a PNG file."""
    import skimage.data

    path = tmp_path_factory.mktemp("photos") / "chelsea.png"
    Image.fromarray(skimage.data.chelsea()).save(path)
    return path


def ylg(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the ylg command line in this process: exit code, stdout, stderr."""
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


@pytest.mark.parametrize("method, factor", [("pixel", 0.5), ("ylg", 0.7)])
def test_inverting_a_generated_image_takes_the_pixel_error_far_below_its_start(
    models: InversionModels, method: str, factor: float
) -> None:
    g, d = models.generator.model, models.discriminator
    y = torch.tensor([3])
    with torch.no_grad():
        x = g(latents(1, 16, torch.Generator().manual_seed(11), 2.0), y)[0]
    settings = Settings(seeds=2, iterations=100, seed=1)
    start = latents(2, 16, torch.Generator().manual_seed(1), 2.0)
    with torch.no_grad():
        start_error = pixel_loss(g(start, y.repeat(2)), x[None]).min().item()
    run = invert_image(g, d, x, method, settings, class_index=3, progress=False)
    final = run.metrics[run.best_seed]["pixel"]
    assert final < factor * start_error, (method, start_error, final)


def test_ylg_invert_runs_end_to_end_on_a_real_photo(
    capsys: pytest.CaptureFixture[str],
    run_dir: Path,
    models: InversionModels,
    photo: Path,
    tmp_path: Path,
) -> None:
    code, out, err = ylg(
        capsys,
        "invert",
        photo,
        "-c",
        run_dir,
        "--iterations",
        "12",
        "--seeds",
        "2",
        "-o",
        tmp_path,
        "--no-progress",
        "-q",
        "3,4",
    )
    assert code == 0, err
    folder = tmp_path / "chelsea"
    assert f"wrote {folder}" in out and "class " in out and "(auto)" in out
    names = {p.name for p in folder.iterdir()}
    assert names == {
        "inverted.png",
        "comparison.png",
        "losses.png",
        "saliency-d.png",
        "saliency-g.png",
        "query-3-4.png",
        "result.json",
    }
    record = json.loads((folder / "result.json").read_text())
    assert record["method"] == "ylg" and set(record["runs"]) == {"pixel", "ylg"}
    logits = record["class"]["discriminator_logits"]
    assert record["class"]["chosen_by"] == "auto"
    assert record["class"]["index"] == int(np.argmax(logits)) and len(logits) == 10
    for run in record["runs"].values():
        assert run["steps_run"] == 12 and len(run["seeds"]) == 2 and len(run["z"]) == 16
        for seed in run["seeds"]:
            assert seed["pixel_error"] > 0 and seed["dfeat_distance"] > 0
            assert seed["ylg_loss"] > 0
    # inverted.png is the kept latent's image
    z = torch.tensor(record["runs"]["ylg"]["z"])[None]
    with torch.no_grad():
        made = models.generator.model(z, torch.tensor([record["class"]["index"]]))[0]
    want = ((made.clamp(-1, 1) + 1) * 127.5).round().permute(1, 2, 0).numpy()
    got = np.asarray(Image.open(folder / "inverted.png"), dtype=np.float64)
    assert got.shape == (32, 32, 3) and np.abs(got - want).max() <= 1
    for name in names - {"result.json", "inverted.png"}:
        with Image.open(folder / name) as img:
            assert img.format == "PNG" and min(img.size) > 200


def test_draw_attention_on_a_seed_an_inversion_and_a_real_photo(
    capsys: pytest.CaptureFixture[str], run_dir: Path, photo: Path, tmp_path: Path
) -> None:
    code, _, err = ylg(
        capsys,
        "invert",
        photo,
        "-c",
        run_dir,
        "--iterations",
        "3",
        "--seeds",
        "1",
        "-o",
        tmp_path,
        "--no-progress",
        "--method",
        "dfeat",
        "--no-compare",
        "--class",
        "2",
    )
    assert code == 0, err
    record = json.loads((tmp_path / "chelsea" / "result.json").read_text())
    assert set(record["runs"]) == {"dfeat"} and record["class"]["chosen_by"] == "given"
    jobs = {
        "seed.png": ["--seed", "3", "--head", "0", "--head", "5", "-q", "0,0"],
        "inv.png": ["--inversion", tmp_path / "chelsea" / "result.json"],
        "real.png": ["--image", photo, "--layer", "discriminator", "-q", "8,8"],
        "inverted-first.png": [
            "--image",
            photo,
            "--iterations",
            "2",
            "--seeds",
            "1",
            "--no-progress",
        ],
    }
    for name, args in jobs.items():
        code, out, err = ylg(
            capsys, "draw", "attention", "-c", run_dir, *args, "-o", tmp_path / name
        )
        assert code == 0, (name, err)
        assert out.strip() == f"wrote {tmp_path / name}"
        with Image.open(tmp_path / name) as img:
            assert img.format == "PNG"


def test_the_command_offers_every_method() -> None:
    assert set(METHOD_CHOICES) == set(METHODS)


@pytest.mark.parametrize(
    "args, message",
    [
        (["invert", "{photo}", "--class", "99"], "unknown class '99'"),
        (["invert", "{photo}", "-q", "40,0"], "outside the 16x16 grid"),
        (["invert", "{text}"], "cannot read the image"),
        (["draw", "attention", "--seed", "1", "--head", "8"], "heads 0 to 7"),
        (["draw", "attention", "--seed", "1", "--image", "{photo}"], "exactly one of"),
        (["draw", "attention", "--inversion", "{text}"], "not a result.json of ylg invert"),
        (["draw", "attention", "--inversion", "{other}"], "written for another generator"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str],
    run_dir: Path,
    photo: Path,
    tmp_path: Path,
    args: list[str],
    message: str,
) -> None:
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    other = tmp_path / "result.json"
    other.write_text(json.dumps({"method": "ylg", "runs": {"ylg": {"z": [0.0]}}, "class": None}))
    filled = [a.format(photo=photo, text=text, other=other) for a in args]
    out_path = tmp_path / ("out" if args[0] == "invert" else "out.png")
    quick = ["--iterations", "1"] if args[0] == "invert" else []  # draw refuses it unused
    code, out, err = ylg(capsys, *filled, "-c", run_dir, "-o", out_path, *quick)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not out_path.exists()
