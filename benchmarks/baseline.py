"""The pipeline most published notebooks run on this dataset, as written, timed in a process of its own.

pandas reads the CSV; StandardScaler on the 13 audio features; ``KMeans(n_init=10)`` for every k;
``silhouette_score(sample_size=10_000)`` for every k; PCA to two dimensions. Random states are fixed
so that runs compare, which changes no cost. ``python -m benchmarks.baseline CSV OUT.npz SEED``.
"""
from __future__ import annotations

import sys
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler

from analysis.result import AUDIO_FEATURES, RunParams
from benchmarks.machine import peak_rss_bytes

SILHOUETTE_SAMPLE = 10_000


def like_the_notebook(seed: int) -> RunParams:
    """Our defaults with the notebook's transform (no log1p), so that the two sides' quality compares."""
    return RunParams(seed=seed, log_features=())


def silhouette_sample_rows(n_rows: int, seed: int) -> np.ndarray:
    """The rows ``silhouette_score(sample_size=10_000, random_state=seed)`` scores (all of them on small data)."""
    return np.random.RandomState(seed).permutation(n_rows)[:SILHOUETTE_SAMPLE]


# (X, k, seed) -> each row's cluster and the inertia: the one step a peer changes in the notebook's pipeline
Fit = Callable[[np.ndarray, int, int], tuple[np.ndarray, float]]


def kmeans_best_of_ten(X: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, float]:
    model = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(X)
    return model.labels_, float(model.inertia_)


def run(csv_path: str, seed: int, fit: Fit = kmeans_best_of_ten) -> dict[str, np.ndarray | float]:
    started = time.perf_counter()
    songs = pd.read_csv(csv_path)
    X = StandardScaler().fit_transform(songs[list(AUDIO_FEATURES)])
    ks = RunParams().ks
    inertias, silhouettes, labels = [], [], []
    for k in ks:
        found, inertia = fit(X, k, seed)
        inertias.append(inertia)
        labels.append(found.astype(np.int16))
        silhouettes.append(silhouette_score(X, found, sample_size=SILHOUETTE_SAMPLE, random_state=seed))
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


def main(fit: Fit = kmeans_best_of_ten) -> None:
    """``python -m benchmarks.<side> CSV OUT.npz SEED``: the pipeline with ``fit``, its figures saved."""
    csv_path, out_path, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    np.savez(out_path, **run(csv_path, seed, fit))


if __name__ == "__main__":
    main()
