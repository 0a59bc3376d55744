"""K-Means with the quality of scikit-learn's best-of-ten starts at a fraction of its cost.

Ten full k-means++ starts on every row are mostly wasted work: the start only has to land in a
good basin, and a basin can be found on a few thousand rows. So a few cheap starts run on a
weighted subsample, the best one is improved there by local search (swap one centre, rerun
Lloyd, keep it if better), then refined with Lloyd on every row and scored in float64 on every
row. The subsample is the rows farthest from the mean (kept whole, weight 1)
plus a uniform draw of the rest (each standing for its share of the rest): with heavy-tailed
features the best solutions give a few hundred extreme songs clusters of their own, and a purely
uniform draw of a few thousand rows holds too few of them to find those basins.

Past ``FIT_SAMPLE_ROWS`` rows Lloyd itself runs on a uniform subsample and every row is then
assigned to its nearest centroid: the inertia stays within seed noise.

Every fit runs single-threaded: on a shared 2-core server two-thread OpenMP inside small fits
stalls whenever another process holds a core, and a sweep gets its parallelism by fitting
several k side by side instead. Lloyd is scikit-learn's iteration around a step of our own in C
(``analysis/_lloyd.c``, 0.99 ms per iteration at 96k rows and k=8 against scikit-learn's 1.4 ms),
without ``KMeans.fit``'s input checks: a k takes about twenty short Lloyd runs on the start
sample, and those checks are a millisecond of Python each, held under the GIL, which kept two
fits from running side by side.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis import _lloyd
from analysis.parallel import single_threaded_kernels

START_SAMPLE_ROWS = 4_000
TAIL_ROWS = 500
STARTS = 5
SWAP_TRIES = 5
SWAP_CANDIDATES = 16
SWAP_REMOVALS = 2
SWAP_MIN_GAIN = 1e-4  # relative: smaller gains are Lloyd's own noise on the sample
# Lloyd stops when the centres move less than this (scaled by the data's variance): ten times
# scikit-learn's default, since the last creeping iterations change the inertia by far less than 0.1%.
TOLERANCE = 1e-3
MAX_ITERATIONS = 300  # scikit-learn's default; a fit from a good start stops long before
FIT_SAMPLE_ROWS = 200_000
CHUNK_ROWS = 65_536


@dataclass(frozen=True, eq=False)
class KFit:
    """One fitted k: ``labels`` (n,) int16, ``centroids`` (k, d) float64 cluster means, full-data ``inertia``."""

    k: int
    labels: np.ndarray
    centroids: np.ndarray
    inertia: float
    n_iter: int
    squared_distances: np.ndarray  # (n,) float64: each row's to its centroid, which the scores reuse


def fit_kmeans(X: np.ndarray, k: int, seed: int) -> KFit:
    """Fit K-Means with ``k`` clusters to ``X`` (n, d); the same ``X``, ``k`` and ``seed`` give the same labels."""
    return KMeansData.of(X).fit(k, seed)


@dataclass(frozen=True, eq=False)
class KMeansData:
    """What the fits of every k on one ``X`` share, prepared once: a sweep makes it once, not once per k."""

    X: np.ndarray  # (n, d) float32
    every_row: WeightedRows  # X with unit weights: Lloyd's rows, or the rows labelled after a subsample's fit
    tail: np.ndarray  # positions of the TAIL_ROWS rows farthest from the mean; empty when X is a sample already
    rest: np.ndarray  # positions of the other rows

    @classmethod
    def of(cls, X: np.ndarray) -> "KMeansData":
        X = np.ascontiguousarray(X, dtype=np.float32)
        every_row = WeightedRows.of(X, np.ones(len(X)))
        if len(X) <= START_SAMPLE_ROWS + TAIL_ROWS:
            return cls(X=X, every_row=every_row, tail=np.arange(0), rest=np.arange(len(X)))
        centred = X - X.mean(axis=0)
        spread = np.einsum("ij,ij->i", centred, centred)
        in_tail = np.zeros(len(X), dtype=bool)
        in_tail[np.argpartition(spread, len(X) - TAIL_ROWS)[len(X) - TAIL_ROWS :]] = True
        return cls(X=X, every_row=every_row, tail=np.flatnonzero(in_tail), rest=np.flatnonzero(~in_tail))

    def fit(self, k: int, seed: int, starts: int = STARTS, swap_tries: int = SWAP_TRIES) -> KFit:
        """K-Means with ``k`` clusters; the same data, ``k``, ``seed`` and search effort give the same labels.

        ``starts`` k-means++ starts and ``swap_tries`` swaps search for the basin: fewer are cheaper
        and land in a worse basin more often.
        """
        X = self.X
        rng = np.random.default_rng([seed, k])
        with single_threaded_kernels():
            sample = self._start_sample(rng)
            start = _improve_by_swaps(sample, _best_start(sample, k, rng, starts), rng, swap_tries)
            if len(X) <= FIT_SAMPLE_ROWS:
                model = lloyd(self.every_row, start.centres)
                labels = model.labels
            else:
                fit_rows = uniform_rows(X, FIT_SAMPLE_ROWS, rng)
                model = lloyd(WeightedRows.of(fit_rows, np.ones(len(fit_rows))), start.centres)
                labels = nearest_centres(self.every_row, model.centres)
        centroids = cluster_means(X, labels, k, fallback=model.centres)
        squared = squared_distances(X, labels, centroids)
        return KFit(
            k=k,
            labels=labels.astype(np.int16),
            centroids=centroids,
            inertia=float(squared.sum()),
            n_iter=model.n_iter,
            squared_distances=squared,
        )

    def _start_sample(self, rng: np.random.Generator) -> WeightedRows:
        """The tail rows (weight 1) and a uniform draw of the rest, each weighted to stand for its share of it."""
        if not len(self.tail):
            return self.every_row
        drawn = rng.choice(self.rest, START_SAMPLE_ROWS, replace=False)
        rows = np.sort(np.concatenate([self.tail, drawn]))
        weights = np.where(np.isin(rows, self.tail, assume_unique=True), 1.0, len(self.rest) / START_SAMPLE_ROWS)
        return WeightedRows.of(self.X[rows], weights)


@dataclass(frozen=True, eq=False)
class LloydFit:
    """Lloyd run to convergence: (k, d) ``centres``, each row's nearest centre, the weighted inertia."""

    centres: np.ndarray
    labels: np.ndarray
    inertia: float
    n_iter: int


