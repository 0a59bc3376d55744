"""K-Means with the quality of scikit-learn's best-of-ten starts at a fraction of its cost.

Ten full k-means++ starts on every row are mostly wasted work: the start only has to land in a
good basin, and a basin can be found on a few thousand rows. So many cheap starts run on a
weighted subsample, the best one is refined with Lloyd on every row, and the result is scored
in float64 on every row. The subsample is the rows farthest from the mean (kept whole, weight 1)
plus a uniform draw of the rest (each standing for its share of the rest): with heavy-tailed
features the best solutions give a few hundred extreme songs clusters of their own, and a purely
uniform draw of a few thousand rows holds too few of them to find those basins.

Past ``FIT_SAMPLE_ROWS`` rows Lloyd itself runs on a uniform subsample and every row is then
assigned to its nearest centroid: the inertia stays within seed noise.

Every fit runs single-threaded: on a shared 2-core server two-thread OpenMP inside small fits
stalls whenever another process holds a core, and a sweep gets its parallelism by fitting
several k side by side instead.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.cluster import KMeans
from threadpoolctl import ThreadpoolController

START_SAMPLE_ROWS = 4_000
TAIL_ROWS = 500
STARTS = 20
FIT_SAMPLE_ROWS = 200_000
CHUNK_ROWS = 65_536

# Made once: inspecting the loaded thread pools costs milliseconds, and a sweep limits them 11 times.
_THREADPOOLS = ThreadpoolController()


@dataclass(frozen=True, eq=False)
class KFit:
    """One fitted k: ``labels`` (n,) int16, ``centroids`` (k, d) float64 cluster means, full-data ``inertia``."""

    k: int
    labels: np.ndarray
    centroids: np.ndarray
    inertia: float
    n_iter: int


def fit_kmeans(X: np.ndarray, k: int, seed: int) -> KFit:
    """Fit K-Means with ``k`` clusters to ``X`` (n, d); the same ``X``, ``k`` and ``seed`` give the same labels."""
    X = np.ascontiguousarray(X, dtype=np.float32)
    rng = np.random.default_rng([seed, k])
    with _THREADPOOLS.limit(limits=1):
        sample, weights = _start_sample(X, rng)
        start = _best_start(sample, weights, k, rng)
        fit_rows = uniform_rows(X, FIT_SAMPLE_ROWS, rng)
        model = KMeans(k, init=start, n_init=1).fit(fit_rows)
        labels = model.labels_ if fit_rows is X else model.predict(X)
    centroids = cluster_means(X, labels, k, fallback=model.cluster_centers_)
    return KFit(
        k=k,
        labels=labels.astype(np.int16),
        centroids=centroids,
        inertia=float(squared_distances(X, labels, centroids).sum()),
        n_iter=int(model.n_iter_),
    )


def uniform_rows(X: np.ndarray, rows: int, rng: np.random.Generator) -> np.ndarray:
    """``rows`` distinct rows of ``X`` drawn uniformly, in their original order; ``X`` itself when it is no larger."""
    if len(X) <= rows:
        return X
    return X[np.sort(rng.choice(len(X), rows, replace=False))]


def cluster_means(X: np.ndarray, labels: np.ndarray, k: int, fallback: np.ndarray) -> np.ndarray:
    """(k, d) float64 mean of each cluster's rows; an empty cluster (only with duplicate rows) keeps ``fallback``."""
    sizes = np.bincount(labels, minlength=k)
    sums = np.stack([np.bincount(labels, weights=X[:, j], minlength=k) for j in range(X.shape[1])], axis=1)
    means = np.array(fallback, dtype=np.float64)
    present = sizes > 0
    means[present] = sums[present] / sizes[present, None]
    return means


def squared_distances(X: np.ndarray, labels: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """(n,) float64 squared distance from each row to its cluster's centroid, in bounded memory."""
    squared = np.empty(len(X), dtype=np.float64)
    for lo in range(0, len(X), CHUNK_ROWS):
        diff = X[lo : lo + CHUNK_ROWS].astype(np.float64) - centroids[labels[lo : lo + CHUNK_ROWS]]
        squared[lo : lo + CHUNK_ROWS] = np.einsum("ij,ij->i", diff, diff)
    return squared


def _start_sample(X: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The ``TAIL_ROWS`` rows farthest from the mean (weight 1) and a uniform draw of the rest, weighted to stand for it."""
    if len(X) <= START_SAMPLE_ROWS + TAIL_ROWS:
        return X, np.ones(len(X))
    spread = np.einsum("ij,ij->i", X - X.mean(axis=0), X - X.mean(axis=0))
    tail = np.argpartition(spread, len(X) - TAIL_ROWS)[len(X) - TAIL_ROWS :]
    in_tail = np.zeros(len(X), dtype=bool)
    in_tail[tail] = True
    rest = rng.choice(np.flatnonzero(~in_tail), START_SAMPLE_ROWS, replace=False)
    rows = np.sort(np.concatenate([tail, rest]))
    weights = np.where(in_tail[rows], 1.0, (len(X) - TAIL_ROWS) / START_SAMPLE_ROWS)
    return X[rows], weights


def _best_start(sample: np.ndarray, weights: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Centroids of the best of ``STARTS`` weighted k-means++ starts, each run to convergence on ``sample``."""
    best = None
    for _ in range(min(STARTS, len(sample))):
        model = KMeans(k, init=_greedy_plusplus(sample, weights, k, rng), n_init=1).fit(sample, sample_weight=weights)
        if best is None or model.inertia_ < best.inertia_:
            best = model
    return best.cluster_centers_


def _greedy_plusplus(sample: np.ndarray, weights: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Weighted greedy k-means++ (Arthur & Vassilvitskii; 2 + log k candidates per step, as scikit-learn does).

    Written out because scikit-learn's ``kmeans_plusplus`` spends most of its time on input
    checks and float64 copies, which dominate on a few thousand rows.
    """
    squared_norms = np.einsum("ij,ij->i", sample, sample)
    candidates_per_step = 2 + int(np.log(k))
    centers = np.empty((k, sample.shape[1]), dtype=sample.dtype)
    first = int(np.searchsorted(np.cumsum(weights), rng.uniform() * weights.sum()))
    centers[0] = sample[first]
    closest = np.maximum(squared_norms + squared_norms[first] - 2 * (sample @ sample[first]), 0)
    for c in range(1, k):
        cumulative = np.cumsum(weights * closest)
        picks = np.searchsorted(cumulative, rng.uniform(size=candidates_per_step) * cumulative[-1])
        picks = np.minimum(picks, len(sample) - 1)
        distances = squared_norms[picks, None] + squared_norms[None, :] - 2 * (sample[picks] @ sample.T)
        candidate_closest = np.minimum(closest, np.maximum(distances, 0))
        best = int(np.argmin(candidate_closest @ weights))
        closest = candidate_closest[best]
        centers[c] = sample[picks[best]]
    return centers
