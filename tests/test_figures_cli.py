"""`ylg draw mask|ifg|order|query`: real runs write the figures; bad input exits 2."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import click
import numpy as np
import pytest
from matplotlib import image as mpimg
from test_figures import assert_drawn

from ylg.cli.main import main


def ylg(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ylg", *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as stop:
        main(list(args))
    out, err = capsys.readouterr()
    return int(stop.value.code), out, err


def test_mask_without_output_writes_a_png_named_after_the_pattern(tmp_path: Path) -> None:
    out = ylg("draw", "mask", "ltr", "--grid", "3x3", "--order", "rowmajor", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "wrote ltr-3x3-rowmajor-mask.png"
    assert_drawn(mpimg.imread(tmp_path / "ltr-3x3-rowmajor-mask.png")[..., :3])


def test_ifg_to_svg_and_query_to_pdf(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    svg = tmp_path / "fixed.svg"
    code, out, err = run_main(
        capsys,
        "draw",
        "ifg",
        "fixed",
        "-g",
        "3x3",
        "--order",
        "rowmajor",
        "--missing",
        "--paths-to",
        "1",
        "-o",
        str(svg),
    )
    assert code == 0 and out.strip() == f"wrote {svg}", err
    assert ET.fromstring(svg.read_bytes()).tag.endswith("svg")
    picture = tmp_path / "picture.png"
    mpimg.imsave(picture, np.random.default_rng(0).random((30, 40, 3)))
    pdf = tmp_path / "q.pdf"
    code, out, err = run_main(
        capsys,
        "draw",
        "query",
        "rtl",
        "-g",
        "4x4",
        "--query-grid",
        "8x8",
        "--query",
        "6,2",
        "--image",
        str(picture),
        "-o",
        str(pdf),
    )
    assert code == 0, err
    assert pdf.read_bytes().startswith(b"%PDF-")


def test_order_defaults_and_the_patterns_own_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_main(capsys, "draw", "order", "--grid", "8x8")
    assert code == 0 and out.strip() == "wrote orders-8x8-rowmajor-esa-order.png"
    assert_drawn(mpimg.imread(tmp_path / "orders-8x8-rowmajor-esa-order.png")[..., :3])
    hilbert = tmp_path / "hilbert.toml"
    hilbert.write_text('name = "h"\ndescription = ""\nsteps = ["k <= q"]\norder = "hilbert"\n')
    code, out, _ = run_main(capsys, "draw", "order", str(hilbert), "--grid", "4x4")
    assert code == 0 and out.strip() == "wrote h-4x4-rowmajor-esa-hilbert-order.png"
    code, out, _ = run_main(capsys, "draw", "order", "--grid", "4x4", "--order", "snake")
    assert code == 0 and out.strip() == "wrote orders-4x4-snake-order.png"


@pytest.mark.parametrize(
    "args, message",
    [
        (["draw", "mask", "ltr", "-g", "3x3", "-o", "x.jpg"], "must end in .png, .svg or .pdf"),
        (["draw", "ifg", "ltr", "-g", "16x16"], "draw the mask figure instead (ylg draw mask"),
        (["draw", "ifg", "ltr", "-g", "3x3", "--paths-to", "9"], "not a node of the last layer"),
        (["draw", "query", "ltr", "-g", "3x3", "--query", "5,5"], "outside the 3x3 grid"),
        (["draw", "query", "ltr", "-g", "3x3", "--query", "a,b"], "cannot read cell"),
        (["draw", "mask", "nosuch", "-g", "3x3"], "nosuch"),
        (["draw", "mask", "ltr"], "--grid"),
        (["draw", "order", "-g", "3x3", "--order", "spiral"], "spiral"),
        (["draw", "mask", "ltr", "-g", "3x3", "--resolution", "2"], "resolution"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run_main(capsys, *args)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and message in err
    assert list(tmp_path.iterdir()) == []


def test_unreadable_image_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.png"
    bad.write_text("not a picture")
    code, _, err = run_main(capsys, "draw", "query", "ltr", "-g", "3x3", "--image", str(bad))
    assert code == 2 and err.startswith("Error: cannot read the image")


def test_the_draw_group_is_importable_and_every_help_has_an_example(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from ylg.cli.commands.draw import draw

    assert isinstance(draw, click.Group)
    mine = ["mask", "ifg", "order", "query"]
    assert set(mine) <= set(draw.commands)  # other modules may add subcommands
    for name in ["", *mine]:
        code, out, _ = run_main(capsys, "draw", *([name] if name else []), "--help")
        assert code == 0 and "Example" in out and "ylg draw" in out


def test_drawing_needs_no_display_and_never_imports_pyplot(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from ylg.figures import draw_ifg, draw_masks, draw_orders, draw_query, save_figure\n"
        "from ylg.patterns import load_pattern\n"
        "m = load_pattern('ltr').on('3x3')\n"
        "for i, fig in enumerate([draw_masks(m), draw_ifg(m), draw_orders('3x3'),"
        " draw_query(m, 4)]):\n"
        "    save_figure(fig, f'f{i}.png')\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["MPLBACKEND"] = "TkAgg"  # an interactive backend that cannot start here
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"f{i}.png" for i in range(4)]
