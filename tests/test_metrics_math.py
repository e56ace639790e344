"""FID, KID and Inception Score against slow, obviously correct references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

from ylg.errors import YlgError
from ylg.metrics import GaussianStats, fid, frechet_distance, inception_score, kid
from ylg.metrics.kid import mmd2_unbiased, polynomial_kernel
from ylg.metrics.linalg import sqrtm_psd, trace_sqrt_product

FAST = settings(max_examples=40, deadline=None)


def random_psd(seed: int, dim: int, rank: int | None = None) -> np.ndarray:
    """A random symmetric positive semi-definite matrix of the given rank."""
    rng = np.random.default_rng(seed)
    factor = rng.normal(size=(dim, rank or dim))
    return factor @ factor.T / dim + (0 if rank else 0.1 * np.eye(dim))


# --- matrix square roots -------------------------------------------------------------


@FAST
@given(st.integers(0, 10**6), st.integers(1, 24))
def test_sqrtm_psd_matches_scipy(seed: int, dim: int) -> None:
    a = random_psd(seed, dim)
    root = sqrtm_psd(a)
    assert np.allclose(root, scipy.linalg.sqrtm(a).real, atol=1e-9)
    assert np.allclose(root, root.T) and np.allclose(root @ root, a, atol=1e-9)


@FAST
@given(st.integers(0, 10**6), st.integers(1, 24))
def test_trace_sqrt_product_matches_scipy(seed: int, dim: int) -> None:
    s1, s2 = random_psd(seed, dim), random_psd(seed + 1, dim)
    expected = np.trace(scipy.linalg.sqrtm(s1 @ s2)).real
    assert trace_sqrt_product(s1, s2) == pytest.approx(expected, rel=1e-9, abs=1e-9)


@FAST
@given(st.integers(0, 10**6), st.integers(2, 24), st.data())
def test_trace_sqrt_product_of_singular_covariances(seed: int, dim: int, data) -> None:
    """Fewer samples than dimensions: the eigenvalues of s1 @ s2 are real, >= 0."""
    rank = data.draw(st.integers(1, dim - 1))
    s1, s2 = random_psd(seed, dim, rank), random_psd(seed + 1, dim, rank)
    eig = np.linalg.eigvals(s1 @ s2)
    expected = np.sqrt(np.clip(eig.real, 0, None)).sum()
    assert trace_sqrt_product(s1, s2) == pytest.approx(expected, rel=1e-6, abs=1e-6)


def test_linalg_rejects_bad_matrices() -> None:
    with pytest.raises(YlgError, match="square"):
        sqrtm_psd(np.ones((2, 3)))
    with pytest.raises(YlgError, match="NaN"):
        sqrtm_psd(np.array([[np.nan]]))
    with pytest.raises(YlgError, match="different sizes"):
        trace_sqrt_product(np.eye(2), np.eye(3))


# --- FID -----------------------------------------------------------------------------


def fid_reference(x: np.ndarray, y: np.ndarray) -> float:
    """The usual formula with scipy's general matrix square root (pytorch-fid style)."""
    mu1, mu2 = x.mean(0), y.mean(0)
    s1, s2 = np.atleast_2d(np.cov(x, rowvar=False)), np.atleast_2d(np.cov(y, rowvar=False))
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


@FAST
@given(st.integers(0, 10**6), st.integers(1, 12))
def test_fid_matches_reference(seed: int, dim: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(200, dim))
    y = rng.normal(size=(150, dim)) * rng.uniform(0.5, 2, size=dim) + rng.normal(size=dim)
    assert fid(x, y) == pytest.approx(fid_reference(x, y), rel=1e-7, abs=1e-9)
    assert fid(x, y) == pytest.approx(fid(y, x), rel=1e-9)


@FAST
@given(st.integers(0, 10**6), st.integers(1, 16))
def test_fid_of_a_set_with_itself_is_zero_and_grows_with_a_shift(seed: int, dim: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(100, dim)) @ rng.normal(size=(dim, dim))
    direction = rng.normal(size=dim)
    assert fid(x, x) == pytest.approx(0.0, abs=1e-8 * (1 + np.var(x, axis=0).sum()))
    values = [fid(x, x + c * direction) for c in (0.5, 1.0, 2.0)]
    for c, value in zip((0.5, 1.0, 2.0), values):  # same covariance: FID = |shift|^2
        assert value == pytest.approx(c**2 * direction @ direction, rel=1e-6, abs=1e-6)
    assert values[0] < values[1] < values[2]


def test_fid_closed_form_for_diagonal_gaussians() -> None:
    a = GaussianStats(np.array([0.0, 1.0, 2.0]), np.diag([1.0, 4.0, 9.0]), 10)
    b = GaussianStats(np.array([1.0, 1.0, 0.0]), np.diag([4.0, 4.0, 1.0]), 10)
    expected = (1 + 0 + 4) + (1 - 2) ** 2 + (2 - 2) ** 2 + (3 - 1) ** 2
    assert frechet_distance(a, b) == pytest.approx(expected)


