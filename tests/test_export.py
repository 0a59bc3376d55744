"""The one export writer: formulas defused, everything else exactly as the user gave it."""
from __future__ import annotations

import csv
import hashlib
import os
import io
import re

import numpy as np
import pandas as pd
import pytest

from analysis.dataset import load_csv
from analysis import export
from analysis.export import (
    GivenCells,
    clustered_frame,
    csv_chunks,
    neutralise,
    safe_filename,
    spotify_uris,
    write_clustered_csv,
    write_csv,
)

SPREADSHEET_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def is_formula(cell: str) -> bool:
    return cell.startswith(SPREADSHEET_FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(cell)


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=1+2", "'=1+2"),
        ('=HYPERLINK("http://x.example","click")', '\'=HYPERLINK("http://x.example","click")'),
        ("+SUM(A1:A9)", "'+SUM(A1:A9)"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("\n=1", "'\n=1"),
        ("-", "'-"),
        ("- Intro", "'- Intro"),
        ("-inf", "'-inf"),
        ("+1\n=2", "'+1\n=2"),
        ("-3.5", "-3.5"),
        ("+3", "+3"),
        ("-.5", "-.5"),
        ("1.55E-05", "1.55E-05"),
        ("-1.55E-05", "-1.55E-05"),
        ("-13.757", "-13.757"),
        ("0", "0"),
        ("", ""),
        ("La Java", "La Java"),
        ("a=b", "a=b"),
        ("Ça c'est Paris", "Ça c'est Paris"),
        ("<img src=x onerror=alert(1)>", "<img src=x onerror=alert(1)>"),
    ],
)
def test_neutralise(cell, written):
    assert neutralise(cell) == written


def test_whole_columns_and_headers_are_neutralised_like_single_cells():
    cells = ["=1+2", "-3.5", "@x", "plain", "-", "1.55E-05", "\n=1", "+4"]
    frame = pd.DataFrame({"=bad header": cells, "-3.5": cells, "ok": cells})
    rows = list(csv.reader(io.StringIO(b"".join(csv_chunks(frame)).decode("utf-8"), newline="")))
    assert rows[0] == ["'=bad header", "-3.5", "ok"]
    assert [row[0] for row in rows[1:]] == [neutralise(cell) for cell in cells]


def test_csv_is_utf8_rfc4180_with_crlf_and_streams_in_chunks():
    frame = pd.DataFrame({"name": ['What A Wonderful "World"', "a, b", "two\nlines", "中文 ไทย"], "n": ["1", "2", "3", "4"]})
    chunks = list(csv_chunks(frame, chunk_rows=3))
    assert len(chunks) == 3  # header, then rows 1-3, then row 4
    assert all(isinstance(chunk, bytes) for chunk in chunks)
    assert b"".join(chunks) == (
        'name,n\r\n"What A Wonderful ""World""",1\r\n"a, b",2\r\n"two\nlines",3\r\n中文 ไทย,4\r\n'.encode("utf-8")
    )


@pytest.mark.parametrize("columns", [1, 5])
def test_cells_of_every_awkward_kind_are_written_as_pythons_csv_module_writes_them(columns):
    """The writer reads a column's bytes to find what to quote and defuse: checked against csv.writer on random
    cells of formula starts, quotes, commas, line breaks, numbers, empty cells and characters of several bytes."""
    rng = np.random.default_rng(columns)
    pieces = [*"ab=+-@\t\r\n,\"' .0123456789eE", "中", "ไ", "é", ""]

    def cell() -> str:
        return "".join(rng.choice(pieces, rng.integers(0, 6)))

    rows = [[cell() for _ in range(columns)] for _ in range(400)]
    header = [f"c{column}{cell()}" for column in range(columns)]
    expected = io.StringIO(newline="")
    csv.writer(expected, lineterminator="\r\n").writerows(
        [["'" + value if is_formula(value) else value for value in row] for row in [header, *rows]])
    frame = pd.DataFrame(rows, columns=header)
    for chunk_rows in (7, 400):  # slices of the columns, and whole columns
        assert b"".join(csv_chunks(frame, chunk_rows=chunk_rows)) == expected.getvalue().encode("utf-8")


def test_typed_and_missing_cells_are_written_as_text():
    frame = pd.DataFrame({"cluster": [0, 1], "score": [-0.25, np.nan]})
    assert b"".join(csv_chunks(frame)) == b"cluster,score\r\n0,-0.25\r\n1,\r\n"


