"""Feature extractors by name: ``random``, ``inception``, and any a user registers.

:func:`get_extractor` also accepts the path of a TorchScript file (``.pt``/``.pth``),
run by :class:`~ylg.metrics.torchscript.TorchScriptExtractor` on images in
``[-1, 1]`` at their own size.

>>> extractor_names()
['random', 'inception']
>>> get_extractor("random", device="cpu").name
'random'
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from ylg.errors import YlgError
from ylg.metrics.extractor import FeatureExtractor, resolve_device
from ylg.metrics.random_extractor import RandomExtractor
from ylg.metrics.torchscript import TorchScriptExtractor, inception_extractor

ExtractorFactory = Callable[[torch.device], FeatureExtractor]

_REGISTRY: dict[str, ExtractorFactory] = {
    "random": RandomExtractor,
    "inception": inception_extractor,
}

TORCHSCRIPT_SUFFIXES = (".pt", ".pth")


def register_extractor(name: str, factory: ExtractorFactory) -> None:
    """Make ``factory(device)`` available as ``name`` (to :func:`get_extractor` and
    ``ylg eval --extractor``, when registered before the command runs)."""
    if not name or name != name.strip() or name.endswith(TORCHSCRIPT_SUFFIXES):
        raise YlgError(f"invalid extractor name {name!r}")
    _REGISTRY[name] = factory


def extractor_names() -> list[str]:
    """The registered names, in registration order."""
    return list(_REGISTRY)


def get_extractor(spec: str, device: str | torch.device = "auto") -> FeatureExtractor:
    """The extractor registered as ``spec``, or a TorchScript file at path ``spec``."""
    resolved = resolve_device(device)
    if spec in _REGISTRY:
        return _REGISTRY[spec](resolved)
    if spec.endswith(TORCHSCRIPT_SUFFIXES):
        return TorchScriptExtractor(Path(spec), device=resolved)
    raise YlgError(
        f"unknown extractor {spec!r}; use one of {', '.join(_REGISTRY)} "
        "or the path of a TorchScript .pt file"
    )
