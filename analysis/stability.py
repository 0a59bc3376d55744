"""How reproducible each k's clustering is when the songs are resampled, and how far its silhouette moves.

Method: resampling stability with transfer by the nearest centroid (Ben-Hur, Elisseeff & Guyon 2002,
"A stability based method for discovering structure in clustered data"; Lange, Roth, Braun &
Buhmann 2004, "Stability-based validation of clustering solutions"; von Luxburg 2010, "Clustering
stability: an overview"). For every k, ``RESAMPLES`` seeded uniform subsamples of
``RESAMPLE_FRACTION`` of the rows (Ben-Hur et al.'s 80%; at most ``RESAMPLE_ROWS`` rows) are each
clustered by the sweep's K-Means (with a shorter search for the starting centres); the rows of the
silhouette sample (every row up to 10,000, a seeded uniform sample beyond) are then each given the
cluster of their nearest centroid of that fit, and those labels are compared with the full-data fit's
by the adjusted Rand index (Hubert & Arabie 1985: 1 is the same partition, 0 what chance gives). The
stability of a k is the mean of those indices, its spread their standard deviation.

Each resample's labels are also scored by silhouette on one seeded set of at most ``QUALITY_ROWS``
of those rows: how far those silhouettes scatter is the part of the silhouette's
uncertainty that comes from refitting on other songs (``analysis.sweep`` adds the part from which
songs were drawn). A k is called stable from a mean index of ``STABLE_AGREEMENT``: a little below
the 0.75 from which Hennig (2007, "Cluster-wise assessment of cluster stability") calls clusters
stable on the same 0–1 agreement scale, because four resamples estimate the mean roughly and on the
real sample's 80% subsamples k = 3 sits between 0.67 and 0.89, where 0.75 let it flip in and out.

The resample fits are small (at most ``RESAMPLE_ROWS`` rows, and a shorter start search than the
sweep's, since on so few rows the search is the cost) and cost a fraction of the full fits. A shorter
search lands in a worse basin a little more often, which can only lower the agreement: the stability
is, if anything, understated.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.compare import compare
from analysis.kmeans import KMeansData, WeightedRows, nearest_centres
from analysis.result import RunParams
from analysis.silhouette import sampled_silhouettes

RESAMPLES = 4
RESAMPLE_FRACTION = 0.8
RESAMPLE_ROWS = 1_000
QUALITY_ROWS = 1_000
RESAMPLE_STARTS = 2
RESAMPLE_SWAP_TRIES = 1
STABLE_AGREEMENT = 0.7
_STREAM = 14  # keeps the resample draws apart from the sweep's other seeded draws of the same seed


@dataclass(frozen=True)
class Stability:
    """One k under resampling: the mean and standard deviation of the adjusted Rand indices against the
    full-data fit, and the standard deviation of the resample fits' silhouettes."""

    agreement: float
    agreement_spread: float
    silhouette_spread: float


@dataclass(frozen=True, eq=False)
class Resampling:
    """The subsamples every k is fitted on, and the rows the fits are compared on: the silhouette sample's."""

    subsamples: tuple[KMeansData, ...]
    compared_rows: np.ndarray  # (m,) positions in X of the rows every fit labels
    compared: WeightedRows  # those rows
    scored: np.ndarray  # positions among the compared rows where each fit's silhouette is measured
    seed: int

    @classmethod
    def of(cls, X: np.ndarray, compared_rows: np.ndarray, params: RunParams) -> "Resampling":
        """``RESAMPLES`` seeded uniform subsamples of ``X`` (n, d), each of ``RESAMPLE_FRACTION`` of its rows, at
        most ``RESAMPLE_ROWS`` and never fewer than the sweep's largest k needs; fits compared on ``compared_rows``."""
        size = min(max(min(int(RESAMPLE_FRACTION * len(X)), RESAMPLE_ROWS), params.k_max + 1), len(X))
        rng = np.random.default_rng([params.seed, len(X), _STREAM])
        subsamples = tuple(KMeansData.of(X[np.sort(rng.choice(len(X), size, replace=False))])
                           for _ in range(RESAMPLES))
        compared = WeightedRows.of(X[compared_rows], np.ones(len(compared_rows)))
        scored = np.arange(len(compared_rows))
        if len(scored) > QUALITY_ROWS:
            scored = np.sort(rng.choice(scored, QUALITY_ROWS, replace=False))
        return cls(subsamples=subsamples, compared_rows=compared_rows, compared=compared, scored=scored,
                   seed=params.seed)

    @property
    def subsample_size(self) -> int:
        return len(self.subsamples[0].X)

    def labels(self, number: int, k: int) -> np.ndarray:
        """(m,) int32: each compared row in the nearest cluster of a ``k``-means fit of subsample ``number``.

        The fit searches with fewer starts than the sweep's (``RESAMPLE_STARTS``, ``RESAMPLE_SWAP_TRIES``):
        on a few hundred to a thousand rows the search, not the rows, is the cost.
        """
        fit = self.subsamples[number].fit(k, self.seed + 1 + number, RESAMPLE_STARTS, RESAMPLE_SWAP_TRIES)
        return nearest_centres(self.compared, fit.centroids)

    def stability(self, full_labels: dict[int, np.ndarray], resampled: dict[int, list[np.ndarray]]) -> dict[int, Stability]:
        """For each k, how the resample fits' labels (``resampled[k]``, each (m,) on the compared rows) agree with
        the full fit's ``full_labels[k]`` (n,), and how their silhouettes scatter (one pass over the scored rows)."""
        keys = [(k, number) for k in sorted(resampled) for number in range(len(resampled[k]))]
        silhouettes = sampled_silhouettes(self.compared.rows, {i: resampled[k][number] for i, (k, number) in enumerate(keys)},
                                          self.scored)
        means: dict[int, list[float]] = {k: [] for k in resampled}
        for i, (k, _) in enumerate(keys):
            means[k].append(float(silhouettes[i].mean()))
        result = {}
        for k, labellings in resampled.items():
            indices = [adjusted_rand_index(full_labels[k][self.compared_rows], labels) for labels in labellings]
            result[k] = Stability(agreement=float(np.mean(indices)), agreement_spread=_spread(indices),
                                  silhouette_spread=_spread(means[k]))
        return result


def adjusted_rand_index(first: np.ndarray, second: np.ndarray) -> float:
    """Adjusted Rand index of two labellings (n,) of the same rows by cluster numbers 0, 1, ..., as scikit-learn's
    ``adjusted_rand_score``: the comparison panel's own (``analysis.compare``)."""
    return compare(first.astype(np.int64), second.astype(np.int64)).ari


def _spread(values: list[float]) -> float:
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