def test_real_sample_round_trip_keeps_every_cell(sample_csv, tmp_path):
    dataset = load_csv(sample_csv)
    labels = np.arange(len(dataset.frame)) % 3
    names = {0: "Chill Acoustic", 1: "=HYPERLINK(\"x\")", 2: "Ünïcødé 中文"}
    path = tmp_path / "clustered.csv"
    write_csv(clustered_frame(dataset, labels, names), path)

    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    with sample_csv.open(newline="", encoding="utf-8") as handle:
        original = list(csv.reader(handle))
    assert rows[0] == original[0] + ["cluster", "cluster_name"]
    for written, given in zip(rows[1:], original[1:], strict=True):
        for out, cell in zip(written, given):
            assert out == ("'" + cell if is_formula(cell) else cell)
    assert [row[-2] for row in rows[1:4]] == ["0", "1", "2"]
    assert [row[-1] for row in rows[1:4]] == ["Chill Acoustic", "'=HYPERLINK(\"x\")", "Ünïcødé 中文"]
    assert load_csv(path).raw.drop(columns=["cluster", "cluster_name"]).equals(dataset.raw)


def test_real_sample_negative_numbers_stay_numbers(sample_csv):
    dataset = load_csv(sample_csv)
    written = b"".join(csv_chunks(dataset.raw)).decode("utf-8")
    assert "'-" not in written
    assert written.replace("\r\n", "\n") == sample_csv.read_text(encoding="utf-8").replace("\r\n", "\n")


def test_rows_dropped_by_the_loader_keep_blank_labels(tmp_path):
    content = (
        "id_songs,name_song,popularity_songs,duration_ms,explicit,id_artists,release_date,danceability,energy,key,"
        "loudness,mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo,time_signature,followers,"
        "genres,name_artists,popularity_artists\r\n"
        "a1,One,1,1000,0,x,1999,0.5,0.5,1,-5,1,0.1,0.1,0,0.1,0.5,100,4,10,[],A,1\r\n"
        "a2,Two,1,-1,0,x,1999,0.5,0.5,1,-5,1,0.1,0.1,0,0.1,0.5,100,4,10,[],A,1\r\n"
        "a3,Three,1,1000,0,x,1999,0.5,0.5,1,-5,1,0.1,0.1,0,0.1,0.5,100,4,10,[],A,1\r\n"
    ).encode()
    dataset = load_csv(content)
    frame = clustered_frame(dataset, np.array([1, 0], dtype=np.int16), {0: "Zero", 1: "One"})
    assert frame["cluster"].tolist() == ["1", "", "0"]
    assert frame["cluster_name"].tolist() == ["One", "", "Zero"]
    assert frame["duration_ms"].tolist() == ["1000", "-1", "1000"]


def test_a_reuploaded_export_gets_its_labels_replaced_not_repeated(sample_csv, tmp_path):
    dataset = load_csv(sample_csv)
    path = tmp_path / "first.csv"
    write_csv(clustered_frame(dataset, np.zeros(len(dataset.frame), dtype=int), {0: "old"}), path)
    again = clustered_frame(load_csv(path), np.ones(len(dataset.frame), dtype=int), {1: "new"})
    assert list(again.columns).count("cluster") == 1
    assert set(again["cluster_name"]) == {"new"}


@pytest.mark.parametrize("piece_rows", [100, export.FILE_CHUNK_ROWS])
def test_clustered_csv_from_cells_made_before_the_labels_is_the_export_byte_for_byte(sample_csv, tmp_path, monkeypatch,
                                                                                    piece_rows):
    monkeypatch.setattr(export, "FILE_CHUNK_ROWS", piece_rows)
    dataset = load_csv(sample_csv)
    labels = np.arange(len(dataset.frame)) % 4
    names = {0: "Chill", 1: "=HYPERLINK(\"x\")", 2: "a, \"quoted\"\nname", 3: "-3.5"}
    write_csv(clustered_frame(dataset, labels, names), tmp_path / "expected.csv")
    write_clustered_csv(GivenCells.of(dataset), labels, names, tmp_path / "clustered.csv")
    assert (tmp_path / "clustered.csv").read_bytes() == (tmp_path / "expected.csv").read_bytes()
    # a re-uploaded export with a row the loader drops: its old labels replaced, the dropped row's left blank
    given = pd.read_csv(tmp_path / "expected.csv", dtype=str, keep_default_na=False)
    given.loc[3, "duration_ms"] = "-1"
    reuploaded = load_csv(given.to_csv(index=False).encode())
    assert len(reuploaded.frame) == len(reuploaded.raw) - 1
    labels = np.zeros(len(reuploaded.frame), dtype=int)
    write_csv(clustered_frame(reuploaded, labels, {0: "new"}), tmp_path / "expected.csv")
    write_clustered_csv(GivenCells.of(reuploaded), labels, {0: "new"}, tmp_path / "clustered.csv")
    assert (tmp_path / "clustered.csv").read_bytes() == (tmp_path / "expected.csv").read_bytes()


