"""The parts of the inversion: Lookahead, saliency, the losses, reading inside the models,
the seeds' independence. Untrained networks suffice here (no training run)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from ylg.attention import YLGAttention2d
from ylg.errors import YlgError
from ylg.gan.invert import (
    Lookahead,
    Settings,
    Target,
    d0,
    dfeat_loss,
    discriminator_attention,
    generator_attention,
    invert_image,
    pixel_loss,
    project,
    saliency,
    ylg_loss,
)
from ylg.gan.invert.classes import auto_class
from ylg.gan.invert.taps import class_scores
from ylg.gan.models import Discriminator, Generator
from ylg.gan.sampling.latents import latents
from ylg.patterns import Grid


def two_heads(channels: int) -> YLGAttention2d:
    return YLGAttention2d(channels, "ltr", num_heads=2)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread per test process: with pytest -n 2 on two cores, two threads per
    worker oversubscribe the cores and make these tests several times slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def nets() -> tuple[Generator, Discriminator]:
    torch.manual_seed(0)
    g = Generator(32, 8, 16, 3, two_heads, 16)
    d = Discriminator(32, 16, 3, two_heads, 16)
    for model in (g, d):
        for layer in (model.attention,):
            torch.nn.init.constant_(layer.gamma, 0.5)  # let attention change the output
        model.eval().requires_grad_(False)
    return g, d


# -- Lookahead -------------------------------------------------------------------------


def quadratic_run(opt_factory, steps: int) -> tuple[list[float], torch.Tensor]:
    w = torch.tensor([3.0, -2.0], requires_grad=True)
    opt = opt_factory([w])
    path = []
    for _ in range(steps):
        opt.zero_grad()
        ((w - torch.tensor([1.0, 1.0])) ** 2 * torch.tensor([1.0, 10.0])).sum().backward()
        opt.step()
        path.append(w.detach().clone())
    return path, w


def test_slow_weights_update_exactly_every_k_steps() -> None:
    w = torch.tensor([3.0, -2.0], requires_grad=True)
    opt = Lookahead(torch.optim.Adam([w], lr=0.1), k=5, alpha=0.5)
    slow_before = opt.slow_weights()[0]
    for step in range(1, 21):
        opt.zero_grad()
        (w**2).sum().backward()
        opt.step()
        slow_now = opt.slow_weights()[0]
        if step % 5:
            assert torch.equal(slow_now, slow_before) and not torch.equal(w.detach(), slow_now)
        else:
            assert not torch.equal(slow_now, slow_before) and torch.equal(w.detach(), slow_now)
        slow_before = slow_now
    assert opt.syncs == 4


def test_lookahead_step_matches_the_rule_by_hand() -> None:
    """Lookahead.step against Adam plus the slow-weight rule written out."""
    w1 = torch.tensor([3.0, -2.0], requires_grad=True)
    w2 = w1.detach().clone().requires_grad_(True)
    la = Lookahead(torch.optim.Adam([w1], lr=0.1), k=3, alpha=0.4)
    adam = torch.optim.Adam([w2], lr=0.1)
    slow = w2.detach().clone()
    syncs_seen = []
    for step in range(1, 13):
        for w, opt in ((w1, la), (w2, adam)):
            opt.zero_grad()
            ((w - 1) ** 2 * torch.tensor([1.0, 10.0])).sum().backward()
            opt.step()
        if step % 3 == 0:
            with torch.no_grad():
                slow = slow + 0.4 * (w2.detach() - slow)
                w2.copy_(slow)
        syncs_seen.append(la.syncs)
        assert torch.allclose(w1, w2, atol=1e-6)
    assert syncs_seen == [0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4]


@settings(max_examples=25, deadline=None)
@given(
    k=st.integers(1, 6),
    alpha=st.floats(0.05, 1.0),
    rounds=st.integers(1, 4),
    lr=st.floats(0.01, 1.0),
)
def test_lookahead_on_a_constant_gradient_moves_alpha_k_lr_per_round(
    k: int, alpha: float, rounds: int, lr: float
) -> None:
    """With SGD on a linear loss each fast step moves lr; a round of k moves alpha*k*lr."""
    w = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = Lookahead(torch.optim.SGD([w], lr=lr), k=k, alpha=alpha)
    for _ in range(rounds * k):
        opt.zero_grad()
        (-w).sum().backward()
        opt.step()
    assert opt.syncs == rounds
    assert w.item() == pytest.approx(rounds * alpha * k * lr, rel=1e-9)


def test_lookahead_changes_the_result_of_adam_and_alpha_one_does_not() -> None:
    plain, w_plain = quadratic_run(lambda p: torch.optim.Adam(p, lr=0.1), 40)
    look, w_look = quadratic_run(lambda p: Lookahead(torch.optim.Adam(p, lr=0.1)), 40)
    same, w_same = quadratic_run(lambda p: Lookahead(torch.optim.Adam(p, lr=0.1), alpha=1.0), 40)
    assert torch.allclose(w_plain, w_same, atol=1e-6)
    assert (w_plain - w_look).abs().max() > 1e-2
    assert all(torch.equal(a, b) for a, b in zip(plain[:4], look[:4]))  # same until step 5


@pytest.mark.parametrize("k, alpha", [(0, 0.5), (5, 0.0), (5, 1.5)])
def test_lookahead_refuses_bad_settings(k: int, alpha: float) -> None:
    with pytest.raises(YlgError):
        Lookahead(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1), k=k, alpha=alpha)


# -- saliency and losses ---------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(
    batch=st.integers(1, 2),
    heads=st.integers(1, 4),
    side=st.sampled_from([2, 4, 8]),
    factor=st.sampled_from([1, 2, 4]),
    seed=st.integers(0, 2**16),
    sparsity=st.floats(0.0, 0.9),
)
def test_saliency_maps_are_distributions(
    batch: int, heads: int, side: int, factor: int, seed: int, sparsity: float
) -> None:
    gen = torch.Generator().manual_seed(seed)
    nq, nk = (side * factor) ** 2, side * side
    logits = torch.randn(batch, heads, nq, nk, generator=gen, dtype=torch.float64)
    masked = torch.rand(batch, heads, nq, nk, generator=gen) < sparsity
    masked[..., 0] = False  # every query keeps a key
    attn = torch.softmax(logits.masked_fill(masked, float("-inf")), dim=-1)
    s = saliency(attn)
    assert (s >= 0).all() and torch.allclose(s.sum(-1), torch.ones(batch, heads, dtype=s.dtype))
    # the mean over queries, written out
    for q in range(3):
        assert torch.allclose(s[0, 0, q], sum(attn[0, 0, i, q] for i in range(nq)) / nq)
    p = project(s, Grid(side, side), (side * factor, side * factor))
    assert (p >= 0).all() and torch.allclose(
        p.sum((-2, -1)), torch.ones(batch, heads, dtype=p.dtype)
    )
    # each key cell's mass is spread evenly over the factor x factor block it covers
    blocks = p.reshape(batch, heads, side, factor, side, factor).sum((3, 5)).flatten(2)
    assert torch.allclose(blocks, s)


def test_discriminator_saliency_on_images_sums_to_one_per_head(nets) -> None:
    _, d = nets
    x = torch.rand(3, 3, 32, 32) * 2 - 1
    target = Target.of(d, x[:1])
    attn = discriminator_attention(d, x)
    s = saliency(attn.weights)
    assert s.shape == (3, 2, 64) and (s >= 0).all()
    assert torch.allclose(s.sum(-1), torch.ones(3, 2))
    assert target.maps.shape == (1, 2, 16, 16)
    assert torch.allclose(target.maps.sum((-2, -1)), torch.ones(1, 2))


def test_ylg_loss_is_the_papers_sum_over_heads_up_to_a_constant() -> None:
    gen = torch.Generator().manual_seed(1)
    fake, real = torch.randn(3, 5, 4, 6, generator=gen), torch.randn(1, 5, 4, 6, generator=gen)
    maps = torch.rand(1, 3, 4, 6, generator=gen)
    maps = maps / maps.sum((-2, -1), keepdim=True)
    for b in range(3):
        paper = sum(((fake[b] - real[0]) * maps[0, h]).pow(2).sum() for h in range(3))
        constant = (4 * 6) ** 2 / (5 * 4 * 6 * 3)  # cells^2 / (elements * heads)
        assert ylg_loss(fake, real, maps)[b].item() == pytest.approx(float(paper) * constant)
    uniform = torch.full((1, 3, 4, 6), 1 / 24)
    assert torch.allclose(ylg_loss(fake, real, uniform), dfeat_loss(fake, real))
    assert torch.allclose(pixel_loss(fake, real), ((fake - real) ** 2).mean((1, 2, 3)))


def test_truncated_start_latents_follow_a_truncated_normal() -> None:
    z = latents(4000, 8, torch.Generator().manual_seed(0), truncation=2.0).flatten().numpy()
    assert np.abs(z).max() <= 2.0
    result = stats.kstest(z, stats.truncnorm(-2.0, 2.0).cdf)
    assert result.pvalue > 1e-3


# -- reading inside the networks -------------------------------------------------------


def test_d0_is_the_input_of_the_discriminators_attention_layer(nets) -> None:
    _, d = nets
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    caught = []
    hook = d.attention.register_forward_pre_hook(lambda m, args: caught.append(args[0]))
    try:
        d(x, torch.tensor([0, 1]))
    finally:
        hook.remove()
    assert torch.equal(d0(d, x), caught[0])


def test_generator_attention_leaves_the_generator_unchanged(nets) -> None:
    g, _ = nets
    z, y = torch.randn(2, 8), torch.tensor([0, 2])
    images, attn = generator_attention(g, z, y)
    assert torch.equal(images, g(z, y))
    assert attn.weights.shape == (2, 2, 256, 64)
    assert (str(attn.query_grid), str(attn.key_grid)) == ("16x16", "8x8")
    assert torch.allclose(attn.weights.sum(-1), torch.ones(2, 2, 256), atol=1e-5)


def test_class_scores_are_the_discriminators_logits_for_every_class(nets) -> None:
    _, d = nets
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    scores = class_scores(d, x)
    for c in range(3):
        assert torch.allclose(scores[:, c], d(x, torch.tensor([c, c])), atol=1e-5)
    index, logits = auto_class(d, x[1])
    assert index == int(scores[1].argmax()) and logits == pytest.approx(scores[1].tolist())


# -- the loop --------------------------------------------------------------------------


def test_seeds_in_one_batch_run_as_if_alone(nets) -> None:
    g, d = nets
    target_image = g(torch.randn(1, 8), torch.tensor([1]))[0]
    z = latents(3, 8, torch.Generator().manual_seed(4), truncation=2.0)
    runs = [
        invert_image(
            g,
            d,
            target_image,
            "ylg",
            Settings(seeds=len(start), iterations=8),
            class_index=1,
            start=start,
            progress=False,
        )
        for start in (z, z[1:2])
    ]
    assert np.allclose(runs[0].losses[:, 1:2], runs[1].losses, rtol=1e-4, atol=1e-8)
    assert torch.allclose(runs[0].z[1], runs[1].z[0], atol=1e-5)


def test_the_best_latent_is_kept_and_measured(nets) -> None:
    g, d = nets
    x = torch.rand(3, 32, 32) * 2 - 1
    run = invert_image(
        g, d, x, "dfeat", Settings(seeds=3, iterations=15), class_index=0, progress=False
    )
    assert run.losses.shape == (15, 3)
    for seed, m in enumerate(run.metrics):
        assert m["dfeat"] == pytest.approx(run.losses[:, seed].min(), rel=1e-4)
        assert run.best_steps[seed] == int(run.losses[:, seed].argmin())
        assert set(m) == {"pixel", "dfeat", "ylg"}
    assert run.best_seed == int(np.argmin([m["dfeat"] for m in run.metrics]))
    alone = g(run.z[run.best_seed][None], torch.tensor([0]))[0]
    assert torch.allclose(run.image, alone, atol=1e-5)


def test_patience_stops_a_stalled_run(nets) -> None:
    g, d = nets
    x = torch.rand(3, 32, 32) * 2 - 1
    run = invert_image(
        g,
        d,
        x,
        "pixel",
        Settings(seeds=1, iterations=200, lr=1e-9, patience=5),
        class_index=0,
        progress=False,
    )
    assert len(run.losses) == 6


@pytest.mark.parametrize(
    "change", [{"seeds": 0}, {"iterations": 0}, {"lr": 0.0}, {"truncation": -1.0}, {"patience": -1}]
)
def test_settings_refuse_impossible_values(change: dict) -> None:
    with pytest.raises(YlgError):
        Settings(**change)


def test_unknown_method_and_missing_class_are_errors(nets) -> None:
    g, d = nets
    x = torch.zeros(3, 32, 32)
    with pytest.raises(YlgError, match="unknown method"):
        invert_image(g, d, x, "latent", progress=False)
    with pytest.raises(YlgError, match="conditional"):
        invert_image(g, d, x, "pixel", Settings(iterations=1), progress=False)
    with pytest.raises(YlgError, match="start latents"):
        invert_image(
            g, d, x, "pixel", Settings(iterations=1), class_index=0, start=torch.zeros(4, 3)
        )


def test_the_ylg_method_needs_an_attention_layer() -> None:
    g = Generator(32, 8, 8, 0, attn_resolution=16).eval().requires_grad_(False)
    d = Discriminator(32, 8, 0, attn_resolution=16).eval().requires_grad_(False)
    with pytest.raises(YlgError, match="no attention layer"):
        invert_image(g, d, torch.zeros(3, 32, 32), "ylg", Settings(iterations=1), progress=False)
