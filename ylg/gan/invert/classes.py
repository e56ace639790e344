"""Which class to invert with: the one given, or (``auto``) the discriminator's choice.

``auto`` asks the projection discriminator: its logit for ``(x, y)`` is
``linear(h) + embed(y) . h`` with ``h`` the image's pooled features, so the class
with the highest logit is the one whose embedding best matches the image. This costs
one forward pass of D, whatever the number of classes.

>>> import torch
>>> from ylg.gan.models import Discriminator
>>> d = Discriminator(32, 8, 3, attn_resolution=16).eval()
>>> index, scores = auto_class(d, torch.zeros(3, 32, 32))
>>> index == int(torch.tensor(scores).argmax()), len(scores)
(True, 3)
"""

from __future__ import annotations

from torch import Tensor

from ylg.errors import YlgError
from ylg.gan.invert.loading import InversionModels
from ylg.gan.invert.taps import class_scores
from ylg.gan.models import Discriminator
from ylg.gan.sampling.generate import class_index


def auto_class(d: Discriminator, image: Tensor) -> tuple[int, list[float]]:
    """The class with the highest discriminator logit for ``image [3, R, R]``, and all logits."""
    scores = class_scores(d, image[None])[0]
    return int(scores.argmax()), [float(s) for s in scores]


def choose_class(
    models: InversionModels, label: str | None, image: Tensor
) -> tuple[int | None, list[float] | None]:
    """The class index for ``--class label`` (``None``: ``auto`` on a conditional model).

    Returns the index (``None`` for an unconditional model) and, for ``auto``, the
    discriminator's logit of every class.
    """
    loaded = models.generator
    if not loaded.num_classes:
        if label not in (None, "auto"):
            raise YlgError("this generator is unconditional; it takes no --class")
        return None, None
    if label in (None, "auto"):
        return auto_class(models.discriminator, image)
    return class_index(loaded, label), None
