"""A small replication of the paper's Table 1 on bundled data: rows x seeds, KID of each.

Each row (attention slot) trains the same small preset for the same number of iterations
with each seed; KID is measured between the data set and samples of the EMA generator
with the metrics' feature extractor. The output is a markdown table (mean and spread
over seeds) written to ``<out>/table1.md``.

    python benchmarks/table1.py --preset digits --iterations 150 --seeds 0 1 2 --out runs/table1
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from ylg.fileio import write_atomic
from ylg.gan.run.presets import preset
from ylg.gan.training.trainer import train
from ylg.progress import progress

ROWS = ("sagan", "sagan-8h", "ylg", "ylg-noesa")


def kid_of(run_dir: Path, data: str, resolution: int, extractor: str, count: int) -> float:
    """KID (x 1000) between ``count`` data images and ``count`` EMA samples of the run."""
    from ylg.gan.sampling.generate import checkpoint_images
    from ylg.gan.training.data import load_dataset
    from ylg.metrics import ArrayImages, evaluate, get_extractor

    dataset = load_dataset(data, resolution)
    pick = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(0))[:count]
    real = ArrayImages(dataset.images[pick].numpy(), source=data)
    fake = checkpoint_images(run_dir, count, seed=1)
    report = evaluate(
        real,
        fake,
        get_extractor(extractor, "cpu"),
        kid_subsets=50,
        kid_subset_size=min(500, count),
        progress=False,
    )
    return 1000 * report.kid_mean


def main(argv: list[str] | None = None) -> None:
    """Run the experiment and write its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="digits")
    parser.add_argument("--iterations", "--steps", type=int, default=150)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--rows", nargs="+", default=list(ROWS))
    parser.add_argument("--extractor", default="random")
    parser.add_argument("--count", type=int, default=1000, help="Images per side for KID.")
    parser.add_argument("--out", type=Path, default=Path("runs/table1"))
    args = parser.parse_args(argv)
    results: dict[str, list[float]] = {row: [] for row in args.rows}
    minutes: dict[str, list[float]] = {row: [] for row in args.rows}
    base = preset(args.preset)
    jobs = [(row, seed) for row in args.rows for seed in args.seeds]
    for row, seed in progress(jobs, desc="table 1 runs", unit="run"):
        run_dir = args.out / f"{row}-seed{seed}"
        cfg = base.replace(
            attention=row,
            seed=seed,
            iterations=args.iterations,
            tensorboard=False,
            sample_every=args.iterations,
            checkpoint_every=args.iterations,
        )
        start = time.perf_counter()
        train(cfg, run_dir, resume=True, progress=False)
        minutes[row].append((time.perf_counter() - start) / 60)
        results[row].append(kid_of(run_dir, base.data, base.resolution, args.extractor, args.count))
    lines = [
        "| attention | KID x 1000, mean | spread (min-max) | per seed | minutes per run |",
        "|---|---|---|---|---|",
    ]
    for row in args.rows:
        kids = results[row]
        lines.append(
            f"| {row} | {statistics.mean(kids):.2f} | {min(kids):.2f}-{max(kids):.2f} | "
            f"{', '.join(f'{k:.2f}' for k in kids)} | {statistics.mean(minutes[row]):.1f} |"
        )
    text = "\n".join(lines) + "\n"
    args.out.mkdir(parents=True, exist_ok=True)
    write_atomic(args.out / "table1.md", text.encode())
    print(text)


if __name__ == "__main__":
    main()
