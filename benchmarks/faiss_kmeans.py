"""faiss K-Means in the notebook's place: the same data, scaling and silhouette, ten restarts per k.

``faiss.Kmeans(d, k, nredo=10, seed=SEED)`` with faiss's other defaults (25 iterations, at most 256
training rows per centre), each song then assigned to its nearest centre; the inertia is over every
song. ``python -m benchmarks.faiss_kmeans CSV OUT.npz SEED``.
"""
from __future__ import annotations

import sys
import time

import faiss
import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler

from analysis.result import AUDIO_FEATURES, RunParams
from benchmarks.baseline import SILHOUETTE_SAMPLE
from benchmarks.machine import peak_rss_bytes

RESTARTS = 10


def run(csv_path: str, seed: int) -> dict[str, np.ndarray | float]:
    started = time.perf_counter()
    songs = pd.read_csv(csv_path)
    X = np.ascontiguousarray(StandardScaler().fit_transform(songs[list(AUDIO_FEATURES)]), dtype=np.float32)
    ks = RunParams().ks
    inertias, silhouettes, labels = [], [], []
    for k in ks:
        model = faiss.Kmeans(X.shape[1], k, nredo=RESTARTS, seed=seed, verbose=False)
        model.train(X)
        distances, nearest = model.index.search(X, 1)
        inertias.append(float(distances.sum()))
        labels.append(nearest[:, 0].astype(np.int16))
        silhouettes.append(silhouette_score(X, nearest[:, 0], sample_size=SILHOUETTE_SAMPLE, random_state=seed))
    PCA(n_components=2).fit_transform(X)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "ks": np.array(ks),
        "inertia": np.array(inertias),
        "silhouette": np.array(silhouettes),
        "labels": np.stack(labels),
        "peak_rss_bytes": peak_rss_bytes(),
    }


if __name__ == "__main__":
    csv_path, out_path, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    np.savez(out_path, **run(csv_path, seed))
