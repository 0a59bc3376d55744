"""The loader: every input shape it must read, every policy it applies, every file it must refuse."""
from __future__ import annotations

import csv
import hashlib
import io
import math
import pickle
import re
from pathlib import Path

import numpy as np
import pytest

from analysis.csvsource import READ_CHUNK_BYTES, scan
from analysis.dataset import DataError, load_csv, line_of
from analysis.result import REQUIRED_COLUMNS

BASE_ROW = {
    "id_songs": "0aaaaaaaaaaaaaaaaaaaa1",
    "name_song": "Quiet Harbour",
    "popularity_songs": "41",
    "duration_ms": "201000",
    "explicit": "0",
    "id_artists": "1bbbbbbbbbbbbbbbbbbbb1",
    "release_date": "1965",
    "danceability": "0.5",
    "energy": "0.5",
    "key": "5",
    "loudness": "-9.5",
    "mode": "1",
    "speechiness": "0.05",
    "acousticness": "0.5",
    "instrumentalness": "1.55E-05",
    "liveness": "0.1",
    "valence": "0.5",
    "tempo": "120",
    "time_signature": "4",
    "followers": "1200",
    "genres": "['folk']",
    "name_artists": "Lumo Vesta",
    "popularity_artists": "30",
}


def song(number: int, **changes: str) -> dict[str, str]:
    """A valid row with its own id; ``changes`` override cells."""
    return {**BASE_ROW, "id_songs": f"{number:022d}", "name_song": f"Song {number}", **changes}


def csv_bytes(rows: list[dict[str, str]], header: tuple[str, ...] = REQUIRED_COLUMNS, newline: str = "\r\n") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline)
    writer.writerow(header)
    writer.writerows([[row.get(column.strip(), "") for column in header] for row in rows])
    return buffer.getvalue().encode("utf-8")


def body(rows: list[dict[str, str]]) -> bytes:
    """Data lines only, to append after other content."""
    return csv_bytes(rows).split(b"\r\n", 1)[1]


def load_rows(tmp_path: Path, rows: list[dict[str, str]], **options):
    path = tmp_path / "songs.csv"
    path.write_bytes(csv_bytes(rows, **options))
    return load_csv(path)


def refusal(tmp_path: Path, content: bytes, **options) -> str:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(DataError) as caught:
        load_csv(path, **options)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("bad.csv: ")
    return message


def action(dataset, column: str, problem_part: str):
    found = [a for a in dataset.report.actions if a.column == column and problem_part in a.problem]
    assert len(found) == 1, dataset.report.lines()
    return found[0]


# --- the real sample -------------------------------------------------------------------------


def test_real_sample_loads_every_row_with_its_exact_text(sample_csv):
    data = sample_csv.read_bytes()
    dataset = load_csv(sample_csv)

    with sample_csv.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert list(dataset.raw.columns) == rows[0]
    assert dataset.raw.to_numpy().tolist() == rows[1:]
    assert len(dataset.frame) == dataset.report.rows_kept == dataset.report.rows_read == 651
    assert dataset.fingerprint == hashlib.sha256(data).hexdigest()[:20]
    assert dataset.name == sample_csv.name


def test_real_sample_types_dates_genres_and_numbers(sample_csv):
    frame = load_csv(sample_csv).frame
    by_shape = {
        "year": frame[frame["release_date"].str.fullmatch(r"\d{4}")],
        "day first": frame[frame["release_date"].str.fullmatch(r"\d{2}-\d{2}-\d{4}")],
    }
    for shape, rows in by_shape.items():
        assert len(rows) > 50, shape
        expected = rows["release_date"].str[-4:].astype(float)
        assert (rows["release_year"] == expected).all(), shape
    assert frame["release_year"].notna().all()
    assert frame.loc[0, "genre_list"] == ("vintage chanson",)
    assert (frame.loc[frame["genres"] == "[]", "genre_list"] == ()).all()
    assert frame["genre_list"].map(len).max() >= 2
    assert frame.loc[0, "instrumentalness"] == pytest.approx(1.55e-05)
    assert frame[list(REQUIRED_COLUMNS)].shape[1] == 23
    assert str(frame["popularity_songs"].dtype) == "float64"


