"""A clustering run as a Dash background callback, and the records that say how each run ended.

Each click on Run gets a ticket (a random id) that travels with the request, so Dash's job cache key
differs between two users asking for the same run at the same moment and both get their result
(DESIGN.md trap 7). The job writes its ticket's fate to a ledger in the jobs cache; when the
browser sees the job end, ``settle`` reads the ledger and turns "failed", "cancelled" or "the
process vanished" into words or an alert, so no outcome is ever an endless spinner.

Cancel is ours rather than Dash's ``cancel=``: the ledger records the cancel before the process
is killed, so the settling can never mistake a cancelled run for one that died.

Jobs run in processes beside the web server (DiskcacheManager over the jobs directory), or on Celery
workers when ``AMC_REDIS_URL`` is set (then the ledger and the run queue live in Redis too). Either
way at most ``AMC_MAX_CONCURRENT_RUNS`` runs compute at once; the others wait in arrival order and
the user sees their place (``dashboard.limits``).
"""
from __future__ import annotations

import logging
import os
import pickle
import threading
import time
import uuid
from dataclasses import dataclass, replace

import dash_bootstrap_components as dbc
import psutil
from dash import DiskcacheManager, Input, Output, State, html, no_update
from dash.exceptions import PreventUpdate

from analysis.pipeline import run_analysis
from analysis.result import RunParams
from dashboard import ids
from dashboard.config import Config
from dashboard.limits import LeaseKeeper, RunQueue
from dashboard.store import DiskcacheBackend, ResultsStore, StoreBackend

log = logging.getLogger(__name__)

LEDGER_EXPIRY = 24 * 3600  # seconds a job's record is kept; the browser only asks right after the end
SLOT_POLL = 0.5  # seconds between looks for a free run slot (and news of the queue for the user)
# How often the browser asks a running job for news: its end is seen this soon. A poll is one small request
# (a few ms of a worker thread), and the user waits for every ms between the job's end and the next poll.
PROGRESS_POLL_MS = 50


@dataclass(frozen=True)
class JobRecord:
    state: str  # "running" | "done" | "failed" | "cancelled"
    pid: int
    started_at: float
    message: str = ""
    ended_at: float | None = None
    task_id: str | None = None  # the Celery task computing it, when on Celery


