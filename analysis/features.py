"""The feature matrix the model is fitted in: chosen columns, optional log1p and clipping, then standard scaling.

Only the chosen audio features ever enter the matrix: reference columns (ids, names, dates, genres)
and categorical numbers (key, mode, time_signature, explicit) are rejected by ``RunParams.validate``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.result import DataAction, ParameterError, RunParams, TransformRecord


def build_matrix(frame: pd.DataFrame, params: RunParams) -> tuple[np.ndarray, TransformRecord]:
    """Return the scaled matrix ``X`` (float32, C-contiguous, rows x features) and how it was made.

    Only the ``usable_features``: a chosen feature with one value in every row is left out, and the
    record lists the features the matrix holds. Order: log1p on ``params.log_features``, clip at
    ``params.clip_percentiles`` (on ``params.clip_features``, or every feature when that is empty),
    then StandardScaler. The matrix is made by replaying the record (``apply_transform``), the one
    path every view of the model space takes, so a playlist's distances are measured in exactly the
    space the model was fitted in.
    """
    features = usable_features(frame, params)
    values = _raw_values(frame, features)
    log_features = tuple(f for f in features if f in params.log_features)
    _apply_log1p(values, features, log_features)
    clip_bounds = _apply_clip(values, features, params)
    mean, scale = standard_scaling(values)
    record = TransformRecord(
        features=features,
        log_features=log_features,
        clip_bounds=clip_bounds,
        scaler_mean=tuple(float(v) for v in mean),
        scaler_scale=tuple(float(v) for v in scale),
    )
    return apply_transform(frame, record), record


def standard_scaling(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each column's mean and standard deviation, as scikit-learn's ``StandardScaler`` fits them.

    Written out, because importing scikit-learn costs ``amc cluster`` 2 s, more than it spends on the
    analysis of 96k songs. A column that is constant up to rounding is scaled by 1, not by its ~0
    spread: the bound is scikit-learn's own (``_is_constant_feature``).
    """
    mean = values.mean(axis=0)
    variance = values.var(axis=0)
    return mean, np.where(_is_constant(len(values), mean, variance), 1.0, np.sqrt(variance))


def constant_features(frame: pd.DataFrame, features: tuple[str, ...]) -> dict[str, float]:
    """Each of ``features`` that has one value in every row of ``frame`` (up to rounding), with that value."""
    values = _raw_values(frame, tuple(features))
    constant = _is_constant(len(values), values.mean(axis=0), values.var(axis=0))
    return {feature: float(values[0, column]) for column, feature in enumerate(features) if constant[column]}


def usable_features(frame: pd.DataFrame, params: RunParams) -> tuple[str, ...]:
    """The chosen features that tell songs apart. A constant one would only add a column of zeros;
    when every one is constant there is nothing to cluster, and the run is refused."""
    constant = constant_features(frame, params.features)
    if len(constant) == len(params.features):
        values = ", ".join(f"{feature} = {value:g}" for feature, value in constant.items())
        raise ParameterError(f"every chosen feature has one value in every row ({values}); nothing tells the songs apart")
    return tuple(feature for feature in params.features if feature not in constant)


def dropped_feature_actions(frame: pd.DataFrame, params: RunParams, transform: TransformRecord) -> tuple[DataAction, ...]:
    """What the data report says about the chosen features ``build_matrix`` left out of ``transform``."""
    return tuple(
        DataAction(column=feature, problem=f"is the same value ({float(frame[feature].iloc[0]):g})", count=len(frame),
                   first_rows=(), policy="dropped from the features: it cannot tell songs apart")
        for feature in params.features if feature not in transform.features
    )


def _is_constant(n_rows: int, mean: np.ndarray, variance: np.ndarray) -> np.ndarray:
    # scikit-learn's bound (``_is_constant_feature``): a spread within rounding error of the mean is none.
    eps = np.finfo(np.float64).eps
    return variance <= n_rows * eps * variance + (n_rows * mean * eps) ** 2


def apply_transform(frame: pd.DataFrame, transform: TransformRecord) -> np.ndarray:
    """The model's scaled matrix (float32, rows x ``transform.features``) for the raw columns of ``frame``."""
    values = frame.loc[:, list(transform.features)].to_numpy(dtype=np.float64, copy=True)
    for column, name in enumerate(transform.features):
        if name in transform.log_features:
            values[:, column] = np.log1p(values[:, column])
        if name in transform.clip_bounds:
            low, high = transform.clip_bounds[name]
            np.clip(values[:, column], low, high, out=values[:, column])
    values -= np.asarray(transform.scaler_mean)
    values /= np.asarray(transform.scaler_scale)
    return np.ascontiguousarray(values, dtype=np.float32)


def _raw_values(frame: pd.DataFrame, features: tuple[str, ...]) -> np.ndarray:
    missing = [f for f in features if f not in frame.columns]
    if missing:
        raise ParameterError(f"the data has no column(s) {', '.join(missing)}")
    values = frame.loc[:, list(features)].to_numpy(dtype=np.float64, copy=True)
    bad_rows, bad_cols = np.nonzero(~np.isfinite(values))
    if bad_rows.size:
        column = features[bad_cols[0]]
        raise ParameterError(f"feature {column} is missing or not finite in {bad_rows.size} value(s)")
    return values


def _apply_log1p(values: np.ndarray, features: tuple[str, ...], log_features: tuple[str, ...]) -> None:
    for name in log_features:
        column = features.index(name)
        lowest = values[:, column].min()
        if lowest <= -1:
            raise ParameterError(f"log1p needs {name} above -1, but it goes down to {lowest:g}; drop it from the log features")
        values[:, column] = np.log1p(values[:, column])


def _apply_clip(values: np.ndarray, features: tuple[str, ...], params: RunParams) -> dict[str, tuple[float, float]]:
    if params.clip_percentiles is None:
        return {}
    # Clip features the run left out (constant ones) are not in the matrix to clip.
    targets = tuple(name for name in params.clip_features if name in features) if params.clip_features else features
    columns = [features.index(name) for name in targets]
    lows, highs = np.percentile(values[:, columns], params.clip_percentiles, axis=0)
    bounds = {}
    for name, column, low, high in zip(targets, columns, lows, highs):
        np.clip(values[:, column], low, high, out=values[:, column])
        bounds[name] = (float(low), float(high))
    return bounds