def test_fid_with_fewer_samples_than_dimensions() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(10, 64)), rng.normal(size=(12, 64)) + 0.5
    assert fid(x, x) == pytest.approx(0.0, abs=1e-8)
    assert fid(x, y) == pytest.approx(fid_reference(x, y), rel=1e-5)


def test_fid_rejects_bad_features() -> None:
    with pytest.raises(YlgError, match="2-D"):
        fid(np.zeros(5), np.zeros(5))
    with pytest.raises(YlgError, match="at least 2"):
        fid(np.zeros((1, 3)), np.zeros((4, 3)))
    with pytest.raises(YlgError, match="dimensions differ"):
        fid(np.zeros((4, 3)), np.zeros((4, 2)))
    with pytest.raises(YlgError, match="NaN"):
        fid(np.full((4, 3), np.nan), np.zeros((4, 3)))


# --- KID -----------------------------------------------------------------------------


def mmd2_reference(x: np.ndarray, y: np.ndarray) -> float:
    def k(a: np.ndarray, b: np.ndarray) -> float:
        return (float(a @ b) / len(a) + 1) ** 3

    m = len(x)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j)
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j)
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m))
    return xx / (m * (m - 1)) + yy / (m * (m - 1)) - 2 * xy / (m * m)


@FAST
@given(st.integers(0, 10**6), st.integers(2, 12), st.integers(1, 6))
def test_mmd2_matches_the_double_loop(seed: int, m: int, dim: int) -> None:
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(m, dim)), rng.normal(size=(m, dim)) + 0.3
    assert mmd2_unbiased(x, y) == pytest.approx(mmd2_reference(x, y), rel=1e-9, abs=1e-9)
    assert polynomial_kernel(x, y).shape == (m, m)


def test_kid_with_one_full_subset_is_the_mmd_of_the_whole_sets() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(30, 5)), rng.normal(size=(30, 5)) + 1
    mean, std = kid(x, y, subsets=1, subset_size=1000)
    assert mean == pytest.approx(mmd2_unbiased(x, y)) and std == 0.0


def test_kid_is_near_zero_for_one_distribution_and_grows_with_a_shift() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(400, 16)), rng.normal(size=(400, 16))
    mean, std = kid(x, y, subsets=8, subset_size=200)
    assert abs(mean) < 3 * std + 1e-3
    shifted = [kid(x, y + c, subsets=8, subset_size=200)[0] for c in (0.2, 0.5, 1.0)]
    assert mean < shifted[0] < shifted[1] < shifted[2]


def test_kid_is_reproducible_with_a_seed_and_checks_its_input() -> None:
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(50, 4)), rng.normal(size=(60, 4))
    assert kid(x, y, 5, 20, seed=7) == kid(x, y, 5, 20, seed=7)
    assert kid(x, y, 5, 20, seed=7) != kid(x, y, 5, 20, seed=8)
    with pytest.raises(YlgError, match="dimensions differ"):
        kid(x, y[:, :3])
    with pytest.raises(YlgError, match="subsets"):
        kid(x, y, subsets=0)


# --- Inception Score -----------------------------------------------------------------


def is_reference(logits: np.ndarray, splits: int) -> tuple[float, float]:
    scores = []
    for part in np.array_split(logits, splits):
        probs = [[math.exp(v) / sum(math.exp(u) for u in row) for v in row] for row in part]
        marginal = [sum(p[c] for p in probs) / len(probs) for c in range(part.shape[1])]
        kls = [sum(pc * math.log(pc / mc) for pc, mc in zip(p, marginal) if pc > 0) for p in probs]
        scores.append(math.exp(sum(kls) / len(kls)))
    return float(np.mean(scores)), float(np.std(scores))


@FAST
@given(st.integers(0, 10**6), st.integers(1, 40), st.integers(2, 8), st.integers(1, 4))
def test_inception_score_matches_reference_and_bounds(
    seed: int, n: int, classes: int, splits: int
) -> None:
    splits = min(splits, n)
    logits = np.random.default_rng(seed).normal(scale=3.0, size=(n, classes))
    mean, std = inception_score(logits, splits)
    ref_mean, ref_std = is_reference(logits, splits)
    assert mean == pytest.approx(ref_mean, rel=1e-9) and std == pytest.approx(ref_std, abs=1e-9)
    assert 1.0 - 1e-9 <= mean <= classes + 1e-9
    shifted = inception_score(logits + np.arange(n)[:, None], splits)  # softmax invariance
    assert shifted[0] == pytest.approx(mean, rel=1e-9)


def test_inception_score_extremes() -> None:
    assert inception_score(np.zeros((30, 7)), 3)[0] == pytest.approx(1.0)
    confident = np.eye(5)[np.arange(100) % 5] * 100.0
    assert inception_score(confident, 4)[0] == pytest.approx(5.0)
    one_class = np.eye(5)[np.zeros(100, dtype=int)] * 100.0  # confident, no diversity
    assert inception_score(one_class, 4)[0] == pytest.approx(1.0)


def test_inception_score_checks_splits() -> None:
    with pytest.raises(YlgError, match="splits"):
        inception_score(np.zeros((3, 4)), splits=4)
    with pytest.raises(YlgError, match="splits"):
        inception_score(np.zeros((3, 4)), splits=0)
