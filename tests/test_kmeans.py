"""fit_kmeans against scikit-learn's best-of-ten K-Means on small seeded data."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_limits

from analysis import kmeans
from analysis.kmeans import fit_kmeans


def best_of_ten_inertia(X: np.ndarray, k: int) -> float:
    # Single-threaded: two-thread OpenMP stalls badly while other tests hold the cores.
    with threadpool_limits(1):
        return KMeans(k, n_init=10, random_state=0).fit(X.astype(np.float64)).inertia_


def heavy_tailed_blobs(n_rows: int, seed: int) -> np.ndarray:
    """Five blobs of unequal size plus a heavy-tailed column, standardised: the shape of the song data."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 2.5, size=(5, 6))
    members = rng.choice(5, size=n_rows, p=[0.35, 0.25, 0.2, 0.15, 0.05])
    X = centres[members] + rng.normal(size=(n_rows, 6))
    X[:, 5] = rng.lognormal(0, 1.5, size=n_rows)
    return ((X - X.mean(axis=0)) / X.std(axis=0)).astype(np.float32)


@pytest.mark.parametrize("k", [2, 3, 5, 7])
def test_inertia_within_one_percent_of_best_of_ten(k):
    X = heavy_tailed_blobs(6_000, seed=1)
    reference = best_of_ten_inertia(X, k)
    assert fit_kmeans(X, k, seed=0).inertia <= 1.01 * reference


def test_fit_is_consistent_with_its_labels():
    X = heavy_tailed_blobs(6_000, seed=2)
    fit = fit_kmeans(X, 4, seed=3)
    assert fit.k == 4 and fit.labels.dtype == np.int16 and fit.labels.shape == (6_000,)
    X64 = X.astype(np.float64)
    means = np.stack([X64[fit.labels == c].mean(axis=0) for c in range(4)])
    np.testing.assert_allclose(fit.centroids, means, rtol=1e-9, atol=1e-12)
    assert fit.inertia == pytest.approx(((X64 - means[fit.labels]) ** 2).sum(), rel=1e-12)
    assert fit.n_iter >= 1


def test_same_seed_same_labels_and_another_seed_still_good():
    X = heavy_tailed_blobs(6_000, seed=4)
    first, again, other = fit_kmeans(X, 5, seed=7), fit_kmeans(X, 5, seed=7), fit_kmeans(X, 5, seed=8)
    np.testing.assert_array_equal(first.labels, again.labels)
    assert first.inertia == again.inertia
    assert other.inertia == pytest.approx(first.inertia, rel=0.01)


def test_large_data_fits_on_a_subsample_and_assigns_every_row(monkeypatch):
    monkeypatch.setattr(kmeans, "FIT_SAMPLE_ROWS", 2_000)
    X = heavy_tailed_blobs(9_000, seed=5)
    fit = fit_kmeans(X, 4, seed=0)
    nearest = ((X[:, None, :].astype(np.float64) - fit.centroids[None]) ** 2).sum(axis=2).argmin(axis=1)
    assert (fit.labels == nearest).mean() > 0.99
    reference = best_of_ten_inertia(X, 4)
    assert fit.inertia <= 1.01 * reference


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_fewer_distinct_rows_than_clusters_does_not_crash():
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0], [5.0, 5.0]], dtype=np.float32), 20, axis=0)
    fit = fit_kmeans(X, 4, seed=0)
    assert fit.inertia == pytest.approx(0.0, abs=1e-9)
    assert len(np.unique(fit.labels)) == 3
    assert np.isfinite(fit.centroids).all()


def test_lloyd_runs_the_same_iterations_as_scikit_learns_kmeans():
    """``lloyd`` is our compiled step in scikit-learn's iteration: it must agree with the public KMeans."""
    X = heavy_tailed_blobs(3_000, seed=4)
    weights = np.random.default_rng(4).uniform(0.5, 3.0, size=len(X))
    start = X[[0, 100, 200, 300, 400, 500]]
    ours = kmeans.lloyd(kmeans.WeightedRows.of(X, weights), start)
    with threadpool_limits(1):
        public = KMeans(6, init=start, n_init=1, tol=kmeans.TOLERANCE).fit(X, sample_weight=weights)
    np.testing.assert_array_equal(ours.labels, public.labels_)
    np.testing.assert_allclose(ours.centres, public.cluster_centers_, rtol=1e-4, atol=1e-4)
    assert ours.inertia == pytest.approx(public.inertia_, rel=1e-4)
    assert ours.n_iter == public.n_iter_


def test_nearest_centres_matches_brute_force():
    X = heavy_tailed_blobs(2_503, seed=5)
    centres = X[[3, 30, 300, 1_000]].astype(np.float64)
    brute = np.argmin(((X[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2), axis=1)
    np.testing.assert_array_equal(kmeans.nearest_centres(kmeans.WeightedRows.of(X, np.ones(len(X))), centres), brute)


@pytest.mark.parametrize(("n_rows", "d", "k"), [(1_003, 13, 8), (517, 5, 3), (2_001, 13, 13), (7, 2, 2)])
def test_the_compiled_lloyd_step_is_the_brute_force_one(n_rows, d, k):
    """Row blocks of eight and centre groups of eight: sizes that do not divide evenly must still be exact."""
    rng = np.random.default_rng(n_rows)
    X = rng.normal(size=(n_rows, d)).astype(np.float32)
    weights = rng.uniform(0.5, 2.0, size=n_rows)
    rows = kmeans.WeightedRows.of(X, weights)
    centres = X[rng.choice(n_rows, k, replace=False)]
    labels, distances = np.empty(n_rows, dtype=np.int32), np.empty(n_rows, dtype=np.float32)
    sums, masses = np.empty((k, d)), np.empty(k)
    kmeans._lloyd.step(X, rows.squared_norms, weights.astype(np.float32), centres, labels, distances, sums, masses)
    squared = ((X[:, None, :].astype(np.float64) - centres[None, :, :]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(labels, squared.argmin(axis=1))
    np.testing.assert_allclose(distances, squared.min(axis=1), atol=1e-4)
    one_hot = np.zeros((k, n_rows))
    one_hot[labels, np.arange(n_rows)] = weights.astype(np.float32)
    np.testing.assert_allclose(sums, one_hot @ X.astype(np.float64), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(masses, one_hot.sum(axis=1), rtol=1e-6)


def test_lloyd_moves_an_empty_cluster_to_the_worst_served_row_as_scikit_learn_does():
    X = heavy_tailed_blobs(2_000, seed=6)
    start = np.vstack([X[[0, 1, 2]], np.full((1, X.shape[1]), 1e3, dtype=np.float32)])  # no row is near the last
    ours = kmeans.lloyd(kmeans.WeightedRows.of(X, np.ones(len(X))), start)
    with threadpool_limits(1):
        public = KMeans(4, init=start, n_init=1, tol=kmeans.TOLERANCE).fit(X)
    assert np.bincount(ours.labels, minlength=4).min() > 0
    np.testing.assert_array_equal(ours.labels, public.labels_)
    assert ours.inertia == pytest.approx(public.inertia_, rel=1e-4)
