"""Run an extractor over image sets and compute FID, KID and the Inception Score.

>>> import numpy as np
>>> from ylg.metrics.images import ArrayImages
>>> from ylg.metrics.random_extractor import RandomExtractor
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

from ylg.errors import YlgError
from ylg.metrics.extractor import FeatureExtractor
from ylg.metrics.fid import fid
from ylg.metrics.images import ImageSet
from ylg.metrics.inception_score import inception_score
from ylg.metrics.kid import kid
from ylg.progress import progress as bar_for


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
    """Features (and logits) of the first ``limit`` readable images of ``images`` (all by
    default), in batches, with a tqdm progress bar."""
    if batch_size < 1:
        raise YlgError(f"batch size must be >= 1, got {batch_size}")
    if limit is not None and limit < 1:
        raise YlgError(f"the image limit must be >= 1, got {limit}")
    total = len(images) if limit is None else min(limit, len(images))
    features: list[np.ndarray] = []
    logits: list[np.ndarray] = []
    done = 0
    with bar_for(total=total, desc=desc, unit="img", disable=not progress, leave=False) as bar:
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
        raise YlgError(f"no readable images in {images.describe()}{_skipped(images)}")
    return Embeddings(np.concatenate(features), np.concatenate(logits) if logits else None)


def _skipped(images: ImageSet) -> str:
    summary = images.skipped_summary()
    if not summary:
        return ""
    return f"; {images.skipped} file(s) skipped as unreadable ({summary})"


def _enough(embeddings: Embeddings, images: ImageSet, name: str) -> None:
    count = embeddings.features.shape[0]
    if count < 2:
        raise YlgError(
            f"the {name} set needs at least 2 images, got {count} from "
            f"{images.describe()}{_skipped(images)}"
        )


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
    kid_std: float | None  # None: one subset, the whole of both sets (no spread)
    kid_subsets: int
    kid_subset_size: int
    is_mean: float | None
    is_std: float | None
    is_splits: int
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """The report as plain JSON-ready values."""
        return asdict(self)

    def lines(self) -> list[str]:
        """The report for people, one metric a line."""
        out = [f"FID  {self.fid:.4f}"]
        if self.kid_std is None:
            out.append(
                f"KID  {self.kid_mean:.6f}  (one subset: all {self.kid_subset_size} images of "
                "both sets, so no spread)"
            )
        else:
            out.append(
                f"KID  {self.kid_mean:.6f} ± {self.kid_std:.6f}  "
                f"({self.kid_subsets} subsets of {self.kid_subset_size})"
            )
        if self.is_mean is None and self.is_splits == 0:
            out.append("IS   n/a (too few generated images per split; see the warning)")
        elif self.is_mean is None:
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
    """FID and KID between ``real`` and ``fake``, IS of ``fake``, with ``extractor``.
    With ``limit``, each set gives at most that many images, a random sample drawn with
    ``seed`` (:meth:`ImageSet.drawn`), not its first ones."""
    if limit is not None:
        real = real.drawn(seed) if limit < len(real) else real
        fake = fake.drawn(seed) if limit < len(fake) else fake
    real_emb = extract(extractor, real, batch_size, limit, progress, desc="real features")
    fake_emb = extract(extractor, fake, batch_size, limit, progress, desc="generated features")
    _enough(real_emb, real, "real")
    _enough(fake_emb, fake, "generated")
    n_real, n_fake = real_emb.features.shape[0], fake_emb.features.shape[0]
    warnings: list[str] = []
    subset = min(kid_subset_size, n_real, n_fake)
    whole = subset == n_real == n_fake
    if whole and kid_subsets > 1:
        warnings.append(
            f"KID: a subset of {subset} is the whole of both sets, so all {kid_subsets} "
            "subsets would be the same: computed once, with no spread (give "
            f"--kid-subset-size below {subset} for one)"
        )
    kid_mean, kid_std = kid(
        real_emb.features, fake_emb.features, 1 if whole else kid_subsets, subset, seed
    )
    is_mean = is_std = None
    splits = is_splits
    if fake_emb.logits is not None:
        classes = fake_emb.logits.shape[1]
        if is_splits > n_fake // 2:
            splits = 0
            warnings.append(
                f"IS: {is_splits} split(s) of {n_fake} generated images leave fewer than 2 "
                "images per split, where the score means nothing; not computed (give "
                f"--is-splits {n_fake // 2} or fewer)"
            )
        else:
            if n_fake // is_splits < classes:
                fix = (
                    f"use --is-splits {n_fake // classes} or fewer"
                    if n_fake >= classes
                    else f"use at least {classes} generated images per split"
                )
                warnings.append(
                    f"IS: {is_splits} split(s) of {n_fake} generated images hold "
                    f"{n_fake // is_splits} or so each, fewer than the {classes} classes; a "
                    f"split's score cannot exceed its image count, so IS reads low ({fix})"
                )
            is_mean, is_std = inception_score(fake_emb.logits, is_splits)
    return MetricsReport(
        extractor=extractor.name,
        feature_dim=int(real_emb.features.shape[1]),
        n_real=n_real,
        n_fake=n_fake,
        skipped_real=real.skipped,
        skipped_fake=fake.skipped,
        fid=fid(real_emb.features, fake_emb.features),
        kid_mean=kid_mean,
        kid_std=None if whole else kid_std,
        kid_subsets=1 if whole else kid_subsets,
        kid_subset_size=subset,
        is_mean=is_mean,
        is_std=is_std,
        is_splits=splits,
        warnings=tuple(warnings),
    )
