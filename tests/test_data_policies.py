"""What ``amc cluster`` does with a real file broken in the ways users' files are: the sample with cells
changed, compressed, re-encoded, or not a CSV at all. Run in-process, as the installed command would."""
from __future__ import annotations

import json
import math
import warnings

import pandas as pd
from broken_sample import csv_of, sample_table, with_cells

from analysis.cli import cluster_main
from analysis.dataset import line_of, load_csv
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


def test_one_unreadable_cell_drops_its_row_and_says_which(capsys, sample_csv, tmp_path):
    path = tmp_path / "loud.csv"
    path.write_bytes(with_cells(sample_csv, "energy", "loud", [5]))  # line 7

    dataset = load_csv(path)
    result = summary(capsys, path)

    assert dataset.report.rows_kept == 650 and line_of(5) not in {line_of(int(p)) for p in dataset.frame.index}
    assert actions(result)["energy"] == {"column": "energy", "problem": "has text, not a number (first 'loud')",
                                         "policy": "dropped the row", "count": 1, "first_rows": [7]}
    assert result["data_report"]["rows_kept"] == 650
    clustered = pd.read_csv(tmp_path / "out" / "clustered.csv", dtype=str, keep_default_na=False)
    assert len(clustered) == 651 and clustered.loc[5, "energy"] == "loud" and clustered.loc[5, "cluster"] == ""


def test_unreadable_cells_in_up_to_1_percent_of_the_rows_are_dropped(sample_csv):
    header, rows = sample_table(sample_csv)
    allowed = math.floor(651 * 0.01)  # 6 rows, half with text in energy, half in tempo
    for position in range(allowed):
        rows[position * 50][header.index("energy" if position % 2 else "tempo")] = "n/a?"

    dataset = load_csv(csv_of(header, rows), name="six.csv")

    assert dataset.report.rows_read == 651 and dataset.report.rows_kept == 651 - allowed
    dropped = [(a.column, a.count, a.first_rows) for a in dataset.report.actions if a.policy == "dropped the row"]
    assert dropped == [("energy", 3, (52, 152, 252)), ("tempo", 3, (2, 102, 202))]


def test_unreadable_cells_in_more_than_1_percent_of_the_rows_refuse_the_file(capsys, sample_csv, tmp_path):
    path = tmp_path / "loud.csv"
    path.write_bytes(with_cells(sample_csv, "energy", "loud", range(10, 10 + math.floor(651 * 0.01) + 1)))

    assert refusal(capsys, path) == (
        "loud.csv: column energy has text 'loud' at lines 12, 13, 14, 15, 16 and 2 more "
        "(7 of 651 rows have text in a number column, more than the 1% that would be dropped)")