def test_real_sample_keeps_non_latin_names_and_counts_repeated_songs(sample_csv):
    dataset = load_csv(sample_csv)
    names = " ".join(dataset.frame["name_song"]) + " ".join(dataset.frame["name_artists"])
    for script, pattern in {"Thai": "[\u0e00-\u0e7f]", "Cyrillic": "[\u0400-\u04ff]", "Chinese": "[\u4e00-\u9fff]"}.items():
        assert re.search(pattern, names), script
    assert "Ça c'est Paris" in set(dataset.frame["name_song"])
    assert action(dataset, "name_song", "another id").count == 15


# --- shapes it reads -----------------------------------------------------------------------


@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_crlf_and_lf_give_the_same_rows(tmp_path, newline):
    dataset = load_rows(tmp_path, [song(1), song(2, tempo="99.5")], newline=newline)
    assert dataset.raw["tempo"].tolist() == ["120", "99.5"]
    assert dataset.frame["tempo"].tolist() == [120.0, 99.5]


def test_a_utf8_byte_order_mark_is_ignored(tmp_path):
    content = b"\xef\xbb\xbf" + csv_bytes([song(1)])
    dataset = load_csv(content, name="bom.csv")
    assert list(dataset.raw.columns) == list(REQUIRED_COLUMNS)
    assert dataset.name == "bom.csv"


def test_quoted_fields_with_commas_doubled_quotes_and_line_breaks(tmp_path):
    tricky = 'What A Wonderful "World", Again'
    dataset = load_rows(tmp_path, [song(1, name_song=tricky), song(2, name_song="Two\nLines")])
    assert dataset.raw["name_song"].tolist() == [tricky, "Two\nLines"]
    assert b'"What A Wonderful ""World"", Again"' in csv_bytes([song(1, name_song=tricky)])


def test_line_numbers_stay_right_after_blank_lines_and_multi_line_fields(tmp_path):
    content = csv_bytes([song(1, name_song="Two\nLines"), song(2)]) + b"\r\n" + body([song(3, tempo="fast")])
    message = refusal(tmp_path, content)
    # header 1, the two-line song 2-3, song 2 on 4, a blank line 5, the bad song on 6
    assert message.startswith("bad.csv: column tempo has text 'fast' at line 6 (")


@pytest.mark.parametrize(
    ("cell", "year"),
    [
        ("1965", 1965.0),
        ("28-01-2012", 2012.0),
        ("2012-01-28", 2012.0),
        (" 2003 ", 2003.0),
        ("29-02-2020", 2020.0),
        ("2000-02-29", 2000.0),  # divisible by 400: a leap year
        ("29-02-1900", math.nan),  # divisible by 100 only: not one
        ("29-02-2019", math.nan),
        ("00-01-2012", math.nan),
        ("2012-00-10", math.nan),
        ("1799", math.nan),
        ("٢٠١٢", math.nan),  # Arabic-Indic digits are not read as a year
        ("01-28-2012", math.nan),  # month first: no 28th month, and never guessed
        ("31-02-2012", math.nan),
        ("2012/01/28", math.nan),
        ("28.01.2012", math.nan),
        ("Jan 2012", math.nan),
        ("0000", math.nan),
        ("", math.nan),
    ],
)
def test_release_date_shapes(tmp_path, cell, year):
    dataset = load_rows(tmp_path, [song(1, release_date=cell), song(2)])
    got = dataset.frame["release_year"].iloc[0]
    if math.isnan(year):
        assert math.isnan(got)
        flagged = action(dataset, "release_date", "YYYY")
        assert (flagged.count, flagged.first_rows, flagged.policy) == (1, (2,), "release_year unknown, flagged")
    else:
        assert got == year
        assert not dataset.report.actions


@pytest.mark.parametrize(
    ("cell", "genres", "flagged"),
    [
        ("[]", (), False),
        ("['pop']", ("pop",), False),
        ("['latin', 'latin alternative']", ("latin", "latin alternative"), False),
        ('["k-pop", "j-rock"]', ("k-pop", "j-rock"), False),
        ("pop", (), True),
        ("['pop'", (), True),
        ("[1, 2]", (), True),
        ("{'pop'}", (), True),
        ("__import__('os').system('echo hacked')", (), True),
        ("[" * 2000 + "]" * 2000, (), True),
        ("", (), True),
    ],
)
def test_genres_list_literals_parsed_safely(tmp_path, cell, genres, flagged):
    dataset = load_rows(tmp_path, [song(1, genres=cell), song(2)])
    assert dataset.frame["genre_list"].iloc[0] == genres
    assert any(a.column == "genres" for a in dataset.report.actions) == flagged


