"""A clustering run as a Dash background callback, and the records that say how each run ended.

Each click on Run gets a ticket (a random id) that travels with the request, so Dash's job cache key
differs between two users asking for the same run at the same moment and both get their result
(DESIGN.md trap 7). The job writes its ticket's fate to a ledger in the jobs cache; when the
browser sees the job end, ``settle`` reads the ledger and turns "failed", "cancelled" or "the
process vanished" into words or an alert, so no outcome is ever an endless spinner.

Cancel is ours rather than Dash's ``cancel=``: the ledger records the cancel before the process
is killed, so the settling can never mistake a cancelled run for one that died.
"""
from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass, replace

import dash_bootstrap_components as dbc
import diskcache
import psutil
from dash import DiskcacheManager, Input, Output, State, html, no_update
from dash.exceptions import PreventUpdate

from analysis.pipeline import run_analysis
from analysis.result import RunParams
from dashboard import ids
from dashboard.config import Config
from dashboard.store import ResultsStore

log = logging.getLogger(__name__)

LEDGER_EXPIRY = 24 * 3600  # seconds a job's record is kept; the browser only asks right after the end
SLOT_POLL = 1.0  # seconds between looks for a free run slot
PROGRESS_POLL_MS = 300  # how often the browser asks a running job for news


@dataclass(frozen=True)
class JobRecord:
    state: str  # "running" | "done" | "failed" | "cancelled"
    pid: int
    started_at: float
    message: str = ""
    ended_at: float | None = None


class JobLedger:
    """How each ticket's job is doing, in the jobs cache every server process shares."""

    def __init__(self, cache: diskcache.Cache) -> None:
        self.cache = cache

    def start(self, ticket: str, pid: int) -> bool:
        """Record the job as running; False when it was cancelled before it could start."""
        with self.cache.transact(retry=True):
            if self.get(ticket) is not None:
                return False
            self.cache.set(_ledger_key(ticket), JobRecord("running", pid, time.time()), expire=LEDGER_EXPIRY)
            return True

    def end(self, ticket: str, state: str, message: str = "") -> None:
        """Record the end unless one is recorded already (a cancel stays a cancel)."""
        with self.cache.transact(retry=True):
            record = self.get(ticket)
            if record is not None and record.state == "running":
                ended = replace(record, state=state, message=message, ended_at=time.time())
                self.cache.set(_ledger_key(ticket), ended, expire=LEDGER_EXPIRY)

    def get(self, ticket: str) -> JobRecord | None:
        return self.cache.get(_ledger_key(ticket))

    def cancel(self, ticket: str) -> JobRecord | None:
        """Mark the job cancelled; returns its record when it has a process to stop.

        A job not started yet is marked too, so that it never starts.
        """
        with self.cache.transact(retry=True):
            record = self.get(ticket)
            if record is None:
                stopped = JobRecord("cancelled", 0, time.time(), "cancelled by the user", time.time())
                self.cache.set(_ledger_key(ticket), stopped, expire=LEDGER_EXPIRY)
                return None
            if record.state != "running":
                return None
            self.end(ticket, "cancelled", "cancelled by the user")
            return record


class RunSlots:
    """At most ``count`` clustering runs at once across every server process on this machine.

    A slot holds its job's pid; a slot whose process is gone (killed, crashed) is free again.
    """

    def __init__(self, cache: diskcache.Cache, count: int) -> None:
        self.cache = cache
        self.count = count

    def acquire(self, pid: int) -> bool:
        with self.cache.transact(retry=True):
            for slot in range(self.count):
                holder = self.cache.get(_slot_key(slot))
                if holder is None or holder == pid or not process_alive(holder):
                    self.cache.set(_slot_key(slot), pid)
                    return True
        return False

    def release(self, pid: int) -> None:
        with self.cache.transact(retry=True):
            for slot in range(self.count):
                if self.cache.get(_slot_key(slot)) == pid:
                    self.cache.delete(_slot_key(slot))


def process_alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def kill_process_tree(pid: int) -> None:
    try:
        process = psutil.Process(pid)
        children = process.children(recursive=True)
    except psutil.NoSuchProcess:
        return
    for victim in [*children, process]:
        try:
            victim.kill()
        except psutil.NoSuchProcess:
            pass


def new_ticket(dataset_id: str, params: RunParams, run_id: str) -> dict:
    return {"ticket": uuid.uuid4().hex, "dataset_id": dataset_id, "params": params.to_dict(), "run_id": run_id}


def outcome(dataset_id: str, run_id: str, ticket: str | None = None) -> dict:
    return {"ticket": ticket, "dataset_id": dataset_id, "run_id": run_id}


def error_alert(message: str, heading: str) -> dbc.Alert:
    return dbc.Alert([html.Strong(f"{heading} "), message], color="danger", dismissable=True, class_name="amc-alert")


