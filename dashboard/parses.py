"""At most a configured number of uploads are parsed at once on one server, however many worker processes
serve it: parsing is the one step whose memory grows with the file (several times its size), so a few
large uploads at once must not take the machine's memory. The slots are lock files in the server's cache
directory; the kernel frees a slot whose process died. Memory a parse used is handed back to the system
afterwards, not kept by the allocator for ever.

``read_upload`` is the one way an upload becomes songs, for the shell's dataset upload and any panel's."""
from __future__ import annotations

import base64
import binascii
import contextlib
import ctypes
import ctypes.util
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow

from analysis.dataset import DataError, Dataset, load_csv

POLL_SECONDS = 0.2
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


def release_free_memory() -> None:
    """Hand the allocators' free memory back to the system: Arrow's pool, which keeps what the CSV reader
    freed (0.8x the file at 200k songs), then glibc's (``malloc_trim``; elsewhere nothing)."""
    pyarrow.default_memory_pool().release_unused()
    name = ctypes.util.find_library("c")
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(name).malloc_trim(0)


def read_upload(config, name: str, contents: str) -> Dataset:
    """The songs of an upload (``contents``: dcc.Upload's data URL) read in one of the server's parse slots
    (``config``: a ``dashboard.config.Config``). Raises DataError or ParsesBusy, each one line naming the file."""
    slots = ParseSlots(config.parse_slots_dir, config.max_parses)
    try:
        with slots.slot(wait=PARSE_WAIT_SECONDS):
            return load_upload(name, contents, config.max_upload_bytes)
    except ParsesBusy as busy:
        raise ParsesBusy(f"{name}: {busy}") from None


def refused_in_browser(refused: dict, limit_mb: int) -> str:
    """The one line for a file ``amc.checkUploadSize`` kept from the server (``{filename, bytes}``)."""
    size = refused["bytes"] / 1024 / 1024
    return f"{refused['filename']}: {size:.1f} MB is more than the upload limit of {limit_mb} MB; it was not sent"


def load_upload(name: str, contents: str, limit: int) -> Dataset:
    """The server's own checks: the browser's size check can be bypassed. The limit bounds what was sent
    and, through ``load_csv`` as for ``amc cluster``, the CSV once decompressed."""
    _, _, payload = contents.partition(",")
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise DataError(f"{name}: the upload arrived damaged (not base64); try again") from None
    if len(data) > limit:
        raise DataError(f"{name}: {len(data) / 1024 / 1024:.1f} MB is more than the upload limit of "
                        f"{limit // 1024 // 1024} MB")
    return load_csv(data, name=name, max_bytes=limit)