@dataclass(frozen=True, eq=False)
class WeightedRows:
    """Float32 rows, their weights and Lloyd's stopping threshold for them, computed once per row set."""

    rows: np.ndarray  # (n, d) float32, C order
    weights: np.ndarray  # (n,) float64
    tolerance: float
    squared_norms: np.ndarray  # (n,) float32, for the distances the Lloyd step reports

    @classmethod
    def of(cls, rows: np.ndarray, weights: np.ndarray) -> "WeightedRows":
        rows = np.ascontiguousarray(rows, dtype=np.float32)
        return cls(
            rows=rows,
            weights=np.asarray(weights, dtype=np.float64),
            # scikit-learn's convention: the tolerance is relative to the rows' mean variance.
            tolerance=TOLERANCE * float(np.mean(np.var(rows, axis=0))),
            squared_norms=np.einsum("ij,ij->i", rows, rows),
        )


def lloyd(rows: WeightedRows, centres: np.ndarray, max_iter: int = MAX_ITERATIONS) -> LloydFit:
    """Weighted Lloyd from ``centres`` until no label changes or the centres move less than ``rows.tolerance``.

    scikit-learn's iteration (``KMeans(init=centres, n_init=1, tol=TOLERANCE)``: the same stopping
    rules, empty clusters moved to the worst-served rows) with the step in C (``analysis/_lloyd.c``),
    one thread.
    """
    x, weights = rows.rows, rows.weights.astype(np.float32)
    centres = np.array(centres, dtype=np.float32)
    labels, previous = np.empty(len(x), dtype=np.int32), np.full(len(x), -1, dtype=np.int32)
    distances = np.empty(len(x), dtype=np.float32)
    sums, masses = np.empty((len(centres), x.shape[1])), np.empty(len(centres))
    for iteration in range(1, max_iter + 1):
        _lloyd.step(x, rows.squared_norms, weights, centres, labels, distances, sums, masses)
        moved = _means(sums, masses, centres, rows, distances, labels)
        shift = float(np.square(moved - centres).sum())
        centres = moved
        if (labels == previous).all():
            break  # the labels stood still, so the centres are their means already
        if shift <= rows.tolerance:
            # The labels are one step behind the centres: bring them level.
            _lloyd.step(x, rows.squared_norms, weights, centres, labels, distances, sums, masses)
            break
        previous[:] = labels
    return LloydFit(centres=centres, labels=labels, inertia=float(weights @ distances.astype(np.float64)), n_iter=iteration)


