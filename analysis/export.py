"""The one CSV writer behind every download and ``amc cluster``.

Values go out exactly as the user gave them (the loader's raw text), so a round trip keeps every
id, name and number. A spreadsheet runs a cell beginning with ``=``, ``+``, ``-``, ``@``, tab, CR
or LF as a formula, so such cells and headers get a leading ``'``, except plain numbers such as
``-3.5`` or ``1.55E-05``, which a spreadsheet reads as numbers anyway.
"""
from __future__ import annotations

import codecs
import os
import re
import secrets
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis.dataset import Dataset

# ASCII characters only: a search of a column's UTF-8 bytes finds them exactly, since every byte of a longer
# character is above 0x7f.
FORMULA_START_CHARS = "=+-@\t\r\n"  # a cell beginning with one of these runs as a formula
QUOTED_CHARS = ',"\r\n'  # a cell holding one of these is quoted
FORMULA_START = f"[{re.escape(FORMULA_START_CHARS)}]"  # as a regular expression
PLAIN_NUMBER = r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
SPOTIFY_ID = re.compile(r"[0-9A-Za-z]+")
FILENAME_PUNCTUATION = "-_.()"
# Names Windows refuses for a file, whatever the extension.
RESERVED_FILENAMES = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}
MAX_FILENAME_STEM = 80
CLUSTER_COLUMNS = ("cluster", "cluster_name")  # what clustered.csv adds to the given columns
# Rows per piece written to a file: larger than a download's pieces, since each piece costs a few conversions per
# column (at 96k songs, 0.16 s in pieces of 100,000 rows against 0.20 s in pieces of 20,000), and no larger, to
# keep a piece of a million-song file near 20 MB.
FILE_CHUNK_ROWS = 100_000


def neutralise(cell: str) -> str:
    """The cell as a spreadsheet will show it as text, never run it as a formula."""
    return _neutralised_column(pd.Series([cell]))[0].as_py()


def clustered_frame(dataset: Dataset, labels: np.ndarray, names: Mapping[int, str]) -> pd.DataFrame:
    """Every input row and column as given, plus ``cluster`` and ``cluster_name``.

    ``labels`` follow ``dataset.frame`` order; rows the loader dropped keep both cells blank. A file
    that already carries these two columns (a re-uploaded export) gets them replaced, not repeated.
    """
    return _given_columns(dataset).assign(**_cluster_columns(dataset, labels, names))


def _given_columns(dataset: Dataset) -> pd.DataFrame:
    return dataset.raw.drop(columns=list(CLUSTER_COLUMNS), errors="ignore")


def _cluster_columns(dataset: Dataset, labels: np.ndarray, names: Mapping[int, str]) -> dict[str, pd.Series]:
    """``cluster`` and ``cluster_name`` of every input row, as ``clustered_frame`` adds them."""
    labels = np.asarray(labels)
    if len(labels) != len(dataset.frame):
        raise ValueError(f"{len(labels)} labels for {len(dataset.frame)} kept rows of {dataset.name}")
    # Each cluster's two texts made once and spread by label: a Python loop over 96k songs took 0.1 s.
    clusters, positions = np.unique(labels, return_inverse=True)
    cluster = pd.Series("", index=dataset.raw.index, dtype="str")
    cluster_name = pd.Series("", index=dataset.raw.index, dtype="str")
    cluster.loc[dataset.frame.index] = np.array([str(int(c)) for c in clusters], dtype=object)[positions]
    cluster_name.loc[dataset.frame.index] = np.array([str(names.get(int(c), "")) for c in clusters], dtype=object)[positions]
    return dict(zip(CLUSTER_COLUMNS, (cluster, cluster_name)))


