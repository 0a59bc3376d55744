"""At most N clustering runs at once per server, the rest waiting in arrival order, one run per user session.

The queue is one record in the shared results-store backend (diskcache or Redis), changed only inside
the backend's transaction, so every gunicorn worker, job process and Celery worker sees the same
queue. Each ticket holds a lease that its holder renews while it lives; a ticket whose lease has
passed (its process was killed) is dropped at the next look, so a dead process never keeps a slot.
"""
from __future__ import annotations

import pickle
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Callable

QUEUE_KEY = "run-queue"
LEASE_SECONDS = 15.0  # a dead holder's slot is free again this long after its last renewal
FIRST_LEASE_SECONDS = 60.0  # between a click and the job's start (a busy job pool can take a while)


class SessionBusy(Exception):
    """The user's session already has a run waiting or in progress."""

    def __init__(self, ticket: str, place: int) -> None:
        self.ticket = ticket
        self.place = place
        where = "in progress" if place == 0 else f"waiting at place {place} in the queue"
        super().__init__(f"you already have a run {where}; wait for it to end or cancel it first")


@dataclass(frozen=True)
class _Entry:
    ticket: str
    session: str
    lease_until: float


@dataclass(frozen=True)
class _Queue:
    running: tuple[_Entry, ...] = ()
    waiting: tuple[_Entry, ...] = ()  # arrival order

    def live(self, now: float) -> "_Queue":
        return _Queue(tuple(e for e in self.running if e.lease_until > now),
                      tuple(e for e in self.waiting if e.lease_until > now))

    def entry(self, ticket: str) -> _Entry | None:
        return next((e for e in (*self.running, *self.waiting) if e.ticket == ticket), None)

    def without(self, ticket: str) -> "_Queue":
        return _Queue(tuple(e for e in self.running if e.ticket != ticket),
                      tuple(e for e in self.waiting if e.ticket != ticket))

    def place(self, ticket: str) -> int | None:
        """0 while running, 1.. while waiting (1 = next to start), None when unknown."""
        if any(e.ticket == ticket for e in self.running):
            return 0
        return next((i + 1 for i, e in enumerate(self.waiting) if e.ticket == ticket), None)


@dataclass(frozen=True)
class QueueState:
    """What /health and the progress line show."""

    limit: int
    running: int
    waiting: int


@dataclass
class RunQueue:
    backend: object  # a StoreBackend: get, set, transaction
    limit: int
    lease: float = LEASE_SECONDS
    clock: Callable[[], float] = field(default=time.time)

    def join(self, ticket: str, session: str) -> int:
        """Queue a new run at the back; its place (1 = next). SessionBusy when the session has one already."""
        with self.backend.transaction():
            queue = self._read()
            mine = next((e for e in (*queue.running, *queue.waiting) if e.session == session), None)
            if mine is not None and mine.ticket != ticket:
                raise SessionBusy(mine.ticket, queue.place(mine.ticket))
            if mine is None:
                entry = _Entry(ticket, session, self.clock() + max(self.lease, FIRST_LEASE_SECONDS))
                queue = replace(queue, waiting=(*queue.waiting, entry))
                self._write(queue)
            return queue.place(ticket)

    def try_start(self, ticket: str, session: str = "") -> int:
        """Start the ticket if a slot is free and it is first in line: 0 when running, else its place.

        Renews the ticket's lease; a ticket the queue no longer knows (its lease passed) joins at the back.
        """
        with self.backend.transaction():
            queue = self._read()
            entry = queue.entry(ticket) or _Entry(ticket, session, 0.0)
            renewed = replace(entry, lease_until=self.clock() + self.lease)
            place = queue.place(ticket)
            queue = queue.without(ticket)
            if place == 0 or (len(queue.running) < self.limit and (place == 1 or not queue.waiting)):
                queue = replace(queue, running=(*queue.running, renewed))
            elif place is None:
                queue = replace(queue, waiting=(*queue.waiting, renewed))
            else:
                waiting = list(queue.waiting)
                waiting.insert(place - 1, renewed)
                queue = replace(queue, waiting=tuple(waiting))
            self._write(queue)
            return queue.place(ticket)

    def renew(self, ticket: str) -> bool:
        """Extend the ticket's lease; False when the queue no longer holds it."""
        with self.backend.transaction():
            queue = self._read()
            entry = queue.entry(ticket)
            if entry is None:
                return False
            renewed = replace(entry, lease_until=self.clock() + self.lease)
            self._write(_Queue(tuple(renewed if e.ticket == ticket else e for e in queue.running),
                               tuple(renewed if e.ticket == ticket else e for e in queue.waiting)))
            return True

    def leave(self, ticket: str) -> None:
        with self.backend.transaction():
            self._write(self._read().without(ticket))

    def place(self, ticket: str) -> int | None:
        return self._read().place(ticket)

    def state(self) -> QueueState:
        queue = self._read()
        return QueueState(self.limit, len(queue.running), len(queue.waiting))

    def _read(self) -> _Queue:
        stored = self.backend.get(QUEUE_KEY)
        queue = pickle.loads(stored) if stored is not None else _Queue()
        return queue.live(self.clock())

    def _write(self, queue: _Queue) -> None:
        self.backend.set(QUEUE_KEY, pickle.dumps(queue, protocol=pickle.HIGHEST_PROTOCOL))


class LeaseKeeper:
    """Renews a ticket's lease from a daemon thread for as long as the `with` block runs."""

    def __init__(self, queue: RunQueue, ticket: str) -> None:
        self.queue = queue
        self.ticket = ticket
        self.every = queue.lease / 3
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"lease-{ticket[:8]}", daemon=True)

    def __enter__(self) -> "LeaseKeeper":
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stopped.set()
        self._thread.join(timeout=self.every)

    def _loop(self) -> None:
        while not self._stopped.wait(self.every):
            self.queue.renew(self.ticket)
