"""The k sweep: one K-Means fit per k, its scores, the silhouettes, the knee and the recommended k.

Fits of different k run side by side, one per core, each with single-threaded BLAS and OpenMP:
on a shared 2-core server two-thread kernels inside small fits stall whenever another process
holds a core, while independent fits just share what is free. Below ``SIDE_BY_SIDE_ROWS`` rows they
run one after another instead. The sampled silhouettes of every
k come from one pass over each sample's distance matrix (``analysis.silhouette``).

After the full fits, every k is fitted again on a few small subsamples of the rows
(``analysis.stability``): how reproducible each k is, and how far its silhouette moves when other
songs are drawn and fitted. The recommendation (``analysis.metrics.recommend``) reads both.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass

import numpy as np

from analysis.kmeans import KFit, KMeansData
from analysis.metrics import cluster_scores, find_knee, recommend
from analysis.parallel import single_threaded_kernels, usable_cores
from analysis.result import KMetrics, ProgressCallback, RunParams, SweepResult
from analysis.silhouette import exact_silhouette, sampled_silhouettes
from analysis.stability import RESAMPLES, Resampling, Stability

# Fewer rows than this are fitted one k after another: such a fit is mostly Python between short compiled
# steps, so two side by side mostly wait for each other's turn at the interpreter (measured on the real
# sample of 651 rows: 130 ms one after another, 194 ms in two threads; the two break even near 2,000 rows).
SIDE_BY_SIDE_ROWS = 2_000


@dataclass(frozen=True, eq=False)
class Sweep:
    """The sweep's summary plus what profiling needs: every fit and the first silhouette sample's per-row values."""

    result: SweepResult
    fits: dict[int, KFit]
    silhouette_rows: np.ndarray  # (m,) row positions of the first silhouette sample, ascending
    silhouette_values: dict[int, np.ndarray]  # k -> (m,) silhouette of those rows


@dataclass(frozen=True)
class _Scores:
    davies_bouldin: float
    calinski_harabasz: float
    exact_silhouette: float | None


def run_sweep(X: np.ndarray, params: RunParams, progress: ProgressCallback | None = None) -> Sweep:
    """Fit and score every k in ``params.ks`` on the model matrix ``X`` (n, d).

    ``progress(done, total, message)`` is called once per k as soon as that k is fitted and scored
    (in the order the fits finish; the message names the k); an exception it raises
    (``RunCancelled``) stops the sweep and propagates.
    """
    X = np.ascontiguousarray(X, dtype=np.float32)
    fits, scores = _fit_every_k(X, params, progress)
    samples = silhouette_samples(len(X), params)
    resampling = Resampling.of(X, samples[0], params)
    resampled = _refit_resamples(resampling, params)
    labels_by_k = {k: fit.labels for k, fit in fits.items()}
    per_sample = [sampled_silhouettes(X, labels_by_k, rows) for rows in samples]
    stable = resampling.stability(labels_by_k, resampled)
    metrics = tuple(_metrics(fits[k], scores[k], [values[k] for values in per_sample], stable[k], len(X))
                    for k in params.ks)
    knee = find_knee(params.ks, [m.inertia for m in metrics])
    recommended, reason = recommend(metrics)
    result = SweepResult(
        metrics=metrics,
        knee_k=knee,
        best_silhouette_k=max(metrics, key=lambda m: m.silhouette).k,
        recommended_k=recommended,
        reason=reason,
        silhouette_sample_size=len(samples[0]),
        resamples=RESAMPLES,
        resample_size=resampling.subsample_size,
    )
    return Sweep(result=result, fits=fits, silhouette_rows=samples[0], silhouette_values=per_sample[0])


def silhouette_samples(n_rows: int, params: RunParams) -> list[np.ndarray]:
    """``params.silhouette_repeats`` seeded uniform samples of ``params.silhouette_sample`` rows (sorted positions).

    When the data is no larger than one sample, the one sample is every row and there is nothing to repeat.
    """
    if n_rows <= params.silhouette_sample:
        return [np.arange(n_rows)]
    rng = np.random.default_rng([params.seed, n_rows])
    return [np.sort(rng.choice(n_rows, params.silhouette_sample, replace=False)) for _ in range(params.silhouette_repeats)]


def _fit_every_k(
    X: np.ndarray, params: RunParams, progress: ProgressCallback | None
) -> tuple[dict[int, KFit], dict[int, _Scores]]:
    data = KMeansData.of(X)
    ks = sorted(params.ks, reverse=True)  # largest k first: they take longest, so side by side fits end together
    workers = min(usable_cores(), len(ks)) if len(X) >= SIDE_BY_SIDE_ROWS else 1
    fits, scores = {}, {}

    def record(fit: KFit, score: _Scores) -> None:
        fits[fit.k], scores[fit.k] = fit, score
        if progress is not None:
            progress(len(fits), len(ks), _message(fit, score))

    with single_threaded_kernels():
        if workers == 1:
            for k in ks:
                record(*_fit_and_score(data, k, params))
            return fits, scores
        pool = ThreadPoolExecutor(workers)
        try:
            for future in as_completed([pool.submit(_fit_and_score, data, k, params) for k in ks]):
                record(*future.result())
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    return fits, scores


def _refit_resamples(resampling: Resampling, params: RunParams) -> dict[int, list[np.ndarray]]:
    """Every k's labels from each resample's fit (``[k][number]``), one after another in this thread.

    Not in the pool beside the full fits: a fit of a few hundred rows is mostly Python between
    short compiled steps, so two of them, or one beside a full fit, mostly wait for each other's
    turn at the interpreter (measured: the sweep lost twice what the refits cost alone).
    """
    with single_threaded_kernels():
        return {k: [resampling.labels(number, k) for number in range(RESAMPLES)] for k in params.ks}


def _fit_and_score(data: KMeansData, k: int, params: RunParams) -> tuple[KFit, _Scores]:
    fit = data.fit(k, params.seed)
    davies_bouldin, calinski_harabasz = cluster_scores(fit)
    scores = _Scores(
        davies_bouldin=davies_bouldin,
        calinski_harabasz=calinski_harabasz,
        exact_silhouette=exact_silhouette(data.X, fit.labels) if params.exact_silhouette else None,
    )
    return fit, scores


def _metrics(fit: KFit, scores: _Scores, per_sample: list[np.ndarray], stable: Stability, n_rows: int) -> KMetrics:
    spread = sample_standard_error(per_sample, n_rows)
    return KMetrics(
        k=fit.k,
        inertia=fit.inertia,
        silhouette=float(np.mean([values.mean() for values in per_sample])),
        silhouette_spread=spread,
        davies_bouldin=scores.davies_bouldin,
        calinski_harabasz=scores.calinski_harabasz,
        stability=stable.agreement,
        stability_spread=stable.agreement_spread,
        silhouette_noise=resampling_noise(per_sample, spread, stable.silhouette_spread, n_rows),
        exact_silhouette=scores.exact_silhouette,
    )


def resampling_noise(per_sample: list[np.ndarray], spread: float, refit_spread: float, n_rows: int) -> float:
    """How far the mean silhouette could move if other songs had been collected and fitted: its standard error.

    Three independent parts, added in squares: which rows the silhouette sampled (``spread``, the
    sampled means' standard error, divided by √samples as they are averaged); which songs the data
    holds, as a draw from all the songs there are (σ²/n, the bootstrap's variance of a mean of n
    rows, σ the rows' own silhouettes' standard deviation); and the fit itself moving with the songs
    (``refit_spread``, the resample fits' silhouettes' standard deviation). With one sample of m rows
    the first two add up to σ²/m, which is not 0 when the sample is every row.
    """
    rows = np.concatenate(per_sample)
    population = float(np.var(rows, ddof=1)) / n_rows if len(rows) > 1 else 0.0
    return float(np.sqrt(spread**2 / len(per_sample) + population + refit_spread**2))


def sample_standard_error(per_sample: list[np.ndarray], n_rows: int) -> float:
    """How far one sample's mean silhouette may be from the full data's: its standard error.

    With several samples it is their means' standard deviation. With one it is estimated from
    the sample's own rows (σ/√m, shrunk by √(1 - m/n) as the sample nears the whole data), which
    counts the noise of which rows were drawn, the part that matters at 10,000 rows: each row's
    own silhouette is already measured against thousands of others.
    """
    if len(per_sample) > 1:
        return float(np.std([values.mean() for values in per_sample], ddof=1))
    values = per_sample[0]
    if len(values) < 2:
        return 0.0
    return float(np.std(values, ddof=1) / np.sqrt(len(values)) * np.sqrt(max(0.0, 1 - len(values) / n_rows)))


def _message(fit: KFit, scores: _Scores) -> str:
    text = f"k={fit.k}: fitted in {fit.n_iter} iterations, inertia {fit.inertia:,.0f}, Davies–Bouldin {scores.davies_bouldin:.2f}"
    if scores.exact_silhouette is not None:
        text += f", exact silhouette {scores.exact_silhouette:.3f}"
    return text
