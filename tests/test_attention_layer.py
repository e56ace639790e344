"""The attention blocks: shapes, options, verification, exported masks, compile."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ylg.attention import SAGANAttention2d, YLGAttention2d, head_masks
from ylg.errors import YlgError
from ylg.patterns import load_pattern


def _x(c=64, size=16, batch=2, seed=0):
    return torch.randn(batch, c, size, size, generator=torch.Generator().manual_seed(seed))


def test_layer_shapes_gamma_and_attention():
    layer = YLGAttention2d(64)
    assert layer.labels == ("rtl/1", "rtl/2", "rtl/1", "rtl/2", "ltr/1", "ltr/2", "ltr/1", "ltr/2")
    assert layer.gamma.item() == 0.0
    x = _x()
    y, attn = layer(x, return_attention=True)
    assert torch.equal(y, x)
    assert attn.shape == (2, 8, 256, 64)
    torch.testing.assert_close(attn.sum(-1), torch.ones(2, 8, 256))


@pytest.mark.parametrize("size", [8, 12, 16, 20])
def test_layer_runs_at_any_size_and_backends_agree(size):
    torch.manual_seed(0)
    layer = YLGAttention2d(64).double().eval()  # eval: spectral norm keeps its vectors
    with torch.no_grad():
        layer.gamma.fill_(1.0)
    x = _x(size=size).double().requires_grad_()
    outs, grads = [], []
    for backend in ("dense", "grouped"):
        layer.backend = backend
        y = layer(x)
        assert layer.last_backend == backend
        outs.append(y)
        grads.append(torch.autograd.grad(y.square().sum(), [x, *layer.parameters()]))
    torch.testing.assert_close(outs[0], outs[1])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b)


def test_auto_backend_says_what_it_picked():
    layer = YLGAttention2d(64)
    layer(_x(size=8))
    assert layer.last_backend == "grouped"


def test_dense_pattern_layer_equals_sagan_layer():
    torch.manual_seed(0)
    sagan = SAGANAttention2d(64, num_heads=1)
    torch.manual_seed(0)
    ylg = YLGAttention2d(64, "dense", num_heads=1)
    sagan.eval(), ylg.eval()
    with torch.no_grad():
        sagan.gamma.fill_(1.0)
        ylg.gamma.fill_(1.0)
    x = _x(size=8)
    ys, attn_s = sagan(x, return_attention=True)
    yy, attn_y = ylg(x, return_attention=True)
    torch.testing.assert_close(ys, yy)
    torch.testing.assert_close(attn_s, attn_y)


def test_sagan_eight_heads_and_scale():
    layer = SAGANAttention2d(64, num_heads=8, scale=True)
    y, attn = layer(_x(size=8), return_attention=True)
    assert y.shape == (2, 64, 8, 8) and attn.shape == (2, 8, 64, 16)


def test_unverified_pattern_is_refused_unless_asked():
    with pytest.raises(YlgError, match="lacks Full Information.*verify=False"):
        YLGAttention2d(64, "fixed")
    layer = YLGAttention2d(64, "fixed", num_heads=2, verify=False)
    assert layer(_x(size=8)).shape == (2, 64, 8, 8)


def test_pattern_lists_explicit_heads_and_no_esa():
    layer = YLGAttention2d(64, ["ltr", "axial"], num_heads=4)
    assert layer.labels == ("ltr/1", "ltr/2", "axial/1", "axial/2")
    layer = YLGAttention2d(32, heads=[("rtl", 0), ("rtl", 1)])
    assert layer.num_heads == 2 and layer.labels == ("rtl/1", "rtl/2")
    no_esa = YLGAttention2d(64, order="rowmajor")
    assert no_esa.masks_for(8, 8).last_steps()[0].masks.order == "rowmajor"


def test_masks_are_cached_across_instances():
    a, b = YLGAttention2d(64), YLGAttention2d(128)
    assert a.masks_for(16, 16) is b.masks_for(16, 16)


def test_sequential_layer_runs_and_maps_compose():
    layer = YLGAttention2d(64, step_mode="sequential").double()
    with torch.no_grad():
        layer.gamma.fill_(1.0)
    assert layer.labels == ("rtl",) * 4 + ("ltr",) * 4
    y, attn = layer(_x(size=8).double(), return_attention=True)
    torch.testing.assert_close(attn.sum(-1), torch.ones(2, 8, 64, dtype=torch.float64))
    assert (attn > 0).all()  # Full Information: every output reads every input


def test_old_steps_keyword_is_step_mode_with_a_warning():
    new = head_masks("ylg", grid="4x4", step_mode="sequential")
    with pytest.warns(DeprecationWarning, match=r"head_masks\(steps=...\) is renamed"):
        old = head_masks("ylg", grid="4x4", steps="sequential")
    assert old is new
    with pytest.warns(DeprecationWarning, match=r"YLGAttention\(steps=...\) is renamed"):
        layer = YLGAttention2d(64, steps="sequential")
    assert layer.step_mode == "sequential" and layer.masks_for(8, 8).sequential
    assert layer.masks_for(8, 8) is YLGAttention2d(64, step_mode="sequential").masks_for(8, 8)
    with pytest.warns(DeprecationWarning, match="YLGAttention2d.steps is renamed"):
        assert layer.steps == "sequential"
    with pytest.raises(TypeError, match="both steps= and step_mode="):
        head_masks("ylg", grid="4x4", steps="parallel", step_mode="parallel")


def test_old_masks_keyword_is_heads_with_a_warning():
    from ylg.attention import attention_maps, pick_backend, sparse_attention

    hm = head_masks("ylg", grid="4x4")
    q, k, v = (torch.randn(1, 8, 16, 4, dtype=torch.float64) for _ in range(3))
    with pytest.warns(DeprecationWarning, match=r"sparse_attention\(masks=...\)"):
        old = sparse_attention(q, k, v, masks=hm, backend="dense")
    torch.testing.assert_close(old, sparse_attention(q, k, v, heads=hm, backend="dense"))
    with pytest.warns(DeprecationWarning, match=r"attention_maps\(masks=...\)"):
        maps = attention_maps(q, k, masks=hm)
    torch.testing.assert_close(maps, attention_maps(q, k, hm))
    with pytest.warns(DeprecationWarning, match=r"pick_backend\(masks=...\)"):
        assert pick_backend("auto", "cpu", masks=hm) == pick_backend("auto", "cpu", hm)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"channels": 60}, "multiple of 64"),
        ({"channels": 64, "key_pool": 0}, "key_pool"),
        ({"channels": 64, "backend": "fast"}, "unknown backend"),
        ({"channels": 64, "step_mode": "both"}, "step_mode must be"),
        ({"channels": 96, "num_heads": 3}, "split evenly"),
        ({"channels": 64, "num_heads": 2}, "gets 1 head"),
        ({"channels": 64, "pattern": "nope"}, "unknown pattern"),
        ({"channels": 64, "heads": [("ltr", 2)]}, "step must be"),
        ({"channels": 64, "heads": [("ltr", 0)], "num_heads": 2}, "num_heads=2"),
    ],
)
def test_bad_arguments_are_user_errors(kwargs, match):
    with pytest.raises(YlgError, match=match):
        YLGAttention2d(**kwargs)


def test_bad_inputs_are_user_errors():
    layer = YLGAttention2d(64)
    with pytest.raises(YlgError, match="pool"):
        layer(_x(size=9))
    with pytest.raises(YlgError, match="expected"):
        layer(torch.randn(2, 32, 8, 8))


def test_exported_masks_are_accepted_and_checked(tmp_path):
    path = tmp_path / "ltr.npz"
    load_pattern("ltr").on("4x4", query_grid="8x8").save_npz(path)
    layer = YLGAttention2d(32, str(path), num_heads=2)
    assert layer.labels == ("ltr/1", "ltr/2")
    assert layer(_x(c=32, size=8)).shape == (2, 32, 8, 8)
    with pytest.raises(YlgError, match="holds masks for 4x4 keys"):
        layer(_x(c=32, size=16))
    # A file whose masks were altered fails its sha256 check.
    with np.load(path) as data:
        masks, meta = data["masks"].copy(), data["meta"]
    masks[0, 0, 5] = ~masks[0, 0, 5]
    bad = tmp_path / "bad.npz"
    np.savez(bad, masks=masks, meta=meta)
    with pytest.raises(YlgError, match="sha256"):
        YLGAttention2d(32, str(bad), num_heads=2)


def test_head_masks_refuse_a_layout_other_than_the_exported_one(tmp_path):
    path = tmp_path / "rtl.npz"
    load_pattern("rtl").on("4x4").save_npz(path)
    with pytest.raises(YlgError, match="order='esa'"):
        head_masks(str(path), grid="4x4", order="rowmajor", num_heads=2)


def test_torch_compile_of_a_model_with_the_layer():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 64, 1), YLGAttention2d(64, backend="grouped"))
    model.eval()
    with torch.no_grad():
        model[1].gamma.fill_(0.5)
    x = torch.randn(2, 3, 8, 8)
    eager = model(x)
    compiled = torch.compile(model)
    out = compiled(x)
    torch.testing.assert_close(out, eager, rtol=1e-4, atol=1e-4)
    out.sum().backward()
    assert model[1].gamma.grad is not None
