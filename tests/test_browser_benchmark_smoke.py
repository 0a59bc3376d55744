"""The browser benchmark's own code on 2,000 grown songs, so it cannot rot between the runs that matter."""
from __future__ import annotations

import pytest

from benchmarks.browser import run_benchmark, table

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_browser_benchmark_measures_every_row_against_the_floor():
    result = run_benchmark(rows=2_000, repeats=1)

    assert result["rows"] == 2_000 and result["floor"]["draw_s"] > 0 and result["floor"]["whole_page_s"] > 0
    measures = result["measures"]
    timed = [row for row in measures.values() if "p95_s" in row]
    assert len(timed) == 7 and all(row["p95_s"] > 0 and row["verdict"] in ("pass", "MISS") for row in timed)
    assert measures["rename -> PCA legend shows it, no songs fetched"]["pca_fetches_after_rename"] == 0
    assert measures["console SEVERE entries"]["count"] == 0
    printed = table(result)
    assert all(name in printed for name in measures)