def test_labels_must_match_the_kept_rows(sample_csv):
    dataset = load_csv(sample_csv)
    with pytest.raises(ValueError, match="3 labels for 651 kept rows"):
        clustered_frame(dataset, np.zeros(3, dtype=int), {})


def test_write_csv_leaves_no_partial_file(tmp_path):
    path = tmp_path / "out.csv"
    write_csv(pd.DataFrame({"a": ["1"]}), path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]
    with pytest.raises(AttributeError):
        write_csv("not a frame", tmp_path / "broken.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_spotify_uris_one_line_per_song():
    frame = pd.DataFrame({"id_songs": ["0IA0Hju8CAgYfV1hwhidBH", " 1b8HZQCqcqwbzlA1jRTp6E ", "", "bad id\n=1"]})
    assert spotify_uris(frame) == "spotify:track:0IA0Hju8CAgYfV1hwhidBH\nspotify:track:1b8HZQCqcqwbzlA1jRTp6E\n"
    assert spotify_uris(frame.iloc[:0]) == ""


@pytest.mark.parametrize(
    ("name", "suffix", "filename"),
    [
        ("Chill Acoustic", "csv", "Chill-Acoustic.csv"),
        ("My Mix: <2024> / vol.2", ".txt", "My-Mix-2024-vol.2.txt"),
        ("../../etc/passwd", "csv", "etc-passwd.csv"),
        ("เพลงช้า", "csv", "เพลงช้า.csv"),
        ("Ночь", "csv", "Ночь.csv"),
        ("con", "csv", "con_.csv"),
        ("...", "csv", "playlist.csv"),
        ("", "txt", "playlist.txt"),
        ("=cmd|' /C calc'!A0", "csv", "cmd-C-calc-A0.csv"),
        ("a" * 200, "csv", "a" * 80 + ".csv"),
    ],
)
def test_safe_filename(name, suffix, filename):
    assert safe_filename(name, suffix) == filename


def test_write_csv_gives_the_file_the_users_usual_permissions(tmp_path):
    previous = os.umask(0o022)
    try:
        write_csv(pd.DataFrame({"a": ["1"]}), tmp_path / "out.csv")
    finally:
        os.umask(previous)
    assert (tmp_path / "out.csv").stat().st_mode & 0o777 == 0o644


# sha256 of the real sample's clustered export as written before the ``excel`` option existed.
CLUSTERED_SAMPLE_SHA256 = "6169e9287beec0310c76a0844a5e00d17010581902b300e9ab1dd751095e5646"
BOM = b"\xef\xbb\xbf"


def sample_export(sample_csv) -> pd.DataFrame:
    dataset = load_csv(sample_csv)
    return clustered_frame(dataset, np.arange(len(dataset.frame)) % 3, {0: "Chill", 1: "=X", 2: "Ünï 中文"})


def test_the_default_export_is_unchanged_byte_for_byte_and_has_no_bom(sample_csv):
    written = b"".join(csv_chunks(sample_export(sample_csv), chunk_rows=100))
    assert hashlib.sha256(written).hexdigest() == CLUSTERED_SAMPLE_SHA256
    assert not written.startswith(BOM)


def test_an_export_for_excel_starts_with_the_bom_and_holds_the_same_rows(sample_csv):
    frame = sample_export(sample_csv)
    chunks = list(csv_chunks(frame, chunk_rows=100, excel=True))
    plain = list(csv_chunks(frame, chunk_rows=100))
    assert chunks[0] == BOM + plain[0] and chunks[1:] == plain[1:]
    rows = list(csv.reader(io.StringIO(b"".join(chunks).decode("utf-8-sig"), newline="")))
    assert rows == list(csv.reader(io.StringIO(b"".join(plain).decode("utf-8"), newline="")))
    assert rows[2][-1] == "'=X" and rows[3][-1] == "Ünï 中文"  # neutralised as ever


def test_write_csv_for_excel(tmp_path):
    frame = pd.DataFrame({"name": ["中文", "=1+2"]})
    write_csv(frame, tmp_path / "excel.csv", excel=True)
    write_csv(frame, tmp_path / "plain.csv")
    assert (tmp_path / "excel.csv").read_bytes() == BOM + (tmp_path / "plain.csv").read_bytes()
    assert (tmp_path / "plain.csv").read_bytes() == "name\r\n中文\r\n'=1+2\r\n".encode("utf-8")
