"""New songs into a run's named clusters: each song goes to the nearest of the run's centres.

Distances are Euclidean in the run's own model space: the new songs' raw features go through the
run's recorded transform (``apply_transform``: log1p, clipping at the bounds recorded from the run's
songs, the run's scaling), never one fitted to the new songs, so a song of the run lands where the
run put it.

"Fits no cluster well", as issue 15 words it: the song is farther from every centre than that cluster's
own 99th-percentile distance (the distance 99% of the cluster's songs lie within). A song inside the
wide spread of a farther cluster fits that cluster, and is not flagged, though it is counted in the
nearer one.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.dataset import Dataset, DataError, line_of
from analysis.export import clustered_frame
from analysis.features import apply_transform
from analysis.result import PCAResult, RunResult, TransformRecord

FIT_PERCENTILE = 99
ASSIGNED_COLUMNS = ("cluster", "cluster_name", "distance_to_centre", "fits_no_cluster")
DISTANCE_DECIMALS = 4


class SummaryError(ValueError):
    """A run summary that cannot be assigned against; the message is one line naming the file."""


@dataclass(frozen=True)
class ClusterCentres:
    """What assigning needs from one k of a run: its model space, its centres there and its names."""

    run_id: str
    transform: TransformRecord
    centroids: np.ndarray  # (k, d) float64, in the model space, columns in ``transform.features`` order
    fit_distances: np.ndarray  # (k,) float64, each cluster's 99th-percentile distance of its own songs to its centre
    names: dict[int, str]  # cluster -> name, every cluster

    @property
    def k(self) -> int:
        return len(self.centroids)

    def renamed(self, names: Mapping[int, str]) -> "ClusterCentres":
        """The same centres under ``names``, which may name only some clusters."""
        return ClusterCentres(self.run_id, self.transform, self.centroids, self.fit_distances,
                              {**self.names, **names})


@dataclass(frozen=True)
class Assignment:
    """Where each song of a frame went, in the frame's row order."""

    labels: np.ndarray  # (n,) int16, the nearest centre
    distances: np.ndarray  # (n,) float64, Euclidean distance to that centre in the model space
    fits_no_cluster: np.ndarray  # (n,) bool, farther from every centre than that cluster's 99th-percentile distance
    points: np.ndarray  # (n, d) float64, the songs in the model space

    def pca_positions(self, pca: PCAResult) -> np.ndarray:
        """(n, 2) where the songs lie in the run's PCA plane. The run's matrix is centred by its own
        scaling, so the plane goes through the model space's origin and a song's place is its loadings' sum."""
        return self.points @ pca.loadings.to_numpy()


def centres_of(result: RunResult, frame: pd.DataFrame, names: Mapping[int, str], k: int | None = None) -> ClusterCentres:
    """The centres of ``result`` at ``k`` (default: the chosen k) with the spread of its songs.

    ``frame`` is the run's own dataset frame (``Dataset.frame``), whose rows the labels follow.
    """
    model = result.model(k)
    centroids = np.asarray(model.centroids, dtype=np.float64)
    matrix = apply_transform(frame, result.transform).astype(np.float64)
    own = np.linalg.norm(matrix - centroids[model.labels], axis=1)
    fit = np.array([np.percentile(own[model.labels == cluster], FIT_PERCENTILE) if model.sizes[cluster] else 0.0
                    for cluster in range(model.k)])
    return ClusterCentres(result.run_id, result.transform, centroids, fit, {c: names[c] for c in range(model.k)})


def summary_section(centres: ClusterCentres) -> dict:
    """The ``assignment`` part of a run's summary.json: what ``centres_from_summary`` reads back."""
    return {
        "k": centres.k,
        "features": list(centres.transform.features),
        "centroids": centres.centroids.tolist(),
        f"distance_p{FIT_PERCENTILE}": centres.fit_distances.tolist(),
    }


def centres_from_summary(summary: object, source: str) -> ClusterCentres:
    """The centres a run's summary.json holds; ``SummaryError`` naming ``source`` when it holds none."""
    try:
        return _centres(summary)
    except SummaryError as error:
        raise SummaryError(f"{source}: {error}") from None
    except (KeyError, TypeError, ValueError, AttributeError):
        raise SummaryError(f"{source}: not the summary.json of an 'amc cluster' run") from None


def _centres(summary: object) -> ClusterCentres:
    if not isinstance(summary, dict) or "transform" not in summary or "clusters" not in summary:
        raise SummaryError("not the summary.json of an 'amc cluster' run")
    section = summary.get("assignment")
    if section is None:
        raise SummaryError("written by an older 'amc cluster' without the cluster centres; "
                           "re-run 'amc cluster' to assign songs to its clusters")
    recorded = summary["transform"]
    features = tuple(recorded["features"])
    transform = TransformRecord(
        features=features,
        log_features=tuple(recorded["log_features"]),
        clip_bounds={feature: (float(low), float(high)) for feature, (low, high) in recorded["clip_bounds"].items()},
        scaler_mean=tuple(float(recorded["scaler_mean"][feature]) for feature in features),
        scaler_scale=tuple(float(recorded["scaler_scale"][feature]) for feature in features),
    )
    centroids = np.array(section["centroids"], dtype=np.float64)
    fit = np.array(section[f"distance_p{FIT_PERCENTILE}"], dtype=np.float64)
    k = int(section["k"])
    names = {int(cluster["cluster"]): str(cluster["name"]) for cluster in summary["clusters"]}
    consistent = (tuple(section["features"]) == features and centroids.shape == (k, len(features))
                  and fit.shape == (k,) and set(names) == set(range(k))
                  and np.isfinite(centroids).all() and np.isfinite(fit).all())
    if not consistent:
        raise SummaryError("its centres do not match its clusters and features; re-run 'amc cluster'")
    return ClusterCentres(str(summary["run_id"]), transform, centroids, fit, names)


