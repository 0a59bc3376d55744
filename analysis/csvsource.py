"""A songs CSV's bytes as the loader meets them, never held whole in memory when they are a file.

One pass over the bytes in chunks tells what the loader checks before it parses (size, lines, the
first line, a NUL byte, blankness) and gives the fingerprint. The parser then reads the file itself.
A gzip file, or Windows-1252 text, is first turned into a plain UTF-8 file beside it, in a temporary
directory, a chunk at a time. So the memory a load costs is what the parsed table needs, not several
copies of the file: an upload is a file on disk by the time it is read (``dashboard.uploads``).
"""
from __future__ import annotations

import codecs
import contextlib
import gzip
import hashlib
import io
import re
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TextIO

import numpy as np
import pyarrow as pa

GZIP_MAGIC = b"\x1f\x8b"
READ_CHUNK_BYTES = 1024 * 1024
FIRST_LINE_MAX_BYTES = 4 * READ_CHUNK_BYTES  # a longer first line is not a songs CSV's header
START_BYTES = 1024  # enough to tell an HTML page or JSON from CSV
FIRST_LINE_END = re.compile(rb"[\r\n]")
NOT_BLANK = re.compile(rb"\S")
UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
UTF8_SEQUENCE_MAX = 4
CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
LINES_SHOWN = 5


class SourceError(ValueError):
    """The bytes cannot be a CSV: too large, damaged gzip, a header line without end. One line, no file name."""


@dataclass(frozen=True)
class NotUtf8:
    """The first byte that is not UTF-8: its value, its byte offset and its line."""

    byte: int
    offset: int
    line: int


@dataclass(frozen=True)
class HighByteLines:
    """The lines of a Windows-1252 file that hold bytes past ASCII: how many, and the first few."""

    count: int
    first: tuple[int, ...]


@dataclass(frozen=True, eq=False)
class CsvSource:
    """Uncompressed CSV bytes, in a file (``path``) or in memory (``data``), with what one pass over them found."""

    path: Path | None
    data: bytes | None
    fingerprint: str  # of the uncompressed bytes as given, before any re-encoding
    size: int
    lines: int  # ended by LF, CRLF or a lone CR, plus an unterminated last line
    start: bytes  # the first START_BYTES
    first_line: bytes  # without its line end
    first_lf: int  # offset of the first LF, -1 when there is none
    nul: int  # offset of the first NUL byte, -1 when there is none
    nul_line: int
    blank: bool  # nothing but whitespace (after a UTF-8 byte-order mark)

    def chunks(self) -> Iterator[bytes]:
        return _chunks_of(self.path, self.data)

    def arrow_input(self):
        """What Arrow's CSV reader reads: the file by its path, or the bytes without a copy."""
        return str(self.path) if self.path is not None else pa.BufferReader(self.data)

    @contextlib.contextmanager
    def text(self) -> Iterator[TextIO]:
        """The text, a byte-order mark dropped and line ends made LF, for Python's csv module."""
        stream = self.path.open("rb") if self.path is not None else io.BytesIO(self.data)
        with io.TextIOWrapper(stream, encoding="utf-8-sig", newline=None) as text:
            yield text

    def first_not_utf8(self) -> NotUtf8 | None:
        decoder = codecs.getincrementaldecoder("utf-8")()
        offset = lines = 0
        for chunk in self.chunks():
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                # The error's bytes are the decoder's pending ones (never an LF) followed by this chunk.
                return NotUtf8(byte=error.object[error.start], offset=offset - pending + error.start,
                               line=lines + error.object.count(b"\n", 0, error.start) + 1)
            offset += len(chunk)
            lines += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as error:
            return NotUtf8(byte=error.object[error.start], offset=offset - len(error.object) + error.start,
                           line=lines + 1)
        return None