def _means(sums: np.ndarray, masses: np.ndarray, centres: np.ndarray, rows: WeightedRows, distances: np.ndarray,
           labels: np.ndarray) -> np.ndarray:
    """(k, d) float32 cluster means; a cluster left empty takes the row farthest from its centre, as scikit-learn does."""
    empty = np.flatnonzero(masses == 0)
    if len(empty):
        farthest = np.argsort(distances, kind="stable")[::-1][: len(empty)]
        for cluster, row in zip(empty, farthest):
            weight = rows.weights[row]
            sums[labels[row]] -= weight * rows.rows[row]
            masses[labels[row]] -= weight
            sums[cluster], masses[cluster] = weight * rows.rows[row], weight
    if masses.all():  # every cluster holds weight: the usual case, and a few short numpy calls fewer
        return (sums / masses[:, None]).astype(np.float32)
    means = np.array(centres, dtype=np.float64)
    np.divide(sums, masses[:, None], out=means, where=masses[:, None] > 0)
    return means.astype(np.float32)


def nearest_centres(rows: WeightedRows, centres: np.ndarray) -> np.ndarray:
    """(n,) int32 index of each row's nearest centre: one pass of the compiled Lloyd step, its sums unused."""
    labels, distances = np.empty(len(rows.rows), dtype=np.int32), np.empty(len(rows.rows), dtype=np.float32)
    sums, masses = np.empty((len(centres), rows.rows.shape[1])), np.empty(len(centres))
    _lloyd.step(rows.rows, rows.squared_norms, rows.weights.astype(np.float32), np.array(centres, dtype=np.float32),
                labels, distances, sums, masses)
    return labels


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


def _best_start(sample: WeightedRows, k: int, rng: np.random.Generator, starts: int) -> LloydFit:
    """The best of ``starts`` weighted k-means++ starts, each run to convergence on ``sample``."""
    models = [lloyd(sample, _greedy_plusplus(sample.rows, sample.weights, k, rng)) for _ in range(starts)]
    return min(models, key=lambda model: model.inertia)


def _improve_by_swaps(sample_rows: WeightedRows, model: LloydFit, rng: np.random.Generator, tries: int) -> LloydFit:
    """Local search: move one centre to where a new centre pays most, rerun Lloyd, keep it if better.

    k-means++ starts often miss the basin where a few hundred extreme rows get a cluster of their
    own while a big cluster stays whole; one swap followed by Lloyd reaches it. Each try draws
    ``SWAP_CANDIDATES`` rows by D² weight, takes the one whose addition lowers the cost most, and
    puts it in place of each of the ``SWAP_REMOVALS`` centres whose removal costs least (the
    estimate before Lloyd ranks them only roughly).
    """
    sample, weights = sample_rows.rows, sample_rows.weights
    squared_norms = np.einsum("ij,ij->i", sample, sample)
    for _ in range(tries):
        centres = model.centres
        nearest, second, label = _two_nearest(sample, squared_norms, centres)
        cumulative = np.cumsum(weights * nearest)
        picks = np.minimum(np.searchsorted(cumulative, rng.uniform(size=SWAP_CANDIDATES) * cumulative[-1]), len(sample) - 1)
        to_picks = np.maximum(squared_norms[picks, None] + squared_norms[None, :] - 2 * (sample[picks] @ sample.T), 0)
        new_centre = int(np.argmax(np.maximum(nearest - to_picks, 0) @ weights))
        to_new = to_picks[new_centre]
        removal_cost = np.bincount(
            label, weights * (np.minimum(to_new, second) - np.minimum(to_new, nearest)), minlength=len(centres)
        )
        trials = []
        for removed in np.argsort(removal_cost)[:SWAP_REMOVALS]:
            swapped = centres.copy()
            swapped[removed] = sample[picks[new_centre]]
            trials.append(lloyd(sample_rows, swapped))
        best = min(trials, key=lambda trial: trial.inertia)
        if best.inertia < model.inertia * (1 - SWAP_MIN_GAIN):
            model = best
    return model


def _two_nearest(sample: np.ndarray, squared_norms: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Squared distance of each row to its nearest and second-nearest centre, and the nearest centre's index."""
    distances = np.maximum(squared_norms[:, None] - 2 * (sample @ centres.T) + np.einsum("ij,ij->i", centres, centres), 0)
    two = np.argpartition(distances, 1, axis=1)[:, :2]
    pair = np.take_along_axis(distances, two, axis=1)
    order = np.argsort(pair, axis=1)
    pair = np.take_along_axis(pair, order, axis=1)
    return pair[:, 0], pair[:, 1], np.take_along_axis(two, order, axis=1)[:, 0]


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
