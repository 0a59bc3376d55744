"""The run queue over a real diskcache store: slots, arrival order, one run per session, leases of dead processes."""
from __future__ import annotations

import multiprocessing
import os
import signal
import time

import pytest

from dashboard.limits import FIRST_LEASE_SECONDS, LeaseKeeper, RunQueue, SessionBusy
from dashboard.store import DiskcacheBackend


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def backend(tmp_path):
    backend = DiskcacheBackend(tmp_path / "store")
    yield backend
    backend.close()


@pytest.fixture
def clock():
    return Clock()


def queue_of(backend, limit, clock=time.time, lease=15.0) -> RunQueue:
    return RunQueue(backend, limit=limit, lease=lease, clock=clock)


def test_runs_beyond_the_limit_wait_and_start_when_a_slot_frees(backend):
    queue = queue_of(backend, limit=2)
    places = [queue.join(ticket, f"user-{ticket}") for ticket in "abc"]

    assert places == [1, 2, 3]
    assert [queue.try_start(ticket) for ticket in "abc"] == [0, 0, 1]
    assert queue.state().running == 2 and queue.state().waiting == 1
    queue.leave("a")
    assert queue.try_start("c") == 0
    assert queue.state().waiting == 0


def test_waiting_runs_start_in_arrival_order(backend):
    queue = queue_of(backend, limit=1)
    for ticket in "abc":
        queue.join(ticket, f"user-{ticket}")

    assert queue.try_start("c") == 3  # asking first does not jump the line
    assert queue.try_start("b") == 2
    assert queue.try_start("a") == 0
    queue.leave("a")
    assert queue.try_start("c") == 2
    assert queue.try_start("b") == 0
    assert queue.place("c") == 1


def test_a_session_has_one_run_at_a_time(backend):
    queue = queue_of(backend, limit=1)
    queue.join("first", "alice")
    queue.try_start("first")

    with pytest.raises(SessionBusy, match="in progress") as busy:
        queue.join("second", "alice")
    assert busy.value.ticket == "first"
    assert queue.join("first", "alice") == 0  # the same ticket asking again is no second run
    assert queue.join("bob's", "bob") == 1
    queue.leave("first")
    assert queue.join("second", "alice") == 2


def test_the_slot_of_a_holder_that_stopped_renewing_is_freed(backend, clock):
    queue = queue_of(backend, limit=1, clock=clock, lease=15.0)
    queue.join("dead", "alice")
    queue.join("alive", "bob")
    assert queue.try_start("dead") == 0

    clock.now += 10
    assert queue.try_start("alive") == 1 and queue.renew("dead")
    clock.now += 14
    assert queue.try_start("alive") == 1  # renewed 14 s ago: still the holder's
    clock.now += 2
    assert queue.try_start("alive") == 0
    assert not queue.renew("dead") and queue.place("dead") is None


def test_a_ticket_whose_job_never_started_leaves_the_queue(backend, clock):
    queue = queue_of(backend, limit=1, clock=clock)
    queue.join("abandoned", "alice")

    clock.now += FIRST_LEASE_SECONDS + 1
    assert queue.place("abandoned") is None
    assert queue.join("next", "alice") == 1


def test_a_forgotten_ticket_that_asks_again_joins_at_the_back(backend):
    queue = queue_of(backend, limit=1)
    queue.join("a", "alice")
    queue.try_start("a")
    queue.join("b", "bob")

    assert queue.try_start("stranger") == 2


def _take_slot_and_hold(directory, ticket, limit, lease, log, hold):
    queue = RunQueue(DiskcacheBackend(directory), limit=limit, lease=lease)
    queue.join(ticket, ticket)
    with LeaseKeeper(queue, ticket):
        while queue.try_start(ticket) != 0:
            time.sleep(0.02)
        log.put(("start", ticket, time.monotonic()))
        time.sleep(hold)
        log.put(("end", ticket, time.monotonic()))
    queue.leave(ticket)


def test_processes_never_exceed_the_limit(tmp_path):
    context = multiprocessing.get_context("fork")
    log = context.Queue()
    workers = [context.Process(target=_take_slot_and_hold, args=(tmp_path / "store", f"t{i}", 2, 5.0, log, 0.3))
               for i in range(5)]
    for worker in workers:
        worker.start()
    events = sorted((log.get(timeout=30) for _ in range(2 * len(workers))), key=lambda event: event[2])
    for worker in workers:
        worker.join(timeout=10)

    running, most = 0, 0
    for kind, _, _ in events:
        running += 1 if kind == "start" else -1
        most = max(most, running)
    assert most == 2
    assert [worker.exitcode for worker in workers] == [0] * 5


def test_a_killed_process_frees_its_slot_when_its_lease_passes(tmp_path):
    context = multiprocessing.get_context("fork")
    log = context.Queue()
    holder = context.Process(target=_take_slot_and_hold, args=(tmp_path / "store", "doomed", 1, 1.0, log, 60))
    holder.start()
    assert log.get(timeout=10)[0] == "start"
    os.kill(holder.pid, signal.SIGKILL)
    holder.join()
    killed_at = time.monotonic()

    queue = RunQueue(DiskcacheBackend(tmp_path / "store"), limit=1, lease=1.0)
    queue.join("next", "bob")
    while queue.try_start("next") != 0:
        assert time.monotonic() - killed_at < 5, "the dead process kept its slot"
        time.sleep(0.05)