@contextlib.contextmanager
def open_source(source: str | Path | bytes, max_bytes: int) -> Iterator[CsvSource]:
    """The CSV in ``source`` (a path, or bytes), gzip-compressed or not; SourceError past ``max_bytes``."""
    with contextlib.ExitStack() as temporary:
        if isinstance(source, bytes):
            if source.startswith(GZIP_MAGIC):
                packed = gzip.GzipFile(fileobj=io.BytesIO(source))
                yield scan(path=_unpacked(packed, temporary, max_bytes), max_bytes=None)
            elif len(source) > max_bytes:
                raise SourceError(f"is {_megabytes(len(source))}, more than the limit of {_megabytes(max_bytes)}")
            else:
                yield scan(data=source)
            return
        path = Path(source)
        with path.open("rb") as stream:
            packed = stream.read(len(GZIP_MAGIC)) == GZIP_MAGIC
        if packed:
            with gzip.open(path, "rb") as unpacking:
                path = _unpacked(unpacking, temporary, max_bytes)
        yield scan(path=path, max_bytes=None if packed else max_bytes)


def _unpacked(stream: BinaryIO, temporary: contextlib.ExitStack, max_bytes: int) -> Path:
    """The decompressed bytes in a file of their own, stopped once past ``max_bytes``: a gzip bomb is
    refused after writing ``max_bytes``, never held in memory."""
    path = _temporary_path(temporary, "unpacked.csv")
    size = 0
    try:
        with path.open("wb") as out:
            for chunk in _read_chunks(stream):
                size += len(chunk)
                if size > max_bytes:
                    raise SourceError(f"is more than the limit of {_megabytes(max_bytes)} once decompressed")
                out.write(chunk)
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise SourceError(f"is a damaged gzip file ({error})") from None
    return path


def scan(path: Path | None = None, data: bytes | None = None, max_bytes: int | None = None,
         fingerprint: str | None = None) -> CsvSource:
    """One pass over the file at ``path`` or over ``data``: SourceError once past ``max_bytes``."""
    counter = _Counter(max_bytes)
    for chunk in _chunks_of(path, data):
        counter.add(chunk)
    return CsvSource(path=path, data=data, fingerprint=fingerprint or counter.fingerprint(), size=counter.size,
                     lines=counter.lines(), start=counter.start, first_line=counter.head,
                     first_lf=counter.first_lf, nul=counter.nul, nul_line=counter.nul_line, blank=counter.blank)


class _Counter:
    """What ``scan`` learns, a chunk at a time."""

    def __init__(self, max_bytes: int | None) -> None:
        self.max_bytes = max_bytes
        self.digest = hashlib.sha256()
        self.size = 0
        self.line_feeds = 0
        self.lone_returns = 0
        self.return_pending = False  # the last chunk ended with CR: the next one's first byte decides
        self.last_byte = b""
        self.start = b""
        self.head = b""
        self.head_done = False
        self.first_lf = -1
        self.nul = -1
        self.nul_line = 0
        self.blank = True

    def add(self, chunk: bytes) -> None:
        if self.max_bytes is not None and self.size + len(chunk) > self.max_bytes:
            raise SourceError(f"is more than the limit of {_megabytes(self.max_bytes)}")
        self.digest.update(chunk)
        if not self.size:
            self.start = chunk[:START_BYTES]
        self._head(chunk)
        if self.first_lf < 0 and (lf := chunk.find(b"\n")) >= 0:
            self.first_lf = self.size + lf
        if self.nul < 0 and (nul := chunk.find(b"\x00")) >= 0:
            self.nul, self.nul_line = self.size + nul, self.line_feeds + chunk.count(b"\n", 0, nul) + 1
        if self.blank:
            skip = len(codecs.BOM_UTF8) if not self.size and chunk.startswith(codecs.BOM_UTF8) else 0
            self.blank = NOT_BLANK.search(chunk, skip) is None
        self._count_lines(chunk)
        self.size += len(chunk)
        self.last_byte = chunk[-1:]

    def _head(self, chunk: bytes) -> None:
        if self.head_done:
            return
        self.head += chunk
        end = FIRST_LINE_END.search(self.head)
        if end:
            self.head, self.head_done = self.head[: end.start()], True
        elif len(self.head) > FIRST_LINE_MAX_BYTES:
            raise SourceError(f"has no line end in its first {_megabytes(FIRST_LINE_MAX_BYTES)}; a CSV header is one line")

    def _count_lines(self, chunk: bytes) -> None:
        """LFs, and CRs not followed by an LF (old Mac files); counting with numpy is three times
        faster than ``bytes.count(b"\\r\\n")``."""
        self.line_feeds += chunk.count(b"\n")
        if self.return_pending and not chunk.startswith(b"\n"):
            self.lone_returns += 1
        codes = np.frombuffer(chunk, dtype=np.uint8)
        returns = np.flatnonzero(codes[:-1] == ord("\r"))
        self.lone_returns += len(returns) - int(np.count_nonzero(codes[returns + 1] == ord("\n")))
        self.return_pending = chunk.endswith(b"\r")

    def fingerprint(self) -> str:
        return self.digest.hexdigest()[:20]

    def lines(self) -> int:
        ended = self.last_byte in (b"\n", b"\r")
        return self.line_feeds + self.lone_returns + self.return_pending + (not ended)


