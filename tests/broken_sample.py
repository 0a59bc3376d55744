"""The real sample with cells broken on purpose, as the bytes of a CSV file."""
from __future__ import annotations

import csv
import io
from pathlib import Path


def sample_table(sample_csv: Path) -> tuple[list[str], list[list[str]]]:
    with sample_csv.open(newline="", encoding="utf-8") as handle:
        header, *rows = csv.reader(handle)
    return header, rows


def csv_of(header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([header, *rows])
    return buffer.getvalue().encode(encoding)


def with_cells(sample_csv: Path, column: str, value: str, positions: range | list[int] | None = None) -> bytes:
    """The sample with ``column`` set to ``value`` in the data rows at ``positions`` (every row when None).

    The sample has no line breaks inside fields: the row at position p is on line p + 2.
    """
    header, rows = sample_table(sample_csv)
    at = header.index(column)
    for position in range(len(rows)) if positions is None else positions:
        rows[position][at] = value
    return csv_of(header, rows)
