"""What ``amc cluster`` does with a real file broken in the ways users' files are: the sample with cells
changed, compressed, re-encoded, or not a CSV at all. Run in-process, as the installed command would."""
from __future__ import annotations

import json
import warnings

from broken_sample import csv_of, sample_table, with_cells

from analysis.cli import cluster_main
from analysis.result import AUDIO_FEATURES


def amc_cluster(capsys, *args) -> tuple[int, str]:
    """Exit status and stderr of ``amc cluster`` with numpy's RuntimeWarnings (and any other) as errors."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        status = cluster_main([str(arg) for arg in args])
    return status, capsys.readouterr().err


def refusal(capsys, path, *options) -> str:
    status, stderr = amc_cluster(capsys, path, "--out", path.parent / "out", *options)
    assert status == 2 and stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    assert not (path.parent / "out" / "summary.json").exists()
    return stderr.removeprefix("amc cluster: ").rstrip("\n")


def summary(capsys, path, *options) -> dict:
    status, stderr = amc_cluster(capsys, path, "--out", path.parent / "out", "--k-max", "4", *options)
    assert status == 0, stderr
    assert "Warning" not in stderr
    return json.loads((path.parent / "out" / "summary.json").read_text(encoding="utf-8"))


def actions(result: dict) -> dict[str, dict]:
    return {action["column"]: action for action in result["data_report"]["actions"]}


def test_a_constant_feature_is_dropped_and_reported_in_the_summary(capsys, sample_csv, tmp_path):
    path = tmp_path / "flat-energy.csv"
    path.write_bytes(with_cells(sample_csv, "energy", "0.5"))

    result = summary(capsys, path)

    used = [f for f in AUDIO_FEATURES if f != "energy"]
    assert result["transform"]["features"] == used and list(result["transform"]["scaler_mean"]) == used
    assert result["params"]["features"] == list(AUDIO_FEATURES)  # what was asked, the run id's input
    assert actions(result)["energy"] == {"column": "energy", "problem": "is the same value (0.5)", "count": 651,
                                         "policy": "dropped from the features: it cannot tell songs apart",
                                         "first_rows": []}
    assert all("energy" not in cluster["zscores"] for cluster in result["clusters"])
    assert list(result["pca"]["loadings"]) == used
    assert "energy: is the same value (0.5)" in (tmp_path / "out" / "report.html").read_text(encoding="utf-8")


def test_every_feature_constant_is_refused_with_one_line(capsys, sample_csv, tmp_path):
    path = tmp_path / "flat.csv"
    path.write_bytes(with_cells(sample_csv, "tempo", "120"))
    assert refusal(capsys, path, "--features", "tempo") == (
        "flat.csv: every chosen feature has one value in every row (tempo = 120); nothing tells the songs apart")


def test_a_file_whose_every_feature_is_constant_is_refused_with_one_line(capsys, sample_csv, tmp_path):
    header, rows = sample_table(sample_csv)
    for row in rows:
        for feature in AUDIO_FEATURES:
            row[header.index(feature)] = "1"
    path = tmp_path / "flat.csv"
    path.write_bytes(csv_of(header, rows))

    message = refusal(capsys, path)

    assert message.startswith("flat.csv: every chosen feature has one value in every row (danceability = 1, ")
    assert all(f"{feature} = 1" in message for feature in AUDIO_FEATURES)
