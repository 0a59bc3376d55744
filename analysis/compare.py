"""Two clusterings of the same songs compared: how songs move between their clusters.

A clustering here is a label array over the songs of one dataset, in ``Dataset.frame`` order: two k of one
run, or two runs on the same dataset (same fingerprint, so row i is the same song in both). Everything is
read off the contingency table; the adjusted Rand index is computed from it directly (Hubert and Arabie,
1985) so that comparing needs numpy only, not scikit-learn's seconds of import.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class LabelMismatch(ValueError):
    """Two label arrays that cannot be compared; the message says why in one line."""


@dataclass(frozen=True)
class Comparison:
    """Clustering A against clustering B over the same songs.

    ``table[a, b]`` is the number of songs in cluster ``a`` of A and cluster ``b`` of B; ``shares[a, b]``
    is that count over the size of ``a`` (each row sums to 1, or 0 for an empty cluster).
    """

    table: np.ndarray  # (k_a, k_b) int64
    shares: np.ndarray  # (k_a, k_b) float64
    ari: float  # adjusted Rand index: 1 for the same partition, about 0 for unrelated ones

    @property
    def sizes_a(self) -> np.ndarray:
        return self.table.sum(axis=1)

    @property
    def sizes_b(self) -> np.ndarray:
        return self.table.sum(axis=0)

    def destinations(self, cluster_a: int) -> list[tuple[int, int, float]]:
        """Where the songs of A's ``cluster_a`` went in B: ``(cluster_b, songs, share)``, most songs first,
        clusters that received none left out."""
        row = self.table[cluster_a]
        order = np.argsort(-row, kind="stable")
        return [(int(b), int(row[b]), float(self.shares[cluster_a, b])) for b in order if row[b] > 0]


def compare(labels_a: np.ndarray, labels_b: np.ndarray, k_a: int | None = None, k_b: int | None = None) -> Comparison:
    """Compare two clusterings of the same n songs.

    ``labels_a``, ``labels_b``: (n,) non-negative integer labels. ``k_a``, ``k_b``: the number of clusters
    of each (default: the largest label + 1), so that an empty cluster still has its row or column.
    Raises ``LabelMismatch`` when the arrays differ in length, are not 1-D integers, or hold a label
    outside ``0..k-1``.
    """
    a, b = _labels(labels_a, "A"), _labels(labels_b, "B")
    if a.shape != b.shape:
        raise LabelMismatch(f"clustering A labels {a.size:,} songs and B {b.size:,}: "
                            "only clusterings of the same songs can be compared")
    k_a, k_b = _clusters(a, k_a, "A"), _clusters(b, k_b, "B")
    table = np.bincount(a * k_b + b, minlength=k_a * k_b).reshape(k_a, k_b).astype(np.int64)
    sizes = table.sum(axis=1, keepdims=True)
    shares = np.divide(table, sizes, out=np.zeros(table.shape), where=sizes > 0)
    return Comparison(table=table, shares=shares, ari=adjusted_rand_index(table))


def adjusted_rand_index(table: np.ndarray) -> float:
    """The adjusted Rand index of the two partitions a contingency table describes.

    Counts pairs of songs: ``index`` pairs together in both, ``expected`` that number for random
    partitions with the same cluster sizes, ``maximum`` the mean of the pairs together in each.
    Two partitions with every song in one cluster (or each alone) in both agree fully: 1.
    """
    table = np.asarray(table, dtype=np.int64)
    n = int(table.sum())
    index = _pairs(table).sum()
    pairs_a, pairs_b = _pairs(table.sum(axis=1)).sum(), _pairs(table.sum(axis=0)).sum()
    all_pairs = n * (n - 1) // 2
    if all_pairs == 0:
        return 1.0
    expected = pairs_a * pairs_b / all_pairs
    maximum = (pairs_a + pairs_b) / 2
    if maximum == expected:  # both partitions trivial in the same way: nothing to tell them apart
        return 1.0
    return float((index - expected) / (maximum - expected))


def flows(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The (cluster of A, cluster of B) pairs that share songs, row by row, as two arrays: the bands of a
    Sankey of the table, in the order it draws them (a click on its n-th band names the n-th pair)."""
    return np.nonzero(np.asarray(table))


def rows_in(labels_a: np.ndarray, labels_b: np.ndarray, cluster_a: int, cluster_b: int) -> np.ndarray:
    """Positions (in ``Dataset.frame`` order) of the songs in cluster ``cluster_a`` of A and ``cluster_b`` of B."""
    a, b = _labels(labels_a, "A"), _labels(labels_b, "B")
    if a.shape != b.shape:
        raise LabelMismatch(f"clustering A labels {a.size:,} songs and B {b.size:,}")
    return np.flatnonzero((a == cluster_a) & (b == cluster_b))


def _pairs(counts: np.ndarray) -> np.ndarray:
    counts = counts.astype(np.int64)
    return counts * (counts - 1) // 2


def _labels(labels: np.ndarray, which: str) -> np.ndarray:
    array = np.asarray(labels)
    if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
        raise LabelMismatch(f"clustering {which} must be one integer label per song, got shape {array.shape} "
                            f"of {array.dtype}")
    if array.size and array.min() < 0:
        raise LabelMismatch(f"clustering {which} has a negative label ({array.min()})")
    return array.astype(np.int64)


def _clusters(labels: np.ndarray, k: int | None, which: str) -> int:
    highest = int(labels.max()) + 1 if labels.size else 0
    if k is None:
        return highest
    if highest > k:
        raise LabelMismatch(f"clustering {which} has label {highest - 1}, beyond its k={k}")
    return int(k)
