"""One spectral norm (ylg.attention.spectral_norm) in the SAGAN layers and the attention
blocks; state dicts written while the attention blocks used torch's parametrisation load;
whole models pickle (torch.save / torch.load, copy) and come back the same."""

from __future__ import annotations

import copy
import io
import pickle
from collections.abc import Callable

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm as torch_spectral_norm

from ylg.attention import SAGANAttention2d, YLGAttention2d
from ylg.attention.spectral_norm import SpectralNorm, spectral_norm
from ylg.gan.models.layers import sn_conv, sn_embedding, sn_linear
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


# -- whole models pickle ------------------------------------------------------------------


def _saved_and_loaded(model: nn.Module) -> nn.Module:
    buffer = io.BytesIO()
    torch.save(model, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=False)


def _block(cls: type[nn.Module], channels: int) -> nn.Module:
    block = cls(channels)
    with torch.no_grad():
        block.gamma.fill_(0.5)  # 0 at init: the normalised convs would not reach the output
    return block


def _gan(slot: str, part: int) -> nn.Module:
    """G (``part = 0``) or D of the digits preset (32 px, 10 classes) with a slot's attention."""
    return build_models(preset("digits").replace(attention=slot), num_classes=10)[part]


MODELS: dict[str, Callable[[], nn.Module]] = {
    "YLGAttention2d": lambda: _block(YLGAttention2d, 64),
    "SAGANAttention2d": lambda: _block(SAGANAttention2d, 32),
    "SAGAN generator": lambda: _gan("sagan", 0),
    "SAGAN discriminator": lambda: _gan("sagan", 1),
    "YLG-SAGAN generator": lambda: _gan("ylg", 0),
    "YLG-SAGAN discriminator": lambda: _gan("ylg", 1),
}


def _inputs(model: nn.Module) -> tuple[torch.Tensor, ...]:
    torch.manual_seed(7)
    labels = torch.tensor([0, 3, 5, 9])
    if isinstance(model, (YLGAttention2d, SAGANAttention2d)):
        return (torch.randn(2, model.query.parametrizations.weight.original.shape[1], 8, 8),)
    if hasattr(model, "z_dim"):  # the generator
        return torch.randn(4, model.z_dim), labels
    return torch.rand(4, 3, 32, 32) * 2 - 1, labels


