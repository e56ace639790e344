"""Square roots of covariance matrices, computed from symmetric eigendecompositions.

FID needs ``tr((S1 S2)^(1/2))`` for two covariance matrices. ``S1 S2`` is not
symmetric, and a general matrix square root of it (``scipy.linalg.sqrtm``) can
return complex noise or fail when the covariances are singular, which they are
whenever there are fewer samples than feature dimensions. With ``R = S1^(1/2)``,
``S1 S2 = R (R S2)`` has the eigenvalues of ``(R S2) R = R S2 R``, a symmetric
positive semi-definite matrix, so the trace is the sum of the square roots of its
eigenvalues: two ``eigh`` calls, real arithmetic, no iteration.

>>> import numpy as np
>>> a = np.array([[4.0, 0.0], [0.0, 9.0]])
>>> sqrtm_psd(a)
array([[2., 0.],
       [0., 3.]])
>>> round(trace_sqrt_product(a, np.eye(2)), 12)
5.0
"""

from __future__ import annotations

import numpy as np

from ylg.errors import YlgError


def _symmetric(a: np.ndarray, what: str) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise YlgError(f"{what} must be a square matrix, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise YlgError(f"{what} has NaN or infinite entries")
    return (a + a.T) / 2


def sqrtm_psd(a: np.ndarray) -> np.ndarray:
    """The symmetric square root of a symmetric positive semi-definite matrix.

    Eigenvalues that rounding made slightly negative count as zero.

    >>> import numpy as np
    >>> r = sqrtm_psd(np.array([[2.0, 1.0], [1.0, 2.0]]))
    >>> np.allclose(r @ r, [[2.0, 1.0], [1.0, 2.0]])
    True
    """
    a = _symmetric(a, "the matrix")
    values, vectors = np.linalg.eigh(a)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def trace_sqrt_product(s1: np.ndarray, s2: np.ndarray) -> float:
    """``tr((s1 @ s2)^(1/2))`` for symmetric positive semi-definite ``s1`` and ``s2``.

    >>> import numpy as np
    >>> s = np.array([[2.0, 1.0], [1.0, 2.0]])
    >>> round(trace_sqrt_product(s, s), 12)  # tr(s)
    4.0
    """
    s1 = _symmetric(s1, "the first covariance")
    s2 = _symmetric(s2, "the second covariance")
    if s1.shape != s2.shape:
        raise YlgError(f"covariances of different sizes: {s1.shape} and {s2.shape}")
    root = sqrtm_psd(s1)
    inner = root @ s2 @ root
    values = np.linalg.eigvalsh((inner + inner.T) / 2)
    return float(np.sqrt(np.clip(values, 0.0, None)).sum())
