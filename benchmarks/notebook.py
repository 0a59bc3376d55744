"""The notebook pipeline as its user runs it end to end: a script from ``python`` to ``clustered.csv`` on disk.

``benchmarks.baseline``'s pipeline (pandas, StandardScaler, ``KMeans(n_init=10)`` and a sampled
silhouette for every k, PCA), then the songs with the labels at the best silhouette written by
pandas, as the notebooks finish. ``python -m benchmarks.notebook CSV OUT_DIR SEED``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.baseline import run

if __name__ == "__main__":
    csv_path, out_dir, seed = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    fitted = run(csv_path, seed)
    best = int(np.argmax(fitted["silhouette"]))
    out_dir.mkdir(parents=True, exist_ok=True)
    pd.read_csv(csv_path).assign(cluster=fitted["labels"][best]).to_csv(out_dir / "clustered.csv", index=False)