class JobLedger:
    """How each ticket's job is doing, in the backend every server process and worker shares."""

    def __init__(self, backend: StoreBackend) -> None:
        self.backend = backend

    def start(self, ticket: str, pid: int, task_id: str | None = None) -> bool:
        """Record the job as running; False when it has a record already.

        That is a job cancelled before it could start, or a Celery message delivered again after
        its first worker died (the user has been told that run stopped): neither may run now.
        """
        with self.backend.transaction():
            if self.get(ticket) is not None:
                return False
            self._put(ticket, JobRecord("running", pid, time.time(), task_id=task_id))
            return True

    def end(self, ticket: str, state: str, message: str = "") -> None:
        """Record the end unless one is recorded already (a cancel stays a cancel)."""
        with self.backend.transaction():
            record = self.get(ticket)
            if record is not None and record.state == "running":
                self._put(ticket, replace(record, state=state, message=message, ended_at=time.time()))

    def get(self, ticket: str) -> JobRecord | None:
        stored = self.backend.get(_ledger_key(ticket))
        return pickle.loads(stored) if stored is not None else None

    def cancel(self, ticket: str) -> JobRecord | None:
        """Mark the job cancelled; returns its record when it has a process to stop.

        A job not started yet is marked too, so that it never starts.
        """
        with self.backend.transaction():
            record = self.get(ticket)
            if record is None:
                self._put(ticket, JobRecord("cancelled", 0, time.time(), "cancelled by the user", time.time()))
                return None
            if record.state != "running":
                return None
            self.end(ticket, "cancelled", "cancelled by the user")
            return record

    def _put(self, ticket: str, record: JobRecord) -> None:
        self.backend.set(_ledger_key(ticket), pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL),
                         expire=LEDGER_EXPIRY)


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
    """The run, cancel and settle callbacks of one app, on the configured job backend."""

    def __init__(self, config: Config, store: ResultsStore) -> None:
        # What panels ask to be done in the job once a run is stored (``PanelHost.after_run_stored``).
        self.after_store: list = []
        self.config = config
        self.store = store
        if config.redis_url:
            from dashboard.celery_app import WatchedCeleryManager, make_celery  # celery only when scaled out

            self.backend = store.backend
            self.celery = make_celery(config)
            self.manager = WatchedCeleryManager(self.celery)
            self.kind = "celery"
        else:
            self.backend = DiskcacheBackend(config.jobs_dir)
            self.celery = None
            self.manager = DiskcacheManager(self.backend.cache)
            self.kind = "diskcache"
        self.ledger = JobLedger(self.backend)
        self.queue = RunQueue(self.backend, config.max_concurrent_runs)

    def admit(self, request: dict, owner: str, started_by: str = "") -> int:
        """Queue a new run for ``owner`` (a user or browser session); its place. SessionBusy when it has one.

        ``started_by``, the signed-in user, is kept here on the server beside the ticket: the request itself
        travels through the browser, which must not be able to say who started a run.
        """
        place = self.queue.join(request["ticket"], owner)
        if started_by:
            self.backend.set(_starter_key(request["ticket"]), started_by.encode(), expire=LEDGER_EXPIRY)
        return place

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
            Output(ids.JOB_OUTCOME, "data", allow_duplicate=True),
            Input(ids.JOB_WATCH, "data"),
            State(ids.RUN_REQUEST, "data"),
            prevent_initial_call=True,
        )(self.settle)

    def execute(self, set_progress, request: dict | None) -> dict:
        """Runs in a child process: compute the run (unless stored) and return only its id."""
        if not request:
            raise PreventUpdate
        ticket, dataset_id, run_id = request["ticket"], request["dataset_id"], request["run_id"]
        if not self.ledger.start(ticket, os.getpid(), self._task_id()):
            raise PreventUpdate  # cancelled before it started, or delivered again after its worker died
        store = self.store.forked(self.config)
        watchdog = self._start_watchdog(ticket)
        try:
            if not store.has_run(run_id):
                with LeaseKeeper(self.queue, ticket):
                    if self._wait_for_turn(store, request, set_progress):
                        self._compute(store, request, set_progress)
        except Exception as error:  # any failure must reach the user as words, never as a spinner
            log.exception("run %s failed", run_id)
            self.ledger.end(ticket, "failed", _one_line(error))
            raise PreventUpdate from None
        finally:
            watchdog.cancel()
            self.queue.leave(ticket)
        self.ledger.end(ticket, "done")
        return outcome(dataset_id, run_id, ticket)

    def _compute(self, store: ResultsStore, request: dict, set_progress) -> None:
        dataset = store.get_dataset(request["dataset_id"])
        if dataset is None:
            raise LookupError("the dataset of this run is no longer in the store; upload it again")
        params = RunParams.from_dict(request["params"])

        def report(done: int, total: int, message: str) -> None:
            set_progress((round(100 * done / max(total, 1)), f"{done}/{total}", message))

        set_progress((0, "", f"Clustering {dataset.name}…"))
        result = run_analysis(dataset, params, report)
        starter = self.backend.get(_starter_key(request["ticket"]))
        store.put_run(result, started_by=starter.decode() if starter else "")
        self._after_store(result, dataset)

    def _after_store(self, result, dataset) -> None:
        """The panels' ``after_run_stored`` work, here on the job's own core: a failure only costs the
        panel the work, which its first request then does."""
        for work in self.after_store:
            try:
                work(result, dataset.frame)
            except Exception:
                log.exception("after storing run %s: %s failed", result.run_id, getattr(work, "__qualname__", work))

    def _wait_for_turn(self, store: ResultsStore, request: dict, set_progress) -> bool:
        """Wait for a free slot in arrival order: True once this run may compute, False when someone
        else has stored the same run meanwhile (identical requests share one computation)."""
        limit = self.config.max_concurrent_runs
        while (place := self.queue.try_start(request["ticket"])) != 0:
            if store.has_run(request["run_id"]):
                return False
            ahead = "next in line" if place == 1 else f"place {place} in the queue"
            set_progress((0, "", f"Waiting, {ahead}: this server computes {limit} run(s) at a time"))
            time.sleep(SLOT_POLL)
        return not store.has_run(request["run_id"])

    def _task_id(self) -> str | None:
        if self.celery is None:
            return None
        from dashboard.celery_app import current_task_id

        return current_task_id()

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
        if record is not None and record.task_id:
            self.celery.control.revoke(record.task_id, terminate=True, signal="SIGKILL")
        elif record is not None:
            kill_process_tree(record.pid)
        self.queue.leave(request["ticket"])
        return "Cancelling…"

    def settle(self, running: bool | None, request: dict | None):
        """At the job's start clear the last run's traces; at its end tell the user how it went.

        A finished run's outcome is handed on here too, not only as the job's own answer: Dash reads the
        job's result, then asks whether its process still runs, and a job that stored its result and
        ended between the two is taken for a cancelled one. Its run was then never shown ("Finished"
        and an empty page; seen once in some hundred runs on a busy machine). ``show_outcome`` draws a
        run the page already shows no second time."""
        if running:
            return 0, "", "Starting…", None, no_update
        if not request:
            raise PreventUpdate
        # The job is over for Dash (even one whose process died and could not leave the queue):
        # its place goes, so that the user can try again at once.
        self.queue.leave(request["ticket"])
        record = self.ledger.get(request["ticket"])
        if record is not None and record.state == "done":
            seconds = (record.ended_at or time.time()) - record.started_at
            done = outcome(request["dataset_id"], request["run_id"], request["ticket"])
            return 100, "", f"Finished in {seconds:.1f} s", no_update, done
        if record is not None and record.state == "cancelled":
            return 0, "", "Cancelled: nothing was saved", no_update, no_update
        if record is not None and record.state == "failed":
            return 0, "", "Failed", error_alert(record.message, "The run failed:"), no_update
        message = "its process ended without a result (it may have run out of memory); nothing was saved. Try again."
        return 0, "", "Stopped", error_alert(message, "The run stopped:"), no_update


def _one_line(error: Exception) -> str:
    text = " ".join(str(error).split())
    return text if text else type(error).__name__


def _ledger_key(ticket: str) -> str:
    return f"ledger:{ticket}"


def _starter_key(ticket: str) -> str:
    return f"started-by:{ticket}"