@dataclass(frozen=True, eq=False)
class GivenCells:
    """A dataset's own cells as its clustered.csv writes them: each row's text up to its cluster columns, in
    pieces of ``FILE_CHUNK_ROWS`` rows. Most of writing clustered.csv needs no labels, so ``amc cluster``
    makes this while it fits them (0.13 s at 96k songs)."""

    dataset: Dataset
    header: tuple[str, ...]  # the given columns' names
    rows: tuple[pa.Array, ...]  # per piece, each row's cells quoted and joined by commas

    @classmethod
    def of(cls, dataset: Dataset) -> "GivenCells":
        frame = _given_columns(dataset)
        pieces = (frame.iloc[start : start + FILE_CHUNK_ROWS] for start in range(0, len(frame), FILE_CHUNK_ROWS))
        return cls(dataset=dataset, header=tuple(frame.columns),
                   rows=tuple(_joined([_neutralised_column(piece[column]) for column in piece.columns], quote_empty=False)
                              for piece in pieces))


def write_clustered_csv(given: GivenCells, labels: np.ndarray, names: Mapping[int, str], path: str | Path) -> None:
    """``write_csv(clustered_frame(given.dataset, labels, names), path)``, byte for byte, from cells made already."""
    added = _cluster_columns(given.dataset, labels, names)
    header = _csv_bytes([pa.array([name]) for name in
                         _neutralised_column(pd.Series([*given.header, *CLUSTER_COLUMNS])).to_pylist()])
    starts = range(0, len(given.dataset.raw), FILE_CHUNK_ROWS)
    _write_atomically(path, [header, *(
        _lines([rows, *(_quoted(_neutralised_column(column.iloc[start : start + FILE_CHUNK_ROWS]), quote_empty=False)
                        for column in added.values())])
        for rows, start in zip(given.rows, starts))])


def csv_chunks(frame: pd.DataFrame, chunk_rows: int = 20_000, excel: bool = False) -> Iterator[bytes]:
    """The frame as UTF-8 CSV (RFC 4180, CRLF), header first, ``chunk_rows`` rows per piece.

    ``excel`` puts the UTF-8 byte-order mark first: without it Excel reads the file in the machine's
    legacy code page and garbles every name outside it.
    """
    header = _csv_bytes([pa.array([name]) for name in _neutralised_column(pd.Series(frame.columns)).to_pylist()])
    yield codecs.BOM_UTF8 + header if excel else header
    for start in range(0, len(frame), chunk_rows):
        chunk = frame.iloc[start : start + chunk_rows]
        yield _csv_bytes([_neutralised_column(chunk[column]) for column in chunk.columns])


def write_csv(frame: pd.DataFrame, path: str | Path, excel: bool = False) -> None:
    """Write the export to ``path`` (``excel``: as in ``csv_chunks``); a reader never sees a half-written file."""
    _write_atomically(path, csv_chunks(frame, chunk_rows=FILE_CHUNK_ROWS, excel=excel))


