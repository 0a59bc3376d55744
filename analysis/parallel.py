"""How the analysis runs side by side: one thread per usable core, each with single-threaded kernels."""
from __future__ import annotations

import os
from contextlib import AbstractContextManager

from threadpoolctl import ThreadpoolController

# Made once: inspecting the loaded thread pools costs 3 ms, and a sweep limits them a dozen times.
_THREADPOOLS = ThreadpoolController()


def usable_cores() -> int:
    """Cores in this process's CPU affinity (a container or ``taskset`` may allow fewer than the machine has)."""
    return len(os.sched_getaffinity(0))


def single_threaded_kernels(user_api: str | None = None) -> AbstractContextManager:
    """BLAS and OpenMP (or only ``user_api``: "blas", "openmp") limited to one thread while the context lasts."""
    return _THREADPOOLS.limit(limits=1, user_api=user_api)
