"""``/health``: is the store reachable and writable, which job backend runs jobs, how many runs run and wait.

Everyone gets the status (for a load balancer's probe); the details go only to signed-in users while
login is on. 200 when the store answers and takes writes, 200 "degraded" when it answers but refuses
writes (stored runs can still be viewed), 503 when it cannot be reached.
"""
from __future__ import annotations

import logging
import os
import socket
import time
from typing import Callable

import flask

from dashboard.auth import HEALTH_ROUTE
from dashboard.limits import RunQueue

log = logging.getLogger(__name__)

PROBE_PREFIX = "health-probe:"
PROBE_EXPIRY = 60  # seconds: a restarted worker's probe key must not stay in a shared store for ever


def add_health_route(server: flask.Flask, backend, queue: RunQueue, job_backend: str,
                     signed_in: Callable[[], bool] | None = None, workers: Callable[[], int] | None = None) -> None:
    """``signed_in`` is the login gate's check, or None when login is off; ``workers`` counts the live
    Celery workers, None when runs run on this server."""

    @server.route(HEALTH_ROUTE)
    def health():
        store = probe_store(backend)
        jobs = job_report(queue, job_backend)
        if workers is not None:
            jobs["workers"] = _count(workers)
        ready = store["writable"] and jobs.get("workers") != 0  # no worker: runs would wait for ever
        status = "ok" if ready else "degraded" if store["reachable"] else "unavailable"
        body: dict = {"status": status}
        if signed_in is None or signed_in():
            body |= {"store": store, "jobs": jobs, "server": f"{socket.gethostname()}:{os.getpid()}"}
        return flask.jsonify(body), 503 if status == "unavailable" else 200


def _count(workers: Callable[[], int]) -> int | str:
    try:
        return workers()
    except Exception as error:  # the broker down: the store probe says so too
        return " ".join(str(error).split()) or type(error).__name__


def probe_store(backend) -> dict:
    report = {"backend": type(backend).__name__, "reachable": False, "writable": False}
    key = f"{PROBE_PREFIX}{socket.gethostname()}:{os.getpid()}"  # one per process: probes never race
    try:
        backend.exists(key)
        report["reachable"] = True
        stamp = repr(time.time()).encode()
        backend.set(key, stamp, expire=PROBE_EXPIRY)
        report["writable"] = backend.get(key) == stamp
        warning = backend.eviction_warning()
        if warning:
            report["warning"] = warning
    except Exception as error:  # every failure is the probe's answer, never the probe's crash
        log.warning("health probe of the results store failed: %s", error)
        report["error"] = " ".join(str(error).split()) or type(error).__name__
    return report


def job_report(queue: RunQueue, job_backend: str) -> dict:
    try:
        state = queue.state()
    except Exception as error:
        return {"backend": job_backend, "error": " ".join(str(error).split()) or type(error).__name__}
    return {"backend": job_backend, "limit": state.limit, "running": state.running, "queued": state.waiting}
