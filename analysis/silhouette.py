"""Exact silhouettes, computed the fast way.

The silhouette of a row needs, for every cluster, the mean distance from the row to that
cluster's rows. For m rows and several labelings (one per k) all of those sums are one product:
the (m, m) distance matrix times the one-hot matrix of every labeling side by side. The distance
matrix is made a block of rows at a time in float32 through BLAS, only once per pair of rows,
and never held whole; each worker thread makes and multiplies its own blocks with
single-threaded BLAS, so every core works on the elementwise part (square root) as well as on
the products.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from analysis.parallel import single_threaded_kernels, usable_cores

BLOCK_BYTES = 8 * 2**20
MIN_BLOCK_ROWS = 32


def sampled_silhouettes(X: np.ndarray, labels_by_k: dict[int, np.ndarray], sample_rows: np.ndarray) -> dict[int, np.ndarray]:
    """For each k, the silhouette (m,) of every row in ``sample_rows`` against the sample, as scikit-learn's ``silhouette_samples``."""
    ks = sorted(labels_by_k)
    codes = [np.unique(labels_by_k[k][sample_rows], return_inverse=True)[1] for k in ks]
    return dict(zip(ks, _silhouettes(_centred(X[sample_rows]), codes)))


def exact_silhouette(X: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette over every row of ``X`` (O(n²) time, memory bounded by ``BLOCK_BYTES`` per thread)."""
    code = np.unique(labels, return_inverse=True)[1]
    return float(_silhouettes(_centred(X), [code])[0].mean())


def _silhouettes(points: np.ndarray, codes: list[np.ndarray]) -> list[np.ndarray]:
    """The silhouette of every point under each labeling (codes 0..c-1), from one pass over the distances."""
    sums = _distance_sums(points, _one_hot(codes))
    values, column = [], 0
    for code in codes:
        width = int(code.max()) + 1
        values.append(_silhouettes_from_sums(sums[:, column : column + width], code))
        column += width
    return values


def _centred(rows: np.ndarray) -> np.ndarray:
    """Float32 rows minus their float64 mean: small norms keep the float32 expansion of distances precise."""
    rows64 = np.asarray(rows, dtype=np.float64)
    return np.ascontiguousarray(rows64 - rows64.mean(axis=0), dtype=np.float32)


def _one_hot(codes: list[np.ndarray]) -> np.ndarray:
    """(m, ≥ Σ clusters) float32: one column per cluster of every labeling, side by side, then zero columns."""
    widths = [int(code.max()) + 1 for code in codes]
    offsets = np.cumsum([0, *widths[:-1]])
    # Zero columns up to a multiple of 16: BLAS kernels work in 16-wide panels, and a ragged last
    # panel costs more than the padding (77 columns multiply 15% slower than 80 here).
    padded = -(-sum(widths) // 16) * 16
    matrix = np.zeros((len(codes[0]), padded), dtype=np.float32)
    rows = np.arange(len(codes[0]))
    for code, offset in zip(codes, offsets):
        matrix[rows, offset + code] = 1.0
    return matrix


def _distance_sums(points: np.ndarray, one_hot: np.ndarray) -> np.ndarray:
    """(m, columns) float32: for each point, the sum of its Euclidean distances to the points of each column.

    The distance matrix is symmetric, so each block of rows is measured only against itself and
    the rows after it, and the block's distances serve both sides: its own rows' sums and, through
    the transpose, the later rows'. Worker threads take every ``workers``-th block (the blocks
    shrink steadily, so this shares the work evenly) and keep their own sums, added up at the end.
    """
    # |x - y|² = -2x·y + |y|² + |x|² as one product of augmented rows, so BLAS does all but the square root.
    squared_norms = np.einsum("ij,ij->i", points, points)[:, None]
    ones = np.ones_like(squared_norms)
    left = np.hstack([-2 * points, ones, squared_norms])
    right = np.hstack([points, squared_norms, ones])
    block_rows = max(MIN_BLOCK_ROWS, BLOCK_BYTES // (4 * len(points)))
    starts = range(0, len(points), block_rows)
    workers = min(usable_cores(), len(starts))

    def worker_sums(first: int) -> np.ndarray:
        sums = np.zeros((len(points), one_hot.shape[1]), dtype=np.float32)
        for lo in starts[first::workers]:
            hi = min(lo + block_rows, len(points))
            distances = left[lo:hi] @ right[lo:].T
            np.maximum(distances, 0, out=distances)
            np.sqrt(distances, out=distances)
            # The expansion leaves rounding noise on the diagonal; a point is at distance 0 from itself.
            distances[np.arange(hi - lo), np.arange(hi - lo)] = 0
            sums[lo:hi] += distances @ one_hot[lo:]
            sums[hi:] += distances[:, hi - lo :].T @ one_hot[lo:hi]
        return sums

    with single_threaded_kernels("blas"), ThreadPoolExecutor(workers) as pool:
        return sum(pool.map(worker_sums, range(workers)))


def _silhouettes_from_sums(sums: np.ndarray, code: np.ndarray) -> np.ndarray:
    """Silhouettes from per-cluster distance sums; rows alone in their cluster get 0, as in scikit-learn."""
    sizes = np.bincount(code).astype(np.float64)
    rows = np.arange(len(code))
    own_size = sizes[code]
    mean_distance = sums.astype(np.float64) / sizes
    within = sums[rows, code].astype(np.float64) / np.maximum(own_size - 1, 1)
    mean_distance[rows, code] = np.inf
    nearest_other = mean_distance.min(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = (nearest_other - within) / np.maximum(within, nearest_other)
    values[own_size == 1] = 0.0
    return np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
