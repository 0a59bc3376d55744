"""The dashboard benchmark's own code on 2,000 songs, without Chromium, so it cannot rot between runs."""
from __future__ import annotations


import pytest


from benchmarks.dashboard import run_dashboard_benchmark, table

CALLBACKS = ("k switch", "rename", "feature change", "artist search", "playlist filter", "more like this",
             "panel draw", "lasso")


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    return run_dashboard_benchmark(n_rows=2_000, repeats=2, browser=False,
                                   cache_dir=tmp_path_factory.mktemp("dashboard-bench"))


def test_every_panel_callback_is_timed_and_answers_with_an_update(measured):
    assert list(measured["callbacks"]) == list(CALLBACKS)
    for name, row in measured["callbacks"].items():
        assert 0 < row["p50_ms"] <= row["p95_ms"] <= row["max_ms"], name
        assert row["raw_bytes_median"] > 0, f"{name} changed nothing"
    assert measured["rows"] <= 2_000 and measured["calls"] == 2


def test_the_pca_scatter_is_measured_where_it_travels(measured):
    pca = measured["pca"]
    assert pca["carrier"] == "own route"
    assert 0 < pca["sent_bytes"] < pca["raw_bytes"]


def test_the_table_names_every_target_with_its_verdict(measured):
    printed = table(measured)
    assert all(name in printed for name in CALLBACKS)
    assert len(measured["targets"]) == len(CALLBACKS) + 1  # no draw without the browser
    assert all(isinstance(ok, bool) for ok in measured["targets"].values())
