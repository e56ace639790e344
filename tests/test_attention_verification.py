"""verify_model: Full Information of a PyTorch model's attention layers, read from the
model, against networkx graph search and against the same model written as a file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from ylg.attention import SparseSelfAttention, head_masks, model_layers, verify_model
from ylg.errors import YlgError
from ylg.ifg.stack import (
    layers_needed_networkx,
    stack_full_information_networkx,
    verify_stack,
)
from ylg.patterns import Grid, Pattern, load_pattern
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
    with pytest.raises(
        YlgError,
        match=r"layer 0: heads that run their steps in turn mix the patterns 'na', 'sta'",
    ):
        verify_model(nn.Sequential(attn(["na", "sta"], step_mode="sequential")))
    causal = Pattern("causal", "", ("k <= q",))  # reads q and k in row-major order
    with pytest.raises(
        YlgError,
        match=r"layer 0: the steps of causal \(rowmajor\) and ltr \(esa\) number the cells in"
        r" different orders",
    ):
        verify_model(nn.Sequential(attn(None, heads=[(causal, 0), ("ltr", 0)])))
    near = attn(None, heads=[("na", 0), ("ltr", 0)])  # na reads no q, k: its order is moot
    ((_, joined),) = model_layers(nn.Sequential(near))
    assert joined.pattern.name == "na + ltr" and joined.order == "esa"
    first_only = attn(None, heads=[("ltr", 0), ("ltr", 0)])  # its heads read step 1 only
    ((_, masks),) = model_layers(nn.Sequential(first_only))
    assert masks.pattern.name == "ltr step 1" and masks.num_steps == 1
    with pytest.raises(YlgError, match=r"different token grids \(4x4, 8x8\); pass grid="):
        verify_model(nn.Sequential(attn(), attn(grid="4x4")))
    with pytest.raises(YlgError, match="Linear has no SparseSelfAttention layer"):
        verify_model(nn.Linear(2, 2))
    with pytest.raises(YlgError, match="expected a torch.nn.Module, got str"):
        verify_model("model.pt")  # type: ignore[arg-type]


def dependence(model: nn.Module, tokens: int, dim: int) -> torch.Tensor:
    """Which output tokens of the model as it runs depend on which input tokens: the
    nonzero blocks of its Jacobian (random float64 weights: no dependence cancels)."""
    x = torch.randn(1, tokens, dim, dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(model, x)  # [1, N, C, 1, N, C]
    return jac.abs().sum((0, 2, 3, 5)) > 0


#: Library patterns and parametrised variants of them, the heads of a layer draw from.
HEAD_PATTERNS = {
    "ltr": load_pattern("ltr"),
    "rtl": load_pattern("rtl"),
    "axial": load_pattern("axial"),
    "fixed-fi": load_pattern("fixed-fi"),
    "strided-fi": load_pattern("strided-fi"),
    "na": load_pattern("na"),
    "na3": load_pattern("na").with_params(win_i=3, win_j=3),
    "dilated": load_pattern("dilated-na").with_params(win_i=2, win_j=2, dil_i=2, dil_j=2),
    "band": band(1, 2),
    # No query reads its own key: its query still reads its own token.
    "others": Pattern("others", "", ("k != q",)),
    "neighbours": Pattern("neighbours", "", ("qi == ki and abs(qj - kj) == 1",)),
}
#: The patterns above whose queries do not attend their own keys.
SELFLESS = {"others", "neighbours"}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    h=st.integers(1, 4),
    w=st.integers(2, 4),
    layers=st.lists(
        st.tuples(
            st.lists(st.sampled_from(sorted(HEAD_PATTERNS)), min_size=1, max_size=2),
            st.sampled_from(["parallel", "sequential"]),
        ),
        min_size=1,
        max_size=3,
    ),
)
def test_the_verdict_is_what_the_model_does(h: int, w: int, layers: list) -> None:
    """The model's own Jacobian is the reference: Full Information holds exactly when
    every output token depends on every input token (parallel heads read their steps
    side by side, from one pattern or several, and a query's own token where a head
    weighs two keys or more; sequential heads their steps in turn). A layer that is no
    one pattern is refused by name, and only such a layer. Residual blocks around the
    same layers read each token's own input too: the verdict is sound for them."""
    torch.manual_seed(0)
    grid = f"{h}x{w}"
    attention = [
        SparseSelfAttention(
            8, [HEAD_PATTERNS[n] for n in names], grid=grid, num_heads=4, step_mode=mode,
            verify=False, backend="dense",
        ).double()
        for names, mode in layers
    ]  # fmt: skip
    model = nn.Sequential(*attention)
    try:
        verdict = verify_model(model, examples=0, needed=False)
    except YlgError as exc:  # refused only where no one pattern is what a layer does
        mixed = [
            (names, mode) for names, mode in layers if len({HEAD_PATTERNS[n] for n in names}) > 1
        ]
        orders = any(len({HEAD_PATTERNS[n].order for n in names}) > 1 for names, _ in mixed)
        sequential = any(mode == "sequential" for _, mode in mixed)
        assert ("different orders" in str(exc) and orders) or (
            "in turn mix the patterns" in str(exc) and sequential
        )
        return
    missing = verdict.full_information.missing
    blocks = nn.Sequential(*(Block(a) for a in attention)).double()
    with_residuals = dependence(blocks, h * w, 8)
    assert missing >= int((~with_residuals).sum()) and (not verdict.holds or with_residuals.all())
    depends = dependence(model, h * w, 8)
    if any(mode == "sequential" and SELFLESS & set(names) for names, mode in layers) or any(
        partly_own(a) for a in attention
    ):
        # Steps in turn read the query's own token at every step, and a layer whose
        # queries read their own tokens only in part is read without them: sound (never
        # more than the model), not exact.
        assert missing >= int((~depends).sum()) and (not verdict.holds or depends.all())
        return
    assert verdict.holds == bool(depends.all())
    assert missing == int((~depends).sum())


