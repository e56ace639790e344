"""What a run reports: a JSONL log of every logged value, TensorBoard, sample grid PNGs.

``<run>/log.jsonl`` has one JSON object per logged step (``step`` plus the values).
When a run resumes from step ``s``, entries after ``s`` (written before the
interruption) are dropped, so the log always reads as one uninterrupted run.

>>> import tempfile, pathlib
>>> run = pathlib.Path(tempfile.mkdtemp())
>>> log = JsonlLog(run / "log.jsonl"); log.write(1, {"loss_d": 2.0}); log.write(2, {"loss_d": 1.5})
>>> log.truncate_after(1); [e["step"] for e in read_log(run / "log.jsonl")]
[1]
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ylg.fileio import write_atomic


class JsonlLog:
    """Append-only JSON-lines log, flushed after every line."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def write(self, step: int, values: dict[str, Any]) -> None:
        line = json.dumps({"step": step, **values}, sort_keys=False)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")

    def truncate_after(self, step: int) -> None:
        """Drop entries past ``step`` (and a half-written last line)."""
        if not self.path.exists():
            return
        keep = [e for e in read_log(self.path) if e.get("step", 0) <= step]
        write_atomic(self.path, "".join(json.dumps(e) + "\n" for e in keep).encode())


def read_log(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The entries of a JSONL log; an unfinished last line is ignored."""
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


class TensorBoard:
    """Scalars and images for TensorBoard (``tensorboard --logdir <run>/tb``)."""

    def __init__(self, run_dir: Path, purge_step: int | None) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(str(run_dir / "tb"), purge_step=purge_step)

    def scalars(self, step: int, values: dict[str, float]) -> None:
        for key, value in values.items():
            self.writer.add_scalar(key, value, step)
        self.writer.flush()

    def image(self, step: int, tag: str, grid: np.ndarray) -> None:
        self.writer.add_image(tag, grid, step, dataformats="HWC")
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
