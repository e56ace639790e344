"""`ylg bench tiles` and `ylg draw tiles`: real runs, the JSON contract, the figure's pixels."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from matplotlib import image as mpimg

from ylg.figures.style import DARK_BLUE, YELLOW, rgb
from ylg.patterns import load_pattern
from ylg.patterns.tiles import enumeration_orders, plan_step, tile_plan


def ylg(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ylg", *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


def test_bench_tiles_json_meets_the_goal_for_rtl_at_128x128():
    out = ylg("bench", "tiles", "rtl", "--grid", "128x128", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert [s["step"] for s in report["steps"]] == [1, 2]
    for s in report["steps"]:
        assert 0 < s["pair_share"] <= s["tile_share"] <= 3 * s["pair_share"]
    step2 = report["steps"][1]
    assert step2["before_tile_share"] == 1.0  # ESA order: a summary key in every block
    masks = load_pattern("rtl").on("128x128")
    assert step2["nonempty_tiles"] == plan_step(masks, 1, 128).nonempty


def test_bench_tiles_table_and_bad_steps():
    out = ylg("bench", "tiles", "ltr", "--grid", "8x8", "--query-grid", "16x16", "--tile", "16")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "16x16 queries" in lines[0] and len(lines) == 4
    bad = ylg("bench", "tiles", "ltr", "--grid", "8x8", "--step", "3")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "has 2 steps" in bad.stderr
    huge = ylg("bench", "tiles", "ltr", "--grid", "512x512")
    assert huge.returncode == 2 and "at most" in huge.stderr and "Traceback" not in huge.stderr


def test_draw_tiles_shows_empty_and_full_tiles(tmp_path: Path):
    args = ("draw", "tiles", "ltr", "--grid", "32x32", "--tile", "32", "--step", "2")
    out = ylg(*args, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    png = tmp_path / "ltr-32x32-esa-tiles.png"
    assert out.stdout.strip() == f"wrote {png.name}"
    img = (mpimg.imread(png)[..., :3] * 255).round().astype(np.int16)
    h, w, _ = img.shape
    left, right = img[:, : w // 2], img[:, w // 2 :]

    def share(part, colour):
        return float((np.abs(part - rgb(colour).astype(np.int16)).sum(-1) < 12).mean())

    # before: every tile holds a pair (no yellow); after: mostly skipped, a full column
    masks = load_pattern("ltr").on("32x32")
    assert tile_plan(masks.csr(1), 32, *enumeration_orders(masks)).tile_share == 1.0
    assert share(left, YELLOW) < 0.01 < 0.2 < share(right, YELLOW)
    assert share(right, DARK_BLUE) > 0.005
