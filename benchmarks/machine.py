"""The machine the benchmark ran on, and the limits a Lloyd iteration is held against.

The bound of one Lloyd iteration is its arithmetic (2·N·k·d flops, the distance product) at the
measured float32 GEMM rate plus its data (N·d·4 bytes, the float32 rows) at the measured read
bandwidth; both are measured with one thread and with every core.
"""
from __future__ import annotations

import os
import platform
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import scipy
import sklearn
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_info, threadpool_limits

LLOYD_ROWS, LLOYD_K, LLOYD_D = 96_000, 8, 13
GEMM_SIZE = 2048
BANDWIDTH_BYTES = 256 * 2**20


def describe() -> dict:
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "versions": {"numpy": np.__version__, "scipy": scipy.__version__, "scikit-learn": sklearn.__version__, "pandas": pd.__version__},
        "thread_pools": [
            {key: pool.get(key) for key in ("user_api", "internal_api", "version", "num_threads", "architecture")}
            for pool in threadpool_info()
        ],
    }


def peak_rss_bytes() -> int:
    """This process's peak resident memory since it started its program.

    Not ``getrusage``'s ``ru_maxrss``: Linux carries the pre-exec high-water mark over from the
    forked parent, so every side would report at least the parent's peak.
    """
    with open("/proc/self/status", encoding="ascii") as status:
        kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    return kib * 1024


def lloyd_against_bound(repeats: int = 9) -> dict:
    """Per-iteration time of scikit-learn's Lloyd step (what our fits run) against this machine's bound.

    Each of the three figures (the step's time, the GEMM rate, the read bandwidth) is the best of
    ``repeats`` runs: on a shared machine the least disturbed run is the one that measures the
    work, and the ratio compares like with like.
    """
    figures = {}
    for threads in sorted({1, len(os.sched_getaffinity(0))}):
        with threadpool_limits(threads):
            gflops = _gemm_gflops(repeats)
            bandwidth = _read_bandwidth_gbs(threads, repeats)
            per_iteration = _lloyd_iteration_seconds(repeats)
        flop_seconds = 2 * LLOYD_ROWS * LLOYD_K * LLOYD_D / (gflops * 1e9)
        byte_seconds = LLOYD_ROWS * LLOYD_D * 4 / (bandwidth * 1e9)
        figures[f"threads_{threads}"] = {
            "gemm_gflops": round(gflops, 1),
            "read_bandwidth_gbs": round(bandwidth, 1),
            "lloyd_ms_per_iteration": round(per_iteration * 1e3, 3),
            "bound_ms": round((flop_seconds + byte_seconds) * 1e3, 3),
            "ratio_to_bound": round(per_iteration / (flop_seconds + byte_seconds), 2),
        }
    return {"rows": LLOYD_ROWS, "k": LLOYD_K, "d": LLOYD_D, "dtype": "float32", **figures}


def _best_seconds(repeats: int, work) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def _gemm_gflops(repeats: int) -> float:
    size = GEMM_SIZE
    rng = np.random.default_rng(0)
    a, b = rng.random((size, size), dtype=np.float32), rng.random((size, size), dtype=np.float32)
    a @ b  # warm the thread pool
    return 2 * size**3 / _best_seconds(repeats, lambda: a @ b) / 1e9


def _read_bandwidth_gbs(threads: int, repeats: int) -> float:
    data = np.ones(BANDWIDTH_BYTES // 4, dtype=np.float32)
    parts = np.array_split(data, threads)
    with ThreadPoolExecutor(threads) as pool:
        seconds = _best_seconds(repeats, lambda: list(pool.map(np.sum, parts)))
    return BANDWIDTH_BYTES / seconds / 1e9


def _lloyd_iteration_seconds(repeats: int) -> float:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(LLOYD_ROWS, LLOYD_D)).astype(np.float32)
    start = X[rng.choice(LLOYD_ROWS, LLOYD_K, replace=False)]

    def timed(iterations: int) -> tuple[float, int]:
        fits = []
        seconds = _best_seconds(repeats, lambda: fits.append(KMeans(LLOYD_K, init=start, n_init=1, max_iter=iterations, tol=0).fit(X)))
        return seconds, fits[-1].n_iter_

    one_seconds, one_iterations = timed(1)
    many_seconds, many_iterations = timed(41)
    return (many_seconds - one_seconds) / (many_iterations - one_iterations)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            return next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), platform.processor())
    except OSError:
        return platform.processor()
