"""Train the ``digits`` preset over several seeds; report wall time and recognisability.

Each seed runs ``ylg train --preset digits`` (in this process, one run after another)
with the given config overrides, then draws ``--count`` class-conditional samples from
the EMA generator at default truncation (classes cycling) and scores them with
:mod:`ylg.gan.training.quality`: the share an SVM fitted to scikit-learn's real 8x8 digits
recognises as their class (real training images: about 100%; chance: 10%), KID on
the 8x8 grey images, and the variety within each class (1: as varied as the real
digits). Results go to ``--out``/results.jsonl, one line per run.

    python benchmarks/digits_quality.py --seeds 0 1 2
    python benchmarks/digits_quality.py --seeds 0 --set iterations=200 --set lr_g=2e-4 --tag short
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
from _report import machine  # noqa: E402

from ylg.gan.run.monitor import read_log  # noqa: E402
from ylg.gan.run.presets import preset  # noqa: E402
from ylg.gan.sampling.generate import load_generator, sample_images  # noqa: E402
from ylg.gan.training.data import digits  # noqa: E402
from ylg.gan.training.quality import QualityJudge, recognised  # noqa: E402
from ylg.gan.training.trainer import train  # noqa: E402


def _value(text: str) -> object:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def run_one(overrides: dict[str, object], seed: int, count: int, out: Path) -> dict[str, object]:
    """Train one seed into a temporary folder and score its EMA generator."""
    cfg = preset("digits").replace(**overrides, seed=seed, tensorboard=False)
    with tempfile.TemporaryDirectory() as tmp:
        start, cpu = time.perf_counter(), time.process_time()
        result = train(cfg, Path(tmp) / "run", progress=False)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        log = read_log(Path(tmp) / "run" / "log.jsonl")
        loaded = load_generator(result.checkpoint)
        images = sample_images(loaded, count, seed=12345)
        raw = sample_images(load_generator(result.checkpoint, ema=False), count, seed=12345)
    labels = torch.arange(count) % 10
    judge = QualityJudge.for_data(digits(cfg.resolution), "digits", count=count)
    scores = judge.score(images, labels)
    step_times = [e["step_time"] for e in log if "step_time" in e]
    row = {
        "overrides": overrides,
        "seed": seed,
        "iterations": cfg.iterations,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "median_step_s": round(statistics.median(step_times), 4) if step_times else None,
        "recognised": scores["digits_recognised"],
        "recognised_without_ema": recognised(raw, labels),
        "kid": round(scores["kid"], 5),
        "diversity": round(scores["diversity"], 3),
        "curve": [[e["step"], e["digits_recognised"]] for e in log if "digits_recognised" in e],
        "threads": torch.get_num_threads(),
        "load_avg": os.getloadavg()[0],
    }
    with open(out / "results.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps(row) + "\n")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--count", type=int, default=1000, help="samples scored per run")
    parser.add_argument("--out", type=Path, default=Path("runs/digits-quality"))
    args = parser.parse_args()
    overrides = {k: _value(v) for k, v in (item.split("=", 1) for item in args.set)}
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"machine: {machine()}; overrides: {overrides}")
    real = digits(32)
    check = recognised(real.images.float() / 127.5 - 1.0, real.labels)
    print(f"real training images recognised: {check:.1%}")
    rows = []
    for seed in args.seeds:
        row = run_one(overrides, seed, args.count, args.out)
        rows.append(row)
        print(json.dumps(row), flush=True)
    scores = [float(r["recognised"]) for r in rows]
    walls = [float(r["wall_s"]) for r in rows]
    print(
        f"recognised: mean {statistics.mean(scores):.1%}, min {min(scores):.1%}, "
        f"max {max(scores):.1%}; wall s: mean {statistics.mean(walls):.0f}, max {max(walls):.0f}"
    )


if __name__ == "__main__":
    main()
