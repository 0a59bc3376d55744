"""The notebook pipeline with scikit-learn-intelex patched in, the speed-up a notebook user reaches for first.

``benchmarks.baseline`` as written, after ``sklearnex.patch_sklearn()``: Intel's KMeans, silhouette
and PCA under scikit-learn's names. ``python -m benchmarks.intelex CSV OUT.npz SEED``.
"""
from __future__ import annotations

from sklearnex import patch_sklearn

patch_sklearn(verbose=False)  # before scikit-learn's estimators are imported below

from benchmarks import baseline  # noqa: E402 (the patch must come first)

if __name__ == "__main__":
    baseline.main()