def partly_own(layer: SparseSelfAttention) -> bool:
    """Whether some queries of a parallel layer read their own token through their
    query (a head weighs two keys or more for them, none gives them their own key) and
    others do not (every head gives them one key, not their own)."""
    if layer.step_mode != "parallel":
        return False
    masks = [m.dense() for m in layer.masks_for(layer.grid, verify=False).last_steps()]
    own = np.any([m.diagonal() for m in masks], axis=0)
    weighed = np.any([m.sum(1) >= 2 for m in masks], axis=0)
    return bool((~own & weighed).any() and (~own & ~weighed).any())


def test_heads_of_several_patterns_verify_as_their_union() -> None:
    """Dilated NA alone never reaches every token; beside plain NA in the same layer
    (half the heads each) it does, in fewer layers than plain NA alone: the layer's own
    verify and verify_model read the union, and the Jacobian agrees."""
    near = load_pattern("na").with_params(win_i=3, win_j=3)
    far = load_pattern("dilated-na").with_params(win_i=3, win_j=3, dil_i=3, dil_j=3)
    with pytest.raises(YlgError, match="'dilated-na' lacks Full Information.*no number"):
        SparseSelfAttention(8, far, grid="9x9", num_heads=2, verify=8)
    with pytest.raises(YlgError, match=r"'na' lacks Full Information after 2 layers"):
        SparseSelfAttention(8, near, grid="9x9", num_heads=2, verify=2)
    both = SparseSelfAttention(8, [near, far], grid="9x9", num_heads=2, verify=2)
    with pytest.raises(YlgError, match=r"'na \+ dilated-na' lacks Full Information on 9x9"):
        SparseSelfAttention(8, [near, far], grid="9x9", num_heads=2, verify=1)
    ((_, masks),) = model_layers(nn.Sequential(both))
    assert masks.pattern.name == "na + dilated-na"
    expected = near.on("9x9").dense(0) | far.on("9x9").dense(0)
    assert (masks.dense(0) == expected).all()
    one = SparseSelfAttention(8, [near, far], grid="9x9", num_heads=2, verify=False).double()
    assert int((~dependence(one, 81, 8)).sum()) > 0
    two = nn.Sequential(one, SparseSelfAttention(8, [near, far], grid="9x9", num_heads=2,
                                                 verify=False).double())  # fmt: skip
    assert bool(dependence(two, 81, 8).all()) and verify_model(two).holds