def _assert_same_state(a: nn.Module, b: nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key


def _assert_same_behaviour(a: nn.Module, b: nn.Module) -> None:
    """Bit-identical outputs, in eval and over two training steps (u, v move each step)."""
    inputs = _inputs(a)
    for training in (False, True, True, False):
        a.train(training)
        b.train(training)
        with torch.no_grad():
            assert torch.equal(a(*inputs), b(*inputs)), f"training={training}"
        _assert_same_state(a, b)  # the power-iteration buffers moved alike (or not at all)


@pytest.mark.parametrize("name", list(MODELS))
def test_a_whole_model_survives_torch_save_and_load(name: str) -> None:
    torch.manual_seed(0)
    model = MODELS[name]()
    loaded = _saved_and_loaded(model)
    assert type(loaded) is type(model) and loaded is not model
    for ours, theirs in zip(model.modules(), loaded.modules(), strict=True):
        assert parametrize.type_before_parametrizations(ours) is (
            parametrize.type_before_parametrizations(theirs)
        )
        assert parametrize.is_parametrized(ours) == parametrize.is_parametrized(theirs)
    assert all(isinstance(n, SpectralNorm) for n in _norms(loaded)) and _norms(loaded)
    _assert_same_state(model, loaded)
    _assert_same_behaviour(model, loaded)


@pytest.mark.parametrize("name", ["YLGAttention2d", "YLG-SAGAN discriminator"])
def test_a_deepcopy_and_a_loaded_model_stay_picklable_and_the_same(name: str) -> None:
    torch.manual_seed(1)
    model = MODELS[name]()
    twin = copy.deepcopy(model)
    again = _saved_and_loaded(_saved_and_loaded(twin))  # the rebuilt classes pickle too
    copied = copy.deepcopy(again)
    for other in (twin, again, copied):
        _assert_same_state(model, other)
    norm = _norms(model)[0]
    assert all(_norms(other)[0]._u is not norm._u for other in (twin, again, copied))
    _assert_same_behaviour(model, twin)
    _assert_same_behaviour(again, copied)
    _assert_same_behaviour(model, again)


def test_a_loaded_discriminator_trains_like_the_original() -> None:
    """Its parameters are the optimiser's, in the same order, and step the same."""
    torch.manual_seed(2)
    model = MODELS["SAGAN discriminator"]()
    loaded = _saved_and_loaded(model)
    assert [n for n, _ in model.named_parameters()] == [n for n, _ in loaded.named_parameters()]
    assert [n for n, _ in model.named_buffers()] == [n for n, _ in loaded.named_buffers()]
    inputs = _inputs(model)
    opts = [torch.optim.Adam(m.parameters(), lr=1e-3) for m in (model, loaded)]
    for _ in range(2):
        for m, opt in zip((model, loaded), opts, strict=True):
            opt.zero_grad()
            m(*inputs).square().mean().backward()
            opt.step()
        _assert_same_state(model, loaded)
    assert str(opts[0].state_dict()) == str(opts[1].state_dict())


def test_every_spectrally_normalised_layer_pickles_with_plain_pickle_and_copy() -> None:
    torch.manual_seed(3)
    layers = [
        sn_conv(3, 4, 3),
        sn_linear(5, 2),
        sn_embedding(6, 3),
        spectral_norm(nn.Conv1d(2, 3, 1)),
    ]
    for layer in layers:
        for other in (pickle.loads(pickle.dumps(layer)), copy.copy(layer)):
            assert type(other).__name__ == type(layer).__name__
            assert isinstance(other, parametrize.type_before_parametrizations(layer))
            _assert_same_state(layer, other)
            # the rebuilt property reads the loaded parametrization: same weight
            layer.eval()
            other.eval()
            assert torch.equal(layer.weight, other.weight)
        assert copy.copy(layer).parametrizations is layer.parametrizations  # shallow, as nn.Module


def test_a_loaded_layer_is_an_ordinary_torch_parametrization() -> None:
    """torch's parametrize API works on it: remove_parametrizations, cached, assignment."""
    torch.manual_seed(4)
    layer = _saved_and_loaded(sn_linear(4, 3))
    layer.eval()
    with parametrize.cached():
        assert layer.weight is layer.weight
    normalised = layer.weight.detach().clone()
    parametrize.remove_parametrizations(layer, "weight")
    assert type(layer) is nn.Linear and torch.equal(layer.weight, normalised)
    assert sorted(layer.state_dict()) == ["bias", "weight"]
    assert isinstance(pickle.loads(pickle.dumps(layer)), nn.Linear)


def test_only_the_layers_spectral_norm_built_change_how_they_pickle() -> None:
    """The class torch makes for each parametrized module is its own: torch's spectral
    norm elsewhere still refuses to pickle, as torch has it."""
    ours = spectral_norm(nn.Linear(3, 3))
    theirs = torch_spectral_norm(nn.Linear(3, 3))
    pickle.dumps(ours)
    with pytest.raises(RuntimeError, match="only supported through state_dict"):
        pickle.dumps(theirs)


@pytest.mark.parametrize("cls", [YLGAttention2d, SAGANAttention2d])
def test_state_dicts_load_both_ways_between_loaded_built_and_torch_format_blocks(
    cls: type[nn.Module],
) -> None:
    torch.manual_seed(5)
    built = _block(cls, 64)
    loaded = _saved_and_loaded(_block(cls, 64))
    old = _torch_format(cls, 64)
    assert list(built.state_dict()) == list(loaded.state_dict())
    assert set(old.state_dict()) == set(loaded.state_dict())
    loaded.load_state_dict(built.state_dict())  # built -> loaded
    _assert_same_behaviour(built, loaded)
    fresh = cls(64)
    fresh.load_state_dict(loaded.state_dict())  # loaded -> built
    _assert_same_behaviour(loaded, fresh)
    loaded.load_state_dict(old.state_dict())  # torch's format -> loaded
    x = _inputs(loaded)[0]
    for training in (False, True, True):
        old.train(training)
        loaded.train(training)
        assert torch.allclose(loaded(x), old(x), atol=1e-5, rtol=1e-4)
    old.load_state_dict(loaded.state_dict())  # loaded -> torch's format
    for training in (False, True):
        old.train(training)
        loaded.train(training)
        assert torch.allclose(loaded(x), old(x), atol=1e-5, rtol=1e-4)


def test_a_loaded_layer_compiles_and_updates_its_vectors_in_place() -> None:
    torch.manual_seed(6)
    layer = _saved_and_loaded(sn_conv(3, 4, 3))
    reference = copy.deepcopy(layer)
    u = layer.parametrizations.weight[0]._u
    compiled = torch.compile(layer, backend="eager", fullgraph=True)
    x = torch.randn(2, 3, 5, 5)
    for _ in range(2):
        assert torch.equal(compiled(x), reference(x))
    assert layer.parametrizations.weight[0]._u is u  # updated in place, as DataParallel needs
    assert torch.equal(u, reference.parametrizations.weight[0]._u)
