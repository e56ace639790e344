"""Time one training step of the 128 px SAGAN model, YLG attention vs dense SAGAN attention.

One step = one D step and one G step (hinge loss, Adam), batch 4, on the CPU, fp32,
exactly what ``ylg train`` does per step. The two models are timed alternately in one
run (same machine state); the goal is YLG no slower than dense SAGAN (ratio <= 1.0).

    python benchmarks/train_step.py [--repeats 5] [--batch 4]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
from _report import machine, write_section  # noqa: E402
from tqdm import tqdm  # noqa: E402

from ylg.gan.models.slots import build_models  # noqa: E402
from ylg.gan.run.presets import preset  # noqa: E402
from ylg.gan.training.trainer import hinge_d, hinge_g  # noqa: E402

ROWS = ("sagan", "ylg")


class Step:
    """A 128 px G/D pair with its optimisers, ready to take training steps."""

    def __init__(self, attention: str, batch: int) -> None:
        cfg = preset(f"imagenet-{attention}")
        torch.manual_seed(0)
        self.g, self.d = build_models(cfg, num_classes=1000)
        self.opt_g = torch.optim.Adam(self.g.parameters(), cfg.lr_g, betas=cfg.betas)
        self.opt_d = torch.optim.Adam(self.d.parameters(), cfg.lr_d, betas=cfg.betas)
        self.x = torch.rand(batch, 3, 128, 128) * 2 - 1
        self.y = torch.randint(1000, (batch,))
        self.z_dim, self.batch = cfg.z_dim, batch

    def __call__(self) -> None:
        z = torch.randn(self.batch, self.z_dim)
        self.opt_d.zero_grad(set_to_none=True)
        with torch.no_grad():
            fake = self.g(z, self.y)
        logits = self.d(torch.cat([self.x, fake]), torch.cat([self.y, self.y]))
        real, fake_loss = hinge_d(logits[: self.batch], logits[self.batch :])
        (real + fake_loss).backward()
        self.opt_d.step()
        self.opt_g.zero_grad(set_to_none=True)
        self.d.requires_grad_(False)
        hinge_g(self.d(self.g(z, self.y), self.y)).backward()
        self.d.requires_grad_(True)
        self.opt_g.step()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=4)
    args = parser.parse_args()
    steps = {name: Step(name, args.batch) for name in ROWS}
    for step in steps.values():  # warm-up: mask building, allocator
        step()
    times: dict[str, list[float]] = {name: [] for name in ROWS}
    for _ in tqdm(range(args.repeats), desc="train steps", unit="round"):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    med = {name: statistics.median(t) for name, t in times.items()}
    ratio = med["ylg"] / med["sagan"]
    ratio_min = min(times["ylg"]) / min(times["sagan"])
    lines = [
        "## Training step of the 128 px model (`benchmarks/train_step.py`)",
        "",
        f"One D step + one G step of SAGAN's 128 px ImageNet networks, batch {args.batch}, "
        f"CPU, fp32; median of {args.repeats} alternating rounds after a warm-up.",
        "",
        f"Machine: {machine()}",
        "",
        "| attention | median s/step | min s/step |",
        "|---|---|---|",
    ]
    for name in ROWS:
        lines.append(f"| {name} | {med[name]:.3f} | {min(times[name]):.3f} |")
    lines += [
        "",
        f"YLG / SAGAN time ratio of the medians: **{ratio:.3f}** (goal: <= 1.0; "
        f"{'met' if ratio <= 1.0 else 'not met'}); of the minima: {ratio_min:.3f}.",
        "The two models differ only in the attention layer (same parameters), so the",
        "difference is the attention layer's forward and backward time (32x32 queries",
        "over 16x16 keys, in G and in D, with ylg.attention's `auto` backend).",
    ]
    text = "\n".join(lines)
    write_section("train_step", text)
    print(text)


if __name__ == "__main__":
    main()
