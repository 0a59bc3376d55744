"""The machine the benchmark ran on, and the limits a Lloyd iteration is held against.

The bound of one Lloyd iteration is its arithmetic (2·N·k·d flops, the distance product) at the
measured float32 GEMM rate plus its data (N·d·4 bytes, the float32 rows) at the measured read
bandwidth, all on one thread, as each fit runs.
"""
from __future__ import annotations

import dataclasses
import importlib.util
import os
import platform
import subprocess
import sysconfig
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy
import sklearn
from threadpoolctl import threadpool_info, threadpool_limits

from analysis.kmeans import WeightedRows, lloyd

ROOT = Path(__file__).resolve().parent.parent
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
    """Per-iteration time of the Lloyd step our fits run (``analysis.kmeans.lloyd``) against this machine's bound.

    One thread, as each fit runs (a sweep puts its fits side by side on the cores). Each of the
    three figures (the step's time, the GEMM rate, the read bandwidth) is the best of ``repeats``
    runs: on a shared machine the least disturbed run is the one that measures the work, and the
    ratio compares like with like.
    """
    with threadpool_limits(1):
        gflops = _gemm_gflops(repeats)
        bandwidth = _read_bandwidth_gbs(repeats)
        per_iteration = _lloyd_iteration_seconds(repeats)
    flop_seconds = 2 * LLOYD_ROWS * LLOYD_K * LLOYD_D / (gflops * 1e9)
    byte_seconds = LLOYD_ROWS * LLOYD_D * 4 / (bandwidth * 1e9)
    return {
        "rows": LLOYD_ROWS,
        "k": LLOYD_K,
        "d": LLOYD_D,
        "dtype": "float32",
        "portable_against_native": portable_against_native(repeats),
        "threads_1": {
            "gemm_gflops": round(gflops, 1),
            "read_bandwidth_gbs": round(bandwidth, 1),
            "lloyd_ms_per_iteration": round(per_iteration * 1e3, 3),
            "bound_ms": round((flop_seconds + byte_seconds) * 1e3, 3),
            "ratio_to_bound": round(per_iteration / (flop_seconds + byte_seconds), 2),
        },
    }


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


def _read_bandwidth_gbs(repeats: int) -> float:
    data = np.ones(BANDWIDTH_BYTES // 4, dtype=np.float32)
    return BANDWIDTH_BYTES / _best_seconds(repeats, lambda: np.sum(data)) / 1e9


def _lloyd_iteration_seconds(repeats: int) -> float:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(LLOYD_ROWS, LLOYD_D)).astype(np.float32)
    start = X[rng.choice(LLOYD_ROWS, LLOYD_K, replace=False)]
    rows = dataclasses.replace(WeightedRows.of(X, np.ones(LLOYD_ROWS)), tolerance=0.0)  # stop only at max_iter

    def timed(iterations: int) -> tuple[float, int]:
        fits = []
        seconds = _best_seconds(repeats, lambda: fits.append(lloyd(rows, start, max_iter=iterations)))
        return seconds, fits[-1].n_iter

    one_seconds, one_iterations = timed(1)
    many_seconds, many_iterations = timed(41)
    return (many_seconds - one_seconds) / (many_iterations - one_iterations)


def portable_against_native(repeats: int) -> dict:
    """The installed, portable Lloyd step against the same C built for this CPU only (-march=native), per step."""
    from analysis import _lloyd

    with tempfile.TemporaryDirectory(prefix="amc-native-") as scratch:
        built = Path(scratch) / f"_lloyd{sysconfig.get_config_var('EXT_SUFFIX')}"
        compiler = os.environ.get("CC", "cc")
        try:
            subprocess.run([compiler, "-O3", "-march=native", "-DAMC_NATIVE", "-shared", "-fPIC",
                            f"-I{sysconfig.get_paths()['include']}", str(ROOT / "analysis" / "_lloyd.c"), "-o", str(built)],
                           check=True, capture_output=True)
        except (OSError, subprocess.CalledProcessError) as error:
            return {"skipped": f"no native build: {error}"}
        spec = importlib.util.spec_from_file_location("analysis._lloyd", built)
        native = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(native)
        portable_s, native_s = (_step_seconds(module, repeats) for module in (_lloyd, native))
    return {"portable_ms": round(portable_s * 1e3, 3), "native_ms": round(native_s * 1e3, 3),
            "portable_over_native": round(portable_s / native_s, 3)}


def _step_seconds(module, repeats: int) -> float:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(LLOYD_ROWS, LLOYD_D)).astype(np.float32)
    centres = x[rng.choice(LLOYD_ROWS, LLOYD_K, replace=False)]
    norms = np.einsum("ij,ij->i", x, x).astype(np.float32)
    out = (np.empty(LLOYD_ROWS, np.int32), np.empty(LLOYD_ROWS, np.float32), np.empty((LLOYD_K, LLOYD_D)),
           np.empty(LLOYD_K))
    weights = np.ones(LLOYD_ROWS, np.float32)
    return _best_seconds(repeats, lambda: module.step(x, norms, weights, centres, *out))


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            return next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), platform.processor())
    except OSError:
        return platform.processor()
