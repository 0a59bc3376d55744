"""At most a configured number of uploads are parsed at once on one server, however many worker processes
serve it: parsing is the one step whose memory grows with the file (several times its size), so a few
large uploads at once must not take the machine's memory. The slots are lock files in the server's cache
directory; the kernel frees a slot whose process died. Memory a parse used is handed back to the system
afterwards, not kept by the allocator for ever.

While a parse runs, large blocks are mapped from the system and unmapped when freed, Arrow's included,
so that what the parser frees goes back at once instead of raising the process's peak: a 200k-song
file peaks at 3.3x its size that way, 5.2x with the allocators' defaults.

``read_upload`` is the one way an upload becomes songs, for the shell's dataset upload and any panel's."""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import fcntl
import functools
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow

from analysis.dataset import DataError, Dataset, load_csv
from dashboard.uploads import UploadGone, uploaded_file

POLL_SECONDS = 0.2
# glibc's mallopt: blocks from this size up are mapped on their own, and unmapped when freed. Its
# default adapts upward to the largest block freed, up to 32 MB, which keeps a parse's big
# temporaries in the heap after they are freed; after a parse the cap is set where that adaptation
# would end, since small mapped blocks cost the analysis a page fault each time.
M_MMAP_THRESHOLD = -3
PARSE_MMAP_THRESHOLD = 128 * 1024
AFTER_PARSE_MMAP_THRESHOLD = 32 * 1024 * 1024
PARSE_WAIT_SECONDS = 30  # an upload waits this long for a parse slot before it is asked to come back


class ParsesBusy(Exception):
    """Every parse slot stayed taken for as long as the upload could wait."""


class ParseSlots:
    def __init__(self, directory: Path, slots: int) -> None:
        self.directory = directory
        self.slots = slots

    @contextlib.contextmanager
    def slot(self, wait: float) -> Iterator[None]:
        """Hold a free slot while the block runs, waiting up to ``wait`` seconds for one; ParsesBusy after."""
        self.directory.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + wait
        while (held := self._take()) is None:
            if time.monotonic() > deadline:
                raise ParsesBusy(f"the server is reading {self.slots} other upload(s); try again in a moment")
            time.sleep(POLL_SECONDS)
        try:
            with _freed_memory_returned():
                yield
        finally:
            os.close(held)  # closing the file releases its lock
            release_free_memory()

    def _take(self) -> int | None:
        for number in range(self.slots):
            handle = os.open(self.directory / f"slot-{number}", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return handle
            except BlockingIOError:
                os.close(handle)
        return None


@contextlib.contextmanager
def _freed_memory_returned() -> Iterator[None]:
    libc = _libc()
    pool = pyarrow.default_memory_pool()
    pyarrow.set_memory_pool(pyarrow.system_memory_pool())
    if libc:
        libc.mallopt(M_MMAP_THRESHOLD, PARSE_MMAP_THRESHOLD)
    try:
        yield
    finally:
        pyarrow.set_memory_pool(pool)
        if libc:
            libc.mallopt(M_MMAP_THRESHOLD, AFTER_PARSE_MMAP_THRESHOLD)


@functools.cache
def _libc():
    """glibc, or None where there is none (its tuning is then left to the platform). Looked up once:
    ``find_library`` runs ``ldconfig``, twice a parse otherwise."""
    with contextlib.suppress(OSError, AttributeError, TypeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    return None


def release_free_memory() -> None:
    """Hand the allocators' free memory back to the system: Arrow's pool, which keeps what the CSV reader
    freed (0.8x the file at 200k songs), then glibc's (``malloc_trim``; elsewhere nothing)."""
    pyarrow.default_memory_pool().release_unused()
    if libc := _libc():
        libc.malloc_trim(0)


def read_upload(config, name: str, token: str) -> Dataset:
    """The songs of the upload ``token`` names (``dashboard.uploads``), read in one of the server's parse
    slots (``config``: a ``dashboard.config.Config``). Raises DataError or ParsesBusy, each one line naming
    the file. The limit bounds the CSV once decompressed too, as for ``amc cluster``."""
    slots = ParseSlots(config.parse_slots_dir, config.max_parses)
    try:
        with uploaded_file(config, token) as path, slots.slot(wait=PARSE_WAIT_SECONDS):
            return load_csv(path, name=name, max_bytes=config.max_upload_bytes)
    except UploadGone as gone:
        raise DataError(f"{name}: {gone}") from None
    except ParsesBusy as busy:
        raise ParsesBusy(f"{name}: {busy}") from None


def refused_in_browser(refused: dict, limit_mb: int) -> str:
    """The one line for a file ``amc.checkUploadSize`` kept from the server (``{filename, bytes}``), or one
    the upload route refused (``{filename, error}``)."""
    if refused.get("error"):
        return f"{refused['filename']}: {refused['error']}"
    size = refused["bytes"] / 1024 / 1024
    return f"{refused['filename']}: {size:.1f} MB is more than the upload limit of {limit_mb} MB; it was not sent"
