"""Run an extractor over image sets and compute FID, KID and the Inception Score.

>>> import numpy as np
>>> from ylg.gan.metrics.images import ArrayImages
>>> from ylg.gan.metrics.random_extractor import RandomExtractor
>>> rng = np.random.default_rng(0)
>>> real = ArrayImages(rng.integers(0, 256, (40, 16, 16, 3), dtype=np.uint8))
>>> report = evaluate(real, real, RandomExtractor(), kid_subset_size=20, is_splits=2,
...                   progress=False)
>>> report.fid < 1e-6, abs(report.kid_mean) < 1e-3, report.n_real
(True, True, 40)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from tqdm import tqdm

from ylg.errors import YlgError
from ylg.gan.metrics.extractor import FeatureExtractor
from ylg.gan.metrics.fid import fid
from ylg.gan.metrics.images import ImageSet
from ylg.gan.metrics.inception_score import inception_score
from ylg.gan.metrics.kid import kid


@dataclass(frozen=True)
class Embeddings:
    """Features ``[N, D]`` and logits ``[N, C]`` (or ``None``) of one image set."""

    features: np.ndarray
    logits: np.ndarray | None


def extract(
    extractor: FeatureExtractor,
    images: ImageSet,
    batch_size: int = 50,
    limit: int | None = None,
    progress: bool = True,
    desc: str = "features",
) -> Embeddings:
    """Features (and logits) of the first ``limit`` images of ``images`` (all by default),
    in batches, with a tqdm progress bar."""
    if batch_size < 1:
        raise YlgError(f"batch size must be >= 1, got {batch_size}")
    if limit is not None and limit < 1:
        raise YlgError(f"the image limit must be >= 1, got {limit}")
    total = len(images) if limit is None else min(limit, len(images))
    features: list[np.ndarray] = []
    logits: list[np.ndarray] = []
    done = 0
    with tqdm(total=total, desc=desc, unit="img", disable=not progress, leave=False) as bar:
        for batch in images.batches(batch_size):
            batch = batch[: total - done]
            batch_features, batch_logits = extractor(batch)
            features.append(batch_features)
            if batch_logits is not None:
                logits.append(batch_logits)
            done += batch.shape[0]
            bar.update(batch.shape[0])
            if done >= total:
                break
    if done == 0:
        raise YlgError(f"no readable images in {images.describe()}")
    return Embeddings(np.concatenate(features), np.concatenate(logits) if logits else None)


@dataclass(frozen=True)
class MetricsReport:
    """FID, KID (mean, std) and IS of the generated set (mean, std; ``None`` when the
    extractor has no classifier), with what they were computed from."""

    extractor: str
    feature_dim: int
    n_real: int
    n_fake: int
    skipped_real: int
    skipped_fake: int
    fid: float
    kid_mean: float
    kid_std: float
    kid_subsets: int
    kid_subset_size: int
    is_mean: float | None
    is_std: float | None
    is_splits: int

    def to_dict(self) -> dict[str, object]:
        """The report as plain JSON-ready values."""
        return asdict(self)

    def lines(self) -> list[str]:
        """The report for people, one metric a line."""
        out = [
            f"FID  {self.fid:.4f}",
            f"KID  {self.kid_mean:.6f} ± {self.kid_std:.6f}  "
            f"({self.kid_subsets} subsets of {self.kid_subset_size})",
        ]
        if self.is_mean is None:
            out.append(f"IS   n/a (the {self.extractor} extractor has no classifier)")
        else:
            out.append(f"IS   {self.is_mean:.4f} ± {self.is_std:.4f}  ({self.is_splits} splits)")
        out.append(
            f"({self.extractor} features, {self.feature_dim}-d; {self.n_real} real and "
            f"{self.n_fake} generated images)"
        )
        return out


def evaluate(
    real: ImageSet,
    fake: ImageSet,
    extractor: FeatureExtractor,
    batch_size: int = 50,
    limit: int | None = None,
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    is_splits: int = 10,
    seed: int = 0,
    progress: bool = True,
) -> MetricsReport:
    """FID and KID between ``real`` and ``fake``, IS of ``fake``, with ``extractor``."""
    real_emb = extract(extractor, real, batch_size, limit, progress, desc="real features")
    fake_emb = extract(extractor, fake, batch_size, limit, progress, desc="generated features")
    n_real, n_fake = real_emb.features.shape[0], fake_emb.features.shape[0]
    kid_mean, kid_std = kid(
        real_emb.features, fake_emb.features, kid_subsets, kid_subset_size, seed
    )
    is_mean = is_std = None
    if fake_emb.logits is not None:
        is_mean, is_std = inception_score(fake_emb.logits, min(is_splits, n_fake))
    return MetricsReport(
        extractor=extractor.name,
        feature_dim=int(real_emb.features.shape[1]),
        n_real=n_real,
        n_fake=n_fake,
        skipped_real=real.skipped,
        skipped_fake=fake.skipped,
        fid=fid(real_emb.features, fake_emb.features),
        kid_mean=kid_mean,
        kid_std=kid_std,
        kid_subsets=kid_subsets,
        kid_subset_size=min(kid_subset_size, n_real, n_fake),
        is_mean=is_mean,
        is_std=is_std,
        is_splits=min(is_splits, n_fake),
    )