def _write_atomically(path: str | Path, chunks: Iterable[bytes]) -> None:
    """``chunks`` to ``path`` by way of a temporary file beside it: a reader never sees a half-written file."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.part")
    # Created like any file the user makes (mode 0o666 less the umask), never owner-only like mkstemp's.
    handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(handle, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def spotify_uris(frame: pd.DataFrame) -> str:
    """One ``spotify:track:<id>`` line per song, ready to paste into a Spotify playlist."""
    ids = (str(song_id).strip() for song_id in frame["id_songs"])
    return "".join(f"spotify:track:{song_id}\n" for song_id in ids if SPOTIFY_ID.fullmatch(song_id))


def safe_filename(name: str, suffix: str) -> str:
    """A download name made from a user's playlist name: letters of any script, digits, ``-``, ``_``,
    ``.`` and brackets only; never hidden, never a reserved device name, never empty."""
    kept = "".join(c if _allowed_in_filename(c) else " " for c in unicodedata.normalize("NFKC", name))
    stem = "-".join(kept.split()).strip(FILENAME_PUNCTUATION)[:MAX_FILENAME_STEM].rstrip(FILENAME_PUNCTUATION)
    stem = stem or "playlist"
    if stem.lower().split(".")[0] in RESERVED_FILENAMES:
        stem += "_"
    return f"{stem}.{suffix.lstrip('.')}"


def _allowed_in_filename(character: str) -> bool:
    # Marks (M) keep scripts such as Thai, whose vowels and tones are combining characters.
    return unicodedata.category(character)[0] in "LNM" or character in FILENAME_PUNCTUATION


def _neutralised_column(values: pd.Series) -> pa.Array:
    cells = pa.array(values.astype("str").fillna(""), type=pa.string())
    if isinstance(cells, pa.ChunkedArray):  # a slice of pandas' own Arrow column
        cells = cells.combine_chunks()
    risky = _starting_with_any(cells, FORMULA_START_CHARS)
    if risky.any():
        risky &= ~pc.match_substring_regex(cells, f"^(?:{PLAIN_NUMBER})$").to_numpy(zero_copy_only=False)
        cells = pc.if_else(pa.array(risky), pc.binary_join_element_wise("'", cells, ""), cells)
    return cells


def _starting_with_any(cells: pa.Array, chars: str) -> np.ndarray:
    """(n,) bool: which cells begin with one of the ASCII ``chars``, read from their first bytes (a regular
    expression per cell took 4 ms per column of 96k cells, most of the export's time)."""
    offsets, data = _column_bytes(cells)
    filled = offsets[1:] > offsets[:-1]
    starting = np.zeros(len(cells), dtype=bool)
    starting[filled] = np.isin(data[offsets[:-1][filled]], np.frombuffer(chars.encode("ascii"), dtype=np.uint8))
    return starting


def _holds_any(cells: pa.Array, chars: str) -> bool:
    """Whether any cell holds one of the ASCII ``chars``: a byte search (memchr) over the column's bytes per char."""
    offsets, data = _column_bytes(cells)
    text = data[offsets[0] : offsets[-1]].tobytes()
    return any(char.encode("ascii") in text for char in chars)


def _column_bytes(cells: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """A string column's cells as they lie in memory: (n + 1,) offsets into the bytes, and the bytes."""
    offsets_buffer, data_buffer = cells.buffers()[1:3]
    if offsets_buffer is None:  # no cells
        return np.zeros(len(cells) + 1, dtype=np.int32), np.zeros(0, dtype=np.uint8)
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32)[cells.offset : cells.offset + len(cells) + 1]
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.zeros(0, dtype=np.uint8)
    return offsets, data


def _csv_bytes(columns: list[pa.Array]) -> bytes:
    """Rows of the columns as Python's ``csv.writer`` writes them (minimal quoting, CRLF), built by Arrow
    a column at a time: one line per row joined in C++, then the lines' bytes as they lie in memory."""
    # csv.writer quotes an empty cell only when it is a row's one cell: the row would be blank otherwise.
    return _lines([_joined(columns, quote_empty=len(columns) == 1)])


def _joined(columns: list[pa.Array], quote_empty: bool) -> pa.Array:
    """Each row's cells quoted and joined by commas."""
    return pc.binary_join_element_wise(*(_quoted(column, quote_empty) for column in columns), ",")


def _lines(parts: list[pa.Array]) -> bytes:
    """Each row's parts (written already) joined by commas and ended by CRLF, as the lines' bytes lie in memory."""
    ended = pc.binary_join_element_wise(parts[-1], "\r\n", "")  # the last part, then CRLF
    lines = pc.binary_join_element_wise(*parts[:-1], ended, ",") if len(parts) > 1 else ended
    offsets, data = _column_bytes(lines)
    return data[offsets[0] : offsets[-1]].tobytes()


def _quoted(cells: pa.Array, quote_empty: bool) -> pa.Array:
    """A cell holding a comma, a quote or a line break in quotes, its quotes doubled; any other as it is."""
    if not quote_empty and not _holds_any(cells, QUOTED_CHARS):
        return cells  # most columns: numbers and ids
    special = pc.match_substring_regex(cells, '^$|[,"\r\n]' if quote_empty else '[,"\r\n]')
    if not pc.any(special).as_py():
        return cells
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(cells, '"', '""'), '"', "")
    return pc.if_else(special, quoted, cells)
