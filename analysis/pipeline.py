"""The one way a dataset becomes a ``RunResult``: used alike by ``amc cluster``, the dashboard and the benchmark."""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from analysis.dataset import Dataset
from analysis.features import build_matrix, dropped_feature_actions, usable_features
from analysis.profile import ProfileTables, build_models, pca_2d
from analysis.result import ParameterError, ProgressCallback, RunParams, RunResult, run_id_for
from analysis.sweep import run_sweep


def run_analysis(dataset: Dataset, params: RunParams, progress: ProgressCallback | None = None) -> RunResult:
    """Fit every k of the sweep on ``dataset`` and profile each one.

    ``progress(done, total, message)`` is called once per k and once more when profiling is done;
    raising ``RunCancelled`` from it stops the run. Same dataset, parameters and code give the same
    labels and the same ``run_id``. The run id is made from the parameters as asked; a chosen feature
    that is constant is left out of the run (``transform.features``) and said so in the data report.
    """
    params = check_params(params, dataset)
    frame = dataset.frame
    total = len(params.ks) + 1
    report = progress or _ignore_progress
    timings: dict[str, float] = {}

    with _timed(timings, "features"):
        X, transform = build_matrix(frame, params)
    # What profiling needs that does not depend on k is built beside the sweep, on the cycles the
    # sweep leaves free; "profiles" then times only what waits for the fits.
    with ThreadPoolExecutor(1) as beside:
        tables = beside.submit(ProfileTables.of, frame, transform.features)
        with _timed(timings, "sweep"):
            sweep = run_sweep(X, params, progress=lambda done, _, message: report(done, total, message))
        with _timed(timings, "profiles"):
            models = build_models(frame, X, sweep, tables.result())
    with _timed(timings, "pca"):
        pca = pca_2d(X, transform.features)
    timings["total"] = sum(timings.values())
    report(total, total, f"profiled {len(models)} clusterings")
    return RunResult(
        run_id=run_id_for(dataset.fingerprint, params),
        dataset_id=dataset.fingerprint,
        dataset_name=dataset.name,
        params=params,
        data_report=dataclasses.replace(
            dataset.report, actions=dataset.report.actions + dropped_feature_actions(frame, params, transform)
        ),
        transform=transform,
        sweep=sweep.result,
        models=models,
        pca=pca,
        timings=timings,
        created_at=time.time(),
    )


def check_params(params: RunParams, dataset: Dataset) -> RunParams:
    """``params`` validated for this dataset; a ``ParameterError`` about the data names the file."""
    params.validate()
    try:  # the checks left are about the data: say which data
        params.validate(len(dataset.frame))
        usable_features(dataset.frame, params)
    except ParameterError as error:
        raise ParameterError(f"{dataset.name}: {error}") from None
    return params


def _ignore_progress(done: int, total: int, message: str) -> None:
    return None


@contextmanager
def _timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    timings[stage] = time.perf_counter() - started
