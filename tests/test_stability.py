"""Stability under resampling: the adjusted Rand index, stability per k, and a recommendation that survives resampling."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from synthetic_run import pipeline_run  # noqa: F401 (fixture)

from analysis.assign import centres_of
from analysis.cli import summary_of
from analysis.dataset import load_csv
from analysis.pipeline import run_analysis
from analysis.report import render_report
from analysis.result import RunParams
from analysis.stability import STABLE_AGREEMENT, adjusted_rand_index
from analysis.sweep import run_sweep


@pytest.mark.parametrize("seed", range(5))
def test_adjusted_rand_index_is_scikit_learns(seed):
    rng = np.random.default_rng(seed)
    first = rng.integers(0, 5, size=300).astype(np.int16)
    second = np.where(rng.random(300) < 0.7, first, rng.integers(0, 7, size=300)).astype(np.int32)
    second[second == 2] = 6  # a cluster number no row has
    assert adjusted_rand_index(first, second) == pytest.approx(adjusted_rand_score(first, second), abs=1e-12)


def test_the_same_partition_under_other_numbers_agrees_fully():
    labels = np.repeat(np.arange(4), 25)
    assert adjusted_rand_index(labels, (labels + 1) % 4) == pytest.approx(1.0)
    assert adjusted_rand_index(np.zeros(50, dtype=np.int16), np.zeros(50, dtype=np.int32)) == 1.0


@pytest.fixture(scope="module")
def blobs_sweep():
    rng = np.random.default_rng(8)
    centres = np.array([[0, 0, 0], [7, 0, 0], [0, 7, 0], [0, 0, 7]], dtype=float)
    X = np.concatenate([c + rng.normal(size=(250, 3)) for c in centres]).astype(np.float32)
    return run_sweep(X, RunParams(k_min=2, k_max=7, seed=3))


def test_the_true_number_of_blobs_is_the_stable_one(blobs_sweep):
    result = blobs_sweep.result
    at_four = result.at(4)
    assert at_four.stability > 0.99 and at_four.stability_spread < 0.01
    # Splitting a round blob in two can go any way: refits on other songs disagree.
    assert all(result.at(k).stability < at_four.stability - 0.05 for k in (6, 7))
    assert all(-1 <= m.stability <= 1 and m.stability_spread >= 0 and m.silhouette_noise > 0 for m in result.metrics)
    assert result.recommended_k == 4


def test_summary_and_report_state_the_stability_of_every_k(pipeline_run):
    result, dataset = pipeline_run
    names = {cluster: suggestion.name for cluster, suggestion in enumerate(result.model().suggested_names)}
    summary = summary_of(result, names, centres_of(result, dataset.frame, names))
    for metrics, entry in zip(result.sweep.metrics, summary["metrics"]):
        assert (entry["k"], entry["stability"], entry["stability_spread"]) == (
            metrics.k, metrics.stability, metrics.stability_spread)
    assert summary["stability_resamples"] == 4
    page = render_report(result, dataset, names)
    assert "stability (adjusted Rand index)" in page and "Lange et al. 2004" in page
    for metrics in result.sweep.metrics:
        assert f"{metrics.stability:.2f} ± {metrics.stability_spread:.2f}" in page


def test_the_recommendation_survives_resampling_the_real_songs(sample_csv):
    """`amc cluster`'s analysis with default parameters on five seeded 80% subsamples of the real sample."""
    songs = pd.read_csv(sample_csv, dtype=str, keep_default_na=False)
    picks = []
    for seed in range(5):
        subsample = songs.sample(frac=0.8, random_state=seed)
        dataset = load_csv(subsample.to_csv(index=False).encode(), name=f"sample-80%-seed{seed}.csv")
        sweep = run_analysis(dataset, RunParams()).sweep
        picks.append(sweep.recommended_k)
        stabilities = ", ".join(f"{m.k}: {m.stability:.2f}" for m in sweep.metrics)
        print(f"seed {seed}: k = {sweep.recommended_k}: {sweep.reason}\n    stability by k {stabilities}")
    k, times = Counter(picks).most_common(1)[0]
    print(f"picks {picks}: k = {k} {times} times of 5 (stable from an agreement of {STABLE_AGREEMENT})")
    assert times >= 4, picks
