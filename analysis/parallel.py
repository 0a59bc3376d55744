"""How many threads the analysis runs side by side: one per core this process may use."""
from __future__ import annotations

import os


def usable_cores() -> int:
    """Cores in this process's CPU affinity (a container or ``taskset`` may allow fewer than the machine has)."""
    return len(os.sched_getaffinity(0))
