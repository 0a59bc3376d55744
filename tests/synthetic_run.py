"""Small, real runs for figure and panel tests.

``synthetic_run`` is fitted with plain scikit-learn on a seeded frame, independent of the sweep, and
profiled by the real ``build_model``, so drawing is tested against known clusters and real models. ``pipeline_run`` is the pipeline's own result
on the bundled demo data with hostile names planted, so the views are also tested on what the
dashboard really stores.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_samples

from analysis.dataset import Dataset, load_csv
from analysis.kmeans import KFit, squared_distances
from analysis.pipeline import run_analysis
from analysis.profile import build_model
from analysis.result import (
    AUDIO_FEATURES,
    DataReport,
    KMetrics,
    PCAResult,
    RunParams,
    RunResult,
    SweepResult,
    TransformRecord,
)

HOSTILE_SONG = "<img src=x onerror=alert(1)>"
HOSTILE_ARTIST = "Tom & <b>Jerry</b>"
ARTISTS = ("Abba", "Björk", "Cher", HOSTILE_ARTIST, "Daft Punk", "Enya")
GENRES = ("pop", "rock", "jazz", "hoerspiel")


def synthetic_frame(rows: int = 300, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    centre = rng.integers(0, 3, rows)
    frame = pd.DataFrame({feature: rng.normal(centre * 2.0, 1.0) for feature in AUDIO_FEATURES})
    frame["name_song"] = [f"song {i}" for i in range(rows)]
    frame.loc[0, "name_song"] = HOSTILE_SONG
    frame["name_artists"] = [ARTISTS[i % len(ARTISTS)] for i in range(rows)]
    frame["id_artists"] = [f"artist{i % len(ARTISTS)}" for i in range(rows)]
    frame["genre_list"] = [(GENRES[i % len(GENRES)],) if i % 5 else () for i in range(rows)]
    frame["genres"] = frame["genre_list"].map(repr)
    frame["release_year"] = rng.integers(1950, 2021, rows).astype(float)
    return frame


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return synthetic_frame()


@pytest.fixture(scope="module")
def run(frame) -> RunResult:
    return synthetic_run(frame)


@pytest.fixture
def store(tmp_path, run, frame):
    """A results store holding the synthetic run and its songs."""
    from dashboard.store import ResultsStore  # the synthetic run itself needs no dashboard

    store = ResultsStore.open(tmp_path / "store")
    store.put_run(run)
    store.put_dataset(synthetic_dataset(frame))
    return store


@pytest.fixture(scope="session")
def pipeline_run(demo_csv) -> tuple[RunResult, Dataset]:
    """The pipeline's run of the demo data at k 2..4, with the first song and artist renamed to markup."""
    dataset = load_csv(hostile_copy(demo_csv), name="demo_hostile.csv")
    return run_analysis(dataset, RunParams(k_min=2, k_max=4)), dataset


def hostile_copy(path: Path) -> bytes:
    rows = list(csv.DictReader(path.open(encoding="utf-8", newline="")))
    rows[0]["name_song"], rows[0]["name_artists"] = HOSTILE_SONG, HOSTILE_ARTIST
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue().encode()


def synthetic_dataset(frame: pd.DataFrame) -> Dataset:
    report = DataReport("synthetic.csv", len(frame), len(frame))
    return Dataset("synthetic.csv", "synthetic-data", frame.astype("str"), frame, report)


def synthetic_run(frame: pd.DataFrame, ks: tuple[int, ...] = (2, 3, 4), seed: int = 7) -> RunResult:
    features = AUDIO_FEATURES
    raw = frame[list(features)].to_numpy(dtype=float)
    mean, scale = raw.mean(axis=0), raw.std(axis=0)
    X = ((raw - mean) / scale).astype(np.float32)
    sample_rows = np.sort(np.random.default_rng(seed).choice(len(frame), size=min(200, len(frame)), replace=False))
    models, metrics = {}, []
    for k in ks:
        fit = KMeans(n_clusters=k, n_init=3, random_state=seed).fit(X)
        labels = fit.labels_.astype(np.int16)
        silhouettes = silhouette_samples(X[sample_rows], labels[sample_rows])
        metrics.append(KMetrics(k, float(fit.inertia_), float(silhouettes.mean()), 0.01,
                                float(davies_bouldin_score(X, labels)), float(calinski_harabasz_score(X, labels)),
                                stability=0.9, stability_spread=0.05, silhouette_noise=0.02))
        centroids = fit.cluster_centers_.astype(np.float64)
        kfit = KFit(k=k, labels=labels, centroids=centroids, inertia=float(fit.inertia_), n_iter=int(fit.n_iter_),
                    squared_distances=squared_distances(X, labels, centroids))
        models[k] = build_model(frame, X, kfit, sample_rows, {k: silhouettes}, features)
    projection = PCA(n_components=2, random_state=seed).fit(X)
    best = max(metrics, key=lambda m: m.silhouette).k
    return RunResult(
        run_id="synthetic-run",
        dataset_id="synthetic-data",
        dataset_name="synthetic.csv",
        params=RunParams(k_min=min(ks), k_max=max(ks)),
        data_report=DataReport("synthetic.csv", len(frame), len(frame)),
        transform=TransformRecord(features, (), {}, tuple(mean), tuple(scale)),
        sweep=SweepResult(tuple(metrics), knee_k=3, best_silhouette_k=best, recommended_k=3,
                          reason="knee at 3", silhouette_sample_size=len(sample_rows), resamples=4,
                          resample_size=int(0.8 * len(frame))),
        models=models,
        pca=PCAResult(
            coords=projection.transform(X).astype(np.float32),
            explained_variance_ratio=tuple(float(r) for r in projection.explained_variance_ratio_),
            loadings=pd.DataFrame(projection.components_.T, index=list(features), columns=["PC1", "PC2"]),
        ),
        timings={},
    )
