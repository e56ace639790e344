"""verify_model: Full Information of a PyTorch model's attention layers, read from the
model, against networkx graph search and against the same model written as a file."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from ylg.attention import SparseSelfAttention, model_layers, verify_model
from ylg.errors import YlgError
from ylg.ifg.stack import (
    layers_needed_networkx,
    stack_full_information_networkx,
    verify_stack,
)
from ylg.patterns import Pattern, load_pattern
from ylg.patterns.model import load_model


class Block(nn.Module):
    """A pre-norm transformer block: only the attention mixes tokens."""

    def __init__(self, attention: SparseSelfAttention) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(attention.dim)
        self.attention = attention
        self.mlp = nn.Linear(attention.dim, attention.dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.norm(x))
        return x + self.mlp(x)


def band(radius: int, dilation: int) -> Pattern:
    return Pattern(
        f"band{radius}d{dilation}",
        "",
        (
            f"abs(qi - ki) <= {radius * dilation} and (qi - ki) % {dilation} == 0"
            f" and abs(qj - kj) <= {radius * dilation} and (qj - kj) % {dilation} == 0",
        ),
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    h=st.integers(1, 5),
    w=st.integers(1, 5),
    kinds=st.lists(st.tuples(st.integers(0, 2), st.integers(1, 3)), min_size=1, max_size=4),
)
def test_a_models_verdict_is_graph_search_over_its_layers(h: int, w: int, kinds: list) -> None:
    grid = f"{h}x{w}"
    model = nn.Sequential(
        *(
            Block(SparseSelfAttention(8, band(r, d), grid=grid, num_heads=2, verify=False))
            for r, d in kinds
        )
    )
    verdict = verify_model(model, examples=3, max_layers=16)
    layers = [band(r, d).on(grid) for r, d in kinds]
    slow = stack_full_information_networkx(layers, examples=3)
    fi = verdict.full_information
    assert (fi.holds, fi.missing, fi.examples) == (slow.holds, slow.missing, slow.examples)
    assert verdict.depth == len(kinds)
    assert verdict.needed.layers == layers_needed_networkx(layers, max_layers=16)


def test_a_dinat_style_model_verifies_where_its_dilated_layers_cannot_alone(
    tmp_path: Path,
) -> None:
    near = load_pattern("na").with_params(win_t=3, win_i=3, win_j=3)
    far = load_pattern("dilated-na").with_params(win_t=3, win_i=3, win_j=3, dil_i=4, dil_j=4)
    with pytest.raises(YlgError, match="'dilated-na' lacks Full Information.*no number"):
        SparseSelfAttention(16, far, grid="4x16x16", num_heads=2, verify=4)
    model = nn.Sequential(
        *(
            Block(SparseSelfAttention(16, p, grid="4x16x16", num_heads=2, verify=False))
            for p in [near, far] * 3
        )
    )
    verdict = verify_model(model)
    # The same model as a model file, checked by `ylg verify --model`'s function.
    path = tmp_path / "dinat.toml"
    path.write_text(
        'name = "dinat"\ndescription = ""\ngrid = "4x16x16"\n'
        '[[layers]]\npattern = "na"\nparams = { win_t = 3, win_i = 3, win_j = 3 }\n'
        '[[layers]]\npattern = "dilated-na"\n'
        "params = { win_t = 3, win_i = 3, win_j = 3, dil_i = 4, dil_j = 4 }\n"
    )
    from_file = verify_stack(load_model(path).on("4x16x16") * 3)
    assert verdict.holds and from_file.holds
    assert verdict.needed.layers == from_file.needed.layers
    assert [n for n, _ in model_layers(model)] == [f"{i}.attention" for i in range(6)]


def test_other_grids_and_what_cannot_be_read_as_one_pattern_per_layer() -> None:
    def attn(pattern: object = "na", grid: str = "8x8", **kw: object) -> SparseSelfAttention:
        return SparseSelfAttention(16, pattern, grid=grid, num_heads=2, verify=False, **kw)

    model = nn.Sequential(attn(), attn())
    assert str(verify_model(model, grid="6x10").full_information.layout).startswith("6x10")
    with pytest.raises(YlgError, match=r"layer 0 mixes the patterns 'na', 'sta'"):
        verify_model(nn.Sequential(attn(["na", "sta"])))
    with pytest.raises(YlgError, match=r"layer 1: its heads give 'ltr' step\(s\) 1 of its 2"):
        verify_model(nn.Sequential(attn(), attn("ltr", heads=[("ltr", 0), ("ltr", 0)])))
    with pytest.raises(YlgError, match=r"different token grids \(4x4, 8x8\); pass grid="):
        verify_model(nn.Sequential(attn(), attn(grid="4x4")))
    with pytest.raises(YlgError, match="Linear has no SparseSelfAttention layer"):
        verify_model(nn.Linear(2, 2))
    with pytest.raises(YlgError, match="expected a torch.nn.Module, got str"):
        verify_model("model.pt")  # type: ignore[arg-type]
