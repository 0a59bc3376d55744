"""Cluster-quality scores, the knee of the inertia curve, and the recommended k with its reason.

Davies–Bouldin and Calinski–Harabasz are computed from the cluster means the fit already has,
in float64, and agree with scikit-learn's ``davies_bouldin_score`` and ``calinski_harabasz_score``.
"""
from __future__ import annotations

import numpy as np

from analysis.kmeans import KFit, squared_distances
from analysis.result import KMetrics


def davies_bouldin(X: np.ndarray, labels: np.ndarray, centroids: np.ndarray) -> float:
    """Davies–Bouldin index (lower is better); ``centroids`` (k, d) are the cluster means, empty clusters ignored."""
    return _davies_bouldin(squared_distances(X, labels, centroids), labels, centroids)


def calinski_harabasz(X: np.ndarray, labels: np.ndarray, centroids: np.ndarray) -> float:
    """Calinski–Harabasz score (higher is better); ``centroids`` (k, d) are the cluster means, empty clusters ignored."""
    return _calinski_harabasz(squared_distances(X, labels, centroids), labels, centroids)


def cluster_scores(fit: KFit) -> tuple[float, float]:
    """(Davies–Bouldin, Calinski–Harabasz) of a fit, from the distances to the centroids it already has."""
    return (
        _davies_bouldin(fit.squared_distances, fit.labels, fit.centroids),
        _calinski_harabasz(fit.squared_distances, fit.labels, fit.centroids),
    )


def _davies_bouldin(squared: np.ndarray, labels: np.ndarray, centroids: np.ndarray) -> float:
    present, sizes = _present_clusters(labels, len(centroids))
    scatter = np.bincount(labels, weights=np.sqrt(squared), minlength=len(centroids))
    scatter = scatter[present] / sizes[present]
    centres = centroids[present]
    separation = np.sqrt(((centres[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2))
    if np.allclose(scatter, 0) or np.allclose(separation, 0):
        return 0.0
    separation[separation == 0] = np.inf
    ratios = (scatter[:, None] + scatter[None, :]) / separation
    return float(ratios.max(axis=1).mean())


def _calinski_harabasz(squared: np.ndarray, labels: np.ndarray, centroids: np.ndarray) -> float:
    present, sizes = _present_clusters(labels, len(centroids))
    n_clusters = int(present.sum())
    overall_mean = (sizes[present, None] * centroids[present]).sum(axis=0) / len(labels)
    between = float((sizes[present] * ((centroids[present] - overall_mean) ** 2).sum(axis=1)).sum())
    within = float(squared.sum())
    if within == 0:
        return 1.0
    return between * (len(labels) - n_clusters) / (within * (n_clusters - 1))


def find_knee(ks: tuple[int, ...] | list[int], inertias: tuple[float, ...] | list[float]) -> int | None:
    """The k where the decreasing, convex inertia curve bends most (Kneedle), or None when there is no knee.

    Both axes are scaled to [0, 1]; the knee is the point farthest above the straight line from
    the first to the last point, and it counts only if it stands above that line by at least one
    step of the scaled k axis (Kneedle's threshold with sensitivity 1). A curve of fewer than
    three points, a curve that does not fall, and a straight line have no knee.
    """
    ks = np.asarray(ks, dtype=np.float64)
    inertias = np.asarray(inertias, dtype=np.float64)
    if len(ks) < 3 or inertias[0] <= inertias[-1]:
        return None
    x = (ks - ks[0]) / (ks[-1] - ks[0])
    fallen = (inertias[0] - inertias) / (inertias[0] - inertias[-1])
    lift = fallen - x
    best = int(np.argmax(lift))
    if lift[best] < 1 / (len(ks) - 1):
        return None
    return int(ks[best])


def recommend(metrics: tuple[KMetrics, ...], knee: int | None) -> tuple[int, str]:
    """The k to use and one plain sentence saying why, written to follow "k = 7: ".

    Rule: the best mean sampled silhouette wins, unless the knee's silhouette is within the
    combined spread (the two standard errors of the sampled means) of the best one's: then the knee wins,
    since the two are indistinguishable by silhouette and the knee is where more clusters stop paying.
    """
    best = max(metrics, key=lambda m: m.silhouette)
    if knee is None:
        return best.k, (f"the inertia curve has no clear elbow, so the pick is k = {best.k}, "
                        f"which separates the songs best (silhouette {_silhouette(best.silhouette)}).")
    at_knee = next(m for m in metrics if m.k == knee)
    if knee == best.k:
        return knee, (f"the elbow of the inertia curve is at k = {knee}, which also separates the songs best "
                      f"(silhouette {_silhouette(best.silhouette)}).")
    gap = best.silhouette - at_knee.silhouette
    spread = best.silhouette_spread + at_knee.silhouette_spread
    at_knee_text, best_text = _silhouettes(at_knee.silhouette, best.silhouette)
    if gap <= spread:
        return knee, (f"the elbow of the inertia curve is at k = {knee}, and it separates the songs as well as "
                      f"k = {best.k} within sampling noise (silhouette {at_knee_text} against {best_text}).")
    return best.k, (f"the elbow of the inertia curve is at k = {knee}, but k = {best.k} separates the songs "
                    f"better, by more than sampling noise (silhouette {best_text} against {at_knee_text}).")


def _silhouette(value: float, decimals: int = 2) -> str:
    return f"{round(value, decimals) + 0.0:.{decimals}f}"  # + 0.0 turns a rounded -0.0 into 0.0


def _silhouettes(first: float, second: float) -> tuple[str, str]:
    """Two silhouettes to two decimals, or three when two would show them equal."""
    texts = (_silhouette(first), _silhouette(second))
    return texts if texts[0] != texts[1] else (_silhouette(first, 3), _silhouette(second, 3))


def _present_clusters(labels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    sizes = np.bincount(labels, minlength=k)
    return sizes > 0, sizes
