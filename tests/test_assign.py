"""`amc assign`: new songs into the named clusters of an earlier `amc cluster` run, on the real sample."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from broken_sample import csv_of, sample_table, with_cells

from analysis.assign import assign, beyond_every_spread, centres_from_summary, centres_of
from analysis.cli import assign_main, cluster_main
from analysis.dataset import load_csv
from analysis.pipeline import run_analysis
from analysis.result import RunParams

ROOT = Path(__file__).resolve().parent.parent
AMC = str(Path(sys.executable).parent / "amc")
ASSIGNED = ["cluster", "cluster_name", "distance_to_centre", "fits_no_cluster"]


def amc(*args: object) -> subprocess.CompletedProcess:
    """The installed command as a user runs it, on this checkout's code."""
    return subprocess.run([AMC, *map(str, args)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def raw_text(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")


@pytest.fixture(scope="module")
def run_dir(sample_csv, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cluster") / "run"
    finished = amc("cluster", sample_csv, "--out", out, "--k-max", "6")
    assert finished.returncode == 0, finished.stderr
    return out


def assigned(capsys, new_csv: Path, run_dir: Path, out: Path, *options) -> tuple[pd.DataFrame, dict, str]:
    """assigned.csv as text, summary.json and stderr of ``amc assign`` run in this process, warnings as errors."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        status = assign_main([str(new_csv), "--run", str(run_dir), "--out", str(out), *map(str, options)])
    stderr = capsys.readouterr().err
    assert status == 0, stderr
    return raw_text(out / "assigned.csv"), json.loads((out / "summary.json").read_text(encoding="utf-8")), stderr


def refusal(capsys, new_csv: Path, run_dir: Path, out: Path, *options) -> str:
    status = assign_main([str(new_csv), "--run", str(run_dir), "--out", str(out), *map(str, options)])
    stderr = capsys.readouterr().err
    assert status == 2 and stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    assert not (out / "assigned.csv").exists()
    return stderr.removeprefix("amc assign: ").rstrip("\n")


def test_a_song_within_a_farther_clusters_spread_fits_it_and_one_beyond_every_spread_does_not():
    centres = np.array([[0.0, 0.0], [10.0, 0.0]])
    p99 = np.array([1.0, 8.0])  # a tight cluster beside a wide one
    songs = np.array([[4.0, 0.0], [0.0, 12.0], [0.5, 0.0]])
    squared = ((songs[:, None, :] - centres[None]) ** 2).sum(-1)
    nearest = squared.argmin(axis=1)
    # The first song is nearer the tight cluster, past its spread, yet within the wide one's: it fits.
    assert nearest.tolist() == [0, 0, 0]
    assert beyond_every_spread(squared, p99).tolist() == [False, True, False]


def test_the_runs_own_songs_land_in_their_own_named_clusters(run_dir, sample_csv, tmp_path):
    finished = amc("assign", sample_csv, "--run", run_dir, "--out", tmp_path / "new")

    assert finished.returncode == 0, finished.stderr
    assert "Traceback" not in finished.stderr and finished.stdout == ""
    given, clustered = raw_text(sample_csv), raw_text(run_dir / "clustered.csv")
    result = raw_text(tmp_path / "new" / "assigned.csv")
    assert list(result.columns) == [*given.columns, *ASSIGNED]
    pd.testing.assert_frame_equal(result[given.columns], given)
    same = (result["cluster"] == clustered["cluster"]) & (result["cluster_name"] == clustered["cluster_name"])
    assert same.mean() >= 0.99, f"{same.mean():.2%} of rows back in their own named cluster"
    summary = json.loads((tmp_path / "new" / "summary.json").read_text(encoding="utf-8"))
    run = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    assert summary["run_id"] == run["run_id"] and summary["k"] == run["chosen_k"]
    assert [c["name"] for c in summary["clusters"]] == [c["name"] for c in run["clusters"]]
    assert sum(c["songs"] for c in summary["clusters"]) == 651 == summary["songs_assigned"]
    flagged = result[result["fits_no_cluster"] == "true"]
    # At most about 1% of a cluster's own songs lie past its 99th-percentile distance, and fewer still past
    # every cluster's.
    assert 0 < len(flagged) <= 0.02 * 651
    assert summary["fits_no_cluster"]["count"] == len(flagged)
    assert [song["id_songs"] for song in summary["fits_no_cluster"]["songs"]] == list(flagged["id_songs"])
    assert summary["data_report"]["rows_read"] == summary["data_report"]["rows_kept"] == 651
    assert "651 of 651 rows kept" in finished.stderr


def test_centres_read_back_from_summary_json_are_the_runs_exactly(capsys, sample_csv, tmp_path):
    assert cluster_main([str(sample_csv), "--out", str(tmp_path), "--k-max", "4", "--clip", "1,99"]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    dataset = load_csv(sample_csv)
    result = run_analysis(dataset, RunParams(k_max=4, clip_percentiles=(1.0, 99.0)))

    read = centres_from_summary(summary, "summary.json")
    made = centres_of(result, dataset.frame, read.names)

    assert read.run_id == result.run_id and read.transform == result.transform and read.transform.clip_bounds
    assert read.names == {c["cluster"]: c["name"] for c in summary["clusters"]}
    np.testing.assert_array_equal(read.centroids, result.model().centroids)
    np.testing.assert_array_equal(read.fit_distances, made.fit_distances)
    assert (made.fit_distances > 0).all()


def test_reordered_columns_and_an_extra_column_are_kept(capsys, run_dir, sample_csv, tmp_path):
    header, rows = sample_table(sample_csv)
    order = list(reversed(range(len(header))))
    new_csv = tmp_path / "reordered.csv"
    new_csv.write_bytes(csv_of(["notes", *(header[i] for i in order)],
                               [[f"note {n}", *(row[i] for i in order)] for n, row in enumerate(rows)]))

    result, _, _ = assigned(capsys, new_csv, run_dir, tmp_path / "out")

    assert list(result.columns) == ["notes", *(header[i] for i in order), *ASSIGNED]
    assert result["notes"].iloc[7] == "note 7"
    clustered = raw_text(run_dir / "clustered.csv")
    assert (result["cluster"] == clustered["cluster"]).mean() >= 0.99


def test_a_names_file_replaces_the_runs_names(capsys, run_dir, sample_csv, tmp_path):
    run = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    names = tmp_path / "names.json"
    names.write_text(json.dumps({"run_id": run["run_id"], "k": run["chosen_k"], "names": {"1": " Team  pick "}}),
                     encoding="utf-8")

    result, summary, _ = assigned(capsys, sample_csv, run_dir, tmp_path / "out", "--names", names)

    assert set(result.loc[result["cluster"] == "1", "cluster_name"]) == {"Team pick"}
    assert set(result.loc[result["cluster"] == "0", "cluster_name"]) == {run["clusters"][0]["name"]}
    assert summary["clusters"][1]["name"] == "Team pick"


def test_a_names_file_for_another_k_is_refused(capsys, run_dir, sample_csv, tmp_path):
    names = tmp_path / "names.json"
    names.write_text('{"k": 11, "names": {"0": "Party"}}', encoding="utf-8")
    assert "names.json: names clusters for k=11" in refusal(capsys, sample_csv, run_dir, tmp_path / "out",
                                                           "--names", names)


def test_a_song_far_from_every_cluster_is_flagged(capsys, run_dir, sample_csv, tmp_path):
    header, rows = sample_table(sample_csv)
    extreme = {"tempo": "249", "loudness": "-59", "duration_ms": "4900000", "followers": "90000000",
               "speechiness": "0.5", "liveness": "1", "popularity_artists": "100", "popularity_songs": "100"}
    for column, value in extreme.items():
        rows[3][header.index(column)] = value
    new_csv = tmp_path / "far.csv"
    new_csv.write_bytes(csv_of(header, rows))

    result, summary, _ = assigned(capsys, new_csv, run_dir, tmp_path / "out")

    assert result["fits_no_cluster"].iloc[3] == "true"
    far = next(song for song in summary["fits_no_cluster"]["songs"] if song["line"] == 5)
    assert far["id_songs"] == rows[3][header.index("id_songs")]
    assert far["distance_to_centre"] > 2 * far["cluster_distance_p99"]
    counted = next(c for c in summary["clusters"] if c["cluster"] == far["cluster"])
    assert counted["fits_no_cluster"] >= 1


def test_formula_cells_and_headers_are_neutralised(capsys, run_dir, sample_csv, tmp_path):
    header, rows = sample_table(sample_csv)
    rows[0][header.index("name_song")] = '=HYPERLINK("http://x","y")'
    new_csv = tmp_path / "formula.csv"
    new_csv.write_bytes(csv_of([*header, "=cmd"], [[*row, "@SUM(1)"] for row in rows]))

    result, _, _ = assigned(capsys, new_csv, run_dir, tmp_path / "out")

    assert result["name_song"].iloc[0] == '\'=HYPERLINK("http://x","y")'
    assert "'=cmd" in result.columns and set(result["'=cmd"]) == {"'@SUM(1)"}


def test_rows_the_loader_drops_keep_blank_cells_and_are_reported(capsys, run_dir, sample_csv, tmp_path):
    new_csv = tmp_path / "dropped.csv"
    new_csv.write_bytes(with_cells(sample_csv, "energy", "1.5", [4]))

    result, summary, stderr = assigned(capsys, new_csv, run_dir, tmp_path / "out")

    assert len(result) == 651 and (result.iloc[4][ASSIGNED] == "").all()
    assert (result.drop(index=4)["cluster"] != "").all()
    assert summary["data_report"]["rows_kept"] == 650 == summary["songs_assigned"]
    assert {"column": "energy", "problem": "is outside 0..1", "policy": "dropped the row", "count": 1,
            "first_rows": [6]} in summary["data_report"]["actions"]
    assert "650 of 651 rows kept" in stderr


def test_a_summary_without_centres_asks_for_a_new_run(capsys, run_dir, sample_csv, tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    del summary["assignment"]
    (old / "summary.json").write_text(json.dumps(summary), encoding="utf-8")

    message = refusal(capsys, sample_csv, old, tmp_path / "out")

    assert message.startswith(f"{old / 'summary.json'}: ") and "re-run 'amc cluster'" in message


def header_with_first_rows(sample: Path, rows: int) -> str:
    return "\n".join(sample.read_text(encoding="utf-8").splitlines()[: rows + 1]) + "\n"


# name -> (the new songs' file, given the real sample and a scratch folder; text the one line must hold)
BAD_FILES = {
    "missing file": (lambda s, t: t / "nope.csv", "nope.csv"),
    "text in a number": (
        lambda s, t: write(t / "text.csv", header_with_first_rows(s, 3).replace(",133.088,", ",fast,")),
        "text.csv: column tempo has text 'fast' at line 2"),
    "log1p of a negative": (
        lambda s, t: write_bytes(t / "negative.csv", with_cells(s, "followers", "-5", [9])),
        "negative.csv: column followers is -5 at line 11"),
    "not a CSV": (lambda s, t: write(t / "page.csv", "<html><body>sign in</body></html>\n"), "page.csv"),
}


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_new_file_is_refused_with_one_line_naming_it(case, capsys, run_dir, sample_csv, tmp_path):
    new_file, mentioned = BAD_FILES[case]
    assert mentioned in refusal(capsys, new_file(sample_csv, tmp_path), run_dir, tmp_path / "out")


def test_a_run_directory_without_a_summary_is_refused_as_a_process(sample_csv, tmp_path):
    finished = amc("assign", sample_csv, "--run", tmp_path, "--out", tmp_path / "out")

    assert finished.returncode == 2 and "Traceback" not in finished.stderr
    assert finished.stderr.count("\n") == 1
    assert finished.stderr.startswith(f"amc assign: {tmp_path / 'summary.json'}: cannot be read")


def test_new_songs_land_on_the_runs_pca_map_where_its_own_songs_are(sample_csv):
    dataset = load_csv(sample_csv)
    result = run_analysis(dataset, RunParams(k_max=3))
    centres = centres_of(result, dataset.frame, {0: "a", 1: "b", 2: "c"}, 3)

    positions = assign(centres, dataset).pca_positions(result.pca)

    np.testing.assert_allclose(positions, result.pca.coords, atol=1e-4)
