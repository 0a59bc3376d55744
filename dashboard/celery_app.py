"""Background runs on Celery workers, with Redis as broker and result backend (``AMC_REDIS_URL``).

A task is acknowledged only when it ends (``task_acks_late``), so a worker that dies mid-run does not
silently drop it; its message is put back (``task_reject_on_worker_lost``). Dash would then show a
spinner until the run finally came back, so each run also holds a heartbeat in Redis while it lives:

- the web side (``WatchedCeleryManager.job_running``) calls a started run whose heartbeat has
  lapsed finished, and the shell's settling tells the user the run stopped and offers a retry;
- a message delivered a second time (its first worker died) ends at once instead of running again
  behind the user's back: the user has already been told, and a retry is one click.
"""
from __future__ import annotations

import functools
import threading
import time
from typing import Callable

from celery import Celery, current_task
from dash import CeleryManager
from dash.exceptions import PreventUpdate

HEARTBEAT_SECONDS = 6.0  # a run whose worker died is called finished this long after its last beat
STARTED_KEY = "amc-job-started:"
HEARTBEAT_KEY = "amc-job-heartbeat:"
# Past the job's own watchdog (which ends it with a clear message), Celery kills what is left.
HARD_LIMIT_GRACE = 30


def make_celery(config) -> Celery:
    """This process's Celery app for the configured Redis: the web app registers its tasks on it and
    ``amc worker`` runs that same instance, so both know every background callback."""
    return _celery(config.redis_url, config.job_time_limit)


@functools.cache
def _celery(redis_url: str, job_time_limit: int) -> Celery:
    celery = Celery("amc", broker=redis_url, backend=redis_url)
    celery.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_track_started=True,
        task_time_limit=job_time_limit + HARD_LIMIT_GRACE,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        # An unacknowledged message returns to the queue after this long: never while its run still runs.
        broker_transport_options={"visibility_timeout": 2 * job_time_limit + HARD_LIMIT_GRACE},
        result_expires=24 * 3600,
    )
    return celery


WORKER_KEY = "amc-worker-alive:"  # one key per running `amc worker`, refreshed while it lives
WORKER_TTL = 9.0  # seconds a worker's key outlives its last refresh: a page learns of no worker within 10 s
WORKER_COUNT_SECONDS = 2.0  # how long one process reuses its count of live workers
NO_WORKER = "No worker is running: your run waits in the queue until one starts (amc worker)."


def keep_worker_alive(client, name: str) -> threading.Thread:
    """While this worker process lives, its key stays in Redis (``live_workers`` counts them)."""

    def beat() -> None:
        while True:
            client.set(WORKER_KEY + name, b"1", px=int(WORKER_TTL * 1000))
            time.sleep(WORKER_TTL / 3)

    thread = threading.Thread(target=beat, name="amc-worker-alive", daemon=True)
    thread.start()
    return thread


def live_workers(client) -> int:
    return sum(1 for _ in client.scan_iter(match=WORKER_KEY + "*", count=100))


class WatchedCeleryManager(CeleryManager):
    """Dash's CeleryManager that also sees a run whose worker died (see the module docstring), and tells a
    run waiting for a worker when none is running."""

    _counted: tuple[float, int] = (0.0, 0)

    def make_job_fn(self, fn, progress, key=None):
        return super().make_job_fn(_watched(fn, self.handle.backend.client), progress, key)

    def get_progress(self, key):
        progress = super().get_progress(key)
        if progress is None and self.workers() == 0:
            return [0, "", NO_WORKER]  # the run's progress outputs: bar, its label, the words beside it
        return progress

    def workers(self) -> int:
        """Live ``amc worker`` processes, counted at most every ``WORKER_COUNT_SECONDS`` by this process."""
        at, count = self._counted
        if time.monotonic() - at > WORKER_COUNT_SECONDS:
            count = live_workers(self.handle.backend.client)
            self._counted = (time.monotonic(), count)
        return count

    def job_running(self, job) -> bool:
        if not super().job_running(job):
            return False
        client = self.handle.backend.client
        started = client.exists(STARTED_KEY + str(job))
        return not started or bool(client.exists(HEARTBEAT_KEY + str(job)))


def current_task_id() -> str | None:
    """The Celery task id while running inside a task, else None."""
    request = getattr(current_task, "request", None)  # the proxy stands for None outside a task
    return getattr(request, "id", None) or None


def _watched(fn: Callable, client) -> Callable:
    @functools.wraps(fn)
    def watched(*args, **kwargs):
        task_id = current_task_id()
        if not client.set(STARTED_KEY + task_id, b"1", nx=True, ex=24 * 3600):
            raise PreventUpdate  # delivered again after its worker died: the user was told, not re-run
        with _Heartbeat(client, HEARTBEAT_KEY + task_id):
            return fn(*args, **kwargs)

    return watched


class _Heartbeat:
    def __init__(self, client, key: str) -> None:
        self.client = client
        self.key = key
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="amc-heartbeat", daemon=True)

    def __enter__(self) -> "_Heartbeat":
        self.client.set(self.key, b"1", px=int(HEARTBEAT_SECONDS * 1000))
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        # The last beat is left to lapse: until then Celery has recorded the task's end, so the web
        # side never sees "started, no heartbeat" between the return and the stored result.
        self._stopped.set()
        self._thread.join(timeout=HEARTBEAT_SECONDS)

    def _beat(self) -> None:
        while not self._stopped.wait(HEARTBEAT_SECONDS / 3):
            self.client.set(self.key, b"1", px=int(HEARTBEAT_SECONDS * 1000))
