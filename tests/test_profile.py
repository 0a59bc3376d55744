"""Cluster profiles of one fit and the PCA view, checked against plain pandas and scikit-learn."""
from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sklearn.decomposition import PCA

from analysis.features import build_matrix
from analysis.profile import ProfileTables, build_model, pca_2d
from analysis.result import AUDIO_FEATURES, RunParams


def catalogue(rows: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({feature: rng.random(rows) for feature in AUDIO_FEATURES})
    frame["duration_ms"] = rng.lognormal(12, 1.0, rows)
    frame["speechiness"] = np.where(np.arange(rows) % 7 == 0, 0.9, frame["speechiness"] * 0.2)
    artist = rng.integers(0, max(rows // 5, 1), rows)
    frame["id_artists"] = [f"id{a}" for a in artist]
    frame["name_artists"] = [f"Artist {a}" for a in artist]
    frame["genre_list"] = [("hoerspiel",) if i % 7 == 0 else ("pop", "rock")[: 1 + i % 2] for i in range(rows)]
    return frame


def fit_from_labels(X: np.ndarray, labels: np.ndarray, k: int) -> SimpleNamespace:
    """A KFit whose centroids are the cluster means of X (empty clusters at the origin)."""
    centroids = np.zeros((k, X.shape[1]))
    for cluster in np.unique(labels):
        centroids[cluster] = X[labels == cluster].mean(axis=0)
    return SimpleNamespace(k=k, labels=labels.astype(np.int16), centroids=centroids, inertia=0.0, n_iter=1)


@pytest.fixture
def run():
    frame = catalogue(700)
    X, _ = build_matrix(frame, RunParams(log_features=("duration_ms",)))
    labels = np.where(frame["speechiness"] > 0.5, 0, np.where(frame["energy"] > 0.5, 1, 2))
    labels[labels == 2] = np.where(frame["acousticness"][labels == 2] > 0.5, 2, 3)
    labels[labels == 3] = 4  # cluster 3 stays empty
    silhouette_rows = np.arange(0, 700, 7)
    fit = fit_from_labels(X, labels, 5)
    model = build_model(frame, X, fit, silhouette_rows, {5: np.linspace(-1, 1, 100)}, AUDIO_FEATURES)
    return frame, X, labels, model


def test_sizes_labels_and_zscores(run):
    frame, X, labels, model = run
    assert model.k == 5 and model.labels.dtype == np.int16
    assert np.array_equal(model.labels, labels)
    assert list(model.sizes) == [int((labels == c).sum()) for c in range(5)]
    assert model.sizes[3] == 0
    assert np.allclose(model.zscores.loc[1], X[labels == 1].mean(axis=0), atol=1e-5)
    assert model.zscores.loc[0, "speechiness"] > 2


def test_raw_means_and_quantiles_match_pandas(run):
    frame, _, labels, model = run
    grouped = frame[list(AUDIO_FEATURES)].groupby(labels)

    expected_means = grouped.mean()
    assert np.allclose(model.means_raw.loc[expected_means.index], expected_means)
    assert model.means_raw.loc[3].isna().all()
    assert model.means_raw.loc[0, "duration_ms"] > 10_000  # raw milliseconds, not log units
    for column, q in zip(("min", "q1", "median", "q3", "max"), (0, 0.25, 0.5, 0.75, 1)):
        expected = grouped.quantile(q)
        for cluster in expected.index:
            assert np.allclose(model.quantiles.loc[cluster][column], expected.loc[cluster]), (cluster, column)
    assert model.quantiles.loc[3].isna().all().all()


def test_top_features_names_silhouettes_and_breakdown(run):
    frame, _, _, model = run
    top = model.top_features[0]
    assert top[0][0] == "speechiness"
    assert [abs(z) for _, z in top] == sorted((abs(z) for _, z in top), reverse=True)
    assert model.suggested_names[0].name == "Spoken Word"
    assert len({s.name for s in model.suggested_names}) == 5
    assert len(model.silhouette_rows) == len(model.silhouette_values) == 100
    genres_of_cluster_0 = model.breakdown.top_genres[model.breakdown.top_genres["cluster"] == 0]
    assert genres_of_cluster_0.iloc[0]["genre"] == "hoerspiel"


def test_one_row_clusters_and_reused_tables():
    frame = catalogue(60)
    X, _ = build_matrix(frame, RunParams())
    labels = np.zeros(60, dtype=np.int16)
    labels[5] = 1
    tables = ProfileTables.of(frame, AUDIO_FEATURES)
    model = build_model(frame, X, fit_from_labels(X, labels, 2), np.arange(10), {2: np.zeros(10)}, AUDIO_FEATURES, tables)
    single = model.quantiles.loc[1]
    assert np.allclose(single["min"], frame.loc[5, list(AUDIO_FEATURES)].to_numpy(dtype=float))
    assert np.allclose(single["max"], single["min"])


def test_pca_matches_scikit_learn_in_the_model_space(run):
    _, X, _, _ = run
    pca = pca_2d(X, AUDIO_FEATURES)
    reference = PCA(n_components=2).fit(X)

    assert pca.coords.shape == (len(X), 2) and pca.coords.dtype == np.float32
    assert np.allclose(pca.explained_variance_ratio, reference.explained_variance_ratio_, atol=1e-5)
    assert list(pca.loadings.columns) == ["PC1", "PC2"] and list(pca.loadings.index) == list(AUDIO_FEATURES)
    assert np.allclose(np.abs(pca.loadings.to_numpy()), np.abs(reference.components_.T), atol=1e-4)
    for component in ("PC1", "PC2"):
        assert pca.loadings[component].abs().idxmax() == pca.loadings[component].idxmax()
    assert np.allclose(np.abs(pca.coords), np.abs(reference.transform(X)), atol=1e-3)


def test_pca_of_a_single_feature():
    X = np.linspace(-1, 1, 50, dtype=np.float32)[:, None]
    pca = pca_2d(X, ("tempo",))
    assert pca.explained_variance_ratio == (pytest.approx(1.0), 0.0)
    assert np.allclose(pca.coords[:, 1], 0)
    assert np.allclose(np.abs(pca.coords[:, 0]), np.abs(X[:, 0]), atol=1e-6)


def test_profiling_a_whole_sweep_of_a_full_size_run_is_fast():
    frame = catalogue(96_000, seed=2)
    X, _ = build_matrix(frame, RunParams())
    rng = np.random.default_rng(0)
    fits = {}
    for k in range(2, 13):
        labels = rng.integers(0, k, len(frame))
        fits[k] = SimpleNamespace(k=k, labels=labels.astype(np.int16), centroids=rng.normal(0, 1, (k, X.shape[1])))
    silhouettes = {k: np.zeros(1000) for k in fits}
    started = time.perf_counter()
    tables = ProfileTables.of(frame, AUDIO_FEATURES)
    for fit in fits.values():
        build_model(frame, X, fit, np.arange(1000), silhouettes, AUDIO_FEATURES, tables)
    elapsed = time.perf_counter() - started
    # About 0.4 s on a quiet 2-core machine; the margin absorbs other processes.
    assert elapsed < 2.0
