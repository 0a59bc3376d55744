"""Benchmark of the analysis against the usual notebook pipeline: ``python -m benchmarks.run``."""