def test_a_layers_own_verify_reads_what_it_does() -> None:
    """Parallel heads of RTL read step 1 and step 2 side by side: one such layer misses
    156 of 256 pairs on 4x4 (the Jacobian agrees), two have Full Information; run in
    turn (sequential heads), one layer has it."""
    with pytest.raises(YlgError, match=r"'rtl \(steps 1 and 2 side by side\)'.*156 of 256"):
        SparseSelfAttention(8, "rtl", grid="4x4", num_heads=2)
    one = SparseSelfAttention(8, "rtl", grid="4x4", num_heads=2, verify=False).double()
    assert int((~dependence(one, 16, 8)).sum()) == 156
    SparseSelfAttention(8, "rtl", grid="4x4", num_heads=2, verify=2)
    SparseSelfAttention(8, "rtl", grid="4x4", num_heads=2, step_mode="sequential")


def test_a_layer_used_twice_counts_twice_and_its_own_verify_plays_no_part() -> None:
    na = load_pattern("na").with_params(win_i=3, win_j=3)
    shared = SparseSelfAttention(8, na, grid="5x5", num_heads=2, verify=False)
    tied = verify_model(nn.Sequential(shared, shared, shared, shared))
    untied = verify_model(
        nn.Sequential(
            *(SparseSelfAttention(8, na, grid="5x5", num_heads=2, verify=False) for _ in range(4))
        )
    )
    assert (tied.depth, tied.holds, tied.needed.layers) == (4, True, untied.needed.layers)
    checked = nn.Sequential(
        *(SparseSelfAttention(8, na, grid="8x8", num_heads=2, verify=6) for _ in range(6))
    )
    larger = verify_model(checked, grid="16x16")  # the layers' verify=6 would refuse 16x16
    assert not larger.holds and larger.needed.layers == 14
    assert all(Grid(16, 16) not in layer._grids for layer in checked)
    with pytest.raises(YlgError, match="needed is True or False"):
        verify_model(checked, needed="no")  # type: ignore[arg-type]


def test_a_query_reads_its_own_token_though_no_key_of_its_own() -> None:
    """``k != q``: no query attends its own key, yet its output depends on its own
    token, which its query reads (the Jacobian shows it): the layer reads the union
    with that token, one layer has Full Information."""
    others = HEAD_PATTERNS["others"]
    layer = SparseSelfAttention(8, others, grid="3x3", num_heads=2, verify=1, backend="dense")
    assert bool(dependence(layer.double(), 9, 8).all())
    ((_, masks),) = model_layers(nn.Sequential(layer))
    assert masks.pattern.name == "others + itself" and masks.dense(0).all()
    assert verify_model(nn.Sequential(layer)).holds
    with pytest.raises(YlgError, match="'others' lacks Full Information"):
        head_masks(others, grid="3x3", num_heads=2)  # the paper's reading: attended keys only


def test_a_query_given_one_key_reads_only_that_key() -> None:
    """One key gets weight 1 whatever the query, so a head that gives every query one key
    (not its own) passes no query on: a cyclic shift never reaches every token, two
    single-key heads neither, and queries normalised over one channel carry nothing
    (red-team cases: each was once verified as holding)."""
    shift = Pattern("shift", "", ("k == (q + 1) % n",))
    left = Pattern("left", "", ("k == (q + n - 1) % n",))
    stacks = [
        [SparseSelfAttention(4, shift, grid="6", num_heads=2, verify=False) for _ in range(6)],
        [
            SparseSelfAttention(4, None, heads=[(left, 0), (shift, 0)], grid="6", verify=False)
            for _ in range(3)
        ],
        [
            SparseSelfAttention(
                2, HEAD_PATTERNS["others"], grid="5", num_heads=2, qk_norm=True, verify=False
            )
        ],
    ]
    for layers in stacks:
        model = nn.Sequential(*layers).double()
        for layer in layers:
            layer.backend = "dense"
        verdict = verify_model(model, needed=False)
        depends = dependence(model, layers[0].grid.size, layers[0].dim)
        assert not depends.all() and not verdict.holds
        assert verdict.full_information.missing == int((~depends).sum())
    with pytest.raises(YlgError, match="'shift' lacks Full Information after 6 layers"):
        SparseSelfAttention(4, shift, grid="6", num_heads=2, verify=6)