def test_scientific_notation_and_padding_are_numbers(tmp_path):
    dataset = load_rows(tmp_path, [song(1, instrumentalness="1.55E-05", followers=" 1e3 "), song(2)])
    assert dataset.frame["instrumentalness"].iloc[0] == pytest.approx(1.55e-05)
    assert dataset.frame["followers"].iloc[0] == 1000.0
    assert dataset.raw["followers"].iloc[0] == " 1e3 "


def test_padded_header_names_are_trimmed(tmp_path):
    header = tuple(f" {column} " if column == "tempo" else column for column in REQUIRED_COLUMNS)
    dataset = load_rows(tmp_path, [song(1)], header=header)
    assert "tempo" in dataset.raw.columns
    assert dataset.frame["tempo"].tolist() == [120.0]


def test_extra_columns_are_kept_raw_but_not_typed(tmp_path):
    header = (*REQUIRED_COLUMNS, "comment")
    dataset = load_rows(tmp_path, [{**song(1), "comment": "=1+1"}], header=header)
    assert dataset.raw["comment"].tolist() == ["=1+1"]
    assert list(dataset.frame.columns) == [*REQUIRED_COLUMNS, "release_year", "genre_list"]


# --- policies -----------------------------------------------------------------------------


def test_missing_and_non_finite_values_get_the_column_median(tmp_path):
    rows = [song(1, energy=""), song(2, energy="0.2"), song(3, energy="0.4"), song(4, energy="inf"), song(5, energy="0.9")]
    rows.append(song(6, energy="-inf", duration_ms="-Infinity"))
    dataset = load_rows(tmp_path, rows)
    assert dataset.frame["energy"].tolist() == [0.4, 0.2, 0.4, 0.4, 0.9, 0.4]
    assert dataset.frame["duration_ms"].iloc[-1] == 201000.0
    imputed = action(dataset, "energy", "missing")
    assert (imputed.count, imputed.first_rows) == (3, (2, 5, 7))
    assert imputed.policy == "imputed the column median (0.4)"


def test_missing_categorical_gets_the_most_common_value(tmp_path):
    rows = [song(1, key="NA"), song(2, key="7"), song(3, key="7"), song(4, key="2")]
    dataset = load_rows(tmp_path, rows)
    assert dataset.frame["key"].iloc[0] == 7.0
    assert action(dataset, "key", "missing").policy == "imputed the most common value (7)"


def test_tempo_zero_is_unknown_and_gets_the_median_of_real_tempos(tmp_path):
    rows = [song(1, tempo="0"), song(2, tempo="100"), song(3, tempo="110"), song(4, tempo="130")]
    dataset = load_rows(tmp_path, rows)
    assert dataset.frame["tempo"].tolist() == [110.0, 100.0, 110.0, 130.0]
    assert action(dataset, "tempo", "is 0").first_rows == (2,)


def test_time_signature_zero_is_kept_and_flagged(tmp_path):
    dataset = load_rows(tmp_path, [song(1), song(2, time_signature="0")])
    assert dataset.frame["time_signature"].tolist() == [4.0, 0.0]
    flagged = action(dataset, "time_signature", "is 0")
    assert (flagged.count, flagged.first_rows, flagged.policy) == (1, (3,), "kept, flagged")


@pytest.mark.parametrize("column", ["danceability", "energy", "speechiness", "acousticness", "instrumentalness", "liveness", "valence"])
@pytest.mark.parametrize("value", ["1.2", "-0.01"])
def test_probability_outside_0_1_drops_the_row(tmp_path, column, value):
    dataset = load_rows(tmp_path, [song(1), song(2, **{column: value}), song(3)])
    assert dataset.frame.index.tolist() == [0, 2]
    assert len(dataset.raw) == 3
    dropped = action(dataset, column, "outside 0..1")
    assert (dropped.count, dropped.first_rows, dropped.policy) == (1, (3,), "dropped the row")
    assert (dataset.report.rows_read, dataset.report.rows_kept) == (3, 2)


@pytest.mark.parametrize("value", ["0", "-5000"])
def test_duration_not_positive_drops_the_row(tmp_path, value):
    dataset = load_rows(tmp_path, [song(1, duration_ms=value), song(2)])
    assert dataset.frame.index.tolist() == [1]
    assert action(dataset, "duration_ms", "negative").first_rows == (2,)


