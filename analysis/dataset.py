"""Load a songs CSV, check it, and say exactly what was done about every problem found.

Everything is read as text first, so ``Dataset.raw`` keeps the input exactly as written (exports
give it back untouched); the typed ``Dataset.frame`` is built from it. The input file is never
modified. A gzip-compressed file is read as the CSV inside it; ``max_bytes`` and ``max_rows`` apply
to that CSV. Bytes that are not UTF-8 but read as Windows-1252 into printable text are read so,
and the report says the encoding was guessed.

Refused with a one-line ``DataError`` naming the file (and column and first lines where it applies):
empty file, header only, an HTML page or JSON, wrong delimiter, missing required columns, duplicate
column names, a row with the wrong number of fields, text in numeric columns in more than 1% of the
rows, binary bytes, bytes neither UTF-8 nor Windows-1252, a damaged gzip file, more than
``max_bytes`` bytes or ``max_rows`` rows, or no row left after the policy below.

Policy for everything else (each case found is listed in ``Dataset.report`` with its count and
first line numbers):

================================================  ==========================================
found                                             done
================================================  ==========================================
text in a numeric column, in at most 1% of rows   dropped the row
missing or non-finite value in a numeric column   imputed the column median (categorical
                                                  columns: their most common value)
tempo is 0 (tempo unknown)                        imputed the median of the non-zero tempos
time_signature is 0                               kept, flagged
probability column outside 0..1                   dropped the row
duration_ms <= 0                                  dropped the row
release_date not YYYY, DD-MM-YYYY or YYYY-MM-DD   release_year unknown (NaN), flagged
genres not a list literal of strings              read as no genres, flagged
id_songs repeated                                 kept, flagged
same song (name + artist) under several ids       kept, counted
================================================  ==========================================

A numeric cell is missing when blank or one of NA, N/A, NaN, null, none (any case); "inf" is not
finite. Medians are taken over the kept rows. Line numbers count the header as line 1 and stay
right across blank lines and line breaks inside quoted fields.
"""
from __future__ import annotations

import ast
import codecs
import contextlib
import csv
import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from analysis.csvsource import CsvSource, HighByteLines, NotUtf8, SourceError, open_source, windows_1252_copy
from analysis.limits import CSV_MAX_BYTES, CSV_MAX_ROWS
from analysis.result import (
    AUDIO_FEATURES,
    CATEGORICAL_NUMERIC,
    REQUIRED_COLUMNS,
    DataAction,
    DataReport,
)

PROBABILITY_COLUMNS: tuple[str, ...] = (
    "danceability",
    "energy",
    "speechiness",
    "acousticness",
    "instrumentalness",
    "liveness",
    "valence",
)
NUMERIC_COLUMNS: tuple[str, ...] = AUDIO_FEATURES + CATEGORICAL_NUMERIC
MISSING_MARKERS = ("", "na", "n/a", "nan", "null", "none")
FIRST_LINES_SHOWN = 5
# Rows with text in a number column are dropped up to this share of the file: past it the file is
# more likely in another layout than slipped, and the user should look at it.
UNREADABLE_ROWS_DROPPED = 0.01
# Years outside this range are typing slips, not release dates.
YEAR_RANGE = (1800, 2100)
# A genres cell longer than this is not a genre list; literal_eval on huge input can exhaust memory.
MAX_GENRES_TEXT = 5_000
OTHER_DELIMITERS = {";": "semicolons", "\t": "tabs", "|": "pipes"}

