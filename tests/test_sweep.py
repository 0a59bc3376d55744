"""run_sweep on small seeded blobs: metrics, reproducibility, progress and cancellation."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import silhouette_samples, silhouette_score

from analysis import sweep as sweep_module
from analysis.result import RunCancelled, RunParams
from analysis.sweep import run_sweep, silhouette_samples as sample_rows

PARAMS = RunParams(k_min=2, k_max=6, seed=5, silhouette_sample=400, silhouette_repeats=3)


@pytest.fixture(scope="module")
def blobs() -> np.ndarray:
    rng = np.random.default_rng(21)
    centres = np.array([[0, 0, 0], [6, 0, 0], [0, 6, 0], [0, 0, 6]], dtype=float)
    return np.concatenate([c + rng.normal(size=(300, 3)) for c in centres]).astype(np.float32)


@pytest.fixture(scope="module")
def sweep(blobs):
    return run_sweep(blobs, PARAMS)


@pytest.fixture(params=["one after another", "side by side"])
def fitting(request, monkeypatch) -> str:
    """The blobs' k fitted one after another (they are fewer rows than ``SIDE_BY_SIDE_ROWS``) or side by side."""
    if request.param == "side by side":
        monkeypatch.setattr(sweep_module, "SIDE_BY_SIDE_ROWS", 0)
    return request.param


def test_four_blobs_are_recommended_with_a_reason(sweep):
    result = sweep.result
    assert [m.k for m in result.metrics] == [2, 3, 4, 5, 6]
    assert result.recommended_k == 4 and result.best_silhouette_k == 4
    assert result.reason.startswith("it separates the songs best (silhouette 0.62")
    assert "come out the same when the songs are resampled (agreement 1.00 of 1)" in result.reason
    assert result.resamples == 4 and result.resample_size == 960  # 80% of the 1,200 rows
    assert result.silhouette_sample_size == 400
    inertias = [m.inertia for m in result.metrics]
    assert inertias == sorted(inertias, reverse=True)


def test_silhouettes_are_the_mean_and_spread_over_seeded_samples(blobs, sweep):
    samples = sample_rows(len(blobs), PARAMS)
    assert len(samples) == 3 and all(len(rows) == 400 for rows in samples)
    np.testing.assert_array_equal(sweep.silhouette_rows, samples[0])
    for metric in sweep.result.metrics:
        labels = sweep.fits[metric.k].labels
        means = [silhouette_score(blobs[rows].astype(np.float64), labels[rows]) for rows in samples]
        assert metric.silhouette == pytest.approx(np.mean(means), abs=1e-4)
        assert metric.silhouette_spread == pytest.approx(np.std(means, ddof=1), abs=1e-4)
        expected = silhouette_samples(blobs[samples[0]].astype(np.float64), labels[samples[0]])
        np.testing.assert_allclose(sweep.silhouette_values[metric.k], expected, atol=1e-4)
        assert metric.exact_silhouette is None


def test_same_input_and_seed_give_identical_results_however_the_ks_are_fitted(blobs, sweep, fitting):
    again = run_sweep(blobs, PARAMS)
    assert again.result == sweep.result
    for k in PARAMS.ks:
        np.testing.assert_array_equal(again.fits[k].labels, sweep.fits[k].labels)


def test_progress_is_called_once_per_k(blobs, fitting):
    calls = []
    run_sweep(blobs, PARAMS, progress=lambda done, total, message: calls.append((done, total, message)))
    assert [(done, total) for done, total, _ in calls] == [(i, 5) for i in range(1, 6)]
    assert sorted(message.split(":")[0] for _, _, message in calls) == sorted(f"k={k}" for k in PARAMS.ks)


def test_cancelling_from_progress_stops_the_sweep(blobs, fitting):
    calls = []

    def cancel_at_second(done, total, message):
        calls.append(done)
        if done == 2:
            raise RunCancelled("stopped by the user")

    with pytest.raises(RunCancelled):
        run_sweep(blobs, PARAMS, progress=cancel_at_second)
    assert calls == [1, 2]


def test_small_data_uses_every_row_once_and_exact_silhouette_on_request(blobs):
    params = RunParams(k_min=3, k_max=4, seed=1, silhouette_sample=2_000, exact_silhouette=True)
    result = run_sweep(blobs, params)
    np.testing.assert_array_equal(result.silhouette_rows, np.arange(len(blobs)))
    for metric in result.result.metrics:
        assert metric.silhouette_spread == 0.0
        # Every row sampled leaves no sampling error, but other songs would still give another silhouette.
        assert metric.silhouette_noise > 0.001
        exact = silhouette_score(blobs.astype(np.float64), result.fits[metric.k].labels)
        assert metric.exact_silhouette == pytest.approx(exact, abs=1e-5)
        assert metric.silhouette == pytest.approx(exact, abs=1e-5)


def test_one_sample_standard_error_matches_the_spread_of_many_samples(blobs):
    """The default single sample's error bar estimates what drawing other samples would show."""
    fits = run_sweep(blobs, RunParams(k_min=2, k_max=3, seed=3, silhouette_sample=150, silhouette_repeats=40))
    one = run_sweep(blobs, RunParams(k_min=2, k_max=3, seed=3, silhouette_sample=150, silhouette_repeats=1))
    for k in (2, 3):
        many_spread = fits.result.at(k).silhouette_spread
        estimated = one.result.at(k).silhouette_spread
        assert 0 < many_spread and 0.5 * many_spread < estimated < 2 * many_spread