def test_repeated_ids_are_kept_and_flagged(tmp_path):
    dataset = load_rows(tmp_path, [song(1), song(2), {**song(1), "name_song": "Other"}])
    assert len(dataset.frame) == 3
    flagged = action(dataset, "id_songs", "repeats")
    assert (flagged.count, flagged.first_rows) == (1, (4,))


def test_same_song_under_another_id_is_kept_and_counted(tmp_path):
    rows = [song(1, name_song="Echo"), song(2, name_song="Echo"), song(3, name_song="Echo", name_artists="Other One")]
    dataset = load_rows(tmp_path, rows)
    counted = action(dataset, "name_song", "another id")
    assert (counted.count, counted.first_rows, counted.policy) == (1, (3,), "kept, counted")


def test_report_lines_name_column_count_lines_and_policy(tmp_path):
    dataset = load_rows(tmp_path, [song(1), song(2, valence="7")])
    assert dataset.report.lines() == ["valence: is outside 0..1 in 1 row(s) (first at line 3): dropped the row"]


def test_line_of_counts_the_header_as_line_1():
    assert line_of(0) == 2
    assert line_of(41) == 43


# --- refusals -------------------------------------------------------------------------------


def test_refuses_an_empty_file(tmp_path):
    assert refusal(tmp_path, b"") == "bad.csv: is empty"
    assert refusal(tmp_path, b"\xef\xbb\xbf \r\n") == "bad.csv: is empty"


def test_refuses_a_header_without_rows(tmp_path):
    assert refusal(tmp_path, csv_bytes([])) == "bad.csv: has a header but no rows"


@pytest.mark.parametrize(("delimiter", "word"), [(";", "semicolons"), ("\t", "tabs"), ("|", "pipes")])
def test_refuses_the_wrong_delimiter_and_says_which(tmp_path, delimiter, word):
    content = csv_bytes([song(1)]).decode().replace(",", delimiter).encode()
    assert refusal(tmp_path, content) == f"bad.csv: fields are separated by {word}, not commas; save it as comma-separated CSV"


def test_refuses_missing_columns_and_lists_them(tmp_path):
    header = tuple(c for c in REQUIRED_COLUMNS if c not in {"tempo", "genres"})
    assert refusal(tmp_path, csv_bytes([song(1)], header=header)) == "bad.csv: missing required column(s) tempo, genres"


def test_refuses_duplicate_column_names(tmp_path):
    content = csv_bytes([song(1)], header=(*REQUIRED_COLUMNS, "energy"))
    assert refusal(tmp_path, content) == "bad.csv: duplicate column name(s) energy in the header"


def test_refuses_text_in_a_numeric_column_naming_column_value_and_lines(tmp_path):
    rows = [song(1), song(2), song(3, tempo="fast"), song(4), song(5), song(6), song(7, tempo="slow")]
    content = csv_bytes(rows)
    assert refusal(tmp_path, content) == (
        "bad.csv: column tempo has text 'fast' at lines 4, 8 "
        "(2 of 7 rows have text in a number column, more than the 1% that would be dropped)")


def test_text_refusal_cuts_the_list_of_lines(tmp_path):
    rows = [song(i, popularity_songs="n/a!") for i in range(8)]
    message = refusal(tmp_path, csv_bytes(rows))
    assert message.startswith("bad.csv: column popularity_songs has text 'n/a!' at lines 2, 3, 4, 5, 6 and 3 more (")


def test_refuses_a_row_with_the_wrong_number_of_fields(tmp_path):
    content = csv_bytes([song(1), song(2)]) + b"x,y\r\n"
    assert refusal(tmp_path, content) == "bad.csv: line 4 has 2 fields but the header has 23"


def test_refuses_an_unclosed_quote(tmp_path):
    content = csv_bytes([song(1)]) + body([song(2, name_song="OPEN")]).replace(b"OPEN", b'"OPEN')
    assert refusal(tmp_path, content) == 'bad.csv: line 3 opens a quote (") that is not closed on that line'


def test_refuses_binary_bytes_naming_offset_and_line(tmp_path):
    content = csv_bytes([song(1)]) + b"\x00\x01\x02"
    offset = len(csv_bytes([song(1)]))
    assert refusal(tmp_path, content) == f"bad.csv: holds binary data (a NUL byte at byte offset {offset}, line 3), not CSV text"


