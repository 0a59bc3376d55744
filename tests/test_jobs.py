"""The job records behind the background run: ledger, run queue, cancel, time limit, and how an end is told."""
from __future__ import annotations

import dataclasses
import json
import multiprocessing
import subprocess
import threading
import time

import pytest
from dash import no_update
from dash.exceptions import PreventUpdate
from synthetic_run import synthetic_frame, synthetic_run

from analysis.dataset import load_csv
from analysis.result import RunParams, run_id_for
from dashboard.config import Config
from dashboard.jobs import JobLedger, RunJobs, new_ticket
from dashboard.store import ResultsStore


@pytest.fixture
def config(tmp_path):
    return Config.from_env({}, cache_dir=tmp_path / "cache", job_time_limit=60, max_concurrent_runs=1)


@pytest.fixture
def jobs(config):
    return RunJobs(config, ResultsStore.from_config(config))


@pytest.fixture
def sleeper():
    """A real process standing in for a job's process."""
    process = subprocess.Popen(["sleep", "60"])
    yield process
    process.kill()
    process.wait()


def request(run_id="run-1", dataset_id="data-1", ticket="ticket-1"):
    return {"ticket": ticket, "dataset_id": dataset_id, "params": {}, "run_id": run_id}


def text_of(component) -> str:
    return json.dumps(component.to_plotly_json(), default=lambda c: c.to_plotly_json())


def test_ledger_keeps_the_first_end_and_a_cancel_stays_a_cancel(jobs):
    ledger = jobs.ledger
    ledger.start("a", 123)
    assert ledger.get("a").state == "running"

    assert ledger.cancel("a").pid == 123
    ledger.end("a", "done")
    assert ledger.get("a").state == "cancelled"
    assert ledger.cancel("a") is None  # nothing left to cancel
    assert not ledger.start("a", 456)


def test_cancel_records_first_then_kills_the_process(jobs, sleeper):
    jobs.ledger.start("ticket-1", sleeper.pid)

    assert jobs.cancel(1, request()) == "Cancelling…"

    assert sleeper.wait(timeout=10) != 0
    assert jobs.ledger.get("ticket-1").state == "cancelled"


def test_a_job_cancelled_before_it_started_never_starts(jobs):
    jobs.cancel(1, request())

    with pytest.raises(PreventUpdate):
        jobs.execute(lambda value: None, request())
    assert jobs.ledger.get("ticket-1").state == "cancelled"
    assert jobs.settle(False, request())[2].startswith("Cancelled")
    assert jobs.settle(False, request())[4] is no_update


def test_a_stored_run_returns_at_once(jobs, config):
    run = dataclasses.replace(synthetic_run(synthetic_frame(rows=60), ks=(2, 3)), run_id="stored-run")
    ResultsStore.from_config(config).put_run(run)
    progress = []

    answer = jobs.execute(progress.append, request(run_id="stored-run"))

    assert answer == {"ticket": "ticket-1", "dataset_id": "data-1", "run_id": "stored-run"}
    assert progress == [] and jobs.ledger.get("ticket-1").state == "done"


def test_a_failing_run_is_recorded_with_its_message(jobs):
    with pytest.raises(PreventUpdate):
        jobs.execute(lambda value: None, request(dataset_id="gone"))

    record = jobs.ledger.get("ticket-1")
    assert record.state == "failed" and "no longer in the store" in record.message


def _outlive_the_limit(config: Config) -> None:
    jobs = RunJobs(config, ResultsStore.from_config(config))
    jobs.ledger.start("slow", multiprocessing.current_process().pid)
    jobs._start_watchdog("slow")
    time.sleep(30)


def test_the_time_limit_stops_the_process_and_says_why(config):
    config = dataclasses.replace(config, job_time_limit=1)
    child = multiprocessing.get_context("fork").Process(target=_outlive_the_limit, args=(config,))
    started = time.monotonic()
    child.start()
    child.join(timeout=20)

    assert child.exitcode == 1 and time.monotonic() - started < 15
    record = JobLedger(RunJobs(config, ResultsStore.from_config(config)).backend).get("slow")
    assert record.state == "failed" and "time limit of 1 s" in record.message


