"""One spectral norm (ylg.attention.spectral_norm) in the SAGAN layers and the attention
blocks; state dicts written while the attention blocks used torch's parametrisation load."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as torch_spectral_norm

from ylg.attention import SAGANAttention2d, YLGAttention2d
from ylg.attention.spectral_norm import SpectralNorm, spectral_norm
from ylg.gan.models.slots import build_models
from ylg.gan.run.presets import preset

PROJECTIONS = ("query", "key", "value", "out")


def _norms(model: nn.Module) -> list[nn.Module]:
    return [
        p
        for m in model.modules()
        if hasattr(m, "parametrizations")
        for plist in m.parametrizations.values()
        for p in plist
    ]


def test_every_spectral_norm_in_the_models_and_blocks_is_the_xla_safe_one() -> None:
    torch.manual_seed(0)
    cfg = preset("digits")  # YLG attention in both networks
    models = [YLGAttention2d(64), SAGANAttention2d(32), *build_models(cfg, num_classes=10)]
    for model in models:
        assert any(isinstance(m, (YLGAttention2d, SAGANAttention2d)) for m in model.modules())
        norms = _norms(model)
        assert norms and all(isinstance(n, SpectralNorm) for n in norms), model


def _torch_format(cls: type[nn.Module], channels: int) -> nn.Module:
    """A block as it was built before: torch's spectral norm on its four 1x1 convs."""
    old = cls(channels)
    for name in PROJECTIONS:
        weight = getattr(old, name).parametrizations.weight.original
        c_out, c_in = weight.shape[:2]
        setattr(old, name, torch_spectral_norm(nn.Conv2d(c_in, c_out, 1, bias=False)))
    return old


def test_an_attention_state_dict_from_torchs_spectral_norm_loads_and_computes_the_same() -> None:
    torch.manual_seed(1)
    for cls in (YLGAttention2d, SAGANAttention2d):
        old = _torch_format(cls, 64)
        with torch.no_grad():
            old.gamma.fill_(0.5)
        assert not any(isinstance(n, SpectralNorm) for n in _norms(old))
        new = cls(64)
        assert set(new.state_dict()) == set(old.state_dict())
        new.load_state_dict(old.state_dict())
        x = torch.randn(2, 64, 8, 8)
        for training in (False, True, True, False):
            old.train(training)
            new.train(training)
            assert torch.allclose(new(x), old(x), atol=1e-5, rtol=1e-4)
        for name in PROJECTIONS:
            ours = getattr(new, name).parametrizations.weight[0]
            ref = getattr(old, name).parametrizations.weight[0]
            assert torch.allclose(ours._u, ref._u, atol=1e-6)
            assert torch.allclose(ours._v, ref._v, atol=1e-6)


def test_the_same_seed_draws_the_same_start_vectors_as_torchs_spectral_norm() -> None:
    """Seeded runs keep their numbers: the vectors are drawn and iterated as torch does."""
    torch.manual_seed(2)
    weight = nn.Conv2d(16, 8, 1, bias=False).state_dict()
    layers = []
    for normalise in (spectral_norm, torch_spectral_norm):
        conv = nn.Conv2d(16, 8, 1, bias=False)
        conv.load_state_dict(weight)
        torch.manual_seed(3)
        layers.append(normalise(conv).parametrizations.weight[0])
    ours, ref = layers
    assert torch.allclose(ours._u, ref._u, atol=1e-6)
    assert torch.allclose(ours._v, ref._v, atol=1e-6)
