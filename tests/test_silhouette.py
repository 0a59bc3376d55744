"""Blocked float32 silhouettes against scikit-learn's silhouette_samples / silhouette_score."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import silhouette_samples, silhouette_score

from analysis import silhouette
from analysis.silhouette import exact_silhouette, sampled_silhouettes


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, dict[int, np.ndarray]]:
    rng = np.random.default_rng(11)
    X = np.concatenate([rng.normal(loc, 1.0, size=(400, 5)) for loc in (-3, 0, 4)]).astype(np.float32)
    X[:, 4] *= 20  # one wide column: large norms are where float32 distance expansions lose precision
    labels = {k: rng.integers(0, k, size=len(X)) for k in (2, 3, 5)}
    labels[3] = np.repeat(np.arange(3), 400)  # the true blobs: silhouettes far from 0
    return X, labels


def test_sampled_silhouettes_match_scikit_learn_for_every_k(data):
    X, labels = data
    rows = np.sort(np.random.default_rng(0).choice(len(X), 500, replace=False))
    values = sampled_silhouettes(X, labels, rows)
    assert sorted(values) == [2, 3, 5]
    for k, labelling in labels.items():
        expected = silhouette_samples(X[rows].astype(np.float64), labelling[rows])
        np.testing.assert_allclose(values[k], expected, atol=1e-4)


def test_clusters_missing_from_the_sample_and_singletons_are_handled(data):
    X, _ = data
    rows = np.arange(0, 1200, 7)
    labelling = np.zeros(len(X), dtype=np.int16)
    labelling[rows[:60]] = 4  # label 4 with no 1, 2, 3 in between: codes are not 0..k-1
    labelling[rows[60]] = 9  # a cluster of one row in the sample: silhouette 0
    values = sampled_silhouettes(X, {10: labelling}, rows)[10]
    np.testing.assert_allclose(values, silhouette_samples(X[rows].astype(np.float64), labelling[rows]), atol=1e-4)
    assert values[60] == 0.0


def test_exact_silhouette_matches_scikit_learn_across_blocks(data, monkeypatch):
    X, labels = data
    monkeypatch.setattr(silhouette, "BLOCK_BYTES", 4 * len(X) * 50)  # 50-row blocks: many blocks, uneven last one
    assert exact_silhouette(X, labels[3]) == pytest.approx(silhouette_score(X.astype(np.float64), labels[3]), abs=1e-5)
    assert exact_silhouette(X, labels[5]) == pytest.approx(silhouette_score(X.astype(np.float64), labels[5]), abs=1e-5)


def test_one_cluster_gives_zero_rather_than_nan(data):
    X, _ = data
    values = sampled_silhouettes(X, {2: np.zeros(len(X), dtype=np.int16)}, np.arange(100))[2]
    np.testing.assert_array_equal(values, np.zeros(100))