@pytest.mark.parametrize(
    ("state", "message", "words", "alert"),
    [
        ("done", "", "Finished in", None),
        ("cancelled", "cancelled by the user", "Cancelled", None),
        ("failed", "the data has 5 usable rows", "Failed", "The run failed: the data has 5 usable rows"),
    ],
)
def test_settling_tells_how_the_job_ended(jobs, state, message, words, alert):
    jobs.ledger.start("ticket-1", 1)
    jobs.ledger.end("ticket-1", state, message)

    value, _, said, shown, done = jobs.settle(False, request())

    assert said.startswith(words)
    assert (value == 100) == (state == "done")
    # A finished run is handed on here too: Dash can take a job that just ended for a cancelled one.
    assert done == ({"ticket": "ticket-1", "dataset_id": "data-1", "run_id": "run-1"} if state == "done" else no_update)
    if alert:
        assert alert.split(": ")[1] in text_of(shown)


def test_a_job_whose_process_vanished_ends_in_an_error_not_a_spinner(jobs):
    jobs.ledger.start("ticket-1", 1)  # never ended: the process died

    _, _, said, shown, _ = jobs.settle(False, request())

    assert said == "Stopped" and "ended without a result" in text_of(shown)


def test_a_starting_job_clears_the_last_runs_traces(jobs):
    assert jobs.settle(True, request()) == (0, "", "Starting…", None, no_update)


def test_a_run_waits_its_turn_saying_its_place_and_takes_a_result_stored_meanwhile(jobs, config):
    jobs.queue.join("someone-else", "bob")
    jobs.queue.try_start("someone-else")  # the only slot is taken
    jobs.admit(request(run_id="shared-run"), "alice")
    progress, answers = [], []
    waiter = threading.Thread(target=lambda: answers.append(jobs.execute(progress.append, request(run_id="shared-run"))))
    waiter.start()
    deadline = time.monotonic() + 10
    while not progress and time.monotonic() < deadline:
        time.sleep(0.05)

    run = dataclasses.replace(synthetic_run(synthetic_frame(rows=60), ks=(2, 3)), run_id="shared-run")
    ResultsStore.from_config(config).put_run(run)  # the same run, computed by another request
    waiter.join(timeout=10)

    assert "next in line" in progress[0][2] and "1 run(s) at a time" in progress[0][2]
    assert answers == [{"ticket": "ticket-1", "dataset_id": "data-1", "run_id": "shared-run"}]
    assert jobs.queue.place("ticket-1") is None and jobs.queue.place("someone-else") == 0


def test_a_computed_run_enters_the_history_under_the_user_the_server_admitted(jobs, config, demo_csv):
    store = ResultsStore.from_config(config)
    dataset_id = store.put_dataset(load_csv(demo_csv))
    params = RunParams(k_min=2, k_max=3)
    ticket = new_ticket(dataset_id, params, run_id_for(dataset_id, params))
    # What the browser hands back is the ticket only: a name planted in it counts for nothing.
    jobs.admit(ticket, "user:alice", started_by="alice")

    jobs.execute(lambda value: None, {**ticket, "started_by": "mallory"})

    [info] = ResultsStore.from_config(config).list_runs(dataset_id)
    assert (info.run_id, info.started_by, info.params) == (ticket["run_id"], "alice", params)


def test_work_asked_for_after_a_run_is_stored_is_done_in_its_job_and_its_failure_costs_only_it(jobs, config, demo_csv):
    store = ResultsStore.from_config(config)
    dataset_id = store.put_dataset(load_csv(demo_csv))
    params = RunParams(k_min=2, k_max=3)
    ticket = new_ticket(dataset_id, params, run_id_for(dataset_id, params))
    jobs.admit(ticket, "user:alice")
    seen = []

    def broken(result, frame):
        raise RuntimeError("no room for it")

    jobs.after_store += [broken, lambda result, frame: seen.append((result.run_id, len(frame), store.has_run(result.run_id)))]
    answer = jobs.execute(lambda value: None, ticket)

    assert answer["run_id"] == ticket["run_id"] and jobs.ledger.get(ticket["ticket"]).state == "done"
    assert seen == [(ticket["run_id"], 5000, True)]  # after the run was stored, with its songs
