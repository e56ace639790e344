"""Where tensors run: the one device parser of sampling, evaluation and inversion.

``auto`` is CUDA when torch sees a GPU, else the CPU; ``cpu``, ``cuda`` and ``cuda:N``
name one. Training has its own kinds (it adds ``xla``; see
:mod:`ylg.gan.training.runtime`).

>>> torch_device("auto").type in ("cpu", "cuda")
True
"""

from __future__ import annotations

import importlib.util

import torch

from ylg.errors import YlgError


def xla_available() -> bool:
    """True when torch_xla is installed (it is imported only when used)."""
    return importlib.util.find_spec("torch_xla") is not None


#: What sampling, evaluation and inversion run on (training adds ``xla``).
TORCH_DEVICES = ("auto", "cpu", "cuda")


def torch_device(device: "str | torch.device" = "auto") -> torch.device:
    """The one device parser of sampling, evaluation and inversion: ``auto`` (CUDA when
    torch sees a GPU, else the CPU), ``cpu``, ``cuda`` or ``cuda:N``.

    >>> torch_device("cpu")
    device(type='cpu')
    >>> torch_device("meta")
    Traceback (most recent call last):
    ...
    ylg.errors.YlgError: unsupported device 'meta': this runs on cpu or cuda (auto picks)
    """
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise YlgError(
            f"unknown device {device!r}; use one of {', '.join(TORCH_DEVICES)} or cuda:N"
        ) from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise YlgError(f"device {device!r} asked for, but no CUDA device is visible to torch")
    if resolved.type not in ("cpu", "cuda"):
        raise YlgError(f"unsupported device {device!r}: this runs on cpu or cuda (auto picks)")
    return resolved
