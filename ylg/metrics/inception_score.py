"""Inception Score (Salimans et al., 2016) from class logits.

``IS = exp(E_x KL(p(y|x) || p(y)))``: high when each image is classified with
confidence and the classes are spread evenly over the set. The logits are split
into ``splits`` nearly equal parts; the score of each part gives the reported
mean and standard deviation. It lies between 1 and the number of classes.

>>> import numpy as np
>>> confident = np.eye(4)[np.arange(400) % 4] * 50.0  # sure of one class, 4 classes used
>>> mean, std = inception_score(confident, splits=4)
>>> round(mean, 6), round(std, 6)
(4.0, 0.0)
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_softmax, logsumexp

from ylg.errors import YlgError
from ylg.metrics.fid import check_features


def _score(log_p: np.ndarray) -> float:
    log_marginal = logsumexp(log_p, axis=0) - np.log(log_p.shape[0])
    kl = (np.exp(log_p) * (log_p - log_marginal)).sum(axis=1)
    return float(np.exp(kl.mean()))


def inception_score(logits: np.ndarray, splits: int = 10) -> tuple[float, float]:
    """Mean and standard deviation of the score over ``splits`` parts of ``logits`` ``[N, C]``.

    >>> import numpy as np
    >>> inception_score(np.zeros((20, 10)), splits=2)  # every image undecided: IS 1
    (1.0, 0.0)
    """
    logits = check_features(logits, "logits", min_rows=1)
    if splits < 1 or logits.shape[0] < splits:
        raise YlgError(
            f"Inception Score needs 1 <= splits <= {logits.shape[0]} images, got {splits} splits"
        )
    log_p = log_softmax(logits, axis=1)
    scores = np.array([_score(part) for part in np.array_split(log_p, splits)])
    return float(scores.mean()), float(scores.std())
