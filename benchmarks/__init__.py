"""Benchmark of the analysis against the usual notebook pipeline: ``python -m benchmarks.run``."""

import json
from pathlib import Path


def write_results(result: dict, path: Path) -> Path:
    """A benchmark's figures as JSON at ``path``, its folder made when missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    return path
