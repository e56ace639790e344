"""Kernel Inception Distance (Bińkowski et al., 2018).

KID is the unbiased estimate of the squared maximum mean discrepancy (MMD^2)
between two feature sets under the cubic polynomial kernel
``k(x, y) = (x . y / D + 1)^3``. It is averaged over random subsets of equal
size drawn without replacement from each set; the spread over subsets is the
reported standard deviation. Unlike FID it is unbiased, so it can be slightly
negative when the two sets come from the same distribution.

>>> import numpy as np
>>> x = np.random.default_rng(0).normal(size=(200, 8))
>>> mean, std = kid(x, x + 1.0, subsets=10, subset_size=100)
>>> mean > 10 * std > 0
True
"""

from __future__ import annotations

import numpy as np

from ylg.errors import YlgError
from ylg.metrics.fid import check_features


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The kernel matrix ``(x @ y.T / D + 1) ** 3`` of ``x`` ``[N, D]`` and ``y`` ``[M, D]``.

    >>> import numpy as np
    >>> polynomial_kernel(np.ones((1, 2)), np.ones((1, 2)))
    array([[8.]])
    """
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """The unbiased MMD^2 estimate between two samples of the same size ``m >= 2``.

    ``(sum_{i != j} k(x_i, x_j) + sum_{i != j} k(y_i, y_j)) / (m (m - 1))
    - 2 sum_{i, j} k(x_i, y_j) / m^2``.

    >>> import numpy as np
    >>> x = np.random.default_rng(1).normal(size=(50, 3))
    >>> abs(mmd2_unbiased(x, x)) < 1.0  # same sample: the estimate is near 0
    True
    """
    m = x.shape[0]
    if m < 2 or y.shape[0] != m:
        raise YlgError(f"MMD needs two samples of the same size >= 2, got {m} and {y.shape[0]}")
    kxx = polynomial_kernel(x, x)
    kyy = polynomial_kernel(y, y)
    kxy = polynomial_kernel(x, y)
    within = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return float(within - 2.0 * kxy.sum() / (m * m))


def kid(
    real: np.ndarray,
    fake: np.ndarray,
    subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """Mean and standard deviation of MMD^2 over ``subsets`` random subsets.

    Each subset holds ``min(subset_size, len(real), len(fake))`` samples of each set;
    ``seed`` makes the draw reproducible. With one subset the deviation is 0.
    """
    real = check_features(real, "real features")
    fake = check_features(fake, "generated features")
    if real.shape[1] != fake.shape[1]:
        raise YlgError(f"feature dimensions differ: {real.shape[1]} and {fake.shape[1]}")
    if subsets < 1 or subset_size < 2:
        raise YlgError(f"KID needs subsets >= 1 and subset size >= 2, got {subsets}, {subset_size}")
    m = min(subset_size, real.shape[0], fake.shape[0])
    rng = np.random.default_rng(seed)
    values = np.array(
        [
            mmd2_unbiased(
                real[rng.choice(real.shape[0], m, replace=False)],
                fake[rng.choice(fake.shape[0], m, replace=False)],
            )
            for _ in range(subsets)
        ]
    )
    return float(values.mean()), float(values.std())
