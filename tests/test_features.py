"""The feature matrix: only chosen features, log1p, clipping and scaling in that order, all recorded."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.features import build_matrix, constant_features, dropped_feature_actions
from analysis.result import AUDIO_FEATURES, ParameterError, RunParams


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = 400
    frame = pd.DataFrame({feature: rng.random(rows) for feature in AUDIO_FEATURES})
    frame["loudness"] = -60 * rng.random(rows)
    frame["duration_ms"] = rng.lognormal(12, 1.0, rows)
    frame["followers"] = rng.lognormal(8, 3.0, rows)
    frame["key"] = rng.integers(0, 12, rows).astype(float)
    frame["mode"] = rng.integers(0, 2, rows).astype(float)
    frame["time_signature"] = 4.0
    frame["name_song"] = [f"song {i}" for i in range(rows)]
    return frame


def test_default_matrix_is_standardised_float32_in_feature_order(frame):
    X, record = build_matrix(frame, RunParams())

    assert X.shape == (len(frame), len(AUDIO_FEATURES))
    assert X.dtype == np.float32 and X.flags.c_contiguous
    assert np.allclose(X.mean(axis=0), 0, atol=1e-5)
    assert np.allclose(X.std(axis=0), 1, atol=1e-4)
    assert record.features == AUDIO_FEATURES
    assert record.clip_bounds == {} and record.log_features == ("duration_ms", "followers")  # the one default
    expected = frame[list(AUDIO_FEATURES)].assign(duration_ms=np.log1p(frame["duration_ms"]),
                                                   followers=np.log1p(frame["followers"]))
    assert np.allclose(record.scaler_mean, expected.mean())
    assert np.allclose(record.scaler_scale, expected.std(ddof=0))


def test_only_chosen_features_enter_and_categoricals_are_refused(frame):
    params = RunParams(features=("energy", "tempo"))
    X, record = build_matrix(frame, params)

    expected = (frame[["energy", "tempo"]] - frame[["energy", "tempo"]].mean()) / frame[["energy", "tempo"]].std(ddof=0)
    assert X.shape == (len(frame), 2)
    assert np.allclose(X, expected.to_numpy(), atol=1e-5)
    for categorical in ("key", "mode", "time_signature", "name_song"):
        with pytest.raises(ParameterError, match=categorical):
            RunParams(features=("energy", categorical)).validate()


def test_log1p_comes_before_scaling_and_is_recorded(frame):
    X, record = build_matrix(frame, RunParams(log_features=("duration_ms",)))

    column = AUDIO_FEATURES.index("duration_ms")
    logged = np.log1p(frame["duration_ms"].to_numpy())
    assert record.log_features == ("duration_ms",)
    assert record.scaler_mean[column] == pytest.approx(logged.mean())
    assert np.allclose(X[:, column], (logged - logged.mean()) / logged.std(), atol=1e-5)


def test_clipping_every_feature_at_percentiles(frame):
    X, record = build_matrix(frame, RunParams(clip_percentiles=(5.0, 95.0), log_features=()))

    assert set(record.clip_bounds) == set(AUDIO_FEATURES)
    low, high = record.clip_bounds["followers"]
    followers = frame["followers"].to_numpy()
    assert (low, high) == pytest.approx(tuple(np.percentile(followers, [5, 95])))
    column = AUDIO_FEATURES.index("followers")
    clipped = np.clip(followers, low, high)
    assert np.allclose(X[:, column], (clipped - clipped.mean()) / clipped.std(), atol=1e-5)


def test_clipping_a_subset_after_log_records_bounds_in_log_units(frame):
    params = RunParams(log_features=("followers",), clip_percentiles=(1.0, 99.0), clip_features=("followers",))
    X, record = build_matrix(frame, params)

    logged = np.log1p(frame["followers"].to_numpy())
    assert list(record.clip_bounds) == ["followers"]
    assert record.clip_bounds["followers"] == pytest.approx(tuple(np.percentile(logged, [1, 99])))
    tempo = AUDIO_FEATURES.index("tempo")
    assert X[:, tempo].max() == pytest.approx((frame["tempo"].max() - frame["tempo"].mean()) / frame["tempo"].std(ddof=0), rel=1e-5)


def test_the_input_frame_is_left_untouched(frame):
    before = frame.copy()
    build_matrix(frame, RunParams(log_features=("duration_ms",), clip_percentiles=(1.0, 99.0)))
    pd.testing.assert_frame_equal(frame, before)


def test_log_of_values_at_or_below_minus_one_is_refused(frame):
    with pytest.raises(ParameterError, match="loudness"):
        build_matrix(frame, RunParams(log_features=("loudness",)))


def test_missing_values_in_a_feature_are_refused_by_name(frame):
    frame.loc[7, "valence"] = np.nan
    with pytest.raises(ParameterError, match="valence"):
        build_matrix(frame, RunParams())


def test_a_constant_feature_is_left_out_of_the_matrix_and_the_record(frame):
    frame["tempo"] = 120.0
    frame["followers"] = 5.0  # among the default log1p features
    params = RunParams(clip_percentiles=(1, 99), clip_features=("tempo", "energy"))

    X, record = build_matrix(frame, params)

    used = tuple(f for f in AUDIO_FEATURES if f not in ("tempo", "followers"))
    assert record.features == used and X.shape == (len(frame), len(used))
    assert record.log_features == ("duration_ms",) and list(record.clip_bounds) == ["energy"]
    assert np.isfinite(X).all() and np.allclose(X.std(axis=0), 1, atol=1e-4)
    assert constant_features(frame, params.features) == {"tempo": 120.0, "followers": 5.0}
    assert [(a.column, a.problem, a.count, a.first_rows) for a in dropped_feature_actions(frame, params, record)] == [
        ("tempo", "is the same value (120)", len(frame), ()), ("followers", "is the same value (5)", len(frame), ())]


def test_every_chosen_feature_constant_is_refused_naming_them(frame):
    frame["energy"], frame["tempo"] = 0.5, 120.0
    with pytest.raises(ParameterError, match=r"^every chosen feature has one value in every row \(energy = 0.5, tempo = 120\)"):
        build_matrix(frame, RunParams(features=("energy", "tempo")))


def test_a_constant_clipped_away_is_scaled_to_zeros_instead_of_nan(frame):
    # Not constant in the data, so kept; constant once clipped, so scaled by 1 rather than by ~0.
    frame["liveness"] = np.where(np.arange(len(frame)) < 2, 0.9, 0.1)
    X, record = build_matrix(frame, RunParams(clip_percentiles=(1, 99), clip_features=("liveness",)))
    assert "liveness" in record.features
    assert np.isfinite(X).all() and (X[:, record.features.index("liveness")] == 0).all()
