"""How good a generator's samples are while it trains: KID, and for digits, recognisability.

Two measures, both cheap enough to run every few hundred steps on a CPU:

- **Recognisability** (digits only): the share of class-conditional samples that an
  independent classifier recognises as the digit they were generated for. The
  classifier is a support vector machine fitted to scikit-learn's real 8x8 digits;
  samples are turned grey and averaged down to 8x8 (the classifier's own format).
  The real training images score about 100% through the same round trip; chance is 10%.
- **KID** (any data): the kernel inception distance between samples and real training
  images, in the features of a network that suits the data. For digits the features
  are the same 8x8 grey images the classifier reads (64 values); for anything else they
  come from the fixed random network of :mod:`ylg.metrics.random_extractor`
  (deterministic, no download; its numbers compare runs of this project with each other).

>>> import torch
>>> from ylg.gan.training.data import digits
>>> data = digits(32)
>>> real = data.images[:200].float() / 127.5 - 1.0
>>> recognised(real, data.labels[:200]) > 0.95
True
>>> judge = QualityJudge.for_data(data, "digits", count=200)
>>> scores = judge.score(real, data.labels[:200])
>>> sorted(scores), scores["digits_recognised"] > 0.95, 0.8 < scores["diversity"] < 1.2
(['digits_recognised', 'diversity', 'kid'], True, True)
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ylg.metrics.diversity import class_diversity
from ylg.metrics.kid import kid

#: Samples of each class at an evaluation (digits: 10 classes -> 500 samples).
DEFAULT_COUNT = 500


@lru_cache(maxsize=1)
def digit_classifier() -> Any:
    """An SVM (RBF kernel) fitted to all 1797 of scikit-learn's real 8x8 digits (0..16).

    With ``gamma = 0.001`` (scikit-learn's digits example) it recognises about 99% of
    held-out real digits; here it sees them all, so it is an independent judge of
    generated digits, not of the real ones.
    """
    from sklearn.datasets import load_digits
    from sklearn.svm import SVC

    bunch = load_digits()
    return SVC(gamma=0.001).fit(bunch.data, bunch.target)


def as_digits8(images: torch.Tensor) -> np.ndarray:
    """Images in [-1, 1], ``[N, C, R, R]`` -> ``[N, 64]`` grey 8x8 in scikit-learn's 0..16.

    >>> as_digits8(torch.ones(2, 3, 32, 32)).shape, float(as_digits8(torch.ones(1, 3, 8, 8)).max())
    ((2, 64), 16.0)
    """
    grey = (images.detach().float().cpu().clamp(-1, 1).mean(dim=1, keepdim=True) + 1) / 2
    if grey.shape[-1] != 8:
        grey = F.adaptive_avg_pool2d(grey, 8)
    return (grey.flatten(1) * 16.0).numpy().astype(np.float64)


def recognised(images: torch.Tensor, labels: torch.Tensor) -> float:
    """The share of ``images`` (in [-1, 1]) that the digit classifier reads as ``labels``."""
    predicted = digit_classifier().predict(as_digits8(images))
    return float((predicted == labels.cpu().numpy()).mean())


class QualityJudge:
    """Scores batches of samples against a fixed set of real training images.

    Build it once per run with :meth:`for_data` (it embeds the real images then), then
    call :meth:`score` on each evaluation's samples.
    """

    def __init__(
        self, real_features: np.ndarray, digits: bool, real_labels: np.ndarray | None = None
    ) -> None:
        self.real_features = real_features
        self.digits = digits
        #: The real images' classes (``None``: unconditional data), for ``diversity``.
        self.real_labels = real_labels
        self._extractor: Any = None

    @classmethod
    def for_data(cls, data: Any, source: str, count: int = DEFAULT_COUNT) -> QualityJudge:
        """A judge for a training set (``source`` is the config's ``data``)."""
        gen = torch.Generator().manual_seed(2020)
        index = torch.randperm(len(data), generator=gen)[: min(count, len(data))].tolist()
        real = torch.stack([data[i][0] for i in index]).float() / 127.5 - 1.0
        labels = np.array([int(data[i][1]) for i in index])
        judge = cls(np.zeros((0, 0)), digits=source == "digits")
        judge.real_features = judge.features(real)
        judge.real_labels = labels if len(np.unique(labels)) > 1 else None
        return judge

    def features(self, images: torch.Tensor) -> np.ndarray:
        """KID features of images in [-1, 1]: 8x8 grey digits, or random-network features."""
        if self.digits:
            return as_digits8(images) / 16.0
        if self._extractor is None:
            from ylg.metrics.random_extractor import RandomExtractor

            self._extractor = RandomExtractor()
        out = [self._extractor.features(images[i : i + 250]) for i in range(0, len(images), 250)]
        return np.concatenate(out).astype(np.float64)

    def score(self, images: torch.Tensor, labels: torch.Tensor | None) -> dict[str, float]:
        """``kid`` (x 1, lower is better); with labels, ``diversity`` (within each class,
        the samples' spread over the real images', :func:`ylg.metrics.class_diversity`:
        1 is as varied as the data, 0 one image per class) and, for digits,
        ``digits_recognised``."""
        fake = self.features(images)
        size = min(len(fake), len(self.real_features))
        mean, _ = kid(self.real_features, fake, subsets=10, subset_size=size)
        out = {"kid": mean}
        if labels is not None and self.real_labels is not None:
            out["diversity"] = class_diversity(
                fake, labels.cpu().numpy(), self.real_features, self.real_labels
            )
        if self.digits and labels is not None:
            out["digits_recognised"] = recognised(images, labels)
        return out


def generator_quality(loaded: Any, count: int = 1000, seed: int = 0) -> dict[str, float]:
    """Score a trained generator (a :class:`~ylg.gan.sampling.generate.LoadedGenerator`): ``count``
    samples at default truncation, classes cycling, against its own training data.

    Needs the training data at hand (bundled data sets always are).
    """
    from ylg.gan.sampling.generate import sample_images
    from ylg.gan.training.data import load_dataset

    cfg = loaded.config
    images = sample_images(loaded, count, seed=seed)
    labels = torch.arange(count) % loaded.num_classes if loaded.num_classes else None
    judge = QualityJudge.for_data(load_dataset(cfg.data, cfg.resolution), cfg.data, count)
    return judge.score(images, labels)
