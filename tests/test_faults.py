"""Faults on a real `amc serve --workers` server: a killed job, a killed web worker, a restart, a full disk.

In each the app keeps answering, the user is told what happened, and no stored run or name is lost.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import psutil
import pytest
import requests

from benchmarks.load import DashUser, Server, Tally, show_run
from dashboard.jobs import JobLedger, kill_process_tree
from dashboard.store import DiskcacheBackend, ResultsStore

ROOT = Path(__file__).resolve().parent.parent


pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

SLOW_K_MAX = 25  # enough k values that the run is still going when its process is killed
NAMING_CLUSTER = 0


@pytest.fixture
def server(tmp_path):
    server = Server(tmp_path / "cache", workers=2, threads=4, env={"AMC_MAX_CONCURRENT_RUNS": "2"})
    server.start()
    yield server
    server.stop()


def ask_for_run(user: DashUser, k_max: int = 6, seed: int = 5) -> dict:
    user.open_app()
    user.values["param-k-max.value"] = k_max
    user.values["param-seed.value"] = seed
    return user.fire("run", user.callback("run-request.data", "run-button.n_clicks"), "run-button.n_clicks")


def run_to_the_end(user: DashUser, k_max: int = 6, seed: int = 5) -> str:
    answer = ask_for_run(user, k_max, seed)
    if "run-request" in answer:  # computed by a job; a stored run comes in the answer itself
        user.fire("job", user.callback("job-outcome.data", "run-request.data"), "run-request.data")
        user.fire("outcome", user.callback("run-state.data", "job-outcome.data"), "job-outcome.data")
    return user.values["run-state.data"]["run_id"]


def draw(user: DashUser) -> str:
    return str(show_run(user, ("naming",)))


def settle(user: DashUser) -> str:
    user.values["job-watch.data"] = False
    return str(user.fire("settle", user.callback("job-alert.children", "job-watch.data"), "job-watch.data"))


def job_pid(server: Server, ticket: str) -> int | None:
    """The process computing the ticket's run, as the job ledger records it once the run has begun."""
    record = JobLedger(DiskcacheBackend(server.cache_dir / "jobs")).get(ticket)
    return record.pid if record is not None and record.state == "running" else None


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, what
        time.sleep(0.1)
    return found


def test_a_killed_job_process_ends_as_an_error_stores_nothing_and_a_retry_works(server):
    user = DashUser(server.base, Tally(), None)
    ticket = ask_for_run(user, k_max=SLOW_K_MAX, seed=21)["run-request"]["data"]
    follower = threading.Thread(
        target=user.fire, args=("job", user.callback("job-outcome.data", "run-request.data"), "run-request.data"),
        daemon=True)
    follower.start()

    victim = wait_for(lambda: job_pid(server, ticket["ticket"]), 30, "no job process started")
    time.sleep(0.5)  # inside the computation, not before it
    kill_process_tree(victim)
    killed_at = time.monotonic()
    follower.join(timeout=15)

    assert not follower.is_alive() and time.monotonic() - killed_at < 10
    message = settle(user)
    assert "The run stopped" in message and "Try again" in message
    assert not ResultsStore.open(server.cache_dir / "store").has_run(ticket["run_id"])
    assert run_to_the_end(user, k_max=8, seed=21) != ticket["run_id"]  # a retry (here a shorter one) goes through


def test_a_killed_web_worker_is_replaced_and_users_carry_on(server):
    user = DashUser(server.base, Tally(), None)
    run_id = run_to_the_end(user)
    master = psutil.Process(server.process.pid)
    victim = master.children()[0]

    victim.send_signal(signal.SIGKILL)
    wait_for(lambda: len([w for w in master.children() if w.pid != victim.pid]) == 2, 30, "no worker replaced it")

    for _ in range(6):  # the kernel spreads new connections over the workers
        assert run_to_the_end(DashUser(server.base, Tally(), None)) == run_id
    assert requests.get(server.base + "/health", timeout=10).json()["status"] == "ok"


def test_a_restart_keeps_runs_and_names(server):
    user = DashUser(server.base, Tally(), None)
    run_id = run_to_the_end(user)
    k = user.values["run-state.data"]["k"]
    ResultsStore.open(server.cache_dir / "store").rename(run_id, k, NAMING_CLUSTER, "Kept across restarts", 0)

    server.stop()
    server.start()

    user = DashUser(server.base, Tally(), None)
    user.open_app()
    user.open_link(f"?run={run_id}&k={k}")
    drawn = draw(user)
    assert run_id in drawn and "Kept across restarts" in drawn


@pytest.fixture
def small_disk(tmp_path):
    """A 48 MB tmpfs for the cache directory (root only), unmounted at the end."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mount_point)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        message = f"a small tmpfs cannot be mounted here: {mounted.stderr.strip()}"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI runs as root: a skip there would hide the full-disk test
        pytest.skip(message)
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(directory: Path) -> Path:
    filler = directory / "filler"
    with filler.open("wb") as out:
        try:
            while True:
                out.write(b"\0" * (1 << 20))
                out.flush()
        except OSError:
            pass
    return filler


def test_a_full_store_keeps_answering_tells_the_user_and_loses_nothing(small_disk):
    server = Server(small_disk / "cache", workers=2, threads=4)
    server.start()
    try:
        user = DashUser(server.base, Tally(), None)
        run_id = run_to_the_end(user)
        k = user.values["run-state.data"]["k"]
        store = ResultsStore.open(small_disk / "cache" / "store")
        store.rename(run_id, k, NAMING_CLUSTER, "Saved before the disk filled", 0)
        filler = fill(small_disk)

        assert requests.get(server.base + "/", timeout=10).status_code == 200
        health = requests.get(server.base + "/health", timeout=10)
        assert health.status_code == 200 and health.json()["status"] == "degraded"
        assert "Saved before the disk filled" in draw(user)

        refused_run = str(ask_for_run(user, seed=77))
        assert "is full" in refused_run and "run-request" not in refused_run

        new_songs = "".join((ROOT / "data" / "demo_songs.csv").read_text().splitlines(keepends=True)[:300])
        refused_upload = user.http.post(server.base + "/_amc/upload", data=new_songs.encode(), timeout=30)
        assert refused_upload.status_code == 507 and refused_upload.text == "the server's disk is full; the file was not kept\n"
        assert not any((small_disk / "cache" / "uploads").iterdir())

        filler.unlink()
        assert ResultsStore.open(small_disk / "cache" / "store").get_names(run_id, k).names[NAMING_CLUSTER] == \
            "Saved before the disk filled"
        assert run_to_the_end(user, seed=78)
    finally:
        server.stop()
        shutil.rmtree(small_disk / "cache", ignore_errors=True)
    assert os.path.ismount(small_disk)
