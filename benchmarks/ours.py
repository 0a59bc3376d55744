"""Our analysis path (``amc cluster``'s: load, validate, sweep, profiles, PCA) timed in a process of its own.

Cold: from the CSV file to the finished ``RunResult``. Warm: the stored run fetched by its id from a
diskcache directory by a fresh store, as another server process would. Quality figures are computed
after the timed part: our silhouettes on the baseline's sample rows, our labels and inertias.
``python -m benchmarks.ours CSV OUT.npz SEED STORE_DIR``.
"""
from __future__ import annotations

import json
import sys
import time

import numpy as np

from analysis.dataset import load_csv
from analysis.features import build_matrix
from analysis.pipeline import run_analysis
from analysis.silhouette import sampled_silhouettes
from benchmarks.baseline import like_the_notebook, silhouette_sample_rows
from benchmarks.machine import peak_rss_bytes
from dashboard.store import ResultsStore


def run(csv_path: str, seed: int, store_dir: str) -> dict[str, np.ndarray | float | str]:
    params = like_the_notebook(seed)
    started = time.perf_counter()
    dataset = load_csv(csv_path)
    loaded = time.perf_counter()
    result = run_analysis(dataset, params)
    seconds = time.perf_counter() - started
    peak_rss = peak_rss_bytes()

    ResultsStore.open(store_dir).put_run(result)
    fetch_started = time.perf_counter()
    fetched = ResultsStore.open(store_dir).get_run(result.run_id)
    warm_seconds = time.perf_counter() - fetch_started
    if fetched is None or fetched.run_id != result.run_id:
        raise RuntimeError(f"the stored run {result.run_id} could not be fetched back")

    X, _ = build_matrix(dataset.frame, params)
    labels = {k: result.models[k].labels for k in params.ks}
    on_baseline_sample = sampled_silhouettes(X, labels, silhouette_sample_rows(len(X), seed))
    stages = {"load": loaded - started, **result.timings}
    return {
        "seconds": seconds,
        "warm_seconds": warm_seconds,
        "peak_rss_bytes": peak_rss,
        "ks": np.array(params.ks),
        "inertia": np.array([result.sweep.at(k).inertia for k in params.ks]),
        "silhouette": np.array([result.sweep.at(k).silhouette for k in params.ks]),
        "silhouette_spread": np.array([result.sweep.at(k).silhouette_spread for k in params.ks]),
        "silhouette_on_baseline_sample": np.array([on_baseline_sample[k].mean() for k in params.ks]),
        "labels": np.stack([labels[k] for k in params.ks]),
        "recommended_k": result.sweep.recommended_k,
        "reason": result.sweep.reason,
        "stages": json.dumps(stages),
    }


if __name__ == "__main__":
    csv_path, out_path, seed, store_dir = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    np.savez(out_path, **run(csv_path, seed, store_dir))
