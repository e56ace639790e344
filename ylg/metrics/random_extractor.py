"""A deterministic feature extractor that needs no weights: a fixed random network.

Three strided 3x3 convolutions with leaky ReLUs, global average pooling, and a
linear classifier head, all drawn from a torch generator seeded by a constant, so
the same images give the same features on every machine and run. It reacts to
colour, texture and layout, which makes FID, KID and IS computed with it useful to
compare runs of *this* project with each other and to test the metrics, but its
numbers are NOT comparable with Inception-based numbers in papers (for those use
the ``inception`` extractor).

>>> import torch
>>> net = RandomExtractor()
>>> features, logits = net(torch.zeros(2, 3, 40, 24))
>>> features.shape, logits.shape
((2, 128), (2, 10))
>>> images = torch.rand(3, 3, 16, 16) * 2 - 1
>>> bool((RandomExtractor().features(images) == net.features(images)).all())
True
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ylg.metrics.extractor import FeatureExtractor

#: The seed of every random extractor; changing it changes every number it gives.
SEED = 20200416


class RandomExtractor(FeatureExtractor):
    """Fixed random convolutional features (``dim = 4 * width``) and ``classes`` logits.

    Images are resized (bilinear, antialiased) to ``size x size`` first.
    """

    name = "random"

    def __init__(
        self,
        device: str | torch.device = "cpu",
        size: int = 32,
        width: int = 32,
        classes: int = 10,
        seed: int = SEED,
    ) -> None:
        super().__init__(device)
        self.size = size
        generator = torch.Generator().manual_seed(seed)
        channels = [3, width, 2 * width, 4 * width]
        convs = [
            torch.randn(c_out, c_in, 3, 3, generator=generator) * math.sqrt(2.0 / (9 * c_in))
            for c_in, c_out in zip(channels[:-1], channels[1:])
        ]
        head = torch.randn(channels[-1], classes, generator=generator) / math.sqrt(channels[-1])
        self.convs = [weight.to(self.device) for weight in convs]
        self.head = (3.0 * head).to(self.device)

    @property
    def dim(self) -> int:
        """The feature dimension."""
        return int(self.head.shape[0])

    def embed(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Random-network features and logits of ``images`` in ``[-1, 1]``."""
        x = images
        if tuple(x.shape[2:]) != (self.size, self.size):
            x = F.interpolate(
                x, size=(self.size, self.size), mode="bilinear", align_corners=False, antialias=True
            )
        for weight in self.convs:
            x = F.leaky_relu(F.conv2d(x, weight, stride=2, padding=1), 0.2)
        features = x.mean(dim=(2, 3))
        centred = features - features.mean(dim=1, keepdim=True)
        standardised = centred / (centred.std(dim=1, keepdim=True) + 1e-6)
        return features, standardised @ self.head
