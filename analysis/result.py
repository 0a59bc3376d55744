"""The data types every layer agrees on: run parameters, the dataset report and the run result.

A ``RunResult`` is immutable once built and holds everything a view needs for every k of the
sweep, so switching k, filtering or naming never refits anything.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from analysis.limits import K_HIGHEST, K_LOWEST, SEED_HIGHEST

# Bump when a change to the analysis would give different results for the same input and params:
# it is part of every run id, so stale stored runs are never served as current ones.
CODE_VERSION = "4"

AUDIO_FEATURES: tuple[str, ...] = (
    "danceability",
    "energy",
    "loudness",
    "speechiness",
    "acousticness",
    "instrumentalness",
    "liveness",
    "valence",
    "tempo",
    "duration_ms",
    "popularity_songs",
    "followers",
    "popularity_artists",
)
# Numeric columns that are categorical or flags: usable as filters, never as continuous features.
CATEGORICAL_NUMERIC: tuple[str, ...] = ("explicit", "key", "mode", "time_signature")
REQUIRED_COLUMNS: tuple[str, ...] = (
    "id_songs",
    "name_song",
    "popularity_songs",
    "duration_ms",
    "explicit",
    "id_artists",
    "release_date",
    "danceability",
    "energy",
    "key",
    "loudness",
    "mode",
    "speechiness",
    "acousticness",
    "instrumentalness",
    "liveness",
    "valence",
    "tempo",
    "time_signature",
    "followers",
    "genres",
    "name_artists",
    "popularity_artists",
)
HEAVY_TAILED: tuple[str, ...] = ("duration_ms", "followers")


def default_log_features(features: tuple[str, ...]) -> tuple[str, ...]:
    """log1p by default on the heavy-tailed features among ``features``: the one default of every entry
    point (``amc cluster``, the dashboard's form), so a file with untouched defaults is one run everywhere."""
    return tuple(feature for feature in HEAVY_TAILED if feature in features)


class ParameterError(ValueError):
    """Run parameters that cannot be used; the message is one line for the user."""


@dataclass(frozen=True)
class RunParams:
    """What the user chose for one run. Plain values, validated up front (``validate``)."""

    features: tuple[str, ...] = AUDIO_FEATURES
    # None: the one default, log1p on the heavy-tailed features among ``features`` (default_log_features)
    log_features: tuple[str, ...] | None = None
    clip_percentiles: tuple[float, float] | None = None
    clip_features: tuple[str, ...] = ()  # empty with clip_percentiles set: clip every feature
    k_min: int = 2
    k_max: int = 12
    k: int | None = None  # None: the recommended k of the sweep
    seed: int = 42
    silhouette_sample: int = 10_000
    silhouette_repeats: int = 1  # more samples tighten the estimate; one matches the baseline's cost
    exact_silhouette: bool = False

    def __post_init__(self) -> None:
        if self.log_features is None:
            object.__setattr__(self, "log_features", default_log_features(tuple(self.features)))

    def validate(self, n_rows: int | None = None) -> "RunParams":
        unknown = [f for f in self.features if f not in AUDIO_FEATURES]
        if unknown:
            raise ParameterError(f"unknown feature(s) {', '.join(unknown)}; choose from {', '.join(AUDIO_FEATURES)}")
        if not self.features:
            raise ParameterError("choose at least one feature")
        if len(set(self.features)) != len(self.features):
            raise ParameterError("a feature is listed twice")
        for name, subset in (("log_features", self.log_features), ("clip_features", self.clip_features)):
            stray = [f for f in subset if f not in self.features]
            if stray:
                raise ParameterError(f"{name} names {', '.join(stray)}, which are not among the chosen features")
        if self.clip_percentiles is not None:
            lo, hi = self.clip_percentiles
            if not 0 <= lo < hi <= 100:
                raise ParameterError(f"clip percentiles must satisfy 0 <= low < high <= 100, got {lo} and {hi}")
        if not K_LOWEST <= self.k_min <= self.k_max:
            raise ParameterError(f"k range must satisfy {K_LOWEST} <= k_min <= k_max, got {self.k_min}..{self.k_max}")
        if self.k_max > K_HIGHEST:
            raise ParameterError(f"k_max is at most {K_HIGHEST}, got {self.k_max}")
        if not 0 <= self.seed <= SEED_HIGHEST:
            raise ParameterError(f"the seed lies between 0 and {SEED_HIGHEST:,}, got {self.seed}")
        if self.k is not None and not self.k_min <= self.k <= self.k_max:
            raise ParameterError(f"k={self.k} lies outside the sweep {self.k_min}..{self.k_max}")
        if self.silhouette_sample < 100 or self.silhouette_repeats < 1:
            raise ParameterError("silhouette needs a sample of at least 100 rows and at least one repeat")
        if n_rows is not None and n_rows <= self.k_max:
            raise ParameterError(f"the data has {n_rows} usable rows, fewer than k_max + 1 = {self.k_max + 1}")
        return self

    @property
    def ks(self) -> tuple[int, ...]:
        return tuple(range(self.k_min, self.k_max + 1))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "RunParams":
        tuples = {"features", "log_features", "clip_features"}
        clean = {key: (tuple(v) if key in tuples else v) for key, v in values.items()}
        if clean.get("clip_percentiles") is not None:
            clean["clip_percentiles"] = tuple(clean["clip_percentiles"])
        return cls(**clean)


def run_id_for(dataset_fingerprint: str, params: RunParams) -> str:
    """The store key of a run: the same data, parameters and code give the same id."""
    payload = json.dumps(
        {"dataset": dataset_fingerprint, "params": params.to_dict(), "code": CODE_VERSION}, sort_keys=True
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class DataAction:
    """One thing the loader found and what it did about it."""

    column: str
    problem: str  # e.g. "tempo is 0"
    policy: str  # "dropped the row" | "imputed the column median" | "kept, flagged" ...
    count: int
    first_rows: tuple[int, ...]  # 1-based line numbers in the file (header is line 1); none when every row is meant


@dataclass(frozen=True)
class DataReport:
    source: str
    rows_read: int
    rows_kept: int
    actions: tuple[DataAction, ...] = ()

    def lines(self) -> list[str]:
        return [f"{a.column}: {a.problem} in {a.count} row(s){_first_lines(a.first_rows)}: {a.policy}" for a in self.actions]

    def to_dict(self) -> dict:
        """The report as plain JSON values, as summary files carry it."""
        return {"source": self.source, "rows_read": self.rows_read, "rows_kept": self.rows_kept,
                "actions": [vars(action) for action in self.actions]}


def _first_lines(lines: tuple[int, ...]) -> str:
    return f" (first at line {', '.join(map(str, lines))})" if lines else ""


@dataclass(frozen=True)
class TransformRecord:
    """Exactly how the feature matrix was made from raw columns, in order."""

    features: tuple[str, ...]
    log_features: tuple[str, ...]
    clip_bounds: dict[str, tuple[float, float]]  # raw-unit bounds applied (after log1p where both apply)
    scaler_mean: tuple[float, ...]
    scaler_scale: tuple[float, ...]


@dataclass(frozen=True)
class KMetrics:
    k: int
    inertia: float  # sum of squared distances in the scaled space
    silhouette: float  # mean over the sampled silhouettes
    silhouette_spread: float  # standard error of one sample's mean (sweep.sample_standard_error)
    davies_bouldin: float
    calinski_harabasz: float
    stability: float  # mean adjusted Rand index of resample fits against this fit (analysis.stability)
    stability_spread: float  # standard deviation of those indices
    silhouette_noise: float  # silhouette's standard error counting resampled songs and refits (sweep.resampling_noise)
    exact_silhouette: float | None = None  # full-data value, only when asked for


@dataclass(frozen=True)
class SweepResult:
    metrics: tuple[KMetrics, ...]
    knee_k: int | None
    best_silhouette_k: int
    recommended_k: int
    reason: str  # one sentence, written to follow "k = 3: "
    silhouette_sample_size: int
    resamples: int  # subsamples each k was fitted on to measure its stability
    resample_size: int  # rows in each of them

    def at(self, k: int) -> KMetrics:
        return next(m for m in self.metrics if m.k == k)


@dataclass(frozen=True)
class SuggestedName:
    name: str
    reason: str  # "danceability +1.2σ, energy +0.9σ"
    traits: tuple[tuple[str, int], ...] = ()  # (feature, +1 high / -1 low) the name says, leading first


@dataclass(frozen=True)
class Breakdown:
    """Artists and genres per cluster. Frames are small (top-N), safe to send to a view."""

    top_artists: pd.DataFrame  # columns: cluster, artist, songs, share  (top 10 per cluster)
    top_genres: pd.DataFrame  # columns: cluster, genre, songs, share     (top 10 per cluster)
    spanning_artists: pd.DataFrame  # columns: artist, clusters, songs, counts ("0:12 3:4")  sorted by clusters desc
    genre_purity: pd.DataFrame  # columns: genre, songs, top_cluster, purity (share in its top cluster); genres with >= 5 songs


@dataclass(frozen=True)
class ClusterModel:
    """Everything about one k of the sweep."""

    k: int
    labels: np.ndarray  # (n_rows,) int16, cluster of each kept row, in Dataset.frame order
    centroids: np.ndarray  # (k, n_features) float64, in the scaled model space
    sizes: np.ndarray  # (k,) int64
    means_raw: pd.DataFrame  # k x features, mean of the raw (untransformed) values
    zscores: pd.DataFrame  # k x features, centroid in the model space (standard deviations from the mean)
    quantiles: pd.DataFrame  # rows (cluster, feature), columns min, q1, median, q3, max of raw values
    top_features: dict[int, tuple[tuple[str, float], ...]]  # cluster -> (feature, z) most distinguishing first
    suggested_names: tuple[SuggestedName, ...]  # one per cluster, unique
    silhouette_rows: np.ndarray  # (m,) positions in Dataset.frame of the per-song silhouette sample
    silhouette_values: np.ndarray  # (m,) silhouette of those rows at this k
    breakdown: Breakdown


@dataclass(frozen=True)
class PCAResult:
    coords: np.ndarray  # (n_rows, 2) float32, PCA of the scaled model matrix
    explained_variance_ratio: tuple[float, float]
    loadings: pd.DataFrame  # features x ["PC1", "PC2"]


@dataclass(frozen=True)
class RunResult:
    run_id: str
    dataset_id: str  # the dataset fingerprint
    dataset_name: str
    params: RunParams
    data_report: DataReport
    transform: TransformRecord
    sweep: SweepResult
    models: dict[int, ClusterModel]  # every k of the sweep
    pca: PCAResult
    timings: dict[str, float]  # seconds per stage
    code_version: str = CODE_VERSION
    created_at: float = field(default=0.0)

    @property
    def chosen_k(self) -> int:
        return self.params.k if self.params.k is not None else self.sweep.recommended_k

    def model(self, k: int | None = None) -> ClusterModel:
        return self.models[self.chosen_k if k is None else k]

    @property
    def n_rows(self) -> int:
        return int(self.pca.coords.shape[0])


class RunCancelled(Exception):
    """Raised from a progress callback to stop a run between steps."""


# Receives ``(done, total, message)`` once per step; may raise ``RunCancelled`` to stop the run.
ProgressCallback = Callable[[int, int, str], None]
