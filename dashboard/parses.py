"""At most a configured number of uploads are parsed at once on one server, however many worker processes
serve it: parsing is the one step whose memory grows with the file (several times its size), so a few
large uploads at once must not take the machine's memory. The slots are lock files in the server's cache
directory; the kernel frees a slot whose process died. Memory a parse used is handed back to the system
afterwards, not kept by the allocator for ever."""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

POLL_SECONDS = 0.2


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
    """Hand the allocator's free memory back to the system (glibc's ``malloc_trim``; elsewhere nothing)."""
    name = ctypes.util.find_library("c")
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(name).malloc_trim(0)
