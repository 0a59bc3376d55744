"""Davies–Bouldin and Calinski–Harabasz against scikit-learn; the knee and the recommendation rule."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score

from analysis.kmeans import fit_kmeans
from analysis.metrics import calinski_harabasz, cluster_scores, davies_bouldin, find_knee, recommend
from analysis.result import KMetrics


def labelled(dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    X = np.concatenate([rng.normal(loc, scale, size=(300, 4)) for loc, scale in ((0, 1), (5, 2), (-4, 0.5))]).astype(dtype)
    labels = np.repeat(np.arange(3), 300).astype(np.int16)
    labels[::17] = 3  # a fourth, scattered cluster
    centroids = np.stack([X[labels == c].astype(np.float64).mean(axis=0) for c in range(4)])
    return X, labels, centroids


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_scores_match_scikit_learn(dtype):
    X, labels, centroids = labelled(dtype)
    X64 = X.astype(np.float64)
    assert davies_bouldin(X, labels, centroids) == pytest.approx(davies_bouldin_score(X64, labels), rel=1e-6)
    assert calinski_harabasz(X, labels, centroids) == pytest.approx(calinski_harabasz_score(X64, labels), rel=1e-6)


def test_empty_clusters_are_ignored_like_scikit_learn():
    X, labels, centroids = labelled(np.float64)
    with_empty = np.vstack([centroids, [[100.0] * 4]])  # cluster 4 has no rows
    assert davies_bouldin(X, labels, with_empty) == pytest.approx(davies_bouldin_score(X, labels), rel=1e-6)
    assert calinski_harabasz(X, labels, with_empty) == pytest.approx(calinski_harabasz_score(X, labels), rel=1e-6)


def test_knee_of_a_clear_elbow():
    assert find_knee([2, 3, 4, 5, 6, 7, 8], [100, 60, 25, 22, 19, 17, 15]) == 4


def test_knee_of_a_smooth_convex_curve_is_where_it_bends_most():
    ks = list(range(1, 11))
    assert find_knee(ks, [1000 / k for k in ks]) == 3


@pytest.mark.parametrize(
    "ks, inertias",
    [
        ([2, 3, 4, 5, 6], [50, 40, 30, 20, 10]),  # a straight line
        ([2, 3, 4, 5, 6], [50, 39.5, 29.2, 19.3, 10]),  # nearly straight: below the Kneedle threshold
        ([2, 3], [50, 10]),  # too short to bend
        ([2, 3, 4, 5], [10, 20, 30, 40]),  # not decreasing
    ],
)
def test_no_knee(ks, inertias):
    assert find_knee(ks, inertias) is None


def metric(k: int, silhouette: float, spread: float) -> KMetrics:
    return KMetrics(k=k, inertia=1000.0 / k, silhouette=silhouette, silhouette_spread=spread, davies_bouldin=1.0, calinski_harabasz=10.0)


SWEEP = (metric(2, 0.20, 0.003), metric(3, 0.243, 0.004), metric(4, 0.240, 0.003), metric(5, 0.19, 0.002))


def test_knee_within_the_spread_of_the_best_is_chosen():
    k, reason = recommend(SWEEP, knee=4)
    assert k == 4
    assert reason == ("the elbow of the inertia curve is at k = 4, and it separates the songs as well as k = 3 "
                      "within sampling noise (silhouette 0.240 against 0.243).")


def test_best_silhouette_wins_over_a_clearly_worse_knee():
    k, reason = recommend(SWEEP, knee=5)
    assert k == 3
    assert reason == ("the elbow of the inertia curve is at k = 5, but k = 3 separates the songs better, "
                      "by more than sampling noise (silhouette 0.24 against 0.19).")


def test_without_a_knee_the_best_silhouette_is_chosen():
    k, reason = recommend(SWEEP, knee=None)
    assert (k, reason) == (3, "the inertia curve has no clear elbow, so the pick is k = 3, "
                              "which separates the songs best (silhouette 0.24).")


def test_knee_at_the_best_silhouette():
    k, reason = recommend(SWEEP, knee=3)
    assert (k, reason) == (3, "the elbow of the inertia curve is at k = 3, which also separates the songs best "
                              "(silhouette 0.24).")


def test_a_knee_beaten_by_a_hair_without_spread_still_loses_and_its_silhouettes_differ_in_words():
    k, reason = recommend((metric(2, 0.2041, 0.0), metric(3, 0.2003, 0.0), metric(4, 0.15, 0.0)), knee=3)
    assert k == 2 and "(silhouette 0.204 against 0.200)" in reason


def test_a_silhouette_near_zero_reads_as_zero_not_minus_zero():
    _, reason = recommend((metric(2, -0.001, 0.01), metric(3, -0.2, 0.01)), knee=None)
    assert "(silhouette 0.00)" in reason


def test_cluster_scores_of_a_fit_are_both_scores():
    X, _, _ = labelled(np.float32)
    fit = fit_kmeans(X, 3, seed=2)
    expected = (davies_bouldin(X, fit.labels, fit.centroids), calinski_harabasz(X, fit.labels, fit.centroids))
    assert cluster_scores(fit) == pytest.approx(expected, rel=1e-12)