# The release date shapes, each told by its form (never guessed): the pattern, then where the
# year, month and day sit in the text (a bare year stands for the 1st of January).
DATE_SHAPES = (
    (r"^[0-9]{4}$", (0, 4), None, None),
    (r"^[0-9]{2}-[0-9]{2}-[0-9]{4}$", (6, 10), (3, 5), (0, 2)),
    (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", (0, 4), (5, 7), (8, 10)),
)
DAYS_IN_MONTH = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
MIN_ROW_BYTES = 40  # 22 commas, 20 numbers of a digit at least, an id and two names
SHORT_ROWS_CHECKED_FROM = 10_000  # rows: a small file of short rows costs little to read and explain
# What a file that is not CSV at all starts with, told only when its header has no column we need.
HTML_START = re.compile(r"\s*<(!doctype\s+html|html|head|body|!--)", re.IGNORECASE)
JSON_START = re.compile(r"\s*[{\[]")


class DataError(ValueError):
    """Input that cannot be used; the message is one line naming the file, column and first bad lines."""


class _NotUtf8(DataError):
    """Bytes that are not UTF-8: ``load_csv`` reads them as Windows-1252 when they can be, else refuses them."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """A loaded file: ``raw`` every row as text; ``frame`` the kept rows typed, indexed by raw position."""

    name: str
    fingerprint: str
    raw: pd.DataFrame
    frame: pd.DataFrame
    report: DataReport

    def __getstate__(self) -> dict:
        """Pickled as Arrow tables, whose buffers pickle as they are: pandas pickles Arrow-backed text by
        joining each column's chunks into a copy, every copy held until the whole pickle is written (2.7x
        the file at 200k songs). Text ``frame`` shares with ``raw`` is pickled once."""
        shared = _text_shared_with_raw(self)
        objects = [column for column in self.frame.columns if self.frame[column].dtype == object]
        own = [column for column in self.frame.columns if column not in shared and column not in objects]
        return {"name": self.name, "fingerprint": self.fingerprint, "report": self.report,
                "raw": pa.Table.from_pandas(self.raw), "frame": pa.Table.from_pandas(self.frame[own]),
                "objects": self.frame[objects], "columns": list(self.frame.columns)}

    def __setstate__(self, state: dict) -> None:
        raw, own, objects = state["raw"].to_pandas(), state["frame"].to_pandas(), state["objects"]
        columns = {column: (own[column] if column in own.columns else objects[column] if column in objects.columns
                            else raw[column]) for column in state["columns"]}
        for field, value in (("name", state["name"]), ("fingerprint", state["fingerprint"]), ("raw", raw),
                             ("frame", pd.DataFrame(columns, index=own.index, copy=False)),
                             ("report", state["report"])):
            object.__setattr__(self, field, value)


def _text_shared_with_raw(dataset: Dataset) -> list[str]:
    """The text columns ``frame`` took from ``raw`` unchanged: every one, when no row was dropped."""
    if len(dataset.frame) != len(dataset.raw):
        return []
    return [column for column in dataset.frame.columns
            if column in dataset.raw.columns and dataset.frame[column].dtype == dataset.raw[column].dtype]


def line_of(position: int) -> int:
    """File line of the raw row at ``position`` (the header is line 1)."""
    return position + 2


def load_csv(source: str | Path | bytes, name: str | None = None, max_rows: int = CSV_MAX_ROWS,
             max_bytes: int = CSV_MAX_BYTES) -> Dataset:
    """Read, check and type a songs CSV. ``source`` is a path, or the file's bytes; either may be
    gzip-compressed. ``max_bytes`` and ``max_rows`` bound the CSV itself, after decompression."""
    name = name or ("uploaded file" if isinstance(source, bytes) else Path(source).name)
    with contextlib.ExitStack() as temporary:
        try:
            csv_source = temporary.enter_context(open_source(source, max_bytes))
        except SourceError as error:
            raise DataError(f"{name}: {error}") from None
        except OSError as error:
            raise DataError(f"{name}: cannot be read ({error.strerror or error})") from None
        try:
            return _load(csv_source, name, max_rows)
        except _NotUtf8 as not_utf8:
            copied = windows_1252_copy(csv_source, temporary)
            if copied is None:
                raise DataError(str(not_utf8)) from None
        utf8, high_byte_lines = copied
        dataset = _load(utf8, name, max_rows)
    report = dataclasses.replace(dataset.report, actions=(_guessed_encoding(high_byte_lines), *dataset.report.actions))
    return dataclasses.replace(dataset, report=report)


def _load(source: CsvSource, name: str, max_rows: int) -> Dataset:
    header = _check_header(_first_line(source, name), name, source)
    data_lines = source.lines - 1
    # Every row takes at least one line: a huge file is refused before it is parsed.
    if data_lines > max_rows:
        raise DataError(f"{name}: has {data_lines:,} rows, more than the limit of {max_rows:,}")
    _check_row_size(source, name, data_lines)
    raw = _parse(source, name, header)
    if len(raw) > max_rows:
        raise DataError(f"{name}: has {len(raw):,} rows, more than the limit of {max_rows:,}")
    lines = np.arange(len(raw)) + 2 if data_lines == len(raw) else _exact_record_lines(source, len(raw))
    frame, actions = _typed_frame(raw, name, lines)
    report = DataReport(source=name, rows_read=len(raw), rows_kept=len(frame), actions=tuple(actions))
    return Dataset(name=name, fingerprint=source.fingerprint, raw=raw, frame=frame, report=report)


def _first_line(source: CsvSource, name: str) -> str:
    """The header line, after the checks that refuse a whole file: not text, not UTF-8 at its start, empty.

    The rest of the file is not decoded here: the parser checks that it is UTF-8 (``_parse``).
    """
    if source.start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise DataError(f"{name}: is UTF-16 text; save it as UTF-8 CSV")
    if source.nul >= 0:
        raise DataError(f"{name}: holds binary data (a NUL byte at byte offset {source.nul}, line {source.nul_line}), "
                        "not CSV text")
    if source.blank:
        raise DataError(f"{name}: is empty")
    try:
        return source.first_line.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _not_utf8(name, NotUtf8(byte=error.object[error.start], offset=error.start, line=1)) from None


def _not_utf8(name: str, found: NotUtf8) -> _NotUtf8:
    return _NotUtf8(f"{name}: is not UTF-8 text (byte 0x{found.byte:02X} at byte offset {found.offset}, "
                    f"line {found.line}); save it as UTF-8 CSV")


def _guessed_encoding(lines: HighByteLines) -> DataAction:
    """The report of a file read as Windows-1252: the lines that hold its non-ASCII bytes."""
    return DataAction(column="file", problem="has bytes that are not UTF-8",
                      policy="read as Windows-1252, a guess: check the accented letters",
                      count=lines.count, first_rows=lines.first)


def _check_header(first_line: str, name: str, source: CsvSource) -> list[str]:
    header = [column.strip() for column in next(csv.reader([first_line]))]
    if not _known_columns(header):
        _refuse_other_formats(source.start, name)
    for delimiter, word in OTHER_DELIMITERS.items():
        other = next(csv.reader([first_line], delimiter=delimiter))
        if _known_columns(other) > _known_columns(header) or (len(header) == 1 and len(other) > 1):
            raise DataError(f"{name}: fields are separated by {word}, not commas; save it as comma-separated CSV")
    repeated = sorted({column for column in header if column and header.count(column) > 1})
    if repeated:
        raise DataError(f"{name}: duplicate column name(s) {', '.join(repeated)} in the header")
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise DataError(f"{name}: missing required column(s) {', '.join(missing)}")
    return header


def _refuse_other_formats(start_bytes: bytes, name: str) -> None:
    start = start_bytes.decode("utf-8-sig", errors="replace")
    if HTML_START.match(start):
        raise DataError(f"{name}: this is an HTML page, not CSV; save or export the table as CSV")
    if JSON_START.match(start):
        raise DataError(f"{name}: this is JSON, not CSV; convert it to CSV with the columns of the songs table")


def _known_columns(header: list[str]) -> int:
    return len(set(header) & set(REQUIRED_COLUMNS))


def _check_row_size(source: CsvSource, name: str, data_lines: int) -> None:
    """Refuse, before parsing, a long file whose rows are too short to hold a song: its id, its names and
    twenty numbers take more than ``MIN_ROW_BYTES``. Rows of bare commas would cost 25 times their size to
    parse, only to be refused after."""
    if data_lines < SHORT_ROWS_CHECKED_FROM:
        return
    average = (source.size - source.first_lf - 1) / data_lines
    if average < MIN_ROW_BYTES:
        raise DataError(f"{name}: {data_lines:,} rows of {average:.0f} bytes on average, too short to be songs "
                        f"(a row with its id, names and numbers takes at least {MIN_ROW_BYTES})")


def _parse(source: CsvSource, name: str, header: list[str]) -> pd.DataFrame:
    """Every cell as text, blank cells as empty text, the columns named by ``header``.

    Arrow's reader directly, not ``pandas.read_csv(engine="pyarrow")``, which takes half as long again
    for the same frame. Its columns are read by position (named after ``header``, which
    ``_check_header`` has already stripped of a spreadsheet's padding) so that every one is text: large
    strings, which pandas' Arrow-backed text holds, so that pandas takes the columns without a copy.
    """
    positions = [f"column {number}" for number in range(len(header))]
    try:
        table = pa_csv.read_csv(
            source.arrow_input(),
            read_options=pa_csv.ReadOptions(column_names=positions, skip_rows=1),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(positions, pa.large_string()), strings_can_be_null=False, quoted_strings_can_be_null=False
            ),
        )
    except pa.ArrowInvalid as error:
        # Bytes that are not UTF-8 fail the parse too: named exactly, as the first line's would be.
        if found := source.first_not_utf8():
            raise _not_utf8(name, found) from None
        with source.text() as text:
            raise DataError(_describe_parse_error(text, name, len(header), error)) from None
    if not table.num_rows:
        raise DataError(f"{name}: has a header but no rows")
    raw = table.to_pandas(types_mapper={pa.large_string(): pd.StringDtype("pyarrow", na_value=np.nan)}.get)
    raw.columns = header
    return raw


def _describe_parse_error(text: TextIO, name: str, n_columns: int, error: Exception) -> str:
    reader = csv.reader(text)
    next(reader)
    start = 2
    try:
        for row in reader:
            if row and len(row) != n_columns:
                if any("\n" in field for field in row):
                    return f"{name}: line {start} opens a quote (\") that is not closed on that line"
                return f"{name}: line {start} has {len(row)} fields but the header has {n_columns}"
            start = reader.line_num + 1
    except csv.Error as csv_error:
        return f"{name}: cannot be read as CSV at line {start} ({csv_error})"
    detail = " ".join(str(error).split())[:200]
    return f"{name}: cannot be read as CSV ({detail})"


def _exact_record_lines(source: CsvSource, n_rows: int) -> np.ndarray:
    """The file line where each row starts, for files whose blank lines or line breaks inside quoted
    fields shift rows off ``line_of``."""
    with source.text() as text:
        reader = csv.reader(text)
        next(reader)
        starts, previous_end = [], 1
        for row in reader:
            if row:
                starts.append(previous_end + 1)
            previous_end = reader.line_num
    if len(starts) != n_rows:
        return np.arange(n_rows) + 2
    return np.asarray(starts)


def _typed_frame(raw: pd.DataFrame, name: str, lines: np.ndarray) -> tuple[pd.DataFrame, list[DataAction]]:
    numbers, text_cells = {}, {}
    for column in NUMERIC_COLUMNS:
        numbers[column], text_cells[column] = _numeric_column(raw[column], column)
    actions: list[DataAction] = []
    keep = ~_unreadable_rows(raw, text_cells, name, actions, lines) & _rows_to_keep(numbers, actions, lines)
    if not keep.any():
        raise DataError(f"{name}: no usable rows: every one of the {len(raw):,} rows was dropped ({_problems(actions)})")
    kept_lines = lines[keep]
    every_row = keep.all()
    kept_numbers = numbers if every_row else {column: values[keep] for column, values in numbers.items()}
    for column in NUMERIC_COLUMNS:
        kept_numbers[column] = _impute(kept_numbers[column], column, name, actions, kept_lines)
    _note(actions, "time_signature", "is 0", "kept, flagged", kept_numbers["time_signature"] == 0, kept_lines)

    # Text columns only: the numeric ones are replaced. When no row is dropped the text is raw's own
    # (Arrow's is immutable), not a copy of the file's largest columns.
    text_columns = [column for column in REQUIRED_COLUMNS if column not in kept_numbers]
    text = raw[text_columns] if every_row else raw.loc[keep, text_columns]
    columns = {column: kept_numbers[column] if column in kept_numbers else text[column] for column in REQUIRED_COLUMNS}
    frame = pd.DataFrame(columns, index=text.index, copy=False)
    frame["release_year"] = _release_years(frame["release_date"], actions, kept_lines)
    frame["genre_list"] = _genre_lists(frame["genres"], actions, kept_lines)
    _note_repeats(frame, actions, kept_lines)
    return frame, actions


def _numeric_column(text: pd.Series, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Numbers of a column, NaN where the cell is blank, a missing-value marker or text; and where it is text."""
    cells = _cells(text)
    try:
        return pc.cast(cells, pa.float64()).to_numpy(zero_copy_only=False), np.zeros(len(cells), dtype=bool)
    except pa.ArrowInvalid:
        pass  # blanks, markers, padding or text: the careful path below tells them apart
    stripped = pc.utf8_trim_whitespace(cells)
    missing = pc.is_in(pc.utf8_lower(stripped), value_set=pa.array(MISSING_MARKERS))
    candidates = pc.if_else(missing, pa.scalar(None, pa.string()), stripped)
    try:
        return pc.cast(candidates, pa.float64()).to_numpy(zero_copy_only=False), np.zeros(len(cells), dtype=bool)
    except pa.ArrowInvalid:
        values = pd.to_numeric(pd.Series(candidates.to_pylist(), dtype=object), errors="coerce").to_numpy(np.float64)
    return values, np.isnan(values) & ~missing.to_numpy(zero_copy_only=False)


def _cells(text: pd.Series) -> pa.ChunkedArray:
    """The Arrow text under a column, without the copy ``pa.array`` makes to join its chunks."""
    return text.array.__arrow_array__()


def _unreadable_rows(raw: pd.DataFrame, text_cells: dict[str, np.ndarray], name: str, actions: list[DataAction],
                     lines: np.ndarray) -> np.ndarray:
    """Rows with text in a numeric column: dropped when they are at most ``UNREADABLE_ROWS_DROPPED`` of the
    file (a few slips of the hand), else the file is refused naming the first such column and its lines."""
    unreadable = np.logical_or.reduce(list(text_cells.values()))
    if unreadable.sum() > UNREADABLE_ROWS_DROPPED * len(raw):
        column, cells = next((column, cells) for column, cells in text_cells.items() if cells.any())
        raise DataError(
            f"{name}: column {column} has text {_first_text(raw, column, cells)} at {_lines_text(lines[cells])} "
            f"({unreadable.sum():,} of {len(raw):,} rows have text in a number column, more than the "
            f"{UNREADABLE_ROWS_DROPPED:.0%} that would be dropped)"
        )
    for column, cells in text_cells.items():
        if cells.any():
            problem = f"has text, not a number (first {_first_text(raw, column, cells)})"
            _note(actions, column, problem, "dropped the row", cells, lines)
    return unreadable


def _first_text(raw: pd.DataFrame, column: str, cells: np.ndarray) -> str:
    return _shown(raw[column].iloc[int(np.flatnonzero(cells)[0])])


def _rows_to_keep(numbers: dict[str, np.ndarray], actions: list[DataAction], lines: np.ndarray) -> np.ndarray:
    # Non-finite values are missing ones (imputed later), never reasons to drop a row.
    drop = np.zeros(len(lines), dtype=bool)
    for column in PROBABILITY_COLUMNS:
        values = numbers[column]
        outside = np.isfinite(values) & ((values < 0) | (values > 1))
        _note(actions, column, "is outside 0..1", "dropped the row", outside, lines)
        drop |= outside
    not_positive = np.isfinite(numbers["duration_ms"]) & (numbers["duration_ms"] <= 0)
    _note(actions, "duration_ms", "is 0 or negative", "dropped the row", not_positive, lines)
    return ~(drop | not_positive)


def _impute(values: np.ndarray, column: str, name: str, actions: list[DataAction], lines: np.ndarray) -> np.ndarray:
    missing = ~np.isfinite(values)
    unknown_tempo = (values == 0) if column == "tempo" else np.zeros(len(values), dtype=bool)
    known = values[~missing & ~unknown_tempo]
    if known.size == 0:
        raise DataError(f"{name}: column {column} has no usable numbers")
    if column in CATEGORICAL_NUMERIC:
        uniques, counts = np.unique(known, return_counts=True)
        fill, how = float(uniques[np.argmax(counts)]), "imputed the most common value"
    else:
        fill, how = float(np.median(known)), "imputed the column median"
    policy = f"{how} ({fill:g})"
    _note(actions, column, "is missing or not a finite number", policy, missing, lines)
    _note(actions, column, "is 0 (tempo unknown)", f"imputed the median of the non-zero tempos ({fill:g})", unknown_tempo, lines)
    filled = missing | unknown_tempo
    if not filled.any():
        return values
    # In place where the array is ours: a column of 200k songs is 1.6 MB, and there are 18 of them.
    values = values if values.flags.writeable else values.copy()
    values[filled] = fill
    return values


def _release_years(dates: pd.Series, actions: list[DataAction], lines: np.ndarray) -> np.ndarray:
    years = _years_of_dates(pc.utf8_trim_whitespace(_cells(dates)))
    _note(
        actions,
        "release_date",
        "is not a date of the form YYYY, DD-MM-YYYY or YYYY-MM-DD",
        "release_year unknown, flagged",
        np.isnan(years),
        lines,
    )
    return years


def _years_of_dates(cells: pa.Array) -> np.ndarray:
    """The year of each date in one of ``DATE_SHAPES`` that names a real calendar day in ``YEAR_RANGE``; NaN otherwise."""
    years = np.full(len(cells), np.nan)
    for pattern, year_at, month_at, day_at in DATE_SHAPES:
        shaped = pc.fill_null(pc.match_substring_regex(cells, pattern), False).to_numpy(zero_copy_only=False)
        if not shaped.any():
            continue
        matching = cells.filter(pa.array(shaped))
        year, month, day = (_digits_at(matching, at) for at in (year_at, month_at, day_at))
        years[shaped] = np.where(_is_calendar_day(year, month, day), year, np.nan)
    return years


def _digits_at(cells: pa.Array, at: tuple[int, int] | None) -> np.ndarray:
    if at is None:
        return np.ones(len(cells), dtype=np.int64)
    return pc.cast(pc.utf8_slice_codeunits(cells, *at), pa.int64()).to_numpy(zero_copy_only=False)


def _is_calendar_day(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    real_month = (1 <= month) & (month <= 12)
    month_days = DAYS_IN_MONTH[np.clip(month, 1, 12) - 1] + (leap & (month == 2))
    in_range = (YEAR_RANGE[0] <= year) & (year <= YEAR_RANGE[1])
    return in_range & real_month & (1 <= day) & (day <= month_days)


def _genre_lists(cells: pd.Series, actions: list[DataAction], lines: np.ndarray) -> pd.Series:
    codes, uniques = pd.factorize(cells)
    parsed = [_genre_list(text) for text in uniques]
    malformed = np.array([genres is None for genres in parsed], dtype=bool)[codes]
    lists = np.empty(len(parsed), dtype=object)
    lists[:] = [genres or () for genres in parsed]
    _note(actions, "genres", "is not a list of genre names like ['pop']", "read as no genres, flagged", malformed, lines)
    return pd.Series(lists[codes], index=cells.index, dtype=object)


def _genre_list(text: str) -> tuple[str, ...] | None:
    """The genres of a Python list literal such as ``['latin', 'latin pop']``; None when malformed."""
    if len(text) > MAX_GENRES_TEXT:
        return None
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    if not isinstance(value, list) or not all(isinstance(genre, str) for genre in value):
        return None
    return tuple(genre.strip() for genre in value)


def _note_repeats(frame: pd.DataFrame, actions: list[DataAction], lines: np.ndarray) -> None:
    # Each text column is hashed once; a pair of codes is then one whole number (below rows², so
    # never past 2**63), cheap to compare.
    song_id, name, artist = (_codes(frame[column]) for column in ("id_songs", "name_song", "name_artists"))
    repeated_id = _repeats(song_id)
    _note(actions, "id_songs", "repeats an earlier row's id", "kept, flagged", repeated_id, lines)
    song = _codes(name * len(frame) + artist)
    other_id = _repeats(song) & ~_repeats(song * len(frame) + song_id)
    _note(actions, "name_song", "repeats an earlier song (name + artist) under another id", "kept, counted", other_id, lines)


def _codes(values) -> np.ndarray:
    return pd.factorize(values)[0].astype(np.int64)


def _repeats(codes: np.ndarray) -> np.ndarray:
    """True where a code appeared in an earlier row."""
    return pd.Series(codes, copy=False).duplicated().to_numpy()


def _note(actions: list[DataAction], column: str, problem: str, policy: str, rows: np.ndarray, lines: np.ndarray) -> None:
    if rows.any():
        first = tuple(int(line) for line in lines[rows][:FIRST_LINES_SHOWN])
        actions.append(DataAction(column=column, problem=problem, policy=policy, count=int(rows.sum()), first_rows=first))


def _problems(actions: list[DataAction]) -> str:
    return "; ".join(f"{a.column} {a.problem} in {a.count:,}" for a in actions)


def _lines_text(lines: np.ndarray) -> str:
    shown = ", ".join(str(int(line)) for line in lines[:FIRST_LINES_SHOWN])
    more = len(lines) - FIRST_LINES_SHOWN
    word = "line" if len(lines) == 1 else "lines"
    return f"{word} {shown}" + (f" and {more:,} more" if more > 0 else "")


def _shown(value: str) -> str:
    """A cell quoted for a one-line message: control characters escaped, long text cut."""
    return repr(value if len(value) <= 40 else value[:40] + "…")
