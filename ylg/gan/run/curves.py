"""A run's training curves as one PNG: losses and quality against steps.

:func:`plot_curves` reads ``<run>/log.jsonl`` and draws the losses of D and G, and,
when the run measured quality (``eval_every``), its KID, the share of recognised
digits and the variety within each class, each in its own panel. The trainer writes it
to ``<run>/curves.png`` at the end of every run.

>>> import tempfile, pathlib
>>> from ylg.gan.run.monitor import JsonlLog
>>> run = pathlib.Path(tempfile.mkdtemp()); log = JsonlLog(run / "log.jsonl")
>>> for s in (10, 20):
...     log.write(s, {"loss_d": 1.5, "loss_g": 0.5, "kid": 0.1 / s, "digits_recognised": s / 40})
>>> plot_curves(run / "log.jsonl", run / "curves.png").name
'curves.png'
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ylg.gan.run.monitor import read_log


@dataclass(frozen=True)
class Panel:
    """One panel: its keys of the log, the axis, and optionally a fixed scale from 0 to
    at least ``top`` with a dashed ``reference`` line (a goal, or the data's value)."""

    title: str
    keys: tuple[str, ...]
    ylabel: str
    log_scale: bool = False
    top: float | None = None
    reference: float | None = None


PANELS = (
    Panel("losses", ("loss_d", "loss_g"), "hinge loss"),
    Panel("KID (lower is better)", ("kid",), "KID", log_scale=True),
    Panel(
        "digits recognised by the SVM",
        ("digits_recognised",),
        "share of samples",
        top=1.0,
        reference=0.9,
    ),
    # 1: as varied as the real images
    Panel(
        "variety within each class",
        ("diversity",),
        "spread / real images' spread",
        top=1.2,
        reference=1.0,
    ),
)


def plot_curves(log_path: str | os.PathLike[str], png_path: str | os.PathLike[str]) -> Path:
    """Draw the curves of a ``log.jsonl`` into ``png_path`` and return that path."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from ylg.figures.save import save_figure

    entries = read_log(log_path)
    panels = [p for p in PANELS if any(k in e for e in entries for k in p.keys)]
    panels = panels or list(PANELS[:1])
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.2), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        keys = panel.keys
        values = [e[k] for e in entries for k in keys if k in e]
        for key in keys:
            points = [(e["step"], e[key]) for e in entries if key in e]
            if not points:
                continue
            steps, values = zip(*points)
            ax.plot(steps, values, marker="o" if len(points) < 30 else None, ms=3, label=key)
        if panel.log_scale and all(v > 0 for v in values):
            ax.set_yscale("log")
        if panel.top is not None:
            ax.set_ylim(0, max(panel.top, *values))
        if panel.reference is not None:
            ax.axhline(panel.reference, color="grey", lw=0.8, ls="--")
        ax.set_title(panel.title, fontsize=10)
        ax.set_xlabel("step")
        ax.set_ylabel(panel.ylabel)
        ax.grid(alpha=0.3)
        if len(keys) > 1:
            ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(png_path)
    save_figure(fig, path)
    plt.close(fig)
    return path
