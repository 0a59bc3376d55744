"""faiss K-Means in the notebook's place: the same data, scaling and silhouette, ten restarts per k.

``benchmarks.baseline``'s pipeline with its KMeans replaced by ``faiss.Kmeans(d, k, nredo=10, seed=SEED)``
with faiss's other defaults (25 iterations, at most 256 training rows per centre), each song then
assigned to its nearest centre; the inertia is over every song. ``python -m benchmarks.faiss_kmeans CSV
OUT.npz SEED``.
"""
from __future__ import annotations

import faiss
import numpy as np

from benchmarks import baseline

RESTARTS = 10


def faiss_best_of_ten(X: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, float]:
    rows = np.ascontiguousarray(X, dtype=np.float32)
    model = faiss.Kmeans(rows.shape[1], k, nredo=RESTARTS, seed=seed, verbose=False)
    model.train(rows)
    distances, nearest = model.index.search(rows, 1)
    return nearest[:, 0], float(distances.sum())


if __name__ == "__main__":
    baseline.main(faiss_best_of_ten)
