"""What ``amc cluster`` does with a real file broken in the ways users' files are: the sample with cells
changed, compressed, re-encoded, or not a CSV at all. Run in-process, as the installed command would."""
from __future__ import annotations

import gzip
import html
import json
import math
import warnings
import zlib

import pandas as pd
import pytest
from broken_sample import csv_of, sample_table, with_cells

from analysis.cli import cluster_main
from analysis.dataset import DataError, line_of, load_csv
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


def test_a_gzip_compressed_sample_is_read_as_the_csv_inside(capsys, sample_csv, tmp_path):
    path = tmp_path / "songs.csv.gz"
    path.write_bytes(gzip.compress(sample_csv.read_bytes()))

    packed, plain = load_csv(path), load_csv(sample_csv)
    result = summary(capsys, path)

    assert packed.name == "songs.csv.gz" and packed.fingerprint == plain.fingerprint  # the same data, the same runs
    assert packed.raw.equals(plain.raw) and packed.report.actions == plain.report.actions
    assert result["data_report"]["rows_kept"] == 651
    assert load_csv(gzip.compress(sample_csv.read_bytes()), name="upload").raw.equals(plain.raw)  # told by its bytes


def gzip_bomb(expanded_bytes: int) -> bytes:
    """Zeros that expand a thousandfold, compressed a megabyte at a time (never held whole)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip wrapper
    zeros = bytes(2**20)
    return b"".join([*(packer.compress(zeros) for _ in range(expanded_bytes // len(zeros))), packer.flush()])


def test_a_gzip_bomb_is_refused_once_the_limit_is_decompressed(sample_csv, tmp_path):
    path = tmp_path / "bomb.csv.gz"
    path.write_bytes(gzip_bomb(64 * 2**20))
    assert path.stat().st_size < 2**20

    with pytest.raises(DataError) as refused:
        load_csv(path, max_bytes=8 * 2**20)

    assert str(refused.value) == "bomb.csv.gz: is more than the limit of 8 MB once decompressed"
    with pytest.raises(DataError, match=r"^big.csv.gz: is more than the limit of 0.0954 MB once decompressed$"):
        load_csv(gzip.compress(sample_csv.read_bytes()), name="big.csv.gz", max_bytes=100_000)
    with pytest.raises(DataError, match=r"^plain.csv: is 0.1\d\d MB, more than the limit of 0.0954 MB$"):
        load_csv(sample_csv.read_bytes(), name="plain.csv", max_bytes=100_000)


def test_a_damaged_gzip_file_is_refused_with_one_line(capsys, sample_csv, tmp_path):
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(gzip.compress(sample_csv.read_bytes())[:5000])
    assert refusal(capsys, path).startswith("cut.csv.gz: is a damaged gzip file (")


def test_the_sample_saved_as_windows_1252_is_read_with_a_warning(capsys, sample_csv, tmp_path):
    header, rows = sample_table(sample_csv)
    western = [row for row in rows if _encodes_as_windows_1252(row)]
    western[3][header.index("name_song")] = "Café Olé – déjà vu"
    path = tmp_path / "excel.csv"
    path.write_bytes(csv_of(header, western, encoding="cp1252"))

    dataset = load_csv(path)
    result = summary(capsys, path)

    assert dataset.raw["name_song"].iloc[3] == "Café Olé – déjà vu"
    assert dataset.report.rows_kept == len(western) > 400
    lines_with_accents = [line_of(p) for p, row in enumerate(western) if not "".join(row).isascii()]
    assert actions(result)["file"] == {
        "column": "file", "problem": "has bytes that are not UTF-8", "count": len(lines_with_accents),
        "policy": "read as Windows-1252, a guess: check the accented letters", "first_rows": lines_with_accents[:5]}
    clustered = pd.read_csv(tmp_path / "out" / "clustered.csv", dtype=str, keep_default_na=False, encoding="utf-8")
    assert clustered.loc[3, "name_song"] == "Café Olé – déjà vu"


def _encodes_as_windows_1252(row: list[str]) -> bool:
    try:
        "".join(row).encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def test_an_html_page_is_named_as_such(capsys, sample_csv, tmp_path):
    header, rows = sample_table(sample_csv)
    cells = "".join(f"<tr>{''.join(f'<td>{html.escape(cell)}</td>' for cell in row)}</tr>\n" for row in rows[:20])
    path = tmp_path / "songs.csv"  # a page saved from a browser under the name the user expected
    path.write_text(f"<!DOCTYPE html>\n<html><head><title>Songs</title></head>\n<body><table>\n{cells}</table></body></html>\n",
                    encoding="utf-8")
    assert refusal(capsys, path) == "songs.csv: this is an HTML page, not CSV; save or export the table as CSV"


def test_a_json_file_is_named_as_such(capsys, sample_csv, tmp_path):
    header, rows = sample_table(sample_csv)
    path = tmp_path / "songs.csv"
    path.write_text(json.dumps([dict(zip(header, row)) for row in rows], indent=2, ensure_ascii=False), encoding="utf-8")
    assert refusal(capsys, path) == (
        "songs.csv: this is JSON, not CSV; convert it to CSV with the columns of the songs table")
