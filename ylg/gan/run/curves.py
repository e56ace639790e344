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
from pathlib import Path

from ylg.gan.run.monitor import read_log

PANELS = (
    ("losses", ("loss_d", "loss_g"), "hinge loss", False),
    ("KID (lower is better)", ("kid",), "KID", True),
    ("digits recognised by the SVM", ("digits_recognised",), "share of samples", False),
    ("variety within each class", ("diversity",), "spread / real images' spread", False),
)


def plot_curves(log_path: str | os.PathLike[str], png_path: str | os.PathLike[str]) -> Path:
    """Draw the curves of a ``log.jsonl`` into ``png_path`` and return that path."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from ylg.figures.save import save_figure

    entries = read_log(log_path)
    panels = [p for p in PANELS if any(k in e for e in entries for k in p[1])]
    panels = panels or PANELS[:1]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.2), squeeze=False)
    for ax, (title, keys, ylabel, log_scale) in zip(axes[0], panels):
        for key in keys:
            points = [(e["step"], e[key]) for e in entries if key in e]
            if not points:
                continue
            steps, values = zip(*points)
            ax.plot(steps, values, marker="o" if len(points) < 30 else None, ms=3, label=key)
        if log_scale and all(e[k] > 0 for e in entries for k in keys if k in e):
            ax.set_yscale("log")
        if keys == ("digits_recognised",):
            ax.set_ylim(0, 1)
            ax.axhline(0.9, color="grey", lw=0.8, ls="--")
        if keys == ("diversity",):  # 1: as varied as the real images
            ax.set_ylim(0, max(1.2, *(e["diversity"] for e in entries if "diversity" in e)))
            ax.axhline(1.0, color="grey", lw=0.8, ls="--")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("step")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        if len(keys) > 1:
            ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(png_path)
    save_figure(fig, path)
    plt.close(fig)
    return path