class RunJobs:
    """The run, cancel and settle callbacks of one app, over the configured jobs directory."""

    def __init__(self, config: Config, store: ResultsStore) -> None:
        self.config = config
        self.store = store
        self.cache = diskcache.Cache(str(config.jobs_dir))
        self.manager = DiskcacheManager(self.cache)
        self.ledger = JobLedger(self.cache)
        self.slots = RunSlots(self.cache, config.max_concurrent_runs)

    def register(self, app) -> None:
        app.callback(
            Output(ids.JOB_OUTCOME, "data", allow_duplicate=True),
            Input(ids.RUN_REQUEST, "data"),
            background=True,
            manager=self.manager,
            interval=PROGRESS_POLL_MS,
            progress=[
                Output(ids.PROGRESS, "value"),
                Output(ids.PROGRESS, "label"),
                Output(ids.PROGRESS_WORDS, "children"),
            ],
            running=[
                (Output(ids.RUN_BUTTON, "disabled"), True, False),
                (Output(ids.CANCEL_BUTTON, "disabled"), False, True),
                (Output(ids.JOB_WATCH, "data"), True, False),
            ],
            prevent_initial_call=True,
        )(self.execute)
        app.callback(
            Output(ids.PROGRESS_WORDS, "children", allow_duplicate=True),
            Input(ids.CANCEL_BUTTON, "n_clicks"),
            State(ids.RUN_REQUEST, "data"),
            prevent_initial_call=True,
        )(self.cancel)
        app.callback(
            Output(ids.PROGRESS, "value", allow_duplicate=True),
            Output(ids.PROGRESS, "label", allow_duplicate=True),
            Output(ids.PROGRESS_WORDS, "children", allow_duplicate=True),
            Output(ids.JOB_ALERT, "children", allow_duplicate=True),
            Input(ids.JOB_WATCH, "data"),
            State(ids.RUN_REQUEST, "data"),
            prevent_initial_call=True,
        )(self.settle)

    def execute(self, set_progress, request: dict | None) -> dict:
        """Runs in a child process: compute the run (unless stored) and return only its id."""
        if not request:
            raise PreventUpdate
        ticket, dataset_id, run_id = request["ticket"], request["dataset_id"], request["run_id"]
        pid = os.getpid()
        if not self.ledger.start(ticket, pid):
            raise PreventUpdate  # cancelled before it started
        # A fresh store: the parent's in-process memo and its lock were copied mid-use by fork.
        store = ResultsStore.from_config(self.config)
        watchdog = self._start_watchdog(ticket)
        try:
            if not store.has_run(run_id):
                self._wait_for_slot(pid, set_progress)
                try:
                    self._compute(store, request, set_progress)
                finally:
                    self.slots.release(pid)
        except Exception as error:  # any failure must reach the user as words, never as a spinner
            log.exception("run %s failed", run_id)
            self.ledger.end(ticket, "failed", _one_line(error))
            raise PreventUpdate from None
        finally:
            watchdog.cancel()
        self.ledger.end(ticket, "done")
        return outcome(dataset_id, run_id, ticket)

    def _compute(self, store: ResultsStore, request: dict, set_progress) -> None:
        if store.has_run(request["run_id"]):  # someone else finished it while this one waited
            return
        dataset = store.get_dataset(request["dataset_id"])
        if dataset is None:
            raise LookupError("the dataset of this run is no longer in the store; upload it again")
        params = RunParams.from_dict(request["params"])

        def report(done: int, total: int, message: str) -> None:
            set_progress((round(100 * done / max(total, 1)), f"{done}/{total}", message))

        set_progress((0, "", f"Clustering {dataset.name}…"))
        result = run_analysis(dataset, params, report)
        store.put_run(result)

    def _wait_for_slot(self, pid: int, set_progress) -> None:
        while not self.slots.acquire(pid):
            set_progress((0, "", f"Waiting for a free slot: {self.config.max_concurrent_runs} run(s) are in progress"))
            time.sleep(SLOT_POLL)

    def _start_watchdog(self, ticket: str) -> threading.Timer:
        """Stop the whole process at the time limit, even in the middle of a long step."""
        limit = self.config.job_time_limit

        def expire() -> None:
            self.ledger.end(ticket, "failed", f"the run took longer than the time limit of {limit} s and was stopped")
            os._exit(1)

        watchdog = threading.Timer(limit, expire)
        watchdog.daemon = True
        watchdog.start()
        return watchdog

    def cancel(self, _clicks: int | None, request: dict | None):
        if not request:
            raise PreventUpdate
        record = self.ledger.cancel(request["ticket"])
        if record is not None:
            kill_process_tree(record.pid)
        return "Cancelling…"

    def settle(self, running: bool | None, request: dict | None):
        """At the job's start clear the last run's traces; at its end tell the user how it went."""
        if running:
            return 0, "", "Starting…", None
        if not request:
            raise PreventUpdate
        record = self.ledger.get(request["ticket"])
        if record is not None and record.state == "done":
            seconds = (record.ended_at or time.time()) - record.started_at
            return 100, "", f"Finished in {seconds:.1f} s", no_update
        if record is not None and record.state == "cancelled":
            return 0, "", "Cancelled: nothing was saved", no_update
        if record is not None and record.state == "failed":
            return 0, "", "Failed", error_alert(record.message, "The run failed:")
        message = "its process ended without a result (it may have run out of memory); nothing was saved. Try again."
        return 0, "", "Stopped", error_alert(message, "The run stopped:")


def _one_line(error: Exception) -> str:
    text = " ".join(str(error).split())
    return text if text else type(error).__name__


def _ledger_key(ticket: str) -> str:
    return f"ledger:{ticket}"


def _slot_key(slot: int) -> str:
    return f"run-slot:{slot}"