def windows_1252_copy(source: CsvSource, temporary: contextlib.ExitStack) -> tuple[CsvSource, HighByteLines] | None:
    """The source re-encoded from Windows-1252 (Latin-1's superset, Excel's "CSV" on Western Windows)
    into UTF-8, when its bytes read so into printable characters; None when they do not, or when they
    hold UTF-8 sequences too: a UTF-8 file with one damaged byte would have every other name garbled."""
    path = _temporary_path(temporary, "utf-8.csv")
    tail, line_feeds, high = b"", 0, _LineCollector()
    with path.open("wb") as out:
        for chunk in source.chunks():
            if UTF8_SEQUENCE.search(tail + chunk):
                return None
            try:
                text = chunk.decode("cp1252")
            except UnicodeDecodeError:
                return None
            if CONTROL_CHARACTER.search(text):
                return None
            high.add(chunk, line_feeds)
            out.write(text.encode("utf-8"))
            tail, line_feeds = chunk[-(UTF8_SEQUENCE_MAX - 1) :], line_feeds + chunk.count(b"\n")
    return scan(path=path, fingerprint=source.fingerprint), high.lines()


class _LineCollector:
    def __init__(self) -> None:
        self.count, self.first, self.last = 0, [], 0

    def add(self, chunk: bytes, line_feeds_before: int) -> None:
        codes = np.frombuffer(chunk, dtype=np.uint8)
        lines = np.unique(np.searchsorted(np.flatnonzero(codes == ord("\n")), np.flatnonzero(codes >= 0x80))
                          + line_feeds_before + 1)
        lines = lines[lines != self.last]  # a line that runs on from the chunk before
        if len(lines):
            self.count += len(lines)
            self.first.extend(int(line) for line in lines[: LINES_SHOWN - len(self.first)])
            self.last = int(lines[-1])

    def lines(self) -> HighByteLines:
        return HighByteLines(count=self.count, first=tuple(self.first))


def _temporary_path(temporary: contextlib.ExitStack, name: str) -> Path:
    """A path in a directory of its own that goes when ``temporary`` closes."""
    return Path(temporary.enter_context(tempfile.TemporaryDirectory(prefix="amc-csv-"))) / name


def _chunks_of(path: Path | None, data: bytes | None) -> Iterator[bytes]:
    if data is not None:
        view = memoryview(data)
        for at in range(0, len(view), READ_CHUNK_BYTES):
            yield bytes(view[at : at + READ_CHUNK_BYTES])
        return
    with path.open("rb") as stream:
        yield from _read_chunks(stream)


def _read_chunks(stream: BinaryIO) -> Iterator[bytes]:
    while chunk := stream.read(READ_CHUNK_BYTES):
        yield chunk


def _megabytes(size: int) -> str:
    value = size / 2**20
    return f"{value:,.0f} MB" if value >= 100 else f"{value:.3g} MB"