@pytest.mark.parametrize(
    "name_song, bad_byte",
    [
        ("Caf\x81", b"\x81"),  # no character in Windows-1252 either
        ("Café\x07", b"\xe9"),  # Windows-1252 would read a control character
        ("Ærø Café", b"\xe9"),  # UTF-8 with one damaged byte: Windows-1252 would garble the rest
    ],
)
def test_refuses_bytes_neither_utf8_nor_windows_1252_naming_offset_and_line(tmp_path, name_song, bad_byte):
    content = csv_bytes([song(1), song(2, name_song=name_song)]).replace("é".encode(), b"\xe9").replace(
        "\x81".encode(), b"\x81")
    offset = content.index(bad_byte)
    message = refusal(tmp_path, content)
    assert message == f"bad.csv: is not UTF-8 text (byte 0x{bad_byte[0]:02X} at byte offset {offset}, line 3); save it as UTF-8 CSV"


def padded_past_a_chunk(rows_after: bytes) -> bytes:
    """Songs enough to fill the loader's first read chunk, then ``rows_after``: what it finds there must
    be named with the same offsets and lines as in a small file."""
    filler = csv_bytes([song(number) for number in range(1, 1 + READ_CHUNK_BYTES // 150)])
    return filler + rows_after


def test_bytes_past_the_first_chunk_are_named_by_their_offset_and_line(tmp_path):
    bad = padded_past_a_chunk(body([song(1_000_000, name_song="Caf\x81")]).replace("\x81".encode(), b"\x81"))
    assert len(bad) > READ_CHUNK_BYTES
    offset, lines = bad.index(b"\x81"), bad.count(b"\n")
    message = refusal(tmp_path, bad)
    assert message == f"bad.csv: is not UTF-8 text (byte 0x81 at byte offset {offset}, line {lines}); save it as UTF-8 CSV"
    binary = padded_past_a_chunk(b"\x00")
    offset, line = len(binary) - 1, binary.count(b"\n") + 1
    assert refusal(tmp_path, binary) == f"bad.csv: holds binary data (a NUL byte at byte offset {offset}, line {line}), not CSV text"


@pytest.mark.parametrize("cut", range(-3, 4))
def test_lines_and_characters_split_by_a_chunk_boundary_are_read_whole(cut):
    boundary = 2 * READ_CHUNK_BYTES
    content = padded_past_a_chunk(body([song(2_000_000, name_song="Ærø Café 東京")]))
    at = content.index("Ærø".encode()) + 1  # inside a two-byte character
    content = content.replace(b"Song 1,", b"Song 1" + b"x" * (boundary - at + cut) + b",", 1)
    assert content.index("Ærø".encode()) + 1 == boundary + cut
    assert scan(data=content).lines == content.count(b"\n")
    dataset = load_csv(content)
    assert dataset.raw["name_song"].iloc[-1] == "Ærø Café 東京" and dataset.report.actions == ()
    crlf = content.index(b"\r\n", boundary)
    shifted = content.replace(b"Song 2,", b"Song 2" + b"y" * (boundary + READ_CHUNK_BYTES - 1 - crlf) + b",", 1)
    assert shifted[boundary + READ_CHUNK_BYTES - 1 : boundary + READ_CHUNK_BYTES + 1] == b"\r\n"
    assert scan(data=shifted).lines == shifted.count(b"\n")
    lone_returns = shifted.replace(b"\r\n", b"\r")
    assert scan(data=lone_returns).lines == shifted.count(b"\n")


def test_windows_1252_past_the_first_chunk_names_every_line_once(tmp_path):
    western = padded_past_a_chunk(body([song(3_000_000, name_song="Café"), song(3_000_001, name_song="Olé")]))
    path = tmp_path / "western.csv"
    path.write_bytes(western.replace("é".encode(), b"\xe9"))
    dataset = load_csv(path)
    (guess,) = [action for action in dataset.report.actions if action.column == "file"]
    last = western.count(b"\n")
    assert (guess.count, guess.first_rows) == (2, (last - 1, last))
    assert list(dataset.raw["name_song"].iloc[-2:]) == ["Café", "Olé"]


def test_refuses_utf16(tmp_path):
    content = csv_bytes([song(1)]).decode().encode("utf-16")
    assert refusal(tmp_path, content) == "bad.csv: is UTF-16 text; save it as UTF-8 CSV"


def test_refuses_more_rows_than_the_limit(tmp_path):
    content = csv_bytes([song(i) for i in range(6)])
    assert refusal(tmp_path, content, max_rows=5) == "bad.csv: has 6 rows, more than the limit of 5"
    assert len(load_csv(content, max_rows=6).frame) == 6


def test_refuses_when_every_row_is_dropped(tmp_path):
    message = refusal(tmp_path, csv_bytes([song(1, energy="2"), song(2, duration_ms="0")]))
    assert message.startswith("bad.csv: no usable rows: every one of the 2 rows was dropped (")
    assert "energy is outside 0..1 in 1" in message and "duration_ms is 0 or negative in 1" in message


def test_refuses_a_column_without_numbers(tmp_path):
    message = refusal(tmp_path, csv_bytes([song(1, loudness=""), song(2, loudness="NaN")]))
    assert message == "bad.csv: column loudness has no usable numbers"


def test_refuses_a_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"^nowhere\.csv: cannot be read \(No such file or directory\)$"):
        load_csv(tmp_path / "nowhere.csv")


def test_uploaded_bytes_are_named_in_messages():
    with pytest.raises(DataError, match="^uploaded file: is empty$"):
        load_csv(b"")


# --- the input is left alone, and big files load fast ---------------------------------------


def test_the_input_file_is_never_modified(tmp_path):
    path = tmp_path / "songs.csv"
    content = csv_bytes([song(1, tempo="0"), song(2, energy=""), song(3, valence="3")])
    path.write_bytes(content)
    before = path.stat().st_mtime_ns
    load_csv(path)
    assert path.read_bytes() == content
    assert path.stat().st_mtime_ns == before


def test_the_same_bytes_give_the_same_fingerprint_and_any_change_another(tmp_path):
    content = csv_bytes([song(1), song(2)])
    assert load_csv(content).fingerprint == load_csv(content, name="x.csv").fingerprint
    assert load_csv(content).fingerprint != load_csv(content.replace(b"Song 2", b"Song 3")).fingerprint


def test_96k_rows_of_real_lines_load_whole(sample_csv):
    # Speed is measured by `make bench`; here only that a full-size file loads completely.
    header, body = sample_csv.read_bytes().split(b"\r\n", 1)
    dataset = load_csv(header + b"\r\n" + body * 148)
    assert len(dataset.frame) == 651 * 148
    assert np.isfinite(dataset.frame["tempo"]).all()


@pytest.mark.parametrize(
    ("data", "lines"),
    [(b"x", 1), (b"a\nb\n", 2), (b"a\r\nb", 2), (b"a\rb\r", 2), (b"\r\r\n\n", 3), (b"a\r\n\r", 2), (b"a\n\rb", 3)],
)
def test_line_count_knows_lf_crlf_and_lone_cr(data, lines):
    assert scan(data=data).lines == lines


@pytest.mark.parametrize("dropped", [False, True])
def test_a_dataset_pickles_back_whole_and_text_frame_shares_with_raw_is_pickled_once(sample_csv, dropped):
    content = sample_csv.read_bytes()
    if dropped:  # a row dropped: frame's text is its own, indexed by raw position
        content = content.replace(b"\r\n", b"\r\n" + csv_bytes([song(1, energy="2")]).split(b"\r\n")[1] + b"\r\n", 1)
    dataset = load_csv(content)
    assert (len(dataset.frame) < len(dataset.raw)) is dropped
    back = pickle.loads(pickle.dumps(dataset, protocol=pickle.HIGHEST_PROTOCOL))
    for part in ("raw", "frame"):
        ours, theirs = getattr(back, part), getattr(dataset, part)
        assert ours.equals(theirs) and list(ours.dtypes) == list(theirs.dtypes)
        assert type(ours.index) is type(theirs.index) and ours.index.equals(theirs.index)
    assert (back.name, back.fingerprint, back.report) == (dataset.name, dataset.fingerprint, dataset.report)
    assert list(back.frame["genre_list"]) == list(dataset.frame["genre_list"])
    text_once = len(pickle.dumps(dataset)) < len(pickle.dumps(dataset.raw)) + len(pickle.dumps(dataset.frame))
    assert text_once is not dropped