def assign(centres: ClusterCentres, dataset: Dataset) -> Assignment:
    """Each kept song of ``dataset`` to its nearest centre; ``DataError`` naming the file, column and
    line when a song's features cannot enter the model space (log1p of a value at or below -1)."""
    _check_log_inputs(centres.transform, dataset)
    matrix = apply_transform(dataset.frame, centres.transform).astype(np.float64)
    # |x - c|^2 = |x|^2 - 2 x.c + |c|^2 picks the nearest centre; its distance is then measured directly.
    squared = (matrix**2).sum(axis=1)[:, None] - 2 * matrix @ centres.centroids.T + (centres.centroids**2).sum(axis=1)
    labels = np.argmin(squared, axis=1)
    distances = np.linalg.norm(matrix - centres.centroids[labels], axis=1)
    return Assignment(labels.astype(np.int16), distances, beyond_every_spread(squared, centres.fit_distances), matrix)


def beyond_every_spread(squared: np.ndarray, spreads: np.ndarray) -> np.ndarray:
    """Which songs (rows of ``squared``, their squared distances to each centre) lie farther from every
    centre than that cluster's ``spreads`` (its 99th-percentile distance)."""
    return (np.sqrt(np.maximum(squared, 0.0)) > spreads[None, :]).all(axis=1)


def _check_log_inputs(transform: TransformRecord, dataset: Dataset) -> None:
    for feature in transform.log_features:
        values = dataset.frame[feature].to_numpy(dtype=np.float64)
        below = np.flatnonzero(values <= -1)
        if below.size:
            position = dataset.frame.index[below[0]]
            raise DataError(
                f"{dataset.name}: column {feature} is {dataset.raw[feature].iloc[position]} at line {line_of(position)}"
                f" ({below.size:,} row(s) at or below -1); the run takes log1p of {feature}, which needs values above -1"
            )


def assigned_frame(dataset: Dataset, assignment: Assignment, names: Mapping[int, str]) -> pd.DataFrame:
    """Every input row and column as given, then ``ASSIGNED_COLUMNS``; rows the loader dropped keep them blank."""
    frame = clustered_frame(dataset, assignment.labels, names)
    frame = frame.drop(columns=list(ASSIGNED_COLUMNS[2:]), errors="ignore")
    distance = pd.Series("", index=dataset.raw.index, dtype="str")
    fits_no_cluster = pd.Series("", index=dataset.raw.index, dtype="str")
    distance.loc[dataset.frame.index] = [f"{d:.{DISTANCE_DECIMALS}f}" for d in assignment.distances]
    fits_no_cluster.loc[dataset.frame.index] = np.where(assignment.fits_no_cluster, "true", "false")
    return frame.assign(distance_to_centre=distance, fits_no_cluster=fits_no_cluster)


def cluster_counts(centres: ClusterCentres, assignment: Assignment) -> list[dict]:
    """Per cluster of the run, in cluster order: its name, the songs it got and how many of them fit it badly."""
    songs = np.bincount(assignment.labels, minlength=centres.k)
    flagged = np.bincount(assignment.labels[assignment.fits_no_cluster], minlength=centres.k)
    return [{"cluster": cluster, "name": centres.names[cluster], "songs": int(songs[cluster]),
             "fits_no_cluster": int(flagged[cluster])} for cluster in range(centres.k)]


def flagged_songs(centres: ClusterCentres, assignment: Assignment, dataset: Dataset) -> list[dict]:
    """The songs that fit no cluster well, in file order, with their nearest cluster and distance."""
    rows = np.flatnonzero(assignment.fits_no_cluster)
    frame = dataset.frame
    return [
        {
            "line": line_of(int(frame.index[row])),
            "id_songs": str(frame["id_songs"].iloc[row]),
            "name_song": str(frame["name_song"].iloc[row]),
            "cluster": int(assignment.labels[row]),
            "cluster_name": centres.names[int(assignment.labels[row])],
            "distance_to_centre": round(float(assignment.distances[row]), DISTANCE_DECIMALS),
            "cluster_distance_p99": round(float(centres.fit_distances[assignment.labels[row]]), DISTANCE_DECIMALS),
        }
        for row in rows
    ]


def assignment_summary(centres: ClusterCentres, assignment: Assignment, dataset: Dataset) -> dict:
    """What ``amc assign`` writes to summary.json: the run, the counts, the flagged songs and the data report."""
    flagged = flagged_songs(centres, assignment, dataset)
    return {
        "run_id": centres.run_id,
        "k": centres.k,
        "songs_assigned": len(assignment.labels),
        "clusters": cluster_counts(centres, assignment),
        "fits_no_cluster": {"count": len(flagged), "songs": flagged},
        "data_report": dataset.report.to_dict(),
    }

