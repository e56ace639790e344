"""Progress bars write plain lines into logs; the truncation trick ends for any
threshold and refuses the ones that mean nothing."""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import stats

from ylg.errors import YlgError
from ylg.gan.sampling.latents import latents, truncated_normal
from ylg.progress import LineWriter, progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_bar_redraws_in_place_on_a_terminal_and_writes_lines_into_a_log() -> None:
    terminal, log = Terminal(), io.StringIO()
    for stream in (terminal, log):
        with progress(total=50, desc="work", file=stream, mininterval=0, delay=0) as bar:
            for _ in range(50):
                bar.update(1)
    assert "\r" in terminal.getvalue()
    text = log.getvalue()
    assert "\r" not in text and "\x1b" not in text
    lines = text.splitlines()
    assert lines[-1].startswith("work: 100%") and "50/50" in lines[-1]
    assert all(line.startswith("work: ") for line in lines)
    quick = io.StringIO()  # with the defaults, a bar that ends at once writes nothing
    with progress(total=50, desc="work", file=quick, leave=False) as bar:
        for _ in range(50):
            bar.update(1)
    assert quick.getvalue() == ""


def test_line_writer_drops_carriage_returns_cursor_moves_and_blank_redraws() -> None:
    out = io.StringIO()
    writer = LineWriter(out)
    writer.write("\r" + " " * 20 + "\r")
    writer.write("\x1b[A\rstep 3/10")
    assert out.getvalue() == "step 3/10\n"


def test_train_into_a_log_writes_no_carriage_returns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ylg.cli.main import main

    args = ["train", "--preset", "digits", "--attention", "none", "--iterations", "3"]
    args += ["--batch-size", "4", "--out", str(tmp_path / "run")]
    with pytest.raises(SystemExit) as exc:
        main(args)  # stderr is captured here: a file, not a terminal
    err = capsys.readouterr().err
    assert exc.value.code == 0, err
    assert "\r" not in err and "\x1b" not in err
    bars = [line for line in err.splitlines() if "train digits" in line]
    assert len(bars) <= 2 and all(line.startswith("train digits: ") for line in bars)


@pytest.mark.parametrize("t", [1e-9, 1e-300, 1e-3, 0.5, 3.0, 40.0, 1e300])
def test_truncation_takes_bounded_time_for_any_threshold(t: float) -> None:
    started = time.perf_counter()
    z = latents(2000, 16, torch.Generator().manual_seed(1), truncation=t)
    assert time.perf_counter() - started < 5.0
    assert bool(torch.isfinite(z).all()) and float(z.abs().max()) <= t


@pytest.mark.parametrize("t", [0.25, 1.0, 2.0])
def test_truncated_draws_follow_the_truncated_normal(t: float) -> None:
    z = truncated_normal(20_000, t, torch.Generator().manual_seed(2)).double().numpy()
    result = stats.kstest(z, stats.truncnorm(-t, t).cdf)
    assert result.pvalue > 1e-3, result
    assert np.isclose(z.std(), stats.truncnorm.std(-t, t), rtol=0.03)


@pytest.mark.parametrize("t", [0.0, -1.0, float("nan"), float("inf"), -float("inf")])
def test_meaningless_thresholds_are_refused(t: float) -> None:
    with pytest.raises(YlgError, match="truncation must be a positive, finite number"):
        latents(2, 2, truncation=t)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-2", "x"])
def test_sample_refuses_a_bad_truncation_in_one_line(
    value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ylg.cli.main import main

    with pytest.raises(SystemExit) as exc:
        main(["sample", "-c", str(tmp_path), "--truncation", value, "-o", str(tmp_path / "x.png")])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "Invalid value for '--truncation'" in err
    assert err.count("\n") == 1 and not (tmp_path / "x.png").exists()
