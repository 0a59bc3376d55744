"""The benchmark end to end on a tiny size, so that its code path cannot rot unnoticed."""
from __future__ import annotations

import json


from benchmarks import machine, run, whole


def test_quick_benchmark_writes_a_table_and_json(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(run, "REAL_SAMPLE", tmp_path / "absent.csv")  # the real-sample case has tests of its own
    monkeypatch.setattr(machine, "LLOYD_ROWS", 5_000)
    monkeypatch.setattr(machine, "GEMM_SIZE", 256)
    monkeypatch.setattr(machine, "BANDWIDTH_BYTES", 16 * 2**20)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # both sides' subprocesses: two-thread OpenMP stalls on a busy test machine
    out = tmp_path / "bench.json"

    assert run.main(["--quick", "--sizes", "600", "--no-browser", "--out", str(out)]) == 0

    report = json.loads(out.read_text())
    (case,) = report["cases"]
    assert case["rows"] <= 600 and case["ours"]["median_seconds"] > 0 and case["baseline"]["median_seconds"] > 0
    assert [q["k"] for q in case["quality"]["per_k"]] == list(range(2, 13))
    assert 0.9 < case["quality"]["per_k"][0]["inertia_ratio"] < 1.1
    assert -1 <= case["quality"]["ari_at_recommended_k"] <= 1
    assert all(-1 <= q["ari"] <= 1 for q in case["quality"]["per_k"])
    # Our silhouette code on the baseline's labels and sample is scikit-learn's value.
    assert all(abs(q["silhouette_computation_delta"]) < 1e-4 for q in case["quality"]["per_k"])
    assert case["targets"] == {}  # a few hundred rows are a smoke case: no target applies
    assert report["lloyd"]["threads_1"]["ratio_to_bound"] > 0
    build = report["lloyd"]["portable_against_native"]
    assert build.get("portable_over_native", 0) > 0 or "skipped" in build
    # Each peer is measured with the quality columns, or named as not installed.
    assert set(case["peers"]) | set(case["peers_missing"]) == set(run.PEERS)
    for peer in case["peers"].values():
        assert peer["median_seconds"] > 0 and [q["k"] for q in peer["per_k"]] == list(range(2, 13))
        assert all(q["inertia_ratio"] > 0.5 and -1 <= q["ari"] <= 1 for q in peer["per_k"])
    assert report["machine"]["thread_pools"]
    assert report["dashboard"]["rows"] <= 600 and report["dashboard"]["callbacks"]["panel draw"]["p95_ms"] > 0
    table = capsys.readouterr().out
    assert "generated 600" in table and "x the bound" in table and "panel draw" in table and str(out) in table


def test_targets_of_a_full_size_case_name_each_miss():
    per_k = [{"inertia_ratio": 1.004, "silhouette_delta": 0.02, "silhouette_computation_delta": 1e-6}]
    entry = {"rows": 96_000, "speedup": 26.0, "ours": {"median_seconds": 1.1, "peak_rss_mb": 450},
             "quality": {"per_k": per_k, "ari_at_recommended_k": 0.99}}
    targets = run._targets(entry)
    assert {name for name, target in targets.items() if not target["met"]} == {"worst_silhouette_delta"}
    assert targets["speedup"] == {"value": 26.0, "target": ">= 25", "met": True}


def test_whole_process_benchmark_compares_each_side_from_start_to_files(tmp_path, capsys):
    out = tmp_path / "whole.json"

    assert whole.main(["--rows", "600", "--repeats", "1", "--out", str(out)]) == 0

    report = json.loads(out.read_text())
    grown, sample = report["grown"], report["real_sample"]
    assert grown["rows"] == 600 and grown["notebook_s"] > 0 and grown["speedup_over_notebook"] > 0
    for case in (grown, sample):
        assert case["amc_cluster_s"] > case["amc_analysis_s"] > 0 and case["import_floor_s"] > 0
    table = capsys.readouterr().out
    assert "whole process" in table and "import pandas, numpy" in table
