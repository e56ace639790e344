"""What pushes a conditional GAN towards variety within a class: the discriminator's
minibatch standard deviation and the mode-seeking term of G's loss."""

from __future__ import annotations

import pytest
import torch

from ylg.errors import YlgError
from ylg.gan.models.layers import MinibatchStd
from ylg.gan.models.networks import Discriminator
from ylg.gan.run.config import TrainConfig
from ylg.gan.training.trainer import mode_seeking_loss


def _reference_std(x: torch.Tensor, group: int) -> torch.Tensor:
    """Per image: the mean over (channel, row, column) of the standard deviation across
    its group of consecutive images (plus the layer's 1e-8 under the root), as a loop."""
    out = torch.empty(len(x))
    for start in range(0, len(x), group):
        members = x[start : start + group].double()
        variance = (members - members.mean(dim=0)).square().mean(dim=0)
        out[start : start + group] = (variance + 1e-8).sqrt().mean().float()
    return out


@pytest.mark.parametrize(("batch", "group", "used"), [(8, 4, 4), (8, 2, 2), (6, 4, 6), (1, 4, 1)])
def test_minibatch_std_matches_a_loop(batch: int, group: int, used: int) -> None:
    x = torch.randn(batch, 5, 3, 3)
    out = MinibatchStd(group)(x)
    assert out.shape == (batch, 6, 3, 3)
    assert torch.equal(out[:, :5], x)
    expected = _reference_std(x, used)
    torch.testing.assert_close(
        out[:, 5], expected[:, None, None].expand(batch, 3, 3), atol=1e-4, rtol=1e-4
    )


def test_minibatch_std_keeps_reals_and_fakes_apart() -> None:
    real, fake = torch.randn(4, 3, 2, 2), torch.zeros(4, 3, 2, 2)
    out = MinibatchStd(4)(torch.cat([real, fake]))
    assert float(out[:4, 3].min()) > 0.1 and float(out[4:, 3].abs().max()) < 1e-3


def test_discriminator_with_minibatch_std_sees_the_batch() -> None:
    torch.manual_seed(0)
    d = Discriminator(32, 16, 10, attn_resolution=16, minibatch_std=4).eval()
    plain = Discriminator(32, 16, 10, attn_resolution=16).eval()
    assert d.final.conv1.weight.shape[1] == plain.final.conv1.weight.shape[1] + 1
    x, y = torch.randn(4, 3, 32, 32), torch.tensor([1, 2, 3, 4])
    with torch.no_grad():
        alone = d(x, y)
        # the first image's logit depends on the others in its group with the option...
        moved = d(torch.cat([x[:1], torch.randn(3, 3, 32, 32)]), y)
        assert not torch.allclose(alone[0], moved[0])
        # ...and not without it
        plain_moved = plain(torch.cat([x[:1], torch.randn(3, 3, 32, 32)]), y)
        torch.testing.assert_close(plain(x, y)[0], plain_moved[0])


def test_mode_seeking_loss_rewards_images_that_follow_their_latents() -> None:
    z = torch.randn(8, 16)
    ignore = torch.zeros(8, 3, 4, 4) + torch.randn(1, 3, 4, 4)  # one image whatever z is
    follow = z[:, :12].reshape(8, 3, 2, 2).repeat(1, 1, 2, 2)  # the image is z, tiled
    assert mode_seeking_loss(ignore, z) > 1e4
    assert mode_seeking_loss(follow, z) < 2.0
    # gradients flow into the images
    images = torch.randn(8, 3, 4, 4, requires_grad=True)
    mode_seeking_loss(images, z).backward()
    assert images.grad is not None and images.grad.abs().sum() > 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"minibatch_std": -1}, "minibatch_std"),
        ({"mode_seeking": -0.5}, "mode_seeking"),
        ({"mode_seeking": float("nan")}, "mode_seeking"),
    ],
)
def test_bad_variety_settings_are_refused(change: dict, message: str) -> None:
    with pytest.raises(YlgError, match=message):
        TrainConfig(resolution=32, **change)
