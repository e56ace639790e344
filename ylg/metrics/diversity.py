"""How varied a class-conditional generator's samples are within each class.

KID and FID compare whole sets: a generator that draws one good image per class scores
well on them when the classes are far apart. :func:`class_diversity` asks the question
they miss: within one class, do the samples differ as much as the real images do?

It is the mean, over classes, of the mean pairwise distance between the samples of a
class divided by the mean pairwise distance between the real images of that class, all
in one feature space. 1 means as varied as the data; a generator that ignores its latent
and draws one image per class scores 0.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> real, labels = rng.normal(size=(200, 8)), np.arange(200) % 4
>>> same = class_diversity(rng.normal(size=(400, 8)), np.arange(400) % 4, real, labels)
>>> abs(same - 1) < 0.05              # drawn like the data: as varied
True
>>> collapsed = np.repeat(rng.normal(size=(4, 8)), 25, axis=0)
>>> class_diversity(collapsed, np.repeat(np.arange(4), 25), real, labels)
0.0
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import pdist


def class_diversity(
    fake: np.ndarray, fake_labels: np.ndarray, real: np.ndarray, real_labels: np.ndarray
) -> float:
    """Mean over classes of ``spread(samples of c) / spread(real images of c)``, where a
    set's spread is the mean Euclidean distance between two of its members.

    ``fake`` and ``real`` are ``[N, D]`` features with ``[N]`` integer labels. Classes with
    fewer than two members on either side are left out; a :class:`ValueError` when no
    class is left, or when the real images of a class are all equal.
    """
    fake, real = np.asarray(fake, dtype=np.float64), np.asarray(real, dtype=np.float64)
    fake_labels, real_labels = np.asarray(fake_labels), np.asarray(real_labels)
    if fake.ndim != 2 or real.ndim != 2 or fake.shape[1] != real.shape[1]:
        raise ValueError(f"features must be [N, D] with one D, got {fake.shape} and {real.shape}")
    if fake_labels.shape != (len(fake),) or real_labels.shape != (len(real),):
        raise ValueError("give one label per feature row")
    ratios = []
    for c in np.intersect1d(fake_labels, real_labels):
        f, r = fake[fake_labels == c], real[real_labels == c]
        if len(f) < 2 or len(r) < 2:
            continue
        spread = float(pdist(r).mean())
        if spread == 0:
            raise ValueError(f"the real images of class {c} are all equal")
        ratios.append(float(pdist(f).mean()) / spread)
    if not ratios:
        raise ValueError("no class has two samples and two real images")
    return float(np.mean(ratios))
