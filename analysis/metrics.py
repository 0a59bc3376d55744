"""Cluster-quality scores, the knee of the inertia curve, and the recommended k with its reason.

Davies–Bouldin and Calinski–Harabasz are computed from the cluster means the fit already has,
in float64, and agree with scikit-learn's ``davies_bouldin_score`` and ``calinski_harabasz_score``.
"""
from __future__ import annotations

import numpy as np

from analysis.kmeans import KFit, squared_distances
from analysis.result import KMetrics
from analysis.stability import STABLE_AGREEMENT


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


def recommend(metrics: tuple[KMetrics, ...]) -> tuple[int, str]:
    """The k to use and one plain sentence saying why, written to follow "k = 7: ".

    Rule: the fewest clusters whose mean silhouette is within noise of the best one's and whose
    clustering is stable under resampling. "Within noise" is a one-standard-error rule on the
    difference: the best silhouette minus this k's is at most the two silhouettes' resampling noise
    (``KMetrics.silhouette_noise``) added in squares. "Stable" is a mean adjusted Rand index of at
    least ``STABLE_AGREEMENT`` between the resample fits and the full fit. When no k within noise is
    stable, the most stable of them. Ties go to the smaller k, so the same metrics give the same k.
    """
    best = max(metrics, key=lambda m: m.silhouette)  # the first, smallest k among equal silhouettes
    close = [m for m in metrics if _within_noise(m, best)]
    stable = [m for m in close if m.stability >= STABLE_AGREEMENT]
    if not stable:
        chosen = max(close, key=lambda m: (m.stability, -m.k))
        return chosen.k, (f"no k that separates the songs within noise of the best (k = {best.k}, silhouette "
                          f"{_silhouette(best.silhouette)} ± {_noise(best)}) comes out the same when the songs are "
                          f"resampled (agreement {_agreement(STABLE_AGREEMENT)} or more), so the pick is the one "
                          f"that changes least (agreement {_agreement(chosen.stability)} of 1).")
    chosen = min(stable, key=lambda m: m.k)
    if chosen is best:
        quality = f"it separates the songs best (silhouette {_silhouette(best.silhouette)} ± {_noise(best)})"
    else:
        chosen_text, best_text = _silhouettes(chosen.silhouette, best.silhouette)
        quality = (f"it is the fewest clusters that separate the songs as well as the best, k = {best.k}, within "
                   f"noise (silhouette {chosen_text} against {best_text}; other songs and refits move that "
                   f"difference by about ± {_tolerance(chosen, best):.3f})")
    text = (f"{quality}, and its clusters come out the same when the songs are resampled "
            f"(agreement {_agreement(chosen.stability)} of 1)")
    fewer = [m for m in close if m.k < chosen.k]
    if fewer:
        text += (f"; {_listed([f'k = {m.k}' for m in fewer])} {'comes' if len(fewer) == 1 else 'come'} as close "
                 f"but {'its' if len(fewer) == 1 else 'their'} clusters change when the songs are resampled "
                 f"(agreement {_listed([_agreement(m.stability) for m in fewer])})")
    return chosen.k, text + "."


def _within_noise(metric: KMetrics, best: KMetrics) -> bool:
    return best.silhouette - metric.silhouette <= _tolerance(metric, best)


def _tolerance(metric: KMetrics, best: KMetrics) -> float:
    """The noise of the difference of two silhouettes: their noises added in squares."""
    return float(np.hypot(best.silhouette_noise, metric.silhouette_noise))


def _noise(metric: KMetrics) -> str:
    return f"{metric.silhouette_noise:.3f}"


def _agreement(value: float) -> str:
    return f"{value:.2f}"


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _silhouette(value: float, decimals: int = 2) -> str:
    return f"{round(value, decimals) + 0.0:.{decimals}f}"  # + 0.0 turns a rounded -0.0 into 0.0


def _silhouettes(first: float, second: float) -> tuple[str, str]:
    """Two silhouettes to two decimals, or three when two would show them equal."""
    texts = (_silhouette(first), _silhouette(second))
    return texts if texts[0] != texts[1] else (_silhouette(first, 3), _silhouette(second, 3))


def _present_clusters(labels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    sizes = np.bincount(labels, minlength=k)
    return sizes > 0, sizes
