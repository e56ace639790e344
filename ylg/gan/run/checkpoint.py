"""Checkpoints: one file per save, written atomically, checked by a digest when read.

A checkpoint file is one header line, ``YLG-CHECKPOINT 1 sha256=<hex> bytes=<n>``,
followed by a ``torch.save`` payload whose SHA-256 the header records. A truncated or
altered file is refused with its name, never half-loaded. Files are
``<run>/checkpoints/step-<step>.ckpt``; the latest is the one with the highest step.

>>> import tempfile, pathlib, torch
>>> run = pathlib.Path(tempfile.mkdtemp())
>>> path = save_checkpoint(run, 7, {"w": torch.ones(2)})
>>> path.name, latest_checkpoint(run) == path, load_checkpoint(path)["w"].tolist()
('step-00000007.ckpt', True, [1.0, 1.0])
>>> _ = path.write_bytes(path.read_bytes()[:-3])
>>> load_checkpoint(path)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ylg.errors.YlgError: checkpoint .../step-00000007.ckpt is corrupt (truncated: ...); not loaded
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from pathlib import Path
from typing import Any

import torch

from ylg.errors import YlgError
from ylg.fileio import write_atomic

#: The ``format`` field of a training checkpoint.
CHECKPOINT_FORMAT = "ylg-gan-checkpoint"

MAGIC = b"YLG-CHECKPOINT 1"
FOLDER = "checkpoints"
_NAME = re.compile(r"^step-(\d+)\.ckpt$")


def to_cpu(obj: Any) -> Any:
    """A copy of a nested state with every tensor on the CPU (XLA and CUDA tensors too)."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_cpu(v) for v in obj)
    return obj


def encode(state: dict[str, Any]) -> bytes:
    """The bytes of a checkpoint file for ``state``."""
    buffer = io.BytesIO()
    torch.save(to_cpu(state), buffer)
    payload = buffer.getvalue()
    digest = hashlib.sha256(payload).hexdigest()
    return MAGIC + f" sha256={digest} bytes={len(payload)}\n".encode() + payload


def save_checkpoint(run_dir: str | os.PathLike[str], step: int, state: dict[str, Any]) -> Path:
    """Write ``state`` as the checkpoint of ``step`` in the run folder; return its path."""
    folder = Path(run_dir) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"step-{step:08d}.ckpt"
    write_atomic(path, encode(state))
    return path


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and verify a checkpoint; a damaged one raises :class:`YlgError` naming it."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise YlgError(f"checkpoint not found: {path}") from None
    except OSError as exc:
        raise YlgError(f"cannot read checkpoint {path}: {exc.strerror or exc}") from None
    header, _, payload = data.partition(b"\n")
    match = re.fullmatch(rb"YLG-CHECKPOINT 1 sha256=([0-9a-f]{64}) bytes=(\d+)", header)
    if not header.startswith(MAGIC) or match is None:
        raise YlgError(f"{path} is not a ylg checkpoint (or its header is damaged); not loaded")
    want = int(match.group(2))
    if len(payload) != want:
        raise YlgError(
            f"checkpoint {path} is corrupt (truncated: {len(payload)} bytes of {want}); not loaded"
        )
    if hashlib.sha256(payload).hexdigest().encode() != match.group(1):
        raise YlgError(f"checkpoint {path} is corrupt (sha256 mismatch); not loaded")
    try:
        return torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
    except Exception as exc:  # a verified payload that still fails: a foreign writer
        raise YlgError(f"checkpoint {path} cannot be read: {exc}") from None


def list_checkpoints(run_dir: str | os.PathLike[str]) -> list[tuple[int, Path]]:
    """``(step, path)`` of the run's checkpoints, oldest first."""
    folder = Path(run_dir) / FOLDER
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME.match(p.name))]
    return sorted(found)


def latest_checkpoint(run_dir: str | os.PathLike[str]) -> Path | None:
    """The run's checkpoint with the highest step, or None."""
    found = list_checkpoints(run_dir)
    return found[-1][1] if found else None


def prune_checkpoints(run_dir: str | os.PathLike[str], keep: int) -> None:
    """Delete all but the newest ``keep`` checkpoints, and the temporary files of
    checkpoint writes that other processes left when killed (one writer per run)."""
    for _, path in list_checkpoints(run_dir)[:-keep]:
        path.unlink(missing_ok=True)
    folder = Path(run_dir) / FOLDER
    for path in folder.glob(".step-*.ckpt.*.tmp") if folder.is_dir() else ():
        if _NAME.match(path.name[1:].rsplit(".", 2)[0]) and not path.name.endswith(
            f".{os.getpid()}.tmp"
        ):
            path.unlink(missing_ok=True)


def weights_digest(model: torch.nn.Module) -> str:
    """SHA-256 of a model's parameters and buffers, less the spectral-norm power
    iteration state and batch-norm statistics (to check that processes agree, and that
    an inversion result belongs to the generator it is drawn with).

    >>> a, b = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    >>> weights_digest(a) == weights_digest(a), weights_digest(a) == weights_digest(b)
    (True, False)
    """
    h = hashlib.sha256()
    for name, p in sorted(model.state_dict().items()):
        if "running_" in name or name.endswith(("_u", "_v", "num_batches_tracked")):
            continue
        h.update(name.encode())
        h.update(p.detach().cpu().float().contiguous().numpy().tobytes())
    return h.hexdigest()
