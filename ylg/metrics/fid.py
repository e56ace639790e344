"""Fréchet Inception Distance (Heusel et al., 2017) between two sets of features.

Each set is summarised by the mean and covariance of its features; FID is the
Fréchet (2-Wasserstein) distance between the two Gaussians:
``|mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2))``. The numbers are
comparable with published ones only when the features come from the standard
Inception network (see :mod:`ylg.metrics.torchscript`).

>>> import numpy as np
>>> x = np.random.default_rng(0).normal(size=(500, 4))
>>> fid(x, x) < 1e-9
True
>>> round(fid(x, x + 1.0), 6)  # a shift by 1 in 4 dimensions
4.0
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ylg.errors import YlgError
from ylg.metrics.linalg import trace_sqrt_product


def check_features(features: np.ndarray, what: str = "features", min_rows: int = 2) -> np.ndarray:
    """``features`` as a finite float64 array ``[N, D]`` with at least ``min_rows`` rows.

    >>> check_features([[1, 2], [3, 4]]).dtype
    dtype('float64')
    """
    array = np.asarray(features, dtype=np.float64)
    if array.ndim != 2:
        raise YlgError(f"{what} must be a 2-D array [N, D], got shape {array.shape}")
    if array.shape[0] < min_rows:
        raise YlgError(f"{what} need at least {min_rows} samples, got {array.shape[0]}")
    if not np.all(np.isfinite(array)):
        raise YlgError(f"{what} contain NaN or infinite values")
    return array


@dataclass(frozen=True)
class GaussianStats:
    """Mean ``[D]``, covariance ``[D, D]`` (unbiased) and sample count of a feature set.

    >>> import numpy as np
    >>> s = GaussianStats.from_features(np.array([[0.0, 0.0], [2.0, 2.0]]))
    >>> s.mean.tolist(), s.cov.tolist(), s.count
    ([1.0, 1.0], [[2.0, 2.0], [2.0, 2.0]], 2)
    """

    mean: np.ndarray
    cov: np.ndarray
    count: int

    @classmethod
    def from_features(cls, features: np.ndarray) -> GaussianStats:
        """The statistics of ``features`` ``[N, D]`` (``N >= 2``)."""
        array = check_features(features)
        return cls(
            array.mean(axis=0),
            np.cov(array, rowvar=False).reshape(array.shape[1], -1),
            array.shape[0],
        )

    @property
    def dim(self) -> int:
        """The feature dimension ``D``."""
        return int(self.mean.shape[0])


def frechet_distance(a: GaussianStats, b: GaussianStats) -> float:
    """The Fréchet distance between the Gaussians ``a`` and ``b`` (never negative).

    >>> import numpy as np
    >>> unit = GaussianStats(np.zeros(2), np.eye(2), 10)
    >>> frechet_distance(unit, GaussianStats(np.ones(2), 4 * np.eye(2), 10))
    4.0
    """
    if a.dim != b.dim:
        raise YlgError(f"feature dimensions differ: {a.dim} and {b.dim}")
    diff = a.mean - b.mean
    value = diff @ diff + np.trace(a.cov) + np.trace(b.cov) - 2 * trace_sqrt_product(a.cov, b.cov)
    return max(float(value), 0.0)


def fid(real: np.ndarray, fake: np.ndarray) -> float:
    """FID between two feature arrays ``[N, D]`` and ``[M, D]``."""
    return frechet_distance(
        GaussianStats.from_features(check_features(real, "real features")),
        GaussianStats.from_features(check_features(fake, "generated features")),
    )
