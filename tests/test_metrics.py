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


def metric(k: int, silhouette: float, noise: float, stability: float = 0.95) -> KMetrics:
    return KMetrics(k=k, inertia=1000.0 / k, silhouette=silhouette, silhouette_spread=noise / 2, davies_bouldin=1.0,
                    calinski_harabasz=10.0, stability=stability, stability_spread=0.02, silhouette_noise=noise)


SWEEP = (metric(2, 0.20, 0.003), metric(3, 0.243, 0.004), metric(4, 0.240, 0.003), metric(5, 0.19, 0.002))


def test_the_best_silhouette_wins_when_no_fewer_clusters_come_within_noise():
    k, reason = recommend(SWEEP)
    assert k == 3
    assert reason == ("it separates the songs best (silhouette 0.24 ± 0.004), and its clusters come out the same "
                      "when the songs are resampled (agreement 0.95 of 1).")


def test_the_fewest_stable_clusters_within_noise_of_the_best_win():
    k, reason = recommend((metric(2, 0.20, 0.003), metric(3, 0.238, 0.004), metric(4, 0.243, 0.004),
                           metric(5, 0.19, 0.002)))
    assert k == 3
    assert reason == ("it is the fewest clusters that separate the songs as well as the best, k = 4, within noise "
                      "(silhouette 0.238 against 0.243; other songs and refits move that difference by about "
                      "± 0.006), and its clusters come out the same "
                      "when the songs are resampled (agreement 0.95 of 1).")


def test_fewer_clusters_that_change_under_resampling_are_passed_over_and_named():
    k, reason = recommend((metric(2, 0.241, 0.004, stability=0.5), metric(3, 0.240, 0.004, stability=0.62),
                           metric(4, 0.243, 0.004), metric(5, 0.19, 0.002)))
    assert k == 4
    assert reason.endswith("; k = 2 and k = 3 come as close but their clusters change when the songs are resampled "
                           "(agreement 0.50 and 0.62).")


def test_more_noise_lets_fewer_clusters_in():
    quiet = (metric(2, 0.230, 0.002), metric(3, 0.243, 0.002))
    noisy = (metric(2, 0.230, 0.01), metric(3, 0.243, 0.01))
    assert recommend(quiet)[0] == 3 and recommend(noisy)[0] == 2


def test_when_nothing_close_is_stable_the_most_stable_of_them_is_chosen():
    k, reason = recommend((metric(2, 0.15, 0.003, stability=0.9), metric(3, 0.243, 0.004, stability=0.6),
                           metric(4, 0.240, 0.004, stability=0.65), metric(5, 0.242, 0.004, stability=0.65)))
    assert k == 4  # 4 and 5 tie on stability: the fewer clusters
    assert reason == ("no k that separates the songs within noise of the best (k = 3, silhouette 0.24 ± 0.004) "
                      "comes out the same when the songs are resampled (agreement 0.70 or more), so the pick is "
                      "the one that changes least (agreement 0.65 of 1).")


def test_equal_silhouettes_go_to_the_fewer_clusters():
    assert recommend((metric(2, 0.1, 0.0), metric(3, 0.2, 0.0), metric(4, 0.2, 0.0)))[0] == 3


def test_two_silhouettes_equal_to_two_decimals_are_shown_to_three():
    _, reason = recommend((metric(2, 0.2003, 0.003), metric(3, 0.2041, 0.003)))
    assert "(silhouette 0.200 against 0.204; other songs and refits move that difference by about ± 0.004)" in reason


def test_a_silhouette_near_zero_reads_as_zero_not_minus_zero():
    _, reason = recommend((metric(2, -0.001, 0.01), metric(3, -0.2, 0.01)))
    assert "(silhouette 0.00 ± 0.010)" in reason


def test_cluster_scores_of_a_fit_are_both_scores():
    X, _, _ = labelled(np.float32)
    fit = fit_kmeans(X, 3, seed=2)
    expected = (davies_bouldin(X, fit.labels, fit.centroids), calinski_harabasz(X, fit.labels, fit.centroids))
    assert cluster_scores(fit) == pytest.approx(expected, rel=1e-12)
